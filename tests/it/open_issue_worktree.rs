//! `agent-project-open-issue-worktree` through its shim, with real git.

use crate::harness::{World, kv, run, write_script};
use crate::worktree_fixture::{ODD, git, kv_path, repos};

#[test]
fn opens_from_the_remotes_default_branch_with_a_sanitised_slug() {
    let w = World::new();
    let r = repos(&w, ODD, &[]);
    let prep_log = w.path("prepare.log");
    let prepare = write_script(
        &w.path("prep.sh"),
        &format!(
            "#!/bin/sh\nprintf '%s\\n' \"$1\" >> {:?}\necho noise\n",
            prep_log.display().to_string()
        ),
    );
    let mut cmd = w.shim("tools/bin/agent-project-open-issue-worktree");
    cmd.args(["--repo-root"])
        .arg(&r.anchor)
        .arg("--worktree-root")
        .arg(&r.worktrees)
        .args([
            "--issue-id",
            "42",
            "--slug",
            "Fix `rm -rf /` & Ünïcode!",
            "--stamp",
            "20260101-000000",
        ])
        .arg("--prepare-script")
        .arg(&prepare);
    let (code, out, err) = run(&mut cmd);
    assert_eq!(code, 0, "{err}");
    let wt = r.worktrees.join("issue-42-20260101-000000");
    assert_eq!(kv_path(&out, "WORKTREE"), wt);
    assert_eq!(
        kv(&out, "BRANCH"),
        Some("agent/project/issue-42-fix-rm-rf-n-code-20260101-000000")
    );
    assert_eq!(
        kv(&out, "BASE_REF"),
        Some("origin/trunk"),
        "never a literal main"
    );
    assert_eq!(out.lines().count(), 3, "{out}");
    assert_eq!(
        std::fs::read_to_string(&prep_log).unwrap(),
        format!("{}\n", wt.display())
    );
    assert_eq!(
        git(&w, &wt, &["rev-parse", "HEAD"]),
        git(&w, &r.anchor, &["rev-parse", "origin/trunk"])
    );
}

#[test]
fn a_missing_origin_fails_before_anything_is_made() {
    let w = World::new();
    let r = repos(&w, "r", &[]);
    git(&w, &r.anchor, &["remote", "remove", "origin"]);
    let mut cmd = w.shim("tools/bin/agent-project-open-issue-worktree");
    cmd.arg("--repo-root")
        .arg(&r.anchor)
        .arg("--worktree-root")
        .arg(&r.worktrees)
        .args(["--issue-id", "7", "--base", "origin/trunk"]);
    let (code, out, err) = run(&mut cmd);
    assert_ne!(code, 0);
    assert!(out.is_empty());
    assert!(err.contains("remote 'origin' is missing"), "{err}");
    assert!(!r.worktrees.exists());
}

#[test]
fn required_flags_and_hostile_ids_are_refused() {
    let w = World::new();
    let (code, _, err) = run(w
        .shim("tools/bin/agent-project-open-issue-worktree")
        .args(["--issue-id", "1"]));
    assert_eq!(code, 1);
    assert!(err.contains("are required"), "{err}");
    let (code, _, err) = run(w.shim("tools/bin/agent-project-open-issue-worktree").args([
        "--repo-root",
        "/x",
        "--worktree-root",
        "/y",
        "--issue-id",
        "../1",
    ]));
    assert_eq!(code, 1);
    assert!(err.contains("--issue-id must be"), "{err}");
}

#[test]
fn an_existing_worktree_path_is_refused() {
    let w = World::new();
    let r = repos(&w, "r", &[]);
    std::fs::create_dir_all(r.worktrees.join("issue-5-s1")).unwrap();
    let mut cmd = w.shim("tools/bin/agent-project-open-issue-worktree");
    cmd.arg("--repo-root")
        .arg(&r.anchor)
        .arg("--worktree-root")
        .arg(&r.worktrees)
        .args(["--issue-id", "5", "--stamp", "s1"]);
    let (code, _, err) = run(&mut cmd);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("already exists"), "{err}");
}

#[test]
fn a_failed_prepare_leaves_no_worktree_or_branch_behind() {
    let w = World::new();
    let r = repos(&w, ODD, &[]);
    let prepare = write_script(
        &w.path("prep.sh"),
        "#!/bin/sh\necho 'no deps' >&2\nexit 3\n",
    );
    let mut cmd = w.shim("tools/bin/agent-project-open-issue-worktree");
    cmd.arg("--repo-root")
        .arg(&r.anchor)
        .arg("--worktree-root")
        .arg(&r.worktrees)
        .args(["--issue-id", "7", "--stamp", "20260101-000000"])
        .arg("--prepare-script")
        .arg(&prepare);
    let (code, out, err) = run(&mut cmd);
    assert_eq!(code, 3, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("no deps"), "{err}");
    assert!(err.contains("after the failed prepare"), "{err}");
    assert!(!r.worktrees.join("issue-7-20260101-000000").exists());
    let branches = git(
        &w,
        &r.anchor,
        &["branch", "--list", "agent/project/issue-7-*"],
    );
    assert_eq!(branches, "", "the new branch is deleted");
    let list = git(&w, &r.anchor, &["worktree", "list", "--porcelain"]);
    assert!(!list.contains("issue-7-"), "{list}");
}
