//! Integration tests for `worker-status` (run through its shim): every
//! scenario of the original `test-agent-project-worker-status-detects-crash.sh`
//! and the status checks of `test-agent-project-codex-recovery.sh`.

use crate::harness::{World, kv, run};

const TOOL: &str = "tools/bin/agent-project-worker-status";
const SESSION: &str = "test-crash-1";

fn runner_env(state: &str, thread: &str, exit: &str, reason: &str) -> String {
    format!(
        "RUNNER_STATE={state}\nTHREAD_ID={thread}\nATTEMPT=1\nRESUME_COUNT=0\n\
         LAST_EXIT_CODE={exit}\nLAST_FAILURE_REASON={reason}\nLAST_TRIGGER_REASON=schedule\n\
         UPDATED_AT=2025-01-01T00:00:00Z\n"
    )
}

/// Runs the tool for `session` under `runs`, returns stdout (exit must be 0).
fn status(w: &World, session: &str) -> String {
    let (code, out, err) = run(w
        .shim(TOOL)
        .args(["--runs-root", "runs", "--session", session]));
    assert_eq!(code, 0, "stderr: {err}");
    out
}

/// The value of the last `KEY=` line (how consumers read FAILURE_REASON).
fn last_kv<'a>(out: &'a str, key: &str) -> Option<&'a str> {
    out.lines()
        .rev()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

fn crash_world() -> World {
    let w = World::new();
    w.write(
        &format!("runs/{SESSION}/run.env"),
        format!("SESSION={SESSION}\nTASK_KIND=issue\nTASK_ID=99\n"),
    );
    w
}

#[test]
fn worker_status_reports_crash_of_a_running_runner_despite_stale_result() {
    let w = crash_world();
    w.write(
        &format!("runs/{SESSION}/result.env"),
        "OUTCOME=implemented\nACTION=host-publish-issue-pr\n",
    );
    w.write(
        &format!("runs/{SESSION}/runner.env"),
        runner_env("running", "some-thread", "1", "\"\""),
    );
    w.write(&format!("runs/{SESSION}/{SESSION}.log"), "");
    let out = status(&w, SESSION);
    assert_eq!(kv(&out, "STATUS"), Some("FAILED"), "{out}");
    assert_eq!(
        last_kv(&out, "FAILURE_REASON"),
        Some("runner-aborted-before-completion")
    );
    assert_eq!(last_kv(&out, "EXIT_CODE"), Some("1"));
    assert_eq!(last_kv(&out, "THREAD_ID"), Some("some-thread"));
    assert!(!out.contains("RESULT_ONLY_COMPLETION"), "{out}");

    // waiting-auth-refresh and switching-account are crashes too.
    w.write(
        &format!("runs/{SESSION}/runner.env"),
        runner_env("waiting-auth-refresh", "auth-thread", "", "\"\""),
    );
    let out = status(&w, SESSION);
    assert_eq!(kv(&out, "STATUS"), Some("FAILED"));
    assert_eq!(
        last_kv(&out, "FAILURE_REASON"),
        Some("runner-aborted-before-completion")
    );
    assert_eq!(
        last_kv(&out, "EXIT_CODE"),
        None,
        "empty exit code not printed"
    );
    w.write(
        &format!("runs/{SESSION}/runner.env"),
        runner_env("switching-account", "switch-thread", "0", "\"\""),
    );
    let out = status(&w, SESSION);
    assert_eq!(kv(&out, "STATUS"), Some("FAILED"));
}

#[test]
fn worker_status_recovers_stall_reasons_from_the_log() {
    let w = crash_world();
    // The stale result.env of an earlier cycle is still there (as in the original test).
    w.write(
        &format!("runs/{SESSION}/result.env"),
        "OUTCOME=implemented\nACTION=host-publish-issue-pr\n",
    );
    w.write(
        &format!("runs/{SESSION}/runner.env"),
        runner_env("running", "stall-thread", "", "\"\""),
    );
    w.write(
        &format!("runs/{SESSION}/{SESSION}.log"),
        "[2026-01-01T00:00:00Z] starting Codex exec attempt 1\n\
         {\"type\":\"thread.started\",\"thread_id\":\"stall-thread\"}\n\
         {\"type\":\"turn.started\"}\n\
         [2026-01-01T00:05:00Z] stale-run no-codex-progress-before-stall-threshold elapsed=300s idle=300s\n",
    );
    let out = status(&w, SESSION);
    assert_eq!(kv(&out, "STATUS"), Some("FAILED"));
    assert_eq!(
        last_kv(&out, "FAILURE_REASON"),
        Some("no-codex-progress-before-stall-threshold")
    );

    // A startup-only trace (turn started, no activity) is a progress stall.
    w.write(
        &format!("runs/{SESSION}/runner.env"),
        runner_env("running", "startup-thread", "", "\"\""),
    );
    w.write(
        &format!("runs/{SESSION}/{SESSION}.log"),
        "{\"type\":\"thread.started\",\"thread_id\":\"startup-thread\"}\n{\"type\":\"turn.started\"}\n",
    );
    let out = status(&w, SESSION);
    assert_eq!(kv(&out, "STATUS"), Some("FAILED"));
    assert_eq!(
        last_kv(&out, "FAILURE_REASON"),
        Some("no-codex-progress-before-stall-threshold")
    );

    // The silent-output stall marker.
    w.write(
        &format!("runs/{SESSION}/{SESSION}.log"),
        "[t] stale-run no-codex-output-before-stall-threshold elapsed=2s\n",
    );
    let out = status(&w, SESSION);
    assert_eq!(
        last_kv(&out, "FAILURE_REASON"),
        Some("no-codex-output-before-stall-threshold")
    );
}

#[test]
fn worker_status_terminal_runner_states() {
    let w = crash_world();
    w.write(
        &format!("runs/{SESSION}/runner.env"),
        runner_env("succeeded", "ok-thread", "0", "\"\""),
    );
    let out = status(&w, SESSION);
    assert_eq!(kv(&out, "STATUS"), Some("SUCCEEDED"));
    assert_eq!(last_kv(&out, "FAILURE_REASON"), None);
    assert_eq!(last_kv(&out, "THREAD_ID"), Some("ok-thread"));

    w.write(
        &format!("runs/{SESSION}/runner.env"),
        runner_env("failed", "fail-thread", "42", "syntax-error"),
    );
    let out = status(&w, SESSION);
    assert_eq!(kv(&out, "STATUS"), Some("FAILED"));
    assert_eq!(last_kv(&out, "FAILURE_REASON"), Some("syntax-error"));
    assert_eq!(last_kv(&out, "EXIT_CODE"), Some("42"));
}

#[test]
fn worker_status_result_only_completion_without_runner_state() {
    let w = crash_world();
    w.write(&format!("runs/{SESSION}/{SESSION}.log"), "");
    w.write(
        &format!("runs/{SESSION}/result.env"),
        "OUTCOME=implemented\nACTION=host-publish-issue-pr\n",
    );
    let out = status(&w, SESSION);
    assert_eq!(kv(&out, "STATUS"), Some("SUCCEEDED"));
    assert!(
        out.lines().any(|l| l == "RESULT_ONLY_COMPLETION=yes"),
        "{out}"
    );

    // codex-recovery's case: usage-limit text in the log does not override
    // a result contract when no runner state says the worker was still going.
    let s = "result-only-session";
    w.write(
        &format!("runs/{s}/{s}.log"),
        "You have reached your Codex usage limits. Please visit https://chatgpt.com/codex/settings/usage\n",
    );
    w.write(
        &format!("runs/{s}/result.env"),
        "OUTCOME=reported\nACTION=host-comment-scheduled-report\n",
    );
    let out = status(&w, s);
    assert_eq!(kv(&out, "STATUS"), Some("SUCCEEDED"));
    assert!(out.lines().any(|l| l == "RESULT_ONLY_COMPLETION=yes"));
    assert!(!out.contains("FAILURE_REASON="), "{out}");

    // Without the result contract the same log means usage-limit.
    std::fs::remove_file(w.path(&format!("runs/{s}/result.env"))).unwrap();
    let out = status(&w, s);
    assert_eq!(kv(&out, "STATUS"), Some("FAILED"));
    assert_eq!(last_kv(&out, "FAILURE_REASON"), Some("usage-limit"));
}

#[test]
fn worker_status_codex_recovery_status_checks() {
    // The runner finished after a resume (succeeded), and after the
    // deferred / attempt-limit failures.
    let w = World::new();
    let s = "usage-limit-session";
    w.write(
        &format!("runs/{s}/runner.env"),
        "RUNNER_STATE=succeeded\nTHREAD_ID=thread-mock-123\nATTEMPT=2\nRESUME_COUNT=1\n\
         LAST_EXIT_CODE=0\nLAST_FAILURE_REASON=''\nLAST_TRIGGER_REASON=usage-limit\n\
         AUTH_WAIT_STARTED_AT=''\nLAST_AUTH_FINGERPRINT=1:2:abc\nUPDATED_AT=2025-01-01T00:00:00Z\n",
    );
    w.write(
        &format!("runs/{s}/{s}.log"),
        "You have reached your Codex usage limits. Please visit https://chatgpt.com/codex/settings/usage\n\
         {\"type\":\"item.completed\",\"item\":{\"text\":\"resume-ok\"}}\n",
    );
    let out = status(&w, s);
    assert_eq!(kv(&out, "STATUS"), Some("SUCCEEDED"));
    assert!(out.lines().any(|l| l == "THREAD_ID=thread-mock-123"));
    assert!(
        !out.lines().any(|l| l.starts_with("FAILURE_REASON=")),
        "{out}"
    );

    for reason in ["quota-switch-deferred", "quota-switch-attempt-limit"] {
        w.write(
            &format!("runs/{s}/runner.env"),
            format!(
                "RUNNER_STATE=failed\nTHREAD_ID=thread-mock-123\nATTEMPT=1\nRESUME_COUNT=0\n\
                 LAST_EXIT_CODE=1\nLAST_FAILURE_REASON={reason}\n"
            ),
        );
        let out = status(&w, s);
        assert_eq!(kv(&out, "STATUS"), Some("FAILED"));
        assert!(
            out.lines().any(|l| l == format!("FAILURE_REASON={reason}")),
            "{out}"
        );
    }
}

#[test]
fn worker_status_running_session_in_real_tmux() {
    let w = World::new();
    let s = "live-worker-7";
    w.write(
        &format!("runs/{s}/runner.env"),
        runner_env("running", "live-thread", "", "auth-401"),
    );
    w.write(&format!("runs/{s}/{s}.log"), "__CODEX_EXIT__:3\n");
    w.tmux_session(s, "sleep 30");
    let out = status(&w, s);
    assert_eq!(kv(&out, "STATUS"), Some("RUNNING"), "{out}");
    // LAST_FAILURE_REASON is still reported while running, the marker is not read.
    assert_eq!(last_kv(&out, "FAILURE_REASON"), Some("auth-401"));
    assert_eq!(last_kv(&out, "EXIT_CODE"), None);

    // Inside tmux the client follows $TMUX to the server, whatever TMUX_TMPDIR says.
    let uid = run(w.cmd("id").arg("-u")).1.trim().to_string();
    let socket = w.tmux_tmpdir.join(format!("tmux-{uid}/default"));
    assert!(socket.exists(), "{}", socket.display());
    let elsewhere = w.path("other-tmux");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let (code, out, err) = run(w
        .shim(TOOL)
        .args(["--runs-root", "runs", "--session", s])
        .env("TMUX_TMPDIR", &elsewhere)
        .env("TMUX", format!("{},1,0", socket.display())));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "STATUS"), Some("RUNNING"), "{out}");
    // With neither pointing at a server, nothing runs there.
    let (_, out, _) = run(w
        .shim(TOOL)
        .args(["--runs-root", "runs", "--session", s])
        .env("TMUX_TMPDIR", &elsewhere));
    assert_eq!(kv(&out, "STATUS"), Some("FAILED"), "{out}");

    // A session whose name only starts with the same prefix is not this one.
    let (code, out, _) =
        run(w
            .shim(TOOL)
            .args(["--runs-root", "runs", "--session", "live-worker"]));
    assert_eq!(code, 0);
    assert_eq!(kv(&out, "STATUS"), Some("UNKNOWN"));

    // Once the session is gone the same files mean a crash.
    let killed = w.tmux().args(["kill-session", "-t", s]).status().unwrap();
    assert!(killed.success());
    let out = status(&w, s);
    assert_eq!(kv(&out, "STATUS"), Some("FAILED"));
    assert_eq!(last_kv(&out, "EXIT_CODE"), Some("3"));
}

#[test]
fn worker_status_output_order_and_raw_files() {
    let w = World::new();
    let s = "order-1";
    w.write(
        &format!("runs/{s}/run.env"),
        "SESSION=order-1\nWORKTREE=/tmp/a\\ b\n",
    );
    w.write(
        &format!("runs/{s}/runner.env"),
        "RUNNER_STATE=failed\nTHREAD_ID=t-9\nLAST_EXIT_CODE=7\nLAST_FAILURE_REASON=worker-exit-failed",
    );
    w.write(
        &format!("runs/{s}/result.env"),
        "OUTCOME=blocked\nDETAIL=a: b\n",
    );
    let out = status(&w, s);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "SESSION=order-1",
            "STATUS=FAILED",
            "SESSION=order-1",
            "WORKTREE=/tmp/a\\ b",
            "META_FILE=runs/order-1/run.env",
            "RUNNER_STATE=failed",
            "THREAD_ID=t-9",
            "LAST_EXIT_CODE=7",
            "LAST_FAILURE_REASON=worker-exit-failed",
            "RUNNER_STATE_FILE=runs/order-1/runner.env",
            "OUTCOME=blocked",
            "DETAIL=a: b",
            "RESULT_FILE=runs/order-1/result.env",
            "EXIT_CODE=7",
            "FAILURE_REASON=worker-exit-failed",
            "THREAD_ID=t-9",
        ]
    );
}

#[test]
fn worker_status_exit_markers_and_custom_marker() {
    let w = World::new();
    let s = "marker-1";
    w.write(
        &format!("runs/{s}/{s}.log"),
        "noise\n__CODEX_EXIT__:0\nmore\n\n__CLAUDE_EXIT__:23\n",
    );
    let out = status(&w, s);
    assert_eq!(kv(&out, "STATUS"), Some("FAILED"));
    assert_eq!(last_kv(&out, "EXIT_CODE"), Some("23"));

    w.write(&format!("runs/{s}/{s}.log"), "x\n__CODEX_EXIT__:0\n");
    let out = status(&w, s);
    assert_eq!(kv(&out, "STATUS"), Some("SUCCEEDED"));
    assert_eq!(last_kv(&out, "EXIT_CODE"), Some("0"));

    w.write(&format!("runs/{s}/{s}.log"), "DONE:5\n__CODEX_EXIT__:0\n");
    let (code, out, _) = run(w.shim(TOOL).args([
        "--runs-root",
        "runs",
        "--session",
        s,
        "--exit-marker",
        "DONE:",
    ]));
    assert_eq!(code, 0);
    assert_eq!(kv(&out, "STATUS"), Some("FAILED"));
    assert_eq!(last_kv(&out, "EXIT_CODE"), Some("5"));

    // An invalid marker regex is reported and matches nothing.
    let (code, out, err) =
        run(w
            .shim(TOOL)
            .args(["--runs-root", "runs", "--session", s, "--exit-marker", "("]));
    assert_eq!(code, 0);
    assert_eq!(kv(&out, "STATUS"), Some("UNKNOWN"));
    assert!(err.contains("--exit-marker"), "{err}");
}

#[test]
fn worker_status_never_executes_runner_env() {
    let mut w = World::new();
    let s = "hostile-1";
    let marker = w.path("pwned");
    w.write(
        &format!("runs/{s}/runner.env"),
        format!(
            "RUNNER_STATE=running\nTHREAD_ID=$(touch {m})\nLAST_EXIT_CODE=`touch {m}`\n\
             LAST_FAILURE_REASON=x; touch {m}\ntouch {m}\n",
            m = marker.display()
        ),
    );
    w.write(
        &format!("runs/{s}/result.env"),
        format!("OUTCOME=$(touch {})\n", marker.display()),
    );
    w.write(
        &format!("runs/{s}/run.env"),
        format!("SESSION=$(touch {})\n", marker.display()),
    );
    // The environment must not leak into missing runner.env keys either.
    w.env("RUNNER_STATE", "succeeded");
    let out = status(&w, s);
    assert!(!marker.exists(), "a state file was executed");
    assert_eq!(kv(&out, "STATUS"), Some("FAILED"), "{out}");
    // The raw text is echoed, as before.
    assert!(out.contains("THREAD_ID=$(touch "), "{out}");
    assert!(
        last_kv(&out, "FAILURE_REASON").is_some_and(|r| r.starts_with("x; touch")),
        "{out}"
    );

    // A runner.env without a state, plus the environment variable: the file decides.
    w.write(&format!("runs/{s}/runner.env"), "THREAD_ID=only\n");
    std::fs::remove_file(w.path(&format!("runs/{s}/result.env"))).unwrap();
    let out = status(&w, s);
    assert_eq!(kv(&out, "STATUS"), Some("UNKNOWN"), "{out}");
}

#[test]
fn worker_status_usage_and_env_defaults() {
    let mut w = World::new();
    // A missing required option is one line naming it (not the whole usage).
    let (code, out, err) = run(w.shim(TOOL).args(["--session", "x"]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err,
        "--runs-root is required (or set AGENT_PROJECT_RUNS_ROOT; see --help)\n"
    );
    let (code, out, err) = run(w.shim(TOOL).args(["--runs-root", "runs"]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err, "--session is required (see --help)\n");
    let (code, _, err) = run(w.shim(TOOL).args(["--runs-root", "runs", "--x=1"]));
    assert_eq!(code, 1);
    assert!(err.starts_with("Unknown argument: --x=1\n"), "{err}");
    let (code, _, err) = run(w.shim(TOOL).args(["--runs-root", "runs", "--nope"]));
    assert_eq!(code, 1);
    assert!(err.starts_with("Unknown argument: --nope"), "{err}");
    let (code, out, _) = run(w.shim(TOOL).arg("--help"));
    assert_eq!(code, 0);
    assert!(out.contains("--exit-marker"));

    w.env("AGENT_PROJECT_RUNS_ROOT", "runs dir");
    w.write("runs dir/s 1/result.env", "OUTCOME=implemented\n");
    let (code, out, err) = run(w.shim(TOOL).args(["--session", "s 1"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "STATUS"), Some("SUCCEEDED"));
    assert_eq!(kv(&out, "RESULT_FILE"), Some("runs dir/s 1/result.env"));
    // An explicit empty --runs-root beats the environment (usage error).
    let (code, _, _) = run(w.shim(TOOL).args(["--runs-root", "", "--session", "s 1"]));
    assert_eq!(code, 1);
    // Nothing at all: UNKNOWN, still exit 0.
    let (code, out, _) = run(w.shim(TOOL).args(["--session", "missing"]));
    assert_eq!(code, 0);
    assert_eq!(out, "SESSION=missing\nSTATUS=UNKNOWN\n");
}

/// A world whose shim tree is a package root, with profiles `alpha` and `beta`
/// in the registry; alpha's runs root is `<root>/alpha-runs`.
fn profile_world() -> World {
    let mut w = World::new();
    std::fs::write(w.skill.join("SKILL.md"), "test package\n").unwrap();
    let registry = w.path("profiles");
    let runs = w.path("alpha-runs");
    w.write(
        "profiles/alpha/control-plane.yaml",
        format!(
            "schema_version: \"1\"\nid: \"alpha\"\nrepo:\n  slug: \"example/alpha\"\nruntime:\n  runs_root: \"{}\"\n",
            runs.display()
        ),
    );
    w.write(
        "profiles/beta/control-plane.yaml",
        "schema_version: \"1\"\nid: \"beta\"\nrepo:\n  slug: \"example/beta\"\n",
    );
    w.env("ACP_PROFILE_REGISTRY_ROOT", &registry);
    w
}

const WRAPPER: &str = "tools/bin/worker-status.sh";

#[test]
fn worker_status_sh_requires_an_explicit_profile() {
    let w = profile_world();
    let (code, out, err) = run(w.shim(WRAPPER).arg("demo-session"));
    assert_eq!((code, out.as_str()), (64, ""));
    assert_eq!(
        err,
        "explicit profile selection required for worker-status.sh when multiple available profiles exist.\n\
         Set ACP_PROJECT_ID=<id> or AGENT_PROJECT_ID=<id> when multiple available profiles exist.\n"
    );
    // The opt-out lets the default profile through.
    let (code, _, err) = run(w
        .shim(WRAPPER)
        .arg("demo-session")
        .env("ACP_ALLOW_IMPLICIT_PROFILE_SELECTION", "1"));
    assert_eq!(code, 0, "{err}");
}

#[test]
fn worker_status_sh_uses_the_profile_runs_root() {
    let mut w = profile_world();
    w.env("AGENT_PROJECT_ID", "alpha");
    w.write(
        "alpha-runs/s-5/runner.env",
        "RUNNER_STATE=failed\nLAST_EXIT_CODE=2\nLAST_FAILURE_REASON=timeout\n",
    );
    let (code, out, err) = run(w.shim(WRAPPER).arg("s-5"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "STATUS"), Some("FAILED"));
    let runner = w.path("alpha-runs/s-5/runner.env");
    assert_eq!(
        kv(&out, "RUNNER_STATE_FILE"),
        Some(runner.to_str().unwrap())
    );
    assert_eq!(last_kv(&out, "FAILURE_REASON"), Some("timeout"));

    // A stub at the package's tool path is what runs (output and code relayed).
    std::fs::write(
        w.skill.join("tools/bin/agent-project-worker-status"),
        "#!/usr/bin/env bash\nprintf 'STUB %s\\n' \"$*\"\necho stub-err >&2\nexit 3\n",
    )
    .unwrap();
    let (code, out, err) = run(w.shim(WRAPPER).arg("s-5"));
    assert_eq!(code, 3);
    assert_eq!(
        out,
        format!(
            "STUB --runs-root {} --session s-5\n",
            w.path("alpha-runs").display()
        )
    );
    assert_eq!(err, "stub-err\n");

    // No session: usage on stderr, exit 1.
    let (code, out, err) = run(&mut w.shim(WRAPPER));
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.contains("usage: worker-status.sh SESSION"), "{err}");
}

#[test]
fn worker_status_refuses_sessions_outside_the_runs_root_or_forging_lines() {
    let w = World::new();
    w.write("outside/run.env", "SECRET=outside-the-runs-root\n");
    w.write("runs/.keep", "");
    for session in [
        "../outside",
        "a/b",
        "..",
        ".",
        "n\nSTATUS=SUCCEEDED",
        "n\rx",
    ] {
        let (code, out, err) =
            run(w
                .shim(TOOL)
                .args(["--runs-root", "runs", "--session", session]));
        assert_eq!((code, out.as_str()), (1, ""), "{session:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("--session must"), "{err}");
    }
    // The runs root is printed in the *_FILE= lines too.
    w.write("runs\nSTATUS=SUCCEEDED/s/run.env", "A=1\n");
    let (code, out, err) =
        run(w
            .shim(TOOL)
            .args(["--runs-root", "runs\nSTATUS=SUCCEEDED", "--session", "s"]));
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(err.contains("--runs-root"), "{err}");
}

#[test]
fn worker_status_does_not_take_a_window_target_for_a_session() {
    let w = World::new();
    // A live session `live`: `live:0` and `live.0` name its window and pane
    // for tmux, not a session of that name.
    w.tmux_session("live", "sleep 30");
    for s in ["live:0", "live.0"] {
        w.write(&format!("runs/{s}/result.env"), "OUTCOME=implemented\n");
        let out = status(&w, s);
        assert_eq!(kv(&out, "STATUS"), Some("SUCCEEDED"), "{s}: {out}");
        assert_eq!(kv(&out, "RESULT_ONLY_COMPLETION"), Some("yes"), "{out}");
    }
    assert_eq!(kv(&status(&w, "live"), "STATUS"), Some("RUNNING"));
}
