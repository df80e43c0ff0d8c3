//! The `ACP_*` / `F_LOSNING_*` twin variables: whichever side is set fills
//! the other (`flow_export_project_env_aliases`).

use crate::Env;

/// Suffixes shared by an `ACP_<X>` and an `F_LOSNING_<X>` variable. The root
/// pair is special (`ACP_ROOT` / `F_LOSNING_FLOW_ROOT`) and handled apart.
pub const ALIAS_SUFFIXES: &[&str] = &[
    "REPO_SLUG",
    "REPO_ID",
    "GITHUB_REPOSITORY_ID",
    "REPO_ROOT",
    "AGENT_ROOT",
    "AGENT_REPO_ROOT",
    "WORKTREE_ROOT",
    "RUNS_ROOT",
    "STATE_ROOT",
    "HISTORY_ROOT",
    "MEMORY_DIR",
    "RETAINED_REPO_ROOT",
    "VSCODE_WORKSPACE_FILE",
    "CODEX_PROFILE_SAFE",
    "CODEX_PROFILE_BYPASS",
    "CLAUDE_MODEL",
    "CLAUDE_PERMISSION_MODE",
    "CLAUDE_EFFORT",
    "CLAUDE_TIMEOUT_SECONDS",
    "CLAUDE_MAX_ATTEMPTS",
    "CLAUDE_RETRY_BACKOFF_SECONDS",
    "ISSUE_SESSION_PREFIX",
    "PR_SESSION_PREFIX",
    "ISSUE_BRANCH_PREFIX",
    "PR_WORKTREE_BRANCH_PREFIX",
    "MANAGED_PR_BRANCH_GLOBS",
    "OPENCLAW_MODEL",
    "OPENCLAW_THINKING",
    "OPENCLAW_TIMEOUT_SECONDS",
    "OPENCLAW_STALL_SECONDS",
    "ALLOW_INFRA_CI_BYPASS",
    "LOCAL_FIRST_PR_POLICY",
    "PR_RISK_CACHE_TTL_SECONDS",
    "RETRY_COOLDOWNS",
    "WORKTREE_LOCAL_INSTALL",
    "BOOTSTRAP_SCRIPT",
    "FLOW_HEARTBEAT_SCRIPT",
    "TIMEOUT_CHILD_PID_FILE",
    "ISSUE_ID",
    "ISSUE_URL",
    "ISSUE_AUTOMERGE",
    "PR_NUMBER",
    "PR_URL",
    "PR_HEAD_REF",
];

/// The full `(target, source)` table in the order it is applied: first every
/// `F_LOSNING_*` from its `ACP_*` twin (and `F_LOSNING_FLOW_ROOT` from
/// `AGENT_CONTROL_PLANE_ROOT` before `ACP_ROOT`), then every `ACP_*` from its
/// `F_LOSNING_*` twin.
pub fn alias_pairs() -> Vec<(String, String)> {
    let mut pairs = vec![
        (
            "F_LOSNING_FLOW_ROOT".to_string(),
            "AGENT_CONTROL_PLANE_ROOT".to_string(),
        ),
        ("F_LOSNING_FLOW_ROOT".to_string(), "ACP_ROOT".to_string()),
    ];
    pairs.extend(
        ALIAS_SUFFIXES
            .iter()
            .map(|s| (format!("F_LOSNING_{s}"), format!("ACP_{s}"))),
    );
    pairs.push(("ACP_ROOT".to_string(), "F_LOSNING_FLOW_ROOT".to_string()));
    pairs.extend(
        ALIAS_SUFFIXES
            .iter()
            .map(|s| (format!("ACP_{s}"), format!("F_LOSNING_{s}"))),
    );
    pairs
}

/// Applies the alias table to `env`: a target that is unset or empty takes
/// the non-empty value of its source.
pub fn export_env_aliases(env: &mut Env) {
    for (target, source) in alias_pairs() {
        if let Some(value) = env.get_os(&source).filter(|v| !v.is_empty()) {
            let value = value.to_os_string();
            env.set_if_empty(&target, value);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn aliases_fill_the_missing_twin_both_ways() {
        let mut env = Env::new();
        env.set("ACP_REPO_SLUG", "a/b");
        env.set("F_LOSNING_RUNS_ROOT", "/runs");
        env.set("ACP_STATE_ROOT", "/acp-state");
        env.set("F_LOSNING_STATE_ROOT", "/fl-state");
        env.set("ACP_PR_HEAD_REF", "");
        env.set("F_LOSNING_PR_HEAD_REF", "feature");
        env.set("ACP_CODING_WORKER", "codex");
        export_env_aliases(&mut env);
        assert_eq!(env.get("F_LOSNING_REPO_SLUG").as_deref(), Some("a/b"));
        assert_eq!(env.get("ACP_RUNS_ROOT").as_deref(), Some("/runs"));
        assert_eq!(env.get("ACP_STATE_ROOT").as_deref(), Some("/acp-state"));
        assert_eq!(
            env.get("F_LOSNING_STATE_ROOT").as_deref(),
            Some("/fl-state")
        );
        assert_eq!(env.get("ACP_PR_HEAD_REF").as_deref(), Some("feature"));
        assert_eq!(env.get("F_LOSNING_CODING_WORKER"), None, "not mirrored");
    }

    #[test]
    fn root_aliases() {
        let mut env = Env::new();
        env.set("AGENT_CONTROL_PLANE_ROOT", "/a");
        env.set("ACP_ROOT", "/b");
        export_env_aliases(&mut env);
        assert_eq!(env.get("F_LOSNING_FLOW_ROOT").as_deref(), Some("/a"));
        assert_eq!(env.get("ACP_ROOT").as_deref(), Some("/b"));

        let mut env = Env::new();
        env.set("F_LOSNING_FLOW_ROOT", "/f");
        export_env_aliases(&mut env);
        assert_eq!(env.get("ACP_ROOT").as_deref(), Some("/f"));
        assert_eq!(alias_pairs().len(), 2 + 2 * ALIAS_SUFFIXES.len() + 1);
    }
}
