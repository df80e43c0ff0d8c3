//! The scheduler layer of agent-control-plane (spec scheduler-reconcile.md
//! sections 1, 2, 3.1-3.4, 3.38).
//!
//! A heartbeat pass reads GitHub (through `acp-github`) and the local
//! run/state files, *plans* what to reconcile, label, launch, retry or
//! cancel, then carries the plan out:
//!
//! - [`hooks`] holds the hook ABI the pass asks its policy through
//!   ([`hooks::HeartbeatHooks`]); [`policy`] is the shipped policy in Rust
//!   (what `hooks/heartbeat-hooks.sh` names), [`bash_hooks`] runs a user's
//!   edited hook file.
//! - [`plan`] holds the planner, a pure function from a gathered world to a plan.
//! - [`pass`] holds one pass of `agent-project-heartbeat-loop`: gather, plan,
//!   execute, print.
//! - [`host`] holds the seam sessions are started and listed through
//!   ([`host::SessionHost`]); local tmux is its one implementation.
//! - [`limits`] holds the capacity limits `heartbeat-safe-auto.sh` derives.
//! - [`auto`] holds the per-profile wrapper pass (`heartbeat-safe-auto.sh`):
//!   lock, audits, limits, the loop, throttled catch-up.
//!
//! Like every layer crate it never prints and never exits.

pub mod auto;
pub mod bash_hooks;
pub mod hooks;
pub mod host;
pub mod limits;
pub mod pass;
pub mod plan;
pub mod policy;
