//! `start-issue-worker.sh ISSUE_ID [safe|bypass]` (spec 3.5): prepares one
//! issue worker run (run directory, worktree, prompt) and hands it to the
//! `run-codex-safe.sh` / `run-codex-bypass.sh` sibling, or stops early:
//! the session already runs, a host-publish replay, a completed recurring
//! checklist, missing OpenSpec paths. A start that fails before its worker
//! runs is rolled back (prompt-only run dir removed, `agent-running` off).
//!
//! Sibling tools run by their path next to the script as invoked
//! ([`Layout`]), through `acp_core::dispatch`; GitHub through `acp_github`.

pub mod context;
mod worktree;

use std::path::{Path, PathBuf};

use acp_core::config::{self, FlowConfig};
use acp_core::envfile::{EnvFile, Mode};
use acp_core::shellquote::QuoteLocale;
use acp_core::{Env, Invocation, dispatch, fsx};
use acp_github::{Gh, Marker};

use super::common::{self, Layout, Run};
use crate::resident::lane;

/// The tool's file name.
pub const NAME: &str = "start-issue-worker.sh";
/// Its usage line (also the error of a missing ISSUE_ID).
pub const USAGE: &str = "usage: start-issue-worker.sh ISSUE_ID [safe|bypass]";

/// The command line.
#[derive(Debug, Clone)]
pub struct Args {
    pub issue_id: String,
    pub mode: String,
}

/// The issue as the start reads it.
#[derive(Debug, Clone, Default)]
pub struct IssueData {
    pub title: String,
    pub body: String,
    pub url: String,
    pub labels: Vec<String>,
    pub comments: Vec<String>,
}

impl IssueData {
    fn has_label(&self, name: &str) -> bool {
        self.labels.iter().any(|l| l == name)
    }
}

/// Everything resolved before the start does anything.
pub(crate) struct Start {
    pub(crate) env: Env,
    pub(crate) layout: Layout,
    config_file: PathBuf,
    repo_slug: String,
    pub(crate) issue_id: String,
    number: u64,
    mode: String,
    pub(crate) session: String,
    run_dir: PathBuf,
    runs_root: PathBuf,
    history_root: PathBuf,
    state_root: PathBuf,
    agent_repo_root: PathBuf,
    adapter_id: String,
    pub(crate) coding_worker: String,
    settings: lane::Settings,
    locale: QuoteLocale,
}

/// The resident lane of a run (all empty when it is not resident).
#[derive(Debug, Clone, Default)]
pub(crate) struct Resident {
    pub(crate) enabled: bool,
    pub(crate) key: String,
    pub(crate) dir: PathBuf,
    pub(crate) meta: PathBuf,
    pub(crate) kind: String,
    pub(crate) value: String,
    pub(crate) task_count: u64,
    pub(crate) reused: bool,
    pub(crate) realpath: String,
    pub(crate) finished_at: String,
    pub(crate) oc_agent_id: String,
    pub(crate) oc_session_id: String,
    pub(crate) oc_agent_dir: String,
    pub(crate) oc_state_dir: String,
    pub(crate) oc_config_path: String,
}

/// Runs the start. Exit codes: 0 (started, or stopped early on purpose),
/// 64 (several profiles and none named), 1 (session exists, unknown mode,
/// failed replay), a failing sibling's own code, else an error.
pub fn run(ctx: &mut Invocation<'_>, args: &Args) -> anyhow::Result<i32> {
    let mut env = ctx.env.clone();
    config::export_env_aliases(&mut env);
    if let Some(message) = config::explicit_selection_error(&env, NAME) {
        writeln!(ctx.stderr, "{message}")?;
        return Ok(64);
    }
    let cfg = FlowConfig::load(&env)?;
    config::export_execution_env(&mut env, &cfg)?;
    let layout = Layout::resolve(ctx, &env)?;
    let start = Start::new(env, &cfg, layout, args)?;
    if common::session_exists(&start.env, &start.session) {
        writeln!(
            ctx.stderr,
            "worker session already exists: {}",
            start.session
        )?;
        return Ok(1);
    }
    // TERM, INT or HUP while preparing: the start stops at its next step and
    // is rolled back (the original's EXIT/INT/TERM trap).
    acp_core::process::install_termination_handler()?;
    let mut done = false;
    let result = start.go(ctx, &mut done);
    if !done {
        common::rollback(
            &start.run_dir,
            start.labels_command(&["--remove", "agent-running"]),
        );
    }
    result
}

/// An error ending the start when a termination signal arrived.
fn check_signal() -> anyhow::Result<()> {
    match acp_core::process::termination_signal() {
        Some(sig) => Err(acp_core::fail(
            128 + sig,
            format!("stopped by signal {sig}"),
        )),
        None => Ok(()),
    }
}

impl Start {
    fn new(env: Env, cfg: &FlowConfig, layout: Layout, args: &Args) -> anyhow::Result<Self> {
        let number: u64 = args
            .issue_id
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| acp_core::fail(1, format!("invalid issue id: {:?}", args.issue_id)))?;
        let session = format!(
            "{}{}",
            config::issue_session_prefix(&env, cfg),
            args.issue_id
        );
        let runs_root = config::runs_root(&env, cfg);
        let coding_worker = env
            .non_empty("ACP_CODING_WORKER")
            .unwrap_or_else(|| "codex".into());
        Ok(Self {
            config_file: cfg.path.clone(),
            repo_slug: config::repo_slug(&env, cfg),
            issue_id: args.issue_id.clone(),
            number,
            mode: args.mode.clone(),
            run_dir: runs_root.join(&session),
            session,
            runs_root,
            history_root: config::history_root(&env, cfg),
            state_root: config::state_root(&env, cfg),
            agent_repo_root: config::agent_repo_root(&env, cfg),
            adapter_id: config::adapter_id(&env, cfg),
            coding_worker,
            settings: lane::Settings::load(&env, cfg),
            locale: QuoteLocale::from_env(&env),
            layout,
            env,
        })
    }

    /// The label tool with `args`, when `<workspace>/bin/agent-github-update-labels` exists.
    fn labels_command(&self, args: &[&str]) -> Option<std::process::Command> {
        let bin = self.layout.sibling("agent-github-update-labels");
        bin.is_file().then(|| {
            let mut cmd =
                self.layout
                    .command(&bin, "agent-github-update-labels", Run::Bash, &self.env);
            cmd.args(["--repo-slug", &self.repo_slug, "--number", &self.issue_id])
                .args(args);
            cmd
        })
    }

    fn go(&self, ctx: &mut Invocation<'_>, done: &mut bool) -> anyhow::Result<i32> {
        if !matches!(self.mode.as_str(), "safe" | "bypass") {
            writeln!(ctx.stderr, "unknown mode: {}", self.mode)?;
            return Ok(1);
        }
        let gh = Gh::new(self.env.clone())?;
        let mut issue = self.read_issue(&gh)?;
        let interval = crate::schedule::interval_seconds(&issue.body);
        let local_install = self.local_install(&issue.body);
        let retry = context::parse_kv(&self.retry_state());
        let keep_open = issue.has_label("agent-keep-open");
        let mut resident = self.resident(keep_open, interval);
        check_signal()?;
        self.reap()?;
        if let Some(dir) = self.replay_dir(&retry) {
            return self.replay(ctx, &dir, done);
        }
        if keep_open && self.checklist_complete(&gh, &mut issue)? {
            *done = true;
            return Ok(0);
        }
        fsx::create_dir_all(&self.run_dir)?;
        let missing = context::missing_openspec_paths(&issue.body, &self.agent_repo_root);
        if !missing.is_empty() {
            let heading = context::missing_openspec_heading(&self.issue_id);
            let body = context::missing_openspec_comment(&self.issue_id, &missing);
            self.block(&gh, &issue, &heading, &body, "missing-openspec");
            *done = true;
            return Ok(0);
        }
        let recurring = if keep_open {
            self.recurring_context(&gh, &issue)
        } else {
            String::new()
        };
        fsx::atomic_write(
            &self.run_dir.join("issue-recurring-context.md"),
            recurring.as_bytes(),
        )?;
        let blocker =
            context::blocker_context(&issue.labels, &issue.comments, &retry, &self.issue_id);
        let slug = context::issue_slug(&issue.title);
        check_signal()?;
        let opened = self.open_worktree(ctx, &mut resident, &slug, local_install)?;
        let automerge = if issue.has_label("agent-automerge") {
            "yes"
        } else {
            "no"
        };
        let prompt = self.write_prompt(
            &issue, interval, automerge, &recurring, &blocker, &opened, &resident,
        )?;
        check_signal()?;
        let code = self.launch(ctx, &issue, automerge, &resident, &opened.worktree, &prompt)?;
        if code != 0 {
            return Ok(code);
        }
        *done = true;
        for (k, v) in [
            ("ISSUE_ID", self.issue_id.as_str()),
            ("TITLE", &issue.title),
            ("URL", &issue.url),
            ("AUTOMERGE", automerge),
            ("SESSION", &self.session),
            ("WORKTREE", &opened.worktree),
            ("BRANCH", &opened.branch),
            ("PROMPT", &prompt.to_string_lossy()),
        ] {
            writeln!(ctx.stdout, "{k}={}", common::one_line(v))?;
        }
        Ok(0)
    }

    fn read_issue(&self, gh: &Gh) -> anyhow::Result<IssueData> {
        let t = gh.issue_thread(&self.repo_slug, self.number)?;
        Ok(IssueData {
            title: t.issue.title.clone(),
            body: t.issue.body.clone(),
            url: t.issue.url.clone(),
            labels: t.issue.labels.clone(),
            comments: t.comments.iter().map(|c| c.body.clone()).collect(),
        })
    }

    /// `issue-requires-local-workspace-install.sh` says `yes` for the body.
    fn local_install(&self, body: &str) -> bool {
        let mut env = self.env.clone();
        env.set("ISSUE_BODY", body);
        let mut cmd = self.layout.sibling_command(
            "issue-requires-local-workspace-install.sh",
            Run::Bash,
            &env,
        );
        dispatch::output(&mut cmd).is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "yes")
    }

    /// `retry-state.sh issue ID get`, empty when it fails.
    fn retry_state(&self) -> String {
        let mut cmd = self
            .layout
            .sibling_command("retry-state.sh", Run::Bash, &self.env);
        cmd.args(["issue", &self.issue_id, "get"]);
        match dispatch::output(&mut cmd) {
            Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
            _ => String::new(),
        }
    }

    /// The resident lane of this run, when the backend has lanes, lanes
    /// are on and the issue is `agent-keep-open` or scheduled.
    fn resident(&self, keep_open: bool, interval: u64) -> Resident {
        if !(lane::backend_supported(&self.coding_worker)
            && self.settings.enabled
            && (keep_open || interval > 0))
        {
            return Resident::default();
        }
        let (kind, value) = if interval > 0 {
            ("scheduled".to_string(), interval.to_string())
        } else {
            ("recurring".to_string(), "general".to_string())
        };
        let key = lane::lane_key(&self.coding_worker, &self.mode, &kind, &value);
        let dir = lane::issue_dir(&self.state_root, &key);
        let mut r = Resident {
            enabled: true,
            meta: dir.join("metadata.env"),
            kind,
            value,
            ..Resident::default()
        };
        if self.coding_worker == "openclaw" {
            let d = |rel: &str| dir.join(rel).to_string_lossy().into_owned();
            r.oc_agent_id = lane::openclaw_agent_id(&self.adapter_id, &key);
            r.oc_session_id =
                lane::sanitize_id(&format!("{}-resident-session-{key}", self.adapter_id));
            r.oc_agent_dir = d("openclaw-agent");
            r.oc_state_dir = d("openclaw-state");
            r.oc_config_path = d("openclaw-config/openclaw.json");
        }
        r.key = key;
        r.dir = dir;
        r
    }

    /// Clears a leftover run directory: a resident run is archived, any
    /// other run with a `run.env` cleaned up; else it moves to history.
    fn reap(&self) -> anyhow::Result<()> {
        let resident_run = fsx::read_to_string_lossy(&self.run_dir.join("run.env"))
            .is_ok_and(|t| t.lines().any(|l| l == "RESIDENT_WORKER_ENABLED=yes"));
        let ok = |mut cmd: std::process::Command| {
            dispatch::output(&mut cmd).is_ok_and(|o| o.status.success())
        };
        let mut archive = || {
            if !resident_run {
                return false;
            }
            let mut cmd =
                self.layout
                    .flow_tool_command("agent-project-archive-run", Run::Direct, &self.env);
            cmd.arg("--runs-root").arg(&self.runs_root);
            cmd.arg("--history-root").arg(&self.history_root);
            cmd.args(["--session", &self.session]);
            ok(cmd)
        };
        let mut cleanup = || {
            let mut cmd =
                self.layout
                    .sibling_command("cleanup-worktree.sh", Run::Direct, &self.env);
            cmd.args(["", &self.session]);
            ok(cmd)
        };
        common::reap_stale_run_dir(
            &self.run_dir,
            &self.history_root,
            &self.session,
            &self.env,
            &mut [&mut archive, &mut cleanup],
        )?;
        Ok(())
    }

    /// The archived run to publish again instead of starting a worker: the
    /// last retry was `host-publish-failed` (or the generic
    /// `issue-worker-blocked`) and the latest archived run succeeded with
    /// `implemented` / `host-publish-issue-pr`.
    fn replay_dir(&self, retry: &std::collections::BTreeMap<String, String>) -> Option<PathBuf> {
        let reason = retry
            .get("LAST_REASON")
            .map(|r| r.trim())
            .unwrap_or_default();
        if !matches!(reason, "host-publish-failed" | "issue-worker-blocked") {
            return None;
        }
        let dir = common::latest_archived_run(&self.history_root, &self.session)?;
        let read = |f: &str| EnvFile::load_with(&dir.join(f), Mode::Lenient).ok();
        let (run, runner, result) = (read("run.env"), read("runner.env"), read("result.env"));
        run?;
        let (runner, result) = (runner?, result?);
        (runner.get_or_empty("RUNNER_STATE") == "succeeded"
            && result.get_or_empty("OUTCOME") == "implemented"
            && result.get_or_empty("ACTION") == "host-publish-issue-pr")
            .then_some(dir)
    }

    fn replay(&self, ctx: &mut Invocation<'_>, dir: &Path, done: &mut bool) -> anyhow::Result<i32> {
        writeln!(
            ctx.stderr,
            "ISSUE_HOST_PUBLISH_REPLAY=session={} archived_run_dir={}",
            self.session,
            common::one_line(dir)
        )?;
        let mut cmd =
            self.layout
                .sibling_command("reconcile-issue-worker.sh", Run::Bash, &self.env);
        cmd.arg(&self.session);
        let out = dispatch::output(&mut cmd)?;
        ctx.stdout.write_all(&out.stdout)?;
        ctx.stderr.write_all(&out.stderr)?;
        if !out.status.success() {
            writeln!(
                ctx.stderr,
                "host publish replay failed for session {}",
                self.session
            )?;
            return Ok(1);
        }
        *done = true;
        Ok(0)
    }

    /// Syncs a recurring issue's checklist with merged PRs, reads the issue
    /// again, and blocks it when every item is ticked.
    fn checklist_complete(&self, gh: &Gh, issue: &mut IssueData) -> anyhow::Result<bool> {
        let bin = self.layout.flow_tool("sync-recurring-issue-checklist.sh");
        if !fsx::is_executable(&bin) {
            return Ok(false);
        }
        let mut env = self.env.clone();
        if let Some(id) = env.first_non_empty(&["ACP_REPO_ID", "F_LOSNING_REPO_ID"]) {
            env.set("ACP_REPO_ID", id);
        }
        let mut cmd =
            self.layout
                .command(&bin, "sync-recurring-issue-checklist.sh", Run::Bash, &env);
        cmd.args(["--repo-slug", &self.repo_slug, "--issue-id", &self.issue_id]);
        let out = dispatch::output(&mut cmd)
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let kv = context::parse_kv(&out);
        let num = |k: &str| kv.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        let (total, unchecked) = (num("CHECKLIST_TOTAL"), num("CHECKLIST_UNCHECKED"));
        let n = self.number.to_string();
        let repo = self.repo_slug.clone();
        gh.forget(|k| {
            k.len() > 4 && k[0] == "issue" && k[1] == "view" && k[2] == n && k[4] == repo
        });
        *issue = self.read_issue(gh)?;
        if total == 0 || unchecked > 0 {
            return Ok(false);
        }
        let matched = kv
            .get("CHECKLIST_MATCHED_PR_NUMBERS")
            .cloned()
            .unwrap_or_default();
        let body = context::checklist_done_comment(&self.issue_id, &matched);
        self.block(
            gh,
            issue,
            context::CHECKLIST_DONE_HEADING,
            &body,
            "checklist-complete",
        );
        Ok(true)
    }

    /// Posts a blocker comment (unless one with `heading` is there; the
    /// post carries a hidden marker, so a retry never doubles it) and
    /// labels the issue `agent-blocked` without `agent-running`.
    fn block(&self, gh: &Gh, issue: &IssueData, heading: &str, body: &str, action: &str) {
        if !issue.comments.iter().any(|c| c.contains(heading)) {
            let marker = Marker::new(&self.session, action);
            // As the original: a failed post does not stop the block.
            let _ = gh.post_comment_once(&self.repo_slug, self.number, &marker, body);
        }
        if let Some(mut cmd) =
            self.labels_command(&["--add", "agent-blocked", "--remove", "agent-running"])
        {
            let _ = dispatch::output(&mut cmd);
        }
    }

    /// `{ISSUE_RECURRING_CONTEXT}`: the issue's recent PRs (read from
    /// GitHub; an unreadable one is listed as `unknown`) and cycle notes.
    fn recurring_context(&self, gh: &Gh, issue: &IssueData) -> String {
        let prs: Vec<context::PrLine> = context::recent_opened_prs(&issue.comments)
            .into_iter()
            .map(|n| match gh.pr(&self.repo_slug, n) {
                Ok(pr) => context::PrLine {
                    number: n,
                    title: pr.title.clone(),
                    url: pr.url.clone(),
                    state: if pr.is_draft {
                        "draft".into()
                    } else {
                        pr.state.to_lowercase()
                    },
                },
                Err(_) => context::PrLine {
                    number: n,
                    title: "PR details could not be read".into(),
                    url: String::new(),
                    state: "unknown".into(),
                },
            })
            .collect();
        context::recurring_context(&prs, &context::cycle_notes(&issue.comments))
    }
}
