//! Integration tests for `bin/pr-risk.sh` and `tools/bin/pr-risk.sh` (the
//! lane oracle) against the fake GitHub.

use std::time::Instant;

use serde_json::{Value, json};

use crate::fake_github::FakeGithub;
use crate::harness::{World, run};

const REPO: &str = "acme/widgets";
const BILLING_URL: &str = "https://api.github.com/repos/acme/widgets/check-runs/77/annotations";

fn ok_run(name: &str) -> Value {
    json!({"__typename": "CheckRun", "name": name, "status": "COMPLETED", "conclusion": "SUCCESS"})
}

/// An agent PR (branch `codex/issue-N-x`), clean, one passing check.
fn pr(n: u64, files: &[&str]) -> Value {
    json!({
        "number": n, "title": format!("feat: pr {n}"), "body": "", "state": "OPEN",
        "url": format!("https://github.com/{REPO}/pull/{n}"),
        "headRefName": format!("codex/issue-{n}-x"), "headRefOid": format!("sha{n}"),
        "baseRefName": "main", "labels": [], "isDraft": false, "mergeStateStatus": "CLEAN",
        "files": files.iter().map(|f| json!({"path": f})).collect::<Vec<_>>(),
        "reviewRequests": [], "statusCheckRollup": [ok_run("ci")], "comments": [],
    })
}

fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

fn world(prs: Vec<Value>) -> (World, FakeGithub) {
    let mut w = World::new();
    let gh = w.fake_github(&json!({"prs": prs, "labels": [], "faults": []}));
    let state = w.path("state");
    std::fs::create_dir_all(&state).unwrap();
    w.env("ACP_REPO_SLUG", REPO)
        .env("ACP_MANAGED_PR_BRANCH_GLOBS", "agent/acp/* codex/*")
        .env("ACP_STATE_ROOT", &state);
    (w, gh)
}

/// An inline comment of the review bot on no particular commit.
fn bot_comment(body: &str) -> Value {
    json!({"user": {"login": "chatgpt-codex-connector[bot]"}, "body": body,
           "commit_id": "", "html_url": "https://example.test/c/1", "path": "docs/a.md", "line": 1})
}

fn risk(w: &World, n: &str) -> (i32, String, String) {
    run(w.shim("bin/pr-risk.sh").arg(n))
}

fn risk_json(w: &World, n: u64) -> Value {
    let (code, out, err) = risk(w, &n.to_string());
    assert_eq!(code, 0, "{err}");
    assert!(!out.ends_with('\n'), "one JSON object, no newline: {out:?}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn each_lane_comes_from_one_pr_view_and_the_review_comments() {
    let prs = vec![
        pr(1, &["docs/a.md"]),
        with(
            pr(2, &["docs/a.md"]),
            "labels",
            json!(["agent-manual-fix-override"]),
        ),
        with(
            pr(3, &["docs/a.md"]),
            "statusCheckRollup",
            json!([{"__typename": "CheckRun", "name": "ci", "status": "IN_PROGRESS"}]),
        ),
        pr(4, &["apps/api/src/migrations/1-add.ts"]),
        pr(5, &["package.json"]),
        with(pr(6, &["docs/a.md"]), "mergeStateStatus", json!("DIRTY")),
        with(pr(7, &["docs/a.md"]), "labels", json!(["agent-blocked"])),
        with(pr(8, &["docs/a.md"]), "headRefName", json!("feature/human")),
        with(pr(9, &["docs/a.md"]), "isDraft", json!(true)),
        with(pr(10, &["docs/a.md"]), "mergeStateStatus", json!("BEHIND")),
    ];
    let (w, gh) = world(prs);
    let lanes = [
        (1, "automerge"),
        (2, "fix"),
        (3, "pending"),
        (4, "human-review"),
        (5, "double-check-1"),
        (6, "merge-repair"),
        (7, "blocked"),
        (8, "ignore"),
        (9, "ignore"),
        (10, "fix"),
    ];
    for (n, lane) in lanes {
        let v = risk_json(&w, n);
        assert_eq!(v["agentLane"], lane, "PR {n}: {v}");
    }
    let one = risk_json(&w, 1);
    assert_eq!(one["eligibleForAutoMerge"], true);
    assert_eq!(one["riskTier"], "low");
    assert_eq!(one["linkedIssueId"], 1);
    let human = risk_json(&w, 4);
    assert_eq!(
        human["systemBreakingFiles"],
        json!(["apps/api/src/migrations/1-add.ts"])
    );
    assert_eq!(
        human["missingReasons"],
        json!(["system-breaking-risk-scope"])
    );
    let pending = risk_json(&w, 3);
    assert_eq!(pending["pendingChecks"], json!(["ci:status-in_progress"]));
    assert_eq!(
        risk_json(&w, 10)["missingReasons"],
        json!(["merge-state-behind"])
    );
    // Per PR: one view; no check-run reads while nothing failed, no
    // commit read, no GraphQL, and no review-comment read while the view
    // lists no review of the review bot (inline comments belong to reviews).
    gh.clear_calls();
    risk_json(&w, 1);
    let calls = gh.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0][..5], ["pr", "view", "1", "-R", REPO]);
    // Once the bot has reviewed, its inline comments are read.
    gh.put("review_comments", json!({"1": [bot_comment("nit")]}));
    gh.clear_calls();
    risk_json(&w, 1);
    let calls = gh.calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(
        calls[1],
        ["api", "repos/acme/widgets/pulls/1/comments", "--paginate"]
    );
}

#[test]
fn checks_pending_failed_and_status_contexts() {
    let ctx_ok =
        json!({"__typename": "StatusContext", "context": "security/snyk", "state": "SUCCESS"});
    let ctx_pending =
        json!({"__typename": "StatusContext", "context": "deploy", "state": "PENDING"});
    let failed = json!({"__typename": "CheckRun", "name": "test", "status": "COMPLETED", "conclusion": "FAILURE"});
    let (w, _gh) = world(vec![
        with(
            pr(1, &["docs/a.md"]),
            "statusCheckRollup",
            json!([ok_run("ci"), ctx_ok]),
        ),
        with(
            pr(2, &["docs/a.md"]),
            "statusCheckRollup",
            json!([ctx_pending]),
        ),
        with(pr(3, &["docs/a.md"]), "statusCheckRollup", json!([failed])),
        with(pr(4, &["docs/a.md"]), "statusCheckRollup", json!([])),
    ]);
    let ok = risk_json(&w, 1);
    assert_eq!(
        (ok["checksOk"].clone(), ok["agentLane"].clone()),
        (json!(true), json!("automerge"))
    );
    let pending = risk_json(&w, 2);
    assert_eq!(pending["pendingChecks"], json!(["deploy:state-pending"]));
    assert_eq!(pending["agentLane"], "pending");
    let fail = risk_json(&w, 3);
    assert_eq!(fail["checkFailures"], json!(["test:conclusion-failure"]));
    assert_eq!(fail["agentLane"], "fix");
    // Local-first: no checks at all does not hold an agent PR back.
    let none = risk_json(&w, 4);
    assert_eq!(none["noChecksReported"], true);
    assert_eq!(none["agentLane"], "automerge");
    let (code, out, _) = run(w
        .shim("bin/pr-risk.sh")
        .arg("4")
        .env("ACP_LOCAL_FIRST_PR_POLICY", "0"));
    assert_eq!(code, 0);
    let strict: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(strict["missingReasons"], json!(["no-checks-reported"]));
}

#[test]
fn billing_only_failures_read_check_runs_and_annotations_and_are_bypassed() {
    let failed = json!({"__typename": "CheckRun", "name": "ci", "status": "COMPLETED", "conclusion": "FAILURE"});
    let (w, gh) = world(vec![with(
        with(pr(1, &["docs/a.md"]), "statusCheckRollup", json!([failed])),
        "mergeStateStatus",
        json!("UNSTABLE"),
    )]);
    let mut state = gh.state();
    state["check_runs"] = json!({"sha1": [{"name": "ci", "status": "completed", "conclusion": "failure",
        "output": {"annotations_url": BILLING_URL, "annotations_count": 1}}]});
    state["annotations"] = json!({BILLING_URL: [{"message": "The job was not started because recent account payments have failed."}]});
    gh.set(&state);
    let v = risk_json(&w, 1);
    assert_eq!(v["checksBypassed"], true, "{v}");
    assert_eq!(v["effectiveCheckFailures"], json!([]));
    assert_eq!(v["agentLane"], "automerge");
    let calls = gh.calls();
    assert!(calls.iter().any(|c| c
        == &[
            "api",
            "repos/acme/widgets/commits/sha1/check-runs",
            "--paginate"
        ]));
    assert!(calls.iter().any(|c| c == &["api", BILLING_URL]));
    let (code, out, _) = run(w
        .shim("bin/pr-risk.sh")
        .arg("1")
        .env("ACP_ALLOW_INFRA_CI_BYPASS", "0"));
    assert_eq!(code, 0);
    let strict: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(strict["agentLane"], "fix");
}

#[test]
fn rate_limited_or_refused_rest_reads_degrade_at_once() {
    for answer in ["rate", "403"] {
        let (w, gh) = world(vec![pr(1, &["docs/a.md"])]);
        gh.put("review_comments", json!({"1": [bot_comment("nit")]}));
        // The PR view passes; every later read fails.
        gh.put(
            "faults",
            json!([{"on": "read", "skip": 1, "count": 9, "answer": answer}]),
        );
        let started = Instant::now();
        let v = risk_json(&w, 1);
        assert!(
            started.elapsed().as_secs() < 10,
            "no waiting on a refining read"
        );
        assert_eq!(v["agentLane"], "automerge", "{answer}: {v}");
        assert_eq!(gh.calls().len(), 2);
    }
}

#[test]
fn a_failed_pr_view_is_one_line_and_exit_1() {
    let (w, gh) = world(vec![pr(1, &["docs/a.md"])]);
    let (code, out, err) = risk(&w, "404");
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("pr-risk: gh pr view failed for PR 404 (repo: acme/widgets)"),
        "{err}"
    );
    // A bare 403 is not a rate limit (F19): one call, no retry.
    gh.clear_calls();
    gh.put(
        "faults",
        json!([{"on": "read", "count": 9, "answer": "403"}]),
    );
    let (code, _, err) = risk(&w, "1");
    assert_eq!(code, 1);
    assert!(err.contains("HTTP 403"), "{err}");
    assert_eq!(gh.calls().len(), 1);
    // Not a PR number: refused before any call.
    gh.clear_calls();
    for bad in ["abc", "0", "-1", "01"] {
        let (code, _, err) = risk(&w, bad);
        assert_eq!(code, 1);
        assert!(
            err.contains("PR_NUMBER must be a positive integer"),
            "{err}"
        );
    }
    assert!(gh.calls().is_empty());
}

#[test]
fn hostile_titles_branches_and_file_names_are_data() {
    let evil = "$(touch pwned)`touch pwned2`\n\"quoted\"";
    let files = ["apps/web/e2e/$(touch pwned3).spec.ts", "docs/a\tb.md"];
    let mut p = pr(1, &files);
    p["title"] = json!(evil);
    p["headRefName"] = json!("codex/issue-1-$(touch pwned4)");
    p["body"] = json!("Closes #12; $(rm -rf ~)");
    let (w, _gh) = world(vec![p]);
    let v = risk_json(&w, 1);
    assert_eq!(v["title"], evil);
    assert_eq!(v["files"], json!(files));
    assert_eq!(v["linkedIssueId"], 12);
    for f in ["pwned", "pwned2", "pwned3", "pwned4"] {
        assert!(!w.root().join(f).exists(), "{f}");
    }
}

#[test]
fn the_lane_override_file_is_read_never_sourced() {
    let (w, _gh) = world(vec![pr(5, &["package.json"])]);
    w.write(
        "state/pr-lane-overrides/5.env",
        "PR_LANE_OVERRIDE=double-check-2\n$(touch pwned)\nUPDATED_AT=now\n",
    );
    let v = risk_json(&w, 5);
    assert_eq!(v["laneOverride"], "double-check-2");
    assert_eq!(v["agentLane"], "double-check-2");
    assert!(!w.root().join("pwned").exists());
}

#[test]
fn the_tools_front_runs_the_package_bin_script() {
    let (w, _gh) = world(vec![pr(1, &["docs/a.md"])]);
    let (code, out, _) = run(w.shim("tools/bin/pr-risk.sh").arg("1"));
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["agentLane"], "automerge");
    crate::harness::write_script(
        &w.skill.join("bin/pr-risk.sh"),
        "#!/usr/bin/env bash\nprintf '{\"stub\":\"%s\"}' \"$1\"\n",
    );
    let (code, out, _) = run(w.shim("tools/bin/pr-risk.sh").args(["7", "ignored"]));
    assert_eq!((code, out.as_str()), (0, "{\"stub\":\"7\"}"));
    let (code, _, err) = run(&mut w.shim("tools/bin/pr-risk.sh"));
    assert_eq!(code, 1);
    assert!(err.contains("usage: pr-risk.sh PR_NUMBER"), "{err}");
}

#[test]
fn an_unparsable_pr_view_is_an_ignored_pr_as_in_the_original() {
    let (w, _gh) = world(vec![pr(1, &["docs/a.md"])]);
    w.fake("gh", "#!/usr/bin/env bash\necho 'Welcome to gh!'\n");
    let (code, out, err) = risk(&w, "1");
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["agentLane"], "ignore");
    assert!(
        v["error"].as_str().unwrap().starts_with("parse-error: "),
        "{v}"
    );
    assert!(
        err.starts_with("pr-risk: failed to parse the PR JSON"),
        "{err}"
    );
}
