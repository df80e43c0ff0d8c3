//! Integration tests for `run-codex-safe.sh` (and, through
//! [`check_wrapper`], `run-codex-bypass.sh`): `run-codex-task.sh MODE ARGS...`.
//! The routing itself is tested in `run_codex_task`.

use crate::harness::{World, bin, run, write_script};

/// The wrapper contract for `tool` (`run-codex-safe.sh`) and `mode` (`safe`):
/// the sibling `run-codex-task.sh` next to the wrapper's shim runs with MODE
/// and every argument as given; its stdout, stderr and status come back.
pub fn check_wrapper(tool: &str, mode: &str) {
    let w = World::new();
    write_script(
        &w.skill.join("tools/bin/run-codex-task.sh"),
        "#!/usr/bin/env bash\nIFS='|'; printf '%s\\n' \"$*\"\necho stub-stderr >&2\nexit 3\n",
    );
    let shim = format!("tools/bin/{tool}");
    let (code, out, err) = run(w.shim(&shim).args(["s 1", "/w t", "", "p"]));
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (3, format!("{mode}|s 1|/w t||p\n").as_str(), "stub-stderr\n")
    );

    // `--help` is the wrapper's own (the stub, which always writes to
    // stderr, does not run).
    let (code, out, err) = run(w.shim(&shim).arg("--help"));
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(
        out.contains(&format!("{tool} SESSION WORKTREE PROMPT_FILE")),
        "{out}"
    );

    // Without a shim tree the binary's own run-codex-task.sh runs.
    let (code, out, err) = run(w.cmd(bin()).args([tool, "only-session"]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err,
        "run-codex-task.sh: usage: run-codex-task.sh MODE SESSION WORKTREE PROMPT_FILE\n"
    );
}

#[test]
fn run_codex_safe_runs_the_sibling_task_script_in_safe_mode() {
    check_wrapper("run-codex-safe.sh", "safe");
}
