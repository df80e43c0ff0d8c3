//! `reuse-issue-worktree.sh` through its shim with real git: rotation onto
//! the default branch, and the failure paths (locked worktree, existing
//! target, not a worktree, missing origin).

use std::path::PathBuf;

use crate::harness::{World, kv, run};
use crate::worktree_fixture::{ODD, Repos, git, kv_path, profile, repos};

fn world() -> (World, Repos, PathBuf) {
    let mut w = World::new();
    let r = repos(&w, ODD, &[]);
    profile(&mut w, &r, "");
    w.env("ACP_SYNC_DEPENDENCY_BASELINE_SCRIPT", "/nonexistent");
    std::fs::create_dir_all(&r.worktrees).unwrap();
    let old = r.worktrees.join("issue-440-old");
    git(
        &w,
        &r.anchor,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "agent/demo/issue-440-old",
            old.to_str().unwrap(),
            "origin/trunk",
        ],
    );
    (w, r, old)
}

fn reuse(w: &World, wt: &std::path::Path) -> (i32, String, String) {
    let mut cmd = w.shim("tools/bin/reuse-issue-worktree.sh");
    cmd.arg(wt).args(["441", "Next cycle"]);
    run(&mut cmd)
}

#[test]
fn rotates_onto_a_new_branch_from_the_default_branch() {
    let (w, r, old) = world();
    std::fs::write(old.join("scratch.txt"), "left over\n").unwrap();
    let (code, out, err) = reuse(&w, &old);
    assert_eq!(code, 0, "{err}");
    let wt = kv_path(&out, "WORKTREE");
    let branch = kv(&out, "BRANCH").unwrap();
    assert!(
        branch.starts_with("agent/demo/issue-441-next-cycle-"),
        "{branch}"
    );
    assert_eq!(kv(&out, "BASE_REF"), Some("origin/trunk"));
    assert_eq!(kv(&out, "REUSED"), Some("yes"));
    assert!(
        wt.starts_with(&r.worktrees)
            && wt
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("issue-441-")
    );
    assert!(!old.exists());
    assert!(!wt.join("scratch.txt").exists(), "cleaned");
    assert!(wt.join(".openclaw-artifacts").is_dir(), "prepared");
    assert_eq!(git(&w, &wt, &["branch", "--show-current"]), branch);
    assert!(
        git(
            &w,
            &r.anchor,
            &["branch", "--list", "agent/demo/issue-440-old"]
        )
        .is_empty()
    );
}

#[test]
fn a_locked_worktree_is_not_moved() {
    let (w, _, old) = world();
    git(
        &w,
        &old,
        &[
            "worktree",
            "lock",
            "--reason",
            "busy",
            old.to_str().unwrap(),
        ],
    );
    let (code, out, err) = reuse(&w, &old);
    assert_ne!(code, 0);
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("reused worktree is locked"), "{err}");
    assert!(old.is_dir());
    assert_eq!(
        git(&w, &old, &["branch", "--show-current"]),
        "agent/demo/issue-440-old",
        "untouched"
    );
}

#[test]
fn a_plain_dir_and_a_missing_origin_are_refused() {
    let (w, r, old) = world();
    let plain = w.path("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let (code, _, err) = reuse(&w, &plain);
    assert_eq!(code, 1);
    assert!(err.contains("invalid managed worktree"), "{err}");

    git(&w, &r.anchor, &["remote", "rename", "origin", "upstream"]);
    let (code, _, err) = reuse(&w, &old);
    assert_ne!(code, 0);
    assert!(err.contains("remote 'origin' is missing"), "{err}");
    assert_eq!(
        git(&w, &old, &["branch", "--show-current"]),
        "agent/demo/issue-440-old",
        "untouched"
    );
}

#[test]
fn usage_errors() {
    let (w, _, _) = world();
    let (code, _, err) = run(w.shim("tools/bin/reuse-issue-worktree.sh").arg("/x"));
    assert_eq!(code, 1);
    assert!(
        err.contains("reuse-issue-worktree.sh WORKTREE ISSUE_ID [SLUG]"),
        "{err}"
    );
}
