//! Integration tests for `bin/issue-resource-class.sh` and its
//! `tools/bin` front against the fake GitHub.

use serde_json::json;

use crate::fake_github::FakeGithub;
use crate::harness::{World, run, write_script};

fn world() -> (World, FakeGithub) {
    let mut w = World::new();
    let gh = w.fake_github(&json!({
        "issues": [
            {"number": 1, "title": "Refactor the cache", "body": "plain work", "labels": ["bug"]},
            {"number": 2, "title": "Flaky login", "body": "x", "labels": ["Playwright"]},
            {"number": 3, "title": "Fix E2E checkout", "body": "", "labels": []},
            {"number": 4, "title": "t", "body": "Add end-to-end tests for signup", "labels": []},
            {"number": 5, "title": "$(touch pwned)\nCLASS=heavy", "body": "`touch pwned2`", "labels": []}
        ],
        "faults": []
    }));
    w.env("ACP_REPO_SLUG", "acme/widgets");
    (w, gh)
}

fn class(w: &World, id: &str) -> (i32, String, String) {
    run(w.shim("bin/issue-resource-class.sh").arg(id))
}

#[test]
fn labels_titles_and_bodies_decide_the_class() {
    let (w, gh) = world();
    for (id, heavy) in [
        ("1", false),
        ("2", true),
        ("3", true),
        ("4", true),
        ("5", false),
    ] {
        let (code, out, err) = class(&w, id);
        assert_eq!(code, 0, "{err}");
        let (c, e) = if heavy {
            ("e2e-heavy", "yes")
        } else {
            ("standard", "no")
        };
        assert_eq!(out, format!("ISSUE_ID={id}\nCLASS={c}\nIS_E2E={e}\n"));
    }
    assert!(!w.root().join("pwned").exists() && !w.root().join("pwned2").exists());
    let calls = gh.calls();
    assert_eq!(calls.len(), 5);
    assert_eq!(calls[0][..5], ["issue", "view", "1", "-R", "acme/widgets"]);
}

#[test]
fn a_failed_read_is_one_line_and_exit_1() {
    let (w, gh) = world();
    let (code, out, err) = class(&w, "99");
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("issue-resource-class: cannot read issue 99 of acme/widgets"),
        "{err}"
    );
    gh.put(
        "faults",
        json!([{"on": "read", "count": 9, "answer": "403"}]),
    );
    let (code, _, err) = class(&w, "1");
    assert_eq!(code, 1);
    assert!(err.contains("HTTP 403"), "{err}");
    gh.clear_calls();
    let (code, _, err) = class(&w, "1;rm");
    assert_eq!(code, 1);
    assert!(err.contains("must be an issue number"), "{err}");
    assert!(gh.calls().is_empty());
}

#[test]
fn the_tools_front_runs_the_package_bin_script() {
    let (w, _gh) = world();
    let (code, out, _) = run(w.shim("tools/bin/issue-resource-class.sh").arg("3"));
    assert_eq!(code, 0);
    assert!(out.contains("CLASS=e2e-heavy"));
    write_script(
        &w.skill.join("bin/issue-resource-class.sh"),
        "#!/usr/bin/env bash\necho \"STUB=$1\"\n",
    );
    let (code, out, _) = run(w.shim("tools/bin/issue-resource-class.sh").arg("3"));
    assert_eq!((code, out.as_str()), (0, "STUB=3\n"));
    let (code, _, err) = run(&mut w.shim("tools/bin/issue-resource-class.sh"));
    assert_eq!(code, 1);
    assert!(
        err.contains("usage: issue-resource-class.sh ISSUE_ID"),
        "{err}"
    );
}
