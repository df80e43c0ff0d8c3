//! The transitions that publish (or refuse to publish) a repaired branch:
//! `updated-branch` (spec 4.2.1), `no-change-needed`, and `blocked` with its
//! runtime-failure inference and the host recovery of sandbox bind failures.

use std::path::Path;
use std::process::{Command, Stdio};

use acp_core::shellquote::QuoteLocale;
use acp_core::{envfile, fail, fsx};
use regex::Regex;

use crate::engine::{Flow, append_text, read_text, tool_command};
use crate::gitops;

const COMMENT_RATE_LIMIT: &str = "host-comment-rate-limit-retry";

fn re(pattern: &str) -> Regex {
    // The patterns are constants of this file; a bad one is a bug caught by
    // the tests, and matches nothing rather than panicking.
    Regex::new(pattern).unwrap_or_else(|_| Regex::new("$^").unwrap_or_else(|_| unreachable!()))
}

/// Whether any line of `text` matches `pattern` (case-insensitive).
fn any_line(text: &str, pattern: &str) -> bool {
    let r = re(&format!("(?i){pattern}"));
    text.lines().any(|l| r.is_match(l))
}

const CODEX_STALL: &str =
    "no-codex-output-before-stall-threshold|no-codex-progress-before-stall-threshold";
const AGENT_STALL: &str =
    "no-agent-output-before-stall-threshold|no-agent-progress-before-stall-threshold";

/// The runtime failure a `blocked` result really was, from `DETAIL`, the
/// session log and pr-comment.md.
pub fn blocked_runtime_reason(detail: &str, log: &str, comment: &str) -> Option<&'static str> {
    if detail == "worker-tool-exec-empty-command"
        || log.contains("[tools] exec failed: Provide a command to start.")
    {
        return Some("worker-tool-exec-empty-command");
    }
    let checks: [(&str, &str, &'static str); 5] = [
        (log, CODEX_STALL, "codex-stalled"),
        (log, AGENT_STALL, "agent-stalled"),
        (
            log,
            "provider-quota-limit|quota.*exhausted|rate.limit.*exceeded",
            "provider-quota-limit",
        ),
        (comment, CODEX_STALL, "codex-stalled"),
        (comment, AGENT_STALL, "agent-stalled"),
    ];
    checks
        .iter()
        .find(|(text, pattern, _)| any_line(text, pattern))
        .map(|(_, _, reason)| *reason)
}

/// The pre-approved host commands of prompt.md (``loopback retry command: `CMD` ``).
pub fn recovery_commands(prompt: &str) -> Vec<String> {
    let r = re("^.*loopback retry command: `(.*)`$");
    prompt
        .lines()
        .filter_map(|l| {
            r.captures(l)
                .and_then(|c| c.get(1))
                .map(|m| m.as_str().to_string())
        })
        .filter(|c| !c.is_empty())
        .collect()
}

impl Flow<'_, '_> {
    pub fn updated_branch(&mut self) -> anyhow::Result<()> {
        let Some(wt) = self.wt() else {
            return self.updated_branch_without_worktree();
        };
        if !self.guard(&wt) {
            return self.guard_blocked();
        }
        gitops::commit_leftovers(&self.env, &wt, &self.run_dir, &self.pr)?;
        let conflicts =
            gitops::remaining_conflicts(&self.env, Some(&wt), &self.a.repo_root, &self.base_ref);
        if !conflicts.is_empty() {
            // The guard note stays local: nothing was pushed.
            self.append_guard_comment(&conflicts)?;
            self.block(
                "remaining-merge-conflicts-after-updated-branch",
                "host-rejected-partial-repair",
            )?;
            return self.notify();
        }
        match self.commits_ahead(&wt) {
            Err(()) => {
                self.failure_reason = "updated-branch-remote-ref-unavailable".into();
                self.block(
                    "updated-branch-remote-ref-unavailable",
                    "host-branch-ahead-check-failed",
                )?;
                return self.notify();
            }
            Ok(0) => {
                self.failure_reason = "updated-branch-no-commits-ahead".into();
                self.block(
                    "updated-branch-no-commits-ahead",
                    "host-noop-updated-branch",
                )?;
                return self.notify();
            }
            Ok(_) => {}
        }
        self.push(&wt)?;
        self.post_comment_or_stop(COMMENT_RATE_LIMIT)?;
        self.transition("pr_clear_retry", &[])?;
        self.transition("pr_after_updated_branch", &[&self.pr.clone()])?;
        self.cleanup();
        if self.action.is_empty() {
            self.action = "pushed-branch-for-ci".into();
        }
        self.notify()
    }

    fn updated_branch_without_worktree(&mut self) -> anyhow::Result<()> {
        let remote = if self.final_head.is_empty() {
            String::new()
        } else {
            self.gh()
                .and_then(|g| g.pr_head_oid(&self.a.repo_slug, self.pr_n))
                .unwrap_or_default()
        };
        let (published, default_action) = if !remote.is_empty() && remote == self.final_head {
            self.post_comment_or_stop(COMMENT_RATE_LIMIT)?;
            (true, "host-push-pr-branch")
        } else {
            (self.comment_already_posted(), "pushed-branch-for-ci")
        };
        if published {
            self.transition("pr_clear_retry", &[])?;
            self.transition("pr_after_updated_branch", &[&self.pr.clone()])?;
            self.cleanup();
            if self.action.is_empty() {
                self.action = default_action.into();
            }
        } else {
            self.block(
                "missing-pr-worktree-before-publish",
                "host-missing-pr-worktree",
            )?;
        }
        self.notify()
    }

    fn commits_ahead(&mut self, wt: &Path) -> Result<u64, ()> {
        if self.head_ref.is_empty() {
            self.warn(format!("session {} is missing PR_HEAD_REF", self.a.session));
            return Err(());
        }
        let head_ref = self.head_ref.clone();
        gitops::commits_ahead(&self.env, wt, &head_ref).map_err(|line| self.warn(line))
    }

    fn push(&mut self, wt: &Path) -> anyhow::Result<()> {
        if self.head_ref.is_empty() {
            return Err(fail(
                1,
                format!("session {} is missing PR_HEAD_REF", self.a.session),
            ));
        }
        let pushed =
            gitops::push(&self.env, wt, &self.head_ref).map_err(|e| fail(1, format!("{e:#}")));
        // The PR's head changed: what this process remembers of it is old.
        if let Ok(gh) = self.gh() {
            gh.forget_pr_reads(&self.a.repo_slug);
        }
        pushed
    }

    /// branch-verification-guard.sh; its refusal is kept in host-blocker.md.
    fn guard(&mut self, wt: &Path) -> bool {
        let mut cmd = tool_command(
            self.ctx,
            &self.tools_dir,
            &self.env,
            "branch-verification-guard.sh",
        );
        cmd.arg("--worktree")
            .arg(wt)
            .arg("--base-ref")
            .arg(format!("origin/{}", self.base_ref))
            .arg("--run-dir")
            .arg(&self.run_dir);
        let blocker = self.file("host-blocker.md");
        match acp_core::dispatch::output(&mut cmd) {
            Ok(out) if out.status.success() => {
                let _ = fsx::remove_file_if_exists(&blocker);
                true
            }
            Ok(out) => {
                let mut text = out.stdout;
                text.extend_from_slice(&out.stderr);
                let _ = fsx::atomic_write(&blocker, &text);
                let _ = self.ctx.stderr.write_all(&text);
                false
            }
            Err(e) => {
                let _ = fsx::atomic_write(&blocker, format!("{e:#}\n").as_bytes());
                self.warn(format!("{e:#}"));
                false
            }
        }
    }

    fn guard_blocked(&mut self) -> anyhow::Result<()> {
        self.failure_reason = "verification-guard-blocked".into();
        self.block(
            "verification-guard-blocked",
            "host-verification-guard-blocked",
        )?;
        self.notify()
    }

    /// Appends the `## PR repair host guard` section (pr-comment.md and
    /// host-blocker.md).
    fn append_guard_comment(&mut self, paths: &[String]) -> anyhow::Result<()> {
        let comment = self.file("pr-comment.md");
        let mut body = String::from("## PR repair host guard\n\n");
        body.push_str(&format!(
            "The host did not push this repair: a local merge simulation against `{}` still leaves these paths in conflict:\n\n",
            self.base_ref
        ));
        for p in paths {
            body.push_str(&format!("- {p}\n"));
        }
        body.push_str("\nNothing partial was pushed to the PR branch. The PR stays in the fix lane and is retried after its cooldown.\n");
        let sep = if read_text(&comment).is_empty() {
            ""
        } else {
            "\n\n"
        };
        append_text(&comment, &format!("{sep}{body}"))?;
        fsx::atomic_write(&self.file("host-blocker.md"), body.as_bytes())
    }

    pub fn no_change_needed(&mut self) -> anyhow::Result<()> {
        let wt = self.wt();
        let prepared = wt
            .as_deref()
            .is_some_and(|w| gitops::merge_in_progress(&self.env, w));
        let conflicts = gitops::remaining_conflicts(
            &self.env,
            wt.as_deref(),
            &self.a.repo_root,
            &self.base_ref,
        );
        if !conflicts.is_empty() {
            self.append_guard_comment(&conflicts)?;
            if prepared {
                self.post_comment_or_stop(COMMENT_RATE_LIMIT)?;
            }
            self.block(
                "remaining-merge-conflicts-after-no-change-needed",
                "host-rejected-no-change-needed",
            )?;
            return self.notify();
        }
        let Some(wt) = wt.filter(|_| prepared) else {
            self.post_comment_or_stop(COMMENT_RATE_LIMIT)?;
            self.transition("pr_clear_retry", &[])?;
            self.transition("pr_after_succeeded", &[&self.pr.clone()])?;
            self.cleanup();
            if self.action.is_empty() {
                self.action = "refreshed-pr-state".into();
            }
            return self.notify();
        };
        if !self.guard(&wt) {
            return self.guard_blocked();
        }
        gitops::commit_leftovers(&self.env, &wt, &self.run_dir, &self.pr)?;
        match self.commits_ahead(&wt) {
            Err(()) => {
                self.failure_reason = "no-change-needed-remote-ref-unavailable".into();
                self.block(
                    "no-change-needed-remote-ref-unavailable",
                    "host-branch-ahead-check-failed",
                )?;
            }
            Ok(0) => {
                self.failure_reason = "no-change-needed-promoted-without-branch-advance".into();
                self.block(
                    "no-change-needed-promoted-without-branch-advance",
                    "host-rejected-noop-promotion",
                )?;
            }
            Ok(_) => {
                self.push(&wt)?;
                self.post_comment_or_stop(COMMENT_RATE_LIMIT)?;
                self.transition("pr_clear_retry", &[])?;
                self.transition("pr_after_updated_branch", &[&self.pr.clone()])?;
                self.cleanup();
                self.outcome = "updated-branch".into();
                self.action = "host-promoted-no-change-needed-to-updated-branch".into();
            }
        }
        self.notify()
    }

    pub fn blocked(&mut self) -> anyhow::Result<()> {
        let log = read_text(&self.file(&format!("{}.log", self.a.session)));
        let comment = read_text(&self.file("pr-comment.md"));
        if let Some(reason) = blocked_runtime_reason(&self.detail, &log, &comment) {
            self.status = "FAILED".into();
            self.failure_reason = reason.into();
            self.transition("pr_schedule_retry", &[reason])?;
            self.transition("pr_after_failed", &[&self.pr.clone()])?;
            self.cleanup();
            self.action = "queued-pr-retry".into();
            return self.notify();
        }
        if self.host_recovery(&log, &comment)? {
            return self.updated_branch();
        }
        self.post_comment_or_stop(COMMENT_RATE_LIMIT)?;
        self.transition("pr_clear_retry", &[])?;
        self.transition("pr_after_blocked", &[&self.pr.clone()])?;
        self.cleanup();
        if self.action.is_empty() {
            self.action = "queued-pr-fix".into();
        }
        self.notify()
    }

    /// Re-runs the pre-approved loopback verification of prompt.md on the
    /// host after the sandbox could not bind local ports; true when every
    /// command passed (the run then counts as `updated-branch`).
    fn host_recovery(&mut self, log: &str, comment: &str) -> anyhow::Result<bool> {
        let bind = "listen EPERM|failed to bind to local ports|Process from config\\.webServer exited early";
        let Some(wt) = self.wt() else {
            return Ok(false);
        };
        if !(any_line(comment, bind) || any_line(log, bind)) {
            return Ok(false);
        }
        let commands = recovery_commands(&read_text(&self.file("prompt.md")));
        if commands.is_empty() {
            return Ok(false);
        }
        for c in &commands {
            if !self.host_verify(&wt, c)? {
                return Ok(false);
            }
        }
        self.rewrite_comment_for_recovery(&commands)?;
        let pairs = [
            ("OUTCOME", "updated-branch".to_string()),
            ("ACTION", "host-push-pr-branch".to_string()),
            ("PR_NUMBER", self.pr.clone()),
            ("ISSUE_ID", self.issue_id.clone()),
        ];
        envfile::write_all(&self.file("result.env"), &pairs, QuoteLocale::C)?;
        self.outcome = "updated-branch".into();
        self.action = "host-push-pr-branch".into();
        self.failure_reason.clear();
        self.note = "host-recovered-sandbox-bind-failure".into();
        Ok(true)
    }

    /// Runs one pre-approved command in the worktree as an argv (output
    /// to the session log) and records it with record-verification.sh; a
    /// command the allow-list refuses counts as failed (F4).
    fn host_verify(&mut self, wt: &Path, command: &str) -> anyhow::Result<bool> {
        let log = self.file(&format!("{}.log", self.a.session));
        fsx::append(
            &log,
            format!("\n[host-recovery] command={command}\n").as_bytes(),
        )?;
        let passed = match crate::recovery::allowed(command, wt) {
            Some(allowed) => {
                let file = std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(&log)
                    .map_err(|e| anyhow::anyhow!("failed to open {}: {e}", log.display()))?;
                let mut cmd = Command::new(&allowed.argv[0]);
                cmd.args(&allowed.argv[1..])
                    .current_dir(wt)
                    .stdin(Stdio::null())
                    .stdout(file.try_clone()?)
                    .stderr(file);
                self.env.apply(&mut cmd);
                for (k, v) in &allowed.env {
                    cmd.env(k, v);
                }
                cmd.status().is_ok_and(|s| s.success())
            }
            None => {
                let why = "[host-recovery] refused: not an allowed loopback command\n";
                fsx::append(&log, why.as_bytes())?;
                false
            }
        };
        self.record_verification(if passed { "pass" } else { "fail" }, command);
        if !passed {
            fsx::append(
                &log,
                format!("[host-recovery] command failed={command}\n").as_bytes(),
            )?;
        }
        Ok(passed)
    }

    fn record_verification(&mut self, status: &str, command: &str) {
        let dir = self
            .env
            .path("FLOW_TOOLS_DIR")
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| self.tools_dir.clone());
        let script = dir.join("record-verification.sh");
        if !fsx::is_executable(&script) {
            return;
        }
        let mut cmd = Command::new("bash");
        cmd.arg(&script)
            .arg("--run-dir")
            .arg(&self.run_dir)
            .args(["--status", status, "--command", command])
            .args(["--note", "host-recovery-after-sandbox-bind-failure"])
            .stdin(Stdio::null());
        self.env.apply(&mut cmd);
        if let Ok(out) = acp_core::process::output(&mut cmd) {
            let _ = self.ctx.stderr.write_all(&out.stderr);
        }
    }

    /// pr-comment.md up to its `**Blocker**` line, then a `**Host Recovery**`
    /// list of the commands that passed.
    fn rewrite_comment_for_recovery(&mut self, commands: &[String]) -> anyhow::Result<()> {
        let path = self.file("pr-comment.md");
        let old = read_text(&path);
        let mut text: String = old
            .lines()
            .take_while(|l| *l != "**Blocker**")
            .map(|l| format!("{l}\n"))
            .collect();
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str("**Host Recovery**\n");
        text.push_str("- The worker sandbox could not bind local ports, so the host re-ran the pre-approved verification itself:\n");
        for c in commands {
            text.push_str(&format!("- ✅ `{c}`\n"));
        }
        fsx::atomic_write(&path, text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_reasons() {
        assert_eq!(
            blocked_runtime_reason("worker-tool-exec-empty-command", "", ""),
            Some("worker-tool-exec-empty-command")
        );
        assert_eq!(
            blocked_runtime_reason("", "x NO-AGENT-OUTPUT-before-stall-threshold", ""),
            Some("agent-stalled")
        );
        assert_eq!(
            blocked_runtime_reason("", "API Rate-limit was exceeded", ""),
            Some("provider-quota-limit")
        );
        assert_eq!(
            blocked_runtime_reason("", "", "no-codex-progress-before-stall-threshold"),
            Some("codex-stalled")
        );
        assert_eq!(blocked_runtime_reason("", "all fine", "nothing"), None);
    }

    #[test]
    fn commands_from_prompt() {
        let p = "- a | loopback retry command: `bash x.sh`\nother `y`\n";
        assert_eq!(recovery_commands(p), ["bash x.sh"]);
    }
}
