//! `new-pr-worktree.sh` through its shim with real git.

use crate::harness::{World, kv, run};
use crate::worktree_fixture::{git, kv_path, profile, repos, stub_anchor_siblings};

#[test]
fn opens_a_prepared_pr_worktree_with_the_profiles_prefix() {
    let mut w = World::new();
    let r = repos(&w, "r", &[]);
    git(&w, &r.anchor, &["checkout", "-q", "-b", "fix/bug"]);
    std::fs::write(r.anchor.join("fix.txt"), "f\n").unwrap();
    git(&w, &r.anchor, &["add", "fix.txt"]);
    git(&w, &r.anchor, &["commit", "-q", "-m", "fix"]);
    git(&w, &r.anchor, &["push", "-q", "origin", "fix/bug"]);
    git(&w, &r.anchor, &["checkout", "-q", "trunk"]);
    profile(&mut w, &r, "");
    stub_anchor_siblings(&w);
    let (code, out, err) = run(w
        .shim("tools/bin/new-pr-worktree.sh")
        .args(["31", "fix/bug"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "REF"), Some("origin/fix/bug"));
    assert!(
        kv(&out, "BRANCH").unwrap().starts_with("agent/demo/pr-31-"),
        "{out}"
    );
    let wt = kv_path(&out, "WORKTREE");
    assert!(wt.join("fix.txt").is_file());
    assert!(wt.join(".openclaw-artifacts").is_dir());
}

#[test]
fn missing_arguments_exit_1() {
    let mut w = World::new();
    let r = repos(&w, "r", &[]);
    profile(&mut w, &r, "");
    let (code, _, err) = run(w.shim("tools/bin/new-pr-worktree.sh").arg("31"));
    assert_eq!(code, 1);
    assert!(
        err.contains("usage: new-pr-worktree.sh PR_NUMBER HEAD_REF"),
        "{err}"
    );
}
