//! Host actions on GitHub: the PR comment (marked, once, kept in the
//! outbox when it fails), the approving review and the merge (F21), closing
//! the linked issue, and the rate-limit bookkeeping (only a refusal that
//! says rate limit counts, F19).

use acp_core::config::{self, FlowConfig};
use acp_github::{Action, Approval, ErrorKind, Gh, GhError};

use crate::engine::{Flow, append_text, read_text};

/// Ends the transitions early: a host action was refused by a rate limit.
#[derive(Debug)]
pub struct RateLimitStop {
    pub action: &'static str,
}

impl RateLimitStop {
    pub fn new(action: &'static str) -> Self {
        Self { action }
    }
}

impl std::fmt::Display for RateLimitStop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GitHub rate limit ({})", self.action)
    }
}

impl std::error::Error for RateLimitStop {}

/// How an approve-and-merge ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    Merged,
    /// No approving review from anyone but the author, and the profile
    /// does not allow merging without one (F21).
    NeedsReview,
    RateLimited,
    Failed,
}

/// The review text of the host's approval.
pub const APPROVAL_BODY: &str = "Automated final review passed. Safe low-risk scope, green checks, and host-side merge approved.";

/// The marker action of a PR comment: the same text is posted once, a
/// new text (a later run of the same session) is a new comment.
pub fn comment_marker_action(body: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in body.trim_end().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("pr-comment-{h:016x}")
}

fn truthy(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

impl Flow<'_, '_> {
    /// Notes a rate-limit refusal (`host-github-rate-limit.log`).
    pub fn record_rate_limit(&mut self, e: &GhError) {
        let text = e.to_string();
        let _ = acp_core::fsx::atomic_write(
            &self.file("host-github-rate-limit.log"),
            format!("{text}\n").as_bytes(),
        );
        self.rate_limited = Some(text);
    }

    /// The comment action for pr-comment.md, when it has text.
    fn comment_action(&self) -> Option<Action> {
        let body = read_text(&self.file("pr-comment.md"));
        if body.trim().is_empty() {
            return None;
        }
        Some(Action::Comment {
            repo: self.a.repo_slug.clone(),
            number: self.pr_n,
            session: self.a.session.clone(),
            action: comment_marker_action(&body),
            body,
        })
    }

    /// Posts pr-comment.md once. `Ok(false)`: refused by a rate limit
    /// (recorded). Any other failure is kept in the outbox and counts as
    /// done (the entry is replayed by the next reconcile of the run).
    pub fn post_comment(&mut self) -> anyhow::Result<bool> {
        let Some(action) = self.comment_action() else {
            return Ok(true);
        };
        match self.gh().and_then(|g| action.perform(g)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind == ErrorKind::RateLimited => {
                self.record_rate_limit(&e);
                Ok(false)
            }
            Err(e) => {
                let path = self.outbox.push(&action)?;
                self.warn(format!("{e} (kept in {})", path.display()));
                Ok(true)
            }
        }
    }

    /// [`Self::post_comment`]; a rate limit ends the reconcile with `action`.
    pub fn post_comment_or_stop(&mut self, action: &'static str) -> anyhow::Result<()> {
        if self.post_comment()? {
            Ok(())
        } else {
            Err(super::host::RateLimitStop::new(action).into())
        }
    }

    /// Whether pr-comment.md is already on the PR (its marker is there).
    pub fn comment_already_posted(&mut self) -> bool {
        let Some(Action::Comment {
            session, action, ..
        }) = self.comment_action()
        else {
            return false;
        };
        let tag = acp_github::Marker::new(&session, &action).tag();
        // The PR's view (read already) holds its comments; else one read.
        self.gh()
            .and_then(
                |g| match g.snapshot_comments(&self.a.repo_slug, self.pr_n) {
                    Some(seen) => Ok(seen),
                    None => g.comments(&self.a.repo_slug, self.pr_n),
                },
            )
            .is_ok_and(|cs| cs.iter().any(|c| c.body.contains(&tag)))
    }

    /// A profile switch: the first of `env_keys`, else the YAML key.
    fn setting(&self, env_keys: &[&str], key: &str) -> bool {
        let cfg = FlowConfig::load(&self.env)
            .unwrap_or_else(|_| FlowConfig::empty(std::path::Path::new("")));
        truthy(&config::env_or_config(
            &self.env, &cfg, env_keys, key, "false",
        ))
    }

    /// Approves (unless the PR is the caller's own) and squash-merges.
    pub fn approve_and_merge(&mut self) -> anyhow::Result<Merge> {
        let (repo, n) = (self.a.repo_slug.clone(), self.pr_n);
        let actor = self.gh().and_then(Gh::user_login).unwrap_or_default();
        let author = self
            .gh()
            .and_then(|g| g.pr_author_login(&repo, n))
            .unwrap_or_default();
        let own = !actor.is_empty() && actor == author;
        let mut approved = false;
        if !own {
            match self
                .gh()
                .and_then(|g| g.approve_pr(&repo, n, APPROVAL_BODY))
            {
                // GitHub refuses an approval by the PR's author, so an
                // accepted one is independent.
                Ok(Approval::Approved) => approved = true,
                Ok(Approval::OwnPr) => {}
                Err(e) if e.kind == ErrorKind::RateLimited => {
                    self.record_rate_limit(&e);
                    return Ok(Merge::RateLimited);
                }
                Err(e) => {
                    self.warn(e);
                    return Ok(Merge::Failed);
                }
            }
        }
        if !approved && !self.independently_approved(&repo, n, &author) {
            self.warn(format!(
                "PR {n} has no approving review from anyone but its author; not merging \
                 (set ACP_MERGE_WITHOUT_INDEPENDENT_REVIEW=1 or github.merge_without_independent_review to allow)"
            ));
            return Ok(Merge::NeedsReview);
        }
        let admin = self.setting(&["ACP_MERGE_ADMIN"], "github.merge_admin");
        match self.gh().and_then(|g| g.merge_pr(&repo, n, admin)) {
            Ok(()) => Ok(Merge::Merged),
            Err(e) => {
                let _ = acp_core::fsx::atomic_write(
                    &self.file("host-github-merge.err"),
                    format!("{e}\n").as_bytes(),
                );
                if e.kind == ErrorKind::RateLimited {
                    self.record_rate_limit(&e);
                    return Ok(Merge::RateLimited);
                }
                self.warn(e);
                Ok(Merge::Failed)
            }
        }
    }

    fn independently_approved(&mut self, repo: &str, n: u64, author: &str) -> bool {
        if self.setting(
            &["ACP_MERGE_WITHOUT_INDEPENDENT_REVIEW"],
            "github.merge_without_independent_review",
        ) {
            return true;
        }
        !author.is_empty()
            && self
                .gh()
                .and_then(|g| g.pr_approved_by_other(repo, n, author))
                .unwrap_or(false)
    }

    /// Closes the linked issue when it is still open (failures ignored).
    pub fn close_linked_issue(&mut self, issue: &str) {
        let Ok(n) = issue.parse::<u64>() else {
            return;
        };
        let repo = self.a.repo_slug.clone();
        let open = self
            .gh()
            .and_then(|g| g.issue(&repo, n))
            .is_ok_and(|i| i.state == "OPEN");
        if open {
            let note = format!("Closed automatically after PR #{} merged.", self.pr);
            if let Err(e) = self.gh().and_then(|g| g.close_issue(&repo, n, Some(&note))) {
                self.warn(e);
            }
        }
    }

    /// Appends the `## Host action blocked` section to pr-comment.md.
    pub fn append_rate_limit_note(&mut self, detail: &str) -> anyhow::Result<()> {
        let path = self.file("pr-comment.md");
        let mut text = String::new();
        if !read_text(&path).is_empty() {
            text.push_str("\n\n");
        }
        text.push_str("## Host action blocked\n\n");
        text.push_str(
            "A GitHub API rate limit stopped ACP from publishing the review outcome or the merge of this PR.\n",
        );
        if let Some(at) = detail.to_ascii_lowercase().find("resets at ") {
            let rest = &detail[at..];
            let line = rest.split('.').next().unwrap_or(rest);
            text.push_str(&format!("\n- {line}\n"));
        }
        text.push_str(
            "- The local review artifacts are kept, and ACP scheduled an automatic retry of the host action.\n",
        );
        append_text(&path, &text)
    }

    /// `provider-cooldown-state.sh schedule REASON` after a provider quota
    /// failure of a non-codex worker.
    /// Until the reset time the session log states, when there is one.
    pub fn schedule_provider_cooldown(&mut self, reason: &str) {
        if self.failure_reason == "provider-quota-limit" {
            let until = acp_session::reconcile::reasons::quota_reset_epoch(
                &self.run_dir,
                &self.a.session,
                acp_core::time::now_epoch(),
                self.env.get("TZ").as_deref(),
            );
            self.provider_cooldown(&["schedule", reason], until);
        }
    }

    pub fn clear_provider_cooldown(&mut self) {
        self.provider_cooldown(&["clear"], None);
    }

    fn provider_cooldown(&mut self, args: &[&str], until: Option<i64>) {
        let script = self.tools_dir.join("provider-cooldown-state.sh");
        if !acp_core::fsx::is_executable(&script)
            || self.env.get_or_empty("CODING_WORKER") == "codex"
        {
            return;
        }
        let mut cmd = std::process::Command::new(&script);
        cmd.args(args).stdin(std::process::Stdio::null());
        self.env.apply(&mut cmd);
        if let Some(epoch) = until {
            cmd.env("ACP_PROVIDER_COOLDOWN_UNTIL_EPOCH", epoch.to_string());
        }
        if let Ok(out) = acp_core::process::output(&mut cmd) {
            let _ = self.ctx.stderr.write_all(&out.stderr);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_follows_the_text() {
        assert_eq!(comment_marker_action("a\n"), comment_marker_action("a"));
        assert_ne!(comment_marker_action("a"), comment_marker_action("b"));
        assert!(truthy("Yes") && !truthy("") && !truthy("no"));
    }
}
