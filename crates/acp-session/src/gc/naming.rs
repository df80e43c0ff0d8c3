//! The profile's naming of sessions and branches, and which session a
//! worktree belongs to.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use acp_core::Env;
use acp_core::config::{self, FlowConfig};

/// Prefixes and globs of one profile (env beats YAML beats the default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Naming {
    pub adapter_id: String,
    pub issue_session_prefix: String,
    pub pr_session_prefix: String,
    /// `session_naming.issue_branch_prefix` (default `agent/<id>/issue`).
    pub issue_branch_prefix: String,
    /// `session_naming.pr_worktree_branch_prefix` (default `agent/<id>/pr`).
    pub pr_worktree_branch_prefix: String,
    /// `session_naming.managed_pr_branch_globs`, split on whitespace
    /// (default `agent/<id>/* codex/* openclaw/*`).
    pub managed_globs: Vec<String>,
}

impl Naming {
    /// The naming of the profile `cfg` under `env`.
    pub fn resolve(env: &Env, cfg: &FlowConfig) -> Self {
        let id = config::adapter_id(env, cfg);
        let pick = |keys: &[&str], key: &str, default: String| {
            config::env_or_config_with(env, cfg, keys, key, || default)
        };
        Self {
            issue_session_prefix: config::issue_session_prefix(env, cfg),
            pr_session_prefix: config::pr_session_prefix(env, cfg),
            issue_branch_prefix: pick(
                &["ACP_ISSUE_BRANCH_PREFIX", "F_LOSNING_ISSUE_BRANCH_PREFIX"],
                "session_naming.issue_branch_prefix",
                format!("agent/{id}/issue"),
            ),
            pr_worktree_branch_prefix: pick(
                &[
                    "ACP_PR_WORKTREE_BRANCH_PREFIX",
                    "F_LOSNING_PR_WORKTREE_BRANCH_PREFIX",
                ],
                "session_naming.pr_worktree_branch_prefix",
                format!("agent/{id}/pr"),
            ),
            managed_globs: pick(
                &[
                    "ACP_MANAGED_PR_BRANCH_GLOBS",
                    "F_LOSNING_MANAGED_PR_BRANCH_GLOBS",
                ],
                "session_naming.managed_pr_branch_globs",
                format!("agent/{id}/* codex/* openclaw/*"),
            )
            .split_whitespace()
            .map(str::to_string)
            .collect(),
            adapter_id: id,
        }
    }

    /// Whether `branch` matches one of the managed globs (shell `case` rules).
    pub fn branch_is_managed(&self, branch: &str) -> bool {
        self.managed_globs.iter().any(|g| glob_match(g, branch))
    }

    /// Whether `branch` is an issue branch (`<issue prefix>-...`).
    pub fn is_issue_branch(&self, branch: &str) -> bool {
        branch
            .strip_prefix(self.issue_branch_prefix.as_str())
            .is_some_and(|rest| rest.starts_with('-'))
    }

    /// The session owning an agent worktree: from its directory name
    /// (`pr-<n>-…`, `issue-<n>-…`), else from its branch
    /// (`<pr prefix>-<n>-…`, `<issue prefix>-<n>-…`).
    pub fn session_for(&self, path: &Path, branch_ref: Option<&str>) -> Option<String> {
        let base = base_name(path);
        if let Some(n) = numbered(&base, "pr-") {
            return Some(format!("{}{n}", self.pr_session_prefix));
        }
        if let Some(n) = numbered(&base, "issue-") {
            return Some(format!("{}{n}", self.issue_session_prefix));
        }
        let branch = branch_ref?.strip_prefix("refs/heads/")?;
        let pr = format!("{}-", self.pr_worktree_branch_prefix);
        if let Some(n) = numbered(branch, &pr) {
            return Some(format!("{}{n}", self.pr_session_prefix));
        }
        let issue = format!("{}-", self.issue_branch_prefix);
        numbered(branch, &issue).map(|n| format!("{}{n}", self.issue_session_prefix))
    }

    /// [`Self::session_for`] with the retained checkout's legacy names
    /// first: `<id>-pr-<n>` and `<id>-issue-<n>` (whole names).
    pub fn retained_session_for(&self, path: &Path, branch_ref: Option<&str>) -> Option<String> {
        let base = base_name(path);
        let whole = |kind: &str| {
            let rest = base.strip_prefix(&format!("{}-{kind}-", self.adapter_id))?;
            (!rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit())).then(|| rest.to_string())
        };
        if let Some(n) = whole("pr") {
            return Some(format!("{}{n}", self.pr_session_prefix));
        }
        if let Some(n) = whole("issue") {
            return Some(format!("{}{n}", self.issue_session_prefix));
        }
        self.session_for(path, branch_ref)
    }

    /// `issue-<n>` or `pr-<n>`: the pending-launch key of a session.
    pub fn launch_key(&self, session: &str) -> Option<String> {
        if let Some(n) = session.strip_prefix(self.issue_session_prefix.as_str()) {
            return Some(format!("issue-{n}"));
        }
        session
            .strip_prefix(self.pr_session_prefix.as_str())
            .map(|n| format!("pr-{n}"))
    }

    /// `issue`, `pr` or `generic`: the cleanup mode of a session name.
    pub fn mode_of(&self, session: &str) -> &'static str {
        if session.starts_with(self.issue_session_prefix.as_str()) {
            "issue"
        } else if session.starts_with(self.pr_session_prefix.as_str()) {
            "pr"
        } else {
            "generic"
        }
    }
}

/// The last component of `path` (lossy), "" for none.
fn base_name(path: &Path) -> String {
    path.file_name()
        .map(|n| String::from_utf8_lossy(n.as_bytes()).into_owned())
        .unwrap_or_default()
}

/// `<prefix><digits>-…` → the digits.
fn numbered<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = text.strip_prefix(prefix)?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    (digits > 0 && rest.as_bytes().get(digits) == Some(&b'-')).then(|| &rest[..digits])
}

/// A shell `case` pattern: `*`, `?`, `[...]` (with `!`/`^` negation and
/// ranges), `\` escapes; everything else literal.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    glob_at(&p, &t)
}

fn glob_at(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') => (0..=t.len()).any(|i| glob_at(&p[1..], &t[i..])),
        Some('?') => !t.is_empty() && glob_at(&p[1..], &t[1..]),
        Some('[') => match (class_end(p), t.first()) {
            (Some(end), Some(c)) => class_has(&p[1..end], *c) && glob_at(&p[end + 1..], &t[1..]),
            (Some(_), None) => false,
            (None, _) => t.first() == Some(&'[') && glob_at(&p[1..], &t[1..]),
        },
        Some('\\') if p.len() > 1 => t.first() == Some(&p[1]) && glob_at(&p[2..], &t[1..]),
        Some(c) => t.first() == Some(c) && glob_at(&p[1..], &t[1..]),
    }
}

/// The index of the `]` closing the class that starts at `p[0]`.
fn class_end(p: &[char]) -> Option<usize> {
    let mut i = 1;
    if matches!(p.get(i), Some('!' | '^')) {
        i += 1;
    }
    if p.get(i) == Some(&']') {
        i += 1;
    }
    (i..p.len()).find(|&j| p[j] == ']')
}

fn class_has(class: &[char], c: char) -> bool {
    let (negate, body) = match class.first() {
        Some('!' | '^') => (true, &class[1..]),
        _ => (false, class),
    };
    let mut hit = false;
    let mut i = 0;
    while i < body.len() {
        if i + 2 < body.len() && body[i + 1] == '-' {
            hit |= body[i] <= c && c <= body[i + 2];
            i += 3;
        } else {
            hit |= body[i] == c;
            i += 1;
        }
    }
    hit != negate
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn naming() -> Naming {
        let mut env = Env::new();
        env.set("HOME", "/nonexistent");
        env.set("ACP_PROFILE_REGISTRY_ROOT", "/nonexistent");
        env.set("ACP_PROJECT_ID", "alpha");
        Naming::resolve(&env, &FlowConfig::empty(Path::new("/x/control-plane.yaml")))
    }

    #[test]
    fn defaults_follow_the_profile_id() {
        let n = naming();
        assert_eq!(n.issue_branch_prefix, "agent/alpha/issue");
        assert_eq!(n.pr_worktree_branch_prefix, "agent/alpha/pr");
        assert_eq!(n.managed_globs, ["agent/alpha/*", "codex/*", "openclaw/*"]);
        assert!(n.branch_is_managed("agent/alpha/issue-1-x"));
        assert!(!n.branch_is_managed("feature/x"));
        assert!(n.is_issue_branch("agent/alpha/issue-3-x"));
        assert!(!n.is_issue_branch("agent/alpha/issuex"));
    }

    #[test]
    fn sessions_from_names_then_branches() {
        let n = naming();
        let s = |p: &str, b: Option<&str>| n.session_for(Path::new(p), b);
        assert_eq!(s("/w/pr-12-20260101", None).as_deref(), Some("alpha-pr-12"));
        assert_eq!(s("/w/issue-7-x", None).as_deref(), Some("alpha-issue-7"));
        assert_eq!(s("/w/issue-7", None), None);
        assert_eq!(
            s("/w/other", Some("refs/heads/agent/alpha/issue-9-slug")).as_deref(),
            Some("alpha-issue-9")
        );
        assert_eq!(
            s("/w/other", Some("refs/heads/agent/alpha/pr-4-1")).as_deref(),
            Some("alpha-pr-4")
        );
        assert_eq!(s("/w/other", Some("refs/heads/main")), None);
        let r = |p: &str| n.retained_session_for(Path::new(p), None);
        assert_eq!(r("/x/alpha-pr-5").as_deref(), Some("alpha-pr-5"));
        assert_eq!(r("/x/alpha-issue-6").as_deref(), Some("alpha-issue-6"));
        assert_eq!(r("/x/alpha-issue-6x"), None);
        assert_eq!(n.launch_key("alpha-issue-6").as_deref(), Some("issue-6"));
        assert_eq!(n.launch_key("alpha-pr-6").as_deref(), Some("pr-6"));
        assert_eq!(n.launch_key("other"), None);
        assert_eq!(n.mode_of("alpha-pr-6"), "pr");
        assert_eq!(n.mode_of("x"), "generic");
    }

    #[test]
    fn shell_globs() {
        assert!(glob_match("codex/*", "codex/a/b"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "ac"));
        assert!(glob_match("[a-c]x", "bx"));
        assert!(!glob_match("[!a-c]x", "bx"));
        assert!(glob_match("[]]", "]"));
        assert!(glob_match("\\*", "*"));
        assert!(!glob_match("\\*", "a"));
        assert!(glob_match("[", "["));
        assert!(glob_match("*", ""));
    }
}
