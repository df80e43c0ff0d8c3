//! `create-follow-up-issue.sh` through its shim with the fake GitHub.

use serde_json::json;

use crate::harness::{World, kv, run};

const TOOL: &str = "tools/bin/create-follow-up-issue.sh";

fn world() -> (World, crate::fake_github::FakeGithub) {
    let mut w = World::new();
    w.env("ACP_REPO_SLUG", "acme/widgets");
    let labels = w.fake(
        "update-labels",
        "#!/bin/bash\nprintf '%s\\n' \"$*\" >> \"$(dirname \"$0\")/labels.log\"\n",
    );
    w.env("UPDATE_LABELS_BIN", &labels);
    let gh = w.fake_github(&json!({"issues": [], "next_number": 912}));
    (w, gh)
}

#[test]
fn the_issue_points_at_its_parent_and_gets_its_labels() {
    let (w, gh) = world();
    let hostile = "Split `id` $(touch pwned) \"x\" -- --label y";
    let body = w.write("slice.md", format!("{hostile}\n- keep it small\n"));
    let (code, out, err) = run(w
        .shim(TOOL)
        .args(["--parent", "421", "--title", hostile, "--body-file"])
        .arg(&body)
        .args(["--label", "agent-e2e-heavy", "--label", ""]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "ISSUE_NUMBER"), Some("912"));
    assert_eq!(
        kv(&out, "ISSUE_URL"),
        Some("https://github.com/acme/widgets/issues/912")
    );
    let issue = &gh.state()["issues"][0];
    assert_eq!(issue["title"], hostile);
    assert_eq!(
        issue["body"],
        format!("Parent issue: #421\n\n{hostile}\n- keep it small\n")
    );
    let log = std::fs::read_to_string(w.fake_bin.join("labels.log")).unwrap();
    assert_eq!(
        log,
        "--repo-slug acme/widgets --number 912 --add agent-e2e-heavy\n"
    );
    assert!(!w.root().join("pwned").exists());
}

#[test]
fn default_body_and_no_label_call_without_labels() {
    let (w, gh) = world();
    let (code, _, err) = run(w.shim(TOOL).args(["--parent", "5", "--title", "T"]));
    assert_eq!(code, 0, "{err}");
    let b = gh.state()["issues"][0]["body"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        b.starts_with("Parent issue: #5\n\n") && b.contains("#5"),
        "{b}"
    );
    assert!(!w.fake_bin.join("labels.log").exists());
}

#[test]
fn usage_and_gh_failures_exit_1_with_one_line() {
    let (w, gh) = world();
    let (code, _, err) = run(w.shim(TOOL).args([
        "--parent",
        "5",
        "--title",
        "T",
        "--body",
        "a",
        "--body-file",
        "f",
    ]));
    assert_eq!(
        (code, err.trim()),
        (1, "Provide either --body or --body-file, not both.")
    );
    let (code, _, err) = run(w.shim(TOOL).args(["--title", "T"]));
    assert_eq!(code, 1);
    assert!(err.contains("--parent"), "{err}");
    gh.put("faults", json!([{"count": 1, "answer": "403"}]));
    let (code, out, err) = run(w.shim(TOOL).args(["--parent", "5", "--title", "T"]));
    assert_eq!(code, 1, "{out}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.starts_with("gh issue create -R acme/widgets"), "{err}");
    assert!(gh.state()["issues"].as_array().unwrap().is_empty());
}
