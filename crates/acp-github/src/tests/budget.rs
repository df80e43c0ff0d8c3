//! Issue 10's call budget of a heartbeat pass: the pass's two lists answer
//! every later read of an item they hold, and writes keep them what GitHub
//! holds.

use serde_json::json;

use super::{REPO, World, sample_world};
use crate::{Item, Marker, State};

/// A world whose open PR carries what the lane oracle reads.
fn world() -> World {
    let mut v = sample_world(3);
    v["prs"][0]["author"] = json!("bot");
    v["prs"][0]["headRefOid"] = json!("a".repeat(40));
    v["prs"][0]["files"] = json!([{"path": "src/a.rs"}]);
    v["prs"][0]["statusCheckRollup"] = json!([]);
    v["prs"][0]["commits"] = json!([]);
    v["prs"][0]["mergeStateStatus"] = json!("CLEAN");
    v["comments"] = json!({"2": [{"body": "hello", "user": {"login": "x"}}]});
    World::new(v)
}

#[test]
fn pr_reads_after_the_heartbeat_list_make_no_call() {
    let w = world();
    let gh = w.gh();
    gh.open_pr_list(REPO).unwrap();
    let detail = gh.pr_detail(REPO, 500).unwrap();
    assert_eq!(detail.head_ref_name, "agent/1");
    assert_eq!(gh.pr(REPO, 500).unwrap().head_ref_name, "agent/1");
    assert_eq!(gh.pr_author_login(REPO, 500).unwrap(), "bot");
    assert_eq!(gh.prs(REPO, State::Open).unwrap().len(), 1);
    assert!(gh.snapshot_comments(REPO, 500).is_some());
    assert_eq!(w.calls().len(), 1, "{:?}", w.calls());
    // A label delta patches the list: the next detail read sees it.
    gh.edit_labels(REPO, Item::Pr, 500, &["agent-ready"], &[])
        .unwrap();
    assert!(
        gh.pr_detail(REPO, 500)
            .unwrap()
            .labels
            .iter()
            .any(|l| l == "agent-ready")
    );
    assert_eq!(w.calls().len(), 2);
}

#[test]
fn issue_reads_and_marker_checks_after_the_heartbeat_list_make_no_call() {
    let w = world();
    let gh = w.gh();
    gh.open_issue_list(REPO).unwrap();
    assert_eq!(gh.issue(REPO, 2).unwrap().title, "Issue 2");
    let seen = gh.snapshot_comments(REPO, 2).unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        gh.issues(REPO, State::Open, &["agent-ready"])
            .unwrap()
            .len(),
        1
    );
    assert_eq!(w.calls().len(), 1, "{:?}", w.calls());
    // A posted comment joins the list's entry: a repeat is not posted and
    // costs no read.
    let m = Marker::new("s", "a");
    gh.post_comment_once(REPO, 2, &m, "note").unwrap();
    assert_eq!(gh.snapshot_comments(REPO, 2).unwrap().len(), 2);
    gh.post_comment_once(REPO, 2, &m, "note").unwrap();
    assert_eq!(w.calls().len(), 2, "{:?}", w.calls());
    assert_eq!(w.comment_bodies(2).len(), 2);
}

#[test]
fn a_created_pr_joins_the_remembered_open_list() {
    let w = world();
    w.put("next_number", json!(41));
    let gh = w.gh();
    gh.open_pr_list(REPO).unwrap();
    let body = w.path("body.md");
    std::fs::write(&body, "b").unwrap();
    gh.create_pr(REPO, "main", "agent/2", "t", &body).unwrap();
    // The create and one view of the new PR; no list is read again.
    let list = gh.open_pr_list(REPO).unwrap();
    let numbers: Vec<u64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [41, 500]);
    assert_eq!(gh.prs(REPO, State::Open).unwrap().len(), 2);
    assert!(gh.pr_detail(REPO, 41).is_ok());
    let calls = w.calls();
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert_eq!(calls[1][..2], ["pr", "create"]);
    assert_eq!(calls[2][..3], ["pr", "view", "41"]);
}

#[test]
fn without_a_remembered_list_a_created_pr_costs_no_view() {
    let w = world();
    w.put("next_number", json!(41));
    let gh = w.gh();
    let body = w.path("body.md");
    std::fs::write(&body, "b").unwrap();
    gh.create_pr(REPO, "main", "agent/2", "t", &body).unwrap();
    assert_eq!(w.calls().len(), 1, "{:?}", w.calls());
}

#[test]
fn a_push_forgets_pr_reads_only_when_they_can_hold_the_branch() {
    let w = world();
    let gh = w.gh();
    gh.open_pr_list(REPO).unwrap();
    gh.forget_pr_reads_of_branch(REPO, "agent/other");
    gh.open_pr_list(REPO).unwrap();
    assert_eq!(w.calls().len(), 1);
    gh.forget_pr_reads_of_branch(REPO, "agent/1");
    gh.open_pr_list(REPO).unwrap();
    assert_eq!(w.calls().len(), 2);
}

#[test]
fn a_commits_check_runs_are_read_once_per_process() {
    let w = world();
    let sha = "b".repeat(40);
    w.put(
        "check_runs",
        json!({ sha.clone(): [{"name": "ci", "status": "completed", "conclusion": "failure"}] }),
    );
    let gh = w.gh();
    assert_eq!(gh.check_runs(REPO, &sha).unwrap().len(), 1);
    assert_eq!(gh.check_runs(REPO, &sha).unwrap()[0].conclusion, "failure");
    assert_eq!(w.calls().len(), 1);
}
