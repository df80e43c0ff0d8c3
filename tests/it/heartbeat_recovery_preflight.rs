//! Integration tests for `heartbeat-recovery-preflight.sh` (through its
//! shim): the tests of its list that exist under `tools/tests` run in
//! order, the first failure ends the gate with its status.

use crate::harness::{World, run, write_script};

const TOOL: &str = "tools/bin/heartbeat-recovery-preflight.sh";

#[test]
fn without_tests_every_entry_is_skipped_and_the_gate_passes() {
    let w = World::new();
    let (code, out, _) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0);
    assert!(out.contains("heartbeat preflight skip name=codex-recovery missing="));
    assert!(out.ends_with("HEARTBEAT_PREFLIGHT_OK\n"));
    assert!(!out.contains("preflight start"));
}

#[test]
fn present_tests_run_until_the_first_failure() {
    let w = World::new();
    let tests = w.skill.join("tools/tests");
    write_script(
        &tests.join("test-agent-project-codex-recovery.sh"),
        "echo recovery-ok\n",
    );
    write_script(
        &tests.join("test-codex-quota-wrapper.sh"),
        "echo wrapper-broken; exit 3\n",
    );
    write_script(
        &tests.join("test-agent-project-reconcile-failure-reason.sh"),
        "echo never\n",
    );
    let (code, out, _) = run(&mut w.shim(TOOL));
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("heartbeat preflight start name=codex-recovery\nrecovery-ok\n"));
    assert!(out.contains("heartbeat preflight end name=codex-recovery status=0"));
    assert!(out.contains("heartbeat preflight end name=codex-quota-wrapper status=3"));
    assert!(!out.contains("never"));
    assert!(!out.contains("HEARTBEAT_PREFLIGHT_OK"));
}

#[test]
fn a_hanging_test_times_out() {
    let mut w = World::new();
    w.env("F_LOSNING_HEARTBEAT_PREFLIGHT_TEST_TIMEOUT_SECONDS", "0.3");
    let tests = w.skill.join("tools/tests");
    write_script(&tests.join("test-codex-quota-wrapper.sh"), "sleep 60\n");
    let (code, out, _) = run(&mut w.shim(TOOL));
    assert_eq!(code, 124, "{out}");
    assert!(out.contains("\nHEARTBEAT_PREFLIGHT_TIMEOUT=codex-quota-wrapper\n"));
}
