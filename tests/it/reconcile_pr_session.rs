//! agent-project-reconcile-pr-session through its shim, against the fake
//! GitHub (tests/fake-gh/fake_gh.py), with stub siblings in a shared tools
//! dir as the original's tests use, and a bash hook file that logs events.

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};

use crate::fake_github::FakeGithub;
use crate::harness::{World, kv, read, run, write_script};

const TOOL: &str = "tools/bin/agent-project-reconcile-pr-session";
const REPO: &str = "acme/widgets";
const SESSION: &str = "acme-pr-500";

/// Logs every hook call to $TEST_EVENTS; `pr_automerge_allowed` answers
/// $TEST_AUTOMERGE (default yes); `pr_clear_retry` waits $TEST_SLOW seconds.
const HOOKS: &str = r#"
log() { printf '%s\n' "$*" >>"$TEST_EVENTS"; }
pr_schedule_retry() { log "retry:$1"; }
pr_clear_retry() { sleep "${TEST_SLOW:-0}"; log clear; }
pr_after_merged() { log "merged:$1"; }
pr_after_closed() { log "closed:$1"; }
pr_after_blocked() { log "blocked:$1"; }
pr_after_failed() { log "failed:$1"; }
pr_after_succeeded() { log "succeeded:$1"; }
pr_after_updated_branch() { log "updated:$1"; }
pr_after_double_check_advanced() { log "advanced:$1:$2"; }
pr_cleanup_linked_issue_session() { log "linked:$1"; }
pr_automerge_allowed() { printf '%s\n' "${TEST_AUTOMERGE:-yes}"; }
pr_after_reconciled() { log "reconciled:$*"; }
"#;

/// Prints STATUS (status.txt of the run dir, default SUCCEEDED) and META_FILE.
const WORKER_STATUS: &str = r#"#!/usr/bin/env bash
while [[ $# -gt 0 ]]; do
  case "$1" in --runs-root) r="$2"; shift 2 ;; --session) s="$2"; shift 2 ;; *) shift ;; esac
done
printf 'SESSION=%s\nSTATUS=%s\nMETA_FILE=%s\n' "$s" "$(cat "$r/$s/status.txt" 2>/dev/null || echo SUCCEEDED)" "$r/$s/run.env"
"#;

struct Rig {
    w: World,
    gh: FakeGithub,
    runs: PathBuf,
    run_dir: PathBuf,
    events: PathBuf,
    hooks: PathBuf,
}

fn pr(state: &str, author: &str) -> Value {
    json!({"number": 500, "title": "Fix it", "state": state, "author": author,
           "headRefName": "agent/acme/pr-500", "baseRefName": "main",
           "labels": ["agent-running", "agent-automerge", "keep-me"]})
}

fn rig(world: Value, result: &str) -> Rig {
    let mut w = World::new();
    let gh = w.fake_github(&world);
    let shared = w.path("shared");
    write_script(
        &shared.join("tools/bin/agent-project-worker-status"),
        WORKER_STATUS,
    );
    write_script(
        &shared.join("tools/bin/branch-verification-guard.sh"),
        "#!/usr/bin/env bash\nexit 0\n",
    );
    let events = w.path("events.log");
    let hooks = w.write("hooks.sh", HOOKS);
    w.env("SHARED_AGENT_HOME", &shared)
        .env("TEST_EVENTS", &events);
    let runs = w.path("runs");
    let run_dir = runs.join(SESSION);
    w.write(
        &format!("runs/{SESSION}/run.env"),
        format!("PR_NUMBER=500\nSESSION={SESSION}\nWORKTREE=/nonexistent/wt\nSTARTED_AT=2026-01-01T00:00:00Z\n"),
    );
    w.write(&format!("runs/{SESSION}/result.env"), result);
    std::fs::create_dir_all(w.path("history")).expect("mkdir");
    w.git_repo("repo");
    Rig {
        w,
        gh,
        runs,
        run_dir,
        events,
        hooks,
    }
}

impl Rig {
    fn cmd(&self) -> Command {
        let mut cmd = self.w.shim(TOOL);
        cmd.args(["--session", SESSION, "--repo-slug", REPO, "--repo-root"])
            .arg(self.w.path("repo"))
            .arg("--runs-root")
            .arg(&self.runs)
            .arg("--history-root")
            .arg(self.w.path("history"))
            .arg("--hook-file")
            .arg(&self.hooks);
        cmd
    }

    fn reconcile(&self) -> (i32, String, String) {
        run(&mut self.cmd())
    }

    fn events(&self) -> Vec<String> {
        std::fs::read_to_string(&self.events)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn calls_of(&self, first: &str, second: &str) -> Vec<Vec<String>> {
        self.gh
            .calls()
            .into_iter()
            .filter(|c| c[0] == first && c[1] == second)
            .collect()
    }
}

fn world(pr: Value) -> Value {
    json!({"prs": [pr], "issues": [{"number": 7, "title": "Linked", "state": "OPEN", "labels": []}],
           "labels": ["agent-running", "agent-automerge", "agent-repair-queued", "keep-me"],
           "viewer": "acp-bot", "comments": {}, "faults": []})
}

const REVIEW_PASSED: &str = "OUTCOME=approved-local-review-passed\nACTION=host-approve-and-merge\n";

#[test]
fn a_merged_pr_runs_the_merge_transitions_and_closes_the_linked_issue() {
    let r = rig(world(pr("MERGED", "alice")), "OUTCOME=\nISSUE_ID=7\n");
    let (code, out, err) = r.reconcile();
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "STATUS"), Some("SUCCEEDED"));
    assert_eq!(kv(&out, "OUTCOME"), Some("merged"));
    assert_eq!(kv(&out, "ACTION"), Some("approved-and-merged"));
    assert_eq!(r.events()[..3], ["clear", "linked:7", "merged:500"]);
    assert_eq!(r.gh.state()["issues"][0]["state"], "CLOSED");
    assert_eq!(
        r.gh.comments(7),
        ["Closed automatically after PR #500 merged."]
    );
    assert!(read(r.run_dir.join("reconciled.ok")).starts_with("STARTED_AT=2026-01-01T00:00:00Z\n"));
}

#[test]
fn a_passed_review_is_approved_and_merged_without_admin() {
    let r = rig(world(pr("OPEN", "alice")), REVIEW_PASSED);
    let (code, out, err) = r.reconcile();
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "OUTCOME"), Some("merged"));
    let merges = r.calls_of("pr", "merge");
    assert_eq!(
        merges,
        [[
            "pr",
            "merge",
            "500",
            "-R",
            REPO,
            "--squash",
            "--delete-branch"
        ]]
    );
    assert_eq!(r.gh.state()["reviews"]["500"][0]["state"], "APPROVED");
}

#[test]
fn admin_merges_only_when_the_profile_says_so() {
    let mut r = rig(world(pr("OPEN", "alice")), REVIEW_PASSED);
    r.w.env("ACP_MERGE_ADMIN", "1");
    let (code, _, err) = r.reconcile();
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        r.calls_of("pr", "merge")[0].last().map(String::as_str),
        Some("--admin")
    );
}

#[test]
fn a_self_authored_pr_waits_for_an_independent_review_f21() {
    let r = rig(world(pr("OPEN", "acp-bot")), REVIEW_PASSED);
    let (code, out, err) = r.reconcile();
    assert_eq!(code, 0, "{err}");
    assert!(
        r.calls_of("pr", "merge").is_empty(),
        "merged without a review"
    );
    assert_eq!(kv(&out, "OUTCOME"), Some("waiting-human-review"));
    assert_eq!(kv(&out, "ACTION"), Some("queued-human-review"));
    assert!(
        err.contains("no approving review from anyone but its author"),
        "{err}"
    );
    // With another reviewer's approval it merges.
    let r = rig(world(pr("OPEN", "acp-bot")), REVIEW_PASSED);
    r.gh.put(
        "reviews",
        json!({"500": [{"state": "APPROVED", "user": {"login": "carol"}}]}),
    );
    let (code, out, err) = r.reconcile();
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "OUTCOME"), Some("merged"));
    assert_eq!(r.calls_of("pr", "merge").len(), 1);
}

#[test]
fn a_pr_no_longer_eligible_exits_1_without_marking() {
    let mut r = rig(world(pr("OPEN", "alice")), REVIEW_PASSED);
    r.w.env("TEST_AUTOMERGE", "no");
    let (code, _, err) = r.reconcile();
    assert_eq!(code, 1);
    assert!(
        err.contains("PR 500 is no longer eligible for auto-merge"),
        "{err}"
    );
    assert!(!r.run_dir.join("reconciled.ok").exists());
}

const BLOCKED: &str = "OUTCOME=blocked\nACTION=requested-changes-or-blocked\n";

#[test]
fn a_rate_limited_comment_schedules_a_host_retry_f19() {
    let r = rig(world(pr("OPEN", "alice")), BLOCKED);
    r.w.write(
        &format!("runs/{SESSION}/pr-comment.md"),
        "## Blocker\nNeeds work.\n",
    );
    r.gh.put(
        "faults",
        json!([{"on": "any", "count": 9, "answer": "rate"}]),
    );
    let (code, out, err) = r.reconcile();
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "STATUS"), Some("FAILED"));
    assert_eq!(kv(&out, "ACTION"), Some("host-comment-rate-limit-retry"));
    assert_eq!(kv(&out, "FAILURE_REASON"), Some("github-api-rate-limit"));
    assert!(
        r.events()
            .contains(&"retry:github-api-rate-limit".to_string())
    );
    assert!(read(r.run_dir.join("pr-comment.md")).contains("## Host action blocked"));
    assert!(read(r.run_dir.join("host-github-rate-limit.log")).contains("rate limit"));
}

fn blocked_rig(faults: Value) -> Rig {
    let r = rig(world(pr("OPEN", "alice")), BLOCKED);
    r.w.write(
        &format!("runs/{SESSION}/pr-comment.md"),
        "## Blocker\nNeeds work.\n",
    );
    r.gh.put("faults", faults);
    r
}

fn entries(dir: PathBuf) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter(|e| e.as_ref().is_ok_and(|e| e.path().is_file()))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn a_bare_403_is_an_ordinary_failure_kept_aside_f19() {
    // The post and its replay before cleanup are refused with a bare 403.
    let r = blocked_rig(json!([{"on": "write", "count": 2, "answer": "403"}]));
    let (code, out, err) = r.reconcile();
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "STATUS"), Some("SUCCEEDED"));
    assert_eq!(kv(&out, "ACTION"), Some("host-comment-pr-blocker"));
    assert_eq!(
        kv(&out, "RESULT_CONTRACT_NOTE"),
        Some("normalized-legacy-blocked-action")
    );
    assert!(err.contains("refused for good"), "{err}");
    assert!(r.gh.comments(500).is_empty());
    assert!(!r.run_dir.join("host-github-rate-limit.log").exists());
    assert_eq!(entries(r.run_dir.join("outbox/dead")), 1);
    assert!(r.run_dir.join("reconciled.ok").exists());
}

#[test]
fn a_queued_comment_is_replayed_and_posted_once() {
    // Both attempts of the post and both of the replay before cleanup fail.
    let r = blocked_rig(json!([{"on": "write", "count": 4, "answer": "502"}]));
    let (code, _, err) = r.reconcile();
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("still pending"), "{err}");
    assert!(r.gh.comments(500).is_empty());
    assert_eq!(entries(r.run_dir.join("outbox")), 1);
    assert!(r.run_dir.join("reconciled.ok").exists());
    // The next reconciles of the run post it once.
    for _ in 0..2 {
        let (code, _, err) = r.reconcile();
        assert_eq!(code, 0, "{err}");
    }
    let posted = r.gh.comments(500);
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert!(posted[0].starts_with("## Blocker\nNeeds work.\n"));
    assert_eq!(entries(r.run_dir.join("outbox")), 0);
}

#[test]
fn a_post_whose_answer_was_lost_is_not_doubled() {
    let r = blocked_rig(json!([{"on": "write", "count": 1, "answer": "502-after"}]));
    let (code, _, err) = r.reconcile();
    assert_eq!(code, 0, "{err}");
    assert_eq!(r.gh.comments(500).len(), 1);
    assert_eq!(entries(r.run_dir.join("outbox")), 0);
}

#[test]
fn concurrent_reconciles_of_one_session_make_one_set_of_effects() {
    let mut r = rig(world(pr("MERGED", "alice")), "OUTCOME=\n");
    r.w.env("TEST_SLOW", "1");
    let first = r
        .cmd()
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let second = r
        .cmd()
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let outs: Vec<String> = [first, second]
        .into_iter()
        .map(|c| String::from_utf8_lossy(&c.wait_with_output().expect("wait").stdout).into_owned())
        .collect();
    let merged = r
        .events()
        .iter()
        .filter(|e| e.starts_with("merged:"))
        .count();
    assert_eq!(merged, 1, "{:?}", r.events());
    assert!(
        outs.iter()
            .any(|o| kv(o, "STATUS") == Some("ALREADY-RECONCILED")),
        "{outs:?}"
    );
}

#[test]
fn hostile_titles_comments_and_ids_are_data() {
    let mut p = pr("OPEN", "alice");
    p["title"] = json!("$(touch PWNED-title)");
    let r = rig(
        world(p),
        "OUTCOME=blocked\nACTION=\nISSUE_ID=7;touch PWNED-id\n",
    );
    let body = "`$(touch PWNED-body)`\nSTATUS=HACKED\n";
    r.w.write(&format!("runs/{SESSION}/pr-comment.md"), body);
    let (code, out, err) = r.reconcile();
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("STATUS=")).count(),
        1,
        "{out}"
    );
    assert_eq!(kv(&out, "STATUS"), Some("SUCCEEDED"));
    assert!(r.gh.comments(500)[0].starts_with(body));
    for f in ["PWNED-title", "PWNED-id", "PWNED-body"] {
        assert!(!r.w.path(f).exists(), "{f} was created");
    }
}

/// PR state, worker status, result.env, expected lines, expected hook event.
type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
);

#[test]
fn contract_outcomes_and_states_print_their_lines() {
    let cases: &[Case] = &[
        (
            "OPEN",
            "SUCCEEDED",
            "OUTCOME=weird\n",
            &[
                ("STATUS", "FAILED"),
                ("OUTCOME", "invalid-contract"),
                ("ACTION", "queued-pr-retry"),
                ("FAILURE_REASON", "invalid-result-contract"),
            ],
            "retry:invalid-result-contract",
        ),
        (
            "CLOSED",
            "FAILED",
            "OUTCOME=\n",
            &[("OUTCOME", "closed"), ("ACTION", "cleaned-closed-pr")],
            "closed:500",
        ),
        (
            "OPEN",
            "SUCCEEDED",
            "OUTCOME=approved-local-review-passed\nACTION=host-advance-double-check-2\n",
            &[
                ("OUTCOME", "double-check-1-approved"),
                ("ACTION", "queued-double-check-2"),
            ],
            "advanced:500:2",
        ),
        (
            "OPEN",
            "SUCCEEDED",
            "OUTCOME=approved-local-review-passed\nACTION=host-await-human-review\n",
            &[
                ("OUTCOME", "waiting-human-review"),
                ("ACTION", "queued-human-review"),
            ],
            "succeeded:500",
        ),
        (
            "OPEN",
            "FAILED",
            "OUTCOME=\n",
            &[
                ("STATUS", "FAILED"),
                ("OUTCOME", "unknown"),
                ("ACTION", "unknown"),
            ],
            "retry:worker-exit-failed",
        ),
        (
            "OPEN",
            "SUCCEEDED",
            "OUTCOME=blocked\nDETAIL=worker-tool-exec-empty-command\n",
            &[
                ("STATUS", "FAILED"),
                ("ACTION", "queued-pr-retry"),
                ("FAILURE_REASON", "worker-tool-exec-empty-command"),
            ],
            "failed:500",
        ),
        (
            "OPEN",
            "SUCCEEDED",
            "OUTCOME=updated-branch\n",
            &[
                ("OUTCOME", "blocked"),
                ("ACTION", "host-missing-pr-worktree"),
            ],
            "retry:missing-pr-worktree-before-publish",
        ),
        (
            "OPEN",
            "SUCCEEDED",
            "OUTCOME=no-change-needed\n",
            &[
                ("OUTCOME", "blocked"),
                ("ACTION", "host-rejected-no-change-needed"),
            ],
            "retry:remaining-merge-conflicts-after-no-change-needed",
        ),
    ];
    for (state, status, result, want, event) in cases {
        let r = rig(world(pr(state, "alice")), result);
        r.w.write(&format!("runs/{SESSION}/status.txt"), status);
        let (code, out, err) = r.reconcile();
        assert_eq!(code, 0, "{result}: {err}");
        for (k, v) in *want {
            assert_eq!(kv(&out, k), Some(*v), "{result}: {k} in {out}");
        }
        assert!(
            r.events().contains(&event.to_string()),
            "{result}: {:?}",
            r.events()
        );
    }
}

#[test]
fn stale_and_running_sessions_are_left_alone() {
    let mut r = rig(world(pr("OPEN", "alice")), REVIEW_PASSED);
    r.w.env("ACP_EXPECTED_RUN_STARTED_AT", "2025-12-31T00:00:00Z");
    let (code, out, _) = r.reconcile();
    assert_eq!(code, 0);
    assert_eq!(kv(&out, "STATUS"), Some("STALE-RUN-SKIPPED"));
    assert_eq!(kv(&out, "ACTUAL_STARTED_AT"), Some("2026-01-01T00:00:00Z"));
    let r = rig(world(pr("OPEN", "alice")), REVIEW_PASSED);
    r.w.write(&format!("runs/{SESSION}/status.txt"), "RUNNING");
    let (code, out, _) = r.reconcile();
    assert_eq!((code, out.as_str()), (0, "STATUS=RUNNING\n"));
    assert!(r.gh.calls().iter().all(|c| c[1] != "merge"));
}

/// A bare origin, a clone on the PR branch as the worktree.
fn with_worktree(r: &Rig) -> PathBuf {
    let origin = r.w.path("origin.git");
    let wt = r.w.path("wt");
    let git = |dir: &PathBuf, args: &[&str]| {
        let (code, _, err) = run(r.w.cmd("git").arg("-C").arg(dir).args(args));
        assert_eq!(code, 0, "git {args:?}: {err}");
    };
    let repo = r.w.path("repo");
    git(
        &repo,
        &["init", "-q", "--bare", origin.to_str().expect("utf-8")],
    );
    git(
        &repo,
        &["remote", "add", "origin", origin.to_str().expect("utf-8")],
    );
    git(
        &repo,
        &["push", "-q", "origin", "main", "main:agent/acme/pr-500"],
    );
    git(
        &repo,
        &[
            "worktree",
            "add",
            "-q",
            wt.to_str().expect("utf-8"),
            "-b",
            "local-500",
            "origin/agent/acme/pr-500",
        ],
    );
    r.w.write(
        &format!("runs/{SESSION}/run.env"),
        format!(
            "PR_NUMBER=500\nWORKTREE={}\nPR_HEAD_REF=agent/acme/pr-500\n",
            wt.display()
        ),
    );
    wt
}

#[test]
fn an_updated_branch_is_committed_and_pushed_and_a_noop_is_blocked() {
    let r = rig(
        world(pr("OPEN", "alice")),
        "OUTCOME=updated-branch\nACTION=host-push-pr-branch\n",
    );
    let wt = with_worktree(&r);
    let (code, out, err) = r.reconcile();
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "OUTCOME"), Some("blocked"));
    assert_eq!(kv(&out, "ACTION"), Some("host-noop-updated-branch"));
    assert_eq!(
        kv(&out, "FAILURE_REASON"),
        Some("updated-branch-no-commits-ahead")
    );
    std::fs::write(wt.join("fix.txt"), "fixed\n").expect("write");
    std::fs::remove_file(r.run_dir.join("reconciled.ok")).expect("rm");
    let (code, out, err) = r.reconcile();
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "OUTCOME"), Some("updated-branch"));
    assert_eq!(kv(&out, "ACTION"), Some("host-push-pr-branch"));
    let (_, log, _) = run(r
        .w
        .cmd("git")
        .arg("--git-dir")
        .arg(r.w.path("origin.git"))
        .args(["log", "--format=%s", "-1", "agent/acme/pr-500"]));
    assert_eq!(log.trim(), "fix(pr): apply repair for PR #500");
    assert!(r.events().contains(&"updated:500".to_string()));
}

#[test]
fn the_shipped_hook_file_changes_labels_in_one_delta() {
    let mut r = rig(world(pr("MERGED", "alice")), "OUTCOME=\n");
    r.hooks = r.w.skill.join("hooks/pr-reconcile-hooks.sh");
    r.w.env("ACP_STATE_ROOT", r.w.path("state"));
    let (code, out, err) = r.reconcile();
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "OUTCOME"), Some("merged"));
    let edits = r.calls_of("pr", "edit");
    assert_eq!(
        edits,
        [[
            "pr",
            "edit",
            "500",
            "-R",
            REPO,
            "--remove-label=agent-running,agent-automerge"
        ]]
    );
    assert_eq!(r.gh.labels("pr", 500), ["keep-me"]);
}

/// Logs `NAME ARGS` to $TEST_TOOLS_LOG.
const LOGGING_TOOL: &str =
    "#!/usr/bin/env bash\nprintf '%s %s\\n' \"$(basename \"$0\")\" \"$*\" >>\"$TEST_TOOLS_LOG\"\n";

#[test]
fn the_shipped_hook_file_sourced_in_bash_keeps_the_hook_abi() {
    let mut w = World::new();
    let skill = w.path("skill2");
    let shipped =
        std::fs::read(w.skill.join("hooks/pr-reconcile-hooks.sh")).expect("shipped hooks");
    w.write("skill2/hooks/pr-reconcile-hooks.sh", shipped);
    for tool in [
        "tools/bin/agent-github-update-labels",
        "tools/bin/kick-scheduler.sh",
        "tools/bin/retry-state.sh",
        "tools/bin/sync-recurring-issue-checklist.sh",
        "bin/sync-pr-labels.sh",
    ] {
        write_script(&skill.join(tool), LOGGING_TOOL);
    }
    write_script(
        &skill.join("bin/pr-risk.sh"),
        "#!/usr/bin/env bash\nprintf '{\"agentLane\":\"%s\",\"eligibleForAutoMerge\":false}\\n' \"$TEST_LANE\"\n",
    );
    let (log, state, runs) = (w.path("tools.log"), w.path("state"), w.path("runs"));
    w.env("TEST_TOOLS_LOG", &log)
        .env("ACP_STATE_ROOT", &state)
        .env("ACP_RUNS_ROOT", &runs)
        .env("ACP_REPO_SLUG", REPO)
        .env("ACP_PROJECT_ID", "demo")
        .env("TEST_LANE", "double-check-1");
    let script = r#"set -euo pipefail
source "$1"
PR_NUMBER=5
pr_after_blocked 5
pr_set_lane_override 5 'double-check-2'
printf 'pass=%s\n' "$(pr_review_pass_action 5)"
printf 'auto=%s\n' "$(pr_automerge_allowed 5)"
pr_schedule_retry boom
pr_after_reconciled
printf 'slug=%s state=%s\n' "$REPO_SLUG" "$STATE_ROOT"
"#;
    let (code, out, err) = run(w
        .cmd("bash")
        .args(["-c", script, "t"])
        .arg(skill.join("hooks/pr-reconcile-hooks.sh")));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("pass=advance-double-check-2\n"), "{out}");
    assert!(out.contains("auto=no\n"), "{out}");
    assert!(
        out.contains(&format!("slug={REPO} state={}", w.path("state").display())),
        "{out}"
    );
    let tools = read(&log);
    assert!(
        tools.contains(
            "agent-github-update-labels --repo-slug acme/widgets --number 5 --remove agent-running"
        ),
        "{tools}"
    );
    assert!(
        tools.contains("--remove agent-manual-fix-override --add agent-repair-queued\n"),
        "{tools}"
    );
    assert!(tools.contains("sync-pr-labels.sh 5\n"), "{tools}");
    assert!(
        tools.contains("retry-state.sh pr 5 schedule boom\n"),
        "{tools}"
    );
    assert!(tools.contains("kick-scheduler.sh 2\n"), "{tools}");
    let over = read(w.path("state/pr-lane-overrides/5.env"));
    assert!(
        over.starts_with("PR_LANE_OVERRIDE=double-check-2\nUPDATED_AT="),
        "{over}"
    );
}

#[test]
fn a_rate_limited_merge_schedules_a_host_retry() {
    let r = rig(world(pr("OPEN", "alice")), REVIEW_PASSED);
    // Reads: the PR view, the login (the author is the view's); then the
    // merge is refused.
    r.gh.put(
        "faults",
        json!([{"on": "read", "skip": 2, "count": 5, "answer": "rate"}]),
    );
    let (code, out, err) = r.reconcile();
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "STATUS"), Some("FAILED"));
    assert_eq!(kv(&out, "ACTION"), Some("host-merge-rate-limit-retry"));
    assert_eq!(kv(&out, "FAILURE_REASON"), Some("github-api-rate-limit"));
    assert!(r.events().contains(&"blocked:500".to_string()));
    assert!(r.run_dir.join("reconciled.ok").exists());
}

#[test]
fn a_guard_refusal_blocks_without_committing() {
    let r = rig(world(pr("OPEN", "alice")), "OUTCOME=updated-branch\n");
    write_script(
        &r.w.path("shared/tools/bin/branch-verification-guard.sh"),
        "#!/usr/bin/env bash\necho 'Verification guard blocked branch publication.'\nexit 1\n",
    );
    let wt = with_worktree(&r);
    std::fs::write(wt.join("fix.txt"), "fixed\n").expect("write");
    let (code, out, err) = r.reconcile();
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "ACTION"), Some("host-verification-guard-blocked"));
    assert_eq!(
        kv(&out, "FAILURE_REASON"),
        Some("verification-guard-blocked")
    );
    assert_eq!(
        kv(&out, "RESULT_CONTRACT_NOTE"),
        Some("normalized-missing-updated-branch-action")
    );
    assert!(read(r.run_dir.join("host-blocker.md")).contains("Verification guard blocked"));
    let (_, status, _) = run(r
        .w
        .cmd("git")
        .arg("-C")
        .arg(&wt)
        .args(["status", "--short"]));
    assert_eq!(status, "?? fix.txt\n");
}

#[test]
fn an_updated_branch_without_worktree_uses_the_remote_head() {
    let mut p = pr("OPEN", "alice");
    p["headRefOid"] = json!("abc123");
    let r = rig(
        world(p),
        "OUTCOME=updated-branch\nACTION=host-push-pr-branch\n",
    );
    r.w.write(
        &format!("runs/{SESSION}/run.env"),
        "PR_NUMBER=500\nWORKTREE=/nonexistent/wt\nFINAL_HEAD=abc123\n",
    );
    r.w.write(
        &format!("runs/{SESSION}/pr-comment.md"),
        "Pushed the fix.\n",
    );
    let (code, out, err) = r.reconcile();
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "OUTCOME"), Some("updated-branch"));
    assert_eq!(kv(&out, "ACTION"), Some("host-push-pr-branch"));
    assert_eq!(r.events()[..2], ["clear", "updated:500"]);
    assert_eq!(r.gh.comments(500).len(), 1);
}

#[test]
fn a_sandbox_bind_failure_is_recovered_on_the_host() {
    let r = rig(
        world(pr("OPEN", "alice")),
        "OUTCOME=blocked\nACTION=host-comment-pr-blocker\n",
    );
    let wt = with_worktree(&r);
    write_script(
        &wt.join("scripts/retry.sh"),
        "#!/usr/bin/env bash\nprintf ok >recovered.txt\n",
    );
    r.w.write(
        &format!("runs/{SESSION}/pr-comment.md"),
        "**Summary**\n- done\n**Blocker**\n- e2e: listen EPERM 127.0.0.1:3000\n",
    );
    r.w.write(
        &format!("runs/{SESSION}/prompt.md"),
        "- e2e | loopback retry command: `bash scripts/retry.sh`\n",
    );
    let (code, out, err) = r.reconcile();
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "OUTCOME"), Some("updated-branch"));
    assert_eq!(kv(&out, "ACTION"), Some("host-push-pr-branch"));
    assert_eq!(
        kv(&out, "RESULT_CONTRACT_NOTE"),
        Some("host-recovered-sandbox-bind-failure")
    );
    assert_eq!(read(wt.join("recovered.txt")), "ok");
    let comment = read(r.run_dir.join("pr-comment.md"));
    assert!(
        comment.contains("**Host Recovery**") && !comment.contains("**Blocker**"),
        "{comment}"
    );
    assert!(read(r.run_dir.join("result.env")).starts_with("OUTCOME=updated-branch\n"));
    assert!(r.gh.comments(500)[0].contains("bash scripts/retry.sh"));
}

#[test]
fn the_worker_wrapper_passes_the_profile_roots_and_the_hook_file() {
    let mut w = World::new();
    let capture = w.path("capture.txt");
    write_script(
        &w.skill.join("tools/bin/agent-project-reconcile-pr-session"),
        "#!/usr/bin/env bash\nprintf 'ARGV=%s\\nRUNS=%s\\nTWIN=%s\\n' \"$*\" \"$ACP_RUNS_ROOT\" \"$F_LOSNING_RUNS_ROOT\" >\"$TEST_CAPTURE\"\nexit 3\n",
    );
    let registry = w.path("profiles");
    w.write(
        "profiles/demo/control-plane.yaml",
        format!(
            "id: \"demo\"\nrepo:\n  slug: \"example/repo\"\nruntime:\n  orchestrator_agent_root: \"{0}/agent\"\n  agent_repo_root: \"{0}/repo\"\n  runs_root: \"{0}/runs\"\n",
            w.root().display()
        ),
    );
    w.env("TEST_CAPTURE", &capture)
        .env("ACP_PROFILE_REGISTRY_ROOT", &registry)
        .env("ACP_PROJECT_ID", "demo");
    let (code, _, err) = run(w.shim("tools/bin/reconcile-pr-worker.sh").arg("demo-pr-5"));
    assert_eq!(code, 3, "{err}");
    let root = w.root().display().to_string();
    let hook = w.skill.join("hooks/pr-reconcile-hooks.sh");
    assert_eq!(
        read(&capture),
        format!(
            "ARGV=--session demo-pr-5 --repo-slug example/repo --repo-root {root}/repo --runs-root {root}/runs --history-root {root}/agent/history --hook-file {}\nRUNS={root}/runs\nTWIN={root}/runs\n",
            hook.display()
        )
    );
}

#[test]
fn an_unknown_remote_head_fails_the_ahead_check() {
    let r = rig(world(pr("OPEN", "alice")), "OUTCOME=updated-branch\n");
    let wt = with_worktree(&r);
    r.w.write(
        &format!("runs/{SESSION}/run.env"),
        format!(
            "PR_NUMBER=500\nWORKTREE={}\nPR_HEAD_REF=agent/acme/gone\n",
            wt.display()
        ),
    );
    let (code, out, err) = r.reconcile();
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "ACTION"), Some("host-branch-ahead-check-failed"));
    assert_eq!(
        kv(&out, "FAILURE_REASON"),
        Some("updated-branch-remote-ref-unavailable")
    );
}

#[test]
fn a_prepared_merge_without_conflicts_is_promoted_to_an_updated_branch() {
    let r = rig(world(pr("OPEN", "alice")), "OUTCOME=no-change-needed\n");
    let wt = with_worktree(&r);
    let repo = r.w.path("repo");
    let git = |dir: &PathBuf, args: &[&str]| {
        let (code, _, err) = run(r.w.cmd("git").arg("-C").arg(dir).args(args));
        assert_eq!(code, 0, "git {args:?}: {err}");
    };
    std::fs::write(repo.join("base.txt"), "base moved\n").expect("write");
    git(&repo, &["add", "base.txt"]);
    git(&repo, &["commit", "-q", "-m", "base moves"]);
    git(&repo, &["push", "-q", "origin", "main"]);
    git(&wt, &["fetch", "-q", "origin"]);
    git(
        &wt,
        &["merge", "-q", "--no-commit", "--no-ff", "origin/main"],
    );
    let (code, out, err) = r.reconcile();
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "OUTCOME"), Some("updated-branch"));
    assert_eq!(
        kv(&out, "ACTION"),
        Some("host-promoted-no-change-needed-to-updated-branch")
    );
    let (_, log, _) = run(r
        .w
        .cmd("git")
        .arg("--git-dir")
        .arg(r.w.path("origin.git"))
        .args(["log", "--format=%s", "-1", "agent/acme/pr-500"]));
    assert_eq!(log.trim(), "fix(pr): resolve merge drift for PR #500");
}

#[test]
fn a_loopback_command_with_shell_syntax_is_never_run_f4() {
    let r = rig(world(pr("OPEN", "alice")), "OUTCOME=blocked\n");
    let wt = with_worktree(&r);
    write_script(
        &wt.join("scripts/retry.sh"),
        "#!/usr/bin/env bash\nexit 0\n",
    );
    r.w.write(
        &format!("runs/{SESSION}/pr-comment.md"),
        "**Blocker**\n- listen EPERM 127.0.0.1:3000\n",
    );
    let marker = r.w.path("PWNED");
    r.w.write(
        &format!("runs/{SESSION}/prompt.md"),
        format!(
            "- apps/web/e2e/x.spec.ts | loopback retry command: `bash scripts/retry.sh e2e/$(touch {}).spec.ts`\n",
            marker.display()
        ),
    );
    let (code, out, err) = r.reconcile();
    assert_eq!(code, 0, "{err}");
    assert!(!marker.exists(), "the injected command ran");
    assert_eq!(kv(&out, "OUTCOME"), Some("blocked"));
    assert_eq!(kv(&out, "ACTION"), Some("host-comment-pr-blocker"));
    assert!(read(r.run_dir.join(format!("{SESSION}.log"))).contains("refused"));
}

#[test]
fn the_shipped_policy_advances_a_double_check_with_one_delta_and_an_override() {
    let mut wd = world(pr("OPEN", "alice"));
    wd["labels"]
        .as_array_mut()
        .expect("labels")
        .push(json!("agent-double-check-2/2"));
    let mut r = rig(
        wd,
        "OUTCOME=approved-local-review-passed\nACTION=host-advance-double-check-2\n",
    );
    r.hooks = r.w.skill.join("hooks/pr-reconcile-hooks.sh");
    let state = r.w.path("state");
    r.w.env("ACP_STATE_ROOT", &state);
    let (code, out, err) = r.reconcile();
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "ACTION"), Some("queued-double-check-2"));
    let edits = r.calls_of("pr", "edit");
    assert_eq!(
        edits,
        [[
            "pr",
            "edit",
            "500",
            "-R",
            REPO,
            "--add-label=agent-double-check-2/2",
            "--remove-label=agent-running,agent-automerge"
        ]]
    );
    assert!(
        read(state.join("pr-lane-overrides/500.env"))
            .starts_with("PR_LANE_OVERRIDE=double-check-2\n")
    );
}
