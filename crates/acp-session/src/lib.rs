//! The session engine of agent-control-plane, on top of `acp-core`.
//!
//! - [`anchor`]: the anchor clone's sync (stashing what it would lose), the
//!   default branch, the VS Code workspace file, retained-slice splits.
//! - [`supervise`]: the one supervision engine every agent backend runs under
//!   (process group, log streaming, heartbeats, stalls, timeout, signals).
//! - [`launcher`]: the `agent-project-run-*-session` contract: the launcher,
//!   the inner supervisor's session, the blocking start of ollama and pi and
//!   the data-driven one-shot CLI launchers.
//! - [`worktree`]: agent worktree preparation (excludes, commit-scope hook).
//! - [`reconcile`]: what reconcilers of finished runs share (status and
//!   archived runs, failure reasons, blocker comments, GitHub effects through
//!   the outbox, `reconciled.ok` and the session lock, host verification).
//! - [`publish`]: publishing an issue branch: its guards' file rules, worktree
//!   recovery, the PR body and the host comment.
//! - [`catchup`]: the catch-up passes over terminal PRs and issue retries,
//!   the recurring-checklist sync, follow-up labelling (GitHub through
//!   `acp-github`, hook files through bash).
//! - [`risk`]: the PR risk classifier and lane oracle (`pr-risk.sh`), the
//!   managed-branch globs and linked-issue rules shared by the PR tools.
//! - [`gc`]: worktree collection: what may be removed and why, owners,
//!   deletion guards, disk use.
//! - [`state`]: the run directory's files (run.env, runner.env, result.env),
//!   with [`state::RunnerState`] the one type that reads and writes runner.env.
//!
//! Like `acp-core`, nothing here prints to the process's own streams or exits.

pub mod anchor;
pub mod catchup;
pub mod gc;
pub mod launcher;
pub mod publish;
pub mod reconcile;
pub mod resident;
pub mod risk;
pub mod schedule;
pub mod start;
pub mod state;
pub mod supervise;
pub mod worktree;
