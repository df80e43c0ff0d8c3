//! `sync-recurring-issue-checklist.sh` through its shim, against the fake
//! GitHub: ticks what merged PRs did once (F6), keeps the body's text
//! verbatim (F15, F20), never writes a non-recurring issue, and a failed
//! write prints nothing but its error.

use serde_json::{Value, json};

use crate::fake_github::FakeGithub;
use crate::harness::{World, kv, run};

const TOOL: &str = "tools/bin/sync-recurring-issue-checklist.sh";
const BODY: &str = "Rolling work.\nconfig: url=https://x.test/?a=b&c={ISSUE_ID} $1\n\nChecklist:\n\
                    - [ ] Add a `completedRatio` field to the summary output.\n\
                    - [ ] Document one example command per output mode in `README.md`.\n";

fn world(labels: Value) -> Value {
    json!({
        "issues": [{"number": 42, "state": "OPEN", "body": BODY, "labels": labels,
                    "comments": [{"body": "Opened PR #11: https://x/pull/11", "createdAt": "2026-03-27T10:00:00Z"}]}],
        "prs": [{"number": 11, "state": "MERGED", "mergedAt": "2026-03-27T12:00:00Z",
                 "title": "feat: add completedRatio to summary output", "body": "Implements the completedRatio item."}]
    })
}

fn setup(labels: Value) -> (World, FakeGithub) {
    let mut w = World::new();
    let gh = w.fake_github(&world(labels));
    (w, gh)
}

fn sync(w: &World, extra: &[&str]) -> (i32, String, String) {
    run(w
        .shim(TOOL)
        .args(["--repo-slug", "acme/widgets", "--issue-id", "42"])
        .args(extra))
}

fn body(gh: &FakeGithub) -> String {
    gh.state()["issues"][0]["body"]
        .as_str()
        .unwrap()
        .to_string()
}

fn patches(gh: &FakeGithub) -> usize {
    gh.calls()
        .iter()
        .filter(|c| c.contains(&"PATCH".to_string()))
        .count()
}

#[test]
fn a_merged_pr_ticks_its_item_once_and_the_text_stays_verbatim() {
    let (w, gh) = setup(json!(["agent-keep-open"]));
    let (code, out, err) = sync(&w, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "CHECKLIST_SYNC_STATUS"), Some("updated"));
    assert_eq!(kv(&out, "CHECKLIST_TOTAL"), Some("2"));
    assert_eq!(kv(&out, "CHECKLIST_CHECKED"), Some("1"));
    assert_eq!(kv(&out, "CHECKLIST_UNCHECKED"), Some("1"));
    assert_eq!(kv(&out, "CHECKLIST_MATCHED_PR_NUMBERS"), Some("11"));
    let b = body(&gh);
    assert!(b.contains("- [x] Add a `completedRatio` field"), "{b}");
    assert!(b.contains("- [ ] Document one example"), "{b}");
    assert!(
        b.contains("config: url=https://x.test/?a=b&c={ISSUE_ID} $1\n"),
        "{b}"
    );
    // A human unticks the item: the same PR does not tick it again (F6).
    let mut wd = gh.state();
    wd["issues"][0]["body"] = json!(b.replace("- [x] Add", "- [ ] Add"));
    gh.set(&wd);
    gh.clear_calls();
    let (code, out, _) = sync(&w, &[]);
    assert_eq!(code, 0);
    assert_eq!(kv(&out, "CHECKLIST_SYNC_STATUS"), Some("noop"));
    assert_eq!(patches(&gh), 0);
    assert!(
        !gh.calls().iter().any(|c| c[..2] == ["pr", "view"]),
        "applied PRs are not read again"
    );
}

#[test]
fn a_blocker_ticks_once_and_items_added_later_stay_open() {
    let (w, gh) = setup(json!(["agent-keep-open"]));
    let mut wd = gh.state();
    wd["issues"][0]["comments"] = json!([{"body": "# Blocker: All checklist items already completed\n\nDone.",
                                          "createdAt": "2026-03-28T17:39:37Z"}]);
    gh.set(&wd);
    let (_, out, _) = sync(&w, &[]);
    assert_eq!(kv(&out, "CHECKLIST_CHECKED"), Some("2"));
    let mut wd = gh.state();
    wd["issues"][0]["body"] = json!(body(&gh) + "- [ ] A new item a human added\n");
    gh.set(&wd);
    let (_, out, _) = sync(&w, &[]);
    assert_eq!(kv(&out, "CHECKLIST_SYNC_STATUS"), Some("noop"));
    assert_eq!(kv(&out, "CHECKLIST_UNCHECKED"), Some("1"));
    assert!(body(&gh).contains("- [ ] A new item a human added"));
}

#[test]
fn a_non_recurring_issue_and_a_dry_run_are_never_written() {
    let (w, gh) = setup(json!([]));
    let (code, out, _) = sync(&w, &[]);
    assert_eq!(code, 0);
    assert_eq!(
        kv(&out, "CHECKLIST_SYNC_STATUS"),
        Some("skipped-not-recurring")
    );
    assert_eq!(patches(&gh), 0);
    let (w, gh) = setup(json!(["agent-keep-open"]));
    let (_, out, _) = sync(&w, &["--dry-run"]);
    assert_eq!(kv(&out, "CHECKLIST_SYNC_STATUS"), Some("updated"));
    assert_eq!(patches(&gh), 0);
    assert_eq!(body(&gh), BODY);
}

#[test]
fn a_failed_write_prints_only_its_error() {
    let (w, gh) = setup(json!(["agent-keep-open"]));
    gh.put("fail_patch", json!(true));
    let (code, out, err) = sync(&w, &[]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("PATCH"), "{err}");
    assert_eq!(body(&gh), BODY);
}

#[test]
fn a_blocker_posted_after_a_sync_does_not_tick_items_added_later() {
    let (w, gh) = setup(json!(["agent-keep-open"]));
    let mut wd = gh.state();
    wd["issues"][0]["body"] = json!("Checklist:\n- [x] Everything so far\n");
    wd["issues"][0]["comments"] = json!([]);
    gh.set(&wd);
    // The host's sync before it posts "all done": nothing to tick.
    let (_, out, _) = sync(&w, &[]);
    assert_eq!(kv(&out, "CHECKLIST_UNCHECKED"), Some("0"));
    // The blocker, then a human adds an item as it asks.
    let mut wd = gh.state();
    wd["issues"][0]["comments"] = json!([{"body": "# Blocker: All checklist items already completed\n\nAdd items.",
                                          "createdAt": "2026-03-28T17:39:37Z"}]);
    wd["issues"][0]["body"] = json!(body(&gh) + "- [ ] A new improvement\n");
    gh.set(&wd);
    let (_, out, _) = sync(&w, &[]);
    assert_eq!(kv(&out, "CHECKLIST_UNCHECKED"), Some("1"), "{out}");
    assert!(body(&gh).contains("- [ ] A new improvement"));
}
