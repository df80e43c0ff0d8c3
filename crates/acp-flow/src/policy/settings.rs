//! What the policy is configured with: the profile's values (env beats
//! `control-plane.yaml` beats the default, as everywhere), the package's
//! tool directories, and the label names.

use std::path::{Path, PathBuf};

use acp_core::Env;
use acp_core::config::{self, FlowConfig};
use anyhow::Result;
use regex::Regex;

use super::select::{AgentPrRules, issue_branch_pattern};

/// The resolved settings of one policy.
#[derive(Debug, Clone)]
pub struct Settings {
    pub repo: String,
    pub profile_id: String,
    pub config_yaml: PathBuf,
    /// `<package>/tools/bin`: detached launch, start scripts, retry state,
    /// reconcile wrappers, label updates.
    pub tools_dir: PathBuf,
    /// `<package>/bin`: `pr-risk.sh`, `sync-pr-labels.sh`,
    /// `issue-resource-class.sh`.
    pub adapter_bin_dir: PathBuf,
    pub state_root: PathBuf,
    pub agent_repo_root: PathBuf,
    pub default_branch: String,
    /// `ACP_PENDING_LAUNCH_DIR`, else `<state>/pending-launches`.
    pub pending_dir: PathBuf,
    pub rules: AgentPrRules,
    pub coding_worker: String,
    /// `execution.resident_workers.issue_reuse_enabled` (default on).
    pub resident_enabled: bool,
    /// `queue.require_ready_label` (default off: 0.2.0's pickup, F2).
    pub require_ready_label: bool,
    /// The environment children run with.
    pub env: Env,
    pub cwd: PathBuf,
}

/// The original's truthy words.
pub fn is_truthy(v: &str) -> bool {
    matches!(v, "1" | "true" | "TRUE" | "yes" | "YES" | "on" | "ON")
}

impl Settings {
    /// The settings of the selected profile for the package at
    /// `package_root` (the directory holding `hooks/`, `tools/bin/`, `bin/`).
    pub fn resolve(env: &Env, package_root: &Path, cwd: &Path) -> Result<Settings> {
        let cfg = FlowConfig::load(env)?;
        let mut env = env.clone();
        // The execution settings the start scripts read (coding worker,
        // provider pool), as the original's `flow_export_execution_env`,
        // without its GitHub auth probes (F11).
        config::export_execution_settings(&mut env, &cfg, acp_core::time::now_epoch());
        config::export_env_aliases(&mut env);
        let state_root = config::state_root(&env, &cfg);
        let pending_dir = env
            .path("ACP_PENDING_LAUNCH_DIR")
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| state_root.join("pending-launches"));
        let globs = config::env_or_config_with(
            &env,
            &cfg,
            &[
                "ACP_MANAGED_PR_BRANCH_GLOBS",
                "F_LOSNING_MANAGED_PR_BRANCH_GLOBS",
            ],
            "session_naming.managed_pr_branch_globs",
            || {
                format!(
                    "agent/{}/* codex/* openclaw/*",
                    config::adapter_id(&env, &cfg)
                )
            },
        );
        let prefixes = acp_session::catchup::managed_prefixes(&globs);
        let adapter_id = config::adapter_id(&env, &cfg);
        let pattern = issue_branch_pattern(&prefixes, &adapter_id);
        let rules = AgentPrRules {
            issue_branch: Regex::new(&pattern)?,
            prefixes,
            handoff_label: env.first_or(&["AGENT_PR_HANDOFF_LABEL"], "agent-handoff"),
            exclusive_label: env.first_or(&["AGENT_EXCLUSIVE_LABEL"], "agent-exclusive"),
        };
        let resident = config::env_or_config(
            &env,
            &cfg,
            &[
                "ACP_RESIDENT_ISSUE_WORKERS_ENABLED",
                "F_LOSNING_RESIDENT_ISSUE_WORKERS_ENABLED",
            ],
            "execution.resident_workers.issue_reuse_enabled",
            "1",
        );
        let ready = config::env_or_config(
            &env,
            &cfg,
            &["ACP_QUEUE_REQUIRE_READY_LABEL"],
            "queue.require_ready_label",
            "false",
        );
        Ok(Settings {
            repo: config::repo_slug(&env, &cfg),
            profile_id: adapter_id,
            config_yaml: cfg.path.clone(),
            tools_dir: package_root.join("tools/bin"),
            adapter_bin_dir: package_root.join("bin"),
            agent_repo_root: config::agent_repo_root(&env, &cfg),
            default_branch: config::default_branch_setting(&env, &cfg)
                .unwrap_or_else(|| "main".into()),
            pending_dir,
            state_root,
            rules,
            coding_worker: env.first_or(&["ACP_CODING_WORKER"], "codex"),
            resident_enabled: is_truthy(resident.trim()),
            require_ready_label: is_truthy(ready.trim()),
            env,
            cwd: cwd.to_path_buf(),
        })
    }

    /// The issue-branch pattern as the hook file shows it
    /// (`AGENT_PR_ISSUE_CAPTURE_REGEX`).
    pub fn issue_branch_regex(&self) -> &str {
        self.rules.issue_branch.as_str()
    }

    /// The managed prefixes as a JSON array (`AGENT_PR_PREFIXES_JSON`).
    pub fn prefixes_json(&self) -> String {
        serde_json::to_string(&self.rules.prefixes).unwrap_or_else(|_| "[]".into())
    }

    /// The resident lane key of an issue with this cadence (`0` = none).
    pub fn lane_key(&self, interval_seconds: u64) -> String {
        let (kind, value) = lane_of(interval_seconds);
        acp_session::resident::lane::lane_key(&self.coding_worker, "safe", kind, &value)
    }
}

/// `(kind, value)` of a resident lane: `scheduled`/<seconds> for a cadence,
/// `recurring`/`general` otherwise.
pub fn lane_of(interval_seconds: u64) -> (&'static str, String) {
    if interval_seconds > 0 {
        ("scheduled", interval_seconds.to_string())
    } else {
        ("recurring", "general".to_string())
    }
}

/// The backends resident lanes run on: one list, `acp_session::resident::lane`.
pub use acp_session::resident::lane::backend_supported as resident_backend_supported;
