//! The lanes of spec 1.5, in order, over a simulated set of counts.

use std::collections::BTreeSet;

use super::world::{Counts, World};
use super::{
    Action, BACKLOG_LANES, Decision, ExclusiveLock, IssueLaunchKind, LAUNCH_LANES, Phase, Plan,
};

/// Plans one pass over `world`.
pub fn plan(world: &World) -> Plan {
    let mut p = Planner::new(world);
    p.exclusive();
    if p.lock.mode == "no" {
        p.scheduled();
        p.priority_review();
        p.first_pr();
        p.backlog_counts();
        p.blocked_recovery();
        p.ready_issues();
        p.pr_fill();
    }
    p.finish()
}

struct Planner<'w> {
    w: &'w World,
    c: Counts,
    budget: u64,
    reserved_prs: BTreeSet<String>,
    launched_issues: BTreeSet<String>,
    out: Vec<Decision>,
    lock: ExclusiveLock,
    heavy_deferred: u64,
    retry_deferred_issues: u64,
    pr_backlog_eligible: u64,
    reserved_pr_slots: u64,
    issue_capacity_limit: u64,
}

/// Sorts ids by (epoch, numeric id) like `sort -n -k1,1 -k2,2n`.
fn by_due(mut v: Vec<(i64, String)>) -> Vec<String> {
    v.sort_by_key(|(due, id)| (*due, id.parse::<u64>().unwrap_or(0)));
    v.into_iter().map(|(_, id)| id).collect()
}

/// Recurring ids rotated so the one after `last` comes first; with no
/// issue after `last` the whole list is emitted (a single recurring issue
/// is still a candidate).
pub(super) fn rotate(recurring: &[String], last: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = false;
    let mut after = 0usize;
    if let Some(last) = last {
        for id in recurring {
            if seen {
                out.push(id.clone());
                after += 1;
            }
            if id == last {
                seen = true;
            }
        }
    }
    for id in recurring {
        if seen && after > 0 && Some(id.as_str()) == last {
            break;
        }
        out.push(id.clone());
    }
    out
}

impl<'w> Planner<'w> {
    fn new(w: &'w World) -> Self {
        let budget = if w.provider.is_some() {
            0
        } else {
            w.limits.max_launches_per_pass
        };
        Planner {
            w,
            c: w.counts(),
            budget,
            reserved_prs: BTreeSet::new(),
            launched_issues: BTreeSet::new(),
            out: Vec::new(),
            lock: ExclusiveLock {
                mode: "no".into(),
                ..ExclusiveLock::default()
            },
            heavy_deferred: 0,
            retry_deferred_issues: 0,
            pr_backlog_eligible: 0,
            reserved_pr_slots: 0,
            issue_capacity_limit: w.limits.max_workers,
        }
    }

    fn push(&mut self, phase: Phase, action: Action, reason: impl Into<String>) {
        self.out.push(Decision {
            phase,
            action,
            reason: reason.into(),
        });
    }

    fn skip_issue(&mut self, phase: Phase, id: &str, reason: impl Into<String>) {
        self.push(phase, Action::SkipIssue { id: id.into() }, reason);
    }

    fn stop(&mut self, phase: Phase, reason: &str) {
        self.push(phase, Action::Stop, reason);
    }

    fn launch_issue(&mut self, phase: Phase, id: &str, kind: IssueLaunchKind, reason: &str) {
        let f = self.w.issue(id);
        self.launched_issues.insert(id.to_owned());
        self.budget = self.budget.saturating_sub(1);
        self.c.add_issue(kind, f.heavy, f.recurring);
        let interval_seconds = if kind == IssueLaunchKind::Scheduled {
            f.interval_seconds
        } else {
            0
        };
        self.push(
            phase,
            Action::LaunchIssue {
                id: id.into(),
                kind,
                heavy: f.heavy,
                recurring: f.recurring,
                interval_seconds,
            },
            reason,
        );
    }

    fn launch_pr(&mut self, phase: Phase, id: &str, exclusive: bool, reason: &str) {
        let lane = self.w.pr(id).lane;
        self.reserved_prs.insert(id.to_owned());
        self.budget = self.budget.saturating_sub(1);
        self.c.add_pr(&lane, exclusive);
        self.push(
            phase,
            Action::LaunchPr {
                id: id.into(),
                lane,
                exclusive,
            },
            reason,
        );
    }

    fn pr_slot_free(&self) -> bool {
        self.budget > 0
            && self.c.pr < self.w.limits.max_pr
            && self.c.total < self.w.limits.max_workers
    }

    /// A PR that could start now: no session, not reserved this pass, no
    /// live pending launch, retry-ready.
    fn pr_startable(&self, id: &str) -> bool {
        let f = self.w.pr(id);
        !f.has_session && !self.reserved_prs.contains(id) && !f.pending_active && f.retry_ready
    }

    /// The first startable open PR by lane order, then hook order.
    fn next_pr(&self, lanes: &[&str]) -> Option<String> {
        lanes.iter().find_map(|lane| {
            self.w
                .open_prs
                .iter()
                .find(|id| self.pr_startable(id) && self.w.pr(id).lane == *lane)
                .cloned()
        })
    }

    /// Spec 1.5.1.
    fn exclusive(&mut self) {
        let l = &self.w.limits;
        if self.c.exclusive_issue + self.c.exclusive_pr > 0 {
            self.lock.mode = "running".into();
            return;
        }
        if let Some(id) = self.w.exclusive_prs.first().cloned() {
            let f = self.w.pr(&id);
            self.lock = ExclusiveLock {
                mode: "pending".into(),
                kind: "pr".into(),
                item: id.clone(),
                reason: String::new(),
            };
            let reason = if f.pending_active {
                "launch-pending".to_owned()
            } else if f.lane == "human-review" {
                self.lock = ExclusiveLock {
                    mode: "no".into(),
                    ..ExclusiveLock::default()
                };
                return;
            } else if !LAUNCH_LANES.contains(&f.lane.as_str()) {
                format!("lane-{}", f.lane)
            } else if self.w.provider.is_some() {
                "provider-cooldown".into()
            } else if !f.retry_ready {
                "retry-cooldown".into()
            } else if self.c.pr >= l.max_pr {
                "pr-capacity-full".into()
            } else if self.c.total >= l.max_workers {
                "capacity-full".into()
            } else {
                self.launch_pr(Phase::Exclusive, &id, true, "exclusive lock item");
                self.lock.mode = "running".into();
                return;
            };
            self.push(Phase::Exclusive, Action::SkipPr { id }, reason.clone());
            self.lock.reason = reason;
        } else if let Some(id) = self.w.exclusive_issues.first().cloned() {
            let f = self.w.issue(&id);
            self.lock = ExclusiveLock {
                mode: "pending".into(),
                kind: "issue".into(),
                item: id.clone(),
                reason: String::new(),
            };
            let reason = if f.pending_active {
                "launch-pending"
            } else if self.w.provider.is_some() {
                "provider-cooldown"
            } else if !f.retry_ready {
                "retry-cooldown"
            } else if self.c.total >= l.max_workers {
                "capacity-full"
            } else if f.heavy && self.c.heavy >= l.max_heavy {
                "heavy-slot-busy"
            } else {
                let kind = IssueLaunchKind::Exclusive;
                self.launch_issue(Phase::Exclusive, &id, kind, "exclusive lock item");
                self.lock.mode = "running".into();
                return;
            };
            self.skip_issue(Phase::Exclusive, &id, reason);
            self.lock.reason = reason.into();
        }
    }

    /// Spec 1.5.2 a, with total capacity and retry gating (F12).
    fn scheduled(&mut self) {
        let ph = Phase::ScheduledIssueLoop;
        let now = self.w.now;
        let due: Vec<(i64, String)> = (self.w.ready.iter())
            .filter_map(|id| {
                let f = self.w.issue(id);
                let due = f.scheduled_due_epoch;
                (f.scheduled && f.interval_seconds > 0 && (due <= 0 || due <= now))
                    .then(|| (due.max(0), id.clone()))
            })
            .collect();
        for id in by_due(due) {
            let f = self.w.issue(&id);
            if self.budget == 0 {
                return self.stop(ph, "launch budget spent");
            }
            if f.pending_active {
                self.skip_issue(ph, &id, "launch pending");
                continue;
            }
            if f.has_session {
                self.skip_issue(ph, &id, "session running");
                continue;
            }
            if self.launched_issues.contains(&id) {
                self.skip_issue(ph, &id, "already launched this pass");
                continue;
            }
            if self.c.scheduled >= self.w.limits.max_scheduled {
                return self.stop(ph, "scheduled lane full");
            }
            if self.c.total >= self.w.limits.max_workers {
                return self.stop(ph, "capacity full");
            }
            if !f.retry_ready {
                self.retry_deferred_issues += 1;
                self.skip_issue(ph, &id, "retry cooldown");
                continue;
            }
            if f.heavy && self.c.scheduled_heavy >= self.w.limits.max_scheduled_heavy {
                self.heavy_deferred += 1;
                self.skip_issue(ph, &id, "scheduled heavy slot busy");
                continue;
            }
            self.launch_issue(
                ph,
                &id,
                IssueLaunchKind::Scheduled,
                "scheduled issue is due",
            );
        }
    }

    /// Spec 1.5.2 b.
    fn priority_review(&mut self) {
        let mut remaining = self.w.limits.fast_review_launches;
        while remaining > 0 && self.pr_slot_free() {
            let Some(id) = self.next_pr(&["double-check-2", "double-check-1"]) else {
                break;
            };
            self.launch_pr(Phase::PriorityReview, &id, false, "review lane fast path");
            remaining -= 1;
        }
    }

    /// Spec 1.5.2 c.
    fn first_pr(&mut self) {
        if self.pr_slot_free()
            && let Some(id) = self.next_pr(LAUNCH_LANES)
        {
            self.launch_pr(Phase::FirstPr, &id, false, "one PR before issue work");
        }
    }

    /// Spec 1.5.2 d.
    fn backlog_counts(&mut self) {
        let l = &self.w.limits;
        let (mut eligible, mut priority) = (0i64, 0i64);
        for id in &self.w.open_prs {
            let lane = self.w.pr(id).lane;
            if self.pr_startable(id) && BACKLOG_LANES.contains(&lane.as_str()) {
                eligible += 1;
                if lane.starts_with("double-check-") {
                    priority += 1;
                }
            }
        }
        let mut reserved = 0i64;
        if eligible > 0 {
            reserved = 4.max(priority).min(eligible);
            reserved = reserved.min(l.max_pr as i64 - self.c.pr as i64);
            reserved = reserved.min(l.max_workers as i64 - self.c.total as i64);
            reserved = reserved.max(0);
        }
        self.pr_backlog_eligible = eligible as u64;
        self.reserved_pr_slots = reserved as u64;
        let limit = (l.max_workers as i64 - reserved).max(self.c.total as i64);
        self.issue_capacity_limit = limit.max(0) as u64;
    }

    /// The shared recurring and heavy gates of the issue lanes; `Some`
    /// reason when the issue must wait.
    /// The checks the blocked-recovery and ready lanes share, in the
    /// original's order: a pending launch skips, a spent budget, the
    /// capacity `limit` or a full lane (`lane_full`) stops the lane, a
    /// running session skips, a retry cooldown defers, then the lane gates.
    fn admit_issue(
        &mut self,
        ph: Phase,
        id: &str,
        limit: u64,
        limit_reason: &str,
        lane_full: Option<&str>,
    ) -> Admit {
        let f = self.w.issue(id);
        if f.pending_active {
            self.skip_issue(ph, id, "launch pending");
            return Admit::Skip;
        }
        let stop = if self.budget == 0 {
            Some("launch budget spent")
        } else if self.c.total >= limit {
            Some(limit_reason)
        } else {
            lane_full
        };
        if let Some(reason) = stop {
            self.stop(ph, reason);
            return Admit::Stop;
        }
        if f.has_session || self.launched_issues.contains(id) {
            self.skip_issue(ph, id, "session running or launched this pass");
            return Admit::Skip;
        }
        if !f.retry_ready {
            self.retry_deferred_issues += 1;
            self.skip_issue(ph, id, "retry cooldown");
            return Admit::Skip;
        }
        if let Some(why) = self.issue_gate(id) {
            self.skip_issue(ph, id, why);
            return Admit::Skip;
        }
        Admit::Go
    }

    fn issue_gate(&mut self, id: &str) -> Option<&'static str> {
        let f = self.w.issue(id);
        let l = &self.w.limits;
        if f.recurring {
            if self.c.recurring >= l.max_recurring {
                return Some("recurring lane full");
            }
            let open = self.w.open_prs.len() as u64;
            if l.max_open_prs_for_recurring > 0 && open >= l.max_open_prs_for_recurring {
                return Some("too many open agent PRs for recurring work");
            }
        }
        if f.heavy && self.c.heavy >= l.max_heavy {
            self.heavy_deferred += 1;
            return Some("heavy slot busy");
        }
        None
    }

    /// Spec 1.5.2 e.
    fn blocked_recovery(&mut self) {
        let ph = Phase::BlockedRecoveryLoop;
        let l = self.w.limits.clone();
        if l.max_blocked_recovery == 0 {
            return;
        }
        let now = self.w.now;
        let due: Vec<(i64, String)> = (self.w.blocked_recovery.iter())
            .filter_map(|id| {
                let due = self.w.issue(id).blocked_recovery_due_epoch.max(0);
                let is_due = l.blocked_recovery_cooldown == 0 || due == 0 || due <= now;
                is_due.then(|| (due, id.clone()))
            })
            .collect();
        for id in by_due(due) {
            let lane_full = (self.c.blocked_recovery >= l.max_blocked_recovery)
                .then_some("blocked-recovery lane full");
            match self.admit_issue(ph, &id, l.max_workers, "capacity full", lane_full) {
                Admit::Stop => return,
                Admit::Skip => continue,
                Admit::Go => {}
            }
            let kind = IssueLaunchKind::BlockedRecovery;
            self.launch_issue(ph, &id, kind, "blocked issue has a recovery reason");
        }
    }

    /// The ready issues in launch order: non-recurring first (hook order),
    /// then the rotated recurring ones; scheduled issues are left out.
    fn ordered_ready(&self) -> Vec<String> {
        let (mut plain, mut recurring) = (Vec::new(), Vec::new());
        for id in &self.w.ready {
            let f = self.w.issue(id);
            if f.scheduled {
                continue;
            }
            if f.recurring {
                recurring.push(id.clone());
            } else {
                plain.push(id.clone());
            }
        }
        plain.extend(rotate(&recurring, self.w.last_recurring.as_deref()));
        plain
    }

    /// Spec 1.5.2 f.
    fn ready_issues(&mut self) {
        let ph = Phase::IssueLoop;
        for id in self.ordered_ready() {
            let limit = self.issue_capacity_limit;
            match self.admit_issue(
                ph,
                &id,
                limit,
                "issue capacity full (PR slots reserved)",
                None,
            ) {
                Admit::Stop => return,
                Admit::Skip => continue,
                Admit::Go => {}
            }
            self.launch_issue(ph, &id, IssueLaunchKind::Ready, "ready issue");
        }
    }

    /// Spec 1.5.2 g.
    fn pr_fill(&mut self) {
        while self.pr_slot_free() {
            let Some(id) = self.next_pr(LAUNCH_LANES) else {
                break;
            };
            self.launch_pr(Phase::PrFill, &id, false, "free PR capacity");
        }
    }

    fn finish(self) -> Plan {
        let w = self.w;
        let lane_of = |id: &String| w.pr(id).lane;
        let human_review = (w.open_prs.iter())
            .filter(|id| lane_of(id) == "human-review")
            .cloned()
            .collect();
        let retry_deferred_prs = (w.open_prs.iter())
            .filter(|id| {
                let f = w.pr(id);
                !f.has_session && LAUNCH_LANES.contains(&f.lane.as_str()) && !f.retry_ready
            })
            .count() as u64;
        Plan {
            decisions: self.out,
            base: w.counts(),
            exclusive: self.lock,
            provider_suppressed: w.provider.is_some(),
            budget_remaining: self.budget,
            pr_backlog_eligible: self.pr_backlog_eligible,
            reserved_pr_slots: self.reserved_pr_slots,
            issue_capacity_limit: self.issue_capacity_limit,
            heavy_deferred: self.heavy_deferred,
            retry_deferred_issues: self.retry_deferred_issues,
            retry_deferred_prs,
            human_review,
        }
    }
}

/// What [`Planner::admit_issue`] decided for one candidate.
enum Admit {
    Go,
    Skip,
    Stop,
}
