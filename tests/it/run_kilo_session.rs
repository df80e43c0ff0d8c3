//! Integration tests for `run-kilo-session` (run through its shim).

use crate::harness::{World, base_args, kv, pid_alive, read, run, wait_until};

const TOOL: &str = "tools/bin/agent-project-run-kilo-session";

/// A fake `kilo` that records argv, then runs `body`.
fn fake_kilo(w: &World, body: &str) {
    w.fake(
        "kilo",
        &format!(
            "#!/usr/bin/env bash\nset -euo pipefail\nprintf '%s\\n' \"$@\" >\"$ACP_HOST_RUN_DIR/kilo-args.log\"\n{body}\n"
        ),
    );
}

#[test]
fn kilo_streams_json_events_and_reads_the_agents_contract() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    fake_kilo(
        &w,
        r#"echo '{"type":"step_start","sessionID":"s1"}'
echo '{"type":"text","text":"working"}'
printf 'OUTCOME=reported\nACTION=host-comment-report\n' >"$ACP_RESULT_FILE"
echo '{"type":"step_finish"}'"#,
    );
    let (code, out, err) = run(w.shim(TOOL).args(base_args("acp-kilo-ok", &wt, &prompt)));
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("SCRIPT=") && !out.contains("META="));
    let log = w.wait_done("acp-kilo-ok");
    let run_dir = w.path("runs/acp-kilo-ok");
    assert!(
        log.contains("{\"type\":\"text\",\"text\":\"working\"}\n"),
        "{log}"
    );
    assert_eq!(
        read(run_dir.join("kilo-args.log")),
        format!(
            "run\n--auto\n--format\njson\n--model\nanthropic/claude-sonnet-4-20250514\n--dir\n{}\nPrompt body\nsecond line\n",
            wt.display()
        )
    );
    assert_eq!(
        read(run_dir.join("result.env")),
        "OUTCOME=reported\nACTION=host-comment-report\n"
    );
    let run_env = read(run_dir.join("run.env"));
    assert!(
        run_env.contains(
            "\nKILO_MODEL=anthropic/claude-sonnet-4-20250514\nKILO_TIMEOUT_SECONDS=900\n"
        ),
        "{run_env}"
    );
    assert!(
        run_env.contains("\nSANDBOX_RUN_DIR=") && run_env.contains(".kilo-artifacts/acp-kilo-ok\n")
    );
}

#[test]
fn kilo_auth_failure_is_classified() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    fake_kilo(
        &w,
        r#"echo '{"type":"error","error":"Invalid API key provided"}'; exit 1"#,
    );
    let (code, _, err) = run(w.shim(TOOL).args(base_args("acp-kilo-auth", &wt, &prompt)));
    assert_eq!(code, 0, "{err}");
    w.wait_done("acp-kilo-auth");
    let run_dir = w.path("runs/acp-kilo-auth");
    assert!(read(run_dir.join("runner.env")).contains("LAST_FAILURE_REASON=auth-failure\n"));
    assert!(read(run_dir.join("result.env")).contains("DETAIL=auth-failure\n"));
}

#[test]
fn kilo_progress_stall_and_plain_failure() {
    // Plain text but no JSON event: no progress, so the stall ends it.
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    fake_kilo(&w, "echo 'booting'; sleep 60");
    let mut args = base_args("acp-kilo-stall", &wt, &prompt);
    args.extend(["--kilo-stall-seconds", "1"].map(String::from));
    let (code, _, err) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0, "{err}");
    w.wait_done("acp-kilo-stall");
    let runner = read(w.path("runs/acp-kilo-stall/runner.env"));
    assert!(runner.contains("RUNNER_STATE=failed\n"), "{runner}");
    assert!(
        runner.contains("LAST_FAILURE_REASON=no-agent-progress-before-stall-threshold\n"),
        "{runner}"
    );

    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    fake_kilo(&w, "exit 2");
    let (code, _, err) = run(w.shim(TOOL).args(base_args("acp-kilo-fail", &wt, &prompt)));
    assert_eq!(code, 0, "{err}");
    let log = w.wait_done("acp-kilo-fail");
    assert!(log.contains("__CODEX_EXIT__:2"));
    let run_dir = w.path("runs/acp-kilo-fail");
    assert!(read(run_dir.join("runner.env")).contains("LAST_FAILURE_REASON=kilo-exit-2\n"));
    assert!(read(run_dir.join("result.env")).contains("DETAIL=kilo-exit-2\n"));
}

#[test]
fn kilo_help_and_bad_input() {
    let w = World::new();
    let (code, out, _) = run(w.shim(TOOL).arg("-h"));
    assert_eq!(code, 0);
    assert!(
        out.contains("Kilo") && out.contains("--kilo-model"),
        "{out}"
    );
    let (code, _, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 1);
    assert!(err.contains("Usage"));
    let (wt, prompt) = w.worktree_and_prompt();
    fake_kilo(&w, "exit 0");
    let base = base_args("acp-kilo-bad", &wt, &prompt);
    let (code, _, err) = run(w.shim(TOOL).args(&base).args(["--mode", "fast"]));
    assert_eq!((code, err.as_str()), (1, "--mode must be safe or bypass\n"));
    let (code, _, err) = run(w.shim(TOOL).args(&base).args(["--context", "="]));
    assert_eq!((code, err.as_str()), (1, "Invalid context key: \n"));
    let (code, _, err) = run(w
        .shim(TOOL)
        .args(&base)
        .args(["--collect-file", "../../etc/passwd"]));
    assert_eq!(code, 1, "{err}");
    assert!(!w.path("runs").exists());
}

#[test]
fn kilo_worker_env_comes_from_the_launcher_not_the_tmux_server() {
    let mut w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    // A tmux server already running with its own value of the knob.
    let out = w
        .tmux()
        .env("ACP_PROBE", "from-server")
        .args(["new-session", "-d", "-s", "keepalive", "sleep 120"])
        .output()
        .unwrap();
    assert!(out.status.success());
    w.env("ACP_PROBE", "from-launcher");
    fake_kilo(
        &w,
        r#"for v in ACP_PROBE MY_SESSION MY_RUN_DIR MY_NOTE ACP_NOTE F_LOSNING_NOTE AGENT_PROJECT_RESULT_FILE F_LOSNING_HOST_RUN_DIR; do
  printf '%s=%s\n' "$v" "${!v:-<unset>}"
done >"$ACP_HOST_RUN_DIR/env-seen""#,
    );
    let mut args = base_args("acp-kilo-env", &wt, &prompt);
    args.extend(["--env-prefix", "MY_", "--context", "NOTE=x y"].map(String::from));
    let (code, _, err) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0, "{err}");
    w.wait_done("acp-kilo-env");
    let run_dir = w.path("runs/acp-kilo-env");
    let sandbox = wt.join(".kilo-artifacts/acp-kilo-env");
    assert_eq!(
        read(run_dir.join("env-seen")),
        format!(
            "ACP_PROBE=from-launcher\nMY_SESSION=acp-kilo-env\nMY_RUN_DIR={}\nMY_NOTE=x y\nACP_NOTE=x y\nF_LOSNING_NOTE=x y\nAGENT_PROJECT_RESULT_FILE={}/result.env\nF_LOSNING_HOST_RUN_DIR={}\n",
            sandbox.display(),
            sandbox.display(),
            run_dir.display()
        )
    );
}

/// A fake kilo that starts a long `sleep` child (pid in `child.pid`), says
/// it started, then waits.
const KILO_WITH_CHILD: &str = r#"sleep 300 & echo $! >"$ACP_HOST_RUN_DIR/child.pid"
echo '{"type":"step_start","sessionID":"s1"}'
wait"#;

#[test]
fn kilo_timeout_kills_the_agent_group() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    fake_kilo(&w, KILO_WITH_CHILD);
    let mut args = base_args("acp-kilo-slow", &wt, &prompt);
    args.extend(["--kilo-timeout-seconds", "1"].map(String::from));
    let (code, _, err) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0, "{err}");
    let log = w.wait_done("acp-kilo-slow");
    let run_dir = w.path("runs/acp-kilo-slow");
    assert!(log.ends_with("\n__CODEX_EXIT__:124\n"), "{log}");
    let runner = read(run_dir.join("runner.env"));
    assert!(
        runner.contains("RUNNER_STATE=failed\n")
            && runner.contains("LAST_EXIT_CODE=124\nLAST_FAILURE_REASON=timeout\n"),
        "{runner}"
    );
    assert_eq!(
        read(run_dir.join("result.env")),
        "OUTCOME=blocked\nACTION=host-comment-blocker\nDETAIL=timeout\n"
    );
    let child = read(run_dir.join("child.pid"));
    assert!(!child.trim().is_empty());
    assert!(
        wait_until(5, || !pid_alive(&child)),
        "sleep child {child} survived the timeout"
    );
}

#[test]
fn kilo_silent_agent_ends_as_no_output_stall() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    fake_kilo(&w, "sleep 60");
    let mut args = base_args("acp-kilo-quiet", &wt, &prompt);
    args.extend(["--kilo-stall-seconds", "1"].map(String::from));
    let (code, _, err) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0, "{err}");
    w.wait_done("acp-kilo-quiet");
    let run_dir = w.path("runs/acp-kilo-quiet");
    let runner = read(run_dir.join("runner.env"));
    assert!(
        runner.contains("RUNNER_STATE=failed\n")
            && runner.contains("LAST_FAILURE_REASON=no-agent-output-before-stall-threshold\n"),
        "{runner}"
    );
    assert!(
        read(run_dir.join("result.env"))
            .contains("DETAIL=no-agent-output-before-stall-threshold\n")
    );
}

#[test]
fn kilo_quota_and_401_errors_are_classified() {
    for (session, body, reason) in [
        (
            "acp-kilo-quota",
            r#"echo '{"type":"error","error":"HTTP 429 Too Many Requests: rate limit exceeded"}'; exit 1"#,
            "provider-quota-limit",
        ),
        (
            "acp-kilo-401",
            "echo 'Error: 401 Unauthorized: invalid api key' >&2; exit 1",
            "auth-failure",
        ),
    ] {
        let w = World::new();
        let (wt, prompt) = w.worktree_and_prompt();
        // A result left by an earlier run of the same session must not count.
        w.write(
            &format!("wt/.kilo-artifacts/{session}/result.env"),
            "OUTCOME=implemented\nACTION=host-publish-issue-pr\n",
        );
        fake_kilo(&w, body);
        let (code, _, err) = run(w.shim(TOOL).args(base_args(session, &wt, &prompt)));
        assert_eq!(code, 0, "{err}");
        let log = w.wait_done(session);
        assert!(log.ends_with("\n__CODEX_EXIT__:1\n"), "{log}");
        let run_dir = w.path(&format!("runs/{session}"));
        let runner = read(run_dir.join("runner.env"));
        assert!(
            runner.contains("RUNNER_STATE=failed\n")
                && runner.contains(&format!("LAST_EXIT_CODE=1\nLAST_FAILURE_REASON={reason}\n")),
            "{session}: {runner}"
        );
        assert_eq!(
            read(run_dir.join("result.env")),
            format!("OUTCOME=blocked\nACTION=host-comment-blocker\nDETAIL={reason}\n"),
            "{session}"
        );
    }
}

#[test]
fn kilo_term_while_running_leaves_no_children_and_no_reconcile() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    fake_kilo(&w, KILO_WITH_CHILD);
    let reconciled = w.path("reconciled");
    let mut args = base_args("acp-kilo-term", &wt, &prompt);
    args.extend([
        "--reconcile-command".to_string(),
        format!("touch '{}'", reconciled.display()),
    ]);
    let (code, _, err) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0, "{err}");
    let run_dir = w.path("runs/acp-kilo-term");
    assert!(
        wait_until(15, || read(run_dir.join("acp-kilo-term.log"))
            .contains("step_start")),
        "fake kilo never started"
    );
    let child = read(run_dir.join("child.pid"));
    assert!(pid_alive(&child));
    w.term_session("acp-kilo-term");
    let log = w.wait_done("acp-kilo-term");
    assert!(
        wait_until(10, || !pid_alive(&child)),
        "sleep child {child} survived TERM"
    );
    let runner = read(run_dir.join("runner.env"));
    assert!(runner.contains("RUNNER_STATE=failed\n"), "{runner}");
    assert!(
        runner.contains("LAST_FAILURE_REASON=runner-aborted-before-completion\n"),
        "{runner}"
    );
    assert!(log.ends_with("\n__CODEX_EXIT__:143\n"), "{log}");
    // A stopped session is not reconciled as if it had finished.
    std::thread::sleep(std::time::Duration::from_secs(4));
    assert!(!reconciled.exists(), "reconcile ran after TERM");
}

#[test]
fn kilo_reconcile_runs_only_after_the_session_ends() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    let release = w.path("release");
    let reconciled = w.path("reconciled");
    fake_kilo(
        &w,
        &format!(
            "echo '{{\"type\":\"step_start\"}}'\nwhile [[ ! -e '{}' ]]; do sleep 0.1; done\necho '{{\"type\":\"step_finish\"}}'",
            release.display()
        ),
    );
    let mut args = base_args("acp-kilo-rec", &wt, &prompt);
    args.push("--reconcile-command".into());
    args.push(format!(
        "printf '%s %s\\n' \"$ACP_EXPECTED_RUN_STARTED_AT\" \"$F_LOSNING_EXPECTED_RUN_STARTED_AT\" > '{}'",
        reconciled.display()
    ));
    let (code, _, err) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0, "{err}");
    assert!(wait_until(10, || read(
        w.path("runs/acp-kilo-rec/acp-kilo-rec.log")
    )
    .contains("step_start")));
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert!(w.has_session("acp-kilo-rec"));
    assert!(
        !reconciled.exists(),
        "reconcile ran while the session was alive"
    );
    std::fs::write(&release, "").unwrap();
    let log = w.wait_done("acp-kilo-rec");
    assert!(log.contains("\n__CODEX_EXIT__:0\n"), "{log}");
    assert!(
        wait_until(15, || reconciled.exists()),
        "reconcile never ran"
    );
    let started = kv(&read(w.path("runs/acp-kilo-rec/run.env")), "STARTED_AT")
        .unwrap()
        .to_string();
    assert!(
        wait_until(5, || read(&reconciled) == format!("{started} {started}\n")),
        "{}",
        read(&reconciled)
    );
}

#[test]
fn kilo_collects_requested_artifacts_only() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    fake_kilo(
        &w,
        r#"printf 'summary\n' >"$ACP_RUN_DIR/pr-comment.md"
printf 'other\n' >"$ACP_RUN_DIR/other.txt"
printf 'OUTCOME=reported\nACTION=host-comment-report\n' >"$ACP_RESULT_FILE"
echo '{"type":"step_finish"}'"#,
    );
    let mut args = base_args("acp-kilo-art", &wt, &prompt);
    args.extend(
        [
            "--collect-file",
            "pr-comment.md",
            "--collect-file",
            "missing.md",
        ]
        .map(String::from),
    );
    let (code, _, err) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0, "{err}");
    w.wait_done("acp-kilo-art");
    let run_dir = w.path("runs/acp-kilo-art");
    assert_eq!(read(run_dir.join("pr-comment.md")), "summary\n");
    assert!(!run_dir.join("other.txt").exists());
    assert!(!run_dir.join("missing.md").exists());
    assert_eq!(
        read(run_dir.join("result.env")),
        "OUTCOME=reported\nACTION=host-comment-report\n"
    );
    // The sandbox lives under the worktree and stays out of git status.
    assert_eq!(
        read(wt.join(".kilo-artifacts/acp-kilo-art/pr-comment.md")),
        "summary\n"
    );
}

#[test]
fn kilo_result_is_inferred_from_git_state() {
    // (session, agent body, expected result.env)
    for (session, body, want) in [
        (
            "acp-kilo-staged",
            "echo 'fn main() {}' > main.rs\ngit add main.rs",
            "OUTCOME=implemented\nACTION=host-publish-issue-pr\n",
        ),
        (
            "acp-kilo-edit",
            "echo 'fn main() {}' > lib.rs\ngit add lib.rs\ngit commit -qm lib\necho '// x' >> lib.rs",
            "OUTCOME=implemented\nACTION=host-publish-issue-pr\n",
        ),
        (
            "acp-kilo-docs",
            "echo notes > NOTES.md\ngit add NOTES.md",
            "OUTCOME=blocked\nACTION=host-comment-blocker\nDETAIL=missing-result-contract\n",
        ),
        (
            "acp-kilo-none",
            "true",
            "OUTCOME=blocked\nACTION=host-comment-blocker\nDETAIL=missing-result-contract\n",
        ),
    ] {
        let w = World::new();
        let (wt, prompt) = w.worktree_and_prompt();
        fake_kilo(&w, &format!("{body}\necho '{{\"type\":\"step_finish\"}}'"));
        let (code, _, err) = run(w.shim(TOOL).args(base_args(session, &wt, &prompt)));
        assert_eq!(code, 0, "{err}");
        let log = w.wait_done(session);
        assert!(log.ends_with("\n__CODEX_EXIT__:0\n"), "{session}: {log}");
        let run_dir = w.path(&format!("runs/{session}"));
        assert_eq!(read(run_dir.join("result.env")), want, "{session}");
        assert!(
            read(run_dir.join("runner.env")).starts_with("RUNNER_STATE=succeeded\n"),
            "{session}"
        );
        let run_env = read(run_dir.join("run.env"));
        assert!(run_env.contains("\nFINAL_BRANCH=feature\n"), "{run_env}");
    }
}

#[test]
fn kilo_settings_come_from_acp_and_legacy_variables() {
    let mut w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    w.env("ACP_KILO_MODEL", "env/model");
    w.env("F_LOSNING_KILO_TIMEOUT_SECONDS", "77");
    fake_kilo(&w, "true");
    let (code, _, err) = run(w.shim(TOOL).args(base_args("acp-kilo-envs", &wt, &prompt)));
    assert_eq!(code, 0, "{err}");
    w.wait_done("acp-kilo-envs");
    let run_dir = w.path("runs/acp-kilo-envs");
    let run_env = read(run_dir.join("run.env"));
    assert!(
        run_env.contains("\nKILO_MODEL=env/model\nKILO_TIMEOUT_SECONDS=77\n"),
        "{run_env}"
    );
    assert!(read(run_dir.join("kilo-args.log")).contains("\n--model\nenv/model\n"));
    // A flag beats the variable.
    let (code, _, err) = run(w
        .shim(TOOL)
        .args(base_args("acp-kilo-envs", &wt, &prompt))
        .args(["--kilo-timeout-seconds", "0"]));
    assert_eq!(
        (code, err.as_str()),
        (1, "--kilo-timeout-seconds must be a positive integer\n")
    );
    let (code, _, err) = run(w
        .shim(TOOL)
        .args(base_args("acp-kilo-envs", &wt, &prompt))
        .args(["--kilo-stall-seconds", "x"]));
    assert_eq!(
        (code, err.as_str()),
        (1, "--kilo-stall-seconds must be numeric\n")
    );
}
