use serde_json::json;

use super::{REPO, World, sample_world};
use crate::{Marker, Posted};

#[test]
fn a_blocker_equal_to_the_latest_comment_is_not_posted_again() {
    let mut world = sample_world(2);
    world["comments"] = json!({"1": [{"id": 1, "body": "# Blocker: x\n\nsame\n"}]});
    let w = World::new(world);
    let gh = w.gh();
    let marker = Marker::new("s-1", "issue-blocker");
    let posted = gh
        .post_comment_unless_repeated(REPO, 1, &marker, "# Blocker: x\n\nsame")
        .unwrap();
    assert_eq!(posted, Posted::AlreadyThere);
    assert_eq!(w.calls().len(), 1, "one read, no post");
    let posted = gh
        .post_comment_unless_repeated(REPO, 1, &marker, "# Blocker: y")
        .unwrap();
    assert_eq!(posted, Posted::Posted);
    let bodies = w.comment_bodies(1);
    assert_eq!(bodies.len(), 2);
    assert!(bodies[1].starts_with("# Blocker: y\n\n<!-- acp:s-1:issue-blocker -->"));
    // The marker now guards it, whatever comes after.
    let again = w.gh();
    let posted = again
        .post_comment_unless_repeated(REPO, 1, &marker, "# Blocker: y")
        .unwrap();
    assert_eq!(posted, Posted::AlreadyThere);
}

#[test]
fn an_unreadable_comment_list_does_not_stop_the_post() {
    let w = World::new(sample_world(1));
    w.put(
        "faults",
        json!([{"on": "read", "count": 5, "answer": "403"}]),
    );
    let gh = w.gh();
    let posted = gh
        .post_comment_unless_repeated(REPO, 1, &Marker::new("s", "a"), "hello")
        .unwrap();
    assert_eq!(posted, Posted::Posted);
    assert_eq!(w.comment_bodies(1).len(), 1);
}
