//! Everything one pass of `heartbeat-safe-auto.sh` reads from its
//! environment and the selected profile, resolved once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use acp_core::Env;
use acp_core::config::{self, FlowConfig};

use crate::limits;

/// The directories the pass creates and hands on.
#[derive(Debug, Clone)]
pub struct Roots {
    pub agent: PathBuf,
    pub runs: PathBuf,
    pub state: PathBuf,
    pub history: PathBuf,
    pub worktree: PathBuf,
    pub memory: PathBuf,
}

/// How long each child may run.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub heartbeat_loop: Duration,
    pub catchup: Duration,
    pub retained_audit: Duration,
    pub agent_audit: Duration,
    pub runtime_sync: Duration,
}

/// What the codex quota preflight looks at (it runs nothing).
#[derive(Debug, Clone)]
pub struct QuotaPreflight {
    pub autoswitch_enabled: bool,
    pub manager_script: PathBuf,
    pub quota_bin: PathBuf,
}

/// One pass's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The environment every child gets (profile aliases and execution
    /// settings exported).
    pub env: Env,
    pub cwd: PathBuf,
    /// `<package root>/tools/bin`: the loop, catch-ups, preflight.
    pub tools_dir: PathBuf,
    /// The wrapper's own directory: the audits (the original's
    /// `$(dirname $0)/../bin`).
    pub audit_dir: PathBuf,
    pub hook_file: PathBuf,
    pub roots: Roots,
    pub repo_slug: String,
    pub issue_prefix: String,
    pub pr_prefix: String,
    pub limits: limits::Static,
    pub quota: limits::QuotaInputs,
    pub quota_preflight: QuotaPreflight,
    pub timeouts: Timeouts,
    pub retained_audit_enabled: bool,
    pub agent_audit_enabled: bool,
    pub catchup_interval: i64,
    pub allow_infra_ci_bypass: String,
    pub preflight_only: bool,
}

/// Seconds from `ACP_<name>` / `F_LOSNING_<name>` (fractions allowed, as
/// the original's python helper took them), else `default`.
fn seconds(env: &Env, name: &str, default: u64) -> Duration {
    env.acp_or(name, "")
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(Duration::from_secs(default), Duration::from_secs_f64)
}

impl Settings {
    /// Resolves the pass from `env` (already past the profile guard, with
    /// the aliases exported), the package root and the wrapper's own
    /// directory. The profile's execution settings are exported into the
    /// children's environment here.
    pub fn resolve(
        env: &Env,
        cwd: &Path,
        skill_root: &Path,
        script_dir: &Path,
    ) -> anyhow::Result<Settings> {
        let cfg = FlowConfig::load(env)?;
        let mut env = env.clone();
        config::export_execution_env(&mut env, &cfg)?;
        let workspace = env
            .path("AGENT_CONTROL_PLANE_WORKSPACE")
            .unwrap_or_else(|| env.home().join(".agent-runtime/control-plane/workspace"));
        let memory = env
            .first_non_empty(&["ACP_MEMORY_DIR", "F_LOSNING_MEMORY_DIR"])
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace.join("memory"));
        let roots = Roots {
            agent: config::agent_root(&env, &cfg),
            runs: config::runs_root(&env, &cfg),
            state: config::state_root(&env, &cfg),
            history: config::history_root(&env, &cfg),
            worktree: config::worktree_root(&env, &cfg),
            memory,
        };
        let enabled = |name: &str| env.acp_or(name, "1") != "0";
        Ok(Settings {
            cwd: cwd.to_path_buf(),
            tools_dir: skill_root.join("tools/bin"),
            audit_dir: script_dir.to_path_buf(),
            hook_file: skill_root.join("hooks/heartbeat-hooks.sh"),
            repo_slug: config::repo_slug(&env, &cfg),
            issue_prefix: config::issue_session_prefix(&env, &cfg),
            pr_prefix: config::pr_session_prefix(&env, &cfg),
            limits: limits::Static::from_env(&env),
            quota: limits::QuotaInputs::from_env(&env),
            quota_preflight: QuotaPreflight {
                autoswitch_enabled: enabled("CODEX_QUOTA_AUTOSWITCH_ENABLED"),
                manager_script: config::codex_quota_manager_script(&env, skill_root),
                quota_bin: config::codex_quota_bin(&env, skill_root),
            },
            timeouts: Timeouts {
                heartbeat_loop: seconds(&env, "HEARTBEAT_LOOP_TIMEOUT_SECONDS", 720),
                catchup: seconds(&env, "CATCHUP_TIMEOUT_SECONDS", 180),
                retained_audit: seconds(&env, "RETAINED_WORKTREE_AUDIT_TIMEOUT_SECONDS", 30),
                agent_audit: seconds(&env, "AGENT_WORKTREE_AUDIT_TIMEOUT_SECONDS", 45),
                runtime_sync: seconds(&env, "RUNTIME_SYNC_TIMEOUT_SECONDS", 300),
            },
            retained_audit_enabled: enabled("RETAINED_WORKTREE_AUDIT_ENABLED"),
            agent_audit_enabled: enabled("AGENT_WORKTREE_AUDIT_ENABLED"),
            catchup_interval: env
                .acp_or("CATCHUP_INTERVAL_SECONDS", "300")
                .trim()
                .parse()
                .unwrap_or(300),
            allow_infra_ci_bypass: env.acp_or("ALLOW_INFRA_CI_BYPASS", "1"),
            preflight_only: env.acp_or("HEARTBEAT_PREFLIGHT_ONLY", "0") == "1",
            roots,
            env,
        })
    }
}
