//! control-plane.yaml and the env-or-config resolution chains of the original
//! `flow-config-lib.sh` / `flow-shell-lib.sh`.
//!
//! Everything works on an explicit [`Env`](crate::Env): nothing here reads or
//! changes the process environment. The YAML file is parsed once per process
//! (see [`FlowConfig`]); every setting follows "first non-empty env variable,
//! else non-empty YAML value, else default".

mod aliases;
pub mod backends;
mod execution;
mod file;
mod github_auth;
mod layout;
mod profiles;
mod settings;
mod yaml;

pub use aliases::{ALIAS_SUFFIXES, alias_pairs, export_env_aliases};
pub use execution::{
    PoolSelection, PoolState, export_execution_env, export_execution_settings, provider_pool_names,
    provider_pool_state, provider_state_file, sanitize_provider_key, select_provider_pool,
};
pub use file::FlowConfig;
pub use github_auth::{export_github_cli_auth_env, git_credential_token};
pub use layout::{
    DEFAULT_SKILL_NAME, TREE_MARKER, canonical_skill_name, compat_skill_alias, is_skill_root,
    platform_home, runtime_canonical_skill_dir, runtime_home, session_wrapper_start,
    shared_agent_home, skill_root,
};
pub use profiles::{
    CONFIG_FILE_NAME, SELECTION_HINT, SelectionMode, config_path, default_profile_id,
    explicit_profile_id, explicit_selection_error, is_valid_profile_id, profile_dir, profile_ids,
    profile_ids_in, profile_installed, profile_notes_path, registry_root, selected_profile_id,
    selection_mode, wrapper_env,
};
pub use settings::{
    DEFAULT_COOLDOWNS, adapter_id, agent_repo_root, agent_root, codex_quota_bin,
    codex_quota_manager_script, default_agent_root, default_branch_setting, env_or_config,
    env_or_config_with, history_root, issue_session_prefix, pr_session_prefix, provider_pool_order,
    provider_quota_cooldowns, repo_id, repo_root, repo_slug, retained_repo_root, retry_cooldowns,
    runs_root, state_root, vscode_workspace_file, worktree_root,
};
pub use yaml::Node as YamlNode;
