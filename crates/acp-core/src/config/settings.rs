//! Every setting the tools read: env beats YAML beats default.

use std::path::{Path, PathBuf};

use super::file::FlowConfig;
use super::layout::{platform_home, shared_agent_home};
use super::profiles::default_profile_id;
use crate::Env;

/// Default of `execution.retry.cooldowns` and `execution.provider_quota.cooldowns`.
pub const DEFAULT_COOLDOWNS: &str = "300,900,1800,3600";

/// The first non-empty variable of `env_keys`, else the non-empty YAML value
/// at `key`, else `default` (`flow_env_or_config`).
pub fn env_or_config(
    env: &Env,
    cfg: &FlowConfig,
    env_keys: &[&str],
    key: &str,
    default: &str,
) -> String {
    env_or_config_with(env, cfg, env_keys, key, || default.to_string())
}

/// [`env_or_config`] with a default computed only when needed.
pub fn env_or_config_with(
    env: &Env,
    cfg: &FlowConfig,
    env_keys: &[&str],
    key: &str,
    default: impl FnOnce() -> String,
) -> String {
    env.first_non_empty(env_keys)
        .or_else(|| cfg.get(key))
        .unwrap_or_else(default)
}

/// The profile's default branch when one is set: `ACP_DEFAULT_BRANCH` >
/// `F_LOSNING_DEFAULT_BRANCH` > `repo.default_branch` (the original's chain
/// without its `main` fallback; callers decide what stands in for none).
pub fn default_branch_setting(env: &Env, cfg: &FlowConfig) -> Option<String> {
    env.first_non_empty(&["ACP_DEFAULT_BRANCH", "F_LOSNING_DEFAULT_BRANCH"])
        .or_else(|| cfg.get("repo.default_branch"))
        .map(|b| b.trim().to_string())
        .filter(|b| !b.is_empty())
}

/// The profile id in use: `ACP_PROJECT_ID` > `AGENT_PROJECT_ID` > YAML `id`
/// > the default profile id.
pub fn adapter_id(env: &Env, cfg: &FlowConfig) -> String {
    env_or_config_with(
        env,
        cfg,
        &["ACP_PROJECT_ID", "AGENT_PROJECT_ID"],
        "id",
        || default_profile_id(env),
    )
}

/// `<platform home>/projects/<adapter id>`: the fallback agent root, also the
/// base of the repo/worktree/retained/workspace fallbacks.
pub fn default_agent_root(env: &Env, cfg: &FlowConfig) -> PathBuf {
    platform_home(env)
        .join("projects")
        .join(adapter_id(env, cfg))
}

fn path_setting(
    env: &Env,
    cfg: &FlowConfig,
    env_keys: &[&str],
    key: &str,
    default: impl FnOnce() -> PathBuf,
) -> PathBuf {
    env.path_first(env_keys)
        .or_else(|| cfg.get(key).map(PathBuf::from))
        .unwrap_or_else(default)
}

trait PathFirst {
    fn path_first(&self, keys: &[&str]) -> Option<PathBuf>;
}

impl PathFirst for Env {
    fn path_first(&self, keys: &[&str]) -> Option<PathBuf> {
        keys.iter().find_map(|k| self.path(k))
    }
}

/// `ACP_REPO_SLUG` > `F_LOSNING_REPO_SLUG` > `repo.slug` > `example/<id>`.
pub fn repo_slug(env: &Env, cfg: &FlowConfig) -> String {
    env_or_config_with(
        env,
        cfg,
        &["ACP_REPO_SLUG", "F_LOSNING_REPO_SLUG"],
        "repo.slug",
        || format!("example/{}", adapter_id(env, cfg)),
    )
}

/// `ACP_REPO_ID` > `F_LOSNING_REPO_ID` > `ACP_GITHUB_REPOSITORY_ID` >
/// `F_LOSNING_GITHUB_REPOSITORY_ID` > `repo.id` > empty.
pub fn repo_id(env: &Env, cfg: &FlowConfig) -> String {
    env_or_config(
        env,
        cfg,
        &[
            "ACP_REPO_ID",
            "F_LOSNING_REPO_ID",
            "ACP_GITHUB_REPOSITORY_ID",
            "F_LOSNING_GITHUB_REPOSITORY_ID",
        ],
        "repo.id",
        "",
    )
}

/// `ACP_REPO_ROOT` > `F_LOSNING_REPO_ROOT` > `repo.root` > `<default agent root>/repo`.
pub fn repo_root(env: &Env, cfg: &FlowConfig) -> PathBuf {
    path_setting(
        env,
        cfg,
        &["ACP_REPO_ROOT", "F_LOSNING_REPO_ROOT"],
        "repo.root",
        || default_agent_root(env, cfg).join("repo"),
    )
}

/// `ACP_AGENT_ROOT` > `F_LOSNING_AGENT_ROOT` > `runtime.orchestrator_agent_root`
/// > `<platform home>/projects/<id>`.
pub fn agent_root(env: &Env, cfg: &FlowConfig) -> PathBuf {
    path_setting(
        env,
        cfg,
        &["ACP_AGENT_ROOT", "F_LOSNING_AGENT_ROOT"],
        "runtime.orchestrator_agent_root",
        || default_agent_root(env, cfg),
    )
}

/// `ACP_AGENT_REPO_ROOT` > `F_LOSNING_AGENT_REPO_ROOT` > `runtime.agent_repo_root`
/// > the resolved repo root.
pub fn agent_repo_root(env: &Env, cfg: &FlowConfig) -> PathBuf {
    path_setting(
        env,
        cfg,
        &["ACP_AGENT_REPO_ROOT", "F_LOSNING_AGENT_REPO_ROOT"],
        "runtime.agent_repo_root",
        || repo_root(env, cfg),
    )
}

/// `ACP_WORKTREE_ROOT` > `F_LOSNING_WORKTREE_ROOT` > `runtime.worktree_root`
/// > `<default agent root>/worktrees`.
pub fn worktree_root(env: &Env, cfg: &FlowConfig) -> PathBuf {
    path_setting(
        env,
        cfg,
        &["ACP_WORKTREE_ROOT", "F_LOSNING_WORKTREE_ROOT"],
        "runtime.worktree_root",
        || default_agent_root(env, cfg).join("worktrees"),
    )
}

/// runs/state/history: the explicit env root wins; with an agent root set in
/// the env the YAML value is ignored and `<agent root>/<leaf>` is used; else
/// the YAML value, else `<agent root>/<leaf>`.
fn agent_sub_root(env: &Env, cfg: &FlowConfig, what: &str, key: &str, leaf: &str) -> PathBuf {
    let acp = format!("ACP_{what}");
    let fl = format!("F_LOSNING_{what}");
    if let Some(explicit) = env.path_first(&[acp.as_str(), fl.as_str()]) {
        return explicit;
    }
    let default = || agent_root(env, cfg).join(leaf);
    if env
        .path_first(&["ACP_AGENT_ROOT", "F_LOSNING_AGENT_ROOT"])
        .is_some()
    {
        return default();
    }
    cfg.get(key).map(PathBuf::from).unwrap_or_else(default)
}

/// `ACP_RUNS_ROOT` > `F_LOSNING_RUNS_ROOT` > (`<env agent root>/runs` when an
/// agent root is set in the env) > `runtime.runs_root` > `<agent root>/runs`.
pub fn runs_root(env: &Env, cfg: &FlowConfig) -> PathBuf {
    agent_sub_root(env, cfg, "RUNS_ROOT", "runtime.runs_root", "runs")
}

/// Same rules as [`runs_root`] for `state`.
pub fn state_root(env: &Env, cfg: &FlowConfig) -> PathBuf {
    agent_sub_root(env, cfg, "STATE_ROOT", "runtime.state_root", "state")
}

/// Same rules as [`runs_root`] for `history`.
pub fn history_root(env: &Env, cfg: &FlowConfig) -> PathBuf {
    agent_sub_root(env, cfg, "HISTORY_ROOT", "runtime.history_root", "history")
}

/// `ACP_RETAINED_REPO_ROOT` > `F_LOSNING_RETAINED_REPO_ROOT` >
/// `runtime.retained_repo_root` > `<default agent root>/retained`.
pub fn retained_repo_root(env: &Env, cfg: &FlowConfig) -> PathBuf {
    path_setting(
        env,
        cfg,
        &["ACP_RETAINED_REPO_ROOT", "F_LOSNING_RETAINED_REPO_ROOT"],
        "runtime.retained_repo_root",
        || default_agent_root(env, cfg).join("retained"),
    )
}

/// `ACP_VSCODE_WORKSPACE_FILE` > `F_LOSNING_VSCODE_WORKSPACE_FILE` >
/// `runtime.vscode_workspace_file` > `<default agent root>/workspace.code-workspace`.
pub fn vscode_workspace_file(env: &Env, cfg: &FlowConfig) -> PathBuf {
    path_setting(
        env,
        cfg,
        &[
            "ACP_VSCODE_WORKSPACE_FILE",
            "F_LOSNING_VSCODE_WORKSPACE_FILE",
        ],
        "runtime.vscode_workspace_file",
        || default_agent_root(env, cfg).join("workspace.code-workspace"),
    )
}

/// `execution.retry.cooldowns` (default `300,900,1800,3600`).
pub fn retry_cooldowns(env: &Env, cfg: &FlowConfig) -> String {
    env_or_config(
        env,
        cfg,
        &["ACP_RETRY_COOLDOWNS", "F_LOSNING_RETRY_COOLDOWNS"],
        "execution.retry.cooldowns",
        DEFAULT_COOLDOWNS,
    )
}

/// `execution.provider_quota.cooldowns` (default `300,900,1800,3600`).
pub fn provider_quota_cooldowns(env: &Env, cfg: &FlowConfig) -> String {
    env_or_config(
        env,
        cfg,
        &[
            "ACP_PROVIDER_QUOTA_COOLDOWNS",
            "F_LOSNING_PROVIDER_QUOTA_COOLDOWNS",
        ],
        "execution.provider_quota.cooldowns",
        DEFAULT_COOLDOWNS,
    )
}

/// `execution.provider_pool_order` (empty = pools disabled).
pub fn provider_pool_order(env: &Env, cfg: &FlowConfig) -> String {
    env_or_config(
        env,
        cfg,
        &["ACP_PROVIDER_POOL_ORDER", "F_LOSNING_PROVIDER_POOL_ORDER"],
        "execution.provider_pool_order",
        "",
    )
}

/// `session_naming.issue_prefix` (default `<id>-issue-`).
pub fn issue_session_prefix(env: &Env, cfg: &FlowConfig) -> String {
    env_or_config_with(
        env,
        cfg,
        &["ACP_ISSUE_SESSION_PREFIX", "F_LOSNING_ISSUE_SESSION_PREFIX"],
        "session_naming.issue_prefix",
        || format!("{}-issue-", adapter_id(env, cfg)),
    )
}

/// `session_naming.pr_prefix` (default `<id>-pr-`).
pub fn pr_session_prefix(env: &Env, cfg: &FlowConfig) -> String {
    env_or_config_with(
        env,
        cfg,
        &["ACP_PR_SESSION_PREFIX", "F_LOSNING_PR_SESSION_PREFIX"],
        "session_naming.pr_prefix",
        || format!("{}-pr-", adapter_id(env, cfg)),
    )
}

fn shared_home_for_tools(env: &Env, skill_root: &Path) -> PathBuf {
    env.path("SHARED_AGENT_HOME")
        .unwrap_or_else(|| shared_agent_home(env, skill_root))
}

/// The codex-quota tool: `ACP_CODEX_QUOTA_BIN` > `F_LOSNING_CODEX_QUOTA_BIN` >
/// executable `<skill>/tools/bin/codex-quota` > `<shared home>/tools/bin/codex-quota`
/// > `codex-quota` on `PATH` > `<skill>/tools/bin/codex-quota`.
pub fn codex_quota_bin(env: &Env, skill_root: &Path) -> PathBuf {
    if let Some(p) = env.path_first(&["ACP_CODEX_QUOTA_BIN", "F_LOSNING_CODEX_QUOTA_BIN"]) {
        return p;
    }
    let own = skill_root.join("tools/bin/codex-quota");
    let shared = shared_home_for_tools(env, skill_root).join("tools/bin/codex-quota");
    for candidate in [&own, &shared] {
        if crate::fsx::is_executable(candidate) {
            return candidate.clone();
        }
    }
    env.which("codex-quota").unwrap_or(own)
}

/// The codex-quota-manager switch script: `ACP_CODEX_QUOTA_MANAGER_SCRIPT` >
/// `F_LOSNING_CODEX_QUOTA_MANAGER_SCRIPT` > the first executable of
/// `<skill>/tools/vendor/codex-quota-manager/scripts/auto-switch.sh`, the same
/// under the shared home, `<shared home>/skills/openclaw/codex-quota-manager/scripts/auto-switch.sh`
/// > the skill path.
pub fn codex_quota_manager_script(env: &Env, skill_root: &Path) -> PathBuf {
    if let Some(p) = env.path_first(&[
        "ACP_CODEX_QUOTA_MANAGER_SCRIPT",
        "F_LOSNING_CODEX_QUOTA_MANAGER_SCRIPT",
    ]) {
        return p;
    }
    const VENDORED: &str = "tools/vendor/codex-quota-manager/scripts/auto-switch.sh";
    let shared = shared_home_for_tools(env, skill_root);
    let own = skill_root.join(VENDORED);
    let candidates = [
        own.clone(),
        shared.join(VENDORED),
        shared.join("skills/openclaw/codex-quota-manager/scripts/auto-switch.sh"),
    ];
    candidates
        .into_iter()
        .find(|c| crate::fsx::is_executable(c))
        .unwrap_or(own)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> FlowConfig {
        FlowConfig::from_text(Path::new("/cfg/control-plane.yaml"), text).unwrap()
    }

    fn base_env() -> Env {
        let mut env = Env::new();
        env.set("HOME", "/h");
        env.set("ACP_PROFILE_REGISTRY_ROOT", "/nonexistent/registry");
        env
    }

    #[test]
    fn env_beats_yaml_beats_default() {
        let c = cfg("execution:\n  retry:\n    cooldowns: \"60,120\"\n");
        let mut env = base_env();
        assert_eq!(retry_cooldowns(&env, &c), "60,120");
        assert_eq!(provider_quota_cooldowns(&env, &c), DEFAULT_COOLDOWNS);
        env.set("F_LOSNING_RETRY_COOLDOWNS", "1,2");
        assert_eq!(retry_cooldowns(&env, &c), "1,2");
        env.set("ACP_RETRY_COOLDOWNS", "");
        assert_eq!(retry_cooldowns(&env, &c), "1,2", "empty env is absent");
        env.set("ACP_RETRY_COOLDOWNS", "3");
        assert_eq!(retry_cooldowns(&env, &c), "3");
        assert_eq!(env_or_config(&env, &c, &[], "missing", "d"), "d");
    }

    #[test]
    fn adapter_id_and_defaults() {
        let empty = FlowConfig::empty(Path::new("/x/control-plane.yaml"));
        let mut env = base_env();
        assert_eq!(adapter_id(&env, &empty), "default");
        let c = cfg("id: alpha\n");
        assert_eq!(adapter_id(&env, &c), "alpha");
        assert_eq!(repo_slug(&env, &c), "example/alpha");
        assert_eq!(issue_session_prefix(&env, &c), "alpha-issue-");
        assert_eq!(pr_session_prefix(&env, &c), "alpha-pr-");
        assert_eq!(
            agent_root(&env, &c),
            PathBuf::from("/h/.agent-runtime/projects/alpha")
        );
        assert_eq!(
            repo_root(&env, &c),
            PathBuf::from("/h/.agent-runtime/projects/alpha/repo")
        );
        assert_eq!(agent_repo_root(&env, &c), repo_root(&env, &c));
        assert_eq!(
            worktree_root(&env, &c),
            PathBuf::from("/h/.agent-runtime/projects/alpha/worktrees")
        );
        assert_eq!(
            retained_repo_root(&env, &c),
            PathBuf::from("/h/.agent-runtime/projects/alpha/retained")
        );
        assert_eq!(
            vscode_workspace_file(&env, &c),
            PathBuf::from("/h/.agent-runtime/projects/alpha/workspace.code-workspace")
        );
        env.set("AGENT_PROJECT_ID", "beta");
        assert_eq!(adapter_id(&env, &c), "beta");
    }

    #[test]
    fn runs_state_history_rules() {
        let c = cfg(
            "id: a\nruntime:\n  orchestrator_agent_root: /yaml/agent\n  runs_root: /yaml/runs\n  state_root: /yaml/state\n",
        );
        let mut env = base_env();
        assert_eq!(runs_root(&env, &c), PathBuf::from("/yaml/runs"));
        assert_eq!(state_root(&env, &c), PathBuf::from("/yaml/state"));
        assert_eq!(history_root(&env, &c), PathBuf::from("/yaml/agent/history"));
        env.set("F_LOSNING_AGENT_ROOT", "/env/agent");
        assert_eq!(runs_root(&env, &c), PathBuf::from("/env/agent/runs"));
        assert_eq!(state_root(&env, &c), PathBuf::from("/env/agent/state"));
        env.set("ACP_STATE_ROOT", "/env/state");
        assert_eq!(state_root(&env, &c), PathBuf::from("/env/state"));
        assert_eq!(
            worktree_root(&env, &c),
            PathBuf::from("/h/.agent-runtime/projects/a/worktrees"),
            "fallbacks use the default agent root, as the original did"
        );
    }

    #[test]
    fn codex_quota_resolution() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        let skill = t.path().join("skill");
        std::fs::create_dir_all(skill.join("tools/bin")).unwrap();
        let mut env = base_env();
        env.set("PATH", t.path().join("path-bin"));
        env.set("SHARED_AGENT_HOME", t.path().join("shared"));
        assert_eq!(
            codex_quota_bin(&env, &skill),
            skill.join("tools/bin/codex-quota")
        );

        let on_path = t.path().join("path-bin/codex-quota");
        std::fs::create_dir_all(on_path.parent().unwrap()).unwrap();
        std::fs::write(&on_path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&on_path, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(codex_quota_bin(&env, &skill), on_path);

        let shared_bin = t.path().join("shared/tools/bin/codex-quota");
        std::fs::create_dir_all(shared_bin.parent().unwrap()).unwrap();
        std::fs::write(&shared_bin, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&shared_bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(codex_quota_bin(&env, &skill), shared_bin);

        env.set("F_LOSNING_CODEX_QUOTA_BIN", "/explicit/cq");
        assert_eq!(codex_quota_bin(&env, &skill), PathBuf::from("/explicit/cq"));

        let vendored = "tools/vendor/codex-quota-manager/scripts/auto-switch.sh";
        assert_eq!(
            codex_quota_manager_script(&env, &skill),
            skill.join(vendored)
        );
        let shared_skill = t
            .path()
            .join("shared/skills/openclaw/codex-quota-manager/scripts/auto-switch.sh");
        std::fs::create_dir_all(shared_skill.parent().unwrap()).unwrap();
        std::fs::write(&shared_skill, "#!/bin/sh\n").unwrap();
        assert_eq!(
            codex_quota_manager_script(&env, &skill),
            skill.join(vendored),
            "not executable"
        );
        std::fs::set_permissions(&shared_skill, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(codex_quota_manager_script(&env, &skill), shared_skill);
        env.set("ACP_CODEX_QUOTA_MANAGER_SCRIPT", "/explicit/as.sh");
        assert_eq!(
            codex_quota_manager_script(&env, &skill),
            PathBuf::from("/explicit/as.sh")
        );
    }
}
