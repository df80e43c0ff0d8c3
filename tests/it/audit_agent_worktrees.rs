//! Integration tests for `audit-agent-worktrees.sh` (through its shim):
//! real git worktrees under a worktree root, real tmux for a live owner.

use std::path::{Path, PathBuf};

use crate::agent_cleanup_worktree::{add_worktree, git, has_branch, odd_name};
use crate::harness::{World, kv, run};

const TOOL: &str = "tools/bin/audit-agent-worktrees.sh";

struct Fixture {
    w: World,
    repo: PathBuf,
    root: PathBuf,
}

/// An anchor repo, a worktree root and an agent root, named by env.
fn fixture() -> Fixture {
    let mut w = World::new();
    let repo = w.git_repo("repo");
    let root = w.path("work trees");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(w.path("agent/runs")).unwrap();
    w.env("ACP_PROJECT_ID", "alpha");
    w.env("F_LOSNING_AGENT_REPO_ROOT", &repo);
    w.env("F_LOSNING_WORKTREE_ROOT", &root);
    w.env("F_LOSNING_AGENT_ROOT", w.path("agent"));
    Fixture { w, repo, root }
}

impl Fixture {
    fn audit(&self, args: &[&str]) -> (i32, String, String) {
        run(self.w.shim(TOOL).args(args))
    }

    fn add(&self, name: &std::ffi::OsStr, branch: &str) -> PathBuf {
        let wt = self.root.join(name);
        add_worktree(&self.w, &self.repo, &wt, branch, false);
        wt
    }
}

/// The record of `path` (from its first line to the blank line).
fn record<'a>(out: &'a str, key: &str, path: &Path) -> &'a str {
    let head = format!("{key}={}\n", path.display());
    let start = out
        .find(&head)
        .unwrap_or_else(|| panic!("no record for {head} in {out}"));
    let rest = &out[start..];
    &rest[..rest.find("\n\n").map_or(rest.len(), |i| i + 1)]
}

#[test]
fn reports_then_collects_a_stale_worktree_with_an_odd_path() {
    let f = fixture();
    let wt = f.add(&odd_name("issue-1-x"), "agent/alpha/issue-1-x");
    std::fs::write(wt.join("big.bin"), vec![7u8; 256 * 1024]).unwrap();
    // Untracked node_modules and artifacts are not work.
    std::fs::create_dir_all(wt.join("node_modules/a")).unwrap();
    std::fs::create_dir_all(wt.join(".openclaw-artifacts")).unwrap();
    git(&f.w, &wt, &["add", "big.bin"]);
    git(&f.w, &wt, &["commit", "-q", "-m", "big"]);

    let (code, out, err) = f.audit(&[]);
    assert_eq!(code, 0, "{err}");
    let rec = record(&out, "AGENT_WORKTREE", &wt);
    assert_eq!(kv(rec, "SESSION"), Some("alpha-issue-1"), "{rec}");
    assert_eq!(kv(rec, "DIRTY"), Some("no"), "{rec}");
    assert_eq!(kv(rec, "BROKEN_WORKTREE"), Some("no"));
    assert_eq!(kv(rec, "REASON"), Some("no owner and nothing uncommitted"));
    assert_eq!(kv(rec, "CLEANUP"), Some("skipped"));
    let kib: u64 = kv(rec, "DISK_KIB").unwrap().parse().unwrap();
    assert!(kib >= 256, "{rec}");
    assert_eq!(kv(&out, "LEGACY_AGENT_WORKTREE_COUNT"), Some("1"));

    let (code, out, _) = f.audit(&["--cleanup", "--dry-run", "--strict"]);
    assert_eq!(code, 2, "--strict with a stale worktree");
    assert_eq!(
        kv(record(&out, "AGENT_WORKTREE", &wt), "CLEANUP"),
        Some("would-remove")
    );
    assert_eq!(kv(&out, "LEGACY_AGENT_WORKTREE_CLEANED"), Some("0"));
    assert!(wt.join("big.bin").is_file(), "--dry-run changes nothing");

    let (code, out, err) = f.audit(&["--cleanup"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        kv(record(&out, "AGENT_WORKTREE", &wt), "CLEANUP"),
        Some("removed")
    );
    assert!(!wt.exists());
    assert!(!has_branch(&f.w, &f.repo, "agent/alpha/issue-1-x"));
    let (code, out, _) = f.audit(&["--strict"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn uncommitted_work_and_locks_keep_a_worktree() {
    let f = fixture();
    let dirty = f.add("issue-2-dirty".as_ref(), "agent/alpha/issue-2-dirty");
    std::fs::write(dirty.join("notes.txt"), "mine\n").unwrap();
    let locked = f.add("issue-3-locked".as_ref(), "agent/alpha/issue-3-locked");
    git(
        &f.w,
        &f.repo,
        &["worktree", "lock", locked.to_str().unwrap()],
    );
    let manual = f.w.path("elsewhere");
    add_worktree(&f.w, &f.repo, &manual, "feature/manual", false);

    let (code, out, err) = f.audit(&["--cleanup"]);
    assert_eq!(code, 0, "{err}");
    let rec = record(&out, "AGENT_WORKTREE", &dirty);
    assert_eq!(kv(rec, "DIRTY"), Some("yes"));
    assert_eq!(kv(rec, "REASON"), Some("uncommitted work"));
    assert_eq!(kv(rec, "CLEANUP"), Some("skipped"));
    let rec = record(&out, "AGENT_WORKTREE", &locked);
    assert_eq!(kv(rec, "LOCKED"), Some("yes"));
    assert_eq!(kv(rec, "REASON"), Some("refused: the worktree is locked"));
    assert_eq!(kv(rec, "CLEANUP"), Some("skipped"));
    assert!(!out.contains("elsewhere"), "not an agent worktree: {out}");
    assert!(dirty.join("notes.txt").is_file() && locked.is_dir() && manual.is_dir());
}

/// A live tmux session owns its worktree: nothing inside it is looked at,
/// it is not counted, and the report says who owns it.
#[test]
fn a_live_tmux_session_owns_its_worktree() {
    let f = fixture();
    let wt = f.add("pr-4-20260101".as_ref(), "agent/alpha/pr-4-20260101");
    f.w.tmux_session("alpha-pr-4", "sleep 60");
    let (code, out, err) = f.audit(&["--cleanup"]);
    assert_eq!(code, 0, "{err}");
    let rec = record(&out, "OWNED_AGENT_WORKTREE", &wt);
    assert_eq!(kv(rec, "OWNER"), Some("tmux session alpha-pr-4 is alive"));
    assert_eq!(kv(&out, "LEGACY_AGENT_WORKTREE_COUNT"), Some("0"));
    assert!(wt.is_dir());
}

/// A run that is not reconciled owns the worktree; once reconciled (and
/// worker-status no longer says RUNNING) it is collected.
#[test]
fn an_unreconciled_run_owns_until_reconciled() {
    let f = fixture();
    let wt = f.add("issue-5-run".as_ref(), "agent/alpha/issue-5-run");
    std::fs::create_dir_all(f.w.path("agent/runs/alpha-issue-5")).unwrap();
    let (_, out, _) = f.audit(&["--cleanup"]);
    assert!(
        kv(record(&out, "OWNED_AGENT_WORKTREE", &wt), "OWNER")
            .unwrap()
            .ends_with("is not reconciled yet")
    );
    assert!(wt.is_dir());
    f.w.write("agent/runs/alpha-issue-5/reconciled.ok", "");
    let (_, out, _) = f.audit(&["--cleanup"]);
    assert_eq!(
        kv(record(&out, "AGENT_WORKTREE", &wt), "CLEANUP"),
        Some("removed")
    );
    assert!(!wt.exists());
}

/// Artifact-only leftovers are collected; stale resident metadata cleared
/// (only reported with --dry-run); a directory holding a registered
/// worktree is never an artifact leftover.
#[test]
fn artifact_residue_and_stale_metadata() {
    let f = fixture();
    let residue = f.root.join("issue-6-old");
    std::fs::create_dir_all(residue.join(".openclaw-artifacts")).unwrap();
    let meta = f.w.write(
        "agent/state/resident-workers/issues/lane/metadata.env",
        format!(
            "WORKTREE_REALPATH={}\nISSUE_ID=6\n",
            f.root.join("gone").display()
        ),
    );
    let (_, out, _) = f.audit(&["--cleanup", "--dry-run"]);
    assert!(out.contains("STALE_RESIDENT_WORKTREE="), "{out}");
    assert_eq!(
        kv(record(&out, "ARTIFACT_ONLY_WORKTREE", &residue), "CLEANUP"),
        Some("would-remove")
    );
    assert!(residue.is_dir());
    assert!(std::fs::read_to_string(&meta).unwrap().contains("/gone"));
    let (_, out, _) = f.audit(&["--cleanup"]);
    assert!(out.contains("CLEARED_STALE_RESIDENT_WORKTREE="), "{out}");
    assert_eq!(kv(&out, "ARTIFACT_ONLY_WORKTREE_CLEANED"), Some("1"));
    assert!(!residue.exists());
    assert!(
        std::fs::read_to_string(&meta)
            .unwrap()
            .contains("WORKTREE_REALPATH=''")
    );
}

#[test]
fn refuses_a_root_that_is_not_a_checkout() {
    let mut f = fixture();
    f.w.env("F_LOSNING_AGENT_REPO_ROOT", f.w.path("nothing"));
    let (code, _, err) = f.audit(&[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("agent repo root is not a Git checkout"),
        "{err}"
    );
    let (code, _, err) = run(f.w.shim(TOOL).arg("--bogus"));
    assert_eq!(code, 1);
    assert!(err.contains("Unknown argument: --bogus"), "{err}");
}
