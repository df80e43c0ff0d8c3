//! Integration tests for `audit-retained-worktrees.sh` (through its shim).

use crate::agent_cleanup_worktree::{add_worktree, git, has_branch};
use crate::harness::{World, kv, run};

const TOOL: &str = "tools/bin/audit-retained-worktrees.sh";

#[test]
fn legacy_worktrees_are_reported_and_the_clean_unowned_ones_removed() {
    let mut w = World::new();
    let retained = w.git_repo("retained");
    w.env("ACP_PROJECT_ID", "alpha");
    w.env("F_LOSNING_RETAINED_REPO_ROOT", &retained);
    w.env("F_LOSNING_WORKTREE_ROOT", w.path("worktrees"));
    w.env("F_LOSNING_AGENT_ROOT", w.path("agent"));
    let legacy = w.path("alpha-pr-7");
    add_worktree(&w, &retained, &legacy, "agent/alpha/pr-7-x", false);
    let dirty = w.path("alpha-issue-8");
    add_worktree(&w, &retained, &dirty, "some-branch", false);
    std::fs::write(dirty.join("mine.txt"), "work\n").unwrap();
    let manual = w.path("my-feature");
    add_worktree(&w, &retained, &manual, "feature/mine", false);

    let (code, out, err) = run(w.shim(TOOL).args(["--cleanup", "--dry-run", "--strict"]));
    assert_eq!(code, 2, "{err}");
    assert_eq!(
        kv(&out, "LEGACY_RETAINED_WORKTREE_COUNT"),
        Some("2"),
        "{out}"
    );
    assert!(out.contains("SESSION=alpha-pr-7"), "{out}");
    assert!(out.contains("SESSION=alpha-issue-8"), "{out}");
    assert!(out.contains("CLEANUP=would-remove"), "{out}");
    assert!(out.contains("DISK_KIB="), "{out}");
    assert!(!out.contains("my-feature"), "{out}");
    assert!(legacy.is_dir());

    let (code, out, err) = run(w.shim(TOOL).arg("--cleanup"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        kv(&out, "LEGACY_RETAINED_WORKTREE_CLEANED"),
        Some("1"),
        "{out}"
    );
    assert!(out.contains("REASON=uncommitted work"), "{out}");
    assert!(!legacy.exists());
    assert!(!has_branch(&w, &retained, "agent/alpha/pr-7-x"));
    assert!(dirty.join("mine.txt").is_file() && manual.is_dir());
    git(&w, &retained, &["status", "--short"]);
}

#[test]
fn a_live_session_owns_a_retained_worktree() {
    let mut w = World::new();
    let retained = w.git_repo("retained");
    w.env("ACP_PROJECT_ID", "alpha");
    w.env("F_LOSNING_RETAINED_REPO_ROOT", &retained);
    w.env("F_LOSNING_AGENT_ROOT", w.path("agent"));
    let legacy = w.path("alpha-issue-9");
    add_worktree(&w, &retained, &legacy, "x", false);
    w.tmux_session("alpha-issue-9", "sleep 60");
    let (code, out, err) = run(w.shim(TOOL).arg("--cleanup"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "ACTIVE_OWNER"), Some("yes"), "{out}");
    assert_eq!(kv(&out, "CLEANUP"), Some("skipped"), "{out}");
    assert!(legacy.is_dir());
    w.env("F_LOSNING_RETAINED_REPO_ROOT", w.path("none"));
    let (code, _, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 1);
    assert!(err.contains("retained root is not a Git checkout"), "{err}");
}
