//! The decision tree of one issue reconcile (spec 4.1), in the original's
//! order of effects.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use acp_core::shellquote::QuoteLocale;
use acp_core::{Invocation, fail};
use acp_github::Gh;
use acp_session::reconcile::effects::Effects;
use acp_session::reconcile::resident::Summary;
use acp_session::reconcile::status::{self, WorkerReport};
use acp_session::reconcile::{marker, reasons};
use acp_session::state::{RunMeta, runner_state};

use crate::Args;
use crate::hooks::Hooks;

/// The valid `OUTCOME:ACTION` pairs of an issue worker.
const CONTRACTS: [(&str, &str); 4] = [
    ("implemented", "host-publish-issue-pr"),
    ("blocked", "host-comment-blocker"),
    ("reported", "host-comment-scheduled-report"),
    ("reported", "host-comment-scheduled-alert"),
];

/// One reconcile in progress.
pub(crate) struct Session<'c, 'a> {
    pub ctx: &'c mut Invocation<'a>,
    pub args: &'c Args,
    /// Where the sibling tools are taken from.
    pub tools: PathBuf,
    pub run_dir: PathBuf,
    /// run.env then result.env, as the original sourced them.
    pub vars: BTreeMap<String, String>,
    pub issue_id: String,
    pub status: String,
    pub reason: String,
    pub outcome: String,
    pub action: String,
    pub note: String,
    pub pr_number: String,
    pub worktree: String,
    pub started_at: String,
    pub summary: Summary,
    pub hooks: Hooks,
    pub effects: Effects,
    pub locale: QuoteLocale,
    /// The shipped policy's follow-up labelling ran in this reconcile (a
    /// blocked outcome asks for it twice: before success, before blocked;
    /// nothing it reads changes in between, so the second is skipped).
    pub follow_ups_labelled: bool,
}

/// Runs the reconcile of `args.session`.
pub fn reconcile(ctx: &mut Invocation<'_>, args: &Args) -> anyhow::Result<i32> {
    let tools = crate::shared_tools_dir(ctx);
    let lock = marker::lock_session(Path::new(&args.runs_root), &args.session)?;
    let mut cmd = crate::steps::tool_command(ctx, &tools, "agent-project-worker-status");
    cmd.args(["--runs-root", &args.runs_root, "--session", &args.session]);
    let out = acp_core::dispatch::output(&mut cmd)?;
    if !out.status.success() {
        ctx.stderr.write_all(&out.stderr)?;
        return Ok(acp_core::process::exit_code(out.status));
    }
    let report = WorkerReport::parse(&String::from_utf8_lossy(&out.stdout));
    if report.status == "RUNNING" {
        ctx.out_kv("STATUS", "RUNNING")?;
        return Ok(0);
    }
    let Some(run) = status::locate_run(&report, Path::new(&args.history_root), &args.session)
    else {
        return Err(fail(
            1,
            format!("missing metadata for session {}", args.session),
        ));
    };
    let meta = RunMeta::load(&run.meta_file)?.unwrap_or_default();
    let result = status::read_result(&run.run_dir, &meta.result_file)?;
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in meta.all.iter().chain(result.all.iter()) {
        vars.insert(k.clone(), v.to_string_lossy().into_owned());
    }
    let started_at = vars.get("STARTED_AT").cloned().unwrap_or_default();
    let expected = ctx
        .env
        .first_non_empty(&[
            "ACP_EXPECTED_RUN_STARTED_AT",
            "F_LOSNING_EXPECTED_RUN_STARTED_AT",
        ])
        .unwrap_or_default();
    if !expected.is_empty() && expected != started_at {
        ctx.out_kv("STATUS", "STALE-RUN-SKIPPED")?;
        ctx.out_kv("SESSION", &args.session)?;
        ctx.out_kv("EXPECTED_STARTED_AT", &expected)?;
        ctx.out_kv("ACTUAL_STARTED_AT", &started_at)?;
        return Ok(0);
    }
    let done_meanwhile = marker::reconciled_since(&run.run_dir, lock.requested_at)
        || (run.archived && marker::archived_since(&run.run_dir, lock.requested_at));
    if done_meanwhile {
        // Another reconcile of this session finished while this one waited.
        ctx.out_kv("STATUS", "RECONCILE-SKIPPED")?;
        ctx.out_kv("SESSION", &args.session)?;
        ctx.out_kv("REASON", "reconciled-concurrently")?;
        return Ok(0);
    }
    let issue_id = vars.get("ISSUE_ID").cloned().unwrap_or_default();
    if issue_id.is_empty() {
        return Err(fail(
            1,
            format!("session {} is missing ISSUE_ID", args.session),
        ));
    }
    let hooks = Hooks::load(ctx, args, &run.run_dir, &vars)?;
    let effects = Effects::new(Gh::new(ctx.env.clone()), &run.run_dir);
    let mut s = Session {
        follow_ups_labelled: false,
        locale: QuoteLocale::from_env(&ctx.env),
        ctx,
        args,
        tools,
        // The contract is result.env's own (run.env cannot supply it).
        outcome: result.outcome.clone(),
        action: result.action.clone(),
        worktree: vars.get("WORKTREE").cloned().unwrap_or_default(),
        note: hooks.contract_note(),
        run_dir: run.run_dir,
        vars,
        issue_id,
        status: run.status,
        reason: run.failure_reason,
        pr_number: String::new(),
        started_at,
        summary: Summary::default(),
        hooks,
        effects,
    };
    s.set_summary(None, None, None);
    // Writes left queued by an earlier reconcile of this run go first.
    let earlier = s.effects.settle()?;
    if earlier.pending > 0 {
        s.warn(&format!(
            "OUTBOX_PENDING={} ({})",
            earlier.pending,
            earlier.error.unwrap_or_default()
        ));
    }
    let code = match s.status.as_str() {
        "SUCCEEDED" => s.succeeded()?,
        "FAILED" => s.failed()?,
        _ => s.finish_default()?,
    };
    drop(lock);
    Ok(code)
}

impl Session<'_, '_> {
    /// A run.env/result.env variable, else the environment's.
    pub fn var(&self, key: &str) -> String {
        self.vars
            .get(key)
            .filter(|v| !v.is_empty())
            .cloned()
            .or_else(|| self.ctx.env.non_empty(key))
            .unwrap_or_default()
    }

    pub fn warn(&mut self, line: &str) {
        let _ = writeln!(self.ctx.stderr, "{line}");
    }

    /// The summary recorded in lane metadata and passed to
    /// `issue_after_reconciled`; `None` parts take their defaults (the
    /// contract's outcome and action for a SUCCEEDED run, else empty; the
    /// current failure reason).
    pub fn set_summary(
        &mut self,
        outcome: Option<&str>,
        action: Option<&str>,
        reason: Option<&str>,
    ) {
        let ok = self.status == "SUCCEEDED";
        let pick = |given: Option<&str>, default: &str| {
            given.map_or_else(
                || {
                    if ok {
                        default.to_string()
                    } else {
                        String::new()
                    }
                },
                str::to_string,
            )
        };
        self.summary = Summary {
            status: self.status.clone(),
            outcome: pick(outcome, &self.outcome),
            action: pick(action, &self.action),
            failure_reason: reason.map_or_else(|| self.reason.clone(), str::to_string),
        };
    }

    fn contract_is_valid(&self) -> bool {
        CONTRACTS
            .iter()
            .any(|(o, a)| *o == self.outcome && *a == self.action)
    }

    /// A hook that must succeed: a failure ends the reconcile with exit 1
    /// and no `reconciled.ok` (the heartbeat retries it).
    pub fn transition(&mut self, hook: &'static str, args: &[&str]) -> anyhow::Result<()> {
        if self.call_hook(hook, args)? {
            Ok(())
        } else {
            Err(fail(1, format!("reconcile transition failed: {hook}")))
        }
    }

    fn runner_to(&mut self, state: &str, exit_code: &str, reason: &str) -> anyhow::Result<()> {
        let path = self.run_dir.join("runner.env");
        status::normalize_runner(&path, state, exit_code, reason, self.locale)
    }

    fn print(&mut self, keys: &[&str]) -> anyhow::Result<i32> {
        for key in keys {
            let value = match *key {
                "STATUS" => self.status.clone(),
                "ISSUE_ID" => self.issue_id.clone(),
                "PR_NUMBER" => self.pr_number.clone(),
                "OUTCOME" => self.outcome.clone(),
                "ACTION" => self.action.clone(),
                "FAILURE_REASON" => self.reason.clone(),
                "RESULT_CONTRACT_NOTE" => self.note.clone(),
                _ => continue,
            };
            self.ctx.out_kv(key, value)?;
        }
        Ok(0)
    }

    /// Cleanup, `issue_after_reconciled`, `reconciled.ok`.
    pub fn close_out(&mut self) -> anyhow::Result<()> {
        self.cleanup()?;
        self.notify_reconciled()?;
        marker::mark_reconciled(&self.run_dir, &self.started_at)?;
        Ok(())
    }

    fn succeeded(&mut self) -> anyhow::Result<i32> {
        self.clear_provider_cooldown()?;
        if !self.contract_is_valid() {
            return self.invalid_contract();
        }
        self.transition("issue_before_success", &[])?;
        match self.outcome.as_str() {
            "blocked" => self.blocked(),
            "reported" => self.reported(),
            _ => self.implemented(),
        }
    }

    fn invalid_contract(&mut self) -> anyhow::Result<i32> {
        let line = format!(
            "invalid issue worker result contract for session {}: OUTCOME='{}' ACTION='{}'",
            self.args.session, self.outcome, self.action
        );
        self.warn(&line);
        let exit_code = self.var("LAST_EXIT_CODE");
        let log = reasons::session_log(&self.run_dir, &self.args.session)
            .and_then(|p| acp_core::fsx::read_to_string_lossy(&p).ok())
            .unwrap_or_default();
        self.status = "FAILED".into();
        if let Some(found) = reasons::runtime_failure_in_log(&log) {
            self.reason = reasons::normalize_failure_reason(found, &self.var("CODING_WORKER"));
            self.note = format!("missing-worker-result-recovered-{}", self.reason);
            self.outcome = "blocked".into();
            self.action = "host-comment-blocker".into();
            let reason = self.reason.clone();
            self.runner_to(runner_state::FAILED, &exit_code, &reason)?;
            self.write_runtime_comment_if_missing()?;
            self.post_issue_comment()?;
            self.transition("issue_schedule_retry", &[&reason])?;
            self.transition("issue_mark_ready", &[])?;
        } else {
            self.reason = "invalid-result-contract".into();
            self.note = "invalid-result-contract".into();
            let reason = self.reason.clone();
            self.runner_to(runner_state::FAILED, &exit_code, &reason)?;
            self.post_issue_comment()?;
            self.transition("issue_schedule_retry", &[&reason])?;
            self.transition("issue_mark_ready", &[])?;
            self.outcome = "invalid-contract".into();
            self.action = "queued-issue-retry".into();
        }
        let (o, a, r) = (
            self.outcome.clone(),
            self.action.clone(),
            self.reason.clone(),
        );
        self.set_summary(Some(&o), Some(&a), Some(&r));
        self.close_out()?;
        self.print(&[
            "STATUS",
            "ISSUE_ID",
            "PR_NUMBER",
            "OUTCOME",
            "ACTION",
            "FAILURE_REASON",
            "RESULT_CONTRACT_NOTE",
        ])
    }

    fn blocked(&mut self) -> anyhow::Result<i32> {
        self.ensure_blocked_comment()?;
        self.transition("issue_before_blocked", &[])?;
        self.post_issue_comment()?;
        if self.call_hook("issue_should_close_as_superseded", &[])? {
            self.transition("issue_clear_retry", &[])?;
            self.transition("issue_remove_running", &[])?;
            self.transition("issue_close_as_superseded", &[])?;
            self.action = "closed-superseded".into();
            let (o, a, r) = (
                self.outcome.clone(),
                self.action.clone(),
                self.reason.clone(),
            );
            self.set_summary(Some(&o), Some(&a), Some(&r));
            self.close_out()?;
            return self.print(&["STATUS", "ISSUE_ID", "PR_NUMBER", "OUTCOME", "ACTION"]);
        }
        let comment = self.issue_comment_text();
        self.reason = reasons::blocked_reason(&self.reason, &comment);
        self.runner_to(runner_state::SUCCEEDED, "0", "")?;
        let reason = self.reason.clone();
        self.transition("issue_schedule_retry", &[&reason])?;
        self.transition("issue_mark_blocked", &[])?;
        let (o, a) = (self.outcome.clone(), self.action.clone());
        self.set_summary(Some(&o), Some(&a), Some(&reason));
        self.close_out()?;
        self.print(&[
            "STATUS",
            "ISSUE_ID",
            "PR_NUMBER",
            "OUTCOME",
            "ACTION",
            "FAILURE_REASON",
        ])
    }

    fn reported(&mut self) -> anyhow::Result<i32> {
        self.runner_to(runner_state::SUCCEEDED, "0", "")?;
        self.post_issue_comment()?;
        self.transition("issue_clear_retry", &[])?;
        self.transition("issue_remove_running", &[])?;
        self.close_out()?;
        self.print(&["STATUS", "ISSUE_ID", "PR_NUMBER", "OUTCOME", "ACTION"])
    }

    fn implemented(&mut self) -> anyhow::Result<i32> {
        self.push_branch("PRE_PUBLISH_PUSH");
        if !self.has_passing_verification() {
            self.host_verification_recovery("missing-worker-verification")?;
        }
        let extra = self.publish_extra_args()?;
        let (mut ok, mut out) = self.publish(&extra)?;
        if !ok {
            let mut blocker = reasons::publish_blocker(&out);
            if blocker == Some("verification-guard-blocked") {
                if let Some(wt) = last_value(&out, "RECOVERY_WORKTREE")
                    && Path::new(&wt).is_dir()
                {
                    // As the original reassigned WORKTREE: the recovery, the
                    // cleanup and the lane metadata use the recovered one.
                    self.vars.insert("WORKTREE".into(), wt.clone());
                    self.worktree = wt;
                }
                if self.host_verification_recovery("verification-guard-blocked")? {
                    (ok, out) = self.publish(&extra)?;
                    blocker = reasons::publish_blocker(&out);
                }
            }
            if !ok {
                return self.publish_failed(blocker, &out);
            }
        }
        self.pr_number = last_value(&out, "PR_NUMBER").unwrap_or_default();
        self.runner_to(runner_state::SUCCEEDED, "0", "")?;
        self.transition("issue_clear_retry", &[])?;
        self.transition("issue_remove_running", &[])?;
        if !self.pr_number.is_empty() {
            let pr = self.pr_number.clone();
            self.transition("issue_after_pr_created", &[&pr])?;
        }
        self.close_out()?;
        self.print(&["STATUS", "ISSUE_ID", "PR_NUMBER"])?;
        self.print_present()
    }

    fn publish_failed(&mut self, blocker: Option<&'static str>, out: &str) -> anyhow::Result<i32> {
        let body = self.publish_comment(blocker.unwrap_or(""), out);
        self.write_issue_comment(&body)?;
        self.post_issue_comment()?;
        let error_line = one_line(out);
        if let Some(reason) = blocker {
            self.transition("issue_before_blocked", &[])?;
            self.runner_to(runner_state::SUCCEEDED, "0", "")?;
            self.transition("issue_schedule_retry", &[reason])?;
            self.transition("issue_mark_blocked", &[])?;
            self.outcome = "blocked".into();
            self.action = "host-comment-blocker".into();
            self.reason = reason.into();
            let (o, a) = (self.outcome.clone(), self.action.clone());
            self.set_summary(Some(&o), Some(&a), Some(reason));
            self.close_out()?;
            self.print(&[
                "STATUS",
                "ISSUE_ID",
                "PR_NUMBER",
                "OUTCOME",
                "ACTION",
                "FAILURE_REASON",
            ])?;
        } else {
            self.transition("issue_schedule_retry", &["host-publish-failed"])?;
            self.transition("issue_mark_ready", &[])?;
            self.set_summary(Some(""), Some(""), Some("host-publish-failed"));
            self.push_branch("WORKTREE_PUSH_BEFORE_CLEANUP");
            self.close_out()?;
            self.print(&["STATUS", "ISSUE_ID", "PR_NUMBER"])?;
        }
        self.ctx.out_kv("PUBLISH_ERROR", error_line)?;
        Ok(0)
    }

    fn failed(&mut self) -> anyhow::Result<i32> {
        let raw = if self.reason.is_empty() {
            "worker-exit-failed"
        } else {
            &self.reason
        };
        self.reason = reasons::normalize_failure_reason(raw, &self.var("CODING_WORKER"));
        let reason = self.reason.clone();
        self.schedule_provider_cooldown(&reason)?;
        let exit_code = self.var("LAST_EXIT_CODE");
        self.runner_to(runner_state::FAILED, &exit_code, &reason)?;
        let blocked = self.outcome == "blocked" && self.action == "host-comment-blocker";
        if blocked || reason == reasons::PROVIDER_QUOTA_LIMIT {
            self.write_runtime_comment_if_missing()?;
            self.post_issue_comment()?;
        }
        if blocked {
            let (o, a) = (self.outcome.clone(), self.action.clone());
            self.set_summary(Some(&o), Some(&a), Some(&reason));
        } else {
            self.set_summary(Some(""), Some(""), Some(&reason));
        }
        self.transition("issue_schedule_retry", &[&reason])?;
        self.transition("issue_mark_ready", &[])?;
        self.cleanup()?;
        self.notify_reconciled()?;
        self.finish_default()
    }

    /// `reconciled.ok` and the lines every other path ends with.
    fn finish_default(&mut self) -> anyhow::Result<i32> {
        marker::mark_reconciled(&self.run_dir, &self.started_at)?;
        self.print(&["STATUS", "ISSUE_ID", "PR_NUMBER"])?;
        self.print_present()
    }

    /// `OUTCOME=`/`ACTION=` of the summary, `FAILURE_REASON=` and the note, when set.
    fn print_present(&mut self) -> anyhow::Result<i32> {
        let lines = [
            ("OUTCOME", self.summary.outcome.clone()),
            ("ACTION", self.summary.action.clone()),
            ("FAILURE_REASON", self.reason.clone()),
            ("RESULT_CONTRACT_NOTE", self.note.clone()),
        ];
        for (k, v) in lines {
            if !v.is_empty() {
                self.ctx.out_kv(k, v)?;
            }
        }
        Ok(0)
    }
}

/// The last `KEY=` value of a tool's output.
pub(crate) fn last_value(out: &str, key: &str) -> Option<String> {
    out.lines()
        .rev()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_string)
}

/// A tool's output on one line: newlines become spaces, runs of spaces one.
pub(crate) fn one_line(out: &str) -> String {
    let flat = out.trim_end_matches('\n').replace(['\n', '\r'], " ");
    let mut line = String::with_capacity(flat.len());
    for c in flat.chars() {
        if !(c == ' ' && line.ends_with(' ')) {
            line.push(c);
        }
    }
    line
}
