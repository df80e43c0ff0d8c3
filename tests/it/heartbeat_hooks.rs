//! The shipped heartbeat policy (`hooks/heartbeat-hooks.sh`): its bash
//! functions sourced by bash, and the Rust policy the heartbeat pass loads
//! for the unchanged file (`agent-project-heartbeat-hooks call ...` drives
//! it hook after hook in one process), against the fake `gh`.
//! GitHub calls are counted for a 200-issue / 50-PR repository.

use std::process::Command;

use serde_json::{Value, json};

use crate::fake_github::FakeGithub;
use crate::harness::{World, run, write_script};

const REPO: &str = "example/bench";

/// Issues 1..=200 (every 10th running, every 25th blocked, every 40th
/// recurring, issue 7 exclusive, issue 9 scheduled every 30 minutes,
/// issues 1..=3 labelled agent-ready) and PRs 1001..=1050 on managed
/// branches closing issues 151..=200 (every 5th PR running).
fn big_world() -> Value {
    let mut issues = Vec::new();
    for n in 1..=200u64 {
        let mut labels = Vec::new();
        if n % 10 == 0 {
            labels.push("agent-running");
        }
        if n % 25 == 0 && n % 10 != 0 {
            labels.push("agent-blocked");
        }
        if n % 40 == 0 {
            labels.push("agent-keep-open");
        }
        if n == 7 {
            labels.push("agent-exclusive");
        }
        if n <= 3 {
            labels.push("agent-ready");
        }
        let body = if n == 9 {
            "Agent schedule: every 30m"
        } else {
            "Plain work."
        };
        issues.push(json!({
            "number": n, "title": format!("Issue {n}"), "body": body, "state": "OPEN",
            "labels": labels, "createdAt": format!("2026-01-01T00:{:02}:{:02}Z", n / 60, n % 60),
            "updatedAt": "2026-01-02T00:00:00Z",
        }));
    }
    let mut prs = Vec::new();
    for i in 1..=50u64 {
        let issue = 150 + i;
        let labels: Vec<&str> = if i % 5 == 0 {
            vec!["agent-running"]
        } else {
            vec![]
        };
        prs.push(json!({
            "number": 1000 + i, "title": format!("PR {i}"), "body": format!("Closes #{issue}"),
            "state": "OPEN", "labels": labels, "headRefName": format!("agent/bench/issue-{issue}-work"),
            "headRefOid": format!("{:040x}", i), "baseRefName": "main", "author": "bot",
            "createdAt": format!("2026-01-03T00:00:{:02}Z", i),
        }));
    }
    json!({
        "labels": ["agent-ready", "agent-running", "agent-blocked", "agent-keep-open", "agent-exclusive"],
        "issues": issues,
        "prs": prs,
        "comments": {"25": [{"id": 1, "body": "# Blocker: Verification guard prevented publish\n\nWhy it was blocked:\n- verification guard", "user": {"login": "bot"}}]},
    })
}

/// A world with the profile `bench` (roots in the world), the fake `gh`,
/// and a stub detached launcher recording its arguments.
fn world(ready_label: bool) -> (World, FakeGithub) {
    let mut w = World::new();
    let gh = w.fake_github(&big_world());
    let repo = w.git_repo("repo");
    let root = w.root();
    let queue = if ready_label {
        "queue:\n  require_ready_label: true\n"
    } else {
        ""
    };
    w.write(
        "registry/bench/control-plane.yaml",
        format!(
            "schema_version: \"1\"\nid: \"bench\"\nrepo:\n  slug: \"{REPO}\"\n  root: \"{repo}\"\n  \
             default_branch: \"main\"\nruntime:\n  orchestrator_agent_root: \"{r}/agent\"\n  \
             agent_repo_root: \"{repo}\"\n  worktree_root: \"{r}/worktrees\"\n  runs_root: \"{r}/runs\"\n  \
             state_root: \"{r}/state\"\n  history_root: \"{r}/history\"\nsession_naming:\n  \
             issue_prefix: \"bench-issue-\"\n  pr_prefix: \"bench-pr-\"\nexecution:\n  coding_worker: \"codex\"\n{queue}",
            repo = repo.display(),
            r = root.display()
        ),
    );
    let registry = w.path("registry");
    w.env("ACP_PROFILE_REGISTRY_ROOT", &registry)
        .env("ACP_PROJECT_ID", "bench")
        .env("TMPDIR", root.join("tmp"));
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    let launches = w.path("launches.log");
    write_script(
        &w.path("skill/tools/bin/agent-project-detached-launch"),
        &format!(
            "#!/usr/bin/env bash\nprintf '%s\\n' \"$*\" >>'{}'\nprintf 'LAUNCH_MODE=detached\\nLAUNCH_PID=1\\n'\n",
            launches.display()
        ),
    );
    (w, gh)
}

/// `bash -c 'source hooks/heartbeat-hooks.sh; <script>'` in the world.
fn sourced(w: &World, script: &str) -> (i32, String, String) {
    let hooks = w.path("skill/hooks/heartbeat-hooks.sh");
    let mut cmd = w.cmd("bash");
    cmd.arg("-c")
        .arg(format!("set -euo pipefail\nsource \"$1\"\n{script}"))
        .arg("hooks")
        .arg(&hooks);
    run(&mut cmd)
}

/// The Rust policy: `agent-project-heartbeat-hooks call` with `steps`.
fn policy(w: &World, steps: &[&str]) -> (i32, String, String) {
    let hooks = w.path("skill/hooks/heartbeat-hooks.sh");
    let mut cmd: Command = w.shim("tools/bin/agent-project-heartbeat-hooks");
    cmd.arg("--hook-file").arg(&hooks).arg("call");
    for (i, s) in steps.iter().enumerate() {
        if i > 0 {
            cmd.arg("::");
        }
        cmd.args(s.split_whitespace());
    }
    run(&mut cmd)
}

/// The output of hook `name` in a `call` transcript.
fn hook_out<'a>(out: &'a str, name: &str) -> Vec<&'a str> {
    let start = format!("HOOK={name}\n");
    let Some(i) = out.find(&start) else {
        return Vec::new();
    };
    out[i + start.len()..]
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("HOOK="))
        .collect()
}

fn shapes(gh: &FakeGithub) -> Vec<String> {
    gh.calls()
        .iter()
        .map(|c| c.iter().take(2).cloned().collect::<Vec<_>>().join(" "))
        .collect()
}

fn expected_ready() -> Vec<String> {
    // Not running (x10), not blocked (25, 75, 125, 175), not linked
    // (151..=200); issue 9 is scheduled but ready all the same.
    (1..=150u64)
        .filter(|n| n % 10 != 0 && n % 25 != 0)
        .map(|n| n.to_string())
        .collect()
}

#[test]
fn the_sourced_hook_file_lists_from_one_read_of_each_list() {
    let (w, gh) = world(false);
    let (code, out, err) = sourced(
        &w,
        "heartbeat_list_ready_issue_ids; echo --; heartbeat_list_running_issue_ids; echo --; \
         heartbeat_list_open_agent_pr_ids | wc -l; echo --; heartbeat_open_agent_pr_issue_ids; echo --; \
         heartbeat_list_exclusive_issue_ids; echo --; heartbeat_issue_is_recurring 40; \
         heartbeat_issue_is_scheduled 9; heartbeat_issue_schedule_interval_seconds 9; \
         heartbeat_issue_schedule_label 9; heartbeat_issue_is_exclusive 7; heartbeat_issue_resident_worker_key 9",
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let parts: Vec<&str> = out.split("--\n").collect();
    let ready: Vec<String> = parts[0].lines().map(str::to_string).collect();
    assert_eq!(ready, expected_ready());
    assert_eq!(parts[1].lines().count(), 20);
    assert_eq!(parts[2].trim(), "50");
    assert!(parts[3].contains("\"151\"") && parts[3].contains("\"200\""));
    assert_eq!(parts[4].trim(), "7");
    let attrs: Vec<&str> = parts[5].lines().collect();
    assert_eq!(
        attrs,
        [
            "yes",
            "yes",
            "1800",
            "agent-schedule-30m",
            "yes",
            "issue-lane-scheduled-1800-codex-safe"
        ]
    );
    // One issue list and one PR list for all of it (the lists answer the
    // attributes too), kept in the sourcing shell's cache directory.
    assert_eq!(shapes(&gh), ["pr list", "issue list"], "{:?}", gh.calls());
    // Blocked issues need their comments: the open-issue list holds them
    // (no view of 25, 75 or 125).
    gh.clear_calls();
    let (code, out, err) = sourced(&w, "heartbeat_list_blocked_recovery_issue_ids");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().collect::<Vec<_>>(), ["25"]);
    let views = shapes(&gh).iter().filter(|s| *s == "issue view").count();
    assert_eq!(views, 0, "{:?}", gh.calls());
}

#[test]
fn the_ready_label_is_honoured_when_the_profile_asks() {
    let (w, _gh) = world(true);
    let (code, out, err) = sourced(&w, "heartbeat_list_ready_issue_ids");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().collect::<Vec<_>>(), ["1", "2", "3"]);
    let (code, out, err) = policy(&w, &["list_ready_issue_ids"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(hook_out(&out, "list_ready_issue_ids"), ["1", "2", "3"]);
}

#[test]
fn the_sourced_label_functions_call_the_sibling_with_the_original_arguments() {
    let (w, _gh) = world(false);
    let log = w.path("labels.log");
    write_script(
        &w.path("skill/tools/bin/agent-github-update-labels"),
        &format!(
            "#!/usr/bin/env bash\nprintf '%s\\n' \"$*\" >>'{}'\n",
            log.display()
        ),
    );
    let (code, out, err) = sourced(
        &w,
        "heartbeat_mark_issue_running 11 yes; heartbeat_issue_launch_failed 11; \
         heartbeat_sync_issue_labels 9; heartbeat_mark_pr_running 1001; heartbeat_clear_pr_running 1001",
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let lines: Vec<String> = crate::harness::read(&log)
        .lines()
        .map(str::to_string)
        .collect();
    let r = format!("--repo-slug {REPO}");
    assert_eq!(
        lines,
        [
            format!(
                "{r} --number 11 --remove agent-ready --remove agent-blocked --add agent-running --add agent-e2e-heavy"
            ),
            format!("{r} --number 11 --remove agent-running"),
            format!(
                "{r} --number 9 --remove agent-running --remove agent-blocked --remove agent-scheduled --add agent-scheduled --add agent-schedule-30m"
            ),
            format!("{r} --number 1001 --add agent-running --remove agent-blocked"),
            format!("{r} --number 1001 --remove agent-running"),
        ]
    );
}

#[test]
fn workers_start_through_the_detached_launcher_with_pending_keys() {
    let (w, _gh) = world(false);
    let (code, out, err) = policy(
        &w,
        &[
            "start_issue_worker 11",
            "start_pr_review_worker 1001",
            "start_pr_fix_worker 1002",
            "start_pr_merge_repair_worker 1003",
        ],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let tools = w.path("skill/tools/bin");
    let t = tools.display();
    let lines: Vec<String> = crate::harness::read(w.path("launches.log"))
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(
        lines,
        [
            format!("--pending-key issue-11 issue-11 {t}/start-issue-worker.sh 11"),
            format!("--pending-key pr-1001 pr-review-1001 {t}/start-pr-review-worker.sh 1001"),
            format!("--pending-key pr-1002 pr-fix-1002 {t}/start-pr-fix-worker.sh 1002"),
            format!(
                "--pending-key pr-1003 pr-merge-repair-1003 {t}/start-pr-merge-repair-worker.sh 1003"
            ),
        ]
    );
}

#[test]
fn a_queued_resident_issue_is_not_marked_running() {
    let (w, gh) = world(false);
    // A live controller of issue 40's lane (recurring, codex).
    let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
    let me = acp_core_procid_line(sleeper.id());
    w.write(
        "state/resident-workers/issues/80/controller.env",
        format!(
            "ISSUE_ID=80\nCONTROLLER_PID={me}\nCONTROLLER_STATE=waiting-worker\n\
             ACTIVE_RESIDENT_WORKER_KEY=issue-lane-recurring-general-codex-safe\n"
        ),
    );
    gh.clear_calls();
    let (code, out, err) = policy(&w, &["mark_issue_running 40 no", "start_issue_worker 40"]);
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("LAUNCH_MODE=resident-lease"), "{out}");
    assert!(
        !shapes(&gh).iter().any(|s| s == "issue edit"),
        "{:?}",
        gh.calls()
    );
    let queued =
        crate::harness::read(w.path("state/resident-workers/issue-queue/pending/issue-40.env"));
    assert!(
        queued.contains("ISSUE_ID=40\nQUEUED_BY=heartbeat-live-lane\n"),
        "{queued}"
    );
    assert!(!w.path("launches.log").exists());
    // A queued (or claimed) issue is no longer offered as ready: no re-pick
    // every pass.
    w.write(
        "state/resident-workers/issue-queue/pending/issue-39.env",
        "ISSUE_ID=39\n",
    );
    w.write("state/resident-workers/issue-queue/claims/issue-38.c.1", "");
    let (code, out, err) = policy(&w, &["list_ready_issue_ids"]);
    assert_eq!(code, 0, "{err}");
    let ready = hook_out(&out, "list_ready_issue_ids");
    assert!(ready.contains(&"37"), "{out}");
    assert!(!ready.contains(&"38") && !ready.contains(&"39"), "{out}");
}

/// `pid start` of a child, as our resident controller records it.
fn acp_core_procid_line(pid: u32) -> String {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let start = stat
        .rsplit_once(')')
        .and_then(|(_, r)| r.split_whitespace().nth(19))
        .unwrap_or("");
    format!("{pid} {start}").trim().to_string()
}

/// The hooks one pass of the engine asks when nothing is launched: the
/// lists, the labels of running issues without a session and of idle
/// agent PRs, the attributes of the first ready issues.
fn pass_steps() -> Vec<String> {
    let mut steps: Vec<String> = [
        "list_running_issue_ids",
        "list_open_agent_pr_ids",
        "list_exclusive_issue_ids",
        "list_exclusive_pr_ids",
        "list_blocked_recovery_issue_ids",
        "list_ready_issue_ids",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for n in [30, 60] {
        steps.push(format!("sync_issue_labels {n}"));
    }
    for pr in 1001..=1050 {
        steps.push(format!("clear_pr_running {pr}"));
        steps.push(format!("sync_pr_labels {pr}"));
    }
    for pr in 1001..=1050 {
        steps.push(format!("pr_risk_json {pr}"));
    }
    for n in 1..=20 {
        for h in [
            "issue_is_heavy",
            "issue_is_recurring",
            "issue_is_scheduled",
            "issue_is_exclusive",
        ] {
            steps.push(format!("{h} {n}"));
        }
    }
    steps
}

#[test]
fn a_pass_of_200_issues_and_50_prs_costs_a_handful_of_calls_and_a_repeat_fewer() {
    let (w, gh) = world(false);
    let steps = pass_steps();
    let refs: Vec<&str> = steps.iter().map(String::as_str).collect();
    let (code, out, err) = policy(&w, &refs);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(
        hook_out(&out, "list_ready_issue_ids").len(),
        expected_ready().len()
    );
    // Blocked 25 is held by its comment's reason; 75, 125 have no comment.
    assert_eq!(hook_out(&out, "list_blocked_recovery_issue_ids"), ["25"]);
    let first = shapes(&gh);
    let count = |v: &[String], s: &str| v.iter().filter(|x| x.as_str() == s).count();
    assert_eq!(count(&first, "issue list"), 1, "{first:?}");
    assert_eq!(count(&first, "pr list"), 1, "{first:?}");
    // Views only for the blocked issues' comments (25, 75, 125).
    assert_eq!(count(&first, "issue view"), 3, "{first:?}");
    // The running issues 30 and 60 lose agent-running (one delta each), the
    // 10 running PRs too (and sync-pr-labels.sh clears their issues).
    assert!(count(&first, "issue edit") >= 2, "{first:?}");
    assert!(count(&first, "pr edit") >= 10, "{first:?}");
    let first_total = first.len();
    eprintln!("first pass: {first_total} gh calls: {first:?}");

    gh.clear_calls();
    let (code, out, err) = policy(&w, &refs);
    assert_eq!(code, 0, "{out}\n{err}");
    let second = shapes(&gh);
    // Nothing changed: the two lists, no views (the blocked reasons are
    // remembered per updatedAt), no label sync of an unchanged PR, no
    // label write (the labels are already right).
    assert_eq!(
        second,
        ["issue list", "pr list"],
        "first pass: {first_total} calls"
    );
}

/// Run `session`'s files (issue `id`, finished, blocked with a comment).
fn blocked_session(w: &World, session: &str, id: u64) {
    let repo = w.path("repo");
    w.write(
        &format!("runs/{session}/run.env"),
        format!(
            "SESSION={session}\nWORKTREE={}\nBRANCH=main\nSTARTED_AT=2026-01-01T00:00:00Z\n\
             CODING_WORKER=codex\nISSUE_ID={id}\nTASK_KIND=issue\n",
            repo.display()
        ),
    );
    w.write(
        &format!("runs/{session}/runner.env"),
        "RUNNER_STATE=succeeded\nATTEMPT=1\nLAST_EXIT_CODE=0\n",
    );
    w.write(
        &format!("runs/{session}/result.env"),
        format!("OUTCOME=blocked\nACTION=host-comment-blocker\nISSUE_ID={id}\n"),
    );
    w.write(
        &format!("runs/{session}/issue-comment.md"),
        "# Blocker: Change scope was too broad\n\nToo many packages.\n",
    );
}

#[test]
fn reconciles_run_in_process_within_the_session_budget() {
    let (mut w, gh) = world(false);
    let dispatch_log = w.path("dispatch.log");
    w.env("ACP_DISPATCH_LOG", &dispatch_log);
    blocked_session(&w, "bench-issue-30", 30);
    blocked_session(&w, "bench-issue-60", 60);
    gh.clear_calls();
    let (code, out, err) = policy(
        &w,
        &[
            "reconcile_issue bench-issue-30",
            "reconcile_issue bench-issue-60",
            "list_running_issue_ids",
        ],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let log = crate::harness::read(&dispatch_log);
    assert!(
        log.contains("in-process reconcile-issue-worker.sh"),
        "{log}"
    );
    assert!(
        log.contains("in-process agent-project-reconcile-issue-session"),
        "{log}"
    );
    let calls = shapes(&gh);
    // The pass's two lists first; then each session: the blocker comment
    // (marker checked in the list's comments of the issue) and the label
    // delta, 2 calls. The running list afterwards is the remembered list,
    // patched with the labels the reconciles wrote (no third read).
    assert_eq!(
        calls,
        [
            "issue list",
            "pr list",
            "api repos/example/bench/issues/30/comments",
            "issue edit",
            "api repos/example/bench/issues/60/comments",
            "issue edit",
        ],
        "{:?}",
        gh.calls()
    );
}

#[test]
fn a_ci_refresh_reruns_the_failed_actions_runs_of_the_head_commit() {
    let (w, gh) = world(false);
    let sha = format!("{:040x}", 3);
    gh.put(
        "check_runs",
        json!({ sha.clone(): [
            {"name": "a", "conclusion": "failure", "details_url": "https://github.com/example/bench/actions/runs/77/job/1"},
            {"name": "b", "conclusion": "failure", "details_url": "https://github.com/example/bench/actions/runs/78/job/2"},
            {"name": "c", "conclusion": "success", "details_url": "https://github.com/example/bench/actions/runs/79/job/3"},
            {"name": "d", "conclusion": "failure", "details_url": "https://ci.example/5"}
        ]}),
    );
    gh.put("rerun_refused", json!(["78"]));
    gh.clear_calls();
    let (code, out, err) = policy(
        &w,
        &["start_pr_ci_refresh 1003", "start_pr_ci_refresh 1004"],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains(&format!(
            "CI_REFRESH_STATUS=rerun-requested\nPR_NUMBER=1003\nHEAD_SHA={sha}\nRERUN_COUNT=2\n"
        )),
        "{out}"
    );
    assert!(out.contains("CI_REFRESH_STATUS=no-failed-runs"), "{out}");
    assert_eq!(
        gh.state()["reruns"],
        json!(["77/rerun-failed-jobs", "78/rerun"])
    );
    // The head commit came from the PR list: no PR view.
    assert!(
        !shapes(&gh).iter().any(|s| s == "pr view"),
        "{:?}",
        gh.calls()
    );
    let retry = crate::harness::read(w.path("state/retries/prs/1003.env"));
    assert!(retry.contains("LAST_REASON=ci-refresh-rerun"), "{retry}");
}

#[test]
fn a_ci_refresh_takes_the_failed_runs_from_the_listed_rollup_without_a_check_runs_read() {
    let (w, gh) = world(false);
    let mut state = gh.state();
    let prs = state["prs"].as_array_mut().expect("prs");
    let pr = prs
        .iter_mut()
        .find(|p| p["number"] == 1003)
        .expect("PR 1003");
    pr["statusCheckRollup"] = json!([
        {"__typename": "CheckRun", "name": "a", "conclusion": "FAILURE",
         "detailsUrl": "https://github.com/example/bench/actions/runs/91/job/1"},
        {"__typename": "CheckRun", "name": "b", "conclusion": "SUCCESS",
         "detailsUrl": "https://github.com/example/bench/actions/runs/92/job/2"},
        {"__typename": "StatusContext", "context": "legacy", "state": "FAILURE"}
    ]);
    gh.set(&state);
    gh.clear_calls();
    let (code, out, err) = policy(&w, &["start_pr_ci_refresh 1003"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("RERUN_COUNT=1"), "{out}");
    assert_eq!(gh.state()["reruns"], json!(["91/rerun-failed-jobs"]));
    assert!(
        !shapes(&gh).iter().any(|s| s.contains("check-runs")),
        "the rollup named the failed run: {:?}",
        gh.calls()
    );
}
