//! Integration tests for `run-codex-bypass.sh`: `run-codex-task.sh bypass ARGS...`.

#[test]
fn run_codex_bypass_runs_the_sibling_task_script_in_bypass_mode() {
    crate::run_codex_safe::check_wrapper("run-codex-bypass.sh", "bypass");
}
