//! The resident issue lanes (spec 3.9, 3.10): one warm worktree per lane
//! that runs recurring and scheduled issues back to back.
//!
//! - [`lane`] holds lane keys, the per-lane `metadata.env`, reuse decisions
//!   (used by `start-issue-worker.sh`).
//! - [`queue`] holds the issue queue (`issue-queue/pending`, `claims`) leases.
//! - [`controller`] holds `controller.env`, live-controller lookup and the reaper
//!   of stale controllers (used by the heartbeat pass and the controller).

pub mod controller;
pub mod lane;
pub mod queue;
