//! `agent-project-sync-anchor-repo` through its shim, with real git: a bare
//! origin whose default branch is `trunk` (never `main`), a canonical clone
//! and the anchor, under directories whose names hold spaces, quotes and
//! non-ASCII letters.

use std::path::{Path, PathBuf};

use crate::harness::{World, kv, read, run};

/// A directory name with a space, both quotes and a non-ASCII letter.
pub(crate) const ODD: &str = "dir with 'quotes' \"and\" é";

pub(crate) const TOOL: &str = "tools/bin/agent-project-sync-anchor-repo";

/// `git -C dir args...` in the world's environment; panics on failure and
/// returns trimmed stdout.
pub(crate) fn git(w: &World, dir: &Path, args: &[&str]) -> String {
    let out = w
        .cmd("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.email=t@example.com", "-c", "user.name=T"])
        .args(args)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A bare origin (HEAD = `trunk`) with one commit holding `README.md`, and
/// a canonical clone of it; returns (origin, canonical).
pub(crate) fn origin_and_canonical(w: &World, base: &str) -> (PathBuf, PathBuf) {
    let origin = w.path(&format!("{base}/origin.git"));
    let canonical = w.path(&format!("{base}/canonical"));
    std::fs::create_dir_all(&origin).unwrap();
    git(w, &origin, &["init", "-q", "--bare", "-b", "trunk"]);
    git(
        w,
        &w.root(),
        &[
            "clone",
            "-q",
            origin.to_str().unwrap(),
            canonical.to_str().unwrap(),
        ],
    );
    std::fs::write(canonical.join("README.md"), "seed\n").unwrap();
    git(w, &canonical, &["add", "README.md"]);
    git(w, &canonical, &["commit", "-q", "-m", "init"]);
    git(w, &canonical, &["push", "-q", "origin", "HEAD:trunk"]);
    (origin, canonical)
}

/// Commits `files` in the canonical clone and pushes them to `trunk`.
pub(crate) fn push_files(w: &World, canonical: &Path, files: &[(&str, &str)]) {
    for (rel, text) in files {
        let p = canonical.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
        git(w, canonical, &["add", "-f", "--", rel]);
    }
    git(w, canonical, &["commit", "-q", "-m", "more"]);
    git(w, canonical, &["push", "-q", "origin", "HEAD:trunk"]);
}

fn sync(w: &World, canonical: &Path, anchor: &Path, extra: &[&str]) -> (i32, String, String) {
    run(w
        .shim(TOOL)
        .arg("--canonical-root")
        .arg(canonical)
        .arg("--anchor-root")
        .arg(anchor)
        .args(extra))
}

#[test]
fn clones_the_remote_default_branch_into_an_odd_path() {
    let w = World::new();
    let (origin, canonical) = origin_and_canonical(&w, ODD);
    let anchor = w.path(&format!("{ODD}/agents/anchor é"));
    let (code, out, err) = sync(&w, &canonical, &anchor, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "CANONICAL_ROOT"), canonical.to_str());
    assert_eq!(kv(&out, "ANCHOR_ROOT"), anchor.to_str());
    assert_eq!(kv(&out, "REMOTE"), Some("origin"));
    assert_eq!(kv(&out, "DEFAULT_BRANCH"), Some("trunk"));
    assert_eq!(kv(&out, "ORIGIN_URL"), origin.to_str());
    assert_eq!(kv(&out, "DIRTY_STATE_STASHED"), Some("no"));
    assert_eq!(kv(&out, "DIRTY_STASH_MESSAGE"), None);
    assert_eq!(git(&w, &anchor, &["branch", "--show-current"]), "trunk");
    assert_eq!(
        git(
            &w,
            &anchor,
            &["rev-parse", "--abbrev-ref", "trunk@{upstream}"]
        ),
        "origin/trunk"
    );
    assert_eq!(git(&w, &anchor, &["config", "remote.origin.prune"]), "true");
    assert_eq!(read(anchor.join("README.md")), "seed\n");
    // No lock left behind.
    let parent = anchor.parent().unwrap();
    let names: Vec<_> = std::fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["anchor é"], "{names:?}");

    // A second run fast-forwards to a new tip.
    push_files(&w, &canonical, &[("b.txt", "b\n")]);
    let (code, out, err) = sync(&w, &canonical, &anchor, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "DIRTY_STATE_STASHED"), Some("no"));
    assert_eq!(read(anchor.join("b.txt")), "b\n");
}

#[test]
fn an_explicit_default_branch_wins_and_an_empty_directory_is_cloned_into() {
    let w = World::new();
    let (_, canonical) = origin_and_canonical(&w, "x");
    git(&w, &canonical, &["push", "-q", "origin", "HEAD:release"]);
    let anchor = w.path("x/anchor");
    std::fs::create_dir_all(&anchor).unwrap();
    let (code, out, err) = sync(&w, &canonical, &anchor, &["--default-branch", "release"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "DEFAULT_BRANCH"), Some("release"));
    assert_eq!(git(&w, &anchor, &["branch", "--show-current"]), "release");
}

/// The original's own test, with `trunk` for `main`: a dirty anchor on a
/// review branch with a linked worktree is stashed and put back on the
/// default branch; the worktree survives.
#[test]
fn a_dirty_anchor_on_another_branch_is_stashed_and_moved() {
    let w = World::new();
    let (_, canonical) = origin_and_canonical(&w, ODD);
    let anchor = w.path(&format!("{ODD}/anchor"));
    git(
        &w,
        &w.root(),
        &[
            "clone",
            "-q",
            canonical.to_str().unwrap(),
            anchor.to_str().unwrap(),
        ],
    );
    let origin_url = git(&w, &canonical, &["remote", "get-url", "origin"]);
    git(&w, &anchor, &["remote", "set-url", "origin", &origin_url]);
    git(&w, &anchor, &["fetch", "-q", "origin"]);
    git(&w, &anchor, &["checkout", "-q", "-b", "pr-5-review"]);
    std::fs::write(anchor.join("README.md"), "seed\ndirty change\n").unwrap();
    let extra = w.path(&format!("{ODD}/worktrees/issue-3"));
    git(
        &w,
        &anchor,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "issue-3",
            extra.to_str().unwrap(),
            "origin/trunk",
        ],
    );

    let (code, out, err) = sync(&w, &canonical, &anchor, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "DIRTY_STATE_STASHED"), Some("yes"));
    let message = kv(&out, "DIRTY_STASH_MESSAGE").unwrap();
    assert!(message.starts_with("acp-anchor-sync-"), "{message}");
    assert!(
        err.contains(message),
        "the operator is told the stash name: {err}"
    );
    assert_eq!(git(&w, &anchor, &["branch", "--show-current"]), "trunk");
    assert_eq!(
        git(&w, &anchor, &["status", "--short", "--untracked-files=no"]),
        ""
    );
    assert!(git(&w, &anchor, &["stash", "list"]).contains(message));
    assert!(extra.is_dir());
    git(&w, &extra, &["status", "--short"]);
    // The change is recoverable.
    git(&w, &anchor, &["stash", "apply", "-q"]);
    assert_eq!(read(anchor.join("README.md")), "seed\ndirty change\n");
}

/// Nothing uncommitted is lost: staged and unstaged tracked changes, an
/// untracked file the new tip also adds, an ignored file the tip tracks,
/// and an untracked directory with a file the tip tracks all go into the
/// one named stash; untracked files the tip does not touch stay in place.
#[test]
fn uncommitted_work_survives_in_one_named_stash() {
    let w = World::new();
    let (_, canonical) = origin_and_canonical(&w, ODD);
    push_files(
        &w,
        &canonical,
        &[(".gitignore", "*.local\n"), ("tracked é.txt", "v1\n")],
    );
    let anchor = w.path(&format!("{ODD}/anchor"));
    assert_eq!(sync(&w, &canonical, &anchor, &[]).0, 0);

    // Upstream moves on: adds files where the anchor will have local ones.
    push_files(
        &w,
        &canonical,
        &[
            ("new file.txt", "upstream\n"),
            ("cfg.local", "upstream cfg\n"),
            ("docs/guide.md", "upstream guide\n"),
        ],
    );
    std::fs::write(anchor.join("README.md"), "seed\nunstaged\n").unwrap();
    std::fs::write(anchor.join("tracked é.txt"), "v1\nstaged\n").unwrap();
    git(&w, &anchor, &["add", "tracked é.txt"]);
    std::fs::write(anchor.join("new file.txt"), "mine\n").unwrap();
    std::fs::write(anchor.join("cfg.local"), "my ignored cfg\n").unwrap();
    std::fs::create_dir_all(anchor.join("docs")).unwrap();
    std::fs::write(anchor.join("docs/guide.md"), "my guide\n").unwrap();
    std::fs::write(anchor.join("docs/notes.md"), "my notes\n").unwrap();
    std::fs::write(anchor.join("scratch 'q'.txt"), "keep me here\n").unwrap();

    let (code, out, err) = sync(&w, &canonical, &anchor, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "DIRTY_STATE_STASHED"), Some("yes"));
    let message = kv(&out, "DIRTY_STASH_MESSAGE").unwrap().to_string();
    // The anchor is at the new tip; the untouched untracked file stayed.
    assert_eq!(
        git(&w, &anchor, &["rev-parse", "HEAD"]),
        git(&w, &anchor, &["rev-parse", "origin/trunk"])
    );
    assert_eq!(read(anchor.join("new file.txt")), "upstream\n");
    assert_eq!(read(anchor.join("cfg.local")), "upstream cfg\n");
    assert_eq!(read(anchor.join("scratch 'q'.txt")), "keep me here\n");
    let list = git(&w, &anchor, &["stash", "list"]);
    assert_eq!(list.lines().count(), 1, "{list}");
    assert!(list.contains(&message), "{list}");

    // Recover everything on a branch at the old commit.
    git(&w, &anchor, &["stash", "branch", "recovered"]);
    assert_eq!(read(anchor.join("README.md")), "seed\nunstaged\n");
    assert_eq!(read(anchor.join("tracked é.txt")), "v1\nstaged\n");
    assert!(git(&w, &anchor, &["diff", "--cached", "--name-only"]).contains("tracked"));
    assert_eq!(read(anchor.join("new file.txt")), "mine\n");
    assert_eq!(read(anchor.join("cfg.local")), "my ignored cfg\n");
    assert_eq!(read(anchor.join("docs/guide.md")), "my guide\n");
    assert_eq!(read(anchor.join("docs/notes.md")), "my notes\n");
}

#[test]
fn unpushed_commits_of_the_default_branch_are_kept_on_a_backup_branch() {
    let w = World::new();
    let (_, canonical) = origin_and_canonical(&w, "x");
    let anchor = w.path("x/anchor");
    assert_eq!(sync(&w, &canonical, &anchor, &[]).0, 0);
    std::fs::write(anchor.join("local.txt"), "local\n").unwrap();
    git(&w, &anchor, &["add", "local.txt"]);
    git(&w, &anchor, &["commit", "-q", "-m", "local work"]);
    let local = git(&w, &anchor, &["rev-parse", "HEAD"]);
    push_files(&w, &canonical, &[("up.txt", "up\n")]);

    let (code, out, err) = sync(&w, &canonical, &anchor, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "DIRTY_STATE_STASHED"), Some("no"));
    let backups = git(
        &w,
        &anchor,
        &[
            "branch",
            "--list",
            "acp-anchor-backup/*",
            "--format=%(refname:short) %(objectname)",
        ],
    );
    assert!(backups.ends_with(&format!("/trunk {local}")), "{backups}");
    assert!(err.contains("acp-anchor-backup/"), "{err}");
    assert_eq!(read(anchor.join("up.txt")), "up\n");
}

#[test]
fn a_default_branch_checked_out_elsewhere_is_refused_before_anything_changes() {
    let w = World::new();
    let (_, canonical) = origin_and_canonical(&w, "x");
    let anchor = w.path("x/anchor");
    assert_eq!(sync(&w, &canonical, &anchor, &[]).0, 0);
    git(&w, &anchor, &["checkout", "-q", "-b", "feature"]);
    let elsewhere = w.path("x/wt/on-trunk");
    git(
        &w,
        &anchor,
        &[
            "worktree",
            "add",
            "-q",
            elsewhere.to_str().unwrap(),
            "trunk",
        ],
    );
    std::fs::write(anchor.join("README.md"), "seed\nwork in progress\n").unwrap();

    let (code, out, err) = sync(&w, &canonical, &anchor, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        err.contains("[agent-sync-anchor] branch 'trunk' is checked out in another worktree"),
        "{err}"
    );
    assert!(err.contains("on-trunk"), "{err}");
    assert_eq!(read(anchor.join("README.md")), "seed\nwork in progress\n");
    assert_eq!(git(&w, &anchor, &["stash", "list"]), "");
    assert_eq!(git(&w, &anchor, &["branch", "--show-current"]), "feature");
}

#[test]
fn locked_worktrees_survive_the_prune_and_stale_ones_go() {
    let w = World::new();
    let (_, canonical) = origin_and_canonical(&w, "x");
    let anchor = w.path("x/anchor");
    assert_eq!(sync(&w, &canonical, &anchor, &[]).0, 0);
    let locked = w.path("x/wt/locked one");
    let stale = w.path("x/wt/stale");
    git(
        &w,
        &anchor,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "issue-1",
            locked.to_str().unwrap(),
        ],
    );
    git(
        &w,
        &anchor,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "issue-2",
            stale.to_str().unwrap(),
        ],
    );
    git(
        &w,
        &anchor,
        &[
            "worktree",
            "lock",
            "--reason",
            "on a removable disk",
            locked.to_str().unwrap(),
        ],
    );
    std::fs::remove_dir_all(&locked).unwrap();
    std::fs::remove_dir_all(&stale).unwrap();

    let (code, _, err) = sync(&w, &canonical, &anchor, &[]);
    assert_eq!(code, 0, "{err}");
    let list = git(&w, &anchor, &["worktree", "list", "--porcelain"]);
    assert!(list.contains("locked one"), "{list}");
    assert!(!list.contains("/stale"), "{list}");
}

#[test]
fn a_missing_origin_fails_with_one_line() {
    let w = World::new();
    let lonely = w.git_repo("lonely");
    let anchor = w.path("anchor");
    let (code, out, err) = sync(&w, &lonely, &anchor, &[]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err.trim(),
        format!(
            "[agent-sync-anchor] missing remote 'origin' in canonical repo: {}",
            lonely.display()
        )
    );
    assert!(!anchor.exists());

    // A remote whose repository is gone: the clone fails, nothing is left.
    let (origin, canonical) = origin_and_canonical(&w, "gone");
    std::fs::remove_dir_all(&origin).unwrap();
    let (code, _, err) = sync(&w, &canonical, &anchor, &["--default-branch", "trunk"]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("[agent-sync-anchor] cannot clone "),
        "{err}"
    );
    assert!(!anchor.exists());

    // An existing anchor cannot fetch: it is left as it was.
    let (origin, canonical) = origin_and_canonical(&w, "later");
    let anchor = w.path("later/anchor");
    assert_eq!(sync(&w, &canonical, &anchor, &[]).0, 0);
    std::fs::remove_dir_all(&origin).unwrap();
    let (code, _, err) = sync(&w, &canonical, &anchor, &["--default-branch", "trunk"]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("[agent-sync-anchor] fetch from 'origin' failed: "),
        "{err}"
    );
    assert_eq!(read(anchor.join("README.md")), "seed\n");
}

#[test]
fn an_empty_remote_without_a_default_branch_is_an_error_not_main() {
    let w = World::new();
    let origin = w.path("empty.git");
    std::fs::create_dir_all(&origin).unwrap();
    git(&w, &origin, &["init", "-q", "--bare", "-b", "trunk"]);
    let canonical = w.git_repo("canonical");
    git(
        &w,
        &canonical,
        &["remote", "add", "origin", origin.to_str().unwrap()],
    );
    let (code, _, err) = sync(&w, &canonical, &w.path("anchor"), &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("cannot tell the default branch of remote 'origin'"),
        "{err}"
    );
}

#[test]
fn bad_roots_and_usage() {
    let w = World::new();
    let (_, canonical) = origin_and_canonical(&w, "x");
    let (code, _, err) = sync(&w, &w.path("x"), &w.path("a"), &[]);
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        format!(
            "[agent-sync-anchor] canonical root is not a Git checkout: {}",
            w.path("x").display()
        )
    );
    let occupied = w.write("x/occupied/file.txt", "x");
    let occupied = occupied.parent().unwrap();
    let (code, _, err) = sync(&w, &canonical, occupied, &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("anchor root exists but is not a Git checkout"),
        "{err}"
    );
    assert!(occupied.join("file.txt").is_file());

    let (code, out, err) = run(w.shim(TOOL).args(["--canonical-root", "x"]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.starts_with("Usage:") || err.contains("Usage"), "{err}");
    let (code, out, _) = run(w.shim(TOOL).arg("--help"));
    assert_eq!(code, 0);
    assert!(out.contains("--anchor-root"), "{out}");
    let (code, _, err) = run(w.shim(TOOL).arg("--bogus"));
    assert_eq!(code, 1);
    assert!(err.starts_with("Unknown argument: --bogus"), "{err}");
}

#[test]
fn a_root_that_is_not_utf8_works_and_is_printed_as_its_bytes() {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let w = World::new();
    let (_, canonical) = origin_and_canonical(&w, "x");
    let anchor = w
        .path("x")
        .join(std::ffi::OsString::from_vec(b"anchor \xff\xfe".to_vec()));
    let out = w
        .shim(TOOL)
        .arg("--canonical-root")
        .arg(&canonical)
        .arg("--anchor-root")
        .arg(&anchor)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = [
        b"ANCHOR_ROOT=".as_slice(),
        anchor.as_os_str().as_bytes(),
        b"\n",
    ]
    .concat();
    assert!(out.stdout.windows(line.len()).any(|w| w == line.as_slice()));
    assert!(anchor.join("README.md").is_file());
    assert_eq!(git(&w, &anchor, &["branch", "--show-current"]), "trunk");
}

/// F13: concurrent syncs of one anchor take turns (without the lock the
/// second clone would find the first one's directory and fail).
#[test]
fn concurrent_syncs_of_one_anchor_take_turns() {
    let w = World::new();
    let (_, canonical) = origin_and_canonical(&w, "x");
    let anchor = w.path("x/anchor");
    let children: Vec<_> = (0..4)
        .map(|_| {
            w.shim(TOOL)
                .arg("--canonical-root")
                .arg(&canonical)
                .arg("--anchor-root")
                .arg(&anchor)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(git(&w, &anchor, &["branch", "--show-current"]), "trunk");
    assert!(!w.path("x/.anchor.sync.lock").exists());
}
