//! Integration tests for `run-kilo-session` (run through its shim).

use crate::harness::{World, run};
use crate::run_claude_session::{base_args, read, setup, wait_done};

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
    let (wt, prompt) = setup(&w);
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
    let log = wait_done(&w, "acp-kilo-ok");
    let run_dir = w.path("runs/acp-kilo-ok");
    assert!(
        log.contains("{\"type\":\"text\",\"text\":\"working\"}\n"),
        "{log}"
    );
    assert_eq!(
        read(&run_dir.join("kilo-args.log")),
        format!(
            "run\n--auto\n--format\njson\n--model\nanthropic/claude-sonnet-4-20250514\n--dir\n{}\nPrompt body\nsecond line\n",
            wt.display()
        )
    );
    assert_eq!(
        read(&run_dir.join("result.env")),
        "OUTCOME=reported\nACTION=host-comment-report\n"
    );
    let run_env = read(&run_dir.join("run.env"));
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
    let (wt, prompt) = setup(&w);
    fake_kilo(
        &w,
        r#"echo '{"type":"error","error":"Invalid API key provided"}'; exit 1"#,
    );
    let (code, _, err) = run(w.shim(TOOL).args(base_args("acp-kilo-auth", &wt, &prompt)));
    assert_eq!(code, 0, "{err}");
    wait_done(&w, "acp-kilo-auth");
    let run_dir = w.path("runs/acp-kilo-auth");
    assert!(read(&run_dir.join("runner.env")).contains("LAST_FAILURE_REASON=auth-failure\n"));
    assert!(read(&run_dir.join("result.env")).contains("DETAIL=auth-failure\n"));
}

#[test]
fn kilo_progress_stall_and_plain_failure() {
    // Plain text but no JSON event: no progress, so the stall ends it.
    let w = World::new();
    let (wt, prompt) = setup(&w);
    fake_kilo(&w, "echo 'booting'; sleep 60");
    let mut args = base_args("acp-kilo-stall", &wt, &prompt);
    args.extend(["--kilo-stall-seconds", "1"].map(String::from));
    let (code, _, err) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0, "{err}");
    wait_done(&w, "acp-kilo-stall");
    let runner = read(&w.path("runs/acp-kilo-stall/runner.env"));
    assert!(runner.contains("RUNNER_STATE=failed\n"), "{runner}");
    assert!(
        runner.contains("LAST_FAILURE_REASON=no-agent-progress-before-stall-threshold\n"),
        "{runner}"
    );

    let w = World::new();
    let (wt, prompt) = setup(&w);
    fake_kilo(&w, "exit 2");
    let (code, _, err) = run(w.shim(TOOL).args(base_args("acp-kilo-fail", &wt, &prompt)));
    assert_eq!(code, 0, "{err}");
    let log = wait_done(&w, "acp-kilo-fail");
    assert!(log.contains("__CODEX_EXIT__:2"));
    let run_dir = w.path("runs/acp-kilo-fail");
    assert!(read(&run_dir.join("runner.env")).contains("LAST_FAILURE_REASON=kilo-exit-2\n"));
    assert!(read(&run_dir.join("result.env")).contains("DETAIL=kilo-exit-2\n"));
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
    let (wt, prompt) = setup(&w);
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
