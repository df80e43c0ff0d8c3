use std::time::Duration;

use serde_json::json;

use super::{REPO, World, sample_world};
use crate::{ErrorKind, State};

#[test]
fn many_issues_are_read_in_one_call_past_the_first_hundred() {
    let w = World::new(sample_world(250));
    let gh = w.gh();
    let issues = gh.issues(REPO, State::Open, &[]).unwrap();
    assert_eq!(issues.len(), 250, "nothing past 100 is invisible (F10)");
    assert_eq!(issues[1].labels, vec!["agent-ready"]);
    let ready = gh.issues(REPO, State::Open, &["agent-ready"]).unwrap();
    assert_eq!(ready.len(), 125);
    let calls = w.calls();
    // The labelled list is the remembered open list filtered: no call.
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(
        calls[0][..8],
        [
            "issue", "list", "-R", REPO, "--state", "open", "--limit", "10000"
        ]
    );
    let fresh = w.gh();
    assert_eq!(
        fresh
            .issues(REPO, State::Open, &["agent-ready"])
            .unwrap()
            .len(),
        125
    );
    assert_eq!(w.calls()[1][10..], ["--label", "agent-ready"]);
    assert!(calls.iter().all(|c| !c.contains(&"graphql".to_string())));
}

#[test]
fn repeated_reads_are_answered_from_the_snapshot() {
    let w = World::new(sample_world(5));
    let gh = w.gh();
    let first = gh.issues(REPO, State::Open, &[]).unwrap();
    assert_eq!(gh.issues(REPO, State::Open, &[]).unwrap(), first);
    assert_eq!(gh.issue(REPO, 3).unwrap().title, "Issue 3");
    let prs = gh.prs(REPO, State::Open).unwrap();
    assert_eq!(prs.len(), 1);
    assert_eq!(prs[0].head_ref_name, "agent/1");
    assert_eq!(gh.pr(REPO, 500).unwrap().labels, vec!["agent-pr"]);
    assert_eq!(gh.comments(REPO, 3).unwrap(), vec![]);
    assert_eq!(gh.comments(REPO, 3).unwrap(), vec![]);
    assert_eq!(w.calls().len(), 3, "{:?}", w.calls());
    // An issue not in any list read: one view call, then remembered.
    let fresh = w.gh();
    assert_eq!(fresh.issue(REPO, 4).unwrap().number, 4);
    assert_eq!(fresh.issue(REPO, 4).unwrap().number, 4);
    let calls = w.calls();
    assert_eq!(calls.len(), 4);
    assert_eq!(calls[3][..5], ["issue", "view", "4", "-R", REPO]);
}

#[test]
fn comments_of_every_page_are_read() {
    let w = World::new(sample_world(1));
    let comments: Vec<_> = (1..=5)
        .map(|i| json!({"id": i, "body": format!("c{i}"), "user": {"login": "u"}}))
        .collect();
    w.put("comments", json!({"1": comments}));
    w.put("page_size", json!(2));
    let got = w.gh().comments(REPO, 1).unwrap();
    let bodies: Vec<_> = got.iter().map(|c| c.body.as_str()).collect();
    assert_eq!(bodies, ["c1", "c2", "c3", "c4", "c5"]);
    assert_eq!(got[0].author, "u");
    assert_eq!(
        w.calls(),
        [[
            "api",
            "repos/acme/widgets/issues/1/comments?per_page=100",
            "--paginate"
        ]]
    );
}

#[test]
fn a_502_is_retried_with_backoff_then_succeeds() {
    let w = World::new(sample_world(3));
    w.put(
        "faults",
        json!([{"on": "read", "count": 2, "answer": "502"}]),
    );
    let issues = w.gh().issues(REPO, State::Open, &[]).unwrap();
    assert_eq!(issues.len(), 3);
    assert_eq!(w.calls().len(), 3);
    assert_eq!(
        w.waits.taken(),
        [Duration::from_secs(2), Duration::from_secs(4)]
    );
}

#[test]
fn a_rate_limit_is_retried_and_named_when_it_persists() {
    let w = World::new(sample_world(3));
    w.put(
        "faults",
        json!([{"on": "read", "count": 9, "answer": "rate"}]),
    );
    let err = w.gh().issues(REPO, State::Open, &[]).unwrap_err();
    assert_eq!(err.kind, ErrorKind::RateLimited);
    assert!(
        err.to_string().starts_with("gh issue list -R acme/widgets"),
        "{err}"
    );
    assert_eq!(w.calls().len(), 3);
    assert_eq!(
        w.waits.taken(),
        [Duration::from_secs(30), Duration::from_secs(60)]
    );
}

#[test]
fn a_403_without_rate_limit_is_not_retried() {
    let w = World::new(sample_world(3));
    w.put(
        "faults",
        json!([{"on": "any", "count": 1, "answer": "403"}]),
    );
    let err = w.gh().issues(REPO, State::Open, &[]).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Other, "{err}");
    assert_eq!(w.calls().len(), 1);
    assert!(w.waits.taken().is_empty());
}

#[test]
fn a_missing_issue_is_not_found() {
    let w = World::new(sample_world(1));
    let err = w.gh().issue(REPO, 99).unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
    assert_eq!(w.calls().len(), 1);
}

#[test]
fn calls_never_probe_auth_and_a_failed_login_stops_later_calls() {
    let w = World::new(sample_world(2));
    let gh = w.gh_with(w.env_without_token());
    gh.issues(REPO, State::Open, &[]).unwrap();
    gh.prs(REPO, State::Open).unwrap();
    gh.comments(REPO, 1).unwrap();
    assert!(w.calls().iter().all(|c| c[0] != "auth"), "{:?}", w.calls());

    w.clear_log();
    let mut env = w.env_without_token();
    env.set("GITHUB_TOKEN", "t");
    let gh = w.gh_with(env);
    gh.ensure_auth().unwrap();
    gh.issues(REPO, State::Open, &[]).unwrap();
    assert!(w.calls().iter().all(|c| c[0] != "auth"), "{:?}", w.calls());

    w.clear_log();
    w.put("logged_in", json!(false));
    let gh = w.gh_with(w.env_without_token());
    assert_eq!(
        gh.issues(REPO, State::Open, &[]).unwrap_err().kind,
        ErrorKind::Auth
    );
    assert_eq!(gh.prs(REPO, State::Open).unwrap_err().kind, ErrorKind::Auth);
    assert_eq!(gh.ensure_auth().unwrap_err().kind, ErrorKind::Auth);
    assert_eq!(w.calls().len(), 1, "{:?}", w.calls());
}

#[test]
fn a_repository_that_is_not_owner_slash_name_is_refused_without_a_call() {
    let w = World::new(sample_world(1));
    let gh = w.gh();
    for bad in ["--help", "acme", "acme/../x", "a/b/c", "-x/y"] {
        assert!(gh.issues(bad, State::Open, &[]).is_err(), "{bad}");
    }
    assert!(w.calls().is_empty());
}

#[test]
fn a_call_that_hangs_is_ended_and_retried_as_a_server_error() {
    let w = World::new(sample_world(2));
    w.put(
        "faults",
        json!([{"on": "read", "count": 1, "answer": "hang"}]),
    );
    let gh = w.gh().with_timeout(Duration::from_millis(300));
    let started = std::time::Instant::now();
    assert_eq!(gh.issues(REPO, State::Open, &[]).unwrap().len(), 2);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(w.calls().len(), 2);
    assert_eq!(w.waits.taken(), [Duration::from_secs(2)]);
}

#[test]
fn no_gh_on_the_path_is_a_transport_error() {
    let w = World::new(sample_world(0));
    let mut env = w.env();
    env.set("PATH", w.path("nothing-here"));
    let err = crate::Gh::new(env).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transport);
    assert!(err.to_string().contains("not found on the PATH"), "{err}");
}

#[test]
fn an_issue_answer_without_a_number_still_decodes() {
    // The original's tests' fakes answer `gh issue view` with a few fields
    // and no number; `Gh::issue` then fills in the number it asked for.
    let i: crate::Issue = serde_json::from_value(json!({"title": "x"})).unwrap();
    assert_eq!((i.number, i.title.as_str()), (0, "x"));
}

#[test]
fn handles_share_one_snapshot_once_the_process_asks_for_it() {
    let w = World::new(sample_world(2));
    // Separate handles, separate snapshots (libraries, tests).
    w.gh().issue(REPO, 1).unwrap();
    w.gh().issue(REPO, 1).unwrap();
    assert_eq!(w.calls().len(), 2);
    w.clear_log();
    // The binary shares one snapshot between a tool and the siblings it
    // runs in process: the second handle answers without a call, and a
    // label delta through it is what the first handle sees.
    crate::share_reads_in_process();
    let caller = w.gh();
    caller.issue(REPO, 1).unwrap();
    let sibling = w.gh();
    sibling.issue(REPO, 1).unwrap();
    sibling
        .edit_labels(REPO, crate::Item::Issue, 1, &["agent-running"], &[])
        .unwrap();
    assert_eq!(caller.issue(REPO, 1).unwrap().labels, ["agent-running"]);
    assert_eq!(w.calls().len(), 2, "{:?}", w.calls());
}

#[test]
fn the_lane_oracles_read_is_answered_by_a_pr_view() {
    let w = World::new(sample_world(1));
    let gh = w.gh();
    let pr = gh.pr(REPO, 500).unwrap();
    let detail = gh.pr_detail(REPO, 500).unwrap();
    assert_eq!(detail.head_ref_name, pr.head_ref_name);
    assert_eq!(w.calls().len(), 1, "{:?}", w.calls());
}
