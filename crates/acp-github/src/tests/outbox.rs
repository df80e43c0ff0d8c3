use serde_json::json;

use super::{REPO, World, sample_world};
use crate::{Action, Delivery, Item, Outbox};

fn comment(n: u64, action: &str) -> Action {
    Action::Comment {
        repo: REPO.into(),
        number: n,
        session: format!("fl-issue-{n}"),
        action: action.into(),
        body: format!("{action} for #{n}"),
    }
}

fn labels(n: u64, add: &[&str], remove: &[&str]) -> Action {
    Action::Labels {
        repo: REPO.into(),
        item: Item::Issue,
        number: n,
        add: add.iter().map(|s| s.to_string()).collect(),
        remove: remove.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn writes_that_fail_wait_in_the_outbox_and_a_replay_does_each_once() {
    let w = World::new(sample_world(4));
    let run = w.path("run");
    let outbox = Outbox::new(&run);
    // GitHub is down for every write of this pass.
    w.put(
        "faults",
        json!([{"on": "write", "count": 1000, "answer": "502"}]),
    );
    let actions = [
        comment(2, "blocked"),
        labels(2, &["agent-blocked"], &["agent-ready", "agent-running"]),
        comment(4, "reconciled"),
        labels(4, &[], &["agent-ready"]),
    ];
    let gh = w.gh();
    for a in &actions {
        match outbox.deliver(&gh, a).unwrap() {
            Delivery::Queued(_, e) => assert!(e.kind.is_transient(), "{e}"),
            Delivery::Done => panic!("delivered while down"),
        }
    }
    let names: Vec<_> = std::fs::read_dir(outbox.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        names,
        [
            "000001-comment.json",
            "000002-labels.json",
            "000003-comment.json",
            "000004-labels.json"
        ]
    );
    let pending: Vec<Action> = outbox.pending().unwrap().into_iter().map(|p| p.1).collect();
    assert_eq!(pending, actions);

    // Back up; a new process replays, a second replay finds nothing.
    w.put("faults", json!([]));
    let r = outbox.replay(&w.gh()).unwrap();
    assert_eq!((r.done, r.pending), (4, 0), "{:?}", r.error);
    assert_eq!(outbox.replay(&w.gh()).unwrap().done, 0);
    assert_eq!(w.comment_bodies(2).len(), 1);
    assert_eq!(w.comment_bodies(4).len(), 1);
    assert_eq!(w.labels_of("issues", 2), ["agent-blocked"]);
    assert!(w.labels_of("issues", 4).is_empty());
}

#[test]
fn a_replay_stops_at_the_first_failure_and_a_repeat_does_not_double() {
    let w = World::new(sample_world(2));
    let outbox = Outbox::new(&w.path("run"));
    for a in [
        comment(1, "a"),
        comment(2, "b"),
        labels(2, &["agent-blocked"], &[]),
    ] {
        outbox.push(&a).unwrap();
    }
    // The second write (comment on #2) fails for good this time.
    w.put(
        "faults",
        json!([{"on": "write", "skip": 1, "count": 3, "answer": "502"}]),
    );
    let r = outbox.replay(&w.gh()).unwrap();
    assert_eq!((r.done, r.pending), (1, 2));
    assert!(r.error.unwrap().to_string().contains("HTTP 502"));
    // The first entry was done and removed; the rest keep their order.
    let left: Vec<Action> = outbox.pending().unwrap().into_iter().map(|p| p.1).collect();
    assert_eq!(left, [comment(2, "b"), labels(2, &["agent-blocked"], &[])]);
    // A crash after a write but before its delete: the entry comes back.
    outbox.push(&comment(1, "a")).unwrap();
    let r = outbox.replay(&w.gh()).unwrap();
    assert_eq!((r.done, r.pending), (3, 0), "{:?}", r.error);
    assert_eq!(w.comment_bodies(1).len(), 1, "replayed comment posted once");
    assert_eq!(w.comment_bodies(2).len(), 1);
    assert_eq!(w.labels_of("issues", 2), ["agent-ready", "agent-blocked"]);
}
