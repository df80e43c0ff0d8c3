//! Integration tests for `agent-project-run-openclaw-session` (run through
//! its shim): real tmux on the world's private server, real git worktrees,
//! and a fake `openclaw` on PATH that takes the real CLI's argument shapes
//! (`agents add|list|delete`, `agent --agent ID --session-id SID --local
//! --json --timeout N --thinking L --message PROMPT`), writes openclaw's
//! session-state files and prints its JSON payloads.

use std::path::{Path, PathBuf};

use crate::harness::{World, kv, pid_gone, read_existing, run, wait_for, wait_until};

const TOOL: &str = "tools/bin/agent-project-run-openclaw-session";

/// The fake openclaw. Behaviour comes from `ACP_FAKE_MODE` (set with
/// `--context FAKE_MODE=...`, so it reaches the tmux pane whatever the tmux
/// server's environment); every call is appended to `$ACP_FAKE_OPS`.
const FAKE_OPENCLAW: &str = r#"#!/usr/bin/env bash
set -euo pipefail
ops="${ACP_FAKE_OPS:-/dev/null}"
mode="${ACP_FAKE_MODE:-success}"
cmd="${1:-}"; sub="${2:-}"
case "$cmd:$sub" in
  agents:list)
    # Like openclaw, the agent registry is the config file's agents.list.
    printf 'agents:list\n' >>"$ops"
    ids=""
    if [[ -f "${OPENCLAW_CONFIG_PATH:-/nonexistent}" ]]; then
      ids="$(grep -o '"id": "[^"]*"' "$OPENCLAW_CONFIG_PATH" | sed 's/"id": //' | paste -sd, -)"
    fi
    printf '{"agents":[%s]}\n' "$(printf '%s' "$ids" | sed 's/"\([^"]*\)"/{"id":"\1"}/g')"
    ;;
  agents:add)
    shift 2
    id="$1"; shift
    model=""; workspace=""; agent_dir=""
    while [[ $# -gt 0 ]]; do
      case "$1" in
        --model) model="$2"; shift 2 ;;
        --workspace) workspace="$2"; shift 2 ;;
        --agent-dir) agent_dir="$2"; shift 2 ;;
        --non-interactive|--json) shift ;;
        *) echo "bad add arg: $1" >&2; exit 64 ;;
      esac
    done
    printf 'agents:add:%s:%s:%s\n' "$id" "$model" "$workspace" >>"$ops"
    if [[ "$mode" == add-race ]]; then
      printf 'Error: agent "%s" already exists\n' "$id" >&2
      exit 1
    fi
    mkdir -p "$agent_dir" "$workspace/.openclaw"
    printf '{}\n' >"$workspace/.openclaw/workspace-state.json"
    for f in AGENTS.md SOUL.md TOOLS.md IDENTITY.md USER.md HEARTBEAT.md BOOTSTRAP.md; do : >"$workspace/$f"; done
    printf '{"agentId":"%s","workspace":"%s"}\n' "$id" "$workspace"
    ;;
  agents:delete)
    printf 'agents:delete:%s:%s\n' "$3" "$*" >>"$ops"
    printf '{"deleted":true}\n'
    ;;
  agent:--agent)
    shift
    [[ "$1" == --agent ]] || exit 64
    id="$2"; sid="$4"
    [[ "$3" == --session-id && "$5" == --local && "$6" == --json && "$7" == --timeout && "$9" == --thinking && "${11}" == --message ]] || { echo "bad agent argv: $*" >&2; exit 64; }
    message="${12}"
    stdin_prompt="$(cat; printf x)"
    stdin_prompt="${stdin_prompt%x}"
    printf 'agent:run:%s:%s:%s:%s\n' "$id" "$sid" "$8" "${10}" >>"$ops"
    [[ "$message" == "$stdin_prompt" ]] || { echo "prompt on stdin differs from --message" >&2; exit 65; }
    printf '%s' "$message" >"${ACP_HOST_RUN_DIR}/seen-prompt.txt"
    printf '%s' "${OPENROUTER_API_KEY-unset}" >"${ACP_HOST_RUN_DIR}/seen-key.txt"
    profiles="${ACP_HOST_RUN_DIR}/openclaw-agent/auth-profiles.json"
    if [[ -f "$profiles" ]]; then
      stat -c '%a' "$profiles" >"${ACP_HOST_RUN_DIR}/seen-profiles-mode.txt"
      grep -o 'sk-or-test[^"]*' "$profiles" >"${ACP_HOST_RUN_DIR}/seen-profiles-key.txt" || true
    fi
    sessions="${OPENCLAW_STATE_DIR:?}/agents/$id/sessions"
    if [[ "$mode" != silent ]]; then
      mkdir -p "$sessions" "${ACP_RUN_DIR:?}"
      printf '{"%s":{"sessionId":"%s"}}\n' "$sid" "$sid" >"$sessions/sessions.json"
      printf '{"type":"session","id":"%s"}\n' "$sid" >"$sessions/$sid.jsonl"
    fi
    case "$mode" in
      success)
        printf 'OUTCOME=implemented\nACTION=host-publish-issue-pr\n' >"$ACP_RESULT_FILE"
        printf '{"status":"pass","command":"fake"}\n' >"$ACP_RUN_DIR/verification.jsonl"
        printf 'artifact from the agent\n' >"$ACP_RUN_DIR/mock.txt"
        printf '{"payloads":[{"text":"All done."}],"meta":{"durationMs":5}}\n'
        ;;
      report)
        printf 'OUTCOME=reported\nACTION=host-comment-scheduled-report\n' >"$ACP_RESULT_FILE"
        printf '{\n  "payloads": [\n    {"text": "Nothing to change here."},\n    {"text": "Second paragraph."}\n  ]\n}\n'
        ;;
      fail)
        printf '{"payloads":[{"text":"Could not finish: tests keep failing"}]}\n'
        exit 3
        ;;
      silent)
        sleep 30
        ;;
      stalled)
        printf 'starting turn\n'
        sleep 30
        ;;
      progress)
        for i in 1 2 3 4 5 6 7; do
          sleep 0.5
          printf '{"type":"message","n":%s}\n' "$i" >>"$sessions/$sid.jsonl"
        done
        printf 'OUTCOME=implemented\nACTION=host-publish-issue-pr\n' >"$ACP_RESULT_FILE"
        ;;
      quota)
        printf '429 Provider returned error: model is temporarily rate-limited upstream.\n' >&2
        trap 'exit 0' TERM
        while :; do sleep 0.2; done
        ;;
      pr-number)
        printf 'Opened PR #4291 after a 14290 ms build\n'
        exit 1
        ;;
      auth)
        printf 'Error: 401 Unauthorized: invalid api key\n' >&2
        exit 1
        ;;
      mismatch-once)
        if [[ ! -f "$ACP_HOST_RUN_DIR/mismatched" ]]; then
          : >"$ACP_HOST_RUN_DIR/mismatched"
          printf 'Config was last written by a newer OpenClaw (2026.9.1); current version is 2026.3.1.\n' >&2
          exit 1
        fi
        printf 'OUTCOME=implemented\nACTION=host-publish-issue-pr\n' >"$ACP_RESULT_FILE"
        ;;
      hang)
        printf 'working\n'
        ( trap '' TERM HUP; sleep 300 ) &
        printf '%s\n' "$!" >"$ACP_HOST_RUN_DIR/grandchild.pid"
        trap '' TERM HUP
        while :; do sleep 0.2; printf 'tick\n'; done
        ;;
      slow)
        printf 'thinking\n'
        while :; do sleep 0.2; printf '{"type":"tick"}\n' >>"$sessions/$sid.jsonl"; done
        ;;
      edit)
        printf 'pub fn f() {}\n' >"${ACP_FAKE_WT:?}/lib.rs"
        git -C "$ACP_FAKE_WT" add lib.rs
        printf '{"payloads":[{"text":"Changed lib.rs."}]}\n'
        ;;
      docs)
        printf 'notes\n' >"${ACP_FAKE_WT:?}/NOTES.md"
        git -C "$ACP_FAKE_WT" add NOTES.md
        printf '{"payloads":[{"text":"Nothing to do, no changes needed."}]}\n'
        ;;
      literal)
        printf 'OUTCOME=implemented\nACTION=host-publish-issue-pr\n' >"$PWD/\$ACP_RESULT_FILE"
        printf 'via alias\n' >"$PWD/\$ACP_RUN_DIR/alias.txt"
        ;;
      *)
        echo "unknown fake mode $mode" >&2
        exit 70
        ;;
    esac
    ;;
  *)
    echo "unexpected openclaw args: $*" >&2
    exit 64
    ;;
esac
"#;

struct Case {
    w: World,
    worktree: PathBuf,
    runs: PathBuf,
    prompt: PathBuf,
    ops: PathBuf,
}

impl Case {
    fn new() -> Self {
        Self::with_worktree("wt")
    }

    fn with_worktree(rel: &str) -> Self {
        let w = World::new();
        w.fake("openclaw", FAKE_OPENCLAW);
        let worktree = w.git_repo(rel);
        std::fs::write(worktree.join("README.md"), "seed\n").unwrap();
        git(&w, &worktree, &["add", "README.md"]);
        git(&w, &worktree, &["commit", "-qm", "seed"]);
        let runs = w.path("runs");
        let prompt = w.write("prompt.md", "Fix the bug.\n");
        let ops = w.path("ops.log");
        Self {
            w,
            worktree,
            runs,
            prompt,
            ops,
        }
    }

    fn run_dir(&self, session: &str) -> PathBuf {
        self.runs.join(session)
    }

    fn launch(&self, session: &str, mode: &str, extra: &[&str]) -> (i32, String, String) {
        let mut cmd = self.w.shim(TOOL);
        cmd.args(["--mode", "safe", "--session", session, "--worktree"])
            .arg(&self.worktree)
            .arg("--prompt-file")
            .arg(&self.prompt)
            .arg("--runs-root")
            .arg(&self.runs)
            .args([
                "--adapter-id",
                "alpha",
                "--task-kind",
                "issue",
                "--task-id",
                "42",
            ])
            .args(["--openclaw-model", "mock/model"])
            .arg("--context")
            .arg(format!("FAKE_MODE={mode}"))
            .arg("--context")
            .arg(format!("FAKE_OPS={}", self.ops.display()))
            .args(extra);
        run(&mut cmd)
    }

    fn wait_gone(&self, session: &str, secs: u64) {
        wait_for(&format!("tmux session {session} to end"), secs, || {
            !self.w.has_session(session)
        });
    }

    fn read(&self, p: impl AsRef<Path>) -> String {
        read_existing(p)
    }

    fn ops(&self) -> Vec<String> {
        std::fs::read_to_string(&self.ops)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

fn git(w: &World, dir: &Path, args: &[&str]) -> String {
    let out = w.cmd("git").arg("-C").arg(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn runner(c: &Case, session: &str) -> String {
    c.read(c.run_dir(session).join("runner.env"))
}

#[test]
fn openclaw_success_writes_contract_collects_and_reconciles() {
    let c = Case::new();
    let marker = c.w.path("reconciled.txt");
    let (code, out, err) = c.launch(
        "oc-ok",
        "success",
        &[
            "--collect-file",
            "mock.txt",
            "--collect-file",
            "",
            "--reconcile-command",
            &format!(
                "printf '%s\\n' \"$ACP_EXPECTED_RUN_STARTED_AT\" > '{}'",
                marker.display()
            ),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let rd = c.run_dir("oc-ok");
    assert_eq!(kv(&out, "SESSION"), Some("oc-ok"));
    assert_eq!(kv(&out, "TASK_KIND"), Some("issue"));
    assert_eq!(kv(&out, "TASK_ID"), Some("42"));
    assert_eq!(
        kv(&out, "OUTPUT"),
        Some(rd.join("oc-ok.log").to_str().unwrap())
    );
    assert_eq!(
        kv(&out, "SCRIPT"),
        Some(rd.join("oc-ok.sh").to_str().unwrap())
    );
    assert_eq!(kv(&out, "META"), Some(rd.join("run.env").to_str().unwrap()));
    c.wait_gone("oc-ok", 20);

    let result = c.read(rd.join("result.env"));
    assert_eq!(
        result,
        "OUTCOME=implemented\nACTION=host-publish-issue-pr\n"
    );
    assert_eq!(c.read(rd.join("mock.txt")), "artifact from the agent\n");
    let log = c.read(rd.join("oc-ok.log"));
    assert!(log.contains("\n__CODEX_EXIT__:0\n"), "{log}");
    let r = runner(&c, "oc-ok");
    assert!(r.starts_with("RUNNER_STATE=succeeded\nTHREAD_ID=alpha-oc-ok\nATTEMPT=1\nRESUME_COUNT=0\nLAST_EXIT_CODE=0\n"), "{r}");

    let meta = c.read(rd.join("run.env"));
    // What no flag or variable set is the backend table's default.
    let d = &acp_core::config::backends::DEFAULTS.openclaw;
    for line in [
        "OPENCLAW_AGENT_ID=alpha-oc-ok",
        "OPENCLAW_SESSION_ID=alpha-oc-ok",
        "OPENCLAW_MODEL=mock/model",
        &format!("OPENCLAW_THINKING={}", d.thinking),
        &format!("OPENCLAW_TIMEOUT_SECONDS={}", d.timeout_seconds),
        &format!("OPENCLAW_STALL_SECONDS={}", d.stall_seconds),
        &format!(
            "OPENCLAW_PROGRESS_HEARTBEAT_SECONDS={}",
            d.progress_heartbeat_seconds
        ),
        "OPENCLAW_KEEP_AGENT=false",
        "FINAL_BRANCH=main",
        &format!(
            "FINAL_HEAD={}",
            git(&c.w, &c.worktree, &["rev-parse", "HEAD"])
        ),
        &format!("OPENCLAW_STATE_DIR={}/openclaw-state", rd.display()),
    ] {
        assert!(meta.lines().any(|l| l == line), "missing {line} in\n{meta}");
    }

    // The real CLI's argument shapes, the prompt on --message and stdin, and
    // the per-session agent deleted afterwards.
    let ops = c.ops();
    assert_eq!(
        ops[0],
        format!("agents:add:alpha-oc-ok:mock/model:{}", c.worktree.display())
    );
    assert_eq!(ops[1], "agent:run:alpha-oc-ok:alpha-oc-ok:900:low");
    assert!(
        ops[2].starts_with("agents:delete:alpha-oc-ok:agents delete alpha-oc-ok --json --force"),
        "{ops:?}"
    );
    assert_eq!(c.read(rd.join("seen-prompt.txt")), "Fix the bug.\n");

    // openclaw's config entry and a clean worktree despite its files.
    let cfg: serde_json::Value =
        serde_json::from_str(&c.read(rd.join("openclaw-config/openclaw.json"))).unwrap();
    assert_eq!(
        cfg["agents"]["list"][0]["workspace"],
        c.worktree.to_str().unwrap()
    );
    assert_eq!(git(&c.w, &c.worktree, &["status", "--short"]), "");
    assert!(!c.worktree.join("$ACP_RUN_DIR").exists());

    // Reconcile runs after the session is gone, with the run's start time.
    // The shell creates the file before printf writes the line: wait for it.
    assert!(wait_until(15, || crate::harness::read(&marker).ends_with('\n')));
    let started = kv(&meta, "STARTED_AT").unwrap().to_string();
    assert_eq!(c.read(&marker).trim(), started);
}

#[test]
fn openclaw_failure_blocks_and_synthesizes_the_comment() {
    let c = Case::new();
    let (code, _, err) = c.launch("oc-fail", "fail", &["--collect-file", "issue-comment.md"]);
    assert_eq!(code, 0, "{err}");
    c.wait_gone("oc-fail", 20);
    let rd = c.run_dir("oc-fail");
    assert_eq!(
        c.read(rd.join("result.env")),
        "OUTCOME=blocked\nACTION=host-comment-blocker\n"
    );
    assert_eq!(
        c.read(rd.join("issue-comment.md")),
        "Could not finish: tests keep failing\n"
    );
    let r = runner(&c, "oc-fail");
    assert!(r.contains("RUNNER_STATE=failed\n"), "{r}");
    assert!(r.contains("LAST_EXIT_CODE=3\n"), "{r}");
    assert!(
        r.contains("LAST_FAILURE_REASON=openclaw-exit-failed\n"),
        "{r}"
    );
    assert!(
        c.read(rd.join("oc-fail.log"))
            .contains("\n__CODEX_EXIT__:3\n")
    );
}

#[test]
fn openclaw_result_is_inferred_from_git_state_when_the_agent_wrote_none() {
    let c = Case::new();
    let wt_ctx = format!("FAKE_WT={}", c.worktree.display());
    // A product change without a contract or verification log: implemented.
    let (code, _, err) = c.launch("oc-edit", "edit", &["--context", &wt_ctx]);
    assert_eq!(code, 0, "{err}");
    c.wait_gone("oc-edit", 20);
    let rd = c.run_dir("oc-edit");
    assert_eq!(
        c.read(rd.join("result.env")),
        "OUTCOME=implemented\nACTION=host-publish-issue-pr\n"
    );
    let log = c.read(rd.join("oc-edit.log"));
    assert!(
        log.contains("[infer] product changes detected without verification.jsonl"),
        "{log}"
    );
    assert!(runner(&c, "oc-edit").starts_with("RUNNER_STATE=succeeded\n"));

    // Only Markdown changed and the agent says there is nothing to do.
    let c = Case::new();
    let wt_ctx = format!("FAKE_WT={}", c.worktree.display());
    let (code, _, err) = c.launch("oc-docs", "docs", &["--context", &wt_ctx]);
    assert_eq!(code, 0, "{err}");
    c.wait_gone("oc-docs", 20);
    assert_eq!(
        c.read(c.run_dir("oc-docs").join("result.env")),
        "OUTCOME=reported\nACTION=host-comment-scheduled-report\nDETAIL=no-changes-needed\n"
    );
}

#[test]
fn openclaw_report_comment_goes_to_pr_comment_for_prs() {
    let c = Case::new();
    let (code, _, err) = c.launch(
        "oc-pr",
        "report",
        &["--task-kind", "pr", "--collect-file", "pr-comment.md"],
    );
    assert_eq!(code, 0, "{err}");
    c.wait_gone("oc-pr", 20);
    let rd = c.run_dir("oc-pr");
    assert_eq!(
        c.read(rd.join("pr-comment.md")),
        "Nothing to change here.\n\nSecond paragraph.\n"
    );
    assert!(!rd.join("issue-comment.md").exists());
    assert!(c.read(rd.join("run.env")).contains("TASK_KIND=pr\n"));
}

#[test]
fn openclaw_silent_agent_is_ended_as_no_output_stall() {
    let mut c = Case::new();
    c.w.env("ACP_OPENCLAW_PROGRESS_HEARTBEAT_SECONDS", "1");
    let (code, _, err) = c.launch("oc-silent", "silent", &["--openclaw-stall-seconds", "2"]);
    assert_eq!(code, 0, "{err}");
    c.wait_gone("oc-silent", 25);
    let rd = c.run_dir("oc-silent");
    let log = c.read(rd.join("oc-silent.log"));
    assert!(
        log.lines().any(|l| l
            .starts_with("[openclaw] stale-run no-agent-output-before-stall-threshold elapsed=")),
        "{log}"
    );
    assert!(
        log.lines().any(|l| l.starts_with("[openclaw] heartbeat ")),
        "{log}"
    );
    let r = runner(&c, "oc-silent");
    assert!(r.contains("RUNNER_STATE=failed\n"), "{r}");
    assert!(
        r.contains("LAST_FAILURE_REASON=no-agent-output-before-stall-threshold\n"),
        "{r}"
    );
}

#[test]
fn openclaw_stalled_progress_is_ended_as_no_progress_stall() {
    let mut c = Case::new();
    c.w.env("ACP_OPENCLAW_PROGRESS_HEARTBEAT_SECONDS", "1");
    let (code, _, err) = c.launch("oc-stall", "stalled", &["--openclaw-stall-seconds", "2"]);
    assert_eq!(code, 0, "{err}");
    c.wait_gone("oc-stall", 25);
    let rd = c.run_dir("oc-stall");
    let log = c.read(rd.join("oc-stall.log"));
    assert!(
        log.lines().any(|l| l
            .starts_with("[openclaw] stale-run no-agent-progress-before-stall-threshold elapsed=")),
        "{log}"
    );
    let r = runner(&c, "oc-stall");
    assert!(
        r.contains("LAST_FAILURE_REASON=no-agent-progress-before-stall-threshold\n"),
        "{r}"
    );
}

#[test]
fn openclaw_session_state_growth_is_progress_not_a_stall() {
    let mut c = Case::new();
    c.w.env("ACP_OPENCLAW_PROGRESS_HEARTBEAT_SECONDS", "1");
    let (code, _, err) = c.launch("oc-prog", "progress", &["--openclaw-stall-seconds", "2"]);
    assert_eq!(code, 0, "{err}");
    c.wait_gone("oc-prog", 25);
    let rd = c.run_dir("oc-prog");
    let log = c.read(rd.join("oc-prog.log"));
    assert!(!log.contains("stale-run"), "{log}");
    assert!(
        log.lines()
            .any(|l| l.starts_with("[openclaw] heartbeat progress source=session-state elapsed=")),
        "{log}"
    );
    assert!(runner(&c, "oc-prog").contains("RUNNER_STATE=succeeded\n"));
}

#[test]
fn openclaw_quota_error_ends_a_hanging_agent_early() {
    let c = Case::new();
    let (code, _, err) = c.launch("oc-quota", "quota", &["--openclaw-timeout-seconds", "60"]);
    assert_eq!(code, 0, "{err}");
    c.wait_gone("oc-quota", 20);
    let rd = c.run_dir("oc-quota");
    let r = runner(&c, "oc-quota");
    assert!(r.contains("RUNNER_STATE=failed\n"), "{r}");
    assert!(
        r.contains("LAST_FAILURE_REASON=provider-quota-limit\n"),
        "{r}"
    );
    assert!(
        r.contains("LAST_EXIT_CODE=1\n"),
        "a clean exit after the kill still fails: {r}"
    );
    assert!(
        c.read(rd.join("oc-quota.log"))
            .contains("rate-limited upstream")
    );
}

#[test]
fn openclaw_auth_failure_and_pr_numbers_classify_precisely() {
    let c = Case::new();
    c.launch("oc-auth", "auth", &[]);
    c.launch("oc-num", "pr-number", &[]);
    c.wait_gone("oc-auth", 20);
    c.wait_gone("oc-num", 20);
    assert!(runner(&c, "oc-auth").contains("LAST_FAILURE_REASON=auth-failure\n"));
    // "PR #4291" and "14290" are not a 429 quota error.
    let r = runner(&c, "oc-num");
    assert!(
        r.contains("LAST_FAILURE_REASON=openclaw-exit-failed\n"),
        "{r}"
    );
}

#[test]
fn openclaw_timeout_ends_the_agent_with_124() {
    let mut c = Case::new();
    c.w.env("ACP_OPENCLAW_TIMEOUT_SLACK_SECONDS", "0");
    let (code, _, err) = c.launch(
        "oc-slow",
        "slow",
        &[
            "--openclaw-timeout-seconds",
            "1",
            "--openclaw-stall-seconds",
            "0",
        ],
    );
    assert_eq!(code, 0, "{err}");
    c.wait_gone("oc-slow", 20);
    let rd = c.run_dir("oc-slow");
    let r = runner(&c, "oc-slow");
    assert!(r.contains("LAST_EXIT_CODE=124\n"), "{r}");
    assert!(r.contains("LAST_FAILURE_REASON=timeout\n"), "{r}");
    assert!(
        c.read(rd.join("oc-slow.log"))
            .contains("\n__CODEX_EXIT__:124\n")
    );
}

#[test]
fn openclaw_kill_session_ends_the_whole_agent_group() {
    let c = Case::new();
    let (code, _, err) = c.launch("oc-hang", "hang", &[]);
    assert_eq!(code, 0, "{err}");
    let rd = c.run_dir("oc-hang");
    let pid_file = rd.join("grandchild.pid");
    assert!(wait_until(15, || pid_file.exists()));
    let pid: i32 = c.read(&pid_file).trim().parse().unwrap();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    // TERM the session's supervisor (what a host stop does), as tmux would HUP it.
    let panes =
        c.w.tmux()
            .args(["list-panes", "-a", "-F", "#{session_name} #{pane_pid}"])
            .output()
            .unwrap();
    let panes = String::from_utf8_lossy(&panes.stdout).into_owned();
    let pane_pid = panes
        .lines()
        .find_map(|l| l.strip_prefix("oc-hang "))
        .unwrap_or_else(|| panic!("no pane for oc-hang in {panes:?}"))
        .to_string();
    let killed = c.w.cmd("kill").args(["-TERM", &pane_pid]).status().unwrap();
    assert!(killed.success(), "kill {pane_pid:?} from {panes:?}");
    c.wait_gone("oc-hang", 20);
    assert!(
        wait_until(10, || pid_gone(pid)),
        "grandchild {pid} survived"
    );
    let r = runner(&c, "oc-hang");
    assert!(r.contains("RUNNER_STATE=failed\n"), "{r}");
    assert!(
        r.contains("LAST_FAILURE_REASON=runner-aborted-before-completion\n"),
        "{r}"
    );
    assert!(
        !c.worktree.join("$ACP_RUN_DIR").exists(),
        "aliases removed on abort"
    );
}

#[test]
fn openclaw_resident_agent_is_reused_and_reset_on_version_mismatch() {
    let c = Case::new();
    let resident = c.w.path("resident");
    let common = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "--keep-agent",
            "--openclaw-agent-id",
            "resident-agent",
            "--openclaw-session-id",
            "resident-session",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for (flag, sub) in [
            ("--openclaw-agent-dir", "agent"),
            ("--openclaw-state-dir", "state"),
            ("--openclaw-config-path", "config/openclaw.json"),
        ] {
            v.push(flag.into());
            v.push(resident.join(sub).display().to_string());
        }
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let a = common(&[]);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    c.launch("oc-res", "mismatch-once", &a);
    c.wait_gone("oc-res", 25);
    let rd = c.run_dir("oc-res");
    assert!(runner(&c, "oc-res").contains("RUNNER_STATE=succeeded\n"));
    assert!(
        c.read(rd.join("run.env"))
            .contains("OPENCLAW_KEEP_AGENT=true\n")
    );
    c.launch("oc-res", "success", &a);
    c.wait_gone("oc-res", 25);
    let ops = c.ops();
    let count = |p: &str| ops.iter().filter(|o| o.starts_with(p)).count();
    assert_eq!(count("agents:add:resident-agent:"), 2, "{ops:?}");
    assert_eq!(
        count("agent:run:resident-agent:resident-session:"),
        3,
        "{ops:?}"
    );
    assert_eq!(count("agents:delete"), 0, "{ops:?}");
    let cfg: serde_json::Value =
        serde_json::from_str(&c.read(resident.join("config/openclaw.json"))).unwrap();
    let entry = &cfg["agents"]["list"][0];
    assert_eq!(entry["id"], "resident-agent");
    assert_eq!(entry["agentDir"], resident.join("agent").to_str().unwrap());
    assert_eq!(entry["model"], "mock/model");
}

#[test]
fn openclaw_add_race_reuses_the_existing_agent() {
    let c = Case::new();
    c.launch("oc-race", "add-race", &["--keep-agent"]);
    c.wait_gone("oc-race", 20);
    let log = c.read(c.run_dir("oc-race").join("oc-race.log"));
    assert!(
        log.contains("[openclaw] reusing existing agent after add race: alpha-oc-race"),
        "{log}"
    );
}

#[test]
fn openclaw_literal_alias_writes_land_in_the_run_dir() {
    let c = Case::new();
    c.launch("oc-lit", "literal", &["--collect-file", "alias.txt"]);
    c.wait_gone("oc-lit", 20);
    let rd = c.run_dir("oc-lit");
    assert_eq!(c.read(rd.join("alias.txt")), "via alias\n");
    assert!(
        c.read(rd.join("result.env"))
            .contains("OUTCOME=implemented\n")
    );
    assert!(!c.worktree.join("$ACP_RESULT_FILE").exists());
    assert_eq!(git(&c.w, &c.worktree, &["status", "--short"]), "");
}

#[test]
fn openclaw_hostile_values_are_data_not_code() {
    let c = Case::with_worktree("wt with 'quotes' and $(touch pwned-wt)");
    let pwned = c.w.path("pwned");
    let prompt = format!(
        "Do $(touch {p}) `touch {p}` now\nline two 'single' \"double\"\n",
        p = pwned.display()
    );
    std::fs::write(&c.prompt, &prompt).unwrap();
    let (code, _, err) = c.launch(
        "oc-hostile",
        "success",
        &[
            "--task-id",
            "42; touch pwned",
            "--context",
            &format!("NOTE=$(touch {}) it's \"x\"\nnext", pwned.display()),
            "--reconcile-command",
            "true",
        ],
    );
    assert_eq!(code, 0, "{err}");
    c.wait_gone("oc-hostile", 20);
    let rd = c.run_dir("oc-hostile");
    assert_eq!(c.read(rd.join("seen-prompt.txt")), prompt);
    assert!(runner(&c, "oc-hostile").contains("RUNNER_STATE=succeeded\n"));
    assert!(!pwned.exists());
    assert!(!c.w.path("pwned-wt").exists());
    assert!(!c.worktree.join("pwned").exists());
    let meta = c.read(rd.join("run.env"));
    assert!(meta.contains("TASK_ID=42\\;\\ touch\\ pwned\n"), "{meta}");
    assert!(meta.contains("NOTE=$'"), "{meta}");
}

#[test]
fn openclaw_rejects_bad_input_before_side_effects() {
    let c = Case::new();
    let (code, out, err) = run(c.w.shim(TOOL).arg("--help"));
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(out.contains("--openclaw-stall-seconds"), "{out}");

    let (code, _, err) = run(c.w.shim(TOOL).args(["--bogus"]));
    assert_eq!(code, 1);
    assert!(err.starts_with("Unknown argument: --bogus"), "{err}");

    let (code, out, err) = run(c.w.shim(TOOL).args(["--mode", "safe", "--session", "x"]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.contains("Usage"), "{err}");

    let (code, _, err) = c.launch("oc-bad", "success", &["--mode", "yolo"]);
    assert_eq!((code, err.trim()), (1, "--mode must be safe or bypass"));
    let (code, _, err) = c.launch("oc-bad", "success", &["--openclaw-timeout-seconds", "ten"]);
    assert_eq!(
        (code, err.trim()),
        (1, "--openclaw-timeout-seconds must be numeric")
    );
    let (code, _, err) = c.launch("oc-bad", "success", &["--openclaw-stall-seconds", "-1"]);
    assert_eq!(
        (code, err.trim()),
        (1, "--openclaw-stall-seconds must be numeric")
    );
    assert!(
        !c.run_dir("oc-bad").exists(),
        "no side effects before validation"
    );

    let mut c2 = Case::new();
    c2.w.env("ACP_OPENCLAW_PROGRESS_HEARTBEAT_SECONDS", "0");
    let (code, _, err) = c2.launch("oc-bad", "success", &[]);
    assert_eq!(
        (code, err.trim()),
        (
            1,
            "OpenClaw progress heartbeat seconds must be greater than zero"
        )
    );

    let (code, _, err) = c.launch("oc-ctx", "success", &["--context", "lower=x"]);
    assert_eq!((code, err.trim()), (1, "Invalid context key: lower"));
    let (code, _, err) = c.launch("oc-ctx2", "success", &["--context", "NOEQUALS"]);
    assert_eq!(
        (code, err.trim()),
        (1, "--context must use KEY=VALUE syntax: NOEQUALS")
    );

    std::fs::remove_file(c.w.fake_bin.join("openclaw")).unwrap();
    let (code, _, err) = c.launch("oc-nobin", "success", &[]);
    assert_eq!(
        (code, err.trim()),
        (1, "unable to resolve a runnable openclaw binary")
    );

    // A second launch of a live session is refused.
    c.w.fake("openclaw", FAKE_OPENCLAW);
    c.w.tmux_session("oc-live", "sleep 30");
    let (code, _, err) = c.launch("oc-live", "success", &[]);
    assert_eq!(
        (code, err.trim()),
        (1, "tmux session already exists: oc-live")
    );
}

#[test]
fn openclaw_runs_in_a_non_git_directory_without_git_side_effects() {
    let c = Case::new();
    let plain = c.w.path("plain dir");
    std::fs::create_dir_all(&plain).unwrap();
    let mut cmd = c.w.shim(TOOL);
    cmd.args(["--mode", "bypass", "--session", "oc-plain", "--worktree"])
        .arg(&plain)
        .arg("--prompt-file")
        .arg(&c.prompt)
        .arg("--runs-root")
        .arg(&c.runs)
        .args([
            "--adapter-id",
            "alpha",
            "--task-kind",
            "task",
            "--task-id",
            "7",
        ])
        .args([
            "--context",
            "FAKE_MODE=report",
            "--collect-file",
            "issue-comment.md",
        ]);
    let (code, _, err) = run(&mut cmd);
    assert_eq!(code, 0, "{err}");
    c.wait_gone("oc-plain", 20);
    let rd = c.run_dir("oc-plain");
    let meta = c.read(rd.join("run.env"));
    assert!(meta.contains("\nBRANCH=''\n"), "{meta}");
    assert!(
        meta.contains("\nFINAL_HEAD=''\nFINAL_BRANCH=''\n"),
        "{meta}"
    );
    assert_eq!(
        c.read(rd.join("issue-comment.md")),
        "Nothing to change here.\n\nSecond paragraph.\n"
    );
    assert!(runner(&c, "oc-plain").contains("RUNNER_STATE=succeeded\n"));
    assert!(!plain.join(".git-hooks").exists());
    assert!(!plain.join(".openclaw-artifacts/git-exclude").exists());
}

#[test]
fn openclaw_api_key_reaches_the_agent_but_not_the_script() {
    let mut c = Case::new();
    c.w.env("OPENROUTER_API_KEY", "sk-or-test-'x'");
    let (code, _, err) = c.launch("oc-key", "success", &[]);
    assert_eq!(code, 0, "{err}");
    c.wait_gone("oc-key", 20);
    let rd = c.run_dir("oc-key");
    assert_eq!(c.read(rd.join("seen-key.txt")), "sk-or-test-'x'");
    assert!(!c.read(rd.join("oc-key.sh")).contains("sk-or-test"));
    let leftovers: Vec<String> = std::fs::read_dir(&rd)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("secret"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // The agent found the key in a private auth-profiles.json while it ran
    // (JSON-escaped there) ...
    assert_eq!(c.read(rd.join("seen-profiles-mode.txt")), "600\n");
    assert_eq!(c.read(rd.join("seen-profiles-key.txt")), "sk-or-test-'x'\n");
    // ... and the file is gone with the throw-away agent, so the key is not
    // archived with the run.
    let profiles = rd.join("openclaw-agent/auth-profiles.json");
    assert!(!profiles.exists(), "key left in {}", profiles.display());
}

#[test]
fn openclaw_missing_prompt_file_fails_the_run_visibly() {
    let c = Case::new();
    std::fs::remove_file(&c.prompt).unwrap();
    let (code, _, err) = c.launch("oc-noprompt", "success", &[]);
    assert_eq!(code, 0, "{err}");
    c.wait_gone("oc-noprompt", 20);
    let rd = c.run_dir("oc-noprompt");
    let log = c.read(rd.join("oc-noprompt.log"));
    assert!(log.contains("[openclaw] session failed:"), "{log}");
    assert!(log.contains(c.prompt.to_str().unwrap()), "{log}");
    assert!(log.contains("\n__CODEX_EXIT__:1\n"), "{log}");
    let r = runner(&c, "oc-noprompt");
    assert!(r.contains("RUNNER_STATE=failed\n"), "{r}");
    assert!(!c.worktree.join("$ACP_RUN_DIR").exists());
}
