//! Integration tests for `bin/sync-pr-labels.sh` and
//! `tools/bin/sync-pr-labels.sh`: lane labels as deltas, through the real
//! `bin/pr-risk.sh` shim and the fake GitHub.

use serde_json::{Value, json};

use crate::fake_github::FakeGithub;
use crate::harness::{World, kv, run, write_script};

const REPO: &str = "acme/widgets";

fn pr(n: u64, labels: &[&str], body: &str) -> Value {
    json!({
        "number": n, "title": "feat: x", "body": body, "state": "OPEN",
        "headRefName": format!("codex/issue-{n}-x"), "headRefOid": format!("sha{n}"),
        "baseRefName": "main", "labels": labels, "isDraft": false, "mergeStateStatus": "CLEAN",
        "files": [{"path": "docs/a.md"}], "reviewRequests": [],
        "statusCheckRollup": [{"__typename": "CheckRun", "name": "ci", "status": "COMPLETED", "conclusion": "SUCCESS"}],
        "comments": [],
    })
}

/// Every label the PR lanes use, plus a human's own label.
fn all_labels() -> Value {
    json!([
        "agent-automerge",
        "agent-repair-queued",
        "agent-fix-needed",
        "agent-manual-fix-override",
        "agent-ci-refresh",
        "agent-ci-bypassed",
        "agent-double-check-1/2",
        "agent-double-check-2/2",
        "agent-human-review",
        "agent-human-approved",
        "agent-handoff",
        "agent-exclusive",
        "agent-ready",
        "agent-running",
        "human-note"
    ])
}

fn world(prs: Vec<Value>, issues: Value, labels: Value) -> (World, FakeGithub) {
    let mut w = World::new();
    let gh = w.fake_github(&json!({"prs": prs, "issues": issues, "labels": labels, "faults": []}));
    let state = w.path("state");
    std::fs::create_dir_all(&state).unwrap();
    w.env("ACP_REPO_SLUG", REPO)
        .env("ACP_MANAGED_PR_BRANCH_GLOBS", "agent/acp/* codex/*")
        .env("ACP_STATE_ROOT", &state);
    (w, gh)
}

fn sync(w: &World, n: &str) -> (i32, String, String) {
    run(w.shim("bin/sync-pr-labels.sh").arg(n))
}

fn edits(gh: &FakeGithub) -> Vec<Vec<String>> {
    gh.calls()
        .into_iter()
        .filter(|c| c.get(1).is_some_and(|a| a == "edit"))
        .collect()
}

#[test]
fn the_fix_lane_queues_a_repair_in_one_delta_and_keeps_other_labels() {
    let labels = [
        "agent-manual-fix-override",
        "agent-automerge",
        "agent-double-check-1/2",
        "human-note",
    ];
    let (w, gh) = world(vec![pr(5, &labels, "")], json!([]), all_labels());
    let (code, out, err) = sync(&w, "5");
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "SYNC_STATUS"), Some("ok"));
    assert_eq!(kv(&out, "AGENT_LANE"), Some("fix"));
    assert_eq!(kv(&out, "RISK"), Some("low"));
    assert_eq!(kv(&out, "LINKED_ISSUE_ID"), Some("5"));
    assert_eq!(kv(&out, "IS_BLOCKED"), Some("false"));
    assert_eq!(kv(&out, "MANUAL_FIX_OVERRIDE"), Some("true"));
    let e = edits(&gh);
    assert_eq!(
        e,
        [vec![
            "pr",
            "edit",
            "5",
            "-R",
            REPO,
            "--add-label=agent-repair-queued",
            "--remove-label=agent-automerge,agent-double-check-1/2",
        ]],
        "only the labels that change, never agent-fix-needed (F8)"
    );
    assert_eq!(
        gh.labels("pr", 5),
        [
            "agent-manual-fix-override",
            "human-note",
            "agent-repair-queued"
        ]
    );
}

#[test]
fn label_definitions_are_created_once_per_repository() {
    let (w, gh) = world(vec![pr(5, &[], "")], json!([]), json!(["agent-automerge"]));
    let (code, _, err) = sync(&w, "5");
    assert_eq!(code, 0, "{err}");
    let creates = gh
        .calls()
        .iter()
        .filter(|c| c[..2] == ["label", "create"])
        .count();
    assert_eq!(creates, 10);
    assert!(w.path("state/github-labels.json").is_file());
    gh.clear_calls();
    let (code, _, _) = sync(&w, "5");
    assert_eq!(code, 0);
    assert!(
        gh.calls().iter().all(|c| c[0] != "label"),
        "{:?}",
        gh.calls()
    );
    assert!(edits(&gh).is_empty(), "already in line: no write at all");
}

#[test]
fn a_non_agent_pr_is_left_alone() {
    let mut p = pr(5, &[], "");
    p["headRefName"] = json!("feature/human-work");
    let (w, gh) = world(vec![p], json!([]), all_labels());
    let (code, out, _) = sync(&w, "5");
    assert_eq!(code, 0);
    assert_eq!(out, "PR_NUMBER=5\nSYNC_STATUS=ignored-non-agent-branch\n");
    assert!(edits(&gh).is_empty());
}

#[test]
fn the_linked_issue_lends_exclusivity_and_loses_running() {
    let issues = json!([{"number": 3, "title": "i", "state": "OPEN",
        "labels": ["agent-exclusive", "agent-running", "agent-ready", "human-note"]}]);
    let (w, gh) = world(vec![pr(5, &[], "Fixes #3")], issues, all_labels());
    let (code, out, err) = sync(&w, "5");
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "LINKED_ISSUE_ID"), Some("3"));
    assert_eq!(kv(&out, "AGENT_LANE"), Some("automerge"));
    assert_eq!(gh.labels("pr", 5), ["agent-automerge", "agent-exclusive"]);
    assert_eq!(gh.labels("issue", 3), ["agent-exclusive", "human-note"]);
    let e = edits(&gh);
    assert_eq!(
        e[1],
        [
            "issue",
            "edit",
            "3",
            "-R",
            REPO,
            "--remove-label=agent-ready,agent-running"
        ]
    );
}

#[test]
fn a_replacement_label_updater_gets_the_original_words() {
    let (w, gh) = world(
        vec![pr(5, &["agent-manual-fix-override"], "")],
        json!([{"number": 5, "title": "i", "labels": ["agent-running"]}]),
        all_labels(),
    );
    let log = w.path("updater.log");
    write_script(
        &w.skill.join("tools/bin/agent-github-update-labels"),
        &format!(
            "#!/usr/bin/env bash\nprintf '%s\\n' \"$*\" >> '{}'\n",
            log.display()
        ),
    );
    let (code, _, err) = sync(&w, "5");
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("--repo-slug acme/widgets --number 5 --remove agent-automerge"),
        "{text}"
    );
    assert!(lines[0].contains("--add agent-repair-queued"));
    assert!(!lines[0].contains("--add agent-fix-needed"));
    assert_eq!(
        lines[1],
        "--repo-slug acme/widgets --number 5 --remove agent-ready --remove agent-running"
    );
    assert!(edits(&gh).is_empty());
}

#[test]
fn a_refused_label_write_is_one_line_and_non_zero() {
    let (w, gh) = world(
        vec![pr(5, &["agent-manual-fix-override"], "")],
        json!([]),
        all_labels(),
    );
    gh.put(
        "faults",
        json!([{"on": "write", "count": 9, "answer": "403"}]),
    );
    let (code, out, err) = sync(&w, "5");
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("gh pr edit 5") && err.contains("HTTP 403"),
        "{err}"
    );
}

#[test]
fn a_failing_pr_risk_ends_the_sync_with_its_code() {
    let (w, gh) = world(vec![], json!([]), all_labels());
    write_script(
        &w.skill.join("bin/pr-risk.sh"),
        "#!/usr/bin/env bash\necho 'risk: boom' >&2\nexit 3\n",
    );
    let (code, out, err) = sync(&w, "5");
    assert_eq!(code, 3);
    assert_eq!(out, "");
    assert!(err.contains("risk: boom"));
    assert!(edits(&gh).is_empty());
    let (code, _, err) = sync(&w, "x5");
    assert_eq!(code, 1);
    assert!(
        err.contains("PR_NUMBER must be a positive integer"),
        "{err}"
    );
}

#[test]
fn the_tools_front_runs_the_package_bin_script() {
    let (w, _gh) = world(vec![pr(5, &[], "")], json!([]), all_labels());
    let (code, out, err) = run(w.shim("tools/bin/sync-pr-labels.sh").arg("5"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "AGENT_LANE"), Some("automerge"));
    let (code, _, err) = run(&mut w.shim("tools/bin/sync-pr-labels.sh"));
    assert_eq!(code, 1);
    assert!(err.contains("usage: sync-pr-labels.sh PR_NUMBER"), "{err}");
}

#[test]
fn removals_the_pr_reconciler_folds_in_go_in_the_same_write() {
    let labels = ["agent-manual-fix-override", "agent-running", "human-note"];
    let (mut w, gh) = world(vec![pr(5, &labels, "")], json!([]), all_labels());
    w.env(
        "ACP_SYNC_PR_LABELS_ALSO_REMOVE",
        "agent-running,agent-not-there",
    );
    let (code, out, err) = sync(&w, "5");
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "SYNC_STATUS"), Some("ok"));
    assert_eq!(
        edits(&gh),
        [vec![
            "pr",
            "edit",
            "5",
            "-R",
            REPO,
            "--add-label=agent-repair-queued",
            "--remove-label=agent-running",
        ]],
        "one write: the lane label in, the reconciler's running label out"
    );
}
