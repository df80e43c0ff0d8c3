//! Retries of scheduled issues that have already reported a terminal
//! status (a `*-ok` / `*-not-ok` label) and are not running: the retry is
//! cleared and a ledger record keeps its last reason (once per issue).

use super::issue_links::clear_issue_retry;
use super::{Ctx, IssueView, Ledger, record_ids, retry_reason};

pub const LEDGER: &str = "scheduled-issue-retry-catchup";

/// Labels of a finished scheduled report.
pub const TERMINAL_LABELS: &[&str] = &[
    "health-ok",
    "health-not-ok",
    "checks-ok",
    "checks-not-ok",
    "smoke-ok",
    "smoke-not-ok",
];

/// Whether the issue is scheduled (a cadence line or `agent-scheduled`),
/// open, not running, and carries a terminal status label.
pub fn is_finished_scheduled(issue: &IssueView) -> bool {
    (crate::schedule::has_cadence(&issue.body) || issue.has_label("agent-scheduled"))
        && issue.state == "OPEN"
        && !issue.has_label("agent-running")
        && TERMINAL_LABELS.iter().any(|l| issue.has_label(l))
}

/// Runs the pass over at most `limit` retry records without a ledger
/// record. Without an issue-view hook the open issues are read in one list
/// call (F10) and an issue not among them does not qualify.
pub fn run(cx: &mut Ctx<'_>, limit: usize) -> anyhow::Result<()> {
    let ledger = Ledger::open(cx.state_root, LEDGER)?;
    let retry_dir = cx.state_root.join("retries/issues");
    acp_core::fsx::create_dir_all(&retry_dir)?;
    let ids: Vec<String> = record_ids(&retry_dir)
        .into_iter()
        .filter(|id| !ledger.has(id))
        .collect();
    let open = if ids.is_empty() || cx.hook("flow_github_issue_view_json").is_some() {
        None
    } else {
        Some(cx.gh.get()?.issues(cx.repo, acp_github::State::Open, &[])?)
    };
    let mut processed = 0;
    for id in ids {
        if processed >= limit {
            break;
        }
        let issue = match &open {
            Some(list) => list
                .iter()
                .find(|i| i.number.to_string() == id)
                .map(IssueView::from_issue),
            None => cx.issue(&id, false),
        };
        if !issue.as_ref().is_some_and(is_finished_scheduled) {
            continue;
        }
        let reason = retry_reason(&retry_dir.join(format!("{id}.env")));
        clear_issue_retry(cx, &id)?;
        let now = acp_core::time::now_utc_iso();
        ledger.write(
            &id,
            &[
                ("ISSUE_ID", id.as_str()),
                ("LAST_REASON", reason.as_str()),
                ("PROCESSED_AT", now.as_str()),
            ],
        )?;
        writeln!(cx.out, "CATCHUP_SCHEDULED_ISSUE={id}")?;
        processed += 1;
    }
    Ok(())
}
