//! Integration tests for `run-kilo-session` (run through its shim): the
//! shared one-shot cases (`one_shot_suite`) plus kilo's own JSON events and
//! argv.

use std::path::Path;

use crate::harness::{World, base_args, read, run};
use crate::one_shot_suite::OneShotBackend;

/// Kilo Code: JSON events on stdout are its progress, the prompt is its
/// last word.
pub const KILO: OneShotBackend = OneShotBackend {
    tool: "tools/bin/agent-project-run-kilo-session",
    tag: "kilo",
    flag: "kilo",
    env: "KILO",
    bin: "kilo",
    records_stdin: false,
    bin_var: "KILO_BIN",
    sandbox: ".kilo-artifacts",
    exit_reason: "kilo",
    help_words: &["Kilo"],
    missing_bin: "unable to resolve a runnable kilo binary",
    started: r#"echo '{"type":"step_start","sessionID":"s1"}'"#,
    started_marker: "step_start",
    finished: r#"echo '{"type":"step_finish"}'"#,
    failures: &[
        (
            r#"echo '{"type":"error","error":"HTTP 429 Too Many Requests: rate limit exceeded"}'; exit 1"#,
            "provider-quota-limit",
        ),
        (
            r#"echo '{"type":"error","error":"Invalid API key provided"}'; exit 1"#,
            "auth-failure",
        ),
    ],
    safe_argv: kilo_argv,
    defaults: &acp_core::config::backends::DEFAULTS.kilo,
};

/// `kilo run --auto --format json --model <default> --dir <wt> <prompt>`.
fn kilo_argv(wt: &Path) -> String {
    format!(
        "run\n--auto\n--format\njson\n--model\n{}\n--dir\n{}\nPrompt body\nsecond line\n",
        KILO.defaults.model,
        wt.display()
    )
}

mod shared {
    crate::one_shot_suite::one_shot_tests!(super::KILO);
}

#[test]
fn kilo_streams_json_events_and_ignores_the_mode() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    KILO.fake(
        &w,
        r#"echo '{"type":"step_start","sessionID":"s1"}'
echo '{"type":"text","text":"working"}'
echo '{"type":"step_finish"}'"#,
    );
    let mut args = base_args("acp-kilo-bypass", &wt, &prompt);
    args[1] = "bypass".into();
    let (code, _, err) = run(w.shim(KILO.tool).args(&args));
    assert_eq!(code, 0, "{err}");
    let log = w.wait_done("acp-kilo-bypass");
    assert!(
        log.contains("{\"type\":\"text\",\"text\":\"working\"}\n"),
        "{log}"
    );
    // kilo always runs with --auto: bypass adds nothing.
    assert_eq!(
        read(w.path("runs/acp-kilo-bypass/kilo-args.log")),
        kilo_argv(&wt)
    );
}

/// A sandbox run dir that cannot be prepared (a file sits where the
/// directory belongs) is refused at launch with an error naming the path:
/// no session, no run files, kilo never starts.
#[test]
fn kilo_unpreparable_sandbox_is_refused_at_launch() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    KILO.fake(&w, r#"echo ran >"$ACP_HOST_RUN_DIR/kilo-ran""#);
    w.write("wt/.kilo-artifacts/acp-kilo-blocked", "not a directory\n");
    let args = base_args("acp-kilo-blocked", &wt, &prompt);
    let (code, out, err) = run(w.shim(KILO.tool).args(&args));
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(&format!(
            "{}",
            wt.join(".kilo-artifacts/acp-kilo-blocked").display()
        )),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!w.has_session("acp-kilo-blocked"));
    assert!(!w.path("runs/acp-kilo-blocked/run.env").exists());
    assert_eq!(
        read(wt.join(".kilo-artifacts/acp-kilo-blocked")),
        "not a directory\n"
    );
}
