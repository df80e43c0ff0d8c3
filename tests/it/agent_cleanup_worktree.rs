//! Integration tests for `agent-cleanup-worktree` (through its shim) with
//! real git: a bare origin, a clone, linked worktrees. Also the git
//! fixtures the other worktree-collection tests use.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{World, run};

const TOOL: &str = "tools/bin/agent-cleanup-worktree";

/// `git -C dir args...` in the world; panics with git's stderr on failure.
pub fn git(w: &World, dir: &Path, args: &[&str]) -> String {
    let (code, out, err) = run(w.cmd("git").arg("-C").arg(dir).args(args));
    assert_eq!(code, 0, "git {args:?} in {}: {err}", dir.display());
    out
}

/// `git -C dir args...` with OS-string arguments.
pub fn git_os(w: &World, dir: &Path, args: &[&OsStr]) -> (i32, String, String) {
    run(w.cmd("git").arg("-C").arg(dir).args(args))
}

/// A bare `origin.git` whose default branch is `default`, and a clone
/// `anchor` of it (user configured, one commit pushed, `origin/HEAD` set).
pub fn origin_and_clone(w: &World, default: &str) -> (PathBuf, PathBuf) {
    let origin = w.path("origin.git");
    let seed = w.path("seed");
    let anchor = w.path("anchor");
    let root = w.root();
    git(
        w,
        &root,
        &["init", "-q", "--bare", "-b", default, "origin.git"],
    );
    git(w, &root, &["init", "-q", "-b", default, "seed"]);
    for args in [
        vec!["config", "user.email", "acp@example.com"],
        vec!["config", "user.name", "ACP Test"],
        vec!["commit", "-q", "--allow-empty", "-m", "init"],
        vec!["remote", "add", "origin", origin.to_str().unwrap()],
        vec!["push", "-q", "origin", default],
    ] {
        git(w, &seed, &args);
    }
    git(
        w,
        &root,
        &["clone", "-q", origin.to_str().unwrap(), "anchor"],
    );
    git(w, &anchor, &["config", "user.email", "acp@example.com"]);
    git(w, &anchor, &["config", "user.name", "ACP Test"]);
    (origin, anchor)
}

/// A linked worktree of `repo` at `path` on a new branch `branch` with one
/// commit of its own when `commit`.
pub fn add_worktree(w: &World, repo: &Path, path: &Path, branch: &str, commit: bool) {
    let (code, _, err) = git_os(
        w,
        repo,
        &[
            OsStr::new("worktree"),
            OsStr::new("add"),
            OsStr::new("-q"),
            OsStr::new("-b"),
            OsStr::new(branch),
            path.as_os_str(),
        ],
    );
    assert_eq!(code, 0, "worktree add {}: {err}", path.display());
    if commit {
        std::fs::write(path.join("work.txt"), "work\n").unwrap();
        git(w, path, &["add", "work.txt"]);
        git(w, path, &["commit", "-q", "-m", "work"]);
    }
}

/// Whether `branch` exists in `repo`.
pub fn has_branch(w: &World, repo: &Path, branch: &str) -> bool {
    let (code, _, _) = run(w.cmd("git").arg("-C").arg(repo).args([
        "show-ref",
        "--verify",
        "--quiet",
        &format!("refs/heads/{branch}"),
    ]));
    code == 0
}

/// Whether the bare origin has `branch`.
pub fn origin_has(w: &World, origin: &Path, branch: &str) -> bool {
    has_branch(w, origin, branch)
}

/// A worktree directory name with a space, quotes and non-ASCII bytes.
pub fn odd_name(prefix: &str) -> std::ffi::OsString {
    let mut bytes = prefix.as_bytes().to_vec();
    bytes.extend_from_slice(b" it's \"q\" \xc3\xa9\xff");
    std::ffi::OsStr::from_bytes(&bytes).to_os_string()
}

fn cleanup(w: &World, cwd: &Path) -> Command {
    let mut cmd = w.shim(TOOL);
    cmd.current_dir(cwd);
    cmd
}

#[test]
fn removes_a_merged_worktree_with_an_odd_path_and_both_branches() {
    let w = World::new();
    let (origin, anchor) = origin_and_clone(&w, "main");
    let wt = w.path("worktrees").join(odd_name("issue-1"));
    std::fs::create_dir_all(w.path("worktrees")).unwrap();
    add_worktree(&w, &anchor, &wt, "agent/issue-1", true);
    std::fs::create_dir_all(wt.join("node_modules/x")).unwrap();
    git(&w, &wt, &["push", "-q", "origin", "agent/issue-1"]);
    git(&w, &anchor, &["merge", "-q", "--ff-only", "agent/issue-1"]);
    git(&w, &anchor, &["push", "-q", "origin", "main"]);

    // --dry-run names every step and changes nothing.
    let (code, out, err) =
        run(cleanup(&w, &anchor).args(["--branch", "agent/issue-1", "--dry-run"]));
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines[0].starts_with("git worktree remove --force '"),
        "{out}"
    );
    assert!(lines[0].contains(r"it'\''s"), "{out}");
    assert_eq!(lines[1], "git branch -d 'agent/issue-1'");
    assert_eq!(lines[2], "git push 'origin' --delete 'agent/issue-1'");
    assert_eq!(lines[3], "git fetch --prune 'origin'");
    assert!(wt.join("node_modules/x").is_dir());
    assert!(has_branch(&w, &anchor, "agent/issue-1"));

    let (code, out, err) = run(cleanup(&w, &anchor).args(["--branch", "agent/issue-1"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.lines().last(),
        Some("[agent-cleanup] cleanup complete for agent/issue-1"),
        "{out}"
    );
    assert!(!wt.exists());
    assert!(!has_branch(&w, &anchor, "agent/issue-1"));
    assert!(!origin_has(&w, &origin, "agent/issue-1"));
}

#[test]
fn an_unmerged_branch_is_refused_unless_allowed() {
    let w = World::new();
    let (_origin, anchor) = origin_and_clone(&w, "main");
    let wt = w.path("wt-2");
    add_worktree(&w, &anchor, &wt, "agent/issue-2", true);
    let (code, _, err) = run(cleanup(&w, &anchor).args(["--branch", "agent/issue-2"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("Branch agent/issue-2 is not merged into origin/main"),
        "{err}"
    );
    assert!(wt.join("work.txt").is_file());
    let (code, _, err) = run(cleanup(&w, &anchor).args([
        "--branch",
        "agent/issue-2",
        "--allow-unmerged",
        "--keep-remote",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(!wt.exists());
    assert!(!has_branch(&w, &anchor, "agent/issue-2"));
}

/// A locked worktree is refused before anything is touched (the original
/// deleted its node_modules, then failed in `git worktree remove`).
#[test]
fn a_locked_worktree_is_refused_before_anything_changes() {
    let w = World::new();
    let (_origin, anchor) = origin_and_clone(&w, "main");
    let wt = w.path("wt-3");
    add_worktree(&w, &anchor, &wt, "agent/issue-3", false);
    std::fs::create_dir_all(wt.join("node_modules/pkg")).unwrap();
    git(
        &w,
        &anchor,
        &[
            "worktree",
            "lock",
            "--reason",
            "on usb",
            wt.to_str().unwrap(),
        ],
    );
    let (code, _, err) = run(cleanup(&w, &anchor).args(["--branch", "agent/issue-3"]));
    assert_eq!(code, 1);
    assert!(err.contains("the worktree is locked: on usb"), "{err}");
    assert!(wt.join("node_modules/pkg").is_dir());
    assert!(has_branch(&w, &anchor, "agent/issue-3"));
}

/// The branch checked out elsewhere: a `--path` that is not the branch's
/// worktree, the current branch, the main checkout's branch.
#[test]
fn a_branch_checked_out_elsewhere_is_refused() {
    let w = World::new();
    let (_origin, anchor) = origin_and_clone(&w, "main");
    let wt = w.path("wt-4");
    let other = w.path("wt-5");
    add_worktree(&w, &anchor, &wt, "agent/issue-4", false);
    add_worktree(&w, &anchor, &other, "agent/issue-5", false);
    let (code, _, err) = run(cleanup(&w, &anchor)
        .args(["--branch", "agent/issue-4", "--path"])
        .arg(&other));
    assert_eq!(code, 1);
    assert!(
        err.contains("does not match the worktree Git associates"),
        "{err}"
    );
    // Run from the worktree itself: its branch is the current one.
    let (code, _, err) = run(cleanup(&w, &wt).args(["--branch", "agent/issue-4"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("currently checked out: agent/issue-4"),
        "{err}"
    );
    // The main checkout on a task branch, cleaned from a linked worktree.
    git(&w, &anchor, &["checkout", "-q", "-b", "agent/issue-6"]);
    let (code, _, err) = run(cleanup(&w, &wt).args(["--branch", "agent/issue-6"]));
    assert_eq!(code, 1);
    assert!(err.contains("canonical source checkout"), "{err}");
    assert!(anchor.join(".git").is_dir() && wt.is_dir() && other.is_dir());
    for bad in [&["--branch", "main"][..], &["--branch", "master"], &[]] {
        let (code, _, _) = run(cleanup(&w, &anchor).args(bad));
        assert_eq!(code, 1, "{bad:?}");
    }
}

/// Without an `origin` the remote steps are skipped with a warning (the
/// original failed in `git fetch`).
#[test]
fn a_missing_origin_skips_the_remote_steps() {
    let w = World::new();
    let repo = w.git_repo("repo");
    let wt = w.path("wt-7");
    add_worktree(&w, &repo, &wt, "agent/issue-7", false);
    let (code, out, err) = run(cleanup(&w, &repo).args(["--branch", "agent/issue-7", "--dry-run"]));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("remote 'origin' is not configured"), "{err}");
    assert!(!out.contains("fetch"), "{out}");
    let (code, out, err) = run(cleanup(&w, &repo).args(["--branch", "agent/issue-7"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("cleanup complete"), "{out}");
    assert!(!wt.exists());
}

/// A worktree whose `.git` is gone: git refuses `worktree remove`, so the
/// directory is removed after the guards and the record pruned.
#[test]
fn a_broken_worktree_is_removed_and_pruned() {
    let w = World::new();
    let repo = w.git_repo("repo");
    let wt = w.path("wt-8");
    add_worktree(&w, &repo, &wt, "agent/issue-8", false);
    std::fs::remove_file(wt.join(".git")).unwrap();
    let (code, _, err) = run(cleanup(&w, &repo)
        .args(["--branch", "agent/issue-8", "--allow-unmerged", "--path"])
        .arg(&wt));
    assert_eq!(code, 0, "{err}");
    assert!(!wt.exists());
    let list = git(&w, &repo, &["worktree", "list", "--porcelain"]);
    assert!(!list.contains("wt-8"), "{list}");
}

/// A worktree holding another registered worktree is never removed.
#[test]
fn a_worktree_holding_another_worktree_is_refused() {
    let w = World::new();
    let repo = w.git_repo("repo");
    let outer = w.path("wt-9");
    add_worktree(&w, &repo, &outer, "agent/issue-9", false);
    let inner = outer.join("nested");
    add_worktree(&w, &repo, &inner, "agent/issue-10", true);
    let (code, _, err) = run(cleanup(&w, &repo).args(["--branch", "agent/issue-9"]));
    assert_eq!(code, 1);
    assert!(err.contains("contains the registered worktree"), "{err}");
    assert!(inner.join("work.txt").is_file());
}

/// The default base is the profile's default branch, never a literal
/// `main`; that branch is protected like main.
#[test]
fn the_default_base_comes_from_the_profile() {
    let mut w = World::new();
    let (_origin, anchor) = origin_and_clone(&w, "trunk");
    let wt = w.path("wt-11");
    add_worktree(&w, &anchor, &wt, "agent/issue-11", true);
    git(&w, &anchor, &["merge", "-q", "--ff-only", "agent/issue-11"]);
    git(&w, &anchor, &["push", "-q", "origin", "trunk"]);
    // Without a profile: the remote's HEAD (origin/trunk).
    let (code, out, err) =
        run(cleanup(&w, &anchor).args(["--branch", "agent/issue-11", "--dry-run"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("git branch -d 'agent/issue-11'"), "{out}");
    // A profile naming another default branch the task is not merged into.
    git(&w, &anchor, &["branch", "-q", "release", "trunk~1"]);
    w.env("ACP_DEFAULT_BRANCH", "release");
    let (code, _, err) = run(cleanup(&w, &anchor).args(["--branch", "agent/issue-11"]));
    assert_eq!(code, 1);
    assert!(err.contains("not merged into release"), "{err}");
    let (code, _, err) = run(cleanup(&w, &anchor).args(["--branch", "release"]));
    assert_eq!(code, 1);
    assert!(err.contains("protected branch: release"), "{err}");
}

/// Uncommitted work where a live tmux pane works is never discarded; once
/// the session ends, the same call removes it.
#[test]
fn uncommitted_work_of_a_live_session_is_kept() {
    let w = World::new();
    let repo = w.git_repo("repo");
    let wt = w.path("wt-12");
    add_worktree(&w, &repo, &wt, "agent/issue-12", false);
    std::fs::write(wt.join("draft.txt"), "half done\n").unwrap();
    let (code, _, err) = run(w
        .tmux()
        .args(["new-session", "-d", "-s", "live-12", "-c"])
        .arg(&wt)
        .arg("sleep 60"));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) =
        run(cleanup(&w, &repo).args(["--branch", "agent/issue-12", "--allow-unmerged"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("a pane of live tmux session live-12 works in it"),
        "{err}"
    );
    assert!(wt.join("draft.txt").is_file());
    run(w.tmux().args(["kill-session", "-t", "=live-12"]));
    let (code, _, err) =
        run(cleanup(&w, &repo).args(["--branch", "agent/issue-12", "--allow-unmerged"]));
    assert_eq!(code, 0, "{err}");
    assert!(!wt.exists());
}

/// With the remote branch kept, the cleanup fetches once (its plan's
/// fetch), not a second time after removing only local things.
#[test]
fn keeping_the_remote_branch_fetches_once() {
    let w = World::new();
    let (_origin, anchor) = origin_and_clone(&w, "main");
    let wt = w.path("wt-5");
    add_worktree(&w, &anchor, &wt, "agent/issue-5", false);
    let real_git = ["/usr/local/bin/git", "/usr/bin/git", "/bin/git"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .expect("a git binary");
    let log = w.path("git-calls.log");
    crate::harness::write_script(
        &w.fake_bin.join("git"),
        &format!(
            "#!/usr/bin/env bash\nprintf '%s\\n' \"$*\" >>'{}'\nexec '{}' \"$@\"\n",
            log.display(),
            real_git.display()
        ),
    );
    let (code, _, err) = run(cleanup(&w, &anchor).args([
        "--branch",
        "agent/issue-5",
        "--allow-unmerged",
        "--keep-remote",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(!wt.exists());
    let calls = std::fs::read_to_string(&log).unwrap();
    let fetches = calls.lines().filter(|l| l.contains("fetch")).count();
    assert_eq!(fetches, 1, "{calls}");
}
