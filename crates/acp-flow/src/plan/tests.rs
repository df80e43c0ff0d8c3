use super::lanes::rotate;
use super::*;

fn ids(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn ready_issue() -> IssueFacts {
    IssueFacts {
        retry_ready: true,
        ..IssueFacts::default()
    }
}

fn pr(lane: &str) -> PrFacts {
    PrFacts {
        lane: lane.into(),
        retry_ready: true,
        ..PrFacts::default()
    }
}

fn world(limits: Limits) -> World {
    World {
        limits,
        now: 1_000_000,
        ..World::default()
    }
}

fn with_issues(w: &mut World, list: &[&str]) {
    for id in list {
        w.ready.push(id.to_string());
        w.issues.insert(id.to_string(), ready_issue());
    }
}

fn with_prs(w: &mut World, list: &[(&str, &str)]) {
    for (id, lane) in list {
        w.open_prs.push(id.to_string());
        w.prs.insert(id.to_string(), pr(lane));
    }
}

fn session(name: &str, issue: Option<&str>, pr: Option<&str>) -> SessionFacts {
    SessionFacts {
        name: name.into(),
        issue_id: issue.map(str::to_owned),
        pr_id: pr.map(str::to_owned),
        is_issue: issue.is_some(),
        auth_waiting: false,
    }
}

/// The launched ids as `issue:N` / `pr:N:lane`.
fn launched(p: &Plan) -> Vec<String> {
    p.launches()
        .map(|d| match &d.action {
            Action::LaunchIssue { id, .. } => format!("issue:{id}"),
            Action::LaunchPr { id, lane, .. } => format!("pr:{id}:{lane}"),
            _ => unreachable!(),
        })
        .collect()
}

fn limits(workers: u64, pr: u64, budget: u64) -> Limits {
    Limits {
        max_workers: workers,
        max_pr: pr,
        max_launches_per_pass: budget,
        max_recurring: 1,
        ..Limits::default()
    }
}

#[test]
fn empty_world_plans_nothing() {
    let p = plan(&world(Limits::default()));
    assert!(p.decisions.is_empty());
    assert_eq!(p.exclusive.mode, "no");
    assert_eq!(p.issue_capacity_limit, 5);
}

#[test]
fn a_pr_is_launched_once_per_pass() {
    let mut w = world(limits(2, 2, 2));
    with_prs(&mut w, &[("101", "automerge")]);
    let p = plan(&w);
    assert_eq!(launched(&p), ["pr:101:automerge"]);
    assert_eq!(p.budget_remaining, 1);
}

#[test]
fn auth_waiting_sessions_do_not_take_capacity() {
    let mut w = world(limits(1, 0, 1));
    let mut s = session("fl-issue-500", Some("500"), None);
    s.auth_waiting = true;
    w.sessions.push(s);
    with_issues(&mut w, &["101"]);
    let p = plan(&w);
    assert_eq!(launched(&p), ["issue:101"]);
    assert_eq!(p.base.auth_waiting, 1);
    assert_eq!(p.summary(|_| true).counts.total, 1);
}

#[test]
fn running_sessions_fill_capacity() {
    let mut w = world(limits(1, 1, 5));
    w.sessions.push(session("fl-issue-500", Some("500"), None));
    with_issues(&mut w, &["101"]);
    let p = plan(&w);
    assert!(launched(&p).is_empty());
    assert!(p.decisions.iter().any(|d| d.action == Action::Stop));
}

#[test]
fn retry_gating_defers_and_counts() {
    let mut w = world(limits(5, 5, 5));
    with_issues(&mut w, &["101", "102"]);
    w.issues.get_mut("101").unwrap().retry_ready = false;
    with_prs(&mut w, &[("7", "fix")]);
    w.prs.get_mut("7").unwrap().retry_ready = false;
    let p = plan(&w);
    assert_eq!(launched(&p), ["issue:102"]);
    assert_eq!(p.retry_deferred_issues, 1);
    assert_eq!(p.retry_deferred_prs, 1);
}

#[test]
fn provider_cooldown_suppresses_every_launch() {
    let mut w = world(limits(5, 5, 5));
    with_issues(&mut w, &["101"]);
    with_prs(&mut w, &[("7", "fix")]);
    w.provider = Some(ProviderCooldown::default());
    let p = plan(&w);
    assert!(launched(&p).is_empty());
    assert!(p.provider_suppressed);
    assert_eq!(p.budget_remaining, 0);
}

#[test]
fn provider_cooldown_holds_the_exclusive_item() {
    let mut w = world(limits(5, 5, 5));
    with_issues(&mut w, &["101"]);
    w.exclusive_issues = ids(&["101"]);
    w.provider = Some(ProviderCooldown::default());
    let p = plan(&w);
    assert_eq!(p.exclusive.mode, "pending");
    assert_eq!(p.exclusive.reason, "provider-cooldown");
}

#[test]
fn exclusive_issue_launches_alone() {
    let mut w = world(limits(5, 5, 5));
    with_issues(&mut w, &["101", "102"]);
    w.exclusive_issues = ids(&["102"]);
    w.issues.get_mut("102").unwrap().exclusive = true;
    let p = plan(&w);
    assert_eq!(launched(&p), ["issue:102"]);
    assert_eq!(p.exclusive.mode, "running");
}

#[test]
fn a_running_exclusive_item_blocks_normal_planning() {
    let mut w = world(limits(5, 5, 5));
    with_issues(&mut w, &["101", "102"]);
    w.issues.get_mut("102").unwrap().exclusive = true;
    w.sessions.push(session("fl-issue-102", Some("102"), None));
    let p = plan(&w);
    assert!(launched(&p).is_empty());
    assert_eq!(p.exclusive.mode, "running");
    assert_eq!(p.exclusive.reason, "");
}

#[test]
fn exclusive_pr_lanes() {
    let mut w = world(limits(5, 5, 5));
    with_prs(
        &mut w,
        &[("9", "human-review"), ("8", "pending"), ("7", "fix")],
    );
    w.exclusive_prs = ids(&["9"]);
    let p = plan(&w);
    assert_eq!(p.exclusive.mode, "no", "human review drops the lock");
    assert_eq!(launched(&p), ["pr:7:fix"]);
    assert_eq!(p.human_review, ids(&["9"]));
    w.exclusive_prs = ids(&["8"]);
    let p = plan(&w);
    assert_eq!(p.exclusive.reason, "lane-pending");
    assert!(launched(&p).is_empty());
    w.exclusive_prs = ids(&["7"]);
    let p = plan(&w);
    assert_eq!(launched(&p), ["pr:7:fix"]);
    assert!(matches!(
        p.decisions[0].action,
        Action::LaunchPr {
            exclusive: true,
            ..
        }
    ));
    w.limits.max_pr = 0;
    assert_eq!(plan(&w).exclusive.reason, "pr-capacity-full");
}

#[test]
fn priority_review_then_first_pr_then_issues_then_fill() {
    let mut w = world(limits(10, 10, 10));
    with_issues(&mut w, &["101"]);
    with_prs(
        &mut w,
        &[
            ("1", "fix"),
            ("2", "double-check-1"),
            ("3", "double-check-2"),
            ("4", "ci-refresh"),
            ("5", "automerge"),
        ],
    );
    let p = plan(&w);
    assert_eq!(
        launched(&p),
        [
            "pr:3:double-check-2",
            "pr:2:double-check-1",
            "pr:5:automerge",
            "issue:101",
            "pr:1:fix",
            "pr:4:ci-refresh"
        ]
    );
    // ci-refresh starts no worker: 5 running, 6 launches.
    assert_eq!(p.summary(|_| true).counts.total, 5);
    assert_eq!(p.budget_remaining, 4);
}

#[test]
fn backlog_reservation_limits_issue_work() {
    let mut w = world(limits(5, 5, 5));
    w.limits.fast_review_launches = 0;
    with_issues(&mut w, &["101", "102", "103"]);
    with_prs(&mut w, &[("1", "fix"), ("2", "fix"), ("3", "fix")]);
    let p = plan(&w);
    // first PR takes 1; 2 eligible remain -> 2 reserved; limit 3 -> 2 issues
    assert_eq!(p.pr_backlog_eligible, 2);
    assert_eq!(p.reserved_pr_slots, 2);
    assert_eq!(p.issue_capacity_limit, 3);
    assert_eq!(
        launched(&p),
        ["pr:1:fix", "issue:101", "issue:102", "pr:2:fix", "pr:3:fix"]
    );
}

#[test]
fn blocked_recovery_ignores_the_reservation_and_honours_cooldown() {
    let mut w = world(limits(6, 5, 4));
    w.limits.max_blocked_recovery = 1;
    w.limits.blocked_recovery_cooldown = 900;
    w.limits.fast_review_launches = 0;
    for n in ["11", "12", "13"] {
        w.sessions
            .push(session(&format!("fl-issue-{n}"), Some(n), None));
    }
    with_issues(&mut w, &["101"]);
    for id in ["202", "203"] {
        w.blocked_recovery.push(id.into());
        w.issues.insert(id.into(), ready_issue());
    }
    w.issues.get_mut("202").unwrap().blocked_recovery_due_epoch = w.now + 100;
    with_prs(&mut w, &[("1", "fix"), ("2", "fix"), ("3", "fix")]);
    let p = plan(&w);
    let l = launched(&p);
    assert!(l.contains(&"issue:203".to_string()), "{l:?}");
    assert!(!l.contains(&"issue:202".to_string()));
    assert!(!l.contains(&"issue:101".to_string()), "reserved for PRs");
}

#[test]
fn scheduled_lane_respects_capacity_and_retry_f12() {
    let mut w = world(limits(1, 1, 5));
    w.limits.max_scheduled = 2;
    for id in ["301", "302"] {
        w.ready.push(id.into());
        w.issues.insert(
            id.into(),
            IssueFacts {
                scheduled: true,
                interval_seconds: 600,
                retry_ready: true,
                ..IssueFacts::default()
            },
        );
    }
    w.issues.get_mut("301").unwrap().retry_ready = false;
    let p = plan(&w);
    assert_eq!(launched(&p), ["issue:302"]);
    assert_eq!(p.retry_deferred_issues, 1);
    w.sessions.push(session("fl-issue-9", Some("9"), None));
    assert!(launched(&plan(&w)).is_empty(), "total capacity full");
}

#[test]
fn scheduled_issues_wait_until_due_and_go_by_due_order() {
    let mut w = world(limits(5, 5, 5));
    w.limits.max_scheduled = 5;
    for (id, due) in [("303", 10), ("302", 0), ("301", 2_000_000)] {
        w.ready.push(id.into());
        w.issues.insert(
            id.into(),
            IssueFacts {
                scheduled: true,
                interval_seconds: 60,
                retry_ready: true,
                scheduled_due_epoch: due,
                ..IssueFacts::default()
            },
        );
    }
    assert_eq!(launched(&plan(&w)), ["issue:302", "issue:303"]);
}

#[test]
fn recurring_rotation_and_single_issue_wraparound() {
    let r = ids(&["1", "2", "3"]);
    assert_eq!(rotate(&r, Some("2")), ids(&["3", "1"]));
    assert_eq!(rotate(&r, Some("3")), ids(&["1", "2", "3"]));
    assert_eq!(rotate(&r, None), r);
    assert_eq!(rotate(&ids(&["1"]), Some("1")), ids(&["1"]));
    let mut w = world(limits(5, 5, 5));
    with_issues(&mut w, &["101"]);
    w.issues.get_mut("101").unwrap().recurring = true;
    w.last_recurring = Some("101".into());
    assert_eq!(launched(&plan(&w)), ["issue:101"]);
}

#[test]
fn recurring_limits_and_pending_recurring_counted_once_f12() {
    let mut w = world(limits(5, 5, 5));
    w.limits.max_recurring = 2;
    with_issues(&mut w, &["101", "102"]);
    for id in ["101", "102", "150"] {
        w.issues.entry(id.into()).or_default().recurring = true;
        w.issues.get_mut(id).unwrap().retry_ready = true;
    }
    let f = w.issues.get_mut("150").unwrap();
    f.pending_active = true;
    f.pending_counts = true;
    w.pending_issues.push("150".into());
    assert_eq!(w.counts().recurring, 1);
    assert_eq!(launched(&plan(&w)), ["issue:101"]);
    w.limits.max_open_prs_for_recurring = 1;
    with_prs(&mut w, &[("1", "pending")]);
    assert!(launched(&plan(&w)).is_empty());
}

#[test]
fn idle_pending_launch_neither_counts_nor_relaunches() {
    let mut w = world(limits(1, 0, 1));
    with_issues(&mut w, &["101", "102"]);
    w.issues.get_mut("101").unwrap().pending_active = true;
    w.pending_issues.push("101".into());
    let p = plan(&w);
    assert_eq!(p.base.total, 0);
    assert_eq!(launched(&p), ["issue:102"]);
    w.issues.get_mut("101").unwrap().pending_counts = true;
    assert!(launched(&plan(&w)).is_empty());
}

#[test]
fn heavy_issues_are_deferred() {
    let mut w = world(limits(5, 5, 5));
    w.limits.max_heavy = 1;
    with_issues(&mut w, &["101", "102", "103"]);
    w.issues.get_mut("101").unwrap().heavy = true;
    w.issues.get_mut("102").unwrap().heavy = true;
    let p = plan(&w);
    assert_eq!(launched(&p), ["issue:101", "issue:103"]);
    assert_eq!(p.heavy_deferred, 1);
}

#[test]
fn budget_is_bounded_and_summary_skips_failures() {
    let mut w = world(limits(10, 10, 2));
    with_issues(&mut w, &["101", "102", "103"]);
    let p = plan(&w);
    assert_eq!(launched(&p), ["issue:101", "issue:102"]);
    let s = p.summary(|d| !matches!(&d.action, Action::LaunchIssue { id, .. } if id == "101"));
    assert_eq!(s.launched_issues, 1);
    assert_eq!(s.counts.total, 1);
}

#[test]
fn pending_pr_and_sessions_are_not_candidates() {
    let mut w = world(limits(5, 5, 5));
    with_prs(&mut w, &[("1", "fix"), ("2", "fix"), ("3", "fix")]);
    w.prs.get_mut("1").unwrap().has_session = true;
    w.sessions.push(session("fl-pr-1", None, Some("1")));
    w.prs.get_mut("2").unwrap().pending_active = true;
    w.prs.get_mut("2").unwrap().pending_counts = true;
    w.pending_prs.push("2".into());
    let p = plan(&w);
    assert_eq!(launched(&p), ["pr:3:fix"]);
    assert_eq!(p.base.pr, 2);
}

#[test]
fn plans_serialise_to_json() {
    let mut w = world(limits(5, 5, 5));
    with_issues(&mut w, &["101"]);
    let json = serde_json::to_value(plan(&w)).unwrap();
    assert_eq!(json["decisions"][0]["action"], "launch-issue");
    assert_eq!(json["decisions"][0]["phase"], "issue-loop");
}

#[test]
fn exclusive_waiting_reasons() {
    let mut w = world(limits(1, 1, 5));
    with_prs(&mut w, &[("7", "fix")]);
    w.exclusive_prs = ids(&["7"]);
    w.prs.get_mut("7").unwrap().pending_active = true;
    assert_eq!(plan(&w).exclusive.reason, "launch-pending");
    w.prs.get_mut("7").unwrap().pending_active = false;
    w.prs.get_mut("7").unwrap().retry_ready = false;
    assert_eq!(plan(&w).exclusive.reason, "retry-cooldown");
    w.prs.get_mut("7").unwrap().retry_ready = true;
    w.sessions.push(session("fl-issue-9", Some("9"), None));
    assert_eq!(plan(&w).exclusive.reason, "capacity-full");

    let mut w = world(limits(5, 5, 5));
    w.limits.max_heavy = 1;
    with_issues(&mut w, &["101"]);
    w.issues.get_mut("101").unwrap().heavy = true;
    w.exclusive_issues = ids(&["101"]);
    w.issues.insert(
        "9".into(),
        IssueFacts {
            heavy: true,
            ..IssueFacts::default()
        },
    );
    w.sessions.push(session("fl-issue-9", Some("9"), None));
    let p = plan(&w);
    assert_eq!(p.exclusive.reason, "heavy-slot-busy");
    assert_eq!(p.exclusive.kind, "issue");
    assert!(launched(&p).is_empty(), "normal planning skipped");
}

#[test]
fn priority_review_is_limited_by_the_fast_launch_count() {
    let mut w = world(limits(10, 10, 10));
    w.limits.fast_review_launches = 1;
    with_prs(
        &mut w,
        &[
            ("1", "double-check-1"),
            ("2", "double-check-1"),
            ("3", "fix"),
        ],
    );
    let p = plan(&w);
    let phases: Vec<Phase> = p.launches().map(|d| d.phase).collect();
    assert_eq!(
        phases,
        [Phase::PriorityReview, Phase::FirstPr, Phase::PrFill]
    );
    assert_eq!(
        launched(&p),
        ["pr:1:double-check-1", "pr:2:double-check-1", "pr:3:fix"]
    );
}

#[test]
fn ci_refresh_uses_budget_but_not_capacity_and_never_launches_idle_lanes() {
    let mut w = world(limits(1, 1, 2));
    with_prs(
        &mut w,
        &[
            ("1", "ci-refresh"),
            ("2", "ci-refresh"),
            ("3", "human-review"),
            ("4", "blocked"),
            ("5", "pending"),
        ],
    );
    let p = plan(&w);
    assert_eq!(launched(&p), ["pr:1:ci-refresh", "pr:2:ci-refresh"]);
    assert_eq!(p.budget_remaining, 0);
    assert_eq!(p.summary(|_| true).counts.total, 0);
    assert_eq!(p.human_review, ids(&["3"]));
}

#[test]
fn scheduled_heavy_is_deferred_and_the_lane_limit_holds() {
    let mut w = world(limits(5, 5, 5));
    w.limits.max_scheduled = 1;
    w.limits.max_scheduled_heavy = 0;
    for id in ["301", "302", "303"] {
        w.ready.push(id.into());
        w.issues.insert(
            id.into(),
            IssueFacts {
                scheduled: true,
                interval_seconds: 60,
                retry_ready: true,
                heavy: id == "301",
                ..IssueFacts::default()
            },
        );
    }
    let p = plan(&w);
    assert_eq!(launched(&p), ["issue:302"]);
    assert_eq!(p.heavy_deferred, 1);
    assert!(matches!(p.decisions.last().unwrap().action, Action::Stop));
    let d = p.launches().next().unwrap();
    assert!(matches!(
        d.action,
        Action::LaunchIssue {
            kind: IssueLaunchKind::Scheduled,
            interval_seconds: 60,
            ..
        }
    ));
}

#[test]
fn blocked_recovery_lane_limit_retry_and_disabled() {
    let mut w = world(limits(5, 5, 5));
    for id in ["201", "202", "203"] {
        w.blocked_recovery.push(id.into());
        w.issues.insert(id.into(), ready_issue());
    }
    assert!(launched(&plan(&w)).is_empty(), "lane disabled by default");
    w.limits.max_blocked_recovery = 1;
    w.issues.get_mut("201").unwrap().retry_ready = false;
    let p = plan(&w);
    assert_eq!(launched(&p), ["issue:202"]);
    assert_eq!(p.retry_deferred_issues, 1);
    assert!(matches!(
        p.launches().next().unwrap().action,
        Action::LaunchIssue {
            kind: IssueLaunchKind::BlockedRecovery,
            ..
        }
    ));
    assert_eq!(p.summary(|_| true).counts.blocked_recovery, 1);
}

#[test]
fn an_issue_with_a_running_session_is_not_launched_again() {
    let mut w = world(limits(5, 5, 5));
    with_issues(&mut w, &["101", "102"]);
    w.issues.get_mut("101").unwrap().has_session = true;
    w.sessions.push(session("fl-issue-101", Some("101"), None));
    assert_eq!(launched(&plan(&w)), ["issue:102"]);
}
