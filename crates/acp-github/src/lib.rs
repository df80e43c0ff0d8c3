//! The agent-control-plane's only way to GitHub.
//!
//! - [`Gh`]: the `gh` transport (the `gh` on the caller's PATH, the caller's
//!   environment), typed errors ([`GhError`]), retries of server errors and
//!   rate limits with back-off, auth probed at most once per process.
//! - Snapshot reads ([`Gh::issues`], [`Gh::prs`], [`Gh::comments`], ...):
//!   many objects per call, every page, each answered once per process.
//! - Writes: label deltas ([`Gh::edit_labels`]), label definitions ensured
//!   once ([`Gh::ensure_labels`]), marked comments
//!   ([`Gh::post_comment_once`]).
//! - Issue calls ([`issue_write`]): an issue with all its comments in one
//!   call, closing with a comment, replacing a body, comments through the
//!   numeric repository id, the authenticated login.
//! - [`Outbox`]: writes that failed, kept in the run dir and replayed.
//!
//! `docs/github.md` lists every call shape. The library never prints or
//! exits.

pub mod create;
pub mod error;
pub mod heartbeat;
pub mod issue_reconcile;
pub mod issue_write;
pub mod outbox;
pub mod pr_read;
pub mod pr_write;
pub mod read;
pub mod snapshot;
pub mod start_pr;
pub mod transport;
pub mod write;

pub use error::{ErrorKind, GhError};
pub use issue_write::{IssueThread, ThreadComment};
pub use outbox::{Action, Delivery, Outbox, Replay};
pub use pr_read::{CheckRun, IssueSummary, PrDetail, ReviewComment, RollupEntry, RoutedPr};
pub use pr_write::{Approval, Review};
pub use read::{Comment, Issue, Pr, State};
pub use start_pr::{InlineComment, PullHead};
pub use transport::{Gh, RetryPolicy, Sleeper, ThreadSleeper, share_reads_in_process};
pub use write::{Item, LabelDef, Marker, Posted};

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
