//! Integration tests for `start-resident-issue-loop.sh` (run through its
//! shim): a fake GitHub, a private real tmux server (the stub
//! `start-issue-worker.sh` starts the worker's session in it), stub
//! `reconcile-issue-worker.sh` / `provider-cooldown-state.sh` next to the
//! shim, and a test `hooks/heartbeat-hooks.sh`.

use std::path::PathBuf;
use std::process::Command;

use serde_json::json;

use crate::fake_github::FakeGithub;
use crate::harness::{World, read, run, wait_until, write_script};

const TOOL: &str = "tools/bin/start-resident-issue-loop.sh";

/// A world with a profile (`demo-issue-` sessions, the given backend and
/// `resident_workers` settings), a fake GitHub holding `issues`, the
/// controller's waits shrunk, and stub siblings that log to `events.log`.
fn world(backend: &str, resident_yaml: &str, issues: serde_json::Value) -> (World, FakeGithub) {
    let mut w = World::new();
    let config = w.write(
        "profile/control-plane.yaml",
        format!(
            "id: \"demo\"\nrepo:\n  slug: \"example/demo\"\nruntime:\n  orchestrator_agent_root: \"{agent}\"\n  \
             state_root: \"{state}\"\nsession_naming:\n  issue_prefix: \"demo-issue-\"\n  pr_prefix: \"demo-pr-\"\n\
             execution:\n  coding_worker: \"{backend}\"\n  resident_workers:\n    controller_poll_seconds: 1\n\
             {resident_yaml}",
            agent = w.path("agent").display(),
            state = w.path("state").display(),
        ),
    );
    let events = w.path("events.log");
    w.env("AGENT_CONTROL_PLANE_CONFIG", &config)
        .env("TEST_EVENTS", &events)
        .env("ACP_RESIDENT_ISSUE_CONTROLLER_WORKER_POLL_SECONDS", "0.1")
        .env(
            "ACP_RESIDENT_ISSUE_CONTROLLER_RECONCILE_RETRY_SECONDS",
            "0.1",
        )
        .env("ACP_RESIDENT_ISSUE_CONTROLLER_LANE_SETTLE_SECONDS", "0");
    let gh = w.fake_github(&json!({ "issues": issues }));
    // The worker: a real tmux session that ends by itself.
    write_script(
        &w.skill.join("tools/bin/start-issue-worker.sh"),
        "#!/usr/bin/env bash\nset -euo pipefail\n\
         printf 'START:%s:%s:%s\\n' \"$1\" \"${2:-}\" \"${ACP_CODING_WORKER:-}\" >>\"$TEST_EVENTS\"\n\
         tmux new-session -d -s \"demo-issue-$1\" 'sleep 0.3'\n",
    );
    write_script(
        &w.skill.join("tools/bin/reconcile-issue-worker.sh"),
        "#!/usr/bin/env bash\nset -euo pipefail\nprintf 'RECONCILE:%s\\n' \"$1\" >>\"$TEST_EVENTS\"\n\
         printf 'STATUS=SUCCEEDED\\n'\n",
    );
    let _ = std::fs::remove_file(w.skill.join("tools/bin/provider-cooldown-state.sh"));
    hooks(
        &w,
        "heartbeat_open_agent_pr_issue_ids() { printf '[]\\n'; }\n",
    );
    (w, gh)
}

fn hooks(w: &World, body: &str) {
    w.write(
        "skill/hooks/heartbeat-hooks.sh",
        format!("#!/usr/bin/env bash\nset -euo pipefail\n{body}"),
    );
}

fn issue(n: u64, body: &str, labels: &[&str]) -> serde_json::Value {
    json!({"number": n, "title": format!("Issue {n}"), "body": body, "state": "OPEN", "labels": labels})
}

fn controller(w: &World, issue: &str) -> PathBuf {
    w.path(&format!(
        "state/resident-workers/issues/{issue}/controller.env"
    ))
}

fn events(w: &World) -> Vec<String> {
    std::fs::read_to_string(w.path("events.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn has_line(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

#[test]
fn runs_immediate_cycles_then_stops_after_the_idle_timeout() {
    let (w, gh) = world(
        "openclaw",
        "    issue_controller_max_immediate_cycles: 2\n    issue_controller_idle_timeout_seconds: 1\n",
        json!([issue(440, "Keep this issue moving.", &["agent-keep-open"])]),
    );
    let (code, out, err) = run(w.shim(TOOL).arg("440"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "");
    assert_eq!(
        events(&w),
        vec![
            "START:440:safe:openclaw",
            "RECONCILE:demo-issue-440",
            "START:440:safe:openclaw",
            "RECONCILE:demo-issue-440",
        ]
    );
    let c = read(controller(&w, "440"));
    for line in [
        "CONTROLLER_LOOP_COUNT=2",
        "CONTROLLER_REASON=idle-timeout",
        "CONTROLLER_STATE=stopped",
        "ACTIVE_RESIDENT_WORKER_KEY=issue-lane-recurring-general-openclaw-safe",
        "ACTIVE_RESIDENT_LANE_KIND=recurring",
        "ACTIVE_PROVIDER_BACKEND=openclaw",
        "SESSION=demo-issue-440",
    ] {
        assert!(has_line(&c, line), "{line} in\n{c}");
    }
    assert!(c.lines().any(|l| l.starts_with("CONTROLLER_PID_START=")));
    assert!(!w.path("state/pending-launches/issue-440.pid").exists());
    // GitHub is read again on every iteration (F17), never written.
    let views = gh
        .calls()
        .iter()
        .filter(|c| c[..2] == ["issue", "view"])
        .count();
    assert!(views >= 4, "{:?}", gh.calls());
    assert!(gh.calls().iter().all(|c| c[..2] != ["issue", "edit"]));
}

#[test]
fn adopts_a_queued_lease_when_the_issue_gets_an_open_pr() {
    let (w, _gh) = world(
        "codex",
        "    issue_controller_max_immediate_cycles: 1\n    issue_controller_idle_timeout_seconds: 1\n",
        json!([
            issue(440, "Keep going.", &["agent-keep-open"]),
            issue(441, "Keep going too.", &["agent-keep-open"]),
        ]),
    );
    hooks(
        &w,
        "heartbeat_open_agent_pr_issue_ids() {\n  if grep -q '^START:440' \"$TEST_EVENTS\" 2>/dev/null; then printf '[\"440\"]\\n'; else printf '[]\\n'; fi\n}\n\
         heartbeat_issue_is_heavy() { printf 'no\\n'; }\n\
         heartbeat_mark_issue_running() { printf 'RUNNING:%s:%s\\n' \"$1\" \"$2\" >>\"$TEST_EVENTS\"; }\n",
    );
    w.write(
        "state/resident-workers/issue-queue/pending/issue-441.env",
        "ISSUE_ID=441\nQUEUED_BY=test\nQUEUED_AT=2026-03-26T00:00:00Z\n",
    );
    let (code, _, err) = run(w.shim(TOOL).args(["440", "safe"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        events(&w),
        vec![
            "RUNNING:440:no",
            "START:440:safe:codex",
            "RECONCILE:demo-issue-440",
            "RUNNING:441:no",
            "START:441:safe:codex",
            "RECONCILE:demo-issue-441",
        ]
    );
    assert!(!controller(&w, "440").exists());
    let c = read(controller(&w, "441"));
    assert!(has_line(&c, "ISSUE_ID=441"), "{c}");
    assert!(has_line(&c, "CONTROLLER_REASON=idle-timeout"), "{c}");
    let queue = w.path("state/resident-workers/issue-queue");
    assert!(!queue.join("pending/issue-441.env").exists());
    assert_eq!(std::fs::read_dir(queue.join("claims")).unwrap().count(), 0);
    for id in ["440", "441"] {
        assert!(
            !w.path(&format!("state/pending-launches/issue-{id}.pid"))
                .exists()
        );
    }
}

#[test]
fn yields_to_a_live_controller_of_the_same_lane() {
    let (w, _gh) = world(
        "openclaw",
        "    issue_controller_idle_timeout_seconds: 30\n",
        json!([issue(441, "Keep going.", &["agent-keep-open"])]),
    );
    let mut peer = Command::new("sleep").arg("30").spawn().unwrap();
    let me = acp_core::procid::ProcId::of(peer.id()).unwrap();
    w.write(
        "state/resident-workers/issues/440/controller.env",
        format!(
            "ISSUE_ID=440\nCONTROLLER_PID={}\nCONTROLLER_PID_START={}\nCONTROLLER_STATE=waiting-worker\n\
             ACTIVE_RESIDENT_WORKER_KEY=issue-lane-recurring-general-openclaw-safe\n",
            me.pid, me.start
        ),
    );
    let (code, _, err) = run(w.shim(TOOL).arg("441"));
    peer.kill().unwrap();
    peer.wait().unwrap();
    assert_eq!(code, 0, "{err}");
    assert!(events(&w).is_empty(), "{:?}", events(&w));
    let q = read(w.path("state/resident-workers/issue-queue/pending/issue-441.env"));
    assert!(
        has_line(&q, "ISSUE_ID=441") && has_line(&q, "QUEUED_BY=resident-live-lane"),
        "{q}"
    );
    let c = read(controller(&w, "441"));
    assert!(has_line(&c, "CONTROLLER_STATE=stopped"), "{c}");
    assert!(
        has_line(
            &c,
            "CONTROLLER_REASON=live-lane-controller-440-waiting-worker"
        ),
        "{c}"
    );
    assert!(controller(&w, "440").exists(), "the live peer is kept");
}

#[test]
fn waits_for_the_provider_then_retries_a_running_reconcile() {
    let (w, _gh) = world(
        "openclaw",
        "    issue_controller_max_immediate_cycles: 1\n    issue_controller_idle_timeout_seconds: 0\n",
        json!([issue(440, "Keep going.", &["agent-keep-open"])]),
    );
    write_script(
        &w.skill.join("tools/bin/provider-cooldown-state.sh"),
        "#!/usr/bin/env bash\nset -euo pipefail\nf=\"$TEST_EVENTS.provider\"\n\
         n=$(( $(cat \"$f\" 2>/dev/null || echo 0) + 1 )); echo $n >\"$f\"\n\
         if (( n <= 2 )); then printf 'PROVIDER:no\\n' >>\"$TEST_EVENTS\"; \
         printf 'READY=no\\nNEXT_ATTEMPT_EPOCH=%s\\nNEXT_ATTEMPT_AT=x\\n' $(( $(date +%s) + 1 ));\n\
         else printf 'READY=yes\\n'; fi\n",
    );
    write_script(
        &w.skill.join("tools/bin/reconcile-issue-worker.sh"),
        "#!/usr/bin/env bash\nset -euo pipefail\nf=\"$TEST_EVENTS.reconcile\"\n\
         n=$(( $(cat \"$f\" 2>/dev/null || echo 0) + 1 )); echo $n >\"$f\"\n\
         if (( n == 1 )); then echo RECONCILE:RUNNING >>\"$TEST_EVENTS\"; echo STATUS=RUNNING; \
         else echo RECONCILE:FAILED >>\"$TEST_EVENTS\"; echo STATUS=FAILED; fi\n",
    );
    let (code, _, err) = run(w.shim(TOOL).arg("440"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        events(&w),
        vec![
            "PROVIDER:no",
            "PROVIDER:no",
            "START:440:safe:openclaw",
            "RECONCILE:RUNNING",
            "RECONCILE:FAILED",
        ]
    );
    let c = read(controller(&w, "440"));
    for line in [
        "PROVIDER_WAIT_COUNT=1",
        "PROVIDER_FAILOVER_COUNT=0",
        "CONTROLLER_REASON=max-immediate-cycles",
        "CONTROLLER_STATE=stopped",
    ] {
        assert!(has_line(&c, line), "{line} in\n{c}");
    }
    let waited: u64 = crate::harness::kv(&c, "PROVIDER_WAIT_TOTAL_SECONDS")
        .unwrap()
        .parse()
        .unwrap();
    assert!(waited >= 1, "{c}");
}

#[test]
fn a_scheduled_issue_sleeps_without_a_pending_launch_and_stops_on_term() {
    let (w, _gh) = world(
        "claude",
        "    issue_controller_idle_timeout_seconds: 30\n",
        json!([issue(440, "Agent schedule: every 5m", &["agent-scheduled"])]),
    );
    let mut child = w.shim(TOOL).arg("440").spawn().unwrap();
    let c = controller(&w, "440");
    let now = || std::fs::read_to_string(&c).unwrap_or_default();
    let sleeping = wait_until(30, || has_line(&now(), "CONTROLLER_STATE=sleeping"));
    let text = now();
    let pending_gone = !w.path("state/pending-launches/issue-440.pid").exists();
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(sleeping, "{text}");
    assert!(pending_gone);
    assert!(
        has_line(
            &text,
            "ACTIVE_RESIDENT_WORKER_KEY=issue-lane-scheduled-300-claude-safe"
        ),
        "{text}"
    );
    let due = read(w.path("state/scheduled-issues/440.env"));
    assert!(has_line(&due, "INTERVAL_SECONDS=300"), "{due}");
    assert_eq!(status.code(), Some(0));
    let end = read(&c);
    assert!(has_line(&end, "CONTROLLER_STATE=stopped"), "{end}");
    assert!(has_line(&end, "CONTROLLER_REASON=interrupted"), "{end}");
}

#[test]
fn backends_without_resident_lanes_run_one_plain_worker() {
    let (w, _gh) = world(
        "kilo",
        "",
        json!([issue(440, "Keep going.", &["agent-keep-open"])]),
    );
    let (code, _, err) = run(w.shim(TOOL).args(["440", "bypass"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(events(&w), vec!["START:440:bypass:kilo"]);
    assert!(!controller(&w, "440").exists());
}

#[test]
fn usage_without_an_issue() {
    let (w, _gh) = world("codex", "", json!([]));
    let (code, _, err) = run(w.shim(TOOL).arg(""));
    assert_eq!(code, 1);
    assert!(
        err.contains("usage: start-resident-issue-loop.sh ISSUE_ID [safe|bypass]"),
        "{err}"
    );
}
