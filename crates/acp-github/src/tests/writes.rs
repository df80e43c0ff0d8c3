use serde_json::json;

use super::{REPO, World, sample_world};
use crate::{ErrorKind, Item, LabelDef, Marker, Posted, State};

#[test]
fn label_writes_are_one_delta_call() {
    let w = World::new(sample_world(4));
    let gh = w.gh();
    gh.issues(REPO, State::Open, &[]).unwrap();
    gh.edit_labels(
        REPO,
        Item::Issue,
        2,
        &["agent-running", "agent-blocked"],
        &["agent-ready"],
    )
    .unwrap();
    gh.edit_labels(REPO, Item::Pr, 500, &[], &["agent-pr"])
        .unwrap();
    gh.edit_labels(REPO, Item::Issue, 1, &[], &[]).unwrap();
    let calls = w.calls();
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert_eq!(
        calls[1],
        [
            "issue",
            "edit",
            "2",
            "-R",
            REPO,
            "--add-label=agent-running,agent-blocked",
            "--remove-label=agent-ready"
        ]
    );
    assert_eq!(
        calls[2],
        ["pr", "edit", "500", "-R", REPO, "--remove-label=agent-pr"]
    );
    assert_eq!(w.labels_of("issues", 2), ["agent-running", "agent-blocked"]);
    // The snapshot follows the write without a new read.
    assert_eq!(
        gh.issue(REPO, 2).unwrap().labels,
        ["agent-running", "agent-blocked"]
    );
    assert_eq!(w.calls().len(), 3);
}

#[test]
fn a_label_that_cannot_be_one_argument_is_refused() {
    let w = World::new(sample_world(1));
    let gh = w.gh();
    for bad in ["a,b", "", "-x", "a\nb"] {
        assert!(gh.edit_labels(REPO, Item::Issue, 1, &[bad], &[]).is_err());
    }
    assert!(w.calls().is_empty());
}

fn defs() -> Vec<LabelDef> {
    ["agent-ready", "agent-repair-queued", "agent-e2e-heavy"]
        .iter()
        .map(|n| LabelDef {
            name: n.to_string(),
            color: "1d76db".into(),
            description: format!("ACP {n}"),
        })
        .collect()
}

#[test]
fn labels_are_ensured_once_and_remembered_for_later_processes() {
    let w = World::new(sample_world(1));
    let state = w.path("state");
    let created = w.gh().ensure_labels(REPO, &defs(), &state).unwrap();
    assert_eq!(created, 2);
    let calls = w.calls();
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert_eq!(calls[0][..4], ["label", "list", "-R", REPO]);
    assert_eq!(
        calls[1],
        [
            "label",
            "create",
            "agent-repair-queued",
            "-R",
            REPO,
            "--color",
            "1d76db",
            "--description",
            "ACP agent-repair-queued"
        ]
    );
    w.clear_log();
    // A second process: the state file answers.
    assert_eq!(w.gh().ensure_labels(REPO, &defs(), &state).unwrap(), 0);
    assert!(w.calls().is_empty(), "{:?}", w.calls());
    // Another repository is ensured on its own.
    w.gh()
        .ensure_labels("acme/other", &defs()[..1], &state)
        .unwrap();
    assert_eq!(w.calls().len(), 1);
}

#[test]
fn a_label_created_meanwhile_is_not_an_error() {
    let w = World::new(sample_world(1));
    let gh = w.gh();
    gh.label_names(REPO).unwrap();
    // Someone else creates it after our snapshot was taken.
    let mut labels = w.get()["labels"].clone();
    labels
        .as_array_mut()
        .unwrap()
        .push(json!("agent-e2e-heavy"));
    w.put("labels", labels);
    gh.ensure_labels(REPO, &defs(), &w.path("state")).unwrap();
}

#[test]
fn a_marked_comment_is_posted_once() {
    let w = World::new(sample_world(3));
    let m = Marker::new("fl-issue-3", "blocked");
    let body = "Blocked: needs a human.";
    assert_eq!(
        w.gh().post_comment_once(REPO, 3, &m, body).unwrap(),
        Posted::Posted
    );
    assert_eq!(
        w.gh().post_comment_once(REPO, 3, &m, body).unwrap(),
        Posted::AlreadyThere
    );
    let other = Marker::new("fl-issue-3", "reconciled");
    w.gh().post_comment_once(REPO, 3, &other, body).unwrap();
    let bodies = w.comment_bodies(3);
    assert_eq!(bodies.len(), 2);
    assert_eq!(
        bodies[0],
        format!("{body}\n\n<!-- acp:fl-issue-3:blocked -->")
    );
    let post = &w.calls()[1];
    assert_eq!(
        post[..4],
        [
            "api",
            "repos/acme/widgets/issues/3/comments",
            "--method",
            "POST"
        ]
    );
}

#[test]
fn a_post_that_failed_on_the_way_back_is_not_doubled_by_the_retry() {
    let w = World::new(sample_world(1));
    w.put(
        "faults",
        json!([{"on": "write", "count": 1, "answer": "502-after"}]),
    );
    let m = Marker::new("s", "a");
    let gh = w.gh();
    assert_eq!(
        gh.post_comment_once(REPO, 1, &m, "x").unwrap(),
        Posted::AlreadyThere
    );
    assert_eq!(w.comment_bodies(1).len(), 1);
    // The snapshot learnt about the post: no further call.
    let n = w.calls().len();
    assert_eq!(
        gh.post_comment_once(REPO, 1, &m, "x").unwrap(),
        Posted::AlreadyThere
    );
    assert_eq!(w.calls().len(), n);
}

#[test]
fn a_marker_cannot_be_closed_early_by_its_names() {
    let tag = Marker::new("s --> x", "a:b").tag();
    assert_eq!(tag, "<!-- acp:s_--__x:a_b -->");
}

#[test]
fn hostile_titles_and_bodies_are_only_data() {
    let w = World::new(sample_world(0));
    let pwned = w.path("pwned");
    let evil = format!("`touch {0}` $(touch {0}) ; touch {0} '\"", pwned.display());
    w.put(
        "issues",
        json!([{"number": 7, "title": evil, "body": evil, "state": "OPEN", "labels": []}]),
    );
    let gh = w.gh();
    let issue = gh.issues(REPO, State::Open, &[]).unwrap().remove(0);
    assert_eq!(issue.title, evil);
    let body = format!("Title was: {}", issue.title);
    gh.post_comment_once(REPO, 7, &Marker::new("s", "echo"), &body)
        .unwrap();
    gh.edit_labels(REPO, Item::Issue, 7, &["agent-blocked"], &[])
        .unwrap();
    assert!(!pwned.exists(), "a command in issue text ran");
    assert!(w.comment_bodies(7)[0].starts_with(&body));
}

#[test]
fn a_write_error_names_the_call_and_a_bare_403_is_not_retried() {
    let w = World::new(sample_world(1));
    w.put(
        "faults",
        json!([{"on": "write", "count": 1, "answer": "403"}]),
    );
    let err = w
        .gh()
        .edit_labels(REPO, Item::Issue, 1, &["agent-ready"], &[])
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Other);
    assert!(
        err.to_string()
            .starts_with("gh issue edit 1 -R acme/widgets"),
        "{err}"
    );
    assert_eq!(w.calls().len(), 1);
}

#[test]
fn a_comment_whose_check_keeps_failing_makes_only_the_retries_calls() {
    let w = World::new(sample_world(1));
    w.put(
        "faults",
        json!([{"on": "read", "count": 100, "answer": "502"}]),
    );
    let err = w
        .gh()
        .post_comment_once(REPO, 1, &Marker::new("s", "a"), "x")
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Server);
    assert_eq!(w.calls().len(), 3, "{:?}", w.calls());
    assert!(w.comment_bodies(1).is_empty());
}

#[test]
fn a_comment_is_still_posted_when_its_check_is_refused_for_good() {
    // A `gh` that refuses the comment read (a bare 403, as a narrow
    // token or a minimal fake answers) still gets the post: the check
    // cannot succeed, and waiting would lose the comment.
    let w = World::new(sample_world(1));
    w.put(
        "faults",
        json!([{"on": "read", "count": 100, "answer": "403"}]),
    );
    let posted = w
        .gh()
        .post_comment_once(REPO, 1, &Marker::new("s", "a"), "x")
        .unwrap();
    assert_eq!(posted, Posted::Posted);
    assert_eq!(w.comment_bodies(1).len(), 1);
    assert_eq!(w.calls().len(), 2, "{:?}", w.calls());
}
