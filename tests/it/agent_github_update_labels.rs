//! `agent-github-update-labels` and `update-github-labels.sh` through their
//! shims, against the fake GitHub: one delta call, other labels untouched
//! (F8).

use serde_json::json;

use crate::fake_github::FakeGithub;
use crate::harness::{World, run};

const TOOL: &str = "tools/bin/agent-github-update-labels";
const WRAPPER: &str = "tools/bin/update-github-labels.sh";

fn setup() -> (World, FakeGithub) {
    let mut w = World::new();
    let gh = w.fake_github(&json!({
        "labels": ["agent-running", "agent-blocked", "human", "agent-ready"],
        "issues": [{"number": 3, "state": "OPEN", "labels": ["agent-blocked", "human"]}],
        "prs": [{"number": 40, "state": "OPEN", "labels": ["human"]}]
    }));
    (w, gh)
}

#[test]
fn a_delta_leaves_the_other_labels_alone() {
    let (w, gh) = setup();
    let (code, out, err) = run(w.shim(TOOL).args([
        "--repo-slug",
        "acme/widgets",
        "--number",
        "3",
        "--add",
        "agent-running",
        "--remove",
        "agent-blocked",
    ]));
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert_eq!(gh.labels("issue", 3), ["human", "agent-running"]);
    assert_eq!(
        gh.calls(),
        [[
            "issue",
            "edit",
            "3",
            "-R",
            "acme/widgets",
            "--add-label=agent-running",
            "--remove-label=agent-blocked"
        ]]
    );
    // A label a human added meanwhile survives a later removal (no stale set).
    let mut world = gh.state();
    world["issues"][0]["labels"] = json!(["agent-running", "human", "agent-ready"]);
    gh.set(&world);
    let (code, _, err) = run(w.shim(TOOL).args([
        "--repo-slug",
        "acme/widgets",
        "--number",
        "3",
        "--remove",
        "agent-running",
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(gh.labels("issue", 3), ["human", "agent-ready"]);
}

#[test]
fn a_pull_request_number_is_edited_as_a_pr() {
    let (w, gh) = setup();
    let (code, _, err) = run(w.shim(TOOL).args([
        "--repo-slug",
        "acme/widgets",
        "--number",
        "40",
        "--add",
        "agent-running",
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(gh.labels("pr", 40), ["human", "agent-running"]);
    assert_eq!(gh.calls().last().unwrap()[..3], ["pr", "edit", "40"]);
}

#[test]
fn a_refused_write_is_one_line_and_changes_nothing() {
    let (w, gh) = setup();
    let (code, out, err) = run(w.shim(TOOL).args([
        "--repo-slug",
        "acme/widgets",
        "--number",
        "3",
        "--add",
        "undefined-label",
        "--remove",
        "human",
    ]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("gh issue edit 3") && err.contains("'undefined-label' not found"),
        "{err}"
    );
    assert_eq!(gh.labels("issue", 3), ["agent-blocked", "human"]);
}

#[test]
fn usage_errors() {
    let (w, _gh) = setup();
    let (code, _, err) = run(w.shim(TOOL).args(["--number", "3"]));
    assert_eq!(code, 1, "{err}");
    let (code, _, err) =
        run(w
            .shim(TOOL)
            .args(["--repo-slug", "acme/widgets", "--number", "3", "--bogus"]));
    assert_eq!(code, 1);
    assert!(err.contains("--bogus"), "{err}");
    let (code, out, _) = run(w.shim(TOOL).arg("--help"));
    assert_eq!(code, 0);
    assert!(out.contains("--repo-slug"));
}

#[test]
fn the_wrapper_uses_the_profiles_repository() {
    let (mut w, gh) = setup();
    w.env("ACP_REPO_SLUG", "acme/widgets");
    let (code, _, err) = run(w.shim(WRAPPER).args(["3", "--add", "agent-ready"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        gh.labels("issue", 3),
        ["agent-blocked", "human", "agent-ready"]
    );
    let (code, _, err) = run(&mut w.shim(WRAPPER));
    assert_eq!(code, 1);
    assert!(err.contains("usage"), "{err}");
}
