//! `agent-project-catch-up-scheduled-issue-retries` through its shim,
//! against the fake GitHub: one list call reads every open issue (F10), the
//! retry is cleared without an `issue_clear_retry` hook (F7), a reason with
//! `=` is kept whole (F20).

use serde_json::{Value, json};

use crate::catch_up_merged_prs::{catch_up, labels, setup};
use crate::harness::read;

const TOOL: &str = "tools/bin/agent-project-catch-up-scheduled-issue-retries";

#[test]
fn finished_scheduled_issues_lose_their_retry_once() {
    let mut issues: Vec<Value> = (1..=150)
        .map(|n| json!({"number": n, "state": "OPEN", "body": "", "labels": []}))
        .collect();
    issues[139] = json!({"number": 140, "state": "OPEN", "body": "Intro\nSchedule: every 1h\n", "labels": ["smoke-ok"]});
    issues[1] = json!({"number": 2, "state": "OPEN", "body": "", "labels": ["agent-scheduled", "checks-not-ok", "agent-running"]});
    issues[2] = json!({"number": 3, "state": "OPEN", "body": "", "labels": ["agent-scheduled", "health-ok"]});
    let (w, gh) = setup(&json!({"labels": labels(), "issues": issues}));
    w.write(
        "state/retries/issues/140.env",
        "ATTEMPTS=2\nLAST_REASON='verification=guard blocked'\n",
    );
    w.write("state/retries/issues/2.env", "ATTEMPTS=1\nLAST_REASON=x\n");
    w.write("state/retries/issues/3.env", "ATTEMPTS=1\nLAST_REASON=y\n");
    w.write(
        "state/retries/issues/999.env",
        "ATTEMPTS=1\nLAST_REASON=z\n",
    );
    let (code, out, err) = catch_up(&w, TOOL, &["--limit", "1"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "CATCHUP_SCHEDULED_ISSUE=140\n"),
        "{err}"
    );
    let (code, out, err) = catch_up(&w, TOOL, &[]);
    assert_eq!(
        (code, out.as_str()),
        (0, "CATCHUP_SCHEDULED_ISSUE=3\n"),
        "{err}"
    );
    assert!(!w.path("state/retries/issues/140.env").exists());
    assert!(w.path("state/retries/issues/2.env").exists(), "running");
    assert!(w.path("state/retries/issues/999.env").exists(), "not open");
    let ledger = read(w.path("state/scheduled-issue-retry-catchup/140.env"));
    assert!(
        ledger.contains("LAST_REASON=verification=guard\\ blocked\n"),
        "{ledger}"
    );
    assert!(
        gh.calls().iter().all(|c| c[..2] == ["issue", "list"]),
        "{:?}",
        gh.calls()
    );
    assert_eq!(gh.calls().len(), 2);
}
