//! The heartbeat planner (spec 1.4.2, 1.5): a pure function from a
//! gathered [`World`] to a [`Plan`]. No process, file or clock is read
//! here; the pass gathers the world, calls [`plan`], then carries out the
//! plan's launches in order.
//!
//! The planner simulates each launch as if it succeeded (counts, budget,
//! reservations); the pass re-derives the printed counts from the launches
//! that really succeeded ([`Plan::summary`]).

mod lanes;
mod world;

pub use lanes::plan;
pub use world::{Counts, IssueFacts, Limits, PrFacts, ProviderCooldown, SessionFacts, World};

use serde::Serialize;

/// The PR lanes a worker is launched for, in candidate order.
pub const LAUNCH_LANES: &[&str] = &[
    "double-check-2",
    "double-check-1",
    "automerge",
    "merge-repair",
    "fix",
    "ci-refresh",
];

/// The lanes the backlog reservation counts (ci-refresh starts no worker).
pub const BACKLOG_LANES: &[&str] = &[
    "double-check-1",
    "double-check-2",
    "automerge",
    "merge-repair",
    "fix",
];

/// Which sub-phase of the pass a decision belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Exclusive,
    ScheduledIssueLoop,
    PriorityReview,
    FirstPr,
    BacklogCounts,
    BlockedRecoveryLoop,
    IssueLoop,
    PrFill,
}

impl Phase {
    /// The name printed in `HEARTBEAT_LOOP_PHASE=launch-planning:<name>:...`.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Exclusive => "exclusive",
            Phase::ScheduledIssueLoop => "scheduled-issue-loop",
            Phase::PriorityReview => "priority-review",
            Phase::FirstPr => "first-pr",
            Phase::BacklogCounts => "backlog-counts",
            Phase::BlockedRecoveryLoop => "blocked-recovery-loop",
            Phase::IssueLoop => "issue-loop",
            Phase::PrFill => "pr-fill",
        }
    }

    /// The sub-phases of normal planning, in order.
    pub const NORMAL: [Phase; 7] = [
        Phase::ScheduledIssueLoop,
        Phase::PriorityReview,
        Phase::FirstPr,
        Phase::BacklogCounts,
        Phase::BlockedRecoveryLoop,
        Phase::IssueLoop,
        Phase::PrFill,
    ];
}

/// How an issue launch is announced (spec 1.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IssueLaunchKind {
    Ready,
    Exclusive,
    Scheduled,
    BlockedRecovery,
}

/// What the pass is told to do (or not to do) with one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Action {
    LaunchIssue {
        id: String,
        kind: IssueLaunchKind,
        heavy: bool,
        recurring: bool,
        /// The schedule interval (scheduled launches; 0 otherwise).
        interval_seconds: u64,
    },
    LaunchPr {
        id: String,
        lane: String,
        exclusive: bool,
    },
    SkipIssue {
        id: String,
    },
    SkipPr {
        id: String,
    },
    /// The lane stops here (budget or capacity).
    Stop,
}

/// One decision and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub phase: Phase,
    #[serde(flatten)]
    pub action: Action,
    pub reason: String,
}

impl Decision {
    pub fn is_launch(&self) -> bool {
        matches!(
            self.action,
            Action::LaunchIssue { .. } | Action::LaunchPr { .. }
        )
    }
}

/// The exclusive queue lock after planning (spec 1.5.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExclusiveLock {
    /// `no`, `running` or `pending`.
    pub mode: String,
    pub kind: String,
    pub item: String,
    /// Empty means `active` when printed.
    pub reason: String,
}

/// The plan of one pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub decisions: Vec<Decision>,
    /// Running counts before any launch of this pass.
    pub base: Counts,
    pub exclusive: ExclusiveLock,
    pub provider_suppressed: bool,
    /// Budget left once every planned launch was attempted.
    pub budget_remaining: u64,
    pub pr_backlog_eligible: u64,
    pub reserved_pr_slots: u64,
    pub issue_capacity_limit: u64,
    pub heavy_deferred: u64,
    pub retry_deferred_issues: u64,
    pub retry_deferred_prs: u64,
    pub human_review: Vec<String>,
}

/// What the summary block prints, from the launches that succeeded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub counts: Counts,
    pub launched_issues: u64,
    pub launched_prs: u64,
}

impl Plan {
    /// The planned launches, in order.
    pub fn launches(&self) -> impl Iterator<Item = &Decision> {
        self.decisions.iter().filter(|d| d.is_launch())
    }

    /// The counts after the launches for which `succeeded(decision)` holds.
    pub fn summary(&self, mut succeeded: impl FnMut(&Decision) -> bool) -> Summary {
        let mut s = Summary {
            counts: self.base.clone(),
            ..Summary::default()
        };
        for d in self.launches() {
            if !succeeded(d) {
                continue;
            }
            match &d.action {
                Action::LaunchIssue {
                    kind,
                    heavy,
                    recurring,
                    ..
                } => {
                    s.launched_issues += 1;
                    s.counts.add_issue(*kind, *heavy, *recurring);
                }
                Action::LaunchPr {
                    lane, exclusive, ..
                } => {
                    s.launched_prs += 1;
                    s.counts.add_pr(lane, *exclusive);
                }
                _ => {}
            }
        }
        s
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
