//! The pass's closing lines (spec 1.6) and the dry run's plan lines.

use anyhow::Result;

use super::exec::{Pass, join_body};
use crate::plan::{Action, Decision, Plan, Summary};

/// The counts of the launches that succeeded.
fn summary_of(p: &Pass<'_>, plan: &Plan) -> Summary {
    let mut i = 0usize;
    plan.summary(|_| {
        let ok = !p.failed.contains(&i);
        i += 1;
        ok
    })
}

fn lock_body(plan: &Plan) -> String {
    let l = &plan.exclusive;
    let reason = if l.reason.is_empty() {
        "active"
    } else {
        &l.reason
    };
    format!(
        "STATE={}\nKIND={}\nITEM_ID={}\nREASON={reason}",
        l.mode, l.kind, l.item
    )
}

/// The trailing blocks, in order, that apply.
fn notices(p: &Pass<'_>, plan: &Plan) -> Vec<(String, String)> {
    let a = p.args;
    let mut v = Vec::new();
    if plan.exclusive.mode != "no" {
        v.push(("EXCLUSIVE_QUEUE_LOCK".to_owned(), lock_body(plan)));
    }
    if !plan.human_review.is_empty() {
        v.push((
            format!("PENDING_HUMAN_REVIEW={}", plan.human_review.len()),
            format!(
                "High-risk PRs are green and intentionally idle pending human review.\nPRS={}",
                plan.human_review.join(",")
            ),
        ));
    }
    if plan.heavy_deferred > 0 {
        v.push((
            format!("{}={}", a.heavy_deferred_key, plan.heavy_deferred),
            a.heavy_deferred_message.clone(),
        ));
    }
    if plan.retry_deferred_issues > 0 || plan.retry_deferred_prs > 0 {
        v.push((
            "RETRY_DEFERRED".to_owned(),
            format!(
                "ISSUES={}\nPRS={}",
                plan.retry_deferred_issues, plan.retry_deferred_prs
            ),
        ));
    }
    if plan.provider_suppressed {
        let c = p.provider.clone().unwrap_or_default();
        let reason = if c.last_reason.is_empty() {
            "provider-quota-limit".to_owned()
        } else {
            c.last_reason
        };
        v.push((
            "PROVIDER_COOLDOWN".to_owned(),
            format!(
                "BACKEND={}\nMODEL={}\nNEXT_ATTEMPT_AT={}\nLAST_REASON={reason}",
                c.backend, c.model, c.next_attempt_at
            ),
        ));
    }
    v
}

/// Spec 1.6: the counts and running sessions when anything runs or was
/// launched, else the first notice, else `HEARTBEAT_OK`.
pub(super) fn summary(p: &mut Pass<'_>, plan: &Plan) -> Result<()> {
    let s = summary_of(p, plan);
    let c = &s.counts;
    let notices = notices(p, plan);
    if s.launched_issues == 0 && c.total == 0 && c.auth_waiting == 0 {
        return match notices.into_iter().next() {
            Some((h, b)) => p.block(&h, &b),
            None => p.block("HEARTBEAT_OK", ""),
        };
    }
    let body = format!(
        "TOTAL={}\nISSUE={}\nPR={}\nAUTH_WAITING_WORKERS={}\nSCHEDULED_ISSUE={}\n\
         BLOCKED_RECOVERY_ISSUE={}\nLAUNCHED_ISSUES={}\nLAUNCHED_PRS={}\n\
         LAUNCH_BUDGET_REMAINING={}\nPR_BACKLOG_ELIGIBLE={}\nPR_RESERVED_SLOTS={}\n\
         ISSUE_CAPACITY_LIMIT={}\n{}={}",
        c.total,
        c.issue,
        c.pr,
        c.auth_waiting,
        c.scheduled,
        c.blocked_recovery,
        s.launched_issues,
        s.launched_prs,
        plan.budget_remaining,
        plan.pr_backlog_eligible,
        plan.reserved_pr_slots,
        plan.issue_capacity_limit,
        p.args.heavy_running_label,
        c.heavy
    );
    p.block("RUNNING_COUNTS", &body)?;
    let (ip, pp) = (p.args.issue_prefix.clone(), p.args.pr_prefix.clone());
    for session in p.host.list_sessions() {
        if session.starts_with(&ip) || session.starts_with(&pp) {
            let status = p.worker_status(&session);
            p.block(
                &format!("RUNNING_SESSION={session}"),
                status.trim_end_matches('\n'),
            )?;
        }
    }
    for (h, b) in notices {
        p.block(&h, &b)?;
    }
    Ok(())
}

/// A dry run's lines for one decision.
pub(super) fn decision_lines(p: &mut Pass<'_>, d: &Decision) -> Result<()> {
    let phase = format!("PHASE={}", d.phase.name());
    let reason = format!("REASON={}", d.reason);
    let (header, extra) = match &d.action {
        Action::LaunchIssue { id, kind, .. } => (
            format!("PLANNED_LAUNCH_ISSUE={id}"),
            format!(
                "KIND={}",
                serde_json::to_value(kind)?.as_str().unwrap_or("")
            ),
        ),
        Action::LaunchPr { id, lane, .. } => {
            (format!("PLANNED_LAUNCH_PR={id}"), format!("LANE={lane}"))
        }
        Action::SkipIssue { id } => (format!("PLANNED_SKIP_ISSUE={id}"), String::new()),
        Action::SkipPr { id } => (format!("PLANNED_SKIP_PR={id}"), String::new()),
        Action::Stop => ("PLANNED_STOP".to_owned(), String::new()),
    };
    p.block(&header, &join_body(&[&phase, &extra, &reason]))
}

/// `--dry-run --json`: the plan, the would-be effects and the summary.
pub(super) fn json(p: &mut Pass<'_>, plan: &Plan) -> Result<i32> {
    let s = summary_of(p, plan);
    let doc = serde_json::json!({
        "dry_run": true,
        "effects": p.would,
        "plan": plan,
        "summary": s,
    });
    writeln!(p.out, "{}", serde_json::to_string_pretty(&doc)?)?;
    Ok(0)
}
