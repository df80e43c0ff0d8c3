//! `agent-project-catch-up-issue-pr-links` through its shim, against the
//! fake GitHub, with a hook file defining no `issue_clear_retry` (F7: the
//! retry is still cleared).

use serde_json::json;

use crate::catch_up_merged_prs::{catch_up, labels, setup};
use crate::harness::read;

const TOOL: &str = "tools/bin/agent-project-catch-up-issue-pr-links";

#[test]
fn a_host_publish_retry_whose_pr_exists_is_cleared_once() {
    let comment =
        |b: &str, at: &str| json!({"body": b, "createdAt": at, "author": {"login": "bot"}});
    let (w, gh) = setup(&json!({
        "labels": labels(),
        "issues": [
            {"number": 7, "state": "OPEN", "comments": [
                comment("Opened PR #19: https://x/pull/19", "2026-04-03T10:00:00Z"),
                comment("Opened PR #20: https://x/pull/20", "2026-04-03T11:00:00Z")]},
            {"number": 8, "state": "OPEN", "comments": [comment("Opened PR #99", "2026-04-03T11:00:00Z")]},
            {"number": 9, "state": "OPEN", "comments": [comment("Opened PR #20", "2026-04-03T11:00:00Z")]}
        ],
        "prs": [{"number": 20, "state": "OPEN"}]
    }));
    w.write(
        "state/retries/issues/7.env",
        "ATTEMPTS=2\nLAST_REASON=host-publish-failed\n",
    );
    w.write(
        "state/retries/issues/8.env",
        "ATTEMPTS=2\nLAST_REASON=host-publish-failed\n",
    );
    w.write(
        "state/retries/issues/9.env",
        "ATTEMPTS=2\nLAST_REASON=worker-exit-failed\n",
    );
    let (code, out, err) = catch_up(&w, TOOL, &[]);
    assert_eq!(
        (code, out.as_str()),
        (0, "CATCHUP_LINKED_PR_ISSUE=7\n"),
        "{err}"
    );
    assert!(!w.path("state/retries/issues/7.env").exists());
    assert!(
        w.path("state/retries/issues/8.env").exists(),
        "PR #99 does not exist"
    );
    assert!(
        w.path("state/retries/issues/9.env").exists(),
        "another reason"
    );
    assert!(read(w.path("state/linked-pr-issue-catchup/7.env")).contains("LINKED_PR=20\n"));
    // Issue 9 (another reason) is never read.
    assert!(!gh.calls().iter().any(|c| c[2] == "9"), "{:?}", gh.calls());
    w.write(
        "state/retries/issues/7.env",
        "LAST_REASON=host-publish-failed\n",
    );
    let (_, out, _) = catch_up(&w, TOOL, &[]);
    assert_eq!(out, "", "the ledger keeps it from being handled twice");
}

#[test]
fn the_newest_of_many_comments_names_the_pr() {
    let mut comments: Vec<serde_json::Value> = (0..150)
        .map(|i| json!({"body": "progress", "createdAt": format!("2026-04-03T10:{:02}:{:02}Z", i / 60, i % 60)}))
        .collect();
    comments[0]["body"] = json!("Opened PR #19");
    comments[149]["body"] = json!("Opened PR #20");
    let (w, _gh) = setup(&json!({
        "labels": labels(),
        "issues": [{"number": 7, "state": "OPEN", "comments": comments}],
        "prs": [{"number": 20, "state": "OPEN"}]
    }));
    w.write(
        "state/retries/issues/7.env",
        "LAST_REASON=host-publish-failed\n",
    );
    let (code, out, err) = catch_up(&w, TOOL, &[]);
    assert_eq!(
        (code, out.as_str()),
        (0, "CATCHUP_LINKED_PR_ISSUE=7\n"),
        "{err}"
    );
    assert!(read(w.path("state/linked-pr-issue-catchup/7.env")).contains("LINKED_PR=20\n"));
}
