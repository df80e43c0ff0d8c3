//! `issue-publish-scope-guard.sh` through its shim on a real repository,
//! with the issue read from the fake GitHub.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::harness::{World, kv, run};

const TOOL: &str = "tools/bin/issue-publish-scope-guard.sh";

/// A repo whose `main` has one file and whose branch `slice` changes `files`.
fn repo_with_slice(w: &World, files: &[&str]) -> PathBuf {
    let repo = w.git_repo("repo");
    let git = |args: &[&str]| {
        let ok = w
            .cmd("git")
            .arg("-C")
            .arg(&repo)
            .args(args)
            .status()
            .unwrap();
        assert!(ok.success(), "git {args:?}");
    };
    git(&["checkout", "-q", "-b", "slice"]);
    for f in files {
        let p = repo.join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "x\n").unwrap();
    }
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "slice"]);
    repo
}

fn guard(w: &World, repo: &Path, extra: &[&str]) -> (i32, String, String) {
    run(w
        .shim(TOOL)
        .arg("--worktree")
        .arg(repo)
        .args(["--base-ref", "main"])
        .args(extra))
}

fn with_issue(title: &str, body: &str) -> World {
    let mut w = World::new();
    w.env("ACP_REPO_SLUG", "acme/widgets");
    w.fake_github(&json!({"issues": [{"number": 101, "title": title, "body": body}]}));
    w
}

#[test]
fn a_narrow_product_change_passes_with_its_counts() {
    let w = with_issue("Align auth page with OpenSpec contract", "Context: notes.");
    let repo = repo_with_slice(&w, &["apps/web/src/app/page.tsx", "docs/x.md"]);
    let (code, out, err) = guard(&w, &repo, &["--issue-id", "101"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "SCOPE_GUARD_STATUS"), Some("ok"));
    assert_eq!(kv(&out, "PRODUCT_NON_TEST_COUNT"), Some("1"));
    assert_eq!(kv(&out, "AUTH_MIXED_SCOPE_COUNT"), Some("0"));
}

#[test]
fn a_docs_only_issue_with_product_code_is_blocked_with_42() {
    let w = with_issue("docs: auth page follow-up", "Scope: docs only");
    let repo = repo_with_slice(&w, &["apps/web/src/app/page.tsx"]);
    let (code, out, err) = guard(&w, &repo, &["--issue-id", "101"]);
    assert_eq!(code, 42, "{out}{err}");
    assert!(err.starts_with("Scope guard blocked issue #101 from publishing as a single PR.\n"));
    assert!(err.contains("- docs_declared_scope_contains_product_changes=1\n"));
    assert!(err.contains("- apps/web/src/app/page.tsx\n"));
    assert_eq!(out, "");
}

#[test]
fn an_unreadable_issue_leaves_the_files_to_decide() {
    let mut w = World::new();
    w.env("ACP_REPO_SLUG", "acme/widgets");
    let gh = w.fake_github(&json!({"issues": []}));
    let mut files: Vec<String> = (0..15).map(|i| format!("packages/core/f{i}.ts")).collect();
    files.push("packages/core/f.test.ts".into());
    let refs: Vec<&str> = files.iter().map(String::as_str).collect();
    let repo = repo_with_slice(&w, &refs);
    let (code, _, err) = guard(&w, &repo, &["--issue-id", "5"]);
    assert_eq!(code, 42, "{err}");
    assert!(
        err.contains("- product_non_test_count=15 exceeds max=14\n"),
        "{err}"
    );
    assert_eq!(gh.calls().len(), 1);
}

#[test]
fn usage_errors_exit_1() {
    let w = World::new();
    let (code, _, err) = run(w.shim(TOOL).args(["--base-ref", "main"]));
    assert_eq!(code, 1);
    assert!(err.contains("--worktree"), "{err}");
    let (code, _, err) =
        run(w
            .shim(TOOL)
            .args(["--worktree", "/nonexistent/x", "--base-ref", "main"]));
    assert_eq!((code, err.trim()), (1, "missing worktree: /nonexistent/x"));
    let (code, _, err) = run(w.shim(TOOL).args(["--bogus"]));
    assert_eq!(code, 1);
    assert!(err.starts_with("Unknown argument: --bogus"), "{err}");
}
