//! `label-follow-up-issues.sh` at `bin/` and `tools/bin/`, against the fake
//! GitHub, with stub helpers next to the scripts.

use serde_json::json;

use crate::fake_github::FakeGithub;
use crate::harness::{World, run, write_script};

fn setup() -> (World, FakeGithub) {
    let mut w = World::new();
    let gh = w.fake_github(&json!({
        "login": "bot",
        "labels": ["agent-e2e-heavy", "agent-running"],
        "issues": [
            {"number": 42, "state": "OPEN", "labels": []},
            {"number": 77, "state": "OPEN", "labels": ["human"]},
            {"number": 78, "state": "OPEN", "labels": ["agent-running"]},
            {"number": 79, "state": "CLOSED", "labels": []}
        ],
        "comments": {"42": [
            {"id": 1, "user": {"login": "bot"}, "created_at": "2026-03-28T20:01:00Z", "body": "Follow-ups: #77, #78, #79 and #42."},
            {"id": 2, "user": {"login": "someone"}, "created_at": "2026-03-28T20:02:00Z", "body": "#80"},
            {"id": 3, "user": {"login": "bot"}, "created_at": "2026-03-28T19:00:00Z", "body": "older #81"}
        ]}
    }));
    let run_env = w.write(
        "runs/demo-issue-42/run.env",
        "ISSUE_ID=42\nSESSION=demo-issue-42\nSTARTED_AT=2026-03-28T20:00:00Z\n",
    );
    write_script(
        &w.skill.join("tools/bin/agent-project-worker-status"),
        &format!(
            "#!/usr/bin/env bash\necho STATUS=SUCCEEDED\necho META_FILE={}\n",
            run_env.display()
        ),
    );
    write_script(
        &w.skill.join("bin/issue-resource-class.sh"),
        "#!/usr/bin/env bash\necho IS_E2E=yes\n",
    );
    w.env("ACP_REPO_SLUG", "acme/widgets");
    (w, gh)
}

#[test]
fn open_idle_follow_ups_are_labelled() {
    let (w, gh) = setup();
    let (code, out, err) = run(w.shim("bin/label-follow-up-issues.sh").arg("demo-issue-42"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "LABELED=77\nCOUNT=1\n");
    assert_eq!(gh.labels("issue", 77), ["human", "agent-e2e-heavy"]);
    assert_eq!(gh.labels("issue", 78), ["agent-running"]);
    assert!(
        gh.calls()
            .iter()
            .any(|c| c[..] == ["api", "user", "--jq", ".login"])
    );
}

#[test]
fn the_tools_bin_wrapper_runs_the_package_script() {
    let (mut w, gh) = setup();
    w.env("GITHUB_ACTOR", "bot");
    let (code, out, err) = run(w
        .shim("tools/bin/label-follow-up-issues.sh")
        .arg("demo-issue-42"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "LABELED=77\nCOUNT=1\n");
    assert!(
        !gh.calls()
            .iter()
            .any(|c| c[..] == ["api", "user", "--jq", ".login"])
    );
}

#[test]
fn missing_metadata_and_a_failed_read_are_one_line() {
    let (w, _gh) = setup();
    write_script(
        &w.skill.join("tools/bin/agent-project-worker-status"),
        "#!/usr/bin/env bash\necho STATUS=UNKNOWN\n",
    );
    let (code, out, err) = run(w.shim("bin/label-follow-up-issues.sh").arg("demo-issue-9"));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err.trim(), "missing metadata for session demo-issue-9");
    let (w, gh) = setup();
    gh.put(
        "faults",
        json!([{"on": "read", "count": 1, "answer": "403"}]),
    );
    let (code, out, err) = run(w.shim("bin/label-follow-up-issues.sh").arg("demo-issue-42"));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(gh.labels("issue", 77) == ["human"]);
}

#[test]
fn references_beyond_the_first_hundred_comments_are_seen() {
    let (w, gh) = setup();
    let mut comments: Vec<serde_json::Value> = (1..=150)
        .map(|i| json!({"id": i, "user": {"login": "bot"}, "created_at": "2026-03-28T20:05:00Z", "body": "progress"}))
        .collect();
    comments[149]["body"] = json!("Split out #77");
    gh.put("comments", json!({"42": comments}));
    let (code, out, err) = run(w.shim("bin/label-follow-up-issues.sh").arg("demo-issue-42"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "LABELED=77\nCOUNT=1\n");
}
