//! Integration tests for `agent-project-cleanup-session` (run through its
//! shim). Its siblings `agent-cleanup-worktree` and `agent-project-archive-run`
//! are stubbed next to the shim where the original tests stub them; the real
//! archive-run shim is used where a test says so.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{World, kv, run, write_script};

const TOOL: &str = "tools/bin/agent-project-cleanup-session";

/// Writes an executable bash stub next to the tool's shim.
fn stub(w: &World, name: &str, body: &str) -> PathBuf {
    write_script(
        &w.path(&format!("skill/tools/bin/{name}")),
        &format!("#!/usr/bin/env bash\nset -euo pipefail\n{body}\n"),
    )
}

/// A cleanup stub that records each call's arguments, one call per line,
/// each argument in brackets, then runs `tail`.
fn cleanup_stub(w: &World, tail: &str) -> PathBuf {
    let log = w.path("cleanup.log");
    stub(
        w,
        "agent-cleanup-worktree",
        &format!(
            "{{ printf '[%s]' \"$@\"; printf ' cwd=%s\\n' \"$PWD\"; }} >> {}\n{tail}",
            sq(&log)
        ),
    );
    log
}

/// An archive stub that records its calls and prints one line.
fn archive_stub(w: &World, line: &str) -> PathBuf {
    let log = w.path("archive.log");
    stub(
        w,
        "agent-project-archive-run",
        &format!(
            "printf '[%s]' \"$@\" >> {}; echo >> {}\nprintf '%s\\n' {}",
            sq(&log),
            sq(&log),
            sq(Path::new(line))
        ),
    );
    log
}

/// Single-quotes a path for a bash script.
fn sq(p: &Path) -> String {
    format!("'{}'", p.to_str().unwrap().replace('\'', r"'\''"))
}

fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn mkdir(p: &Path) -> PathBuf {
    std::fs::create_dir_all(p).unwrap();
    p.to_path_buf()
}

fn git_init(w: &World, dir: &Path) {
    let out = w
        .cmd("git")
        .args(["init", "-q", "-b", "main"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success());
}

fn cleanup(w: &World) -> Command {
    w.shim(TOOL)
}

/// Runs the tool on `repo` for just `--worktree <wt>`.
fn remove_worktree(
    w: &World,
    repo: &Path,
    wt: impl AsRef<std::ffi::OsStr>,
) -> (i32, String, String) {
    run(cleanup(w)
        .arg("--repo-root")
        .arg(repo)
        .arg("--worktree")
        .arg(wt))
}

/// The tool against `repo` with the runs and history roots under `prefix`
/// (`""` or `"project/"`).
fn cleanup_at(w: &World, repo: impl AsRef<std::ffi::OsStr>, prefix: &str) -> Command {
    let mut cmd = cleanup(w);
    cmd.arg("--repo-root").arg(repo).args([
        "--runs-root",
        &format!("{prefix}runs"),
        "--history-root",
        &format!("{prefix}history"),
    ]);
    cmd
}

#[test]
fn cleanup_removes_a_branchless_orphan_worktree() {
    let mut w = World::new();
    let log = cleanup_stub(&w, "exit 0");
    archive_stub(&w, "UNUSED=1");
    let repo = w.git_repo("repo");
    let wt = mkdir(&w.path("worktrees/pr-5-stale"));
    w.write("worktrees/pr-5-stale/pr-comment.md", "artifact\n");
    w.env("AGENT_PROJECT_WORKTREE_ROOT", w.path("worktrees"));
    let (code, out, err) = run(cleanup_at(&w, &repo, "")
        .args(["--worktree"])
        .arg(&wt)
        .args(["--mode", "pr"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "CLEANUP_MODE"), Some("orphan-worktree"));
    assert_eq!(kv(&out, "ORPHAN_FALLBACK_USED"), Some("true"));
    assert_eq!(kv(&out, "CLEANUP_STATUS"), Some("0"));
    assert_eq!(kv(&out, "KEEP_REMOTE"), Some("false"));
    assert_eq!(kv(&out, "ALLOW_UNMERGED"), Some("true"));
    assert_eq!(kv(&out, "META_FILE"), None);
    assert!(!wt.exists());
    assert!(w.path("worktrees").is_dir());
    assert!(
        lines(&log).is_empty(),
        "no branch: the cleanup tool is not called"
    );
    assert!(
        !w.path("archive.log").exists(),
        "no session: nothing archived"
    );
}

#[test]
fn cleanup_clears_stale_resident_worktree_realpath() {
    let w = World::new();
    stub(
        &w,
        "agent-cleanup-worktree",
        r#"path=""
while [[ $# -gt 0 ]]; do case "$1" in --path) path="$2"; shift 2 ;; *) shift ;; esac; done
[[ -n "$path" ]] && rm -rf "$path""#,
    );
    archive_stub(&w, "ARCHIVED_DIR=/h/demo-archived");
    let repo = w.git_repo("repo");
    let wt = mkdir(&w.path("project/worktrees/issue-438"));
    git_init(&w, &wt);
    w.write(
        "project/runs/demo-issue-438/run.env",
        format!(
            "SESSION=demo-issue-438\nBRANCH=agent/test/issue-438\nWORKTREE={}\nRESULT_FILE=r.env\n",
            wt.display()
        ),
    );
    let lane = "project/state/resident-workers/issues/issue-lane-scheduled-3600-codex-safe";
    let meta = w.write(
        &format!("{lane}/metadata.env"),
        format!(
            "WORKTREE=/x/worktree\nWORKTREE_REALPATH={}\nISSUE_ID=438\nLAST_STATUS=SUCCEEDED\n",
            wt.display()
        ),
    );
    // Another lane pointing elsewhere is left alone.
    let other = w.write(
        "project/state/resident-workers/issues/other/metadata.env",
        "WORKTREE_REALPATH=/somewhere/else\n",
    );
    let (code, out, err) = run(cleanup_at(&w, &repo, "project/").args([
        "--state-root",
        "project/state",
        "--session",
        "demo-issue-438",
        "--mode",
        "issue",
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "CLEANUP_MODE"), Some("branch"));
    assert_eq!(kv(&out, "ARCHIVED_DIR"), Some("/h/demo-archived"));
    assert!(!wt.exists());
    assert_eq!(
        std::fs::read_to_string(&meta).unwrap(),
        "WORKTREE=/x/worktree\nWORKTREE_REALPATH=''\nISSUE_ID=438\nLAST_STATUS=SUCCEEDED\n"
    );
    assert_eq!(
        std::fs::read_to_string(&other).unwrap(),
        "WORKTREE_REALPATH=/somewhere/else\n"
    );
}

#[test]
fn cleanup_defers_while_the_tmux_session_lives() {
    let w = World::new();
    let clog = cleanup_stub(&w, "");
    let alog = archive_stub(&w, "ARCHIVED_DIR=/tmp/should-not-run");
    let repo = w.git_repo("repo");
    w.write(
        "runs/fl-pr-active/run.env",
        "SESSION=fl-pr-active\nBRANCH=agent/test/pr\nWORKTREE=/tmp/should-not-clean\nRESULT_FILE=/tmp/should-not-remove\n",
    );
    w.tmux_session("fl-pr-active", "sleep 60");
    // A session whose name merely starts with this one does not count.
    w.tmux_session("fl-pr-active-2", "sleep 60");
    let (code, out, err) =
        run(cleanup_at(&w, &repo, "").args(["--session", "fl-pr-active", "--mode", "pr"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "ACTIVE_TMUX_SESSION"), Some("true"));
    assert_eq!(kv(&out, "CLEANUP_MODE"), Some("deferred-active-session"));
    assert_eq!(kv(&out, "BRANCH"), Some("agent/test/pr"));
    assert!(!clog.exists() && !alog.exists());
    assert!(w.path("runs/fl-pr-active/run.env").is_file());

    w.write("runs/fl-pr/run.env", "SESSION=fl-pr\n");
    let (code, out, err) =
        run(cleanup_at(&w, &repo, "").args(["--session", "fl-pr", "--mode", "pr"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "ACTIVE_TMUX_SESSION"), Some("false"));
    assert_eq!(kv(&out, "CLEANUP_MODE"), Some("noop"));
    assert_eq!(lines(&alog).len(), 1);
}

#[test]
fn cleanup_falls_back_to_orphan_removal_when_the_tool_refuses_the_path() {
    let mut w = World::new();
    let log = cleanup_stub(
        &w,
        r#"if [[ " $* " == *" --path "* ]]; then
  echo "[agent-cleanup] Branch agent/alpha/issue-440 is not associated with a dedicated worktree." >&2
  echo "[agent-cleanup]   Refusing to trust explicit --path without a Git-resolved worktree." >&2
  exit 1
fi
echo "[agent-cleanup] cleanup complete""#,
    );
    archive_stub(&w, "ARCHIVED_SESSION=fl-issue-440");
    let repo = w.git_repo("repo");
    let wt = mkdir(&w.path("worktrees/issue-440"));
    w.write("worktrees/issue-440/README.md", "");
    w.write(
        "runs/fl-issue-440/run.env",
        format!(
            "SESSION=fl-issue-440\nBRANCH=agent/alpha/issue-440\nWORKTREE={}\nRESULT_FILE={}\n",
            wt.display(),
            w.path("runs/fl-issue-440/result.env").display()
        ),
    );
    w.env("AGENT_PROJECT_WORKTREE_ROOT", w.path("worktrees"));
    let (code, out, err) =
        run(cleanup_at(&w, &repo, "").args(["--session", "fl-issue-440", "--mode", "issue"]));
    assert_eq!(code, 0, "{err}");
    let expected = format!(
        "SESSION=fl-issue-440
MODE=issue
WORKTREE={wt}
BRANCH=agent/alpha/issue-440
KEEP_REMOTE=true
ALLOW_UNMERGED=true
SKIP_WORKTREE_CLEANUP=false
ACTIVE_TMUX_SESSION=false
CLEANUP_MODE=orphan-worktree
ORPHAN_FALLBACK_USED=true
CLEANUP_STATUS=0
META_FILE=runs/fl-issue-440/run.env
ARCHIVED_SESSION=fl-issue-440
CLEANUP_WARNING=[agent-cleanup] Branch agent/alpha/issue-440 is not associated with a dedicated worktree. [agent-cleanup] Refusing to trust explicit --path without a Git-resolved worktree.
",
        wt = wt.display()
    );
    assert_eq!(out, expected);
    assert!(!wt.exists());
    let calls = lines(&log);
    let repo_cwd = format!(" cwd={}", repo.display());
    assert_eq!(
        calls,
        [
            format!(
                "[--branch][agent/alpha/issue-440][--remote][origin][--path][{}][--keep-remote][--allow-unmerged]{repo_cwd}",
                wt.display()
            ),
            format!(
                "[--branch][agent/alpha/issue-440][--remote][origin][--keep-remote][--allow-unmerged]{repo_cwd}"
            ),
        ]
    );
    // RESULT_FILE from run.env is the default --remove-file.
    let archive = lines(&w.path("archive.log"));
    assert_eq!(
        archive,
        [format!(
            "[--runs-root][runs][--history-root][history][--session][fl-issue-440][--remove-file][{}]",
            w.path("runs/fl-issue-440/result.env").display()
        )]
    );
}

#[test]
fn cleanup_reports_tool_failures_on_stdout() {
    let mut w = World::new();
    cleanup_stub(&w, "echo 'first line' >&2\necho '  second   line'\nexit 7");
    archive_stub(&w, "ARCHIVED_DIR=x");
    let repo = w.git_repo("repo");
    let wt = mkdir(&w.path("wt/issue-9"));
    w.write(
        "runs/s-9/run.env",
        format!("BRANCH=b9\nWORKTREE={}\n", wt.display()),
    );
    let (code, out, err) = run(cleanup_at(&w, &repo, "").args([
        "--session",
        "s-9",
        "--merged-base",
        "origin/main",
        "--remote",
        "",
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "CLEANUP_MODE"), Some("noop"));
    assert_eq!(kv(&out, "CLEANUP_STATUS"), Some("7"));
    assert_eq!(kv(&out, "CLEANUP_ERROR"), Some("first line second line"));
    assert_eq!(kv(&out, "ORPHAN_FALLBACK_USED"), Some("false"));
    assert_eq!(kv(&out, "ARCHIVED_DIR"), Some("x"));
    assert!(wt.is_dir(), "no worktree root: no orphan fallback");
    let calls = lines(&w.path("cleanup.log"));
    assert_eq!(calls.len(), 1);
    assert!(
        calls[0].starts_with(&format!(
            "[--branch][b9][--merged-base][origin/main][--path][{}]",
            wt.display()
        )),
        "{calls:?}"
    );

    // The orphan fallback removes the directory, the retry fails again:
    // both outputs are kept and the retry's status is reported.
    w.env("AGENT_PROJECT_WORKTREE_ROOT", w.path("wt"));
    let (code, out, err) = run(cleanup_at(&w, &repo, "").args(["--session", "s-9"]));
    assert_eq!(code, 0, "{err}");
    assert!(!wt.exists());
    assert_eq!(kv(&out, "ORPHAN_FALLBACK_USED"), Some("true"));
    assert_eq!(kv(&out, "CLEANUP_STATUS"), Some("7"));
    assert_eq!(kv(&out, "CLEANUP_MODE"), Some("noop"));
    assert_eq!(
        kv(&out, "CLEANUP_ERROR"),
        Some("first line second line first line second line")
    );
    assert_eq!(kv(&out, "CLEANUP_WARNING"), None);

    // A repo root that does not exist is a failure of the cleanup step.
    let wt = mkdir(&w.path("wt/issue-10"));
    w.write(
        "runs/s-10/run.env",
        format!("BRANCH=b10\nWORKTREE={}/.git\n", wt.display()),
    );
    let (code, out, err) =
        run(cleanup_at(&w, w.path("no-such-repo"), "").args(["--session", "s-10"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "CLEANUP_STATUS"), Some("1"));
    assert!(
        kv(&out, "CLEANUP_ERROR").unwrap().contains("no-such-repo"),
        "{out}"
    );
}

#[test]
fn cleanup_protects_a_worktree_of_an_active_resident_run() {
    let w = World::new();
    let clog = cleanup_stub(&w, "");
    let alog = archive_stub(&w, "ARCHIVED_DIR=/h/a");
    let repo = w.git_repo("repo");
    let candidate = mkdir(&w.path("project/worktrees/issue-255"));
    let other = mkdir(&w.path("project/worktrees/issue-257"));
    git_init(&w, &candidate);
    git_init(&w, &other);
    let lane = w.path("project/state/resident-workers/issues/lane");
    w.write(
        "project/runs/fl-active/run.env",
        format!(
            "SESSION=fl-active\nBRANCH=agent/b\nWORKTREE={}/worktree\nWORKTREE_REALPATH={}\nRESIDENT_WORKER_ENABLED=yes\n",
            lane.display(),
            candidate.display()
        ),
    );
    w.write(
        "project/runs/fl-active/runner.env",
        "RUNNER_STATE=running\n",
    );
    w.write(
        "project/state/resident-workers/issues/lane/metadata.env",
        format!(
            "WORKTREE_REALPATH={}\nLAST_STATUS=running\n",
            other.display()
        ),
    );
    std::os::unix::fs::symlink(&other, lane.join("worktree")).unwrap();
    let (code, out, err) = run(cleanup_at(&w, &repo, "project/")
        .args([
            "--state-root",
            "project/state",
            "--session",
            "fl-active",
            "--worktree",
        ])
        .arg(&candidate)
        .args(["--mode", "issue"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        kv(&out, "CLEANUP_MODE"),
        Some("protected-resident-worktree")
    );
    assert!(!clog.exists());
    assert_eq!(lines(&alog).len(), 1);
    assert!(candidate.is_dir());

    // A finished resident run (runner idle, no tmux) no longer protects it.
    w.write("project/runs/fl-active/run.env", format!(
        "SESSION=fl-active\nBRANCH=agent/b\nWORKTREE_REALPATH={}\nRESIDENT_WORKER_ENABLED=yes\n",
        candidate.display()
    ));
    w.write(
        "project/runs/fl-active/runner.env",
        "RUNNER_STATE=succeeded\n",
    );
    let (code, out, err) = run(cleanup_at(&w, &repo, "project/").args([
        "--state-root",
        "project/state",
        "--session",
        "fl-active",
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "CLEANUP_MODE"), Some("branch"));
    assert_eq!(lines(&clog).len(), 1);

    // ...but its live tmux session does.
    w.write(
        "project/runs/other-run/run.env",
        format!(
            "SESSION=resident-live\nWORKTREE={}\nRESIDENT_WORKER_ENABLED=yes\n",
            candidate.display()
        ),
    );
    w.tmux_session("resident-live", "sleep 60");
    w.write(
        "project/runs/fl-next/run.env",
        format!("BRANCH=agent/c\nWORKTREE={}\n", candidate.display()),
    );
    let (code, out, err) = run(cleanup_at(&w, &repo, "project/").args([
        "--state-root",
        "project/state",
        "--session",
        "fl-next",
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        kv(&out, "CLEANUP_MODE"),
        Some("protected-resident-worktree")
    );
    assert_eq!(lines(&clog).len(), 1);
}

#[test]
fn cleanup_protects_a_running_resident_lane_worktree_via_derived_state_root() {
    let w = World::new();
    let clog = cleanup_stub(&w, "");
    let alog = archive_stub(&w, "ARCHIVED_DIR=/h/p");
    let repo = w.git_repo("repo");
    let wt = mkdir(&w.path("project/worktrees/issue-615"));
    git_init(&w, &wt);
    w.write(
        "project/runs/fl-protected/run.env",
        format!(
            "SESSION=fl-protected\nBRANCH=agent/p\nWORKTREE={}\n",
            wt.display()
        ),
    );
    let lane = w.path("project/state/resident-workers/issues/lane-recurring");
    w.write(
        "project/state/resident-workers/issues/lane-recurring/metadata.env",
        format!(
            "WORKTREE={}/worktree\nWORKTREE_REALPATH={}\nISSUE_ID=255\nLAST_STATUS=running\n",
            lane.display(),
            wt.display()
        ),
    );
    std::os::unix::fs::symlink(&wt, lane.join("worktree")).unwrap();
    // No --state-root: <runs root>/../state is used.
    let (code, out, err) = run(cleanup_at(&w, &repo, "project/").args([
        "--session",
        "fl-protected",
        "--mode",
        "issue",
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        kv(&out, "CLEANUP_MODE"),
        Some("protected-resident-worktree")
    );
    assert!(!clog.exists());
    assert_eq!(lines(&alog).len(), 1);
    assert!(wt.is_dir());

    // A recurring lane protects through WORKTREE when WORKTREE_REALPATH is empty.
    w.write(
        "project/state/resident-workers/issues/lane-recurring/metadata.env",
        format!(
            "WORKTREE={}/worktree\nWORKTREE_REALPATH=''\nRESIDENT_LANE_KIND=recurring\nLAST_STATUS=idle\n",
            lane.display()
        ),
    );
    w.write(
        "project/runs/fl-protected/run.env",
        format!(
            "SESSION=fl-protected\nBRANCH=agent/p\nWORKTREE={}\n",
            wt.display()
        ),
    );
    let (code, out, _) = run(cleanup_at(&w, &repo, "project/").args(["--session", "fl-protected"]));
    assert_eq!(code, 0);
    assert_eq!(
        kv(&out, "CLEANUP_MODE"),
        Some("protected-resident-worktree")
    );
}

#[test]
fn cleanup_values_never_leak_between_state_files() {
    // The session's own run.env names the worktree; a lane file without any
    // worktree key must not borrow it (the original sourced them in turn).
    let w = World::new();
    let clog = cleanup_stub(&w, "");
    archive_stub(&w, "A=1");
    let repo = w.git_repo("repo");
    let wt = mkdir(&w.path("project/worktrees/issue-1"));
    git_init(&w, &wt);
    w.write(
        "project/runs/s1/run.env",
        format!(
            "SESSION=s1\nBRANCH=agent/1\nWORKTREE={}\nRESIDENT_WORKER_ENABLED=yes\n",
            wt.display()
        ),
    );
    w.write(
        "project/state/resident-workers/issues/lane/metadata.env",
        "LAST_STATUS=running\nISSUE_ID=1\n",
    );
    let (code, out, err) = run(cleanup_at(&w, &repo, "project/").args(["--session", "s1"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "CLEANUP_MODE"), Some("branch"), "{out}");
    assert_eq!(lines(&clog).len(), 1);
}

#[test]
fn cleanup_skip_worktree_cleanup_only_archives() {
    let w = World::new();
    let clog = cleanup_stub(&w, "exit 7");
    // The real archive-run shim moves the run dir.
    let wt = mkdir(&w.path("worktrees/issue-441"));
    w.write("worktrees/issue-441/README.md", "keep me\n");
    let repo = w.git_repo("repo");
    w.write(
        "runs/fl-issue-441/run.env",
        format!(
            "SESSION=fl-issue-441\nBRANCH=agent/alpha/issue-441\nWORKTREE={}\nRESULT_FILE={}\n",
            wt.display(),
            w.path("runs/fl-issue-441/result.env").display()
        ),
    );
    let result = w.write("wt-result.env", "artifact\n");
    let (code, out, err) = run(cleanup_at(&w, &repo, "")
        .args([
            "--session",
            "fl-issue-441",
            "--mode",
            "issue",
            "--skip-worktree-cleanup",
        ])
        .arg("--remove-file")
        .arg(&result));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "SKIP_WORKTREE_CLEANUP"), Some("true"));
    assert_eq!(kv(&out, "CLEANUP_MODE"), Some("archived-only"));
    let archived = kv(&out, "ARCHIVED_DIR").unwrap();
    assert!(archived.starts_with("history/fl-issue-441-"), "{out}");
    assert!(w.path(archived).join("run.env").is_file());
    assert_eq!(kv(&out, "RUN_DIR"), Some("runs/fl-issue-441"));
    assert!(!w.path("runs/fl-issue-441").exists());
    assert!(!result.exists());
    assert!(wt.join("README.md").is_file());
    assert!(!clog.exists());
}

#[test]
fn cleanup_removes_a_registered_worktree_without_a_branch() {
    let w = World::new();
    let repo = w.git_repo("repo");
    let add = |rel: &str, branch: &str| {
        let p = w.path(rel);
        let out = w
            .cmd("git")
            .arg("-C")
            .arg(&repo)
            .args(["worktree", "add", "-q", "-b", branch])
            .arg(&p)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        p
    };
    let a = add("wts/a", "wa");
    let ab = add("wts/a-b", "wab");
    let spaced = add("wts/sp ace 'q'", "wsp");
    // A path that is only a prefix of a registered worktree is not it.
    let prefix_only = mkdir(&w.path("wts/a-"));
    let (code, out, err) = remove_worktree(&w, &repo, &prefix_only);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "CLEANUP_MODE"), Some("noop"));
    assert!(ab.is_dir() && prefix_only.is_dir());

    for wt in [&a, &spaced] {
        let (code, out, err) = remove_worktree(&w, &repo, wt);
        assert_eq!(code, 0, "{err}");
        assert_eq!(kv(&out, "CLEANUP_MODE"), Some("worktree"));
        assert!(!wt.exists());
    }
    assert!(ab.is_dir());
    let list = w
        .cmd("git")
        .arg("-C")
        .arg(&repo)
        .args(["worktree", "list"])
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.contains("wts/a-b") && !list.contains("sp ace"),
        "{list}"
    );
}

#[test]
fn cleanup_orphan_fallback_stays_inside_the_worktree_root() {
    let mut w = World::new();
    let repo = w.git_repo("repo");
    let root = mkdir(&w.path("worktrees"));
    let outside = mkdir(&w.path("elsewhere/x"));
    let with_git = mkdir(&w.path("worktrees/has-git"));
    w.write("worktrees/has-git/.git", "gitdir: /nowhere\n");
    w.env("AGENT_PROJECT_WORKTREE_ROOT", &root);
    for target in [&root, &outside, &with_git] {
        let (code, out, err) = remove_worktree(&w, &repo, target);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            kv(&out, "CLEANUP_MODE"),
            Some("noop"),
            "{}",
            target.display()
        );
        assert!(target.is_dir());
    }
    // A symlink inside the root that points outside is judged by its target.
    std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
    let (code, out, _) = remove_worktree(&w, &repo, root.join("link"));
    assert_eq!(code, 0);
    assert_eq!(kv(&out, "CLEANUP_MODE"), Some("noop"));
    assert!(outside.is_dir());
    // Hostile names inside the root are removed as plain directories.
    let hostile = mkdir(&root.join("we ird\n'$(touch pwned)'"));
    let (code, out, err) = remove_worktree(&w, &repo, &hostile);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "CLEANUP_MODE"), Some("orphan-worktree"));
    assert!(!hostile.exists());
    assert!(!w.path("pwned").exists() && !repo.join("pwned").exists());
}

#[test]
fn cleanup_never_executes_run_env_values() {
    let mut w = World::new();
    let log = cleanup_stub(&w, "");
    let alog = archive_stub(&w, "ARCHIVED_DIR=q");
    let repo = w.git_repo("repo");
    let marker = w.path("pwned");
    let wt = mkdir(&w.path("worktrees/evil $(x)"));
    w.write(
        "runs/s-evil/run.env",
        format!(
            "BRANCH=$(touch {m})\nWORKTREE='{wt}'\nRESULT_FILE=`touch {m}`\nEXTRA=a; touch {m}\ntouch {m}\n",
            m = marker.display(),
            wt = wt.display()
        ),
    );
    w.write(
        "state/resident-workers/issues/l/metadata.env",
        format!(
            "LAST_STATUS=running\nWORKTREE_REALPATH=$(touch {})\n",
            marker.display()
        ),
    );
    w.env("AGENT_PROJECT_STATE_ROOT", w.path("state"));
    let (code, out, err) = run(cleanup_at(&w, &repo, "").args(["--session", "s-evil"]));
    assert_eq!(code, 0, "{err}");
    assert!(!marker.exists(), "a run.env value was executed");
    assert_eq!(
        kv(&out, "BRANCH"),
        Some(format!("$(touch {})", marker.display()).as_str())
    );
    assert_eq!(kv(&out, "WORKTREE"), Some(wt.to_str().unwrap()));
    let calls = lines(&log);
    assert!(
        calls[0].starts_with(&format!("[--branch][$(touch {})]", marker.display())),
        "{calls:?}"
    );
    assert!(calls[0].contains(&format!("[--path][{}]", wt.display())));
    assert!(lines(&alog)[0].ends_with(&format!("[--remove-file][`touch {}`]", marker.display())));
}

#[test]
fn cleanup_rejects_bad_arguments() {
    let w = World::new();
    let (code, out, err) = run(cleanup(&w).args(["--session", "s"]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(
        err.starts_with("--repo-root is required\n") && err.contains("Usage"),
        "{err}"
    );
    let (code, _, err) =
        run(cleanup(&w).args(["--repo-root", "r", "--session", "s", "--mode", "bogus"]));
    assert_eq!(
        (code, err.as_str()),
        (1, "--mode must be generic, issue, or pr\n")
    );
    let (code, _, err) = run(cleanup(&w).args(["--repo-root", "r"]));
    assert_eq!(code, 1);
    assert!(
        err.starts_with("Provide at least one of --worktree or --session\n"),
        "{err}"
    );
    let (code, _, err) =
        run(cleanup(&w).args(["--repo-root", "r", "--session", "s", "--runs-root", "x"]));
    assert_eq!(code, 1);
    assert!(err.starts_with("--runs-root and --history-root are required when --session is set\n"));
    let (code, _, err) = run(cleanup(&w).args(["--repo-root", "r", "--worktree", "w", "--what"]));
    assert_eq!(code, 1);
    assert!(err.starts_with("Unknown argument: --what\n"), "{err}");
    w.write("outside/run.env", "BRANCH=x\n");
    let (code, _, err) = run(cleanup(&w).args([
        "--repo-root",
        "r",
        "--runs-root",
        "runs",
        "--history-root",
        "h",
        "--session",
        "../outside",
    ]));
    assert_eq!(code, 1);
    assert!(err.contains("--session"), "{err}");
    assert!(w.path("outside/run.env").exists());
    let (code, out, _) = run(cleanup(&w).arg("-h"));
    assert_eq!(code, 0);
    assert!(out.contains("--skip-worktree-cleanup"));
    // Environment defaults for the roots.
    let mut w = World::new();
    w.env("AGENT_PROJECT_REPO_ROOT", "repo")
        .env("AGENT_PROJECT_RUNS_ROOT", "runs")
        .env("AGENT_PROJECT_HISTORY_ROOT", "history");
    w.git_repo("repo");
    w.write("runs/s/run.env", "SESSION=s\n");
    let (code, out, err) = run(cleanup(&w).args(["--session", "s"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "MODE"), Some("generic"));
    assert_eq!(kv(&out, "KEEP_REMOTE"), Some("false"));
    assert_eq!(kv(&out, "ALLOW_UNMERGED"), Some("false"));
    assert!(kv(&out, "ARCHIVED_DIR").unwrap().starts_with("history/s-"));
}

/// A directory without `.git` that holds a registered worktree (here one with
/// uncommitted work) or the main checkout is not an orphan: removing it
/// would delete that checkout.
#[test]
fn cleanup_orphan_fallback_spares_directories_holding_checkouts() {
    let mut w = World::new();
    let root = mkdir(&w.path("worktrees"));
    w.env("AGENT_PROJECT_WORKTREE_ROOT", &root);
    let repo = w.git_repo("worktrees/project/repo");
    let live = w.path("worktrees/group/live");
    let out = w
        .cmd("git")
        .arg("-C")
        .arg(&repo)
        .args(["worktree", "add", "-q", "-b", "live"])
        .arg(&live)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(live.join("work.txt"), "uncommitted\n").unwrap();
    for holder in [w.path("worktrees/group"), w.path("worktrees/project")] {
        let (code, out, err) = remove_worktree(&w, &repo, &holder);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            kv(&out, "CLEANUP_MODE"),
            Some("noop"),
            "{}",
            holder.display()
        );
    }
    assert!(live.join("work.txt").is_file());
    assert!(repo.join(".git").exists());
    // A worktree that lost its `.git` (still registered) is an orphan.
    std::fs::remove_file(live.join(".git")).unwrap();
    cleanup_stub(&w, "[[ \" $* \" != *\" --path \"* ]] || exit 1");
    archive_stub(&w, "ARCHIVED_SESSION=s-live");
    w.write(
        "runs/s-live/run.env",
        format!("BRANCH=live\nWORKTREE={}\n", live.display()),
    );
    let (code, out, err) =
        run(cleanup_at(&w, &repo, "").args(["--session", "s-live", "--mode", "issue"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "CLEANUP_MODE"), Some("orphan-worktree"), "{out}");
    assert!(!live.exists());
}

/// The README's install, no stubs: the shipped `agent-cleanup-worktree`
/// removes the merged branch and its worktree (no `origin`: the remote
/// steps are skipped with a warning), the real archive-run archives; an
/// orphaned directory is still collected.
#[test]
fn cleanup_from_the_installed_tree_uses_the_shipped_worktree_tool() {
    let mut w = World::new();
    let tree = w.install("install/share/agent-control-plane");
    let repo = w.git_repo("repo");
    let wt = w.worktree(&repo, "worktrees/issue-5", "agent/issue-5");
    w.write(
        "runs/s-5/run.env",
        format!("BRANCH=agent/issue-5\nWORKTREE={}\n", wt.display()),
    );
    let cleanup_installed = |w: &World, session: &str| {
        run(w
            .installed(&tree, TOOL)
            .arg("--repo-root")
            .arg(&repo)
            .args(["--runs-root", "runs", "--history-root", "history"])
            .args(["--session", session]))
    };
    let (code, out, err) = cleanup_installed(&w, "s-5");
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "CLEANUP_MODE"), Some("branch"), "{out}");
    assert_eq!(kv(&out, "CLEANUP_STATUS"), Some("0"), "{out}");
    assert!(
        kv(&out, "ARCHIVED_DIR")
            .unwrap()
            .starts_with("history/s-5-")
    );
    assert!(!wt.exists(), "the worktree is removed");
    let (_, branches, _) = run(w.cmd("git").arg("-C").arg(&repo).args(["branch", "--list"]));
    assert!(!branches.contains("agent/issue-5"), "{branches}");

    w.env("AGENT_PROJECT_WORKTREE_ROOT", w.path("worktrees"));
    let orphan = mkdir(&w.path("worktrees/issue-6"));
    w.write(
        "runs/s-6/run.env",
        format!("BRANCH=agent/issue-6\nWORKTREE={}\n", orphan.display()),
    );
    let (code, out, err) = cleanup_installed(&w, "s-6");
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "ORPHAN_FALLBACK_USED"), Some("true"), "{out}");
    assert!(!orphan.exists());
    assert!(!out.contains("unknown command"), "{out}");
}
