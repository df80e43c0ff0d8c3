//! Integration tests for `run-claude-session` (run through its shim).

use std::path::PathBuf;
use std::time::Duration;

use crate::harness::{
    World, base_args, env_keys, kv, pid_alive, read, run, run_env_keys, wait_until, write_script,
};

const TOOL: &str = "tools/bin/agent-project-run-claude-session";

/// A fake `claude` on PATH that records its argv, then runs `body`.
fn fake_claude(w: &World, body: &str) {
    w.fake(
        "claude",
        &format!(
            "#!/usr/bin/env bash\nset -euo pipefail\nprintf '%s\\n' \"$@\" >\"${{ACP_HOST_RUN_DIR:?}}/claude-args.log\"\n{body}\n"
        ),
    );
}

#[test]
fn claude_session_runs_records_and_reconciles() {
    let mut w = World::new();
    w.env("ANTHROPIC_API_KEY", "sk-secret-value");
    let (wt, prompt) = w.worktree_and_prompt();
    fake_claude(
        &w,
        r#"cat >"$ACP_HOST_RUN_DIR/claude-stdin.log"
printf '%s\n' "${ANTHROPIC_API_KEY:-}" >"$ACP_HOST_RUN_DIR/key-seen"
printf '%s|%s|%s\n' "$ACP_TEST_VALUE" "$F_LOSNING_TEST_VALUE" "$CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC" >"$ACP_HOST_RUN_DIR/ctx-seen"
printf 'OUTCOME=blocked\nACTION=host-comment-blocker\n' >"$ACP_RESULT_FILE"
printf 'artifact\n' >"$ACP_RUN_DIR/mock.txt"
printf 'x\n' >.agent-session.env
mkdir -p .openclaw-artifacts && printf 'g\n' >.openclaw-artifacts/g.txt
echo 'mock claude finished'"#,
    );
    let reconcile_log = w.path("reconcile.log");
    let mut args = base_args("acp-claude-ok", &wt, &prompt);
    args.extend(
        [
            "--claude-permission-mode",
            "dontAsk",
            "--claude-effort",
            "high",
            "--collect-file",
            "mock.txt",
            "--context",
            "TEST_VALUE=a b'c\"$(touch pwned)\nx`touch pwned2`",
            "--reconcile-command",
        ]
        .map(String::from),
    );
    args.push(format!(
        "printf '%s\\n' \"reconciled $ACP_EXPECTED_RUN_STARTED_AT ${{ANTHROPIC_API_KEY:+has-key}}\" >> '{}'",
        reconcile_log.display()
    ));
    let (code, out, err) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0, "{err}");
    let run_dir = w.path("runs/acp-claude-ok");
    assert_eq!(kv(&out, "SESSION"), Some("acp-claude-ok"));
    assert_eq!(
        kv(&out, "OUTPUT"),
        Some("runs/acp-claude-ok/acp-claude-ok.log")
    );
    assert_eq!(
        kv(&out, "SCRIPT"),
        Some("runs/acp-claude-ok/acp-claude-ok.sh")
    );
    assert_eq!(kv(&out, "META"), Some("runs/acp-claude-ok/run.env"));

    let d = &acp_core::config::backends::DEFAULTS.claude;
    let log = w.wait_done("acp-claude-ok");
    let first = format!("[claude-attempt] 1/{}", d.max_attempts);
    assert!(log.contains(&first), "{log}");
    assert!(log.contains("mock claude finished"), "{log}");
    assert!(log.contains("\n__CODEX_EXIT__:0\n"), "{log}");
    assert!(
        // The shell creates the file before printf writes the line.
        wait_until(15, || read(&reconcile_log).ends_with('\n')),
        "reconcile did not run"
    );

    let run_env = read(run_dir.join("run.env"));
    assert_eq!(
        env_keys(&run_env),
        run_env_keys(&[
            "CLAUDE_BIN",
            "CLAUDE_MODEL",
            "CLAUDE_PERMISSION_MODE",
            "CLAUDE_EFFECTIVE_PERMISSION_MODE",
            "CLAUDE_EFFORT",
            "CLAUDE_TIMEOUT_SECONDS",
            "CLAUDE_MAX_ATTEMPTS",
            "CLAUDE_RETRY_BACKOFF_SECONDS",
            "CLAUDE_ALLOWED_TOOLS",
            "CLAUDE_SETTINGS_FILE",
            "CLAUDE_MCP_CONFIG_FILE",
            "CLAUDE_DEBUG_FILE",
            "PYTHON_BIN",
            "TEST_VALUE",
            "FINAL_HEAD",
            "FINAL_BRANCH"
        ])
    );
    assert!(run_env.contains("\nBRANCH=feature\n"));
    assert!(run_env.contains("\nFINAL_BRANCH=feature\n"));
    assert!(run_env.contains("\nCLAUDE_PERMISSION_MODE=dontAsk\n"));
    assert!(run_env.contains("\nCLAUDE_EFFECTIVE_PERMISSION_MODE=acceptEdits\n"));
    assert!(run_env.contains(&format!("\nWORKTREE={}\n", wt.display())));
    // What no flag or variable set is the backend table's default.
    for (key, want) in [
        ("CLAUDE_MODEL", d.model.to_string()),
        ("CLAUDE_TIMEOUT_SECONDS", d.timeout_seconds.to_string()),
        ("CLAUDE_MAX_ATTEMPTS", d.max_attempts.to_string()),
        (
            "CLAUDE_RETRY_BACKOFF_SECONDS",
            d.retry_backoff_seconds.to_string(),
        ),
    ] {
        assert_eq!(kv(&run_env, key), Some(want.as_str()), "{key}");
    }
    // The hostile context value round-trips through run.env and never ran.
    let parsed = acp_core::envfile::EnvFile::load(&run_dir.join("run.env")).unwrap();
    let hostile = "a b'c\"$(touch pwned)\nx`touch pwned2`";
    assert_eq!(parsed.get("TEST_VALUE").unwrap(), hostile);
    assert!(
        run_env.contains("\nTEST_VALUE=$'a b\\'c\"$(touch pwned)\\nx`touch pwned2`'\n"),
        "{run_env}"
    );
    assert_eq!(
        read(run_dir.join("ctx-seen")),
        format!("{hostile}|{hostile}|1\n")
    );
    for p in ["pwned", "pwned2"] {
        assert!(
            !wt.join(p).exists() && !w.path(p).exists(),
            "{p} was executed"
        );
    }

    // Arguments and stdin.
    let args_log = read(run_dir.join("claude-args.log"));
    for want in [
        "-p",
        "--verbose",
        "--model",
        d.model,
        "--permission-mode",
        "acceptEdits",
        "--effort",
        "high",
        "--disable-slash-commands",
        "--strict-mcp-config",
        "--add-dir",
        "Bash(*),Read,Grep,Glob,LS,Edit,Write,MultiEdit",
    ] {
        assert!(
            args_log.lines().any(|l| l == want),
            "{want} missing: {args_log}"
        );
    }
    assert!(!args_log.contains("Prompt body"));
    assert_eq!(
        read(run_dir.join("claude-stdin.log")),
        "Prompt body\nsecond line\n"
    );
    assert!(
        read(run_dir.join("claude-headless-settings.json")).contains("\"disableAllHooks\": true")
    );

    // Results, collection, runner state.
    assert_eq!(
        read(run_dir.join("result.env")),
        "OUTCOME=blocked\nACTION=host-comment-blocker\n"
    );
    assert_eq!(read(run_dir.join("mock.txt")), "artifact\n");
    let runner = read(run_dir.join("runner.env"));
    assert!(runner.contains("RUNNER_STATE=succeeded\n"), "{runner}");
    assert!(runner.contains("THREAD_ID=claude-print-acp-claude-ok\n"));
    assert!(runner.contains("ATTEMPT=1\nRESUME_COUNT=0\nLAST_EXIT_CODE=0\n"));

    // The reconcile command saw the run's STARTED_AT.
    let started = parsed.get("STARTED_AT").unwrap();
    assert_eq!(
        read(&reconcile_log),
        format!("reconciled {started} has-key\n")
    );

    // Worktree: excludes and hook set up, nothing untracked shows.
    let st = w
        .cmd("git")
        .arg("-C")
        .arg(&wt)
        .args(["status", "--short"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&st.stdout), "");
    let hook = w
        .cmd("git")
        .arg("-C")
        .arg(&wt)
        .args(["rev-parse", "--git-path", "hooks/pre-commit"])
        .output()
        .unwrap();
    let hook = String::from_utf8_lossy(&hook.stdout).trim().to_string();
    let hook = if hook.starts_with('/') {
        PathBuf::from(hook)
    } else {
        wt.join(hook)
    };
    assert!(read(&hook).contains("pre-commit scope BLOCK"));

    // The secret reached claude but is on no disk file of the run.
    assert_eq!(read(run_dir.join("key-seen")), "sk-secret-value\n");
    for entry in std::fs::read_dir(&run_dir).unwrap() {
        let p = entry.unwrap().path();
        if p.file_name().unwrap() == "key-seen" {
            continue;
        }
        assert!(
            !read(&p).contains("sk-secret-value"),
            "secret in {}",
            p.display()
        );
    }
    // The inner script execs our binary by absolute path.
    let script = read(run_dir.join("acp-claude-ok.sh"));
    assert!(
        script.contains("agent-project-run-claude-session __inner"),
        "{script}"
    );
    assert!(script.contains("export ACP_TEST_VALUE="));
}

#[test]
fn claude_retries_network_errors_then_succeeds() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    fake_claude(
        &w,
        r#"n=$(cat "$ACP_HOST_RUN_DIR/count" 2>/dev/null || echo 0); n=$((n+1)); echo $n >"$ACP_HOST_RUN_DIR/count"
if [[ $n -eq 1 ]]; then echo 'network error: ECONNRESET' >&2; exit 1; fi
echo done"#,
    );
    let mut args = base_args("acp-claude-retry", &wt, &prompt);
    args.extend(
        [
            "--claude-max-attempts",
            "2",
            "--claude-retry-backoff-seconds",
            "0",
        ]
        .map(String::from),
    );
    let (code, _, err) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0, "{err}");
    let log = w.wait_done("acp-claude-retry");
    let run_dir = w.path("runs/acp-claude-retry");
    assert!(
        log.contains("[claude-retry] reason=network-connection backoff=0s"),
        "{log}"
    );
    let runner = read(run_dir.join("runner.env"));
    assert!(
        runner.contains("RUNNER_STATE=succeeded\n")
            && runner.contains("ATTEMPT=2\nRESUME_COUNT=1\n"),
        "{runner}"
    );
    // No contract from the agent: a blocked one is synthesized.
    assert!(read(run_dir.join("result.env")).contains("DETAIL=missing-result-contract\n"));
    assert!(read(run_dir.join("claude-attempt-1.log")).contains("ECONNRESET"));

    // The archived script's `__inner` contract is typed: a number that is
    // not one is refused (exit 64, one line naming the key) instead of the
    // run going ahead with the default of 3 attempts.
    let script = read(run_dir.join("acp-claude-retry.sh"));
    let word = "\n  CLAUDE_MAX_ATTEMPTS=2 \\\n";
    assert!(script.contains(word), "{script}");
    let tampered = w.write(
        "tampered.sh",
        script.replace(word, "\n  CLAUDE_MAX_ATTEMPTS=two \\\n"),
    );
    let log_before = read(run_dir.join("acp-claude-retry.log"));
    let (code, out, err) = run(w.cmd("bash").arg(&tampered));
    assert_eq!((code, out.as_str()), (64, ""), "{err}");
    assert_eq!(
        err,
        "inner supervisor: CLAUDE_MAX_ATTEMPTS must be a whole number, not 'two'\n"
    );
    assert_eq!(read(run_dir.join("acp-claude-retry.log")), log_before);
}

#[test]
fn claude_quota_and_auth_failures_are_not_retried() {
    for (session, body, reason) in [
        (
            "acp-claude-quota",
            r#"echo '[ERROR] API error (attempt 1/11): 429 {"type":"error","error":{"type":"rate_limit_error"}}' >"$ACP_HOST_RUN_DIR/claude-debug.log"; exit 1"#,
            "provider-quota-limit",
        ),
        (
            "acp-claude-auth",
            "echo 'Invalid API key · Please run /login'; exit 1",
            "auth-failure",
        ),
        (
            "acp-claude-plain",
            "echo 'fixed parser bug at line 401: see PR #4291, api key field added'; exit 3",
            "claude-exit-failed",
        ),
    ] {
        let w = World::new();
        let (wt, prompt) = w.worktree_and_prompt();
        fake_claude(&w, &format!("echo x >>\"$ACP_HOST_RUN_DIR/calls\"\n{body}"));
        let mut args = base_args(session, &wt, &prompt);
        args.extend(["--claude-retry-backoff-seconds", "0"].map(String::from));
        let (code, _, err) = run(w.shim(TOOL).args(&args));
        assert_eq!(code, 0, "{err}");
        let log = w.wait_done(session);
        let run_dir = w.path(&format!("runs/{session}"));
        let runner = read(run_dir.join("runner.env"));
        assert!(runner.contains("RUNNER_STATE=failed\n"), "{runner}");
        assert!(
            runner.contains(&format!("LAST_FAILURE_REASON={reason}\n")),
            "{session}: {runner}"
        );
        assert_eq!(read(run_dir.join("calls")), "x\n", "{session} was retried");
        assert!(!log.contains("[claude-retry]"));
        let detail = if reason == "claude-exit-failed" {
            "worker-exit-3".to_string()
        } else {
            reason.to_string()
        };
        assert!(read(run_dir.join("result.env")).contains(&format!("DETAIL={detail}\n")));
    }
}

#[test]
fn claude_times_out_with_124() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    fake_claude(&w, "sleep 30; echo late");
    let mut args = base_args("acp-claude-slow", &wt, &prompt);
    args.extend(
        [
            "--claude-timeout-seconds",
            "1",
            "--claude-max-attempts",
            "1",
        ]
        .map(String::from),
    );
    let (code, _, err) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0, "{err}");
    let log = w.wait_done("acp-claude-slow");
    let run_dir = w.path("runs/acp-claude-slow");
    assert!(log.contains("__CODEX_EXIT__:124"), "{log}");
    let runner = read(run_dir.join("runner.env"));
    assert!(
        runner.contains("LAST_EXIT_CODE=124\nLAST_FAILURE_REASON=timeout\n"),
        "{runner}"
    );
    assert!(read(run_dir.join("result.env")).contains("DETAIL=worker-exit-124\n"));
}

#[test]
fn claude_silent_stall_ends_the_attempt() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    fake_claude(&w, "sleep 60");
    let mut args = base_args("acp-claude-quiet", &wt, &prompt);
    args.extend(["--claude-stall-seconds", "1", "--claude-max-attempts", "1"].map(String::from));
    let (code, _, err) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0, "{err}");
    w.wait_done("acp-claude-quiet");
    let runner = read(w.path("runs/acp-claude-quiet/runner.env"));
    assert!(
        runner.contains("LAST_FAILURE_REASON=no-agent-output-before-stall-threshold\n"),
        "{runner}"
    );
}

/// Starts a fake claude that prints one line and then waits on a `sleep`
/// child (both pids in the run dir) with a reconcile command that touches
/// `reconciled`; returns the run dir and the two pids once it streams.
fn start_hanging_claude(w: &World, session: &str) -> (PathBuf, String, String) {
    let (wt, prompt) = w.worktree_and_prompt();
    fake_claude(
        w,
        r#"sleep 300 & echo $! >"$ACP_HOST_RUN_DIR/grandchild.pid"
echo $$ >"$ACP_HOST_RUN_DIR/claude.pid"
echo stream-start
wait"#,
    );
    let mut args = base_args(session, &wt, &prompt);
    args.extend(
        [
            "--claude-timeout-seconds",
            "120",
            "--claude-max-attempts",
            "1",
        ]
        .map(String::from),
    );
    args.extend([
        "--reconcile-command".to_string(),
        format!("touch '{}'", w.path("reconciled").display()),
    ]);
    let (code, _, err) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0, "{err}");
    let run_dir = w.path(&format!("runs/{session}"));
    assert!(
        wait_until(15, || read(run_dir.join("claude-attempt-1.log"))
            .contains("stream-start")),
        "fake claude never started"
    );
    let pid = read(run_dir.join("claude.pid"));
    let grandchild = read(run_dir.join("grandchild.pid"));
    assert!(pid_alive(&pid) && pid_alive(&grandchild));
    (run_dir, pid, grandchild)
}

#[test]
fn claude_kill_session_ends_the_whole_group() {
    let w = World::new();
    let (run_dir, pid, grandchild) = start_hanging_claude(&w, "acp-claude-term");
    w.tmux()
        .args(["kill-session", "-t", "=acp-claude-term"])
        .output()
        .unwrap();
    assert!(
        wait_until(10, || !pid_alive(&pid) && !pid_alive(&grandchild)),
        "agent group survived"
    );
    assert!(wait_until(10, || read(run_dir.join("runner.env"))
        .contains("RUNNER_STATE=failed")));
    assert!(read(run_dir.join("runner.env")).contains("LAST_EXIT_CODE=129\n"));
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        !w.path("reconciled").exists(),
        "reconcile must not run after a kill"
    );
}

#[test]
fn claude_clears_stale_sandbox_and_previous_run_files() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    w.write(
        "wt/.openclaw-artifacts/acp-claude-stale/result.env",
        "OUTCOME=implemented\n",
    );
    w.write(
        "wt/.openclaw-artifacts/acp-claude-stale/issue-comment.md",
        "old\n",
    );
    w.write("runs/acp-claude-stale/result.env", "OUTCOME=old\n");
    w.write(
        "runs/acp-claude-stale/acp-claude-stale.log",
        "\n__CODEX_EXIT__:0\n",
    );
    w.write(
        "runs/acp-claude-stale/claude-debug.log",
        "API error: status 429 rate_limit_error\n",
    );
    fake_claude(&w, "exit 5");
    let mut args = base_args("acp-claude-stale", &wt, &prompt);
    args.extend(["--collect-file", "issue-comment.md"].map(String::from));
    let (code, _, err) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0, "{err}");
    let log = w.wait_done("acp-claude-stale");
    let run_dir = w.path("runs/acp-claude-stale");
    assert_eq!(log.matches("__CODEX_EXIT__").count(), 1, "{log}");
    // The old debug log no longer decides the reason of this run's failure.
    let result = read(run_dir.join("result.env"));
    assert!(result.contains("DETAIL=worker-exit-5\n"), "{result} {log}");
    assert!(read(run_dir.join("runner.env")).contains("LAST_FAILURE_REASON=claude-exit-failed\n"));
    assert!(run_dir.join("previous-run/claude-debug.log").is_file());
    assert!(!run_dir.join("issue-comment.md").exists());
    assert!(
        !wt.join(".openclaw-artifacts/acp-claude-stale/issue-comment.md")
            .exists()
    );
    assert_eq!(
        read(run_dir.join("previous-run/result.env")),
        "OUTCOME=old\n"
    );
}

#[test]
fn claude_finds_home_local_bin() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    let bin = w.home.join(".local/bin/claude");
    write_script(
        &bin,
        "#!/usr/bin/env bash\necho \"$0\" >\"$ACP_HOST_RUN_DIR/used\"\n",
    );
    let (code, _, err) = run(w
        .shim(TOOL)
        .args(base_args("acp-claude-home", &wt, &prompt)));
    assert_eq!(code, 0, "{err}");
    w.wait_done("acp-claude-home");
    let run_dir = w.path("runs/acp-claude-home");
    assert_eq!(read(run_dir.join("used")).trim(), bin.to_str().unwrap());
    assert!(read(run_dir.join("run.env")).contains(&format!("\nCLAUDE_BIN={}\n", bin.display())));
}

#[test]
fn claude_rejects_bad_input_before_writing() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    fake_claude(&w, "exit 0");
    let base = base_args("acp-claude-bad", &wt, &prompt);
    let runs = w.path("runs");

    let (code, out, err) = run(w.shim(TOOL).args(&base[..base.len() - 2]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.contains("Usage"), "{err}");

    let (code, _, err) = run(w.shim(TOOL).args(&base).args(["--bogus", "x"]));
    assert_eq!(code, 1);
    assert!(err.starts_with("Unknown argument: --bogus\n"), "{err}");

    let mut bad_mode = base.clone();
    bad_mode[1] = "yolo".into();
    let (code, _, err) = run(w.shim(TOOL).args(&bad_mode));
    assert_eq!((code, err.as_str()), (1, "--mode must be safe or bypass\n"));

    for (item, msg) in [
        ("NOVALUE", "--context must use KEY=VALUE syntax: NOVALUE\n"),
        ("lower=1", "Invalid context key: lower\n"),
        ("A-B=1", "Invalid context key: A-B\n"),
        ("X;touch pwned=1", "Invalid context key: X;touch pwned\n"),
    ] {
        let (code, _, err) =
            run(w
                .shim(TOOL)
                .args(&base)
                .args(["--context", "GOOD=1", "--context", item]));
        assert_eq!((code, err.as_str()), (1, msg));
    }
    let (code, _, err) = run(w
        .shim(TOOL)
        .args(&base)
        .args(["--claude-effort", "extreme"]));
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "--claude-effort must be one of: low, medium, high, max\n"
        )
    );
    let (code, _, err) = run(w
        .shim(TOOL)
        .args(&base)
        .args(["--claude-timeout-seconds", "0"]));
    assert_eq!(
        (code, err.as_str()),
        (1, "--claude-timeout-seconds must be a positive integer\n")
    );
    let (code, _, err) = run(w.shim(TOOL).args(&base).args(["--env-prefix", "X;rm"]));
    assert_eq!(code, 1, "{err}");
    // Nothing was written by any rejected call.
    assert!(!runs.exists(), "a rejected launch wrote files");
    assert!(!w.path("pwned").exists());

    // --help wins and goes to stdout.
    let (code, out, _) = run(w.shim(TOOL).args(["--bogus", "--help"]));
    assert_eq!(code, 0);
    assert!(out.contains("--claude-model"));

    // An existing session is refused.
    w.tmux_session("acp-claude-bad", "sleep 30");
    let (code, _, err) = run(w.shim(TOOL).args(&base));
    assert_eq!(
        (code, err.as_str()),
        (1, "tmux session already exists: acp-claude-bad\n")
    );
}

#[test]
fn claude_term_to_the_supervisor_ends_the_group_without_reconcile() {
    let w = World::new();
    let (run_dir, pid, grandchild) = start_hanging_claude(&w, "acp-claude-sigterm");
    let reconciled = w.path("reconciled");
    w.term_session("acp-claude-sigterm");
    let log = w.wait_done("acp-claude-sigterm");
    assert!(
        wait_until(10, || !pid_alive(&pid) && !pid_alive(&grandchild)),
        "agent group survived TERM"
    );
    let runner = read(run_dir.join("runner.env"));
    assert!(runner.contains("RUNNER_STATE=failed\n"), "{runner}");
    assert!(runner.contains("LAST_EXIT_CODE=143\n"), "{runner}");
    assert!(log.ends_with("\n__CODEX_EXIT__:143\n"), "{log}");
    std::thread::sleep(Duration::from_secs(4));
    assert!(!reconciled.exists(), "reconcile must not run after TERM");
}

/// A TERM that reaches the inner supervisor while it is still preparing the
/// worktree (here: a `git` call held for two seconds) is not fatal: claude is
/// never started, and the run still ends with runner state, reason and the
/// exit marker, without a reconcile.
#[test]
fn claude_term_during_start_up_still_records_the_abort() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    fake_claude(&w, "echo ran >\"$ACP_HOST_RUN_DIR/claude-ran\"");
    let held = w.path("held");
    let real_git = String::from_utf8(
        std::process::Command::new("sh")
            .args(["-c", "command -v git"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    w.fake(
        "git",
        &format!(
            "#!/usr/bin/env bash\n\
             if [[ \"$*\" == *' rev-parse --is-inside-work-tree' && ! -e {held:?} ]] \
             && tmux has-session -t =acp-claude-early 2>/dev/null; then\n\
               touch {held:?}; sleep 2\n\
             fi\n\
             exec {git} \"$@\"\n",
            git = real_git.trim()
        ),
    );
    let mut args = base_args("acp-claude-early", &wt, &prompt);
    args.extend([
        "--reconcile-command".to_string(),
        format!("touch '{}'", w.path("reconciled").display()),
    ]);
    let (code, _, err) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0, "{err}");
    let run_dir = w.path("runs/acp-claude-early");
    assert!(
        wait_until(15, || held.exists()),
        "the inner supervisor never reached worktree preparation"
    );
    w.term_session("acp-claude-early");
    let log = w.wait_done("acp-claude-early");
    let runner = read(run_dir.join("runner.env"));
    assert!(runner.contains("RUNNER_STATE=failed\n"), "{runner}");
    assert!(runner.contains("LAST_EXIT_CODE=143\n"), "{runner}");
    assert!(
        runner.contains("LAST_FAILURE_REASON=runner-aborted-before-completion\n"),
        "{runner}"
    );
    assert!(log.ends_with("\n__CODEX_EXIT__:143\n"), "{log}");
    assert!(
        !run_dir.join("claude-ran").exists(),
        "claude started after TERM"
    );
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !w.path("reconciled").exists(),
        "reconcile must not run after TERM"
    );
}

#[test]
fn claude_stalled_attempt_that_exits_zero_on_term_still_fails() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    // A claude that goes quiet and, when ended, exits 0 by itself.
    fake_claude(&w, "trap 'exit 0' TERM\nsleep 60 &\nwait");
    let mut args = base_args("acp-claude-quiet0", &wt, &prompt);
    args.extend(["--claude-stall-seconds", "1", "--claude-max-attempts", "1"].map(String::from));
    let (code, _, err) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0, "{err}");
    let log = w.wait_done("acp-claude-quiet0");
    assert!(!log.contains("__CODEX_EXIT__:0\n"), "{log}");
    let runner = read(w.path("runs/acp-claude-quiet0/runner.env"));
    assert!(runner.contains("RUNNER_STATE=failed\n"), "{runner}");
    assert!(
        runner.contains("LAST_FAILURE_REASON=no-agent-output-before-stall-threshold\n"),
        "{runner}"
    );
}

/// The largest accepted back-off does not crash the supervisor: it waits,
/// and a TERM during the wait still ends the run with runner state and the
/// exit marker.
#[test]
fn claude_huge_backoff_waits_and_still_records_the_abort() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    fake_claude(&w, "echo 'network error: ECONNRESET' >&2; exit 1");
    let mut args = base_args("acp-claude-backoff", &wt, &prompt);
    args.extend(
        [
            "--claude-max-attempts",
            "2",
            "--claude-retry-backoff-seconds",
            "18446744073709551615",
        ]
        .map(String::from),
    );
    let (code, _, err) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0, "{err}");
    let log_path = w.path("runs/acp-claude-backoff/acp-claude-backoff.log");
    assert!(
        wait_until(15, || std::fs::read_to_string(&log_path)
            .is_ok_and(|l| l.contains("[claude-retry]"))),
        "no retry was announced"
    );
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        w.has_session("acp-claude-backoff"),
        "the supervisor died during the back-off: {}",
        read(&log_path)
    );
    w.term_session("acp-claude-backoff");
    let log = w.wait_done("acp-claude-backoff");
    assert!(log.ends_with("\n__CODEX_EXIT__:143\n"), "{log}");
    let runner = read(w.path("runs/acp-claude-backoff/runner.env"));
    assert!(runner.contains("RUNNER_STATE=failed\n"), "{runner}");
    assert!(
        runner.contains("LAST_FAILURE_REASON=runner-aborted-before-completion\n"),
        "{runner}"
    );
}

/// A maximum beyond 32 bits means "many", not the default 3.
#[test]
fn claude_huge_max_attempts_is_not_cut_to_the_default() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    fake_claude(
        &w,
        r#"n=$(cat "$ACP_HOST_RUN_DIR/count" 2>/dev/null || echo 0); n=$((n+1)); echo $n >"$ACP_HOST_RUN_DIR/count"
if [[ $n -le 3 ]]; then echo 'network error: ECONNRESET' >&2; exit 1; fi
echo done"#,
    );
    let mut args = base_args("acp-claude-many", &wt, &prompt);
    args.extend(
        [
            "--claude-max-attempts",
            "5000000000",
            "--claude-retry-backoff-seconds",
            "0",
        ]
        .map(String::from),
    );
    let (code, _, err) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0, "{err}");
    let log = w.wait_done("acp-claude-many");
    assert!(log.ends_with("\n__CODEX_EXIT__:0\n"), "{log}");
    let runner = read(w.path("runs/acp-claude-many/runner.env"));
    assert!(
        runner.contains("RUNNER_STATE=succeeded\n") && runner.contains("ATTEMPT=4\n"),
        "{runner}"
    );
}

/// A failure while the inner supervisor prepares the run (here: an old
/// debug log cannot be retired because `previous-run` is a file) does not
/// end it silently: runner state and the exit marker are still written.
#[test]
fn claude_preparation_error_still_ends_with_marker() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    w.write("runs/acp-claude-prep/claude-debug.log", "old\n");
    w.write("runs/acp-claude-prep/previous-run", "not a dir\n");
    fake_claude(&w, "echo ran >\"$ACP_HOST_RUN_DIR/claude-ran\"");
    let args = base_args("acp-claude-prep", &wt, &prompt);
    let (code, _, err) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0, "{err}");
    let log = w.wait_done("acp-claude-prep");
    let runner = read(w.path("runs/acp-claude-prep/runner.env"));
    assert!(log.contains("\n__CODEX_EXIT__:"), "{log}\n{runner}");
    assert!(runner.contains("RUNNER_STATE=failed\n"), "{runner}");
    assert!(
        runner.contains("LAST_FAILURE_REASON=worker-exit-failed\n"),
        "{runner}"
    );
    assert!(log.contains("[claude-setup] "), "{log}");
    assert!(log.ends_with("\n__CODEX_EXIT__:1\n"), "{log}");
    let result = read(w.path("runs/acp-claude-prep/result.env"));
    assert!(result.contains("DETAIL=worker-exit-failed\n"), "{result}");
    assert!(!w.path("runs/acp-claude-prep/claude-ran").exists());
}
