//! What the planner knows: the gathered world and the running counts
//! derived from it (spec 1.4.2).

use std::collections::BTreeMap;

use serde::Serialize;

use super::IssueLaunchKind;

/// The pass's limits (its flags, spec 3.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Limits {
    pub max_workers: u64,
    pub max_heavy: u64,
    pub max_pr: u64,
    pub max_recurring: u64,
    pub max_scheduled: u64,
    pub max_scheduled_heavy: u64,
    pub max_blocked_recovery: u64,
    pub blocked_recovery_cooldown: u64,
    pub max_open_prs_for_recurring: u64,
    pub max_launches_per_pass: u64,
    /// `ACP_MAX_DOUBLE_CHECK_FAST_LAUNCHES` (3).
    pub fast_review_launches: u64,
}

impl Default for Limits {
    /// The loop's own defaults; launches per pass follows the worker limit (F12).
    fn default() -> Self {
        Limits {
            max_workers: 5,
            max_heavy: 1,
            max_pr: 5,
            max_recurring: 1,
            max_scheduled: 0,
            max_scheduled_heavy: 1,
            max_blocked_recovery: 0,
            blocked_recovery_cooldown: 0,
            max_open_prs_for_recurring: 0,
            max_launches_per_pass: 5,
            fast_review_launches: 3,
        }
    }
}

/// What the hooks and the state files say about one issue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IssueFacts {
    pub heavy: bool,
    pub recurring: bool,
    pub scheduled: bool,
    pub interval_seconds: u64,
    pub exclusive: bool,
    pub retry_ready: bool,
    /// A tmux session of this issue exists.
    pub has_session: bool,
    /// A pending launch whose process is alive and has no session yet.
    pub pending_active: bool,
    /// ... and counts toward capacity (its resident controller is not idle).
    pub pending_counts: bool,
    /// `scheduled-issues/<id>.env` `NEXT_DUE_EPOCH` (0: none).
    pub scheduled_due_epoch: i64,
    /// `blocked-recovery-issues/<id>.env` exists.
    pub blocked_recovery_state: bool,
    pub blocked_recovery_due_epoch: i64,
}

/// What the hooks and the state files say about one PR.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PrFacts {
    /// `.agentLane` of the PR classifier.
    pub lane: String,
    pub exclusive: bool,
    pub retry_ready: bool,
    pub has_session: bool,
    pub pending_active: bool,
    /// ... and counts toward capacity (a launch journal hold that is only
    /// settling does not).
    pub pending_counts: bool,
}

/// A listed tmux session whose name starts with one of the prefixes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SessionFacts {
    pub name: String,
    /// The issue number (issue sessions with a numeric suffix).
    pub issue_id: Option<String>,
    pub pr_id: Option<String>,
    /// An issue-prefix session (even without a numeric suffix).
    pub is_issue: bool,
    /// Its runner waits for an auth refresh / account switch.
    pub auth_waiting: bool,
}

/// A provider cooldown that suppresses launches (`READY=no`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProviderCooldown {
    pub backend: String,
    pub model: String,
    pub next_attempt_at: String,
    pub last_reason: String,
}

/// Everything one pass's planning depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct World {
    pub limits: Limits,
    pub now: i64,
    pub sessions: Vec<SessionFacts>,
    pub issues: BTreeMap<String, IssueFacts>,
    pub prs: BTreeMap<String, PrFacts>,
    /// `heartbeat_list_ready_issue_ids`, hook order (oldest first).
    pub ready: Vec<String>,
    pub blocked_recovery: Vec<String>,
    pub exclusive_issues: Vec<String>,
    pub exclusive_prs: Vec<String>,
    /// `heartbeat_list_open_agent_pr_ids`, hook order.
    pub open_prs: Vec<String>,
    /// Pending issue launches that are active (whether they count or not).
    pub pending_issues: Vec<String>,
    pub pending_prs: Vec<String>,
    /// `Some` when provider-cooldown-state says `READY=no`.
    pub provider: Option<ProviderCooldown>,
    /// `recurring/last-launched-issue-id`.
    pub last_recurring: Option<String>,
}

impl World {
    /// The facts of issue `id` (all "no" when unknown).
    pub fn issue(&self, id: &str) -> IssueFacts {
        self.issues.get(id).cloned().unwrap_or_default()
    }

    pub fn pr(&self, id: &str) -> PrFacts {
        self.prs.get(id).cloned().unwrap_or_default()
    }

    /// The running counts: sessions that are not waiting for auth plus the
    /// pending launches that count (spec 1.4.2; pending recurring launches
    /// count once, F12).
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for s in &self.sessions {
            if s.auth_waiting {
                c.auth_waiting += 1;
                continue;
            }
            if s.is_issue {
                c.total += 1;
                c.issue += 1;
                if let Some(id) = &s.issue_id {
                    let f = self.issue(id);
                    c.add_issue_attrs(&f);
                }
            } else {
                c.total += 1;
                c.pr += 1;
                if let Some(id) = &s.pr_id
                    && self.pr(id).exclusive
                {
                    c.exclusive_pr += 1;
                }
            }
        }
        for id in &self.pending_issues {
            let f = self.issue(id);
            if f.pending_counts && !f.has_session {
                c.total += 1;
                c.issue += 1;
                c.add_issue_attrs(&f);
            }
        }
        for id in &self.pending_prs {
            let f = self.pr(id);
            if f.pending_active && f.pending_counts && !f.has_session {
                c.total += 1;
                c.pr += 1;
                if f.exclusive {
                    c.exclusive_pr += 1;
                }
            }
        }
        c
    }
}

/// Running workers by class (spec 1.4.2, printed in `RUNNING_COUNTS`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub total: u64,
    pub issue: u64,
    pub pr: u64,
    pub auth_waiting: u64,
    pub heavy: u64,
    pub scheduled: u64,
    pub scheduled_heavy: u64,
    pub recurring: u64,
    pub blocked_recovery: u64,
    pub exclusive_issue: u64,
    pub exclusive_pr: u64,
}

impl Counts {
    fn add_issue_attrs(&mut self, f: &IssueFacts) {
        if f.heavy {
            self.heavy += 1;
        }
        if f.scheduled {
            self.scheduled += 1;
            if f.heavy {
                self.scheduled_heavy += 1;
            }
        } else if f.recurring {
            self.recurring += 1;
        }
        if f.blocked_recovery_state {
            self.blocked_recovery += 1;
        }
        if f.exclusive {
            self.exclusive_issue += 1;
        }
    }

    /// One more issue worker launched as `kind`.
    pub fn add_issue(&mut self, kind: IssueLaunchKind, heavy: bool, recurring: bool) {
        self.total += 1;
        self.issue += 1;
        if heavy {
            self.heavy += 1;
        }
        match kind {
            IssueLaunchKind::Scheduled => {
                self.scheduled += 1;
                if heavy {
                    self.scheduled_heavy += 1;
                }
                return;
            }
            IssueLaunchKind::BlockedRecovery => self.blocked_recovery += 1,
            IssueLaunchKind::Exclusive => self.exclusive_issue += 1,
            IssueLaunchKind::Ready => {}
        }
        if recurring {
            self.recurring += 1;
        }
    }

    /// One more PR launch in `lane` (ci-refresh starts no worker).
    pub fn add_pr(&mut self, lane: &str, exclusive: bool) {
        if lane == "ci-refresh" {
            return;
        }
        self.total += 1;
        self.pr += 1;
        if exclusive {
            self.exclusive_pr += 1;
        }
    }
}
