//! Issue retries recorded because the host failed to publish a PR, when the
//! issue's newest `Opened PR #N` comment names a PR that exists after all:
//! the retry is cleared and a ledger record written (once per issue).

use super::{Ctx, Ledger, clear_retry, latest_opened_pr, record_ids, retry_reason};

pub const LEDGER: &str = "linked-pr-issue-catchup";
/// The retry reason this pass looks for.
pub const REASON: &str = "host-publish-failed";

/// Runs the pass.
pub fn run(cx: &mut Ctx<'_>) -> anyhow::Result<()> {
    let ledger = Ledger::open(cx.state_root, LEDGER)?;
    let retry_dir = cx.state_root.join("retries/issues");
    acp_core::fsx::create_dir_all(&retry_dir)?;
    for id in record_ids(&retry_dir) {
        if retry_reason(&retry_dir.join(format!("{id}.env"))) != REASON || ledger.has(&id) {
            continue;
        }
        let Some(issue) = cx.issue(&id, true) else {
            continue;
        };
        let comments = issue.comments.iter().map(|(b, c)| (b.as_str(), c.as_str()));
        let Some(pr) = latest_opened_pr(comments) else {
            continue;
        };
        if !pr_exists(cx, pr) {
            continue;
        }
        clear_issue_retry(cx, &id)?;
        let (pr, now) = (pr.to_string(), acp_core::time::now_utc_iso());
        ledger.write(
            &id,
            &[
                ("ISSUE_ID", id.as_str()),
                ("LINKED_PR", pr.as_str()),
                ("PROCESSED_AT", now.as_str()),
            ],
        )?;
        writeln!(cx.out, "CATCHUP_LINKED_PR_ISSUE={id}")?;
    }
    Ok(())
}

/// The hook file's `issue_clear_retry` (with `ISSUE_ID`), else the retry
/// record is removed (F7: the hook files the heartbeat passes lack it).
pub fn clear_issue_retry(cx: &mut Ctx<'_>, id: &str) -> anyhow::Result<()> {
    if cx.hook("issue_clear_retry").is_some() {
        let out = cx.call_hook("issue_clear_retry", &[], &[("ISSUE_ID", id)])?;
        cx.out.write_all(out.stdout.as_bytes())?;
    } else if let Err(e) = clear_retry(cx.state_root, "issues", id) {
        writeln!(cx.err, "{e:#}")?;
    }
    Ok(())
}

/// Whether PR `n` exists: the hook file's `flow_github_pr_view_json`
/// printed a non-empty object, or `gh pr view` found it.
fn pr_exists(cx: &mut Ctx<'_>, n: u64) -> bool {
    let num = n.to_string();
    if cx.hook("flow_github_pr_view_json").is_some() {
        let repo = cx.repo.to_string();
        return cx
            .hook_json("flow_github_pr_view_json", &[&repo, &num])
            .is_some();
    }
    let gh = match cx.gh.get() {
        Ok(gh) => gh,
        Err(e) => {
            cx.gh_failed("github", &e);
            return false;
        }
    };
    match gh.pr(cx.repo, n) {
        Ok(_) => true,
        Err(e) if e.kind == acp_github::ErrorKind::NotFound => false,
        Err(e) => {
            cx.gh_failed(&format!("PR #{num}"), &e);
            false
        }
    }
}
