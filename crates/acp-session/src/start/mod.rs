//! Starting workers (spec 3.5-3.8): prepare the run directory, the worktree
//! and the prompt of one issue or PR worker and hand it to its backend's
//! runner (`run-codex-safe.sh` / `run-codex-bypass.sh` siblings).
//!
//! - [`common`] holds what every start shares (session exists, stale run dirs,
//!   rollback on failure, sibling tool paths).
//! - [`issue`] holds `start-issue-worker.sh`.
//! - [`pr`] holds `start-pr-review-worker.sh`, `start-pr-fix-worker.sh`,
//!   `start-pr-merge-repair-worker.sh`.

pub mod common;
pub mod issue;
pub mod pr;
