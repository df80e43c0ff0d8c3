//! Integration tests for `run-opencode-session` (run through its shim): the
//! shared one-shot cases (`one_shot_suite`) plus crush's own argv and stdin.

use std::path::Path;

use crate::harness::{World, base_args, read, run};
use crate::one_shot_suite::OneShotBackend;

/// Crush (formerly opencode): plain-text output, the prompt on stdin.
pub const OPENCODE: OneShotBackend = OneShotBackend {
    tool: "tools/bin/agent-project-run-opencode-session",
    tag: "oc",
    flag: "opencode",
    env: "OPENCODE",
    bin: "crush",
    records_stdin: true,
    bin_var: "CRUSH_BIN",
    sandbox: ".opencode-artifacts",
    exit_reason: "opencode",
    help_words: &["Crush", "opencode"],
    missing_bin: "unable to resolve a runnable crush/opencode binary",
    started: "echo crush-started",
    started_marker: "crush-started",
    finished: "echo crush-done",
    failures: &[],
    safe_argv: crush_safe_argv,
    defaults: &acp_core::config::backends::DEFAULTS.opencode,
};

/// `crush run --quiet --model <default> --cwd <wt>` (no `--yolo` in safe mode).
fn crush_safe_argv(wt: &Path) -> String {
    format!(
        "run\n--quiet\n--model\n{}\n--cwd\n{}\n",
        OPENCODE.defaults.model,
        wt.display()
    )
}

mod shared {
    crate::one_shot_suite::one_shot_tests!(super::OPENCODE);
}

#[test]
fn opencode_bypass_adds_yolo_and_reads_the_prompt_on_stdin() {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    OPENCODE.fake(&w, "echo crush-done");
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
    let (code, _, err) = run(w.shim(OPENCODE.tool).args(&args));
    assert_eq!(code, 0, "{err}");
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
    let run_env = read(run_dir.join("run.env"));
    assert!(
        run_env.contains(
            "\nOPENCODE_MODEL=openai/gpt-x\nOPENCODE_TIMEOUT_SECONDS=900\nNOTE=two\\ words\n"
        ),
        "{run_env}"
    );
}
