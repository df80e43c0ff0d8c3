//! The PR risk classifier (`bin/pr-risk.sh`) and the routing rules the PR
//! tools share.
//!
//! - [`managed`]: which head branches the agent manages (the
//!   `managed_pr_branch_globs` setting), the issue id in such a branch name,
//!   the issue a PR body closes, and "is this PR the agent's".
//! - [`paths`]: the file-path rules of the risk tiers and of the "scope too
//!   broad" limits.
//! - [`checks`]: the PR's status checks (check runs and status contexts) and
//!   the infrastructure-only failure bypass.
//! - [`status`]: what the agent's own status comments on the PR say.
//! - [`classify`]: everything above put together into the lane oracle's
//!   JSON object ([`classify::assess`]).
//! - [`adapter`]: how a package's `tools/bin/X` front finds its `bin/X`.
//!
//! Everything here is pure: the tools read GitHub through `acp-github` and
//! hand the facts in. PR text, branch names and file names are only ever
//! matched, never executed.

pub mod adapter;
pub mod checks;
pub mod classify;
pub mod managed;
pub mod paths;
pub mod status;

pub use classify::{Assessment, Evidence, Policy, PrFacts, assess};
pub use managed::ManagedBranches;

/// The label of a PR eligible for automerge, and its definition (created
/// once per repository before the first PR gets it).
pub const AUTOMERGE_LABEL: &str = "agent-automerge";

/// Internal: labels (comma separated) the PR reconciler asks
/// `sync-pr-labels.sh` to remove in the sync's own label write, so a lane
/// change is one `gh pr edit` (set only when that tool is ours).
pub const SYNC_ALSO_REMOVE_ENV: &str = "ACP_SYNC_PR_LABELS_ALSO_REMOVE";

/// The definition of [`AUTOMERGE_LABEL`].
pub fn automerge_label_def() -> acp_github::LabelDef {
    acp_github::LabelDef {
        name: AUTOMERGE_LABEL.to_string(),
        color: "0E8A16".to_string(),
        description: "Eligible for automerge once its checks and reviews pass".to_string(),
    }
}
