//! Integration tests for `agent-project-run-codex-session` (run through its
//! shim) with real tmux (private server), real git and a fake `codex`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{World, kv, pid_gone, read, run, run_env_keys, wait_for};
use crate::run_codex_resilient::Codex;

const TOOL: &str = "tools/bin/agent-project-run-codex-session";

fn has_line(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

fn launcher(w: &World, session: &str, worktree: &Path) -> Command {
    let prompt = w.write("prompt.md", "Fix it.\n");
    let mut c = w.shim(TOOL);
    c.args(["--mode", "safe", "--session", session, "--worktree"])
        .arg(worktree)
        .arg("--prompt-file")
        .arg(prompt)
        .arg("--runs-root")
        .arg(w.path("runs"))
        .args([
            "--adapter-id",
            "alpha",
            "--task-kind",
            "issue",
            "--task-id",
            "42",
        ]);
    c
}

fn wait_session_end(w: &World, s: &str) {
    wait_for("the tmux session to end", 60, || !w.has_session(s));
}

fn run_dir(w: &World, s: &str) -> PathBuf {
    w.path("runs").join(s)
}

#[test]
fn session_runs_codex_in_tmux_and_records_everything() {
    let mut w = World::new();
    let codex = Codex::install(&mut w);
    let repo = w.git_repo("repo");
    let (code, out, err) = run(launcher(&w, "alpha-issue-42", &repo)
        .args([
            "--collect-file",
            "extra.txt",
            "--collect-file",
            "../escape.txt",
        ])
        .args(["--context", "PR_NUMBER=7", "--env-prefix", "F_LOSNING_"])
        .args(["--context", "EXTRA=two words"]));
    assert_eq!(code, 0, "{err}");
    let dir = run_dir(&w, "alpha-issue-42");
    assert_eq!(kv(&out, "SESSION"), Some("alpha-issue-42"));
    assert_eq!(
        kv(&out, "OUTPUT").map(PathBuf::from),
        Some(dir.join("alpha-issue-42.log"))
    );
    assert_eq!(
        kv(&out, "META").map(PathBuf::from),
        Some(dir.join("run.env"))
    );
    wait_session_end(&w, "alpha-issue-42");
    let log = read(dir.join("alpha-issue-42.log"));
    assert!(log.ends_with("\n__CODEX_EXIT__:0\n"), "{log}");
    let meta = read(dir.join("run.env"));
    let keys: Vec<&str> = meta.lines().map(|l| l.split('=').next().unwrap()).collect();
    assert_eq!(
        keys,
        run_env_keys(&[
            "CODEX_BIN",
            "RUNNER_BIN",
            "PR_NUMBER",
            "EXTRA",
            "WORKTREE_REALPATH",
            "FINAL_HEAD",
            "FINAL_BRANCH",
        ])
    );
    assert!(has_line(&meta, "BRANCH=main"));
    assert!(has_line(&meta, "EXTRA=two\\ words"));
    assert!(has_line(&meta, "FINAL_BRANCH=main"));
    assert!(has_line(
        &meta,
        &format!("WORKTREE_REALPATH={}", repo.display())
    ));
    let runner_env = read(dir.join("runner.env"));
    assert!(
        has_line(&runner_env, "RUNNER_STATE=succeeded"),
        "{runner_env}"
    );
    assert!(has_line(&runner_env, "THREAD_ID=thread-ok"));
    // The fake codex wrote the sandbox result; it was pulled to the host.
    assert!(has_line(
        &read(dir.join("result.env")),
        "OUTCOME=implemented"
    ));
    // Both --collect-file values were seen; only the safe one was copied.
    assert_eq!(read(dir.join("extra.txt")), "collected\n");
    assert!(!w.path("runs/escape.txt").exists());
    let calls = codex.calls();
    assert_eq!(calls, ["exec --json --profile default --full-auto"]);
}

#[test]
fn session_worker_env_comes_from_the_launcher_not_the_tmux_server() {
    let mut w = World::new();
    let codex = Codex::install(&mut w);
    let repo = w.git_repo("repo");
    // A tmux server started earlier with other values (bug B3).
    w.tmux()
        .env("ACP_TEST_MARK", "from-server")
        .args(["new-session", "-d", "-s", "keeper", "sleep 600"])
        .status()
        .unwrap();
    let (code, _, err) = run(launcher(&w, "alpha-issue-1", &repo)
        .env("ACP_TEST_MARK", "from-launcher")
        .env("MY_API_TOKEN", "s3cret value")
        .args(["--context", "NOTE=it's $(touch pwned) `x`"]));
    assert_eq!(code, 0, "{err}");
    wait_session_end(&w, "alpha-issue-1");
    assert_eq!(codex.file("mark.1"), "from-launcher");
    assert_eq!(codex.file("secret.1"), "s3cret value");
    let dir = run_dir(&w, "alpha-issue-1");
    let script = read(dir.join("alpha-issue-1.sh"));
    assert!(
        script.contains("export ACP_TEST_MARK=from-launcher\n"),
        "{script}"
    );
    assert!(
        !script.contains("s3cret"),
        "secrets stay out of the inner script"
    );
    assert!(!dir.join(".alpha-issue-1.secrets.env").exists());
    assert!(script.contains("exec "));
    assert!(!repo.join("pwned").exists() && !w.path("pwned").exists());
    let meta = read(dir.join("run.env"));
    assert!(
        has_line(&meta, "NOTE=it\\'s\\ \\$\\(touch\\ pwned\\)\\ \\`x\\`"),
        "{meta}"
    );
}

#[test]
fn session_reconcile_runs_only_after_the_session_ended() {
    let mut w = World::new();
    let codex = Codex::install(&mut w);
    codex.scenario("slow");
    let repo = w.git_repo("repo");
    let probe = w.path("reconcile.out");
    let cmd = format!(
        "if tmux has-session -t =alpha-pr-5 2>/dev/null; then echo alive; else echo gone; fi > {}; echo \"$ACP_EXPECTED_RUN_STARTED_AT\" >> {}",
        probe.display(),
        probe.display()
    );
    let (code, _, err) = run(launcher(&w, "alpha-pr-5", &repo).args(["--reconcile-command", &cmd]));
    assert_eq!(code, 0, "{err}");
    assert!(w.has_session("alpha-pr-5"));
    assert!(!probe.exists(), "reconcile must wait for the session");
    wait_session_end(&w, "alpha-pr-5");
    wait_for("the reconcile command", 30, || {
        read(&probe).lines().count() == 2
    });
    let text = read(&probe);
    assert_eq!(text.lines().next(), Some("gone"));
    let meta = read(run_dir(&w, "alpha-pr-5").join("run.env"));
    assert_eq!(text.lines().nth(1), kv(&meta, "STARTED_AT"));
}

#[test]
fn session_recovers_artifacts_from_logged_paths_but_not_stale_ones() {
    let w = World::new();
    let repo = w.git_repo("repo");
    let elsewhere = w.path("elsewhere");
    let old = w.path("old");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::create_dir_all(&old).unwrap();
    std::fs::write(old.join("pr-comment.md"), "stale comment\n").unwrap();
    let st = w
        .cmd("touch")
        .args(["-d", "2 hours ago"])
        .arg(old.join("pr-comment.md"))
        .status()
        .unwrap();
    assert!(st.success());
    // A runner stub next to the shim: writes artifacts outside the sandbox
    // and only logs their paths.
    let stub = format!(
        "#!/usr/bin/env bash\nout=''\nwhile [[ $# -gt 0 ]]; do case \"$1\" in --output-file) out=\"$2\"; shift 2;; *) shift;; esac; done\n\
         printf 'OUTCOME=blocked\\n' > {e}/result.env\nprintf 'hello\\n' > {e}/issue-comment.md\n\
         echo \"wrote ({e}/issue-comment.md), result={e}/result.env, old={o}/pr-comment.md\" >> \"$out\"\nexit 5\n",
        e = elsewhere.display(),
        o = old.display()
    );
    std::fs::write(
        w.skill.join("tools/bin/agent-project-run-codex-resilient"),
        stub,
    )
    .unwrap();
    w.fake("codex", "#!/bin/sh\nexit 0\n");
    let (code, _, err) = run(&mut launcher(&w, "alpha-issue-9", &repo));
    assert_eq!(code, 0, "{err}");
    wait_session_end(&w, "alpha-issue-9");
    let dir = run_dir(&w, "alpha-issue-9");
    assert!(read(dir.join("alpha-issue-9.log")).contains("__CODEX_EXIT__:5"));
    assert_eq!(read(dir.join("result.env")), "OUTCOME=blocked\n");
    assert_eq!(read(dir.join("issue-comment.md")), "hello\n");
    assert!(
        !dir.join("pr-comment.md").exists(),
        "a stale logged file is not this run's"
    );
}

#[test]
fn session_uses_realpath_sandbox_and_clears_stale_sandbox_files() {
    let mut w = World::new();
    let _codex = Codex::install(&mut w);
    let repo = w.git_repo("repo");
    let alias = w.path("alias");
    std::os::unix::fs::symlink(&repo, &alias).unwrap();
    let sandbox = repo.join(".openclaw-artifacts/alpha-issue-3");
    std::fs::create_dir_all(&sandbox).unwrap();
    std::fs::write(sandbox.join("verification.jsonl"), "{\"stale\":true}\n").unwrap();
    std::fs::write(sandbox.join("issue-comment.md"), "stale\n").unwrap();
    // A previous, unarchived run left results in the artifact dir.
    let dir = run_dir(&w, "alpha-issue-3");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("result.env"), "OUTCOME=old\n").unwrap();
    std::fs::write(dir.join("alpha-issue-3.log"), "old log\n__CODEX_EXIT__:9\n").unwrap();
    let (code, _, err) = run(&mut launcher(&w, "alpha-issue-3", &alias));
    assert_eq!(code, 0, "{err}");
    wait_session_end(&w, "alpha-issue-3");
    let meta = read(dir.join("run.env"));
    assert!(
        has_line(&meta, &format!("WORKTREE={}", alias.display())),
        "{meta}"
    );
    assert!(has_line(
        &meta,
        &format!("WORKTREE_REALPATH={}", repo.display())
    ));
    assert!(has_line(
        &meta,
        &format!("SANDBOX_RUN_DIR={}", sandbox.display())
    ));
    assert!(!dir.join("issue-comment.md").exists());
    assert!(!dir.join("verification.jsonl").exists());
    assert!(!sandbox.join("issue-comment.md").exists());
    assert_eq!(
        read(dir.join("result.env")),
        "OUTCOME=implemented\nACTION=host-publish\n"
    );
    assert!(!read(dir.join("alpha-issue-3.log")).contains("__CODEX_EXIT__:9"));
    assert!(read(dir.join("alpha-issue-3.previous.log")).contains("old log"));
}

#[test]
fn session_provides_an_openspec_stand_in() {
    let w = World::new();
    let repo = w.git_repo("repo");
    for d in [
        "openspec/changes/demo-change",
        "openspec/changes/archive",
        "openspec/specs/demo-spec",
    ] {
        std::fs::create_dir_all(repo.join(d)).unwrap();
    }
    let out = w.path("openspec.out");
    let stub = format!(
        "#!/usr/bin/env bash\n{{ command -v openspec; openspec list; openspec list --specs; openspec show x; echo \"rc=$?\"; }} > {} 2>&1\n",
        out.display()
    );
    std::fs::write(
        w.skill.join("tools/bin/agent-project-run-codex-resilient"),
        stub,
    )
    .unwrap();
    w.fake("codex", "#!/bin/sh\nexit 0\n");
    let (code, _, err) = run(&mut launcher(&w, "alpha-issue-4", &repo));
    assert_eq!(code, 0, "{err}");
    wait_session_end(&w, "alpha-issue-4");
    let text = read(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].ends_with("/runs/alpha-issue-4/worker-bin/openspec"),
        "{text}"
    );
    assert_eq!(lines[1], "demo-change");
    assert_eq!(lines[2], "demo-spec");
    assert_eq!(lines.last(), Some(&"rc=64"));
}

#[test]
fn session_kill_ends_codex_and_its_children() {
    let mut w = World::new();
    let codex = Codex::install(&mut w);
    codex.scenario("hang");
    w.env("ACP_CODEX_STALL_SECONDS", "0");
    let repo = w.git_repo("repo");
    let (code, _, err) = run(&mut launcher(&w, "alpha-issue-8", &repo));
    assert_eq!(code, 0, "{err}");
    wait_for("grandchild", 30, || {
        !codex.file("grandchild.pid").trim().is_empty()
    });
    let codex_pid: u32 = codex.file("codex.pid").trim().parse().unwrap();
    let gc: u32 = codex.file("grandchild.pid").trim().parse().unwrap();
    assert!(
        w.tmux()
            .args(["kill-session", "-t", "=alpha-issue-8"])
            .status()
            .unwrap()
            .success()
    );
    wait_for("codex to end", 15, || pid_gone(codex_pid));
    wait_for("grandchild to end", 15, || pid_gone(gc));
    let dir = run_dir(&w, "alpha-issue-8");
    wait_for("runner.env failed", 15, || {
        has_line(&read(dir.join("runner.env")), "RUNNER_STATE=failed")
    });
}

#[test]
fn session_rejects_bad_input() {
    let mut w = World::new();
    let _codex = Codex::install(&mut w);
    let repo = w.git_repo("repo");
    let (code, _, err) = run(w.shim(TOOL).args(["--mode", "safe"]));
    assert_eq!(code, 1);
    assert!(err.contains("Usage"));
    let (code, _, err) = run(launcher(&w, "s1", &repo).arg("--nope"));
    assert_eq!(code, 1);
    assert!(err.starts_with("Unknown argument: --nope"), "{err}");
    let (code, _, err) = run(launcher(&w, "s1", &repo).args(["--mode", "yolo"]));
    assert_eq!((code, err.trim()), (1, "--mode must be safe or bypass"));
    let missing = w.path("missing wt");
    let (code, _, err) = run(&mut launcher(&w, "s1", &missing));
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        format!("unable to resolve worktree realpath: {}", missing.display())
    );
    let (code, _, err) = run(launcher(&w, "s1", &repo).args(["--context", "novalue"]));
    assert_eq!(
        (code, err.trim()),
        (1, "--context must use KEY=VALUE syntax: novalue")
    );
    let (code, _, err) = run(launcher(&w, "s2", &repo).args(["--context", "bad-key=1"]));
    assert_eq!((code, err.trim()), (1, "Invalid context key: bad-key"));
    w.tmux_session("busy", "sleep 60");
    let (code, _, err) = run(&mut launcher(&w, "busy", &repo));
    assert_eq!((code, err.trim()), (1, "tmux session already exists: busy"));
    let (code, out, _) = run(w.shim(TOOL).arg("--help"));
    assert_eq!(code, 0);
    assert!(out.contains("--reconcile-command"));
    // No codex anywhere: reported after the dirs exist.
    let mut cmd = launcher(&w, "s3", &repo);
    cmd.env("PATH", "/usr/bin:/bin");
    let (code, _, err) = run(&mut cmd);
    assert_eq!(
        (code, err.trim()),
        (1, "unable to resolve a runnable codex binary")
    );
    assert!(run_dir(&w, "s3").is_dir());
}

#[test]
fn session_worktree_with_a_colon_still_runs_codex() {
    let mut w = World::new();
    let codex = Codex::install(&mut w);
    let repo = w.git_repo("wt:one");
    std::fs::create_dir_all(repo.join("node_modules/.bin")).unwrap();
    let (code, _, err) = run(&mut launcher(&w, "alpha-issue-11", &repo));
    assert_eq!(code, 0, "{err}");
    wait_session_end(&w, "alpha-issue-11");
    let dir = run_dir(&w, "alpha-issue-11");
    let log = read(dir.join("alpha-issue-11.log"));
    assert!(log.ends_with("\n__CODEX_EXIT__:0\n"), "{log}");
    assert!(has_line(
        &read(dir.join("runner.env")),
        "RUNNER_STATE=succeeded"
    ));
    assert_eq!(codex.calls(), ["exec --json --profile default --full-auto"]);
}

#[test]
fn session_kill_lets_the_runner_record_its_end_when_codex_ignores_term() {
    let mut w = World::new();
    let codex = Codex::install(&mut w);
    codex.scenario("stubborn");
    w.env("ACP_CODEX_STALL_SECONDS", "0");
    let repo = w.git_repo("repo");
    let (code, _, err) = run(&mut launcher(&w, "alpha-issue-12", &repo));
    assert_eq!(code, 0, "{err}");
    let dir = run_dir(&w, "alpha-issue-12");
    wait_for("the thread id", 30, || {
        has_line(&read(dir.join("runner.env")), "THREAD_ID=thread-stubborn")
    });
    let codex_pid: u32 = codex.file("codex.pid").trim().parse().unwrap();
    assert!(
        w.tmux()
            .args(["kill-session", "-t", "=alpha-issue-12"])
            .status()
            .unwrap()
            .success()
    );
    wait_for("codex to end", 15, || pid_gone(codex_pid));
    // The runner ended codex itself (TERM, grace, KILL) and then recorded it.
    wait_for("runner.env failed", 15, || {
        has_line(&read(dir.join("runner.env")), "RUNNER_STATE=failed")
    });
    assert!(has_line(
        &read(dir.join("runner.env")),
        "LAST_FAILURE_REASON=runner-aborted-before-completion"
    ));
}
