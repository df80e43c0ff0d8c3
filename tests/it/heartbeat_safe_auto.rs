//! Integration tests for `heartbeat-safe-auto.sh` (through its shim) with a
//! stub heartbeat loop, stub audits and stub catch-up passes written over
//! the sibling shims, and real state directories.

use std::path::PathBuf;

use crate::harness::{World, kv, read, run, wait_for, write_script};

const TOOL: &str = "tools/bin/heartbeat-safe-auto.sh";

/// A world with one implicit profile, roots under `project/`, the audits
/// and catch-ups stubbed, and the loop stub `loop_body` (bash).
fn world(loop_body: &str) -> World {
    let mut w = World::new();
    let bin = w.skill.join("tools/bin");
    write_script(
        &bin.join("agent-project-heartbeat-loop"),
        &format!("#!/usr/bin/env bash\nset -euo pipefail\n{loop_body}\n"),
    );
    for (name, line) in [
        ("audit-retained-worktrees.sh", "RETAINED_AUDIT_RAN=$*"),
        ("audit-agent-worktrees.sh", "AGENT_AUDIT_RAN=$*"),
        ("agent-project-catch-up-merged-prs", "merged-catchup-ran $*"),
        (
            "agent-project-catch-up-issue-pr-links",
            "links-catchup-ran runs=$ACP_RUNS_ROOT",
        ),
        (
            "agent-project-catch-up-scheduled-issue-retries",
            "retries-catchup-ran",
        ),
    ] {
        write_script(
            &bin.join(name),
            &format!("#!/usr/bin/env bash\necho \"{line}\"\n"),
        );
    }
    let root = w.path("project");
    let (profiles, memory, cache) = (w.path("profiles"), w.path("memory"), w.path("cache"));
    std::fs::create_dir_all(&profiles).unwrap();
    w.env("ACP_PROFILE_REGISTRY_ROOT", profiles)
        .env("ACP_AGENT_ROOT", &root)
        .env("ACP_STATE_ROOT", root.join("state"))
        .env("ACP_RUNS_ROOT", root.join("runs"))
        .env("ACP_MEMORY_DIR", memory)
        .env("ACP_REPO_SLUG", "example/demo")
        .env("XDG_CACHE_HOME", cache);
    w
}

fn state(w: &World) -> PathBuf {
    w.path("project/state")
}

const ECHO_ARGS: &str =
    "printf 'heartbeat-loop-args=%s\\n' \"$*\"\nprintf 'loop-state-root=%s\\n' \"$ACP_STATE_ROOT\"";

#[test]
fn dynamic_limits_from_the_quota_cache_reach_the_loop_and_catch_up_runs() {
    let w = world(ECHO_ARGS);
    let account = |id: &str, p: u32| {
        format!(
            r#"{{"accountId":"{id}","planType":"plus","usage":{{"rate_limit":{{"limit_reached":false,"primary_window":{{"used_percent":{p}}},"secondary_window":{{"used_percent":10}}}}}}}}"#
        )
    };
    w.write(
        "cache/codex-quota-manager/codex-full-quota.json",
        format!(
            "[{},{},{}]",
            account("a", 10),
            account("b", 20),
            account("c", 30)
        ),
    );
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{out}\n{err}");
    for line in [
        "HEALTHY_QUOTA_POOLS=3",
        "DYNAMIC_CONCURRENCY_QUOTA_MODE=failure-driven-dynamic",
        "EFFECTIVE_MAX_CONCURRENT_WORKERS=8",
        "EFFECTIVE_MAX_CONCURRENT_PR_WORKERS=4",
        "EFFECTIVE_MAX_RECURRING_ISSUE_WORKERS=3",
        "RETAINED_AUDIT_RAN=--cleanup",
        "AGENT_AUDIT_RAN=--cleanup",
        "retries-catchup-ran",
    ] {
        assert!(out.lines().any(|l| l == line), "missing {line}:\n{out}");
    }
    let args = kv(&out, "heartbeat-loop-args").unwrap();
    assert!(args.contains("--repo-slug example/demo"), "{args}");
    assert!(args.contains("--max-concurrent-workers 8 --max-concurrent-heavy-workers 1"));
    assert!(args.contains("--max-concurrent-pr-workers 4"));
    assert!(args.contains("--max-launches-per-pass 8 --heavy-running-label E2E_ISSUE"));
    assert_eq!(
        kv(&out, "loop-state-root").unwrap(),
        state(&w).to_str().unwrap()
    );
    assert!(out.contains("shared heartbeat loop end status=0"));
    assert!(out.contains(&format!(
        "merged-catchup-ran --repo-slug example/demo --state-root {} --hook-file",
        state(&w).display()
    )));
    assert!(out.contains(&format!(
        "links-catchup-ran runs={}",
        w.path("project/runs").display()
    )));
    let status = read(state(&w).join("shared-heartbeat-loop.env"));
    assert!(status.contains("STATE=idle\nSTATUS=0\n"), "{status}");
    assert!(!state(&w).join("shared-heartbeat-loop.pid").exists());
    let stamp = read(state(&w).join("last-catchup-timestamp"));
    assert!(stamp.parse::<i64>().is_ok(), "{stamp:?}");
}

#[test]
fn static_limits_for_other_workers_and_without_a_cache() {
    let mut w = world(ECHO_ARGS);
    w.env("ACP_MAX_CONCURRENT_WORKERS", "9");
    let (code, out, _) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0);
    assert!(out.contains("\nDYNAMIC_CONCURRENCY_QUOTA_MODE=failure-driven-static\n"));
    assert!(out.contains("--max-concurrent-workers 9 "));
    w.env("ACP_CODING_WORKER", "claude");
    let (_, out, _) = run(&mut w.shim(TOOL));
    assert!(
        out.starts_with("CODING_WORKER=claude\nCODEX_QUOTA_PREFLIGHT_SKIPPED_FOR_WORKER=yes\n")
    );
    assert!(out.contains("DYNAMIC_CONCURRENCY_QUOTA_MODE=non-codex-bypass"));
}

/// The F3 regression: a run that finds the lock held leaves it held, so a
/// third run is refused as well; the holder's lock and record survive.
#[test]
fn a_held_lock_skips_every_other_run_and_survives_them() {
    let w = world(
        "touch \"$ACP_STATE_ROOT/../loop-started\"\n\
         for _ in $(seq 600); do [ -e \"$ACP_STATE_ROOT/../release\" ] && break; sleep 0.1; done\n\
         echo first-loop-done",
    );
    let mut first = w.shim(TOOL);
    first
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let first = first.spawn().unwrap();
    let holder = first.id().to_string();
    wait_for("the first loop", 60, || {
        w.path("project/loop-started").exists()
    });
    for _ in 0..2 {
        let (code, out, err) = run(&mut w.shim(TOOL));
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("HEARTBEAT_SKIPPED=lock-held\n"), "{out}");
        assert_eq!(kv(&out, "LOCK_PID"), Some(holder.as_str()));
        assert!(!out.contains("shared heartbeat loop start"));
        let record = read(state(&w).join("heartbeat-loop.lock/pid"));
        assert!(record.starts_with(&format!("{holder} ")), "{record:?}");
    }
    // The loop's identity is recorded while it runs.
    let loop_record = read(state(&w).join("shared-heartbeat-loop.pid"));
    assert_eq!(loop_record.split_whitespace().count(), 2, "{loop_record:?}");
    w.write("project/release", "");
    let done = first.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&done.stdout);
    assert_eq!(done.status.code(), Some(0), "{out}");
    assert!(out.contains("first-loop-done"));
    assert!(!state(&w).join("heartbeat-loop.lock/pid").exists());
    assert!(!state(&w).join("shared-heartbeat-loop.pid").exists());
}

#[test]
fn a_dead_holders_lock_is_taken_over() {
    let w = world("echo heartbeat-loop-ran");
    w.write("project/state/heartbeat-loop.lock/pid", "999999999 12345\n");
    w.write("project/state/shared-heartbeat-loop.pid", "999999998 777\n");
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("HEARTBEAT_SKIPPED"), "{out}");
    assert!(out.contains("heartbeat-loop-ran"));
    assert!(!state(&w).join("shared-heartbeat-loop.pid").exists());
}

#[test]
fn catch_up_is_throttled_by_its_stamp() {
    let mut w = world("echo heartbeat-loop-ran");
    let (_, out, _) = run(&mut w.shim(TOOL));
    assert!(out.contains("merged-catchup-ran"));
    let (_, out, _) = run(&mut w.shim(TOOL));
    assert!(!out.contains("merged-catchup-ran"), "{out}");
    let skipped = out
        .lines()
        .find(|l| l.contains("catchup skipped (age="))
        .unwrap();
    assert!(skipped.ends_with("s, interval=300s)"), "{skipped}");
    w.env("ACP_CATCHUP_INTERVAL_SECONDS", "0");
    let (_, out, _) = run(&mut w.shim(TOOL));
    assert!(out.contains("scheduled-issue retry catchup end status=0"));
}

/// F22: a loop that failed a launch (exit 1) still gets its catch-up
/// passes; the wrapper exits with the loop's status.
#[test]
fn catch_up_runs_after_a_failing_loop() {
    let w = world("echo LAUNCH_FAILED_ISSUE=7\nexit 1");
    let (code, out, _) = run(&mut w.shim(TOOL));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("shared heartbeat loop end status=1"));
    assert!(out.contains("merged-pr catchup end status=0"));
    assert!(out.contains("retries-catchup-ran"));
    assert!(read(state(&w).join("shared-heartbeat-loop.env")).contains("STATUS=1\n"));
}

#[test]
fn a_loop_past_its_timeout_is_ended_with_124() {
    let mut w = world("sleep 60 & sleep 60");
    w.env("ACP_HEARTBEAT_LOOP_TIMEOUT_SECONDS", "0.5")
        .env("F_LOSNING_RETAINED_WORKTREE_AUDIT_ENABLED", "0");
    let (code, out, _) = run(&mut w.shim(TOOL));
    assert_eq!(code, 124, "{out}");
    assert!(out.contains("\nHEARTBEAT_LOOP_TIMEOUT=yes\n"));
    assert!(out.contains("shared heartbeat loop end status=124"));
    assert!(!out.contains("retained-worktree audit start"));
    assert!(out.contains("merged-catchup-ran"));
}

#[test]
fn several_profiles_need_an_explicit_choice() {
    let w = world(ECHO_ARGS);
    for id in ["alpha", "beta"] {
        w.write(
            &format!("profiles/{id}/control-plane.yaml"),
            format!("id: {id}\n"),
        );
    }
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 64);
    assert!(out.is_empty());
    assert!(err.starts_with(
        "explicit profile selection required for heartbeat-safe-auto.sh when multiple available profiles exist.\n\
         Set ACP_PROJECT_ID=<id> or AGENT_PROJECT_ID=<id> when multiple available profiles exist."
    ), "{err}");
}

#[test]
fn preflight_only_runs_the_gate_and_nothing_else() {
    let mut w = world(ECHO_ARGS);
    w.env("ACP_HEARTBEAT_PREFLIGHT_ONLY", "1");
    let (code, out, _) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{out}");
    assert!(out.ends_with("HEARTBEAT_PREFLIGHT_OK\n"), "{out}");
    assert!(!out.contains("heartbeat-loop-args"));
    assert!(!state(&w).join("heartbeat-loop.lock").exists());
}

/// F16: a loop recorded by an earlier pass (pid and start time) that still
/// runs while a new pass holds the lock lost its wrapper: its group is
/// ended. Nothing else is signalled.
#[test]
fn a_recorded_orphan_loop_is_ended_by_the_next_pass() {
    use std::os::unix::process::CommandExt;
    let w = world("echo heartbeat-loop-ran");
    let mut orphan = std::process::Command::new("sleep")
        .arg("60")
        .process_group(0)
        .spawn()
        .unwrap();
    let mut bystander = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap();
    let id = acp_core::procid::ProcId::of(orphan.id()).unwrap();
    w.write("project/state/shared-heartbeat-loop.pid", id.to_line());
    let (code, out, _) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!(
            "shared heartbeat loop orphan ended pid={}\n",
            orphan.id()
        )),
        "{out}"
    );
    assert!(out.contains("heartbeat-loop-ran"));
    assert!(
        orphan.wait().unwrap().code().is_none(),
        "the orphan was not signalled"
    );
    assert!(bystander.try_wait().unwrap().is_none());
    bystander.kill().unwrap();
    bystander.wait().unwrap();
}
