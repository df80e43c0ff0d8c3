//! The pass's effects: reconcile, the two sync phases, the launches of a
//! plan, the memory log and the state records of launches.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

use anyhow::Result;

use super::{PassArgs, state};
use crate::hooks::{HeartbeatHooks, HookRun};
use crate::host::SessionHost;
use crate::plan::{Action, Decision, IssueLaunchKind, Phase, Plan};

pub(super) struct Pass<'a> {
    pub args: &'a PassArgs,
    pub hooks: &'a mut dyn HeartbeatHooks,
    pub host: &'a mut dyn SessionHost,
    pub memory: Option<PathBuf>,
    pub out: &'a mut dyn Write,
    pub launch_failed: bool,
    /// Indexes (in plan order) of launches that failed.
    pub failed: BTreeSet<usize>,
    pub now: i64,
    open_prs: Option<Vec<String>>,
    running_issues: Option<Vec<String>>,
    /// The provider cooldown gathered for the plan.
    pub provider: Option<crate::plan::ProviderCooldown>,
    /// A dry run's would-be effects (the `WOULD_*` lines).
    pub would: Vec<String>,
    /// `--dry-run --json`: no lines, one JSON document at the end.
    quiet: bool,
}

/// How one planned launch ended.
enum Outcome {
    Launched,
    Failed,
    /// Another live pass is launching the same item (launch journal).
    Taken,
}

/// `KEY=value` lines of a tool's output: the value of `key`.
pub(super) fn value_of(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .unwrap_or_default()
        .to_owned()
}

impl<'a> Pass<'a> {
    pub fn new(
        args: &'a PassArgs,
        hooks: &'a mut dyn HeartbeatHooks,
        host: &'a mut dyn SessionHost,
        memory: Option<PathBuf>,
        out: &'a mut dyn Write,
    ) -> Self {
        Pass {
            args,
            hooks,
            host,
            memory,
            out,
            launch_failed: false,
            failed: BTreeSet::new(),
            now: acp_core::time::now_epoch(),
            open_prs: None,
            running_issues: None,
            provider: None,
            would: Vec::new(),
            quiet: args.dry_run && args.json,
        }
    }

    /// `heartbeat_list_running_issue_ids`, asked once per pass.
    pub fn running_issue_ids(&mut self) -> Result<Vec<String>> {
        if self.running_issues.is_none() {
            self.running_issues = Some(self.hooks.list_running_issue_ids()?);
        }
        Ok(self.running_issues.clone().unwrap_or_default())
    }

    /// `heartbeat_list_open_agent_pr_ids`, asked once per pass.
    pub fn open_prs(&mut self) -> Result<Vec<String>> {
        if self.open_prs.is_none() {
            self.open_prs = Some(self.hooks.list_open_agent_pr_ids()?);
        }
        Ok(self.open_prs.clone().unwrap_or_default())
    }

    pub fn phase(&mut self, name: &str) -> Result<()> {
        if self.quiet {
            return Ok(());
        }
        writeln!(self.out, "HEARTBEAT_LOOP_PHASE={name}")?;
        Ok(())
    }

    pub fn block(&mut self, header: &str, body: &str) -> Result<()> {
        if self.quiet {
            return Ok(());
        }
        writeln!(self.out, "{header}")?;
        if !body.is_empty() {
            writeln!(self.out, "{body}")?;
        }
        Ok(())
    }

    pub fn memory(&mut self, message: &str) {
        if let Some(file) = &self.memory {
            let line = format!("- {} {message}\n", acp_core::time::now_utc_iso());
            // The memory log is a diary: a failed append never fails a pass.
            let _ = acp_core::fsx::append(file, line.as_bytes());
        }
    }

    /// A dry run's would-be effect.
    pub fn would_line(&mut self, line: String) -> Result<()> {
        self.block(&line, "")?;
        self.would.push(line);
        Ok(())
    }

    /// Runs helper `name` of the shared home with `args`; its stdout
    /// (empty when it cannot run).
    pub fn helper(&self, name: &str, args: &[&str]) -> String {
        let path = self.args.tool(name);
        if !path.is_file() {
            return String::new();
        }
        let mut cmd = Command::new(&path);
        self.args.env.apply(&mut cmd);
        cmd.args(args).current_dir(&self.args.cwd);
        match acp_core::dispatch::output(&mut cmd) {
            Ok(o) => String::from_utf8_lossy(&o.stdout).into_owned(),
            Err(_) => String::new(),
        }
    }

    pub fn worker_status(&self, session: &str) -> String {
        let runs = self.args.runs_root.to_string_lossy().into_owned();
        self.helper(
            "agent-project-worker-status",
            &["--runs-root", &runs, "--session", session],
        )
    }

    pub fn retry_ready(&self, kind: &str, id: &str) -> bool {
        let out = self.retry_state(kind, id, &["get"]);
        value_of(&out, "READY") == "yes"
    }

    /// A failed launch is not retried on every pass (F13): it gets a
    /// retry record like any failed attempt.
    fn schedule_retry(&self, kind: &str, id: &str) {
        let _ = self.retry_state(kind, id, &["schedule", "--reason", "launch-failed"]);
    }

    /// `agent-project-retry-state --state-root S --kind K --item-id ID
    /// --action <action...>` through the helper.
    fn retry_state(&self, kind: &str, id: &str, action: &[&str]) -> String {
        let state = self.args.state_root.to_string_lossy().into_owned();
        let mut argv = vec![
            "--state-root",
            &state,
            "--kind",
            kind,
            "--item-id",
            id,
            "--action",
        ];
        argv.extend_from_slice(action);
        self.helper("agent-project-retry-state", &argv)
    }

    fn session_of_issue(&self, id: &str) -> String {
        format!("{}{id}", self.args.issue_prefix)
    }

    fn session_of_pr(&self, id: &str) -> String {
        format!("{}{id}", self.args.pr_prefix)
    }

    /// The live pending launch of `kind-id` (deleting a stale file, or
    /// the file of an item whose session now exists).
    pub fn pending_active(&mut self, kind: &str, id: &str) -> bool {
        let file = self.args.pending_dir().join(format!("{kind}-{id}.pid"));
        if !file.is_file() {
            return false;
        }
        let session = if kind == "issue" {
            self.session_of_issue(id)
        } else {
            self.session_of_pr(id)
        };
        let alive = !self.host.has_session(&session) && state::pending_pid(&file).is_some();
        if !alive && !self.args.dry_run {
            let _ = acp_core::fsx::remove_file_if_exists(&file);
        }
        alive
    }

    fn pending_issue_counts(&mut self, id: &str) -> bool {
        self.pending_active("issue", id) && !state::controller_idle(&self.args.state_root, id)
    }

    /// Spec 1.3 step 1.
    pub fn reconcile_phase(&mut self) -> Result<()> {
        self.phase("reconcile-completed-workers:start")?;
        for session in self.completed_sessions() {
            if self.args.dry_run {
                self.would_line(format!("WOULD_RECONCILE_SESSION={session}"))?;
                continue;
            }
            self.reconcile(&session)?;
        }
        self.phase("reconcile-completed-workers:end")
    }

    fn completed_sessions(&mut self) -> Vec<String> {
        let mut dirs: Vec<_> = std::fs::read_dir(&self.args.runs_root)
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        dirs.sort();
        let (ip, pp) = (self.args.issue_prefix.clone(), self.args.pr_prefix.clone());
        let mut done = Vec::new();
        for dir in dirs.into_iter().filter(|d| d.is_dir()) {
            let session = dir
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            if !(session.starts_with(&ip) || session.starts_with(&pp)) {
                continue;
            }
            if state::reconciled_marker_matches(&dir) {
                continue;
            }
            if let Some(id) = session.strip_prefix(&ip)
                && !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_digit())
                && self.pending_active("issue", id)
            {
                continue;
            }
            let status = value_of(&self.worker_status(&session), "STATUS");
            if status == "SUCCEEDED" || status == "FAILED" {
                done.push(session);
            }
        }
        done
    }

    fn reconcile(&mut self, session: &str) -> Result<()> {
        let is_issue = session.starts_with(&self.args.issue_prefix);
        let run = if is_issue {
            self.hooks.reconcile_issue(session)?
        } else {
            self.hooks.reconcile_pr(session)?
        };
        let what = if is_issue { "issue" } else { "PR" };
        if run.succeeded() {
            self.memory(&format!("reconciled {what} worker {session}"));
            return self.block(&format!("RECONCILED_SESSION={session}"), &run.output);
        }
        if !is_issue {
            let pr = session[self.args.pr_prefix.len()..].to_owned();
            if !pr.is_empty() {
                self.hooks.clear_pr_running(&pr)?;
                self.hooks.sync_pr_labels(&pr)?;
            }
        }
        self.memory(&format!("failed to reconcile {what} worker {session}"));
        self.block(&format!("RECONCILE_FAILED_SESSION={session}"), &run.output)
    }

    /// Spec 1.3 step 2.
    pub fn sync_issues_phase(&mut self) -> Result<()> {
        self.phase("sync-open-agent-issues:start")?;
        for id in self.running_issue_ids()? {
            if self.host.has_session(&self.session_of_issue(&id)) {
                continue;
            }
            if self.pending_active("issue", &id) {
                if self.pending_issue_counts(&id) {
                    let heavy = self.hooks.issue_is_heavy(&id)?;
                    self.effect(&format!("WOULD_MARK_ISSUE_RUNNING={id}"), |h| {
                        h.mark_issue_running(&id, heavy)
                    })?;
                }
                continue;
            }
            let status = value_of(&self.worker_status(&self.session_of_issue(&id)), "STATUS");
            if status != "RUNNING" {
                self.effect(&format!("WOULD_SYNC_ISSUE_LABELS={id}"), |h| {
                    h.sync_issue_labels(&id)
                })?;
            }
        }
        self.phase("sync-open-agent-issues:end")
    }

    /// Spec 1.3 step 3.
    pub fn sync_prs_phase(&mut self) -> Result<()> {
        self.phase("sync-open-agent-prs:start")?;
        for pr in self.open_prs()? {
            if self.host.has_session(&self.session_of_pr(&pr)) {
                continue;
            }
            if self.pending_active("pr", &pr) {
                self.effect(&format!("WOULD_MARK_PR_RUNNING={pr}"), |h| {
                    h.mark_pr_running(&pr)
                })?;
                continue;
            }
            let status = value_of(&self.worker_status(&self.session_of_pr(&pr)), "STATUS");
            if status != "RUNNING" {
                self.effect(&format!("WOULD_CLEAR_PR_RUNNING={pr}"), |h| {
                    h.clear_pr_running(&pr)?;
                    h.sync_pr_labels(&pr)
                })?;
            }
        }
        self.phase("sync-open-agent-prs:end")
    }

    /// A label effect whose output is not shown; in a dry run only `line`.
    fn effect(
        &mut self,
        line: &str,
        f: impl FnOnce(&mut dyn HeartbeatHooks) -> Result<HookRun>,
    ) -> Result<()> {
        if self.args.dry_run {
            return self.would_line(line.to_owned());
        }
        f(self.hooks)?;
        Ok(())
    }

    /// Carries out the plan's launches, with the phase lines of spec 1.3.
    pub fn execute(&mut self, plan: &Plan) -> Result<()> {
        let mut index = 0usize;
        let in_phase = |d: &Decision, ph: Phase| d.phase == ph;
        for d in plan
            .decisions
            .iter()
            .filter(|d| in_phase(d, Phase::Exclusive))
        {
            self.decide(d, &mut index)?;
        }
        if plan.exclusive.mode != "no" {
            return Ok(());
        }
        self.phase("launch-planning:start")?;
        for ph in Phase::NORMAL {
            self.phase(&format!("launch-planning:{}:start", ph.name()))?;
            for d in plan.decisions.iter().filter(|d| in_phase(d, ph)) {
                self.decide(d, &mut index)?;
            }
            self.phase(&format!("launch-planning:{}:end", ph.name()))?;
        }
        self.phase("launch-planning:end")
    }

    fn decide(&mut self, d: &Decision, index: &mut usize) -> Result<()> {
        if !d.is_launch() {
            if self.args.dry_run {
                super::report::decision_lines(self, d)?;
            }
            return Ok(());
        }
        let i = *index;
        *index += 1;
        if self.args.dry_run {
            return super::report::decision_lines(self, d);
        }
        let outcome = match &d.action {
            Action::LaunchIssue {
                id,
                kind,
                heavy,
                interval_seconds,
                recurring,
            } => self.launch_issue(id, *kind, *heavy, *recurring, *interval_seconds)?,
            Action::LaunchPr {
                id,
                lane,
                exclusive,
            } => self.launch_pr(id, lane, *exclusive)?,
            _ => Outcome::Launched,
        };
        match outcome {
            Outcome::Launched => {}
            Outcome::Failed => {
                self.launch_failed = true;
                self.failed.insert(i);
            }
            Outcome::Taken => {
                self.failed.insert(i);
            }
        }
        Ok(())
    }

    fn launch_issue(
        &mut self,
        id: &str,
        kind: IssueLaunchKind,
        heavy: bool,
        recurring: bool,
        interval: u64,
    ) -> Result<Outcome> {
        let (header, fail_header, label, extra) = match kind {
            IssueLaunchKind::Ready => ("LAUNCHED_ISSUE", "LAUNCH_FAILED_ISSUE", "", ""),
            IssueLaunchKind::Exclusive => (
                "LAUNCHED_ISSUE",
                "LAUNCH_FAILED_ISSUE",
                "exclusive ",
                "EXCLUSIVE=yes",
            ),
            IssueLaunchKind::Scheduled => (
                "LAUNCHED_SCHEDULED_ISSUE",
                "LAUNCH_FAILED_SCHEDULED_ISSUE",
                "scheduled ",
                "SCHEDULED=yes",
            ),
            IssueLaunchKind::BlockedRecovery => (
                "LAUNCHED_BLOCKED_RECOVERY_ISSUE",
                "LAUNCH_FAILED_BLOCKED_RECOVERY_ISSUE",
                "blocked-recovery ",
                "BLOCKED_RECOVERY=yes",
            ),
        };
        let journal = super::journal::Intent::record(self.args, "issue", id)?;
        if journal.taken {
            return Ok(Outcome::Taken);
        }
        let staged = self.hooks.mark_issue_running(id, heavy)?;
        let run = if staged.succeeded() {
            self.hooks.start_issue_worker(id)?
        } else {
            staged
        };
        if !run.succeeded() {
            let _ = self.hooks.issue_launch_failed(id, heavy)?;
            if kind == IssueLaunchKind::BlockedRecovery {
                let f = (self.args.state_root.join("blocked-recovery-issues"))
                    .join(format!("{id}.env"));
                acp_core::fsx::remove_file_if_exists(&f)?;
            }
            self.schedule_retry("issue", id);
            journal.done()?;
            self.memory(&format!("failed to launch {label}issue worker for #{id}"));
            self.block(&format!("{fail_header}={id}"), &run.output)?;
            return Ok(Outcome::Failed);
        }
        let state_root = &self.args.state_root;
        match kind {
            IssueLaunchKind::Scheduled => {
                state::record_scheduled_launch(state_root, id, interval, self.now)?
            }
            IssueLaunchKind::BlockedRecovery => {
                let cooldown = self.args.limits.blocked_recovery_cooldown;
                state::record_blocked_recovery_launch(state_root, id, cooldown, self.now)?
            }
            _ => {}
        }
        if recurring && kind != IssueLaunchKind::Scheduled {
            let f = state_root.join("recurring/last-launched-issue-id");
            acp_core::fsx::atomic_write(&f, format!("{id}\n").as_bytes())?;
        }
        journal.launched()?;
        self.memory(&format!("launched {label}issue worker for #{id}"));
        let body = join_body(&[extra, &run.output]);
        self.block(&format!("{header}={id}"), &body)?;
        Ok(Outcome::Launched)
    }

    fn launch_pr(&mut self, pr: &str, lane: &str, exclusive: bool) -> Result<Outcome> {
        let x = if exclusive { "exclusive " } else { "" };
        let what = match lane {
            "merge-repair" => format!("launch {x}PR merge-repair worker"),
            "fix" => format!("launch {x}PR fix worker"),
            "ci-refresh" => format!("trigger {x}PR ci-refresh"),
            _ => format!("launch {x}PR review worker"),
        };
        let journal = super::journal::Intent::record(self.args, "pr", pr)?;
        if journal.taken {
            return Ok(Outcome::Taken);
        }
        let staged = self.hooks.mark_pr_running(pr)?;
        let run = if !staged.succeeded() {
            staged
        } else {
            match lane {
                "double-check-1" | "double-check-2" | "automerge" => {
                    self.hooks.start_pr_review_worker(pr)?
                }
                "merge-repair" => self.hooks.start_pr_merge_repair_worker(pr)?,
                "ci-refresh" => self.hooks.start_pr_ci_refresh(pr)?,
                "fix" => self.hooks.start_pr_fix_worker(pr)?,
                other => HookRun::failed(1, format!("Unsupported PR lane: {other}")),
            }
        };
        if !run.succeeded() {
            let _ = self.hooks.clear_pr_running(pr)?;
            self.schedule_retry("pr", pr);
            journal.done()?;
            self.memory(&format!("failed to {what} for #{pr}"));
            self.block(&format!("LAUNCH_FAILED_PR={pr}"), &run.output)?;
            return Ok(Outcome::Failed);
        }
        if lane == "ci-refresh" {
            // No worker to wait for: nothing for the next pass to hold.
            let _ = self.hooks.clear_pr_running(pr)?;
            journal.done()?;
        } else {
            journal.launched()?;
        }
        let done = what
            .replacen("launch ", "launched ", 1)
            .replacen("trigger ", "triggered ", 1);
        self.memory(&format!("{done} for #{pr}"));
        let lane_line = format!("LANE={lane}");
        let ex = if exclusive { "EXCLUSIVE=yes" } else { "" };
        let body = join_body(&[&lane_line, ex, &run.output]);
        self.block(&format!("LAUNCHED_PR={pr}"), &body)?;
        Ok(Outcome::Launched)
    }
}

/// The non-empty parts joined by newlines.
pub(super) fn join_body(parts: &[&str]) -> String {
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("\n")
}
