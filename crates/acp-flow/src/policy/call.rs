//! A hook of [`HeartbeatHooks`] by its bash name (`heartbeat_` dropped:
//! `list_ready_issue_ids`, `mark_issue_running 12 yes`, ...), for
//! diagnostics and tests that drive a policy one call after another in one
//! process (`agent-project-heartbeat-hooks call ...`).

use anyhow::{Result, bail};

use crate::hooks::{HeartbeatHooks, HookRun};

fn list(v: Vec<String>) -> HookRun {
    HookRun::ok(v.iter().map(|s| format!("{s}\n")).collect::<String>())
}

fn yes_no(b: bool) -> HookRun {
    HookRun::ok(if b { "yes\n" } else { "no\n" })
}

/// Calls hook `name` with `args`.
pub fn by_name(h: &mut dyn HeartbeatHooks, name: &str, args: &[String]) -> Result<HookRun> {
    let a = |i: usize| -> Result<&str> {
        match args.get(i) {
            Some(s) => Ok(s.as_str()),
            None => bail!("{name}: missing argument {}", i + 1),
        }
    };
    let heavy = || args.get(1).is_some_and(|s| s == "yes");
    Ok(match name {
        "list_ready_issue_ids" => list(h.list_ready_issue_ids()?),
        "list_open_agent_pr_ids" => list(h.list_open_agent_pr_ids()?),
        "list_running_issue_ids" => list(h.list_running_issue_ids()?),
        "list_blocked_recovery_issue_ids" => list(h.list_blocked_recovery_issue_ids()?),
        "list_exclusive_issue_ids" => list(h.list_exclusive_issue_ids()?),
        "list_exclusive_pr_ids" => list(h.list_exclusive_pr_ids()?),
        "issue_is_heavy" => yes_no(h.issue_is_heavy(a(0)?)?),
        "issue_is_recurring" => yes_no(h.issue_is_recurring(a(0)?)?),
        "issue_is_scheduled" => yes_no(h.issue_is_scheduled(a(0)?)?),
        "issue_schedule_interval_seconds" => {
            HookRun::ok(format!("{}\n", h.issue_schedule_interval_seconds(a(0)?)?))
        }
        "issue_is_exclusive" => yes_no(h.issue_is_exclusive(a(0)?)?),
        "pr_is_exclusive" => yes_no(h.pr_is_exclusive(a(0)?)?),
        "pr_risk_json" => HookRun::ok(format!("{}\n", h.pr_risk_json(a(0)?)?)),
        "sync_pr_labels" => h.sync_pr_labels(a(0)?)?,
        "sync_issue_labels" => h.sync_issue_labels(a(0)?)?,
        "mark_issue_running" => h.mark_issue_running(a(0)?, heavy())?,
        "issue_launch_failed" => h.issue_launch_failed(a(0)?, heavy())?,
        "mark_pr_running" => h.mark_pr_running(a(0)?)?,
        "clear_pr_running" => h.clear_pr_running(a(0)?)?,
        "start_issue_worker" => h.start_issue_worker(a(0)?)?,
        "start_pr_review_worker" => h.start_pr_review_worker(a(0)?)?,
        "start_pr_fix_worker" => h.start_pr_fix_worker(a(0)?)?,
        "start_pr_merge_repair_worker" => h.start_pr_merge_repair_worker(a(0)?)?,
        "start_pr_ci_refresh" => h.start_pr_ci_refresh(a(0)?)?,
        "reconcile_issue" => h.reconcile_issue(a(0)?)?,
        "reconcile_pr" => h.reconcile_pr(a(0)?)?,
        "invalidate_snapshot_cache" => {
            h.invalidate_snapshot_cache()?;
            HookRun::ok("")
        }
        other => bail!("unknown hook {other:?}"),
    })
}
