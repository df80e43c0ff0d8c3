//! Managed branches: the head-branch prefixes the agent owns, the issue id
//! a managed branch name carries, the issue a PR body closes, and whether a
//! PR counts as the agent's.

use std::sync::LazyLock;

use acp_core::Env;
use acp_core::config::{self, FlowConfig};
use regex::Regex;

/// The label that hands a PR on a non-agent branch to the agent.
pub const HANDOFF_LABEL: &str = "agent-handoff";

/// The headings of the agent's own status comments on a PR.
static STATUS_HEADING: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)^## PR (final review blocker|repair worker summary|repair summary|repair update)")
});

/// A closing keyword and issue number in a PR body (`Closes #12`).
static CLOSING_REF: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s+#([0-9]+)\b"));

/// Compiles one of this module's fixed patterns.
pub(crate) fn re(pattern: &str) -> Regex {
    match Regex::new(pattern) {
        Ok(r) => r,
        // The patterns are constants covered by the unit tests.
        Err(e) => unreachable!("invalid built-in pattern {pattern}: {e}"),
    }
}

/// The managed-branch rules of a profile.
#[derive(Debug, Clone)]
pub struct ManagedBranches {
    /// Branch-name prefixes (each glob without its trailing `*`).
    pub prefixes: Vec<String>,
    /// `^(?:p1|p2)/issue-(?<id>[0-9]+)(?:-|$)` over the prefixes.
    issue_branch: Regex,
}

impl ManagedBranches {
    /// `ACP_MANAGED_PR_BRANCH_GLOBS` > `F_LOSNING_MANAGED_PR_BRANCH_GLOBS` >
    /// `session_naming.managed_pr_branch_globs` > `agent/<id>/* codex/*
    /// openclaw/*`.
    pub fn from_config(env: &Env, cfg: &FlowConfig) -> Self {
        let adapter = config::adapter_id(env, cfg);
        let globs = config::env_or_config_with(
            env,
            cfg,
            &[
                "ACP_MANAGED_PR_BRANCH_GLOBS",
                "F_LOSNING_MANAGED_PR_BRANCH_GLOBS",
            ],
            "session_naming.managed_pr_branch_globs",
            || format!("agent/{adapter}/* codex/* openclaw/*"),
        );
        Self::from_globs(&globs, &adapter)
    }

    /// The rules for a whitespace-separated glob list. Each word is used as
    /// written (never expanded against the current directory, F20); only
    /// a trailing `*` is dropped. With no usable prefix, issue branches are
    /// looked for under `agent/<adapter>`.
    pub fn from_globs(globs: &str, adapter: &str) -> Self {
        let prefixes: Vec<String> = globs
            .split_whitespace()
            .map(|g| g.strip_suffix('*').unwrap_or(g).to_string())
            .filter(|p| !p.is_empty())
            .collect();
        let mut alternatives: Vec<String> = prefixes
            .iter()
            .map(|p| regex::escape(p.strip_suffix('/').unwrap_or(p)))
            .collect();
        if alternatives.is_empty() {
            alternatives.push(regex::escape(&format!("agent/{adapter}")));
        }
        let pattern = format!("^(?:{})/issue-(?<id>[0-9]+)(?:-|$)", alternatives.join("|"));
        Self {
            prefixes,
            issue_branch: re(&pattern),
        }
    }

    /// Whether `branch` starts with a managed prefix.
    pub fn is_agent_branch(&self, branch: &str) -> bool {
        self.prefixes.iter().any(|p| branch.starts_with(p.as_str()))
    }

    /// The issue number in a managed issue branch name
    /// (`agent/acp/issue-12-title` -> 12).
    pub fn branch_issue(&self, branch: &str) -> Option<u64> {
        let caps = self.issue_branch.captures(branch)?;
        caps.name("id")?.as_str().parse().ok()
    }

    /// The PR's linked issue: the first closing reference in the body, else
    /// the issue of its branch name.
    pub fn linked_issue(&self, body: &str, branch: &str) -> Option<u64> {
        closing_issue(body).or_else(|| self.branch_issue(branch))
    }

    /// Whether a PR is the agent's: a managed branch, the handoff label, or
    /// one of the agent's status comments.
    pub fn is_managed<'a>(
        &self,
        branch: &str,
        labels: &[String],
        mut comment_bodies: impl Iterator<Item = &'a str>,
    ) -> bool {
        self.is_agent_branch(branch)
            || labels.iter().any(|l| l == HANDOFF_LABEL)
            || comment_bodies.any(is_status_comment)
    }
}

/// The issue number of the first closing reference (`Fixes #7`) in `body`.
pub fn closing_issue(body: &str) -> Option<u64> {
    CLOSING_REF.captures(body)?.get(1)?.as_str().parse().ok()
}

/// Whether a comment body (leading and trailing blanks ignored) is one of
/// the agent's PR status comments.
pub fn is_status_comment(body: &str) -> bool {
    STATUS_HEADING.is_match(body.trim())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn globs_become_prefixes_and_an_issue_pattern() {
        let m = ManagedBranches::from_globs("agent/acp/* codex/* openclaw/*", "acp");
        assert_eq!(m.prefixes, ["agent/acp/", "codex/", "openclaw/"]);
        assert!(m.is_agent_branch("codex/issue-5"));
        assert!(!m.is_agent_branch("feature/x"));
        assert_eq!(m.branch_issue("agent/acp/issue-601-fix"), Some(601));
        assert_eq!(m.branch_issue("codex/issue-501"), Some(501));
        assert_eq!(m.branch_issue("codex/issue-501x"), None);
        assert_eq!(m.branch_issue("other/issue-5-a"), None);
    }

    #[test]
    fn globs_are_words_never_file_names() {
        // A glob that would match files in the cwd stays the literal word.
        let m = ManagedBranches::from_globs("* src/*", "acp");
        assert_eq!(m.prefixes, ["src/"]);
        let empty = ManagedBranches::from_globs("", "demo");
        assert!(empty.prefixes.is_empty());
        assert_eq!(empty.branch_issue("agent/demo/issue-9-x"), Some(9));
        // Regex characters in a prefix are literal.
        let dots = ManagedBranches::from_globs("a.b/*", "x");
        assert_eq!(dots.branch_issue("axb/issue-1"), None);
        assert_eq!(dots.branch_issue("a.b/issue-1"), Some(1));
    }

    #[test]
    fn the_body_wins_over_the_branch() {
        let m = ManagedBranches::from_globs("codex/*", "acp");
        assert_eq!(m.linked_issue("Closes #422", "codex/issue-9"), Some(422));
        assert_eq!(m.linked_issue("fixed #3 and fixes #4", ""), Some(3));
        assert_eq!(m.linked_issue("see #5", "codex/issue-9-a"), Some(9));
        assert_eq!(m.linked_issue("prefixes #5", "main"), None);
    }

    #[test]
    fn status_comments_and_handoff_make_a_pr_managed() {
        let m = ManagedBranches::from_globs("codex/*", "acp");
        let none: [&str; 0] = [];
        assert!(!m.is_managed("feature/x", &[], none.into_iter()));
        assert!(m.is_managed("feature/x", &["agent-handoff".into()], none.into_iter()));
        assert!(m.is_managed("f", &[], ["  ## PR repair summary\nok"].into_iter()));
        assert!(!m.is_managed("f", &[], ["text ## PR repair summary"].into_iter()));
    }
}
