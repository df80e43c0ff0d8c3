//! `agent-project-open-pr-worktree` through its shim, with real git, on an
//! origin without a `main` branch.

use crate::harness::{World, kv, run};
use crate::worktree_fixture::{ODD, git, kv_path, profile, repos};

#[test]
fn opens_from_the_pr_head_on_a_repo_without_main() {
    let mut w = World::new();
    let r = repos(&w, ODD, &[]);
    profile(&mut w, &r, "");
    git(&w, &r.anchor, &["checkout", "-q", "-b", "feature/x"]);
    std::fs::write(r.anchor.join("f.txt"), "x\n").unwrap();
    git(&w, &r.anchor, &["add", "f.txt"]);
    git(&w, &r.anchor, &["commit", "-q", "-m", "feature"]);
    git(&w, &r.anchor, &["push", "-q", "origin", "feature/x"]);
    let head = git(&w, &r.anchor, &["rev-parse", "HEAD"]);
    git(&w, &r.anchor, &["checkout", "-q", "trunk"]);
    git(&w, &r.anchor, &["branch", "-D", "feature/x"]);

    let mut cmd = w.shim("tools/bin/agent-project-open-pr-worktree");
    cmd.arg("--repo-root")
        .arg(&r.anchor)
        .arg("--worktree-root")
        .arg(&r.worktrees)
        .args([
            "--pr-number",
            "77",
            "--head-ref",
            "feature/x",
            "--stamp",
            "20260325-120000",
        ]);
    let (code, out, err) = run(&mut cmd);
    assert_eq!(
        code, 0,
        "0.2.0 fetched refs/heads/main here and failed: {err}"
    );
    let wt = r.worktrees.join("pr-77-20260325-120000");
    assert_eq!(kv_path(&out, "WORKTREE"), wt);
    assert_eq!(kv(&out, "REF"), Some("origin/feature/x"));
    assert_eq!(
        kv(&out, "BRANCH"),
        Some("agent/demo/pr-77-20260325-120000"),
        "profile prefix"
    );
    assert_eq!(git(&w, &wt, &["rev-parse", "HEAD"]), head);
    assert_eq!(
        git(&w, &wt, &["branch", "--show-current"]),
        "agent/demo/pr-77-20260325-120000"
    );
}

#[test]
fn an_unknown_head_ref_fails_without_a_worktree() {
    let mut w = World::new();
    let r = repos(&w, "r", &[]);
    profile(&mut w, &r, "");
    let mut cmd = w.shim("tools/bin/agent-project-open-pr-worktree");
    cmd.arg("--repo-root")
        .arg(&r.anchor)
        .arg("--worktree-root")
        .arg(&r.worktrees)
        .args(["--pr-number", "8", "--head-ref", "no-such-branch"]);
    let (code, out, err) = run(&mut cmd);
    assert_ne!(code, 0);
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("git fetch failed"), "{err}");
    assert!(
        std::fs::read_dir(&r.worktrees)
            .map(|d| d.count())
            .unwrap_or(0)
            == 0
    );
}

#[test]
fn a_hostile_head_ref_is_refused() {
    let mut w = World::new();
    let r = repos(&w, "r", &[]);
    profile(&mut w, &r, "");
    let mut cmd = w.shim("tools/bin/agent-project-open-pr-worktree");
    cmd.arg("--repo-root")
        .arg(&r.anchor)
        .arg("--worktree-root")
        .arg(&r.worktrees)
        .args([
            "--pr-number",
            "8",
            "--head-ref",
            "--upload-pack=touch /tmp/x",
        ]);
    let (code, _, err) = run(&mut cmd);
    assert_eq!(code, 1);
    assert!(err.contains("invalid --head-ref"), "{err}");
}
