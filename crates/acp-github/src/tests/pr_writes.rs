use serde_json::json;

use super::{REPO, World, sample_world};
use crate::{Approval, ErrorKind};

fn world(author: &str) -> World {
    let mut w = sample_world(1);
    w["prs"][0]["author"] = json!(author);
    w["prs"][0]["headRefOid"] = json!("abc123");
    w["viewer"] = json!("acp-bot");
    World::new(w)
}

#[test]
fn logins_and_head_come_from_the_original_shapes() {
    let w = world("alice");
    let gh = w.gh();
    assert_eq!(gh.user_login().unwrap(), "acp-bot");
    assert_eq!(gh.pr_author_login(REPO, 500).unwrap(), "alice");
    assert_eq!(gh.pr_head_oid(REPO, 500).unwrap(), "abc123");
    let calls = w.calls();
    assert_eq!(calls[0], ["api", "user", "--jq", ".login"]);
    assert_eq!(
        calls[1],
        [
            "pr",
            "view",
            "500",
            "-R",
            REPO,
            "--json",
            "author",
            "--jq",
            ".author.login // \"\""
        ]
    );
}

#[test]
fn approval_then_merge_without_admin() {
    let w = world("alice");
    let gh = w.gh();
    assert_eq!(gh.approve_pr(REPO, 500, "ok").unwrap(), Approval::Approved);
    assert!(gh.pr_approved_by_other(REPO, 500, "alice").unwrap());
    gh.merge_pr(REPO, 500, false).unwrap();
    let calls = w.calls();
    assert_eq!(
        calls[0],
        [
            "api",
            "repos/acme/widgets/pulls/500/reviews",
            "--method",
            "POST",
            "-f",
            "event=APPROVE",
            "-f",
            "body=ok"
        ]
    );
    assert_eq!(
        calls.last().unwrap(),
        &[
            "pr",
            "merge",
            "500",
            "-R",
            REPO,
            "--squash",
            "--delete-branch"
        ]
    );
    assert_eq!(w.get()["prs"][0]["state"], "MERGED");
}

#[test]
fn own_pr_approval_is_reported_and_no_other_approval_is_found() {
    let w = world("acp-bot");
    let gh = w.gh();
    assert_eq!(gh.approve_pr(REPO, 500, "ok").unwrap(), Approval::OwnPr);
    assert!(!gh.pr_approved_by_other(REPO, 500, "acp-bot").unwrap());
    gh.merge_pr(REPO, 500, true).unwrap();
    assert_eq!(w.calls().last().unwrap().last().unwrap(), "--admin");
}

#[test]
fn a_later_change_request_replaces_an_approval() {
    let w = world("acp-bot");
    w.put(
        "reviews",
        json!({"500": [
            {"state": "APPROVED", "user": {"login": "carol"}},
            {"state": "COMMENTED", "user": {"login": "carol"}},
            {"state": "APPROVED", "user": {"login": "acp-bot"}},
            {"state": "CHANGES_REQUESTED", "user": {"login": "dave"}}
        ]}),
    );
    assert!(w.gh().pr_approved_by_other(REPO, 500, "acp-bot").unwrap());
    w.put(
        "reviews",
        json!({"500": [
            {"state": "APPROVED", "user": {"login": "carol"}},
            {"state": "CHANGES_REQUESTED", "user": {"login": "carol"}}
        ]}),
    );
    assert!(!w.gh().pr_approved_by_other(REPO, 500, "acp-bot").unwrap());
}

#[test]
fn a_bare_403_is_not_a_rate_limit_but_a_rate_limit_is() {
    let w = world("alice");
    w.put(
        "faults",
        json!([{"on": "write", "count": 1, "answer": "403"}]),
    );
    let e = w.gh().approve_pr(REPO, 500, "ok").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Other);
    w.put(
        "faults",
        json!([{"on": "write", "count": 1, "answer": "rate"}]),
    );
    let e = w.gh().approve_pr(REPO, 500, "ok").unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited);
}

#[test]
fn a_view_without_number_is_accepted_and_issues_close() {
    let w = world("alice");
    let gh = w.gh();
    let pr = gh.pr(REPO, 500).unwrap();
    assert_eq!(pr.number, 500);
    gh.close_issue(REPO, 1, Some("Closed after PR #500 merged."))
        .unwrap();
    assert_eq!(w.get()["issues"][0]["state"], "CLOSED");
    assert_eq!(w.comment_bodies(1), ["Closed after PR #500 merged."]);
}
