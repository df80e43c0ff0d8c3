//! Integration tests for `bin/audit-issue-routing.sh` and its `tools/bin`
//! front against the fake GitHub.

use serde_json::json;

use crate::fake_github::FakeGithub;
use crate::harness::{World, run};

fn world() -> (World, FakeGithub) {
    let mut w = World::new();
    let old = "2026-01-01T10:00:00Z";
    let gh = w.fake_github(&json!({
        "prs": [
            {"number": 600, "headRefName": "agent/acp/issue-501-slice", "body": "", "labels": [], "comments": []},
            {"number": 601, "headRefName": "feature/x", "body": "Closes #503", "labels": ["agent-handoff"], "comments": []},
            {"number": 602, "headRefName": "feature/y", "body": "fixes #504", "labels": [],
             "comments": [{"body": "## PR repair summary\ndone"}]},
            {"number": 603, "headRefName": "feature/z", "body": "Closes #505", "labels": [], "comments": []}
        ],
        "issues": [
            {"number": 501, "title": "linked by branch", "createdAt": old, "updatedAt": old, "labels": ["agent-running"]},
            {"number": 502, "title": "stale\trunning\nissue", "createdAt": "2026-01-01T10:05:00Z", "updatedAt": old, "labels": ["agent-running", "x"]},
            {"number": 503, "title": "linked by handoff", "createdAt": old, "updatedAt": old, "labels": ["agent-running"]},
            {"number": 504, "title": "linked by status comment", "createdAt": old, "updatedAt": old, "labels": ["agent-running"]},
            {"number": 505, "title": "human PR only", "createdAt": "2026-01-01T09:00:00Z", "updatedAt": old, "labels": ["agent-running"]},
            {"number": 506, "title": "blocked", "createdAt": old, "updatedAt": old, "labels": ["agent-blocked"]},
            {"number": 507, "title": "fresh", "createdAt": "2999-01-01T00:00:00Z", "updatedAt": old, "labels": ["agent-blocked"]},
            {"number": 508, "title": "quiet", "createdAt": old, "updatedAt": old, "labels": []}
        ],
        "faults": []
    }));
    w.env("F_LOSNING_REPO_SLUG", "acme/widgets")
        .env("ACP_MANAGED_PR_BRANCH_GLOBS", "agent/acp/* codex/*");
    (w, gh)
}

#[test]
fn stale_running_and_blocked_issues_are_listed_oldest_first() {
    let (w, gh) = world();
    let (code, out, err) = run(w.shim("bin/audit-issue-routing.sh").arg("0"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "505\tstale-agent-running\t2026-01-01T09:00:00Z\t2026-01-01T10:00:00Z\tagent-running\thuman PR only\n\
         506\tblocked-manual-review\t2026-01-01T10:00:00Z\t2026-01-01T10:00:00Z\tagent-blocked\tblocked\n\
         502\tstale-agent-running\t2026-01-01T10:05:00Z\t2026-01-01T10:00:00Z\tagent-running,x\tstale\\trunning\\nissue\n"
    );
    let calls = gh.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[0][..8],
        [
            "pr",
            "list",
            "-R",
            "acme/widgets",
            "--state",
            "open",
            "--limit",
            "10000"
        ],
        "no 100-PR window (F10)"
    );
    assert_eq!(calls[1][..2], ["issue", "list"]);
}

#[test]
fn the_minimum_age_defaults_to_thirty_minutes_and_must_be_a_number() {
    let (w, _gh) = world();
    let (code, out, _) = run(&mut w.shim("tools/bin/audit-issue-routing.sh"));
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 3);
    assert!(!out.contains("fresh"));
    let (code, out, err) = run(w.shim("bin/audit-issue-routing.sh").arg("ten"));
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(err.contains("MIN_AGE_MINUTES must be a number"), "{err}");
}

#[test]
fn a_failed_read_is_one_line_and_exit_1() {
    let (w, gh) = world();
    gh.put(
        "faults",
        json!([{"on": "read", "skip": 1, "count": 9, "answer": "403"}]),
    );
    let (code, out, err) = run(w.shim("bin/audit-issue-routing.sh").arg("0"));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("audit-issue-routing: gh issue list"),
        "{err}"
    );
}
