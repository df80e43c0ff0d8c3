//! Integration tests for `agent-project-heartbeat-loop` through its shim,
//! with a real private tmux server, our own worker-status and retry-state
//! tools, and a fake hook file whose launchers start real tmux sessions
//! and log every effect to an events file.

use std::process::Command;

use crate::harness::{World, read, run, wait_until};

const TOOL: &str = "tools/bin/agent-project-heartbeat-loop";

const HOOKS: &str = r#"#!/usr/bin/env bash
set -euo pipefail
ev() { printf '%s\n' "$*" >>"$TEST_EVENTS"; }
start_session() { tmux new-session -d -s "$1" "sleep 120"; }
kill_pass_once() { [[ -n "${1:-}" && ! -e "$1" ]] || return 0; : >"$1"; kill -9 "$PPID"; }
heartbeat_list_ready_issue_ids() { printf '%s\n' ${TEST_READY:-}; }
heartbeat_list_open_agent_pr_ids() { printf '%s\n' ${TEST_PRS:-}; }
heartbeat_list_exclusive_issue_ids() { printf '%s\n' ${TEST_EXCLUSIVE:-}; }
heartbeat_list_running_issue_ids() { printf '%s\n' ${TEST_RUNNING:-}; }
heartbeat_issue_is_heavy() { echo no; }
heartbeat_issue_is_recurring() { echo no; }
heartbeat_issue_is_exclusive() { [[ " ${TEST_EXCLUSIVE:-} " == *" $1 "* ]] && echo yes || echo no; }
heartbeat_pr_is_exclusive() { echo no; }
heartbeat_pr_risk_json() { printf '{"number":%s,"agentLane":"%s"}\n' "$1" "${TEST_PR_LANE:-fix}"; }
heartbeat_sync_pr_labels() { ev "SYNC_PR:$1"; }
heartbeat_sync_issue_labels() { ev "SYNC_ISSUE:$1"; }
heartbeat_mark_issue_running() { ev "MARK:$1"; kill_pass_once "${TEST_KILL_AT_MARK:-}"; }
heartbeat_issue_launch_failed() { ev "ROLLBACK:$1"; }
heartbeat_mark_pr_running() { ev "MARK_PR:$1"; }
heartbeat_clear_pr_running() { ev "CLEAR_PR:$1"; }
heartbeat_start_issue_worker() {
  ev "LAUNCH:$1"
  if [[ " ${TEST_FAIL:-} " == *" $1 "* ]]; then echo "boom $1"; exit 3; fi
  start_session "fl-issue-$1"
  echo "SESSION=fl-issue-$1"
  kill_pass_once "${TEST_KILL_AFTER_START:-}"
}
pr_worker() { ev "LAUNCH_PR:$1"; sleep "${TEST_PR_SLOW:-0}"; start_session "fl-pr-$1"; echo "SESSION=fl-pr-$1"; }
heartbeat_start_pr_review_worker() { pr_worker "$1"; }
heartbeat_start_pr_fix_worker() { pr_worker "$1"; }
heartbeat_start_pr_merge_repair_worker() { pr_worker "$1"; }
heartbeat_start_pr_ci_refresh() { ev "CI:$1"; }
heartbeat_reconcile_issue() { ev "RECONCILE:$1"; echo "reconciled $1"; }
heartbeat_reconcile_pr() { ev "RECONCILE:$1"; echo "reconciled $1"; }
"#;

fn world() -> World {
    let mut w = World::new();
    w.write("hooks.sh", HOOKS);
    let events = w.path("events.log");
    w.env("TEST_EVENTS", &events);
    let skill = w.skill.clone();
    w.env("SHARED_AGENT_HOME", skill);
    // No provider cooldown unless a test says so.
    w.write(
        "skill/tools/bin/provider-cooldown-state.sh",
        "#!/usr/bin/env bash\necho READY=${TEST_PROVIDER_READY:-yes}\necho BACKEND=openclaw\n\
         echo MODEL=primary/model\n",
    );
    w
}

fn pass(w: &World, env: &[(&str, &str)], extra: &[&str]) -> Command {
    let mut c = w.shim(TOOL);
    c.args([
        "--repo-slug",
        "example/repo",
        "--runs-root",
        "runs",
        "--state-root",
        "state",
        "--memory-dir",
        "memory",
        "--issue-prefix",
        "fl-issue-",
        "--pr-prefix",
        "fl-pr-",
        "--hook-file",
        "hooks.sh",
        "--max-concurrent-workers",
        "4",
        "--max-concurrent-pr-workers",
        "2",
    ]);
    c.args(extra);
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

fn events(w: &World) -> Vec<String> {
    read(w.path("events.log"))
        .lines()
        .map(str::to_owned)
        .collect()
}

fn count(w: &World, event: &str) -> usize {
    events(w).iter().filter(|e| *e == event).count()
}

#[test]
fn a_pass_launches_ready_issues_into_sessions_and_logs_memory() {
    let w = world();
    let (code, out, err) = run(&mut pass(&w, &[("TEST_READY", "101 102")], &[]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("LAUNCHED_ISSUE=101\nSESSION=fl-issue-101\n"),
        "{out}"
    );
    assert!(out.contains("LAUNCHED_ISSUE=102"), "{out}");
    assert!(out.contains("HEARTBEAT_LOOP_PHASE=launch-planning:issue-loop:start"));
    assert!(out.contains("RUNNING_COUNTS\nTOTAL=2\nISSUE=2\n"), "{out}");
    assert!(out.contains("LAUNCHED_ISSUES=2"), "{out}");
    // F12: the budget follows --max-concurrent-workers (4), not 5.
    assert!(out.contains("LAUNCH_BUDGET_REMAINING=2\n"), "{out}");
    assert!(w.has_session("fl-issue-101") && w.has_session("fl-issue-102"));
    assert_eq!(
        events(&w),
        ["MARK:101", "LAUNCH:101", "MARK:102", "LAUNCH:102"]
    );
    let memory: String = std::fs::read_dir(w.path("memory"))
        .unwrap()
        .flatten()
        .map(|e| read(e.path()))
        .collect();
    assert!(
        memory.contains(" launched issue worker for #101"),
        "{memory}"
    );
    // The next pass sees the sessions: nothing is launched twice.
    let (code, out, _) = run(&mut pass(&w, &[("TEST_READY", "101 102")], &[]));
    assert_eq!(code, 0);
    assert!(!out.contains("LAUNCHED_ISSUE="), "{out}");
    assert!(out.contains("RUNNING_SESSION=fl-issue-101\nSESSION=fl-issue-101\nSTATUS=RUNNING"));
    assert_eq!(count(&w, "LAUNCH:101"), 1);
}

#[test]
fn a_pass_reconciles_finished_sessions_once_per_run() {
    let w = world();
    w.write(
        "runs/fl-issue-7/run.env",
        "ISSUE_ID=7\nSTARTED_AT=2026-01-01T00:00:00Z\n",
    );
    w.write("runs/fl-issue-7/runner.env", "RUNNER_STATE=succeeded\n");
    w.write(
        "runs/fl-pr-8/run.env",
        "PR_NUMBER=8\nSTARTED_AT=2026-01-02T00:00:00Z\n",
    );
    w.write("runs/fl-pr-8/runner.env", "RUNNER_STATE=failed\n");
    w.write(
        "runs/fl-pr-8/reconciled.ok",
        "STARTED_AT=2026-01-02T00:00:00Z\n",
    );
    w.write("runs/other-9/runner.env", "RUNNER_STATE=succeeded\n");
    let (code, out, err) = run(&mut pass(&w, &[], &[]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("RECONCILED_SESSION=fl-issue-7\nreconciled fl-issue-7\n"),
        "{out}"
    );
    assert_eq!(events(&w), ["RECONCILE:fl-issue-7"]);
    assert!(out.ends_with("HEARTBEAT_OK\n"), "{out}");
    // A newer run under the same name is reconciled despite the old marker.
    w.write(
        "runs/fl-pr-8/run.env",
        "PR_NUMBER=8\nSTARTED_AT=2026-02-01T00:00:00Z\n",
    );
    let (_, out, _) = run(&mut pass(&w, &[], &[]));
    assert!(out.contains("RECONCILED_SESSION=fl-pr-8"), "{out}");
}

#[test]
fn retry_cooldown_defers_and_provider_cooldown_suppresses() {
    let w = world();
    let (code, _, err) = run(w.shim("tools/bin/agent-project-retry-state").args([
        "--state-root",
        "state",
        "--kind",
        "issue",
        "--item-id",
        "101",
        "--action",
        "schedule",
        "--reason",
        "test",
    ]));
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = run(&mut pass(&w, &[("TEST_READY", "101 102")], &[]));
    assert_eq!(code, 0);
    assert!(out.contains("LAUNCHED_ISSUE=102"), "{out}");
    assert!(!out.contains("LAUNCHED_ISSUE=101"), "{out}");
    assert!(out.contains("RETRY_DEFERRED\nISSUES=1\nPRS=0\n"), "{out}");

    let w = world();
    let env = [
        ("TEST_READY", "101"),
        ("TEST_PRS", "5"),
        ("TEST_PROVIDER_READY", "no"),
    ];
    let (code, out, _) = run(&mut pass(&w, &env, &[]));
    assert_eq!(code, 0);
    assert!(!out.contains("LAUNCHED_"), "{out}");
    assert!(
        out.contains(
            "PROVIDER_COOLDOWN\nBACKEND=openclaw\nMODEL=primary/model\nNEXT_ATTEMPT_AT=\n\
             LAST_REASON=provider-quota-limit\n"
        ),
        "{out}"
    );
    assert!(!events(&w).iter().any(|e| e.starts_with("LAUNCH")));
}

#[test]
fn the_exclusive_item_runs_alone() {
    let w = world();
    let env = [("TEST_READY", "101 102"), ("TEST_EXCLUSIVE", "102")];
    let (code, out, _) = run(&mut pass(&w, &env, &[]));
    assert_eq!(code, 0);
    assert!(out.contains("LAUNCHED_ISSUE=102\nEXCLUSIVE=yes\n"), "{out}");
    assert!(!out.contains("LAUNCHED_ISSUE=101"), "{out}");
    assert!(!out.contains("launch-planning:start"), "{out}");
    let (_, out, _) = run(&mut pass(&w, &env, &[]));
    assert!(
        out.contains("EXCLUSIVE_QUEUE_LOCK\nSTATE=running\nKIND=\nITEM_ID=\nREASON=active\n"),
        "{out}"
    );
    assert_eq!(count(&w, "LAUNCH:101"), 0);
}

#[test]
fn a_failing_launch_rolls_back_and_the_pass_goes_on_f22() {
    let w = world();
    let env = [("TEST_READY", "101 102"), ("TEST_FAIL", "101")];
    let (code, out, _) = run(&mut pass(&w, &env, &[]));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("LAUNCH_FAILED_ISSUE=101\nboom 101\n"), "{out}");
    assert!(out.contains("LAUNCHED_ISSUE=102"), "{out}");
    assert!(out.contains("LAUNCHED_ISSUES=1"), "{out}");
    assert_eq!(count(&w, "ROLLBACK:101"), 1);
    // F13: the failed item waits for its retry cooldown, not the next pass.
    let (_, out, _) = run(&mut pass(&w, &env, &[]));
    assert!(out.contains("RETRY_DEFERRED\nISSUES=1"), "{out}");
    assert_eq!(count(&w, "LAUNCH:101"), 1);
}

#[test]
fn a_dry_run_prints_the_plan_and_changes_nothing() {
    let w = world();
    w.write("runs/fl-issue-7/run.env", "ISSUE_ID=7\nSTARTED_AT=x\n");
    w.write("runs/fl-issue-7/runner.env", "RUNNER_STATE=succeeded\n");
    let env = [
        ("TEST_READY", "101"),
        ("TEST_RUNNING", "55"),
        ("TEST_PRS", "9"),
    ];
    let (code, out, err) = run(&mut pass(&w, &env, &["--dry-run"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("WOULD_RECONCILE_SESSION=fl-issue-7"), "{out}");
    assert!(out.contains("WOULD_SYNC_ISSUE_LABELS=55"), "{out}");
    assert!(out.contains("WOULD_CLEAR_PR_RUNNING=9"), "{out}");
    assert!(
        out.contains(
            "PLANNED_LAUNCH_PR=9\nPHASE=first-pr\nLANE=fix\nREASON=one PR before issue work"
        ),
        "{out}"
    );
    assert!(
        out.contains("PLANNED_LAUNCH_ISSUE=101\nPHASE=issue-loop\nKIND=ready\n"),
        "{out}"
    );
    assert!(events(&w).is_empty(), "{:?}", events(&w));
    // (retry-state's own `get` makes its directory; nothing else is written)
    for made in [
        "memory",
        "state/pending-launches",
        "state/launch-journal",
        "state/recurring",
    ] {
        assert!(!w.path(made).exists(), "{made}");
    }
    let (code, out, _) = run(&mut pass(&w, &env, &["--dry-run", "--json"]));
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out).expect(&out);
    assert_eq!(doc["plan"]["decisions"][0]["id"], "9");
    assert_eq!(doc["effects"][0], "WOULD_RECONCILE_SESSION=fl-issue-7");
    assert!(events(&w).is_empty());
}

#[test]
fn two_passes_at_once_launch_a_pr_once() {
    let w = world();
    let env = [("TEST_PRS", "31"), ("TEST_PR_SLOW", "2")];
    let mut a = pass(&w, &env, &[]);
    let mut b = pass(&w, &env, &[]);
    let ha = std::thread::spawn(move || run(&mut a));
    let hb = std::thread::spawn(move || run(&mut b));
    let (ra, rb) = (ha.join().unwrap(), hb.join().unwrap());
    assert_eq!((ra.0, rb.0), (0, 0), "{}\n{}\n{}", ra.1, rb.1, ra.2);
    assert_eq!(count(&w, "LAUNCH_PR:31"), 1, "{:?}", events(&w));
    assert!(w.has_session("fl-pr-31"));
}

#[test]
fn a_pass_killed_mid_launch_is_neither_repeated_nor_lost() {
    // Killed after staging the labels, before the worker started.
    let w = world();
    let flag = w.path("killed-at-mark");
    let flag = flag.to_str().unwrap();
    let env = [("TEST_READY", "101"), ("TEST_KILL_AT_MARK", flag)];
    let (code, _, _) = run(&mut pass(&w, &env, &[]));
    assert_ne!(code, 0);
    assert!(w.path("state/launch-journal/issue-101.env").is_file());
    let (code, out, _) = run(&mut pass(&w, &env, &[]));
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("LAUNCHED_ISSUE=101"), "settling: {out}");
    let late = [
        ("TEST_READY", "101"),
        ("ACP_LAUNCH_INTENT_GRACE_SECONDS", "0"),
    ];
    let (code, out, _) = run(&mut pass(&w, &late, &[]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("LAUNCHED_ISSUE=101"), "{out}");
    assert_eq!(count(&w, "ROLLBACK:101"), 1, "{:?}", events(&w));
    assert_eq!(count(&w, "LAUNCH:101"), 1);

    // Killed after the worker started, before the pass recorded it.
    let w = world();
    let flag = w.path("killed-after-start");
    let env = [
        ("TEST_READY", "101"),
        ("TEST_KILL_AFTER_START", flag.to_str().unwrap()),
        ("ACP_LAUNCH_INTENT_GRACE_SECONDS", "0"),
    ];
    let (code, _, _) = run(&mut pass(&w, &env, &[]));
    assert_ne!(code, 0);
    assert!(wait_until(10, || w.has_session("fl-issue-101")));
    let (code, out, _) = run(&mut pass(&w, &env, &[]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("RUNNING_SESSION=fl-issue-101"), "{out}");
    assert_eq!(count(&w, "LAUNCH:101"), 1);
    assert_eq!(count(&w, "ROLLBACK:101"), 0);
    assert!(!w.path("state/launch-journal/issue-101.env").exists());
}

#[test]
fn missing_hook_file_and_hook_exit_1() {
    let w = world();
    let mut c = pass(&w, &[], &[]);
    let args: Vec<String> = c
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut c2 = w.shim(TOOL);
    c2.args(
        args.iter()
            .skip(1)
            .map(|a| if a == "hooks.sh" { "nope.sh" } else { a }),
    );
    let (code, _, err) = run(&mut c2);
    assert_eq!(code, 1);
    assert!(err.contains("missing hook file: nope.sh"), "{err}");
    w.write("hooks.sh", "heartbeat_list_ready_issue_ids() { :; }\n");
    let (code, _, err) = run(&mut c);
    assert_eq!(code, 1);
    assert!(
        err.contains("missing required heartbeat hook: heartbeat_list_open_agent_pr_ids"),
        "{err}"
    );
    let (code, _, err) = run(w.shim(TOOL).args(["--repo-slug", "x"]));
    assert_eq!(code, 1);
    assert!(err.contains("Usage"), "{err}");
}

#[test]
fn the_session_of_a_closed_issue_is_cancelled_with_one_comment() {
    let mut w = world();
    let gh = w.fake_github(&serde_json::json!({
        "issues": [
            {"number": 201, "state": "CLOSED", "title": "done elsewhere", "labels": []},
            {"number": 202, "state": "OPEN", "title": "still open", "labels": []},
        ],
    }));
    let child = w.path("child.pid");
    let script = format!("sleep 300 & echo $! > {}; wait", child.display());
    w.tmux_session("fl-issue-201", &script);
    w.tmux_session("fl-issue-202", "sleep 300");
    assert!(wait_until(10, || !read(&child).trim().is_empty()));
    let pid = read(&child).trim().to_owned();
    let (code, out, _) = run(&mut pass(&w, &[], &["--dry-run"]));
    assert_eq!(code, 0);
    assert!(out.contains("WOULD_CANCEL_SESSION=fl-issue-201\n"), "{out}");
    assert!(w.has_session("fl-issue-201") && gh.comments(201).is_empty());

    let (code, out, err) = run(&mut pass(&w, &[], &[]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("CANCELLED_SESSION=fl-issue-201\nREASON=issue-closed\n"),
        "{out}"
    );
    assert!(!out.contains("CANCELLED_SESSION=fl-issue-202"), "{out}");
    assert!(!w.has_session("fl-issue-201"));
    assert!(w.has_session("fl-issue-202"));
    assert!(
        wait_until(10, || crate::harness::pid_gone(&pid)),
        "the worker's child outlived its session"
    );
    let comments = gh.comments(201);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(comments[0].contains("acp:fl-issue-201:cancelled-issue-closed"));
    // The next pass has nothing left to cancel and posts nothing more.
    let (_, out, _) = run(&mut pass(&w, &[], &[]));
    assert!(!out.contains("CANCELLED_SESSION="), "{out}");
    assert_eq!(gh.comments(201).len(), 1);
}
