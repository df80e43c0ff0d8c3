//! Worktree collection: which agent worktrees may be removed, why, and who
//! still owns the ones that may not.
//!
//! - [`list`]: `git worktree list --porcelain -z` as typed records (paths as
//!   bytes, so spaces, quotes and non-UTF-8 names survive; locked and
//!   prunable flags kept).
//! - [`naming`]: the profile's session and branch naming (prefixes, managed
//!   branch globs) and the session a worktree belongs to.
//! - [`owner`]: what keeps a worktree alive: a live tmux session, a pending
//!   launch, a run not yet reconciled (or still running), a resident lane.
//! - [`base`]: the default merged base (the profile's default branch, else
//!   the remote's HEAD, never a literal `main`) and remote checks.
//! - [`guard`]: the checks every deletion passes first: never the main
//!   checkout, never a directory holding it or another registered worktree,
//!   never outside the worktree root.
//! - [`residue`]: what a worktree holds: uncommitted work (generated
//!   artifacts ignored), a broken registration, artifact-only leftovers,
//!   stale resident metadata.
//! - [`usage`]: disk use of a directory tree (`du -sk`-like, links not followed).
//!
//! Nothing here prints or exits; removals are done by the tools after a
//! [`guard`] check, and every decision comes with a reason they can print.

pub mod base;
pub mod guard;
pub mod list;
pub mod naming;
pub mod owner;
pub mod residue;
pub mod usage;

pub use guard::Refusal;
pub use list::Worktree;
pub use naming::Naming;
pub use owner::{Owner, OwnerProbe};

/// Whether a worktree the audit found may be collected, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// It may go: the reason names what makes it stale.
    Remove(&'static str),
    /// It stays: the reason names what keeps it.
    Keep(String),
}

impl Decision {
    /// The reason, for a `REASON=` line.
    pub fn reason(&self) -> String {
        match self {
            Decision::Remove(r) => (*r).to_string(),
            Decision::Keep(r) => r.clone(),
        }
    }
}

/// The collection rule: an owner keeps it; then uncommitted work keeps it;
/// then a guard refusal keeps it; otherwise a broken worktree or a clean one
/// without owner goes.
pub fn decide(
    owner: Option<&Owner>,
    broken: bool,
    dirty: bool,
    refusal: Option<&Refusal>,
) -> Decision {
    if let Some(o) = owner {
        return Decision::Keep(format!("owned: {o}"));
    }
    if dirty {
        return Decision::Keep("uncommitted work".to_string());
    }
    if let Some(r) = refusal {
        return Decision::Keep(format!("refused: {r}"));
    }
    if broken {
        Decision::Remove("broken worktree without owner")
    } else {
        Decision::Remove("no owner and nothing uncommitted")
    }
}
