//! `start-issue-worker.sh` through its shim, symlinked into a workspace's
//! `bin/` next to the real sibling tools (also symlinks) and a stub runner,
//! with a real origin and clone, the fake GitHub and a private tmux server.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::fake_github::FakeGithub;
use crate::harness::{World, kv, read, run, write_script};
use crate::worktree_fixture::{Repos, git, profile, repos};

/// The stub runner: records its argv, the issue/resident variables and the
/// prompt under `<root>/runner/<ISSUE_ID>.{env,md}`; exits `$RUNNER_EXIT`.
const RUNNER: &str = r#"#!/usr/bin/env bash
set -euo pipefail
out="$RUNNER_LOG_DIR/${ACP_ISSUE_ID}"
mkdir -p "$RUNNER_LOG_DIR"
{
  printf 'ARGS=%s|%s|%s\n' "$1" "$2" "$3"
  env | grep -E '^(ACP|F_LOSNING)_(ISSUE|RESIDENT)_' | sort
} > "$out.env"
cp "$3" "$out.md"
mkdir -p "$(dirname "$3")"
exit "${RUNNER_EXIT:-0}"
"#;

struct Fixture {
    w: World,
    gh: FakeGithub,
    repos: Repos,
    bin: PathBuf,
}

fn issue(n: u64, title: &str, body: &str, labels: &[&str]) -> Value {
    json!({"number": n, "title": title, "body": body, "state": "OPEN",
           "url": format!("https://github.test/example/demo/issues/{n}"), "labels": labels})
}

fn fixture(issues: Vec<Value>) -> Fixture {
    let mut w = World::new();
    let r = repos(&w, "repos", &[]);
    profile(&mut w, &r, "");
    let gh = w.fake_github(&json!({
        "labels": ["agent-running", "agent-blocked", "agent-keep-open", "agent-automerge"],
        "issues": issues,
    }));
    let bin = w.path("workspace/bin");
    std::fs::create_dir_all(&bin).unwrap();
    // The workspace's bin/ holds every tool as a symlink (the layout the
    // original's tests build), the runner as a stub.
    for entry in std::fs::read_dir(w.skill.join("tools/bin")).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() != "run-codex-safe.sh" {
            std::os::unix::fs::symlink(entry.path(), bin.join(entry.file_name())).unwrap();
        }
    }
    write_script(&bin.join("run-codex-safe.sh"), RUNNER);
    let skill = w.skill.clone();
    let runner_logs = w.path("runner");
    w.env("ACP_ROOT", &skill)
        .env("ACP_SYNC_DEPENDENCY_BASELINE_SCRIPT", "/nonexistent")
        .env("ACP_CODING_WORKER", "codex")
        .env("RUNNER_LOG_DIR", runner_logs);
    Fixture {
        w,
        gh,
        repos: r,
        bin,
    }
}

impl Fixture {
    fn start(&self, args: &[&str]) -> (i32, String, String) {
        let mut cmd = self.w.cmd("bash");
        cmd.arg(self.bin.join("start-issue-worker.sh")).args(args);
        run(&mut cmd)
    }

    fn runner_env(&self, id: &str) -> String {
        read(self.w.path(&format!("runner/{id}.env")))
    }

    fn run_dir(&self, id: &str) -> PathBuf {
        self.w.path(&format!("agent/runs/demo-issue-{id}"))
    }
}

#[test]
fn renders_the_prompt_opens_a_worktree_and_starts_the_runner() {
    let body = "Make the widget faster.\n\n- Run `npm test` after code changes\n";
    let f = fixture(vec![issue(
        42,
        "Speed up widgets",
        body,
        &["agent-automerge"],
    )]);
    let (code, out, err) = f.start(&["42"]);
    assert_eq!(code, 0, "{err}");
    let prompt = f.run_dir("42").join("prompt.md");
    assert_eq!(kv(&out, "ISSUE_ID"), Some("42"));
    assert_eq!(kv(&out, "TITLE"), Some("Speed up widgets"));
    assert_eq!(
        kv(&out, "URL"),
        Some("https://github.test/example/demo/issues/42")
    );
    assert_eq!(kv(&out, "AUTOMERGE"), Some("yes"));
    assert_eq!(kv(&out, "SESSION"), Some("demo-issue-42"));
    assert_eq!(kv(&out, "PROMPT"), Some(prompt.to_str().unwrap()));
    let wt = PathBuf::from(kv(&out, "WORKTREE").unwrap());
    let branch = kv(&out, "BRANCH").unwrap();
    assert!(wt.starts_with(&f.repos.worktrees), "{}", wt.display());
    assert_eq!(git(&f.w, &wt, &["branch", "--show-current"]), branch);
    assert!(
        branch.starts_with("agent/demo/issue-42-speed-up-widgets"),
        "{branch}"
    );
    let text = read(&prompt);
    assert!(
        text.contains("Issue #42, titled \"Speed up widgets\""),
        "{text}"
    );
    assert!(text.contains("Make the widget faster."));
    assert!(text.contains("Operator asked for auto-merge once reviews pass: yes."));
    assert!(
        text.contains("npm test\nbash \"$ACP_FLOW_TOOLS_DIR/record-verification.sh\""),
        "{text}"
    );
    assert!(text.contains("## Host Quality Guardrails"));
    assert!(!text.contains("## Resident Worker Context"));
    assert!(!text.contains("{ISSUE_"), "every token filled: {text}");
    let env = f.runner_env("42");
    assert!(
        env.contains(&format!(
            "ARGS=demo-issue-42|{}|{}\n",
            wt.display(),
            prompt.display()
        )),
        "{env}"
    );
    for line in [
        "ACP_ISSUE_ID=42",
        "F_LOSNING_ISSUE_ID=42",
        "ACP_ISSUE_AUTOMERGE=yes",
        "ACP_RESIDENT_WORKER_ENABLED=no",
        "F_LOSNING_RESIDENT_WORKER_SCOPE=lane",
        "ACP_RESIDENT_TASK_COUNT=0",
    ] {
        assert!(env.lines().any(|l| l == line), "{line} in {env}");
    }
    // Only the issue view: no comment, no label write.
    let calls = f.gh.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(&calls[0][..3], ["issue", "view", "42"]);
}

#[test]
fn hostile_issue_text_is_rendered_as_data_and_never_run() {
    let title = "Fix $(touch pwned-title) `touch pwned-tick` {REPO_SLUG}\nSESSION=forged";
    let body = "Body $(touch pwned-body) {ISSUE_BLOCKER_CONTEXT} {ISSUE_ID}\n- Run `touch pwned-run; echo $(touch pwned-sub) 'q'`\n";
    let f = fixture(vec![issue(7, title, body, &[])]);
    let (code, out, err) = f.start(&["7"]);
    assert_eq!(code, 0, "{err}");
    let text = read(f.run_dir("7").join("prompt.md"));
    assert!(
        text.contains("{REPO_SLUG}\nSESSION=forged"),
        "title kept as written: {text}"
    );
    assert!(
        text.contains("Body $(touch pwned-body) {ISSUE_BLOCKER_CONTEXT} {ISSUE_ID}"),
        "{text}"
    );
    assert!(
        text.contains(r#"--command 'touch pwned-run; echo $(touch pwned-sub) '\''q'\'''"#),
        "the record line quotes the command as one shell word: {text}"
    );
    assert!(!out.lines().any(|l| l == "SESSION=forged"), "{out}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("SESSION=")).count(),
        1,
        "{out}"
    );
    let wt = PathBuf::from(kv(&out, "WORKTREE").unwrap());
    for dir in [f.w.root(), wt, f.run_dir("7"), f.bin.clone()] {
        for name in [
            "pwned-title",
            "pwned-tick",
            "pwned-body",
            "pwned-run",
            "pwned-sub",
        ] {
            assert!(
                !dir.join(name).exists(),
                "{name} created in {}",
                dir.display()
            );
        }
    }
}

fn lane_dir(f: &Fixture) -> PathBuf {
    f.w.path("agent/state/resident-workers/issues/issue-lane-recurring-general-codex-safe")
}

fn meta(f: &Fixture, key: &str) -> String {
    let text = read(lane_dir(f).join("metadata.env"));
    kv(&text, key).unwrap_or_default().to_string()
}

#[test]
fn a_resident_lane_reuses_its_worktree_and_falls_back_to_a_new_one() {
    let keep = |n| {
        issue(
            n,
            &format!("Recurring {n}"),
            "Keep improving.",
            &["agent-keep-open"],
        )
    };
    let f = fixture(vec![keep(440), keep(441), keep(442)]);
    // The checklist sync has nothing to say about these issues.
    write_script(
        &f.w.skill
            .join("tools/bin/sync-recurring-issue-checklist.sh"),
        "#!/bin/sh\necho CHECKLIST_TOTAL=0\n",
    );
    let alias = lane_dir(&f).join("worktree");

    let (code, out, err) = f.start(&["440"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "WORKTREE"), Some(alias.to_str().unwrap()));
    let first = std::fs::read_link(&alias).unwrap();
    assert!(first.starts_with(&f.repos.worktrees), "{}", first.display());
    let env = f.runner_env("440");
    assert!(env.contains("ACP_RESIDENT_WORKER_ENABLED=yes\n"), "{env}");
    assert!(
        env.contains("ACP_RESIDENT_TASK_COUNT=1\n")
            && env.contains("ACP_RESIDENT_WORKTREE_REUSED=no\n")
    );
    assert!(env.contains("ACP_RESIDENT_WORKER_KEY=issue-lane-recurring-general-codex-safe\n"));
    assert_eq!(meta(&f, "TASK_COUNT"), "1");
    assert_eq!(meta(&f, "LAST_STATUS"), "running");
    assert_eq!(meta(&f, "WORKTREE_REALPATH"), first.to_str().unwrap());
    assert!(read(f.w.path("runner/440.md")).contains("Resident task count for this lane: 1."));

    let (code, out, err) = f.start(&["441"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "WORKTREE"), Some(alias.to_str().unwrap()));
    let second = std::fs::read_link(&alias).unwrap();
    assert_ne!(second, first, "the reuse rotated the worktree");
    assert!(
        kv(&out, "BRANCH")
            .unwrap()
            .starts_with("agent/demo/issue-441-")
    );
    let env = f.runner_env("441");
    assert!(
        env.contains("ACP_RESIDENT_TASK_COUNT=2\n")
            && env.contains("ACP_RESIDENT_WORKTREE_REUSED=yes\n"),
        "{env}"
    );
    assert_eq!(meta(&f, "ISSUE_ID"), "441");
    assert_eq!(meta(&f, "TASK_COUNT"), "2");
    assert_eq!(meta(&f, "LAST_WORKTREE_REUSED"), "yes");
    assert!(read(f.w.path("runner/441.md")).contains("Worktree reused from a prior cycle: yes."));

    // A locked worktree cannot be rotated: the lane starts over.
    git(
        &f.w,
        &second,
        &["worktree", "lock", second.to_str().unwrap()],
    );
    let (code, out, err) = f.start(&["442"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.lines()
            .any(|l| l.starts_with("RESIDENT_REUSE_FALLBACK=issue-442 reason=")),
        "{err}"
    );
    let third = std::fs::read_link(&alias).unwrap();
    assert!(third != second && third.starts_with(&f.repos.worktrees));
    assert_eq!(kv(&out, "WORKTREE"), Some(alias.to_str().unwrap()));
    let env = f.runner_env("442");
    assert!(
        env.contains("ACP_RESIDENT_TASK_COUNT=1\n")
            && env.contains("ACP_RESIDENT_WORKTREE_REUSED=no\n"),
        "{env}"
    );
    assert_eq!(meta(&f, "TASK_COUNT"), "1");
}

#[test]
fn refuses_when_the_session_already_runs() {
    let f = fixture(vec![issue(42, "t", "b", &[])]);
    f.w.tmux_session("demo-issue-42", "sleep 60");
    let (code, out, err) = f.start(&["42"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err.trim(), "worker session already exists: demo-issue-42");
    assert!(f.gh.calls().is_empty());
    assert!(!f.run_dir("42").exists());
}

#[test]
fn a_failing_runner_rolls_the_start_back() {
    let mut f = fixture(vec![issue(
        42,
        "t",
        "b",
        &["agent-running", "agent-automerge"],
    )]);
    f.w.env("RUNNER_EXIT", "7");
    let (code, out, _) = f.start(&["42"]);
    assert_eq!(code, 7);
    assert!(kv(&out, "SESSION").is_none(), "{out}");
    assert!(f.w.path("runner/42.md").is_file(), "the runner ran");
    assert!(!f.run_dir("42").exists(), "prompt-only run dir removed");
    assert_eq!(f.gh.labels("issue", 42), ["agent-automerge"]);
}

#[test]
fn an_unknown_mode_is_refused_and_rolled_back() {
    let f = fixture(vec![issue(42, "t", "b", &["agent-running"])]);
    let (code, _, err) = f.start(&["42", "turbo"]);
    assert_eq!(code, 1);
    assert_eq!(err.trim(), "unknown mode: turbo");
    assert!(f.gh.labels("issue", 42).is_empty());
    assert!(!f.w.path("runner").exists());
}

#[test]
fn a_stale_run_dir_moves_to_history() {
    let f = fixture(vec![issue(42, "t", "b", &[])]);
    std::fs::create_dir_all(f.run_dir("42")).unwrap();
    std::fs::write(f.run_dir("42").join("leftover.txt"), "x").unwrap();
    let (code, _, err) = f.start(&["42"]);
    assert_eq!(code, 0, "{err}");
    let history = f.w.path("agent/history");
    let moved: Vec<String> = std::fs::read_dir(&history)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert!(moved[0].starts_with("demo-issue-42-stale-"));
    assert!(history.join(&moved[0]).join("leftover.txt").is_file());
    assert!(!f.run_dir("42").join("leftover.txt").exists());
}

#[test]
fn several_profiles_and_none_named_exit_64() {
    let mut w = World::new();
    w.write("profiles/a/control-plane.yaml", "id: a\n");
    w.write("profiles/b/control-plane.yaml", "id: b\n");
    let reg = w.path("profiles");
    w.env("ACP_PROFILE_REGISTRY_ROOT", &reg);
    let (code, _, err) = run(w.shim("tools/bin/start-issue-worker.sh").arg("42"));
    assert_eq!(code, 64, "{err}");
    assert!(err.contains("explicit profile selection required"), "{err}");
    let (code, _, err) = run(&mut w.shim("tools/bin/start-issue-worker.sh"));
    assert_eq!(
        (code, err.trim()),
        (1, "usage: start-issue-worker.sh ISSUE_ID [safe|bypass]")
    );
}

#[test]
fn a_scheduled_issue_gets_the_scheduled_template_with_its_baseline() {
    let mut f = fixture(vec![issue(
        9,
        "Nightly probe",
        "Check the API.\n\nSchedule: every 1h\n",
        &[],
    )]);
    f.w.env("ACP_RESIDENT_ISSUE_WORKERS_ENABLED", "0");
    let (code, out, err) = f.start(&["9"]);
    assert_eq!(code, 0, "{err}");
    let wt = PathBuf::from(kv(&out, "WORKTREE").unwrap());
    let head = git(&f.w, &wt, &["rev-parse", "HEAD"]);
    let text = read(f.run_dir("9").join("prompt.md"));
    assert!(text.starts_with("# Scheduled check: issue #9"), "{text}");
    assert!(text.contains(&format!("at commit `{head}`")), "{text}");
    assert!(text.contains("## Host Quality Guardrails"));
    assert!(
        f.runner_env("9")
            .contains("ACP_RESIDENT_WORKER_ENABLED=no\n")
    );
}

#[test]
fn a_completed_recurring_checklist_blocks_once_without_a_run() {
    let f = fixture(vec![issue(
        42,
        "Recurring",
        "- [x] a\n- [x] b\n",
        &["agent-keep-open", "agent-running"],
    )]);
    write_script(
        &f.w.skill
            .join("tools/bin/sync-recurring-issue-checklist.sh"),
        "#!/bin/sh\nprintf 'CHECKLIST_TOTAL=2\\nCHECKLIST_UNCHECKED=0\\nCHECKLIST_MATCHED_PR_NUMBERS=11,12\\n'\n",
    );
    for _ in 0..2 {
        let (code, out, err) = f.start(&["42"]);
        assert_eq!((code, out.as_str()), (0, ""), "{err}");
    }
    let comments = f.gh.comments(42);
    assert_eq!(comments.len(), 1, "posted once: {comments:?}");
    let c = &comments[0];
    assert!(
        c.starts_with("# Blocker: All checklist items already completed\n"),
        "{c}"
    );
    assert!(c.contains("\nRecently matched PRs: #11, #12\n"), "{c}");
    assert!(
        c.contains("<!-- acp:demo-issue-42:checklist-complete -->"),
        "{c}"
    );
    assert_eq!(
        f.gh.labels("issue", 42),
        ["agent-keep-open", "agent-blocked"]
    );
    assert!(!f.run_dir("42").exists());
    assert!(!f.w.path("runner").exists());
}

#[test]
fn a_failed_host_publish_is_replayed_instead_of_a_new_worker() {
    let f = fixture(vec![issue(613, "t", "b", &["agent-running"])]);
    for (name, body) in [
        (
            "retry-state.sh",
            "#!/bin/sh\necho ATTEMPTS=2\necho LAST_REASON=host-publish-failed\n",
        ),
        (
            "reconcile-issue-worker.sh",
            "#!/bin/sh\necho \"$1\" > \"$RUNNER_LOG_DIR.replayed\"\necho STATUS=SUCCEEDED\n",
        ),
    ] {
        std::fs::remove_file(f.bin.join(name)).unwrap();
        write_script(&f.bin.join(name), body);
    }
    let history = f.w.path("agent/history");
    for (dir, state) in [
        ("demo-issue-613-20260101-000000", "failed"),
        ("demo-issue-613-20260102-000000", "succeeded"),
        ("demo-issue-6130-20260103-000000", "failed"),
    ] {
        let d = history.join(dir);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("run.env"), "ISSUE_ID=613\n").unwrap();
        std::fs::write(d.join("runner.env"), format!("RUNNER_STATE={state}\n")).unwrap();
        std::fs::write(
            d.join("result.env"),
            "OUTCOME=implemented\nACTION=host-publish-issue-pr\n",
        )
        .unwrap();
    }
    let (code, out, err) = f.start(&["613"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "STATUS=SUCCEEDED\n");
    let replayed = history.join("demo-issue-613-20260102-000000");
    assert!(
        err.contains(&format!(
            "ISSUE_HOST_PUBLISH_REPLAY=session=demo-issue-613 archived_run_dir={}",
            replayed.display()
        )),
        "{err}"
    );
    assert_eq!(read(f.w.path("runner.replayed")).trim(), "demo-issue-613");
    assert!(!f.w.path("runner").exists() && !f.run_dir("613").exists());
    assert_eq!(
        f.gh.labels("issue", 613),
        ["agent-running"],
        "a replay is no failure"
    );
}
