//! The reconcile's steps that touch files, sibling tools, git and GitHub.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use acp_core::{Invocation, fsx, git};
use acp_session::reconcile::comments::{self, Checklist};
use acp_session::reconcile::resident;
use acp_session::reconcile::verify::{self, Inputs};

use crate::flow::Session;

/// `bash <dir>/<name>` when that file exists (a stub or a user's copy is
/// what runs), else our own binary running tool `name`.
pub(crate) fn tool_command(ctx: &Invocation<'_>, dir: &Path, name: &str) -> Command {
    let path = dir.join(name);
    let mut cmd = if path.is_file() {
        let mut c = Command::new(
            ctx.env
                .which("bash")
                .unwrap_or_else(|| PathBuf::from("/bin/bash")),
        );
        c.arg(path);
        c
    } else {
        let mut c = Command::new(&ctx.exe);
        c.arg(name);
        c
    };
    ctx.env.apply(&mut cmd);
    cmd.current_dir(&ctx.cwd);
    cmd
}

/// A stable short hash of a comment body (FNV-1a, 64 bits), naming its marker.
fn body_hash(body: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in body.trim_end().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

impl Session<'_, '_> {
    fn comment_file(&self) -> PathBuf {
        self.run_dir.join("issue-comment.md")
    }

    /// The comment artifact's text ("" when missing or empty).
    pub fn issue_comment_text(&self) -> String {
        fsx::read_capped_if_exists(&self.comment_file(), 1 << 20)
            .ok()
            .flatten()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    pub fn write_issue_comment(&self, body: &str) -> anyhow::Result<()> {
        if body.is_empty() {
            return Ok(());
        }
        let text = format!("{}\n", body.trim_end_matches('\n'));
        fsx::atomic_write(&self.comment_file(), text.as_bytes())
    }

    pub fn write_runtime_comment_if_missing(&mut self) -> anyhow::Result<()> {
        if self.issue_comment_text().is_empty() {
            let worker = self.var("CODING_WORKER");
            let worker = if worker.is_empty() {
                "worker".to_string()
            } else {
                worker
            };
            let body = comments::runtime_blocker_comment(&self.reason, &worker);
            self.write_issue_comment(&body)?;
        }
        Ok(())
    }

    /// Posts the comment artifact (when non-empty) unless the issue already
    /// shows it; a failed post waits in the outbox.
    pub fn post_issue_comment(&mut self) -> anyhow::Result<()> {
        let text = self.issue_comment_text();
        let body = text.trim_end_matches('\n');
        if body.is_empty() {
            return Ok(());
        }
        let Ok(number) = self.issue_id.parse::<u64>() else {
            self.warn(&format!(
                "ISSUE_COMMENT=skipped issue id {:?} is not a number",
                self.issue_id
            ));
            return Ok(());
        };
        let action = format!("issue-comment-{}", body_hash(body));
        let (repo, session) = (self.args.repo_slug.clone(), self.args.session.clone());
        self.effects.comment(&repo, number, &session, &action, body)
    }

    /// The blocker comment of a publish failure (`reason` empty: generic).
    pub fn publish_comment(&mut self, reason: &str, out: &str) -> String {
        let checklist = if reason == "no-publishable-commits" {
            self.checklist()
        } else {
            Checklist::default()
        };
        let base = format!("origin/{}", self.default_branch());
        comments::publish_blocker_comment(
            reason,
            out,
            &self.args.session,
            &self.issue_id,
            &base,
            &checklist,
        )
    }

    fn default_branch(&self) -> String {
        self.ctx
            .env
            .first_non_empty(&["ACP_DEFAULT_BRANCH", "F_LOSNING_DEFAULT_BRANCH"])
            .unwrap_or_else(|| "main".into())
    }

    /// `sync-recurring-issue-checklist.sh --repo-slug R --issue-id N` (when
    /// the tools dir has it), read as checklist counts.
    fn checklist(&mut self) -> Checklist {
        let script = self.tools.join("sync-recurring-issue-checklist.sh");
        if !fsx::is_executable(&script) {
            return Checklist::default();
        }
        let mut cmd = tool_command(self.ctx, &self.tools, "sync-recurring-issue-checklist.sh");
        cmd.args([
            "--repo-slug",
            &self.args.repo_slug,
            "--issue-id",
            &self.issue_id,
        ]);
        match acp_core::process::output(&mut cmd) {
            Ok(o) if o.status.success() => Checklist::parse(&String::from_utf8_lossy(&o.stdout)),
            _ => Checklist::default(),
        }
    }

    /// Writes the comment of a blocked run that left none: no delta, no
    /// passing verification, or a generic one.
    pub fn ensure_blocked_comment(&mut self) -> anyhow::Result<()> {
        if !self.issue_comment_text().is_empty() {
            return Ok(());
        }
        let reason = if self.no_publishable_delta() {
            "no-publishable-commits"
        } else if !self.has_passing_verification() {
            "verification-guard-blocked"
        } else {
            ""
        };
        let body = self.publish_comment(reason, "");
        self.write_issue_comment(&body)
    }

    /// The worktree has no commit ahead of the default branch and no
    /// uncommitted change to tracked files.
    fn no_publishable_delta(&self) -> bool {
        let wt = Path::new(&self.worktree);
        let env = &self.ctx.env;
        if self.worktree.is_empty() || !wt.is_dir() || !git::is_work_tree(env, wt) {
            return false;
        }
        let default = self.default_branch();
        let candidates = [
            format!("origin/{default}"),
            default.clone(),
            "origin/main".into(),
            "main".into(),
            "origin/master".into(),
            "master".into(),
        ];
        let Some(base) = candidates
            .iter()
            .find(|r| git::capture(env, wt, &["rev-parse", "--verify", "--quiet", r]).is_some())
        else {
            return false;
        };
        let ahead = git::capture(env, wt, &["rev-list", "--count", &format!("{base}..HEAD")]);
        if ahead.as_deref() != Some("0") {
            return false;
        }
        git::capture(env, wt, &["status", "--porcelain", "--untracked-files=no"])
            .is_some_and(|s| s.is_empty())
    }

    fn verification_file(&self) -> PathBuf {
        self.run_dir.join("verification.jsonl")
    }

    pub fn has_passing_verification(&self) -> bool {
        fsx::read_capped_if_exists(&self.verification_file(), 64 << 20)
            .ok()
            .flatten()
            .is_some_and(|b| String::from_utf8_lossy(&b).contains("\"status\":\"pass\""))
    }

    /// `git -C WORKTREE push -u origin BRANCH` (stderr: `<label>=ok|failed`).
    pub fn push_branch(&mut self, label: &str) {
        let branch = self.var("BRANCH");
        let wt = PathBuf::from(&self.worktree);
        // A name git would take for an option is never pushed.
        if branch.is_empty()
            || branch.starts_with('-')
            || self.worktree.is_empty()
            || !wt.is_dir()
            || !git::is_work_tree(&self.ctx.env, &wt)
        {
            return;
        }
        let ok = git::output(
            &self.ctx.env,
            &wt,
            ["push", "-u", "origin", branch.as_str()],
        )
        .is_ok_and(|o| o.status.success());
        // An open PR of the branch may have a new head: what this process
        // remembers of the repository's PRs is old.
        if ok && let Some(gh) = self.effects.gh() {
            gh.forget_pr_reads_of_branch(&self.args.repo_slug, &branch);
        }
        let word = if ok { "ok" } else { "failed" };
        let line = if label == "PRE_PUBLISH_PUSH" {
            format!("{label}={word} branch={branch}")
        } else {
            format!("{label}={word}")
        };
        self.warn(&line);
    }

    /// Runs the allow-listed verification commands in the worktree,
    /// recording each result; `true` (and the contract note) when all
    /// passed. Nothing runs unless the run implemented something.
    pub fn host_verification_recovery(&mut self, why: &str) -> anyhow::Result<bool> {
        let wt = PathBuf::from(&self.worktree);
        if self.outcome != "implemented" || self.worktree.is_empty() || !wt.is_dir() {
            return Ok(false);
        }
        let read = |p: &Path| {
            fsx::read_capped_if_exists(p, 16 << 20)
                .ok()
                .flatten()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        };
        let changed = git::capture(
            &self.ctx.env,
            &wt,
            &["show", "--pretty=", "--name-only", "HEAD"],
        )
        .unwrap_or_default();
        let configured = self.configured_verification_commands();
        let inputs = Inputs {
            prompt: read(&self.run_dir.join("prompt.md")),
            package: serde_json::from_str(&read(&wt.join("package.json"))).ok(),
            changed_files: changed
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
            passed: verify::passed_commands(&read(&self.verification_file())),
            configured,
        };
        let plan = verify::plan(&inputs, &wt);
        if plan.is_empty() {
            return Ok(false);
        }
        let log = self.run_dir.join(format!("{}.log", self.args.session));
        let timeout = Duration::from_secs(
            self.ctx
                .env
                .non_empty("ACP_HOST_VERIFICATION_TIMEOUT_SECONDS")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1800),
        );
        for (text, argv) in plan {
            fsx::append(
                &log,
                format!("\n[host-issue-recovery] command={text}\n").as_bytes(),
            )?;
            let passed = verify::run_command(&argv, &wt, &self.ctx.env, &log, timeout)?;
            self.record_verification(&text, passed)?;
            if !passed {
                fsx::append(
                    &log,
                    format!("[host-issue-recovery] command failed={text}\n").as_bytes(),
                )?;
                return Ok(false);
            }
        }
        self.note = format!("host-recovered-{why}");
        Ok(true)
    }

    /// The operator's own recovery commands: `ACP_HOST_VERIFICATION_COMMANDS`,
    /// else the profile's `execution.host_verification_commands`; commands
    /// separated by newlines or `;` (our separator: no shell runs them).
    fn configured_verification_commands(&self) -> Vec<String> {
        let env = &self.ctx.env;
        let text = env.non_empty("ACP_HOST_VERIFICATION_COMMANDS").or_else(|| {
            let mut env = env.clone();
            acp_core::config::export_env_aliases(&mut env);
            acp_core::config::FlowConfig::load(&env)
                .ok()?
                .get("execution.host_verification_commands")
        });
        text.unwrap_or_default()
            .split(['\n', ';'])
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect()
    }

    fn record_verification(&mut self, command: &str, passed: bool) -> anyhow::Result<()> {
        let mut cmd = tool_command(self.ctx, &self.tools, "record-verification.sh");
        let status = if passed { "pass" } else { "fail" };
        let run_dir = self.run_dir.to_string_lossy().into_owned();
        cmd.args([
            "--run-dir",
            &run_dir,
            "--status",
            status,
            "--command",
            command,
        ]);
        cmd.args(["--note", "host-recovery-after-missing-worker-verification"]);
        let out = acp_core::process::output(&mut cmd)?;
        if !out.status.success() {
            self.ctx.stderr.write_all(&out.stderr)?;
        }
        Ok(())
    }

    /// Runs the publish tool; returns whether it succeeded and its merged output.
    pub fn publish(&mut self, extra: &[String]) -> anyhow::Result<(bool, String)> {
        let mut cmd = tool_command(self.ctx, &self.tools, "agent-project-publish-issue-pr");
        cmd.args([
            "--repo-slug",
            &self.args.repo_slug,
            "--runs-root",
            &self.args.runs_root,
        ]);
        cmd.args([
            "--history-root",
            &self.args.history_root,
            "--session",
            &self.args.session,
        ]);
        cmd.args(extra);
        // Our own publisher runs in process (its GitHub reads are answered
        // by this process's snapshot); its stdout, then its stderr.
        if let Some(out) = acp_core::dispatch::try_in_process(&cmd)? {
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&out.stderr));
            return Ok((out.status.success(), text));
        }
        let mut b =
            acp_core::process::Bounds::new(Duration::from_secs(3600), Duration::from_secs(5));
        b.merged = true;
        let out = acp_core::process::run_bounded(&mut cmd, &b)?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        Ok((out.code == 0 && !out.timed_out, text))
    }

    pub fn clear_provider_cooldown(&mut self) -> anyhow::Result<()> {
        self.provider_cooldown(&["clear"])
    }

    /// After a provider quota failure: the provider's cooldown, until the
    /// reset time its message in the session log states when there is one.
    pub fn schedule_provider_cooldown(&mut self, reason: &str) -> anyhow::Result<()> {
        if reason == acp_session::reconcile::reasons::PROVIDER_QUOTA_LIMIT {
            let until = acp_session::reconcile::reasons::quota_reset_epoch(
                &self.run_dir,
                &self.args.session,
                acp_core::time::now_epoch(),
                self.ctx.env.get("TZ").as_deref(),
            );
            self.provider_cooldown_until(&["schedule", reason], until)?;
        }
        Ok(())
    }

    fn provider_cooldown(&mut self, args: &[&str]) -> anyhow::Result<()> {
        self.provider_cooldown_until(args, None)
    }

    /// `provider-cooldown-state.sh ARGS` for non-codex runs, when the tools
    /// dir has it, with `ACP_PROVIDER_COOLDOWN_UNTIL_EPOCH` when a reset
    /// time is known; its output and failures are ignored.
    fn provider_cooldown_until(&mut self, args: &[&str], until: Option<i64>) -> anyhow::Result<()> {
        let script = self.tools.join("provider-cooldown-state.sh");
        if !fsx::is_executable(&script) || self.var("CODING_WORKER") == "codex" {
            return Ok(());
        }
        let mut cmd = tool_command(self.ctx, &self.tools, "provider-cooldown-state.sh");
        cmd.args(args);
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        if let Some(epoch) = until {
            cmd.env("ACP_PROVIDER_COOLDOWN_UNTIL_EPOCH", epoch.to_string());
        }
        let _ = acp_core::dispatch::output(&mut cmd);
        Ok(())
    }

    /// Lane metadata, the outbox's replay, then `agent-project-cleanup-session`.
    pub fn cleanup(&mut self) -> anyhow::Result<()> {
        let vars = self.vars.clone();
        let env = self.ctx.env.clone();
        let var = move |k: &str| {
            vars.get(k)
                .filter(|v| !v.is_empty())
                .cloned()
                .or_else(|| env.non_empty(k))
                .unwrap_or_default()
        };
        let (session, issue) = (self.args.session.clone(), self.issue_id.clone());
        resident::update_lane_metadata(&var, &session, &issue, &self.summary, self.locale)?;
        self.policy_before_cleanup()?;
        let settled = self.effects.settle()?;
        for line in std::mem::take(&mut self.effects.queued) {
            self.warn(&format!("GITHUB_WRITE_QUEUED={line}"));
        }
        if settled.pending > 0 || settled.dead > 0 {
            let line = format!(
                "OUTBOX_PENDING={} OUTBOX_DEAD={} dir={} ({})",
                settled.pending,
                settled.dead,
                self.effects.outbox_dir().display(),
                settled.error.unwrap_or_default()
            );
            self.warn(&line);
        }
        let mut cmd = tool_command(self.ctx, &self.tools, "agent-project-cleanup-session");
        cmd.args([
            "--repo-root",
            &self.args.repo_root,
            "--runs-root",
            &self.args.runs_root,
        ]);
        cmd.args([
            "--history-root",
            &self.args.history_root,
            "--session",
            &self.args.session,
        ]);
        cmd.args(["--worktree", &self.var("WORKTREE"), "--mode", "issue"]);
        if self.var("RESIDENT_WORKER_ENABLED") == "yes" {
            cmd.arg("--skip-worktree-cleanup");
        }
        let out = acp_core::dispatch::output(&mut cmd)?;
        self.ctx.stderr.write_all(&out.stderr)?;
        if !out.status.success() {
            let code = acp_core::process::exit_code(out.status);
            return Err(acp_core::fail(code, "agent-project-cleanup-session failed"));
        }
        Ok(())
    }

    /// `issue_after_reconciled STATUS OUTCOME ACTION PR` (failures ignored).
    pub fn notify_reconciled(&mut self) -> anyhow::Result<()> {
        let (st, o, a, pr) = (
            self.status.clone(),
            self.summary.outcome.clone(),
            self.summary.action.clone(),
            self.pr_number.clone(),
        );
        let _ = self.call_hook("issue_after_reconciled", &[&st, &o, &a, &pr])?;
        Ok(())
    }
}
