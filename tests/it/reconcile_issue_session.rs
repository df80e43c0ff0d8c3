//! Integration tests for `agent-project-reconcile-issue-session` (through
//! its shim) with the fake GitHub: every OUTCOME/ACTION path, the outbox,
//! two reconciles at once, hostile issue and prompt text, and the shipped
//! hook file against an edited copy.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::fake_github::FakeGithub;
use crate::harness::{World, kv, run, write_script};

const TOOL: &str = "tools/bin/agent-project-reconcile-issue-session";
const SESSION: &str = "demo-issue-42";
const REPO: &str = "acme/widgets";

/// Single-quotes a path for a bash script.
fn sq(p: &Path) -> String {
    format!("'{}'", p.to_str().unwrap().replace('\'', r"'\''"))
}

/// A world with the fake GitHub (issue 42 running, PR 7), stubs for the
/// worker status (reporting `status`), the cleanup (recording, keeping the
/// run dir), the publish tool (printing `publish`), and a run dir.
struct Fixture {
    w: World,
    gh: FakeGithub,
    run_dir: PathBuf,
}

fn fixture(status: &str, result: &str, publish: &str) -> Fixture {
    let mut w = World::new();
    let gh = w.fake_github(&json!({
        "labels": ["agent-ready", "agent-running", "agent-blocked", "agent-automerge"],
        "issues": [{"number": 42, "title": "Fix the widget", "body": "Make it work",
                    "state": "OPEN", "labels": ["agent-running"]}],
        "prs": [{"number": 7, "title": "PR", "state": "OPEN", "labels": []}],
        "comments": {},
    }));
    let run_dir = w.path("runs").join(SESSION);
    std::fs::create_dir_all(&run_dir).unwrap();
    std::fs::create_dir_all(w.path("history")).unwrap();
    w.write(
        &format!("runs/{SESSION}/run.env"),
        format!("ISSUE_ID=42\nSESSION={SESSION}\nSTARTED_AT=2026-01-01T00:00:00Z\nCODING_WORKER=claude\n"),
    );
    if !result.is_empty() {
        w.write(&format!("runs/{SESSION}/result.env"), result);
    }
    w.write(
        &format!("runs/{SESSION}/runner.env"),
        "RUNNER_STATE=succeeded\nATTEMPT=1\nLAST_EXIT_CODE=0\nLAST_FAILURE_REASON=\n",
    );
    let meta = run_dir.join("run.env");
    stub(
        &w,
        "agent-project-worker-status",
        &format!("printf 'STATUS={status}\\nMETA_FILE=%s\\n' {}", sq(&meta)),
    );
    let cleanup_log = w.path("cleanup.log");
    stub(
        &w,
        "agent-project-cleanup-session",
        &format!("printf '%s\\n' \"$*\" >> {}", sq(&cleanup_log)),
    );
    stub(&w, "agent-project-publish-issue-pr", publish);
    let kicks = w.path("kicks.log");
    stub(
        &w,
        "kick-scheduler.sh",
        &format!(
            "printf 'profile=%s delay=%s\\n' \"${{ACP_PROJECT_ID:-}}\" \"$1\" >> {}",
            sq(&kicks)
        ),
    );
    let state = w.path("state");
    w.env("ACP_STATE_ROOT", &state)
        .env("ACP_PROJECT_ID", "demo");
    Fixture { w, gh, run_dir }
}

fn stub(w: &World, name: &str, body: &str) -> PathBuf {
    write_script(
        &w.skill.join("tools/bin").join(name),
        &format!("#!/usr/bin/env bash\nset -euo pipefail\n{body}\n"),
    )
}

impl Fixture {
    fn reconcile(&self, hook: Option<&Path>) -> (i32, String, String) {
        let mut cmd = self.w.shim(TOOL);
        cmd.args(["--session", SESSION, "--repo-slug", REPO]);
        cmd.arg("--repo-root").arg(self.w.path("repo"));
        cmd.arg("--runs-root").arg(self.w.path("runs"));
        cmd.arg("--history-root").arg(self.w.path("history"));
        if let Some(h) = hook {
            cmd.arg("--hook-file").arg(h);
        }
        run(&mut cmd)
    }

    /// The shipped hook file of the world's tree.
    fn shipped_hooks(&self) -> PathBuf {
        self.w.skill.join("hooks/issue-reconcile-hooks.sh")
    }

    fn issue_labels(&self) -> Vec<String> {
        self.gh.labels("issue", 42)
    }

    fn retry_record(&self) -> String {
        std::fs::read_to_string(self.w.path("state/retries/issues/42.env")).unwrap_or_default()
    }

    fn label_calls(&self) -> Vec<Vec<String>> {
        self.gh
            .calls()
            .into_iter()
            .filter(|c| c.get(1).map(String::as_str) == Some("edit"))
            .collect()
    }
}

const BLOCKED: &str = "OUTCOME=blocked\nACTION=host-comment-blocker\n";
const IMPLEMENTED: &str = "OUTCOME=implemented\nACTION=host-publish-issue-pr\n";
const NO_PUBLISH: &str = "echo unexpected publish >&2; exit 9";

#[test]
fn a_blocked_run_posts_its_comment_once_and_marks_the_issue_blocked() {
    let f = fixture("SUCCEEDED", BLOCKED, NO_PUBLISH);
    f.w.write(
        &format!("runs/{SESSION}/issue-comment.md"),
        "# Blocker: Change scope was too broad\n\nToo much at once.\n",
    );
    let (code, out, err) = f.reconcile(Some(&f.shipped_hooks()));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "STATUS"), Some("SUCCEEDED"));
    assert_eq!(kv(&out, "OUTCOME"), Some("blocked"));
    assert_eq!(kv(&out, "ACTION"), Some("host-comment-blocker"));
    assert_eq!(kv(&out, "FAILURE_REASON"), Some("scope-guard-blocked"));
    let comments = f.gh.comments(42);
    assert_eq!(comments.len(), 1);
    assert!(comments[0].starts_with("# Blocker: Change scope was too broad"));
    assert!(comments[0].contains(&format!("<!-- acp:{SESSION}:issue-comment-")));
    assert_eq!(f.issue_labels(), ["agent-blocked"]);
    assert_eq!(
        f.label_calls(),
        [[
            "issue",
            "edit",
            "42",
            "-R",
            REPO,
            "--add-label=agent-blocked",
            "--remove-label=agent-running"
        ]]
    );
    assert!(
        f.retry_record().contains("LAST_REASON=scope-guard-blocked"),
        "{}",
        f.retry_record()
    );
    assert!(f.run_dir.join("reconciled.ok").is_file());
    assert!(
        std::fs::read_to_string(f.w.path("kicks.log"))
            .unwrap()
            .contains("profile=demo delay=2")
    );
    // A second reconcile of the same run posts nothing new.
    let (code, _, err) = f.reconcile(Some(&f.shipped_hooks()));
    assert_eq!(code, 0, "{err}");
    assert_eq!(f.gh.comments(42).len(), 1);
}

#[test]
fn a_failed_run_is_retried_and_made_ready_again() {
    let f = fixture("FAILED", "", NO_PUBLISH);
    stub(
        &f.w,
        "agent-project-worker-status",
        &format!(
            "printf 'STATUS=FAILED\\nFAILURE_REASON=auth-refresh-timeout\\nMETA_FILE=%s\\n' {}",
            sq(&f.run_dir.join("run.env"))
        ),
    );
    let (code, out, err) = f.reconcile(Some(&f.shipped_hooks()));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "STATUS"), Some("FAILED"));
    assert_eq!(kv(&out, "FAILURE_REASON"), Some("auth-refresh-timeout"));
    assert_eq!(kv(&out, "OUTCOME"), None);
    assert!(f.issue_labels().is_empty());
    assert!(f.gh.comments(42).is_empty());
    assert!(
        f.retry_record()
            .contains("LAST_REASON=auth-refresh-timeout")
    );
    let runner = std::fs::read_to_string(f.run_dir.join("runner.env")).unwrap();
    assert!(
        runner.contains("RUNNER_STATE=failed\n")
            && runner.contains("LAST_FAILURE_REASON=auth-refresh-timeout\n")
    );
}

#[test]
fn an_implemented_run_publishes_and_clears_the_issue() {
    let f = fixture(
        "SUCCEEDED",
        IMPLEMENTED,
        "printf 'PUBLISH_STATUS=created-pr\\nPR_NUMBER=7\\n'",
    );
    f.w.write(
        &format!("runs/{SESSION}/verification.jsonl"),
        "{\"status\":\"pass\",\"command\":\"npm test\"}\n",
    );
    write_script(
        &f.w.skill.join("bin/pr-risk.sh"),
        "#!/usr/bin/env bash\necho '{\"eligibleForAutoMerge\":true}'\n",
    );
    let (code, out, err) = f.reconcile(Some(&f.shipped_hooks()));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "STATUS"), Some("SUCCEEDED"));
    assert_eq!(kv(&out, "PR_NUMBER"), Some("7"));
    assert_eq!(kv(&out, "OUTCOME"), Some("implemented"));
    assert_eq!(kv(&out, "ACTION"), Some("host-publish-issue-pr"));
    assert!(f.issue_labels().is_empty());
    assert_eq!(f.gh.labels("pr", 7), ["agent-automerge"]);
    let kicks = std::fs::read_to_string(f.w.path("kicks.log")).unwrap();
    assert!(
        kicks.contains("delay=5") && kicks.contains("delay=2"),
        "{kicks}"
    );
}

#[test]
fn a_reported_run_posts_the_report_and_clears_the_issue() {
    let f = fixture(
        "SUCCEEDED",
        "OUTCOME=reported\nACTION=host-comment-scheduled-report\n",
        NO_PUBLISH,
    );
    f.w.write(
        &format!("runs/{SESSION}/issue-comment.md"),
        "All checks green.\n",
    );
    let (code, out, err) = f.reconcile(Some(&f.shipped_hooks()));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "OUTCOME"), Some("reported"));
    assert_eq!(kv(&out, "ACTION"), Some("host-comment-scheduled-report"));
    assert_eq!(f.gh.comments(42).len(), 1);
    assert!(f.issue_labels().is_empty());
}

#[test]
fn invalid_contracts_and_publish_failures_are_reported_as_such() {
    let f = fixture(
        "SUCCEEDED",
        "OUTCOME=implemented\nACTION=nope\n",
        NO_PUBLISH,
    );
    let (code, out, err) = f.reconcile(None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "STATUS"), Some("FAILED"));
    assert_eq!(kv(&out, "OUTCOME"), Some("invalid-contract"));
    assert_eq!(kv(&out, "ACTION"), Some("queued-issue-retry"));
    assert_eq!(
        kv(&out, "RESULT_CONTRACT_NOTE"),
        Some("invalid-result-contract")
    );

    let f = fixture(
        "SUCCEEDED",
        IMPLEMENTED,
        "printf 'Scope guard blocked issue #42 from publishing.\\n\\nToo broad.\\n' >&2; exit 3",
    );
    let (code, out, err) = f.reconcile(Some(&f.shipped_hooks()));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "FAILURE_REASON"), Some("scope-guard-blocked"));
    assert_eq!(
        kv(&out, "PUBLISH_ERROR"),
        Some("Scope guard blocked issue #42 from publishing. Too broad.")
    );
    assert!(f.gh.comments(42)[0].starts_with("# Blocker: Change scope was too broad"));
    assert_eq!(f.issue_labels(), ["agent-blocked"]);

    let f = fixture(
        "SUCCEEDED",
        IMPLEMENTED,
        "echo 'remote rejected' >&2; exit 1",
    );
    let (code, out, err) = f.reconcile(Some(&f.shipped_hooks()));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "OUTCOME"), None);
    assert_eq!(kv(&out, "PUBLISH_ERROR"), Some("remote rejected"));
    assert!(f.gh.comments(42)[0].starts_with(&format!(
        "Host-side publish blocked for session `{SESSION}`."
    )));
    assert!(f.retry_record().contains("LAST_REASON=host-publish-failed"));
}

#[test]
fn running_stale_and_missing_runs_touch_nothing() {
    let f = fixture("RUNNING", BLOCKED, NO_PUBLISH);
    let (code, out, _) = f.reconcile(None);
    assert_eq!((code, out.as_str()), (0, "STATUS=RUNNING\n"));

    let mut f = fixture("SUCCEEDED", BLOCKED, NO_PUBLISH);
    f.w.env("ACP_EXPECTED_RUN_STARTED_AT", "2025-12-31T00:00:00Z");
    let (code, out, _) = f.reconcile(None);
    assert_eq!(code, 0);
    assert_eq!(kv(&out, "STATUS"), Some("STALE-RUN-SKIPPED"));
    assert_eq!(kv(&out, "ACTUAL_STARTED_AT"), Some("2026-01-01T00:00:00Z"));
    assert!(!f.run_dir.join("reconciled.ok").exists());
    assert!(f.gh.calls().is_empty());

    let f = fixture("UNKNOWN", BLOCKED, NO_PUBLISH);
    std::fs::remove_dir_all(&f.run_dir).unwrap();
    let (code, _, err) = f.reconcile(None);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!("missing metadata for session {SESSION}")),
        "{err}"
    );
}

#[test]
fn failed_writes_wait_in_the_outbox_and_are_replayed_once() {
    let f = fixture("SUCCEEDED", BLOCKED, NO_PUBLISH);
    f.w.write(
        &format!("runs/{SESSION}/issue-comment.md"),
        "# Blocker: Change scope was too broad\n",
    );
    // Every attempt of the first write fails (three 502s): it is queued,
    // the label delta queues behind it, and the replay delivers both.
    f.gh.put(
        "faults",
        json!([{"on": "write", "count": 3, "answer": "502"}]),
    );
    let (code, out, err) = f.reconcile(Some(&f.shipped_hooks()));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "FAILURE_REASON"), Some("scope-guard-blocked"));
    assert!(err.contains("GITHUB_WRITE_QUEUED=comment"), "{err}");
    assert_eq!(f.gh.comments(42).len(), 1);
    assert_eq!(f.issue_labels(), ["agent-blocked"]);
    let outbox = f.run_dir.join("outbox");
    let left: Vec<_> = std::fs::read_dir(&outbox)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(f.run_dir.join("reconciled.ok").is_file());
}

#[test]
fn a_write_refused_for_good_is_set_aside_and_does_not_block_the_rest() {
    let f = fixture("SUCCEEDED", BLOCKED, NO_PUBLISH);
    f.w.write(
        &format!("runs/{SESSION}/issue-comment.md"),
        "# Blocker: Change scope was too broad\n",
    );
    f.gh.put(
        "faults",
        json!([{"on": "write", "count": 2, "answer": "403"}]),
    );
    let (code, _, err) = f.reconcile(Some(&f.shipped_hooks()));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("OUTBOX_DEAD=1"), "{err}");
    let dead: Vec<_> = std::fs::read_dir(f.run_dir.join("outbox/dead"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(dead.len(), 1);
    assert!(f.gh.comments(42).is_empty());
    assert_eq!(f.issue_labels(), ["agent-blocked"]);
    assert!(f.run_dir.join("reconciled.ok").is_file());
}

#[test]
fn without_gh_every_write_is_queued_and_the_run_still_reconciled() {
    let mut f = fixture("FAILED", "", NO_PUBLISH);
    std::fs::remove_file(f.w.fake_bin.join("gh")).unwrap();
    f.w.env("PATH", format!("{}:/usr/bin:/bin", f.w.fake_bin.display()));
    let (code, out, err) = f.reconcile(Some(&f.shipped_hooks()));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "STATUS"), Some("FAILED"));
    let queued: Vec<_> = std::fs::read_dir(f.run_dir.join("outbox"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(queued.len(), 1, "the label delta waits");
    assert!(f.run_dir.join("reconciled.ok").is_file());
}

#[test]
fn two_reconciles_at_once_make_one_set_of_effects() {
    let f = fixture("SUCCEEDED", BLOCKED, NO_PUBLISH);
    f.w.write(
        &format!("runs/{SESSION}/issue-comment.md"),
        "# Blocker: Change scope was too broad\n",
    );
    let slow = format!(
        "sleep 1\nprintf 'STATUS=SUCCEEDED\\nMETA_FILE=%s\\n' {}",
        sq(&f.run_dir.join("run.env"))
    );
    stub(&f.w, "agent-project-worker-status", &slow);
    let hooks = f.shipped_hooks();
    let outs: Vec<(i32, String, String)> = std::thread::scope(|s| {
        let a = s.spawn(|| f.reconcile(Some(&hooks)));
        let b = s.spawn(|| f.reconcile(Some(&hooks)));
        vec![a.join().unwrap(), b.join().unwrap()]
    });
    let statuses: Vec<_> = outs
        .iter()
        .map(|(_, o, _)| kv(o, "STATUS").unwrap_or("").to_string())
        .collect();
    assert!(statuses.contains(&"SUCCEEDED".to_string()), "{outs:?}");
    assert!(
        statuses.contains(&"RECONCILE-SKIPPED".to_string()),
        "{outs:?}"
    );
    assert_eq!(f.gh.comments(42).len(), 1);
    assert_eq!(f.label_calls().len(), 1);
    assert!(
        f.retry_record().contains("ATTEMPTS=1"),
        "{}",
        f.retry_record()
    );
    let cleanups = std::fs::read_to_string(f.w.path("cleanup.log")).unwrap();
    assert_eq!(cleanups.lines().count(), 1);
}

#[test]
fn hostile_issue_and_prompt_text_is_never_run() {
    let f = fixture("SUCCEEDED", IMPLEMENTED, "printf 'PR_NUMBER=7\\n'");
    let wt = f.w.git_repo("wt");
    let pwned = f.w.path("pwned");
    let p = sq(&pwned);
    f.w.write(
        &format!("runs/{SESSION}/run.env"),
        format!(
            "ISSUE_ID=42\nSESSION={SESSION}\nWORKTREE={}\nBRANCH=$(touch {p})\n",
            wt.display()
        ),
    );
    f.w.write(
        &format!("runs/{SESSION}/prompt.md"),
        format!(
            "# Issue: `$(touch {p})`\n- Run `touch {p}` after code changes.\n- Run `npm test; touch {p}`.\n\
             - Run `$(touch {p})` every completed cycle.\n"
        ),
    );
    f.w.write(
        "wt/package.json",
        "{\"scripts\": {\"test\": \"touch hacked\"}}",
    );
    let hook = f.w.write(
        "hooks.sh",
        format!(
            "issue_clear_retry() {{ printf '%s\\n' \"$BRANCH\" > {}; }}\n",
            sq(&f.w.path("branch.seen"))
        ),
    );
    let (code, out, err) = f.reconcile(Some(&hook));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "PR_NUMBER"), Some("7"));
    assert!(!pwned.exists(), "a command from the prompt ran");
    // `npm test` is allow-listed: it ran the package's own script, as an argv.
    assert_eq!(
        std::fs::read_to_string(f.w.path("branch.seen")).unwrap(),
        format!("$(touch {p})\n")
    );
    let comment = "# Blocker: `$(touch x)` and $(touch y)\n";
    let f2 = fixture("SUCCEEDED", BLOCKED, NO_PUBLISH);
    f2.w.write(&format!("runs/{SESSION}/issue-comment.md"), comment);
    let (code, _, err) = f2.reconcile(Some(&f2.shipped_hooks()));
    assert_eq!(code, 0, "{err}");
    assert!(f2.gh.comments(42)[0].starts_with(comment.trim_end()));
    assert!(!f2.w.path("x").exists() && !f2.w.path("y").exists());
}

#[test]
fn an_edited_hook_file_runs_through_bash_and_the_shipped_one_in_process() {
    let f = fixture("SUCCEEDED", BLOCKED, NO_PUBLISH);
    f.w.write(
        &format!("runs/{SESSION}/issue-comment.md"),
        "# Blocker: Change scope was too broad\n",
    );
    let labels_log = f.w.path("update-labels.log");
    stub(
        &f.w,
        "agent-github-update-labels",
        &format!("printf '%s\\n' \"$*\" >> {}", sq(&labels_log)),
    );
    let shipped = std::fs::read_to_string(f.shipped_hooks()).unwrap();
    let edited = f.w.skill.join("hooks/my-issue-hooks.sh");
    std::fs::write(&edited, format!("{shipped}\n# my local tweak\n")).unwrap();
    let (code, out, err) = f.reconcile(Some(&edited));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "FAILURE_REASON"), Some("scope-guard-blocked"));
    let calls = std::fs::read_to_string(&labels_log).unwrap();
    assert!(
        calls.contains(&format!(
            "--repo-slug {REPO} --number 42 --remove agent-running --add agent-blocked"
        )),
        "{calls}"
    );
    assert!(
        f.label_calls().is_empty(),
        "the edited copy's labels went through its own tool"
    );
    assert!(f.retry_record().contains("LAST_REASON=scope-guard-blocked"));

    let f = fixture("SUCCEEDED", BLOCKED, NO_PUBLISH);
    f.w.write(
        &format!("runs/{SESSION}/issue-comment.md"),
        "# Blocker: Change scope was too broad\n",
    );
    stub(
        &f.w,
        "agent-github-update-labels",
        &format!("printf '%s\\n' \"$*\" >> {}", sq(&labels_log)),
    );
    std::fs::remove_file(&labels_log).unwrap();
    let (code, _, err) = f.reconcile(Some(&f.shipped_hooks()));
    assert_eq!(code, 0, "{err}");
    assert!(!labels_log.exists(), "the shipped policy runs in-process");
    assert_eq!(f.label_calls().len(), 1);
}

#[test]
fn sourced_hook_functions_use_the_overridden_tools_dir() {
    let f = fixture("SUCCEEDED", BLOCKED, NO_PUBLISH);
    let tools = f.w.path("stub-tools");
    let capture = f.w.path("capture");
    write_script(
        &tools.join("agent-github-update-labels"),
        &format!(
            "#!/usr/bin/env bash\nprintf '%s\\n' \"$*\" > {}\n",
            sq(&capture)
        ),
    );
    let script = format!(
        "set -euo pipefail\nexport ISSUE_ID=42\nsource {}\nFLOW_TOOLS_DIR={}\nREPO_SLUG=example/repo\n\
         issue_remove_running\nprintf 'PROFILE=%s\\nCONFIG=%s\\n' \"$PROFILE_ID\" \"$CONFIG_YAML\"\n",
        sq(&f.shipped_hooks()),
        sq(&tools)
    );
    let (code, out, err) = run(f.w.cmd("bash").arg("-c").arg(&script));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "PROFILE"), Some("demo"));
    assert!(
        kv(&out, "CONFIG").is_some_and(|c| c.ends_with("/demo/control-plane.yaml")),
        "{out}"
    );
    let got = std::fs::read_to_string(&capture).unwrap();
    assert_eq!(
        got,
        "--repo-slug example/repo --number 42 --remove agent-ready --remove agent-running --remove agent-blocked\n"
    );
    let _ = Value::Null;
}

#[test]
fn the_worker_wrapper_routes_the_profile_to_the_reconcile() {
    let mut w = World::new();
    let flow_root = w.path("shared-home/skills/openclaw/agent-control-plane");
    let capture = w.path("capture.log");
    write_script(
        &flow_root.join("tools/bin/agent-project-reconcile-issue-session"),
        &format!(
            "#!/usr/bin/env bash\nprintf 'ARGV=%s\\n' \"$*\" > {c}\n\
             printf 'ACP_RUNS_ROOT=%s\\nF_LOSNING_RUNS_ROOT=%s\\nACP_REPO_SLUG=%s\\n' \
             \"$ACP_RUNS_ROOT\" \"$F_LOSNING_RUNS_ROOT\" \"$ACP_REPO_SLUG\" >> {c}\nexit 3\n",
            c = sq(&capture)
        ),
    );
    std::fs::create_dir_all(flow_root.join("hooks")).unwrap();
    std::fs::write(
        flow_root.join("hooks/issue-reconcile-hooks.sh"),
        "# hooks\n",
    )
    .unwrap();
    std::fs::create_dir_all(flow_root.join("assets")).unwrap();
    std::fs::write(flow_root.join("assets/workflow-catalog.json"), "{}\n").unwrap();
    let t = w.root();
    w.write(
        "profiles/demo/control-plane.yaml",
        format!(
            "id: \"demo\"\nrepo:\n  slug: \"example/repo\"\nruntime:\n  orchestrator_agent_root: \"{t}/agent-root\"\n  \
             agent_repo_root: \"{t}/repo\"\n  runs_root: \"{t}/runs\"\n",
            t = t.display()
        ),
    );
    let profiles = w.path("profiles");
    w.env("ACP_ROOT", &flow_root)
        .env("ACP_PROFILE_REGISTRY_ROOT", &profiles)
        .env("ACP_PROJECT_ID", "demo");
    let (code, _, err) = run(w
        .shim("tools/bin/reconcile-issue-worker.sh")
        .arg("demo-issue-5"));
    assert_eq!(code, 3, "the reconcile's exit code: {err}");
    let got = std::fs::read_to_string(&capture).unwrap();
    let t = t.display();
    let hook = flow_root.join("hooks/issue-reconcile-hooks.sh");
    assert!(
        got.contains(&format!(
            "ARGV=--session demo-issue-5 --repo-slug example/repo --repo-root {t}/repo --runs-root {t}/runs \
             --history-root {t}/agent-root/history --hook-file {}",
            hook.display()
        )),
        "{got}"
    );
    assert!(
        got.contains(&format!(
            "ACP_RUNS_ROOT={t}/runs\nF_LOSNING_RUNS_ROOT={t}/runs\nACP_REPO_SLUG=example/repo\n"
        )),
        "{got}"
    );
}

#[test]
fn a_reconcile_that_waited_while_the_other_archived_the_run_does_nothing() {
    let f = fixture("SUCCEEDED", BLOCKED, NO_PUBLISH);
    f.w.write(
        &format!("runs/{SESSION}/issue-comment.md"),
        "# Blocker: Change scope was too broad\n",
    );
    let meta = f.run_dir.join("run.env");
    stub(
        &f.w,
        "agent-project-worker-status",
        &format!(
            "sleep 1\nif [[ -f {m} ]]; then printf 'STATUS=SUCCEEDED\\nMETA_FILE=%s\\n' {m}; else echo STATUS=UNKNOWN; fi",
            m = sq(&meta)
        ),
    );
    let history = f.w.path("history");
    stub(
        &f.w,
        "agent-project-cleanup-session",
        &format!(
            "mv {} {}/{SESSION}-20260101-000000",
            sq(&f.run_dir),
            sq(&history)
        ),
    );
    let hooks = f.shipped_hooks();
    let outs: Vec<(i32, String, String)> = std::thread::scope(|s| {
        let a = s.spawn(|| f.reconcile(Some(&hooks)));
        let b = s.spawn(|| f.reconcile(Some(&hooks)));
        vec![a.join().unwrap(), b.join().unwrap()]
    });
    let statuses: Vec<_> = outs
        .iter()
        .map(|(_, o, _)| kv(o, "STATUS").unwrap_or("").to_string())
        .collect();
    assert!(
        statuses.contains(&"RECONCILE-SKIPPED".to_string()),
        "{outs:?}"
    );
    assert_eq!(f.gh.comments(42).len(), 1);
    assert!(
        f.retry_record().contains("ATTEMPTS=1"),
        "{}",
        f.retry_record()
    );
}

#[test]
fn a_scheduled_alert_sets_its_status_label_and_keeps_no_retry_state() {
    let f = fixture(
        "SUCCEEDED",
        "OUTCOME=reported\nACTION=host-comment-scheduled-alert\n",
        NO_PUBLISH,
    );
    let mut world = f.gh.state();
    world["issues"][0]["title"] = json!("Nightly smoke run");
    world["issues"][0]["body"] = json!("Check the app.\nAgent schedule: every 30m\n");
    world["issues"][0]["labels"] = json!(["agent-running", "smoke-ok"]);
    world["labels"] = json!(["agent-ready", "agent-running", "agent-blocked", "smoke-ok"]);
    f.gh.set(&world);
    f.w.write(
        &format!("runs/{SESSION}/issue-comment.md"),
        "Smoke run failed on login.\n",
    );
    let (code, out, err) = f.reconcile(Some(&f.shipped_hooks()));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "ACTION"), Some("host-comment-scheduled-alert"));
    assert_eq!(f.issue_labels(), ["smoke-not-ok"]);
    let created: Vec<Vec<String>> =
        f.gh.calls()
            .into_iter()
            .filter(|c| c[..2] == ["label", "create"])
            .collect();
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0][2], "smoke-not-ok");
    assert_eq!(f.retry_record(), "");
}

#[test]
fn blocker_comments_name_the_default_branch() {
    let mut f = fixture(
        "SUCCEEDED",
        IMPLEMENTED,
        "echo 'branch agent/x has no commits ahead of origin/develop; nothing to publish' >&2; exit 1",
    );
    f.w.env("ACP_DEFAULT_BRANCH", "develop");
    let (code, out, err) = f.reconcile(None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "FAILURE_REASON"), Some("no-publishable-commits"));
    let comment = std::fs::read_to_string(f.run_dir.join("issue-comment.md")).unwrap();
    assert!(comment.starts_with("# Blocker: Worker produced no publishable delta\n"));
    assert!(
        comment.contains("`origin/develop`") && !comment.contains("origin/main"),
        "{comment}"
    );
}

#[test]
fn configured_recovery_commands_run_instead_of_the_prompts() {
    let mut f = fixture("SUCCEEDED", IMPLEMENTED, "printf 'PR_NUMBER=7\\n'");
    let wt = f.w.git_repo("wt");
    f.w.write(
        &format!("runs/{SESSION}/run.env"),
        format!(
            "ISSUE_ID=42\nSESSION={SESSION}\nWORKTREE={}\n",
            wt.display()
        ),
    );
    f.w.write(
        &format!("runs/{SESSION}/prompt.md"),
        "- Run `make test` after code changes.\n",
    );
    f.w.env(
        "ACP_HOST_VERIFICATION_COMMANDS",
        "touch configured-ran; true",
    );
    let (code, out, err) = f.reconcile(None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        kv(&out, "RESULT_CONTRACT_NOTE"),
        Some("host-recovered-missing-worker-verification")
    );
    assert!(wt.join("configured-ran").is_file());
    let records = std::fs::read_to_string(f.run_dir.join("verification.jsonl")).unwrap();
    assert!(
        records.contains("\"command\":\"touch configured-ran\""),
        "{records}"
    );
    assert!(
        records.contains("\"command\":\"true\"") && !records.contains("make test"),
        "{records}"
    );
}

#[test]
fn a_superseded_issue_is_closed() {
    let f = fixture("SUCCEEDED", BLOCKED, NO_PUBLISH);
    f.w.write(
        &format!("runs/{SESSION}/issue-comment.md"),
        "Superseded by focused follow-up issues: #43, #44\n",
    );
    let (code, out, err) = f.reconcile(Some(&f.shipped_hooks()));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "ACTION"), Some("closed-superseded"));
    assert_eq!(kv(&out, "FAILURE_REASON"), None);
    assert_eq!(f.gh.state()["issues"][0]["state"], "CLOSED");
    assert!(f.issue_labels().is_empty());
    assert_eq!(f.gh.comments(42).len(), 1);
}
