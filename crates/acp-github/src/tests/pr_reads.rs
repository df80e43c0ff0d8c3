use serde_json::json;

use super::{REPO, World};
use crate::ErrorKind;

const URL: &str = "https://api.github.com/repos/acme/widgets/check-runs/9/annotations";

fn world() -> World {
    World::new(json!({
        "prs": [{
            "number": 7, "title": "feat: x", "body": "Closes #3", "state": "OPEN",
            "headRefName": "codex/issue-3-x", "headRefOid": "abc123", "baseRefName": "main",
            "labels": ["agent-running"], "isDraft": false, "mergeStateStatus": "CLEAN",
            "files": [{"path": "docs/a.md"}, {"path": "src/$(rm -rf).ts"}],
            "reviewRequests": [{"login": "r"}],
            "statusCheckRollup": [
                {"__typename": "CheckRun", "name": "ci", "status": "COMPLETED", "conclusion": "FAILURE"},
                {"__typename": "StatusContext", "context": "snyk", "state": "PENDING"}
            ],
            "comments": [{"body": "## PR repair summary", "createdAt": "2026-01-02T00:00:00Z",
                          "author": {"login": "bot"}}],
            "commits": [{"oid": "abc123", "committedDate": "2026-01-01T00:00:00Z"},
                        {"oid": "zzz", "committedDate": "2026-01-03T00:00:00Z"}]
        }],
        "review_comments": {"7": [{"user": {"login": "chatgpt-codex-connector[bot]"},
                                   "commit_id": "abc123", "body": "P1", "html_url": "h"}]},
        "check_runs": {"abc123": [{"name": "ci", "status": "completed", "conclusion": "failure",
                                   "output": {"annotations_url": URL, "annotations_count": 1}}]},
        "annotations": {URL: [{"message": "  spending limit needs to be increased "}, {"message": ""}]},
        "faults": []
    }))
}

#[test]
fn one_pr_view_reads_every_field_of_the_oracle() {
    let w = world();
    let gh = w.gh();
    let pr = gh.pr_detail(REPO, 7).unwrap();
    assert_eq!(pr.files, ["docs/a.md", "src/$(rm -rf).ts"]);
    assert_eq!(pr.labels, ["agent-running"]);
    assert_eq!(pr.review_requests, 1);
    assert_eq!(pr.status_check_rollup.len(), 2);
    assert!(pr.status_check_rollup[1].is_status_context());
    assert_eq!(pr.comments[0].created_at, "2026-01-02T00:00:00Z");
    assert_eq!(pr.head_committed_at(), "2026-01-01T00:00:00Z");
    let mut other = pr.clone();
    other.head_ref_oid = "not-listed".into();
    assert_eq!(
        other.head_committed_at(),
        "",
        "an unknown head time, not a wrong one"
    );
    other.head_ref_oid.clear();
    assert_eq!(other.head_committed_at(), "2026-01-03T00:00:00Z");
    let calls = w.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0][..6], ["pr", "view", "7", "-R", REPO, "--json"]);
    assert!(calls[0][6].contains("statusCheckRollup") && calls[0][6].contains("files"));
}

#[test]
fn review_comments_check_runs_and_annotations() {
    let w = world();
    let gh = w.gh();
    let rc = gh.pr_review_comments(REPO, 7).unwrap();
    assert_eq!(rc[0].login, "chatgpt-codex-connector[bot]");
    assert_eq!(rc[0].commit_id, "abc123");
    let runs = gh.check_runs(REPO, "abc123").unwrap();
    assert_eq!(runs[0].annotations_url, URL);
    assert_eq!(runs[0].annotations_count, 1);
    assert_eq!(
        gh.check_run_annotations(URL).unwrap(),
        ["spending limit needs to be increased"]
    );
    let calls = w.calls();
    assert_eq!(
        calls,
        [
            vec!["api", "repos/acme/widgets/pulls/7/comments", "--paginate"],
            vec![
                "api",
                "repos/acme/widgets/commits/abc123/check-runs",
                "--paginate"
            ],
            vec!["api", URL],
        ]
    );
}

#[test]
fn refining_reads_make_one_attempt_even_when_rate_limited() {
    let w = world();
    w.put(
        "faults",
        json!([{"on": "read", "count": 9, "answer": "rate"}]),
    );
    let gh = w.gh();
    let err = gh.pr_review_comments(REPO, 7).unwrap_err();
    assert_eq!(err.kind, ErrorKind::RateLimited);
    assert_eq!(
        gh.check_runs(REPO, "abc123").unwrap_err().kind,
        ErrorKind::RateLimited
    );
    assert_eq!(w.calls().len(), 2);
    assert!(w.waits.taken().is_empty());
}

#[test]
fn hostile_route_parts_are_refused_without_a_call() {
    let w = world();
    let gh = w.gh();
    assert!(gh.check_runs(REPO, "abc/../x").is_err());
    assert!(gh.check_runs(REPO, "--method=POST").is_err());
    assert!(gh.check_run_annotations("--method=DELETE").is_err());
    assert!(
        gh.check_run_annotations("https://x/check-runs/1/annotations -X")
            .is_err()
    );
    assert!(w.calls().is_empty());
}

#[test]
fn open_prs_carry_their_comments() {
    let w = world();
    let prs = w.gh().open_prs_with_comments(REPO).unwrap();
    assert_eq!(prs[0].head_ref_name, "codex/issue-3-x");
    assert_eq!(prs[0].comments[0].body, "## PR repair summary");
    assert_eq!(
        w.calls()[0][..8],
        [
            "pr", "list", "-R", REPO, "--state", "open", "--limit", "10000"
        ]
    );
}

#[test]
fn an_issue_summary_reads_whatever_fields_come() {
    let w = world();
    w.put(
        "issues",
        json!([{"number": 3, "title": "t", "body": null, "labels": ["x"]}]),
    );
    let gh = w.gh();
    let i = gh.issue_summary(REPO, 3).unwrap();
    assert_eq!(
        (i.title.as_str(), i.body.as_str(), i.labels.clone()),
        ("t", "", vec!["x".to_string()])
    );
    assert_eq!(
        w.calls()[0],
        [
            "issue",
            "view",
            "3",
            "-R",
            REPO,
            "--json",
            "number,title,body,labels"
        ]
    );
    assert_eq!(
        gh.issue_summary(REPO, 9).unwrap_err().kind,
        ErrorKind::NotFound
    );
}

#[test]
fn an_unparsable_pr_view_is_told_apart() {
    let w = world();
    let gh = w.gh();
    let missing = gh.pr_detail(REPO, 99).unwrap_err();
    assert!(!missing.is_unparsable(), "{missing}");
    // A PR whose view is a JSON string, not an object.
    w.put("prs", json!([{"number": 8}]));
    let dir = w.path("bin");
    acp_core::testutil::write_script(&dir.join("gh"), "#!/bin/sh\necho 'not json'\n");
    let err = w.gh().pr_detail(REPO, 8).unwrap_err();
    assert!(err.is_unparsable(), "{err}");
    assert!(err.unparsable_reason().contains("expected"), "{err}");
}
