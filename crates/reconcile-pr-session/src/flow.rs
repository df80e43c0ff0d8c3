//! The transition table of a finished PR session (spec 4.2): which policy
//! hooks run, which host actions happen, and what is printed.

use std::path::PathBuf;

use acp_core::{Invocation, fail, fsx};
use acp_github::Outbox;

use crate::contract::{self, ReviewPass};
use acp_session::state::{ResultContract, RunMeta};

use crate::engine::{self, Args, Flow, print_lines};
use crate::hooks::{self, Called};
use crate::host::{Merge, RateLimitStop};
use crate::policy::Policy;

/// Reconciles session `a.session`; returns the exit code.
pub fn reconcile(ctx: &mut Invocation<'_>, a: Args) -> anyhow::Result<i32> {
    let tools_dir = engine::tools_dir(ctx);
    let started = acp_core::time::now_epoch();
    let (lock, waited) = lock_session(&a)?;
    let ws = engine::worker_status(ctx, &tools_dir, &a)?;
    let meta = PathBuf::from(&ws.meta_file);
    if waited && (ws.meta_file.is_empty() || reconciled_since(&meta, started)) {
        let lines = [
            ("STATUS", "ALREADY-RECONCILED".to_string()),
            ("SESSION", a.session.clone()),
        ];
        print_lines(ctx, &lines)?;
        return Ok(0);
    }
    if ws.meta_file.is_empty() || !meta.is_file() {
        return Err(fail(
            1,
            format!("missing metadata for session {}", a.session),
        ));
    }
    let run_dir = fsx::parent_dir(&meta);
    let run = RunMeta::load(&meta)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .unwrap_or_default();
    let pr = run.get("PR_NUMBER");
    if pr.is_empty() {
        return Err(fail(
            1,
            format!("session {} is missing PR_NUMBER", a.session),
        ));
    }
    let Ok(pr_n) = pr.parse::<u64>() else {
        return Err(fail(
            1,
            format!("session {} has a PR_NUMBER that is not a number", a.session),
        ));
    };
    let mut result_file = run_dir.join("result.env");
    let named = &run.result_file;
    if !result_file.is_file() && !named.is_empty() && PathBuf::from(named).is_file() {
        result_file = PathBuf::from(named);
    }
    let result = ResultContract::load(&result_file)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .unwrap_or_default();
    let started_at = run.started_at.clone();
    let expected = ctx.env.first_non_empty(&[
        "ACP_EXPECTED_RUN_STARTED_AT",
        "F_LOSNING_EXPECTED_RUN_STARTED_AT",
    ]);
    if let Some(expected) = expected.filter(|e| *e != started_at) {
        let lines = [
            ("STATUS", "STALE-RUN-SKIPPED".to_string()),
            ("SESSION", a.session.clone()),
            ("EXPECTED_STARTED_AT", expected),
            ("ACTUAL_STARTED_AT", started_at),
        ];
        print_lines(ctx, &lines)?;
        return Ok(0);
    }
    let mut env = ctx.env.clone();
    engine::overlay(&mut env, &run.all);
    engine::overlay(&mut env, &result.all);
    let gh = engine::gh_for(&env);
    let mode = hooks::Mode::for_file(a.hook_file.as_deref());
    let policy = match &mode {
        hooks::Mode::Shipped(file) => Some(Policy::load(&env, file, &a)?),
        _ => None,
    };
    let issue_from_run = run.get("ISSUE_ID");
    let issue_id = Some(result.issue_id.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or(issue_from_run);
    let mut f = Flow {
        tools_dir,
        env,
        outbox: Outbox::new(&run_dir),
        run_dir,
        pr,
        pr_n,
        worktree: run.worktree.clone(),
        head_ref: run.get("PR_HEAD_REF"),
        final_head: run.final_head.clone(),
        started_at,
        status: ws.status,
        failure_reason: ws.failure_reason,
        outcome: result.outcome.clone(),
        action: result.action.clone(),
        detail: result.detail.clone(),
        issue_id,
        note: String::new(),
        pr_state: String::new(),
        base_ref: String::new(),
        gh,
        hooks: mode,
        policy,
        rate_limited: None,
        a,
        ctx,
    };
    let code = f.run();
    drop(lock);
    code
}

/// Serialises reconciles of one session: a lock file in the runs root
/// (outside the run dir, which cleanup moves away). `true` when another
/// reconcile held it and this one waited.
fn lock_session(a: &Args) -> anyhow::Result<(Option<fsx::Lock>, bool)> {
    if a.session.is_empty() || a.session.contains('/') || !a.runs_root.is_dir() {
        return Ok((None, false));
    }
    let path = a.runs_root.join(format!(".{}.reconcile.lock", a.session));
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| anyhow::anyhow!("failed to open {}: {e}", path.display()))?;
    if let Some(l) = fsx::Lock::try_on(&path)? {
        return Ok((Some(l), false));
    }
    Ok((Some(fsx::Lock::on(&path)?), true))
}

fn reconciled_since(meta: &std::path::Path, started: i64) -> bool {
    let ok = fsx::parent_dir(meta).join("reconciled.ok");
    !meta.is_file() || fsx::mtime_epoch(&ok).is_some_and(|t| t >= started)
}

impl Flow<'_, '_> {
    fn run(&mut self) -> anyhow::Result<i32> {
        self.settle_outbox();
        // As the original, an unreadable PR leaves its state unknown.
        let view = match self.gh().and_then(|g| g.pr(&self.a.repo_slug, self.pr_n)) {
            Ok(v) => v,
            Err(e) => {
                self.warn(e);
                acp_github::Pr::default()
            }
        };
        self.pr_state = view.state.clone();
        self.base_ref = if view.base_ref_name.is_empty() {
            "main".into()
        } else {
            view.base_ref_name.clone()
        };
        if self.status == "RUNNING" && self.pr_state != "MERGED" && self.pr_state != "CLOSED" {
            print_lines(self.ctx, &[("STATUS", self.status.clone())])?;
            return Ok(0);
        }
        match self.transitions() {
            Ok(()) => {}
            Err(e) => match e.downcast::<RateLimitStop>() {
                Ok(stop) => return self.rate_limit_finish(stop.action),
                Err(e) => return Err(e),
            },
        }
        self.mark_reconciled()?;
        self.print_result()?;
        Ok(0)
    }

    fn transitions(&mut self) -> anyhow::Result<()> {
        if self.status == "SUCCEEDED" && !self.normalize_contract()? {
            self.status = "FAILED".into();
            self.failure_reason = "invalid-result-contract".into();
            self.note = "invalid-result-contract".into();
            self.transition("pr_schedule_retry", &[&self.failure_reason.clone()])?;
            self.transition("pr_after_failed", &[&self.pr.clone()])?;
            self.cleanup();
            self.outcome = "invalid-contract".into();
            self.action = "queued-pr-retry".into();
            return self.notify();
        }
        let succeeded = self.status == "SUCCEEDED";
        match (self.pr_state.as_str(), self.outcome.as_str()) {
            ("MERGED", _) => self.merged(),
            ("CLOSED", _) => self.closed(),
            (_, "approved-local-review-passed") if succeeded => self.review_passed(),
            (_, "updated-branch") if succeeded => self.updated_branch(),
            (_, "no-change-needed") if succeeded => self.no_change_needed(),
            (_, "blocked") if succeeded => self.blocked(),
            _ if succeeded => {
                self.clear_provider_cooldown();
                self.transition("pr_clear_retry", &[])?;
                self.transition("pr_after_succeeded", &[&self.pr.clone()])?;
                self.cleanup();
                self.notify()
            }
            _ if self.status == "FAILED" => {
                let reason = self.reason_or("worker-exit-failed");
                self.schedule_provider_cooldown(&reason);
                self.transition("pr_schedule_retry", &[&reason])?;
                self.transition("pr_after_failed", &[&self.pr.clone()])?;
                self.cleanup();
                self.notify()
            }
            _ => Ok(()),
        }
    }

    fn reason_or(&self, default: &str) -> String {
        if self.failure_reason.is_empty() {
            default.to_string()
        } else {
            self.failure_reason.clone()
        }
    }

    /// Checks the result contract; false when it is invalid (the reason is
    /// on stderr).
    fn normalize_contract(&mut self) -> anyhow::Result<bool> {
        if self.pr_state == "MERGED" {
            return Ok(true);
        }
        let (session, outcome, action) = (
            self.a.session.clone(),
            self.outcome.clone(),
            self.action.clone(),
        );
        let pr = self.pr.clone();
        let checked = contract::normalize(&session, &pr, &outcome, &action, &mut || {
            Ok(self.query("pr_review_pass_action", &[&pr]))
        })?;
        match checked {
            Ok(n) => {
                self.action = n.action;
                if let Some(note) = n.note {
                    self.note = note.into();
                }
                Ok(true)
            }
            Err(line) => {
                self.warn(line);
                Ok(false)
            }
        }
    }

    fn merged(&mut self) -> anyhow::Result<()> {
        self.status = "SUCCEEDED".into();
        self.failure_reason.clear();
        self.clear_provider_cooldown();
        self.transition("pr_clear_retry", &[])?;
        self.linked_issue_cleanup();
        self.transition("pr_after_merged", &[&self.pr.clone()])?;
        self.transition("pr_cleanup_merged_residue", &[&self.pr.clone()])?;
        self.cleanup();
        fill(&mut self.outcome, "merged");
        fill(&mut self.action, "approved-and-merged");
        self.notify()
    }

    fn closed(&mut self) -> anyhow::Result<()> {
        self.status = "SUCCEEDED".into();
        self.failure_reason.clear();
        self.clear_provider_cooldown();
        self.transition("pr_clear_retry", &[])?;
        self.transition("pr_after_closed", &[&self.pr.clone()])?;
        self.cleanup();
        fill(&mut self.outcome, "closed");
        fill(&mut self.action, "cleaned-closed-pr");
        self.notify()
    }

    fn review_passed(&mut self) -> anyhow::Result<()> {
        let pr = self.pr.clone();
        let word = match ReviewPass::from_action(&self.action) {
            Some(p) => p,
            None => {
                let word = self.query("pr_review_pass_action", &[&pr]);
                ReviewPass::from_word(&word).ok_or_else(|| {
                    fail(
                        1,
                        format!("unsupported review pass action for PR {pr}: {word}"),
                    )
                })?
            }
        };
        match word {
            ReviewPass::AdvanceDoubleCheck2 => {
                self.transition("pr_clear_retry", &[])?;
                self.transition("pr_after_double_check_advanced", &[&pr, "2"])?;
                self.cleanup();
                self.outcome = "double-check-1-approved".into();
                self.action = "queued-double-check-2".into();
            }
            ReviewPass::WaitHuman => self.wait_human()?,
            ReviewPass::Merge => {
                if self.query("pr_automerge_allowed", &[&pr]) != "yes" {
                    return Err(fail(
                        1,
                        format!("PR {pr} is no longer eligible for auto-merge"),
                    ));
                }
                self.transition("pr_clear_retry", &[])?;
                match self.approve_and_merge()? {
                    Merge::Merged => {}
                    Merge::NeedsReview => {
                        self.note = "merge-held-for-independent-review".into();
                        return self.wait_human_after_hold();
                    }
                    Merge::RateLimited => {
                        return Err(RateLimitStop::new("host-merge-rate-limit-retry").into());
                    }
                    Merge::Failed => return Err(fail(1, "")),
                }
                self.pr_state = "MERGED".into();
                self.linked_issue_cleanup();
                self.transition("pr_after_merged", &[&pr])?;
                self.transition("pr_cleanup_merged_residue", &[&pr])?;
                self.cleanup();
                self.outcome = "merged".into();
                self.action = "approved-and-merged".into();
            }
        }
        self.notify()
    }

    fn wait_human(&mut self) -> anyhow::Result<()> {
        self.transition("pr_clear_retry", &[])?;
        self.wait_human_after_hold()
    }

    fn wait_human_after_hold(&mut self) -> anyhow::Result<()> {
        self.transition("pr_after_succeeded", &[&self.pr.clone()])?;
        self.cleanup();
        self.outcome = "waiting-human-review".into();
        self.action = "queued-human-review".into();
        Ok(())
    }

    /// `pr_cleanup_linked_issue_session` and, when the policy says so and
    /// it is still open, closing the linked issue (failures ignored).
    fn linked_issue_cleanup(&mut self) {
        let issue = self.issue_id.clone();
        if issue.is_empty() {
            return;
        }
        let _ = self.hook("pr_cleanup_linked_issue_session", &[&issue]);
        let called = self.hook("pr_linked_issue_should_close", &[&issue]);
        let close = !called.ok || called.stdout == "yes";
        if close {
            self.close_linked_issue(&issue);
        }
    }

    /// One blocked outcome: retry `reason`, `pr_after_blocked`, cleanup.
    pub fn block(&mut self, reason: &str, action: &str) -> anyhow::Result<()> {
        self.transition("pr_schedule_retry", &[reason])?;
        self.transition("pr_after_blocked", &[&self.pr.clone()])?;
        self.cleanup();
        self.outcome = "blocked".into();
        self.action = action.into();
        Ok(())
    }

    pub fn notify(&mut self) -> anyhow::Result<()> {
        let args = [
            self.status.clone(),
            self.pr_state.clone(),
            self.outcome.clone(),
            self.action.clone(),
            self.pr.clone(),
        ];
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let _ = self.hook("pr_after_reconciled", &refs);
        Ok(())
    }

    /// Runs a transition hook; its failure ends the reconcile (exit 1).
    pub fn transition(&mut self, name: &str, args: &[&str]) -> anyhow::Result<()> {
        let called = self.hook(name, args);
        if !called.ok {
            return Err(fail(1, format!("reconcile transition failed: {name}")));
        }
        Ok(())
    }

    /// Runs a query hook and returns its stdout.
    pub fn query(&mut self, name: &str, args: &[&str]) -> String {
        self.hook(name, args).stdout
    }

    /// Runs hook `name` in the mode in force. Its stdout and stderr go to
    /// our stderr (the answer of a query hook is its stdout).
    pub fn hook(&mut self, name: &str, args: &[&str]) -> Called {
        let called = match self.hooks.clone() {
            hooks::Mode::Defaults => Called {
                ok: true,
                stdout: hooks::default_answer(name).to_string(),
                stderr: Vec::new(),
            },
            hooks::Mode::Bash(file) => {
                let env = self.hook_env();
                let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
                let cwd = self.ctx.cwd.clone();
                hooks::run_bash(&file, name, &args, &env, &cwd)
            }
            hooks::Mode::Shipped(_) => crate::policy::call(self, name, args),
        };
        let _ = self.ctx.stderr.write_all(&called.stderr);
        called
    }

    /// The environment of a bash hook: the children's environment plus the
    /// original's script variables.
    fn hook_env(&self) -> acp_core::Env {
        let mut env = self.env.clone();
        let vars = [
            ("session", self.a.session.clone()),
            ("repo_slug", self.a.repo_slug.clone()),
            ("repo_root", self.a.repo_root.display().to_string()),
            ("runs_root", self.a.runs_root.display().to_string()),
            ("history_root", self.a.history_root.display().to_string()),
            ("run_dir", self.run_dir.display().to_string()),
            ("shared_tools_dir", self.tools_dir.display().to_string()),
            ("pr_number", self.pr.clone()),
            ("pr_state", self.pr_state.clone()),
            ("pr_base_ref", self.base_ref.clone()),
            ("pr_worktree", self.worktree.clone()),
            ("status", self.status.clone()),
            ("failure_reason", self.failure_reason.clone()),
            ("result_outcome", self.outcome.clone()),
            ("result_action", self.action.clone()),
            ("result_issue_id", self.issue_id.clone()),
            ("result_detail", self.detail.clone()),
        ];
        for (k, v) in vars {
            env.set(k, v);
        }
        if let Some(f) = &self.a.hook_file {
            env.set("hook_file", f.as_os_str());
        }
        env
    }

    /// The end of a host action refused by a rate limit: a note in
    /// pr-comment.md, a retry, `pr_after_blocked`, cleanup, exit 0.
    fn rate_limit_finish(&mut self, action: &str) -> anyhow::Result<i32> {
        let detail = self.rate_limited.clone().unwrap_or_default();
        self.append_rate_limit_note(&detail)?;
        let reason = "github-api-rate-limit";
        self.transition("pr_schedule_retry", &[reason])?;
        self.transition("pr_after_blocked", &[&self.pr.clone()])?;
        self.cleanup();
        self.outcome = "blocked".into();
        self.action = action.into();
        self.failure_reason = reason.into();
        self.notify()?;
        self.mark_reconciled()?;
        self.status = "FAILED".into();
        self.note.clear();
        self.print_result()?;
        Ok(0)
    }
}

fn fill(slot: &mut String, default: &str) {
    if slot.is_empty() {
        *slot = default.to_string();
    }
}
