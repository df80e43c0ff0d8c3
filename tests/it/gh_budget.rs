//! `gh` calls per reconciled session (issue 8): the main reconcile paths
//! run through the worker wrappers, the shipped hook files and a profile,
//! against the fake `gh`. The counts are pinned so a change that adds a
//! call is seen; docs/github.md lists which tool makes which call.

use std::path::Path;

use serde_json::json;

use crate::harness::{World, run};

/// A profile `bench` whose roots live in the world, a git repo with an
/// origin, and the fake `gh` holding issues 1..=2 and PRs 101..=102.
fn world() -> (World, crate::fake_github::FakeGithub) {
    let mut w = World::new();
    let gh = w.fake_github(&json!({
        "labels": ["agent-ready", "agent-running", "agent-blocked", "agent-repair-queued"],
        "issues": [
            {"number": 1, "title": "One", "body": "b", "state": "OPEN", "labels": ["agent-running"]},
            {"number": 2, "title": "Two", "body": "b", "state": "OPEN", "labels": ["agent-running"]},
            {"number": 3, "title": "Three", "body": "b", "state": "OPEN", "labels": ["agent-running"]},
        ],
        "prs": [
            {"number": 101, "title": "P1", "body": "Closes #1", "state": "OPEN", "labels": ["agent-running"],
             "headRefName": "agent/p1", "baseRefName": "main", "author": "bot"},
            {"number": 102, "title": "P2", "body": "Closes #2", "state": "OPEN", "labels": ["agent-running"],
             "headRefName": "agent/p2", "baseRefName": "main", "author": "bot"},
        ],
        "comments": {"3": [{"id": 1, "body": "Split out as #2.", "user": {"login": "bot"},
                            "created_at": "2026-06-01T00:00:00Z"}]},
    }));
    let repo = w.git_repo("repo");
    let root = w.root();
    w.write(
        "registry/bench/control-plane.yaml",
        format!(
            "schema_version: \"1\"\nid: \"bench\"\nrepo:\n  slug: \"example/bench\"\n  root: \"{repo}\"\n  \
             default_branch: \"main\"\nruntime:\n  orchestrator_agent_root: \"{r}/agent\"\n  \
             agent_repo_root: \"{repo}\"\n  worktree_root: \"{r}/worktrees\"\n  runs_root: \"{r}/runs\"\n  \
             state_root: \"{r}/state\"\n  history_root: \"{r}/history\"\nsession_naming:\n  \
             issue_prefix: \"bench-issue-\"\n  pr_prefix: \"bench-pr-\"\nexecution:\n  coding_worker: \"claude\"\n",
            repo = repo.display(),
            r = root.display()
        ),
    );
    let registry = w.path("registry");
    w.env("ACP_PROFILE_REGISTRY_ROOT", &registry)
        .env("ACP_PROJECT_ID", "bench");
    (w, gh)
}

/// Writes run `session`'s files: run.env (with `id_line`), runner.env and
/// the optional result.env and comment file.
fn session(
    w: &World,
    session: &str,
    id_line: &str,
    runner: &str,
    result: &str,
    comment: (&str, &str),
) {
    let repo = w.path("repo");
    w.write(
        &format!("runs/{session}/run.env"),
        format!(
            "SESSION={session}\nWORKTREE={}\nBRANCH=main\nSTARTED_AT=2026-01-01T00:00:00Z\nCODING_WORKER=claude\n{id_line}",
            repo.display()
        ),
    );
    w.write(&format!("runs/{session}/runner.env"), runner);
    if !result.is_empty() {
        w.write(&format!("runs/{session}/result.env"), result);
    }
    if !comment.0.is_empty() {
        w.write(&format!("runs/{session}/{}", comment.0), comment.1);
    }
}

const DONE: &str = "RUNNER_STATE=succeeded\nATTEMPT=1\nLAST_EXIT_CODE=0\n";

/// Runs the worker wrapper for `session` and returns the `gh` calls it made.
fn reconcile(
    w: &World,
    gh: &crate::fake_github::FakeGithub,
    tool: &str,
    s: &str,
) -> Vec<Vec<String>> {
    gh.clear_calls();
    let (code, out, err) = run(w.shim(&format!("tools/bin/{tool}")).arg(s));
    assert_eq!(code, 0, "{s}: {out}\n{err}");
    assert!(
        !Path::new(&w.path(&format!("runs/{s}"))).exists(),
        "{s} not archived: {out}\n{err}"
    );
    gh.calls()
}

fn shapes(calls: &[Vec<String>]) -> Vec<String> {
    calls
        .iter()
        .map(|c| c.iter().take(2).cloned().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn reconciling_issue_sessions_stays_within_the_call_budget() {
    let (w, gh) = world();
    session(
        &w,
        "bench-issue-1",
        "ISSUE_ID=1\nTASK_KIND=issue\n",
        DONE,
        "OUTCOME=blocked\nACTION=host-comment-blocker\nISSUE_ID=1\n",
        (
            "issue-comment.md",
            "# Blocker: Change scope was too broad\n\nToo many packages.\n",
        ),
    );
    let calls = reconcile(&w, &gh, "reconcile-issue-worker.sh", "bench-issue-1");
    // view (with comments: no `#N` since the start, so no follow-up pass),
    // the blocker comment (its marker checked in the view), the label delta.
    assert_eq!(
        shapes(&calls),
        [
            "issue view",
            "api repos/example/bench/issues/1/comments",
            "issue edit"
        ],
        "{calls:?}"
    );
    // A comment since the start names another issue: the follow-up pass
    // runs (login, every comment) once, though the outcome asks twice.
    session(
        &w,
        "bench-issue-3",
        "ISSUE_ID=3\nTASK_KIND=issue\n",
        DONE,
        "OUTCOME=blocked\nACTION=host-comment-blocker\nISSUE_ID=3\n",
        (
            "issue-comment.md",
            "# Blocker: Change scope was too broad\n\nToo many packages.\n",
        ),
    );
    let calls = reconcile(&w, &gh, "reconcile-issue-worker.sh", "bench-issue-3");
    assert_eq!(
        shapes(&calls),
        [
            "issue view",
            "api user",
            "api repos/example/bench/issues/3/comments?per_page=100",
            // the issue it names (#2)
            "issue view",
            "api repos/example/bench/issues/3/comments",
            "issue edit"
        ],
        "{calls:?}"
    );
    session(
        &w,
        "bench-issue-2",
        "ISSUE_ID=2\nTASK_KIND=issue\n",
        "RUNNER_STATE=failed\nATTEMPT=2\nLAST_EXIT_CODE=1\nLAST_FAILURE_REASON=worker-exit-failed\n",
        "",
        ("", ""),
    );
    let calls = reconcile(&w, &gh, "reconcile-issue-worker.sh", "bench-issue-2");
    assert_eq!(shapes(&calls), ["issue view", "issue edit"], "{calls:?}");
}

#[test]
fn reconciling_pr_sessions_stays_within_the_call_budget() {
    let (w, gh) = world();
    session(
        &w,
        "bench-pr-101",
        "PR_NUMBER=101\nTASK_KIND=pr\n",
        DONE,
        "OUTCOME=blocked\nACTION=host-comment-pr-blocker\nPR_NUMBER=101\n",
        (
            "pr-comment.md",
            "**Blocker**\n\nNeeds a product decision.\n",
        ),
    );
    let all = reconcile(&w, &gh, "reconcile-pr-worker.sh", "bench-pr-101");
    // The repository's agent labels are ensured once (remembered in state):
    // one list and the missing definitions.
    let (labels, calls): (Vec<_>, Vec<_>) = all.into_iter().partition(|c| c[0] == "label");
    assert!(labels.len() <= 11, "{labels:?}");
    // view (with comments and the risk fields), the comment (marker checked
    // in the view), the label delta, then the label re-sync's review
    // comments (its PR read is answered by the reconciler's view: the
    // sibling runs in process and shares the snapshot).
    assert_eq!(
        shapes(&calls),
        [
            "pr view",
            "api repos/example/bench/issues/101/comments",
            "pr edit"
        ],
        "{calls:?}"
    );
    session(
        &w,
        "bench-pr-102",
        "PR_NUMBER=102\nTASK_KIND=pr\n",
        DONE,
        "OUTCOME=no-change-needed\nACTION=host-refresh-pr-state\nPR_NUMBER=102\n",
        ("pr-comment.md", "No change needed.\n"),
    );
    let calls = reconcile(&w, &gh, "reconcile-pr-worker.sh", "bench-pr-102");
    assert_eq!(shapes(&calls), ["pr view", "pr edit"], "{calls:?}");
}
