//! The profile values the worktree tools read (env beats YAML beats default,
//! as everywhere in `acp_core::config`).

use std::path::PathBuf;

use acp_core::Env;
use acp_core::config::{self, FlowConfig};

/// Where worktrees come from and how they are named, for one profile.
#[derive(Debug, Clone)]
pub struct Profile {
    pub id: String,
    /// The automation ("anchor") checkout worktrees are made from.
    pub agent_repo_root: PathBuf,
    /// `repo.root`: the canonical checkout (dependency baseline lives here).
    pub repo_root: PathBuf,
    pub worktree_root: PathBuf,
    pub retained_repo_root: PathBuf,
    pub vscode_workspace_file: PathBuf,
    pub state_root: PathBuf,
    /// `session_naming.issue_branch_prefix` (default `agent/<id>/issue`).
    pub issue_branch_prefix: String,
    /// `session_naming.pr_worktree_branch_prefix` (default `agent/<id>/pr`).
    pub pr_branch_prefix: String,
    /// `ACP_DEFAULT_BRANCH` > `repo.default_branch`, when set at all.
    pub configured_default_branch: Option<String>,
    /// The profile's own install command (`ACP_WORKTREE_INSTALL_COMMAND` >
    /// `dependencies.install_command`), replacing detection when set.
    pub install_command: Option<String>,
}

/// `session_naming.issue_branch_prefix` (`ACP_ISSUE_BRANCH_PREFIX`).
pub fn issue_branch_prefix(env: &Env, cfg: &FlowConfig) -> String {
    let id = config::adapter_id(env, cfg);
    config::env_or_config(
        env,
        cfg,
        &["ACP_ISSUE_BRANCH_PREFIX", "F_LOSNING_ISSUE_BRANCH_PREFIX"],
        "session_naming.issue_branch_prefix",
        &format!("agent/{id}/issue"),
    )
}

/// `session_naming.pr_worktree_branch_prefix` (`ACP_PR_WORKTREE_BRANCH_PREFIX`).
pub fn pr_branch_prefix(env: &Env, cfg: &FlowConfig) -> String {
    let id = config::adapter_id(env, cfg);
    config::env_or_config(
        env,
        cfg,
        &[
            "ACP_PR_WORKTREE_BRANCH_PREFIX",
            "F_LOSNING_PR_WORKTREE_BRANCH_PREFIX",
        ],
        "session_naming.pr_worktree_branch_prefix",
        &format!("agent/{id}/pr"),
    )
}

pub use acp_core::config::default_branch_setting as configured_default_branch;

/// The profile's install command, when it names one.
pub fn install_command(env: &Env, cfg: &FlowConfig) -> Option<String> {
    env.first_non_empty(&[
        "ACP_WORKTREE_INSTALL_COMMAND",
        "F_LOSNING_WORKTREE_INSTALL_COMMAND",
    ])
    .or_else(|| cfg.get("dependencies.install_command"))
    .filter(|c| !c.trim().is_empty())
}

impl Profile {
    /// Resolves every value of the selected profile.
    pub fn resolve(env: &Env, cfg: &FlowConfig) -> Self {
        Self {
            id: config::adapter_id(env, cfg),
            agent_repo_root: config::agent_repo_root(env, cfg),
            repo_root: config::repo_root(env, cfg),
            worktree_root: config::worktree_root(env, cfg),
            retained_repo_root: config::retained_repo_root(env, cfg),
            vscode_workspace_file: config::vscode_workspace_file(env, cfg),
            state_root: config::state_root(env, cfg),
            issue_branch_prefix: issue_branch_prefix(env, cfg),
            pr_branch_prefix: pr_branch_prefix(env, cfg),
            configured_default_branch: configured_default_branch(env, cfg),
            install_command: install_command(env, cfg),
        }
    }

    /// The branch worktrees start from: the configured one, else the one
    /// `<remote>/HEAD` points at in the anchor, else `main`.
    pub fn default_branch(&self, env: &Env, remote: &str) -> String {
        self.configured_default_branch
            .clone()
            .or_else(|| remote_head_branch(env, &self.agent_repo_root, remote))
            .unwrap_or_else(|| "main".to_string())
    }
}

pub use acp_core::git::remote_head_branch;
