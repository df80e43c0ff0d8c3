//! `agent-project-catch-up-merged-prs` through its shim, against the fake
//! GitHub, with a hook file that defines none of the PR hooks (as the
//! heartbeat's hook file): the built-in steps do the work (F7).

use serde_json::{Value, json};

use crate::fake_github::FakeGithub;
use crate::harness::{World, read, run};

const TOOL: &str = "tools/bin/agent-project-catch-up-merged-prs";
const REPO: &str = "acme/widgets";

pub fn labels() -> Value {
    json!([
        "agent-running",
        "agent-automerge",
        "agent-blocked",
        "agent-e2e-heavy",
        "keep-me",
        "human-label",
        "other"
    ])
}

fn world() -> Value {
    json!({
        "labels": labels(),
        "prs": [
            {"number": 10, "state": "MERGED", "mergedAt": "2026-04-03T18:00:00Z", "createdAt": "2026-04-03T17:00:00Z",
             "headRefName": "agent/demo/issue-5", "body": "Work.\n\nCloses #5",
             "labels": ["agent-running", "agent-automerge", "keep-me"]},
            {"number": 11, "state": "CLOSED", "mergedAt": null, "createdAt": "2026-04-03T16:00:00Z",
             "headRefName": "agent/demo/issue-6", "body": "Closes #6", "labels": ["agent-running", "other"]},
            {"number": 12, "state": "MERGED", "mergedAt": "2026-04-03T19:00:00Z", "createdAt": "2026-04-03T15:00:00Z",
             "headRefName": "feature/by-a-human", "body": "Closes #7", "labels": ["agent-running"]}
        ],
        "issues": [
            {"number": 5, "state": "OPEN", "labels": ["agent-running", "human-label"]},
            {"number": 6, "state": "OPEN", "labels": []},
            {"number": 7, "state": "OPEN", "labels": []}
        ]
    })
}

pub fn setup(world: &Value) -> (World, FakeGithub) {
    let mut w = World::new();
    w.env("ACP_MANAGED_PR_BRANCH_GLOBS", "agent/demo/*");
    let gh = w.fake_github(world);
    w.write(
        "hooks.sh",
        "#!/usr/bin/env bash\nset -euo pipefail\nunrelated_hook() { :; }\n",
    );
    (w, gh)
}

pub fn catch_up(w: &World, tool: &str, extra: &[&str]) -> (i32, String, String) {
    let state = w.path("state");
    let hooks = w.path("hooks.sh");
    run(w
        .shim(tool)
        .args(["--repo-slug", REPO, "--state-root"])
        .arg(&state)
        .arg("--hook-file")
        .arg(&hooks)
        .args(extra))
}

fn state_of(gh: &FakeGithub, n: u64) -> String {
    let w = gh.state();
    let i = w["issues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["number"] == n)
        .unwrap();
    i["state"].as_str().unwrap().to_string()
}

fn writes(gh: &FakeGithub) -> Vec<Vec<String>> {
    gh.calls()
        .into_iter()
        .filter(|c| c[1] == "edit" || c[1] == "close" || c.contains(&"--method".to_string()))
        .collect()
}

#[test]
fn a_merged_pr_closes_its_issue_and_cleans_labels_exactly_once() {
    let (w, gh) = setup(&world());
    w.write("state/retries/prs/10.env", "ATTEMPTS=1\nLAST_REASON=x\n");
    let (code, out, err) = catch_up(&w, TOOL, &[]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "CATCHUP_CLOSED_ISSUE=5",
            "CATCHUP_MERGED_PR=10",
            "CATCHUP_CLOSED_PR=11"
        ]
    );
    assert_eq!(state_of(&gh, 5), "CLOSED");
    assert_eq!(
        gh.comments(5),
        ["Closed automatically after PR #10 merged."]
    );
    assert_eq!(gh.labels("issue", 5), ["human-label"]);
    assert_eq!(gh.labels("pr", 10), ["keep-me"]);
    // A closed PR: labels cleaned (F7: no `pr_after_closed` hook needed),
    // ledger written, its issue left open.
    assert_eq!(gh.labels("pr", 11), ["other"]);
    assert_eq!(state_of(&gh, 6), "OPEN");
    // A human's PR is not touched.
    assert_eq!(gh.labels("pr", 12), ["agent-running"]);
    assert!(
        !w.path("state/retries/prs/10.env").exists(),
        "retry cleared"
    );
    let merged = read(w.path("state/merged-pr-catchup/10.env"));
    assert!(
        merged.contains("PR_STATE=merged\n") && merged.contains("ISSUE_ID=5\n"),
        "{merged}"
    );
    assert!(read(w.path("state/closed-pr-catchup/11.env")).contains("PR_STATE=closed\n"));
    // Only list reads before the writes: one per state.
    let lists = gh.calls().into_iter().filter(|c| c[1] == "list").count();
    assert_eq!(lists, 2);

    gh.clear_calls();
    let (code, out, err) = catch_up(&w, TOOL, &[]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert!(writes(&gh).is_empty(), "{:?}", gh.calls());
    assert_eq!(gh.comments(5).len(), 1);
}

#[test]
fn hooks_the_file_defines_replace_the_built_in_steps() {
    let (w, gh) = setup(&world());
    let log = w.path("events.log");
    w.write(
        "hooks.sh",
        format!(
            "pr_after_merged() {{ echo \"MERGED:$1:$PR_NUMBER\" >>{0}; }}\n\
             pr_linked_issue_should_close() {{ echo no; }}\n",
            log.display()
        ),
    );
    let (code, out, err) = catch_up(&w, TOOL, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(read(&log), "MERGED:10:10\n");
    assert!(!out.contains("CATCHUP_CLOSED_ISSUE"), "{out}");
    assert_eq!(state_of(&gh, 5), "OPEN");
    // The hook replaced the label clean-up of the merged PR only.
    assert_eq!(
        gh.labels("pr", 10),
        ["agent-running", "agent-automerge", "keep-me"]
    );
    assert_eq!(gh.labels("pr", 11), ["other"]);
}

#[test]
fn a_failed_close_leaves_the_pr_for_the_next_pass() {
    let mut wd = world();
    wd["fail_close"] = json!([5]);
    let (w, gh) = setup(&wd);
    let (code, out, err) = catch_up(&w, TOOL, &[]);
    assert_eq!(code, 1);
    assert!(err.contains("closing issue #5: gh issue close 5"), "{err}");
    assert!(err.contains("CATCHUP_FAILED_PR=10"), "{err}");
    assert!(!out.contains("CATCHUP_MERGED_PR=10"), "{out}");
    assert!(!w.path("state/merged-pr-catchup/10.env").exists());
    assert!(out.contains("CATCHUP_CLOSED_PR=11"), "{out}");
    gh.put("fail_close", json!([]));
    let (code, out, _) = catch_up(&w, TOOL, &[]);
    assert_eq!(code, 0);
    assert_eq!(out, "CATCHUP_CLOSED_ISSUE=5\nCATCHUP_MERGED_PR=10\n");
}

#[test]
fn a_list_that_cannot_be_read_is_one_line_and_nothing_is_written() {
    let mut wd = world();
    wd["faults"] = json!([{"on": "read", "count": 1, "answer": "403"}]);
    let (w, gh) = setup(&wd);
    let (code, out, err) = catch_up(&w, TOOL, &[]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("gh pr list -R acme/widgets --state merged"),
        "{err}"
    );
    assert!(writes(&gh).is_empty());
    assert_eq!(
        std::fs::read_dir(w.path("state/merged-pr-catchup"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn more_than_a_hundred_prs_are_seen_in_one_list_call() {
    let prs: Vec<Value> = (1..=150)
        .map(|n| json!({"number": n, "state": "MERGED", "mergedAt": format!("2026-01-01T00:{:02}:{:02}Z", n / 60, n % 60),
                        "headRefName": format!("agent/demo/issue-{n}"), "body": "", "labels": []}))
        .collect();
    let (w, gh) = setup(&json!({"labels": labels(), "prs": prs, "issues": []}));
    let (code, out, err) = catch_up(&w, TOOL, &["--limit", "200"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 150);
    assert_eq!(
        out.lines().next(),
        Some("CATCHUP_MERGED_PR=150"),
        "newest merge first"
    );
    assert_eq!(gh.calls().len(), 2, "one list per state");
}

#[test]
fn usage_and_a_missing_hook_file() {
    let (w, _gh) = setup(&world());
    let (code, _, err) = run(w.shim(TOOL).args(["--repo-slug", REPO]));
    assert_eq!(code, 1);
    assert!(err.contains("usage"), "{err}");
    let (code, _, err) = run(w.shim(TOOL).args([
        "--repo-slug",
        REPO,
        "--state-root",
        "s",
        "--hook-file",
        "/nonexistent/h.sh",
    ]));
    assert_eq!(code, 1);
    assert!(
        err.contains("missing hook file: /nonexistent/h.sh"),
        "{err}"
    );
}

#[test]
fn a_recurring_linked_issue_stays_open_and_gets_its_checklist_synced() {
    let mut wd = world();
    wd["issues"][0] = json!({"number": 5, "state": "OPEN", "labels": ["agent-keep-open", "agent-running"],
        "body": "Checklist:\n- [ ] Add a `completedRatio` field to the summary output.\n- [ ] Something else entirely.\n",
        "comments": [{"body": "Opened PR #10", "createdAt": "2026-04-03T17:00:00Z"}]});
    wd["prs"][0]["title"] = json!("feat: add completedRatio to the summary output");
    let (w, gh) = setup(&wd);
    w.write("state/pr-lane-overrides/10.env", "LANE=automerge\n");
    let (code, out, err) = catch_up(&w, TOOL, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("CATCHUP_CLOSED_ISSUE"), "{out}");
    assert!(out.contains("CATCHUP_MERGED_PR=10"), "{out}");
    assert_eq!(state_of(&gh, 5), "OPEN");
    let body = gh.state()["issues"][0]["body"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(body.contains("- [x] Add a `completedRatio`"), "{body}");
    assert!(body.contains("- [ ] Something else"), "{body}");
    assert_eq!(gh.labels("issue", 5), ["agent-keep-open", "agent-running"]);
    assert!(!w.path("state/pr-lane-overrides/10.env").exists());
}

#[test]
fn an_adapter_pr_risk_script_classifies_the_prs() {
    let (mut w, gh) = setup(&world());
    let risk = w.write(
        "adapter/pr-risk.sh",
        "#!/usr/bin/env bash\nif [ \"$1\" = 12 ]; then echo '{\"isAgentBranch\":true,\"linkedIssueId\":7}'; else echo '{}'; fi\n",
    );
    crate::harness::write_script(&risk, &read(&risk));
    w.env("ADAPTER_BIN_DIR", w.path("adapter"));
    let (code, out, err) = catch_up(&w, TOOL, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "CATCHUP_CLOSED_ISSUE=7\nCATCHUP_MERGED_PR=12\n");
    assert_eq!(state_of(&gh, 5), "OPEN");
}

#[test]
fn handled_prs_are_not_classified_again() {
    let (w, _gh) = setup(&world());
    let log = w.path("risk.log");
    w.write(
        "hooks.sh",
        format!(
            "heartbeat_pr_risk_json() {{ echo \"$1\" >>{0}; echo '{{\"isManagedByAgent\":true}}'; }}\n",
            log.display()
        ),
    );
    let (code, out, err) = catch_up(&w, TOOL, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "CATCHUP_MERGED_PR=12\nCATCHUP_MERGED_PR=10\nCATCHUP_CLOSED_PR=11\n"
    );
    assert_eq!(read(&log), "12\n10\n11\n");
    let (_, out, _) = catch_up(&w, TOOL, &[]);
    assert_eq!(out, "");
    assert_eq!(read(&log), "12\n10\n11\n", "no second classification");
}
