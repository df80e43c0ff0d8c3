//! Integration tests for `run-opencode-session` (run through its shim).

use crate::harness::{World, base_args, kv, pid_alive, read, run, wait_until};

const TOOL: &str = "tools/bin/agent-project-run-opencode-session";

/// A fake `crush` that records argv and stdin, then runs `body`.
fn fake_crush(w: &World, body: &str) {
    w.fake(
        "crush",
        &format!(
            "#!/usr/bin/env bash\nset -euo pipefail\nprintf '%s\\n' \"$@\" >\"$ACP_HOST_RUN_DIR/crush-args.log\"\ncat >\"$ACP_HOST_RUN_DIR/crush-stdin.log\"\n{body}\n"
        ),
    );
}

#[test]
fn opencode_success_infers_implemented_from_git() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    fake_crush(
        &w,
        "echo 'fn main() {}' > main.rs\ngit add main.rs\necho crush-done",
    );
    let mut args = base_args("acp-oc-ok", &wt, &prompt);
    args[1] = "bypass".into();
    args.extend(
        [
            "--opencode-model",
            "openai/gpt-x",
            "--context",
            "NOTE=two words",
        ]
        .map(String::from),
    );
    let (code, out, err) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0, "{err}");
    let keys: Vec<&str> = out.lines().map(|l| l.split('=').next().unwrap()).collect();
    assert_eq!(
        keys,
        ["SESSION", "TASK_KIND", "TASK_ID", "WORKTREE", "OUTPUT"]
    );
    assert_eq!(kv(&out, "OUTPUT"), Some("runs/acp-oc-ok/acp-oc-ok.log"));
    let log = w.wait_done("acp-oc-ok");
    let run_dir = w.path("runs/acp-oc-ok");
    assert!(
        log.contains("crush-done\n") && log.contains("\n__CODEX_EXIT__:0\n"),
        "{log}"
    );
    assert_eq!(
        read(run_dir.join("crush-args.log")),
        format!(
            "run\n--quiet\n--model\nopenai/gpt-x\n--cwd\n{}\n--yolo\n",
            wt.display()
        )
    );
    assert_eq!(
        read(run_dir.join("crush-stdin.log")),
        "Prompt body\nsecond line\n"
    );
    assert_eq!(
        read(run_dir.join("result.env")),
        "OUTCOME=implemented\nACTION=host-publish-issue-pr\n"
    );
    let run_env = read(run_dir.join("run.env"));
    assert!(!run_env.contains("SCRIPT="), "{run_env}");
    assert!(
        run_env.contains("\nCRUSH_BIN=")
            && run_env.contains(
                "\nOPENCODE_MODEL=openai/gpt-x\nOPENCODE_TIMEOUT_SECONDS=900\nNOTE=two\\ words\n"
            ),
        "{run_env}"
    );
    let runner = read(run_dir.join("runner.env"));
    let keys: Vec<&str> = runner
        .lines()
        .map(|l| l.split('=').next().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "RUNNER_STATE",
            "ATTEMPT",
            "RESUME_COUNT",
            "LAST_EXIT_CODE",
            "LAST_FAILURE_REASON",
            "UPDATED_AT"
        ]
    );
    assert!(runner.starts_with("RUNNER_STATE=succeeded\n"));
}

#[test]
fn opencode_docs_only_change_is_blocked_missing_contract() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    fake_crush(&w, "echo notes > NOTES.md\ngit add NOTES.md");
    let (code, _, err) = run(w.shim(TOOL).args(base_args("acp-oc-docs", &wt, &prompt)));
    assert_eq!(code, 0, "{err}");
    w.wait_done("acp-oc-docs");
    let run_dir = w.path("runs/acp-oc-docs");
    assert!(read(run_dir.join("result.env")).contains("DETAIL=missing-result-contract\n"));
    // safe mode: no --yolo
    assert!(!read(run_dir.join("crush-args.log")).contains("--yolo"));
}

#[test]
fn opencode_quota_failure_and_stale_result() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    // A result left by an earlier run of the same session must not count.
    w.write(
        "wt/.opencode-artifacts/acp-oc-quota/result.env",
        "OUTCOME=implemented\nACTION=host-publish-issue-pr\n",
    );
    fake_crush(
        &w,
        "echo 'ERROR: provider returned status 429: Too Many Requests' >&2\nexit 1",
    );
    let (code, _, err) = run(w.shim(TOOL).args(base_args("acp-oc-quota", &wt, &prompt)));
    assert_eq!(code, 0, "{err}");
    let log = w.wait_done("acp-oc-quota");
    let run_dir = w.path("runs/acp-oc-quota");
    assert!(log.contains("__CODEX_EXIT__:1"), "{log}");
    let runner = read(run_dir.join("runner.env"));
    assert!(
        runner.contains("RUNNER_STATE=failed\n")
            && runner.contains("LAST_FAILURE_REASON=provider-quota-limit\n"),
        "{runner}"
    );
    assert_eq!(
        read(run_dir.join("result.env")),
        "OUTCOME=blocked\nACTION=host-comment-blocker\nDETAIL=provider-quota-limit\n"
    );
}

#[test]
fn opencode_plain_failure_keeps_the_original_reason() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    fake_crush(&w, "echo 'edited handler at line 401: done'\nexit 7");
    let (code, _, err) = run(w.shim(TOOL).args(base_args("acp-oc-fail", &wt, &prompt)));
    assert_eq!(code, 0, "{err}");
    w.wait_done("acp-oc-fail");
    let runner = read(w.path("runs/acp-oc-fail/runner.env"));
    assert!(
        runner.contains("LAST_EXIT_CODE=7\nLAST_FAILURE_REASON=opencode-exit-7\n"),
        "{runner}"
    );
}

#[test]
fn opencode_timeout_kills_the_agent_group() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    fake_crush(
        &w,
        "sleep 300 & echo $! >\"$ACP_HOST_RUN_DIR/child.pid\"\nwait",
    );
    let mut args = base_args("acp-oc-slow", &wt, &prompt);
    args.extend(["--opencode-timeout-seconds", "1"].map(String::from));
    let (code, _, err) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0, "{err}");
    let log = w.wait_done("acp-oc-slow");
    let run_dir = w.path("runs/acp-oc-slow");
    assert!(log.contains("__CODEX_EXIT__:124"), "{log}");
    assert!(read(run_dir.join("result.env")).contains("DETAIL=timeout\n"));
    let child = read(run_dir.join("child.pid"));
    assert!(
        wait_until(5, || !pid_alive(&child)),
        "sleep child survived the timeout"
    );
}

#[test]
fn opencode_help_and_bad_input() {
    let w = World::new();
    let (code, out, _) = run(w.shim(TOOL).arg("--help"));
    assert_eq!(code, 0);
    for want in [
        "Crush",
        "opencode",
        "--opencode-model",
        "--opencode-timeout-seconds",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
    let (code, _, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 1);
    assert!(err.contains("Usage"));
    let (wt, prompt) = w.worktree_and_prompt();
    fake_crush(&w, "exit 0");
    let base = base_args("acp-oc-bad", &wt, &prompt);
    let (code, _, err) = run(w
        .shim(TOOL)
        .args(&base)
        .args(["--opencode-timeout-seconds", "abc"]));
    assert_eq!(
        (code, err.as_str()),
        (1, "--opencode-timeout-seconds must be a positive integer\n")
    );
    let (code, _, err) = run(w.shim(TOOL).args(&base).args(["--context", "bad key=1"]));
    assert_eq!((code, err.as_str()), (1, "Invalid context key: bad key\n"));
    assert!(!w.path("runs").exists());
    // No crush anywhere: the binary check fails.
    std::fs::remove_file(w.fake_bin.join("crush")).unwrap();
    let mut cmd = w.shim(TOOL);
    cmd.env("PATH", format!("{}:/usr/bin:/bin", w.fake_bin.display()));
    let (code, _, err) = run(cmd.args(&base));
    assert_eq!(code, 1);
    assert!(
        err.contains("unable to resolve a runnable crush/opencode binary"),
        "{err}"
    );
}

#[test]
fn opencode_paths_with_spaces_and_quotes_work() {
    let w = World::new();
    let (_, prompt) = w.worktree_and_prompt();
    let wt = w.worktree(&w.path("repo"), "it's a wt", "spaced");
    fake_crush(&w, "pwd >\"$ACP_HOST_RUN_DIR/cwd\"");
    let mut args = base_args("acp-oc-space", &wt, &prompt);
    args[9] = "runs dir".into();
    let (code, _, err) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0, "{err}");
    assert!(wait_until(30, || w
        .path("runs dir/acp-oc-space/result.env")
        .exists()));
    let run_dir = w.path("runs dir/acp-oc-space");
    assert!(wait_until(10, || read(run_dir.join("acp-oc-space.log"))
        .contains("__CODEX_EXIT__:0")));
    assert_eq!(read(run_dir.join("cwd")).trim(), wt.to_str().unwrap());
    let parsed = acp_core::envfile::EnvFile::load(&run_dir.join("run.env")).unwrap();
    assert_eq!(parsed.get("WORKTREE").unwrap(), wt.to_str().unwrap());
    assert_eq!(
        parsed.get("OUTPUT_FILE").unwrap(),
        "runs dir/acp-oc-space/acp-oc-space.log"
    );
    assert_eq!(parsed.get("FINAL_BRANCH").unwrap(), "spaced");
}

#[test]
fn opencode_reconcile_waits_for_the_session_to_end() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    let release = w.path("release");
    let reconciled = w.path("reconciled");
    fake_crush(
        &w,
        &format!(
            "while [[ ! -e '{}' ]]; do sleep 0.1; done\necho released",
            release.display()
        ),
    );
    let mut args = base_args("acp-oc-rec", &wt, &prompt);
    args.push("--reconcile-command".into());
    args.push(format!(
        "printf '%s %s\\n' \"$ACP_EXPECTED_RUN_STARTED_AT\" \"$F_LOSNING_EXPECTED_RUN_STARTED_AT\" > '{}'",
        reconciled.display()
    ));
    let (code, _, err) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0, "{err}");
    // While the agent runs (and the session lives) nothing reconciles.
    assert!(wait_until(10, || w
        .path("runs/acp-oc-rec/crush-stdin.log")
        .exists()));
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert!(w.has_session("acp-oc-rec"));
    assert!(
        !reconciled.exists(),
        "reconcile ran while the session was alive"
    );
    std::fs::write(&release, "").unwrap();
    w.wait_done("acp-oc-rec");
    assert!(
        wait_until(15, || reconciled.exists()),
        "reconcile never ran"
    );
    let started = acp_core::envfile::EnvFile::load(&w.path("runs/acp-oc-rec/run.env"))
        .unwrap()
        .get("STARTED_AT")
        .unwrap();
    assert!(
        wait_until(5, || read(&reconciled) == format!("{started} {started}\n")),
        "{}",
        read(&reconciled)
    );
}

#[test]
fn opencode_silent_agent_ends_as_no_output_stall() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    fake_crush(&w, "sleep 60");
    let mut args = base_args("acp-oc-quiet", &wt, &prompt);
    args.extend(["--opencode-stall-seconds", "1"].map(String::from));
    let (code, _, err) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0, "{err}");
    w.wait_done("acp-oc-quiet");
    let run_dir = w.path("runs/acp-oc-quiet");
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
fn opencode_output_then_silence_ends_as_progress_stall() {
    // crush has no progress signal of its own: every line counts as
    // progress, so an agent that printed and then went quiet is stalled.
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    fake_crush(&w, "echo 'thinking...'\nsleep 60");
    let mut args = base_args("acp-oc-stall", &wt, &prompt);
    args.extend(["--opencode-stall-seconds", "1"].map(String::from));
    let (code, _, err) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0, "{err}");
    let log = w.wait_done("acp-oc-stall");
    assert!(log.contains("thinking...\n"), "{log}");
    let runner = read(w.path("runs/acp-oc-stall/runner.env"));
    assert!(
        runner.contains("RUNNER_STATE=failed\n")
            && runner.contains("LAST_FAILURE_REASON=no-agent-progress-before-stall-threshold\n"),
        "{runner}"
    );
}

#[test]
fn opencode_auth_failure_is_classified() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    fake_crush(
        &w,
        "echo 'Error: 401 Unauthorized: invalid api key' >&2\nexit 1",
    );
    let (code, _, err) = run(w.shim(TOOL).args(base_args("acp-oc-auth", &wt, &prompt)));
    assert_eq!(code, 0, "{err}");
    let log = w.wait_done("acp-oc-auth");
    assert!(log.ends_with("\n__CODEX_EXIT__:1\n"), "{log}");
    let run_dir = w.path("runs/acp-oc-auth");
    let runner = read(run_dir.join("runner.env"));
    assert!(
        runner.contains("RUNNER_STATE=failed\n")
            && runner.contains("LAST_EXIT_CODE=1\nLAST_FAILURE_REASON=auth-failure\n"),
        "{runner}"
    );
    assert_eq!(
        read(run_dir.join("result.env")),
        "OUTCOME=blocked\nACTION=host-comment-blocker\nDETAIL=auth-failure\n"
    );
}

#[test]
fn opencode_term_while_running_leaves_no_children_and_no_reconcile() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    fake_crush(
        &w,
        "sleep 300 & echo $! >\"$ACP_HOST_RUN_DIR/child.pid\"\necho crush-started\nwait",
    );
    let reconciled = w.path("reconciled");
    let mut args = base_args("acp-oc-term", &wt, &prompt);
    args.extend([
        "--reconcile-command".to_string(),
        format!("touch '{}'", reconciled.display()),
    ]);
    let (code, _, err) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0, "{err}");
    let run_dir = w.path("runs/acp-oc-term");
    assert!(
        wait_until(15, || read(run_dir.join("acp-oc-term.log"))
            .contains("crush-started")),
        "fake crush never started"
    );
    let child = read(run_dir.join("child.pid"));
    assert!(pid_alive(&child));
    w.term_session("acp-oc-term");
    let log = w.wait_done("acp-oc-term");
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
    std::thread::sleep(std::time::Duration::from_secs(4));
    assert!(!reconciled.exists(), "reconcile ran after TERM");
}

#[test]
fn opencode_collects_requested_artifacts_only() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    fake_crush(
        &w,
        r#"printf 'summary\n' >"$ACP_RUN_DIR/issue-comment.md"
printf 'other\n' >"$ACP_RUN_DIR/other.txt"
echo 'fn main() {}' > main.rs
git add main.rs"#,
    );
    let mut args = base_args("acp-oc-art", &wt, &prompt);
    args.extend(
        [
            "--collect-file",
            "issue-comment.md",
            "--collect-file",
            "missing.md",
        ]
        .map(String::from),
    );
    let (code, _, err) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0, "{err}");
    w.wait_done("acp-oc-art");
    let run_dir = w.path("runs/acp-oc-art");
    assert_eq!(read(run_dir.join("issue-comment.md")), "summary\n");
    assert!(!run_dir.join("other.txt").exists());
    assert!(!run_dir.join("missing.md").exists());
    assert_eq!(
        read(run_dir.join("result.env")),
        "OUTCOME=implemented\nACTION=host-publish-issue-pr\n"
    );
}

#[test]
fn opencode_settings_come_from_acp_and_legacy_variables() {
    let mut w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    w.env("ACP_OPENCODE_MODEL", "env/model");
    w.env("F_LOSNING_OPENCODE_TIMEOUT_SECONDS", "77");
    fake_crush(&w, "true");
    let (code, _, err) = run(w.shim(TOOL).args(base_args("acp-oc-envs", &wt, &prompt)));
    assert_eq!(code, 0, "{err}");
    w.wait_done("acp-oc-envs");
    let run_dir = w.path("runs/acp-oc-envs");
    let run_env = read(run_dir.join("run.env"));
    assert!(
        run_env.contains("\nOPENCODE_MODEL=env/model\nOPENCODE_TIMEOUT_SECONDS=77\n"),
        "{run_env}"
    );
    assert!(read(run_dir.join("crush-args.log")).contains("\n--model\nenv/model\n"));
    let (code, _, err) = run(w
        .shim(TOOL)
        .args(base_args("acp-oc-envs", &wt, &prompt))
        .args(["--opencode-stall-seconds", "x"]));
    assert_eq!(
        (code, err.as_str()),
        (1, "--opencode-stall-seconds must be numeric\n")
    );
}
