//! Integration tests for `agent-project-run-pi-session`, through its shim,
//! with real tmux, a real git worktree and a fake `pi` CLI on PATH. The fake
//! is steered by `--context TEST_PI=<behaviour>` (exported as `ACP_TEST_PI`).

use std::path::{Path, PathBuf};

use crate::blocking_suite::{
    HOSTILE_MODEL, hostile_values_never_execute, kill_session_leaves_no_children, launcher_args,
    reconcile_runs_after_the_session_ends, term_to_the_supervisor_ends_the_group_and_records_it,
};
use crate::harness::{World, bash_source_get, env_keys, kv, read, run, run_env_keys};

const TOOL: &str = "tools/bin/agent-project-run-pi-session";

const FAKE_PI: &str = r#"#!/usr/bin/env bash
printf '%s\n' "$@" > "$ACP_HOST_RUN_DIR/pi-args.txt"
pwd > "$ACP_HOST_RUN_DIR/pi-cwd.txt"
case "${ACP_TEST_PI:-ok}" in
  ok) echo "pi: working"; echo "pi: key=${OPENROUTER_API_KEY:-unset}"; echo "pi: done" ;;
  contract)
    printf 'OUTCOME=implemented\nACTION=host-publish-issue-pr\n' > "$ACP_RESULT_FILE"
    echo "note" > "$ACP_RUN_DIR/pr-comment.md" ;;
  fail) echo "Error: something broke"; exit 3 ;;
  quota) echo "Error: 429 Too Many Requests (rate limit exceeded)" >&2; exit 1 ;;
  auth) echo "Error: No API key found for openrouter" >&2; exit 1 ;;
  hang) echo "pi: thinking"; while :; do echo tick; sleep 0.3; done ;;
  silent) sleep 300 ;;
  stall) echo "pi: first line"; sleep 300 ;;
  children)
    sleep 300 & echo $! >> "$ACP_TEST_PIDS"
    (sleep 300 & echo $! >> "$ACP_TEST_PIDS"; wait) &
    echo "pi: spawned"; sleep 300 ;;
esac
"#;

fn setup(w: &World) -> PathBuf {
    w.fake("pi", FAKE_PI);
    w.repo_with_worktree("wt", "pr-3")
}

fn args(w: &World, wt: &Path, session: &str, behaviour: &str) -> Vec<String> {
    let prompt = w.write("prompts/pr 3.md", "Fix PR 3.\n");
    let mut a = launcher_args(wt, &prompt, w, session, "bypass", ("pr", "3"));
    a.extend(["--context".to_string(), format!("TEST_PI={behaviour}")]);
    a
}

/// The fake pi's `children` behaviour, its pid file in the context.
fn children_args(w: &World, wt: &Path, session: &str) -> (Vec<String>, PathBuf) {
    let pids = w.path("pids.txt");
    let mut a = args(w, wt, session, "children");
    a.extend([
        "--context".to_string(),
        format!("TEST_PIDS={}", pids.display()),
    ]);
    (a, pids)
}

#[test]
fn pi_session_success_writes_fallback_and_records_state() {
    let w = World::new();
    let wt = setup(&w);
    let a = args(&w, &wt, "pi-3", "ok");
    let (code, out, err) = run(w
        .shim(TOOL)
        .args(&a)
        .args(["--pi-model", "openrouter/x/y:free", "--pi-thinking", "high"])
        .env("OPENROUTER_API_KEY", "sk-or-secret-123"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "");
    let run_dir = w.path("runs/pi-3");
    let prompt = w.path("prompts/pr 3.md");
    assert_eq!(
        read(run_dir.join("pi-args.txt")),
        format!(
            "--print\n--no-session\n--model\nopenrouter/x/y:free\n--thinking\nhigh\n@{}\n",
            prompt.display()
        )
    );
    assert_eq!(
        read(run_dir.join("pi-cwd.txt")).trim(),
        wt.to_str().unwrap()
    );
    let run_env = read(run_dir.join("run.env"));
    let keys = env_keys(&run_env);
    assert_eq!(
        keys[..19],
        run_env_keys(&[
            "PI_BIN",
            "PI_MODEL",
            "PI_THINKING",
            "PI_TIMEOUT_SECONDS",
            "PI_STALL_SECONDS"
        ])[..]
    );
    assert_eq!(keys[19], "TEST_PI");
    // What no flag or variable set is the backend table's default.
    let d = &acp_core::config::backends::DEFAULTS.pi;
    let (timeout, stall) = (d.timeout_seconds.to_string(), d.stall_seconds.to_string());
    assert_eq!(kv(&run_env, "PI_TIMEOUT_SECONDS"), Some(timeout.as_str()));
    assert_eq!(kv(&run_env, "PI_STALL_SECONDS"), Some(stall.as_str()));
    assert_eq!(
        kv(&run_env, "PI_BIN"),
        Some(w.fake_bin.join("pi").to_str().unwrap())
    );
    assert!(run_env.contains("\nFINAL_BRANCH=pr-3\n"), "{run_env}");
    let runner = read(run_dir.join("runner.env"));
    assert!(
        runner.starts_with("RUNNER_STATE=succeeded\nATTEMPT=1\nRESUME_COUNT=0\nLAST_EXIT_CODE=0\n"),
        "{runner}"
    );
    assert_eq!(
        read(run_dir.join("result.env")),
        "OUTCOME=blocked\nACTION=host-comment-blocker\nDETAIL=missing-result-contract\n"
    );
    let log = read(run_dir.join("pi-3.log"));
    assert_eq!(log.matches("pi: working").count(), 1, "{log}");
    // The provider key reaches pi but is never written to disk.
    assert!(log.contains("pi: key=sk-or-secret-123"), "{log}");
    for f in ["pi-3.sh", "run.env", "runner.env"] {
        assert!(!read(run_dir.join(f)).contains("sk-or-secret-123"), "{f}");
    }
    assert!(log.ends_with("\n__CODEX_EXIT__:0\n"), "{log}");
}

#[test]
fn pi_session_keeps_the_agents_contract_and_collects_files() {
    let w = World::new();
    let wt = setup(&w);
    // A stale contract from an earlier attempt must not survive.
    let stale = wt.join(".pi-artifacts/pi-4/result.env");
    std::fs::create_dir_all(stale.parent().unwrap()).unwrap();
    std::fs::write(&stale, "OUTCOME=blocked\nDETAIL=stale\n").unwrap();
    let a = args(&w, &wt, "pi-4", "contract");
    let (code, _, err) = run(w.shim(TOOL).args(&a).args([
        "--collect-file",
        "pr-comment.md",
        "--collect-file",
        "missing.md",
    ]));
    assert_eq!(code, 0, "{err}");
    let run_dir = w.path("runs/pi-4");
    assert_eq!(
        read(run_dir.join("result.env")),
        "OUTCOME=implemented\nACTION=host-publish-issue-pr\n"
    );
    assert_eq!(read(run_dir.join("pr-comment.md")), "note\n");
    assert!(!run_dir.join("missing.md").exists());

    let a = args(&w, &wt, "pi-5", "ok");
    let (code, _, err) = run(w
        .shim(TOOL)
        .args(&a)
        .args(["--sandbox-subdir", "custom-box"]));
    assert_eq!(code, 0, "{err}");
    assert!(wt.join("custom-box/pi-5/result.env").is_file());
}

#[test]
fn pi_session_failures_are_classified() {
    let w = World::new();
    let wt = setup(&w);
    for (session, behaviour, code, reason) in [
        ("pi-6", "fail", "3", "pi-exit-3"),
        ("pi-7", "quota", "1", "provider-quota-limit"),
        ("pi-8", "auth", "1", "auth-failure"),
    ] {
        let a = args(&w, &wt, session, behaviour);
        let (rc, _, err) = run(w.shim(TOOL).args(&a));
        assert_eq!(rc, 0, "{err}");
        let run_dir = w.path(&format!("runs/{session}"));
        let runner = read(run_dir.join("runner.env"));
        assert!(runner.starts_with("RUNNER_STATE=failed\n"), "{runner}");
        assert_eq!(kv(&runner, "LAST_EXIT_CODE"), Some(code), "{runner}");
        assert_eq!(kv(&runner, "LAST_FAILURE_REASON"), Some(reason), "{runner}");
        assert_eq!(
            bash_source_get(&w, &run_dir.join("result.env"), "DETAIL"),
            reason
        );
        let log = read(run_dir.join(format!("{session}.log")));
        assert!(
            log.ends_with(&format!("\n__CODEX_EXIT__:{code}\n")),
            "{log}"
        );
    }
}

#[test]
fn pi_session_timeout_and_stalls_end_with_124() {
    let w = World::new();
    let wt = setup(&w);
    for (session, behaviour, extra, reason, line) in [
        (
            "pi-9",
            "hang",
            ["--pi-timeout-seconds", "1", "--pi-stall-seconds", "0"],
            "timeout",
            "[pi] timed out after 1 seconds",
        ),
        (
            "pi-10",
            "silent",
            ["--pi-timeout-seconds", "60", "--pi-stall-seconds", "1"],
            "no-agent-output-before-stall-threshold",
            "[pi] no output for 1 seconds",
        ),
        (
            "pi-11",
            "stall",
            ["--pi-timeout-seconds", "60", "--pi-stall-seconds", "1"],
            "no-agent-progress-before-stall-threshold",
            "[pi] no output for 1 seconds",
        ),
    ] {
        let a = args(&w, &wt, session, behaviour);
        let (rc, _, err) = run(w.shim(TOOL).args(&a).args(extra));
        assert_eq!(rc, 0, "{err}");
        let run_dir = w.path(&format!("runs/{session}"));
        let runner = read(run_dir.join("runner.env"));
        assert_eq!(kv(&runner, "LAST_EXIT_CODE"), Some("124"), "{runner}");
        assert_eq!(kv(&runner, "LAST_FAILURE_REASON"), Some(reason), "{runner}");
        let log = read(run_dir.join(format!("{session}.log")));
        assert!(log.contains(line), "{log}");
        assert!(log.ends_with("\n__CODEX_EXIT__:124\n"), "{log}");
    }
}

#[test]
fn pi_session_term_leaves_no_children() {
    let w = World::new();
    let wt = setup(&w);
    let (a, pids) = children_args(&w, &wt, "pi-12");
    kill_session_leaves_no_children(&w, TOOL, &a, "pi-12", &pids);
}

#[test]
fn pi_session_runs_the_reconcile_command_after_the_session_ends() {
    let w = World::new();
    let wt = setup(&w);
    let a = args(&w, &wt, "pi-13", "ok");
    reconcile_runs_after_the_session_ends(&w, TOOL, &a, "pi-13");
}

#[test]
fn pi_session_hostile_values_never_execute() {
    let w = World::new();
    let wt = setup(&w);
    let a = args(&w, &wt, "pi-14", "ok");
    hostile_values_never_execute(&w, TOOL, &a, "pi-14", &wt, "--pi-model");
    let argv = read(w.path("runs/pi-14/pi-args.txt"));
    assert!(argv.contains(&format!("\n{HOSTILE_MODEL}\n")), "{argv}");
}

#[test]
fn pi_session_validates_its_flags_and_binary() {
    let w = World::new();
    let wt = setup(&w);
    let base = args(&w, &wt, "pi-15", "ok");
    let cases: [(&[&str], &str); 4] = [
        (
            &["--pi-thinking", "max"],
            "--pi-thinking must be one of: off, minimal, low, medium, high, xhigh",
        ),
        (
            &["--pi-timeout-seconds", "0"],
            "--pi-timeout-seconds must be a positive integer",
        ),
        (
            &["--pi-timeout-seconds", "5m"],
            "--pi-timeout-seconds must be a positive integer",
        ),
        (
            &["--pi-stall-seconds", "-1"],
            "--pi-stall-seconds must be numeric",
        ),
    ];
    for (extra, msg) in cases {
        let (code, _, err) = run(w.shim(TOOL).args(&base).args(extra));
        assert_eq!((code, err.trim()), (1, msg));
    }
    let (code, _, err) = run(w.shim(TOOL).args(&base).arg("--nope"));
    assert_eq!(code, 1);
    assert!(err.starts_with("Unknown argument: --nope"), "{err}");
    let (code, out, _) = run(w.shim(TOOL).args(["--help", "--nope"]));
    assert_eq!(code, 0);
    assert!(out.contains("--pi-stall-seconds"), "{out}");

    std::fs::remove_file(w.fake_bin.join("pi")).unwrap();
    let mut cmd = w.shim(TOOL);
    cmd.args(&base)
        .env("PATH", format!("{}:/usr/bin:/bin", w.fake_bin.display()));
    let (code, _, err) = run(&mut cmd);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("unable to resolve a runnable pi binary"),
        "{err}"
    );
    assert!(
        !w.path("runs/pi-15").exists(),
        "no side effects before validation passes"
    );
}

#[test]
fn pi_session_term_to_the_supervisor_ends_the_group_and_records_it() {
    let w = World::new();
    let wt = setup(&w);
    let (a, pids) = children_args(&w, &wt, "pi-16");
    term_to_the_supervisor_ends_the_group_and_records_it(&w, TOOL, &a, "pi-16", &pids);
}
