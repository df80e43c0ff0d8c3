//! Integration tests for `test-smoke.sh` (run through its shim, with the
//! tools it runs replaced by logging stubs).

use std::path::{Path, PathBuf};

use crate::harness::{World, read, run, write_script};

const TOOL: &str = "tools/bin/test-smoke.sh";

/// A stub that appends `label` and its arguments to `log`, then runs `body`.
fn stub(w: &World, name: &str, log: &Path, body: &str) -> PathBuf {
    write_script(
        &w.path(&format!("stubs/{name}")),
        &format!(
            "#!/usr/bin/env bash\nprintf '%s %s\\n' {name} \"$*\" >>'{}'\n{body}\n",
            log.display()
        ),
    )
}

/// A world whose four tools are stubs; the runtimectl stub reports the
/// profile it was asked about.
fn stub_world() -> (World, PathBuf) {
    let mut w = World::new();
    let log = w.path("calls.log");
    let check = stub(&w, "check", &log, "echo contracts-ok");
    let scaffold = stub(&w, "scaffold", &log, "");
    let profile = stub(&w, "profile", &log, "echo profile-noise");
    let runtimectl = stub(
        &w,
        "runtimectl",
        &log,
        "printf 'PROFILE_ID=%s\\nRUNTIME_STATUS=stopped\\n' \"$3\"",
    );
    w.env("ACP_TEST_SMOKE_CHECK_CONTRACTS_SCRIPT", &check);
    w.env("ACP_TEST_SMOKE_SCAFFOLD_PROFILE_SCRIPT", &scaffold);
    w.env("ACP_TEST_SMOKE_PROFILE_SMOKE_SCRIPT", &profile);
    w.env("ACP_TEST_SMOKE_RUNTIMECTL_SCRIPT", &runtimectl);
    (w, log)
}

#[test]
fn runs_the_three_gates_in_order() {
    let (w, log) = stub_world();
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "SMOKE_STEP=check-skill-contracts\ncontracts-ok\nSMOKE_STEP_STATUS=ok\n\
         SMOKE_STEP=profile-smoke\nSMOKE_STEP_STATUS=ok\n\
         SMOKE_STEP=project-runtimectl\nSMOKE_STEP_STATUS=ok\nSMOKE_TEST_STATUS=ok\n"
    );
    let calls = read(&log);
    let lines: Vec<&str> = calls.lines().collect();
    assert_eq!(lines.len(), 5, "{calls}");
    assert_eq!(lines[0], "check ");
    assert!(
        lines[1].starts_with("scaffold --profile-home ")
            && lines[1].ends_with("--profile-id smoke-alpha --repo-slug example/smoke-alpha"),
        "{calls}"
    );
    assert_eq!(lines[2], "profile --profile-id smoke-alpha");
    assert!(
        lines[3]
            .contains("--profile-id smoke-runtime --repo-slug example/smoke-runtime --agent-root "),
        "{calls}"
    );
    assert!(
        lines[3].contains("/runtime/smoke-runtime/worktrees"),
        "{calls}"
    );
    assert_eq!(lines[4], "runtimectl status --profile-id smoke-runtime");
}

#[test]
fn a_failing_gate_stops_the_run_with_its_code() {
    let (mut w, log) = stub_world();
    let fail = stub(&w, "profile-fails", &log, "exit 23");
    w.env("ACP_TEST_SMOKE_PROFILE_SMOKE_SCRIPT", &fail);
    let (code, out, _) = run(&mut w.shim(TOOL));
    assert_eq!(code, 23);
    assert!(
        out.ends_with(
            "SMOKE_STEP=profile-smoke\nSMOKE_STEP_STATUS=failed\nFAILED_STEP=profile-smoke\n\
             EXIT_CODE=23\nSMOKE_TEST_STATUS=failed\n"
        ),
        "{out}"
    );
    assert!(!read(&log).contains("runtimectl"));
}

#[test]
fn a_runtimectl_report_without_the_profile_fails_that_gate() {
    let (mut w, log) = stub_world();
    let quiet = stub(&w, "runtimectl-quiet", &log, "echo RUNTIME_STATUS=stopped");
    w.env("ACP_TEST_SMOKE_RUNTIMECTL_SCRIPT", &quiet);
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 1);
    assert!(
        out.contains("FAILED_STEP=project-runtimectl\nEXIT_CODE=1\n"),
        "{out}"
    );
    assert!(err.contains("PROFILE_ID=smoke-runtime"), "{err}");
}

#[test]
fn a_missing_contract_check_is_skipped() {
    let (mut w, _) = stub_world();
    w.env(
        "ACP_TEST_SMOKE_CHECK_CONTRACTS_SCRIPT",
        w.path("no-such-check.sh"),
    );
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("SMOKE_STEP=check-skill-contracts\nSMOKE_STEP_STATUS=skipped\n"),
        "{out}"
    );
}

#[test]
fn the_older_step_variables_still_name_whole_steps() {
    let (mut w, log) = stub_world();
    let old_profile = stub(&w, "old-profile", &log, "");
    let old_runtime = stub(&w, "old-runtime", &log, "");
    w.env("ACP_TEST_SMOKE_PROFILE_TEST_SCRIPT", &old_profile);
    w.env("ACP_TEST_SMOKE_RUNTIMECTL_TEST_SCRIPT", &old_runtime);
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("SMOKE_STEP=test-profile-smoke\n"), "{out}");
    assert!(
        out.contains("SMOKE_STEP=test-project-runtimectl\n"),
        "{out}"
    );
    let calls = read(&log);
    assert_eq!(calls, "check \nold-profile \nold-runtime \n");
}

#[test]
fn unknown_arguments_are_usage_errors() {
    let (w, log) = stub_world();
    let (code, out, err) = run(w.shim(TOOL).arg("--bogus"));
    assert_eq!(code, 64);
    assert_eq!(out, "");
    assert!(err.starts_with("Unknown argument: --bogus\n"), "{err}");
    assert!(!log.exists());
    let (code, out, _) = run(w.shim(TOOL).arg("--help"));
    assert_eq!(code, 0);
    assert!(out.contains("test-smoke.sh"), "{out}");
}

#[test]
fn the_real_contract_check_passes_on_the_installed_tree() {
    let mut w = World::new();
    let log = w.path("calls.log");
    let scaffold = stub(&w, "scaffold", &log, "");
    let profile = stub(&w, "profile", &log, "");
    let runtimectl = stub(
        &w,
        "runtimectl",
        &log,
        "printf 'PROFILE_ID=%s\\nRUNTIME_STATUS=stopped\\n' \"$3\"",
    );
    w.env("ACP_TEST_SMOKE_SCAFFOLD_PROFILE_SCRIPT", &scaffold);
    w.env("ACP_TEST_SMOKE_PROFILE_SMOKE_SCRIPT", &profile);
    w.env("ACP_TEST_SMOKE_RUNTIMECTL_SCRIPT", &runtimectl);
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("CHECK_STATUS=ok\nSMOKE_STEP_STATUS=ok\n"),
        "{out}"
    );
    assert!(out.ends_with("SMOKE_TEST_STATUS=ok\n"), "{out}");
}
