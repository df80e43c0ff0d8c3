//! The heartbeat hook ABI (spec 3.1 "Hook ABI", 3.38): every question the
//! pass asks its policy and every effect it asks the policy to make.
//!
//! Two implementations: [`crate::policy`] (the shipped policy, in Rust,
//! used when the hook file is our unchanged `hooks/heartbeat-hooks.sh`) and
//! [`crate::bash_hooks`] (any other hook file: a user's edited copy or a
//! test's fake, sourced by bash and called function by function).
//! Optional hooks a bash file does not define answer like the original's
//! defaults (empty lists, `no`, no-op).

use anyhow::Result;

/// What one effect hook did: its exit status and its stdout+stderr, which
/// the pass prints under the block's header line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HookRun {
    pub status: i32,
    pub output: String,
}

impl HookRun {
    pub fn ok(output: impl Into<String>) -> HookRun {
        HookRun {
            status: 0,
            output: output.into(),
        }
    }

    pub fn failed(status: i32, output: impl Into<String>) -> HookRun {
        HookRun {
            status,
            output: output.into(),
        }
    }

    pub fn succeeded(&self) -> bool {
        self.status == 0
    }
}

/// The heartbeat policy. Ids are the decimal issue/PR numbers as text
/// (the ABI passes words, and a hook may answer anything).
pub trait HeartbeatHooks {
    // --- lists (required: ready issues, open agent PRs) ---
    fn list_ready_issue_ids(&mut self) -> Result<Vec<String>>;
    fn list_open_agent_pr_ids(&mut self) -> Result<Vec<String>>;
    fn list_running_issue_ids(&mut self) -> Result<Vec<String>>;
    fn list_blocked_recovery_issue_ids(&mut self) -> Result<Vec<String>>;
    fn list_exclusive_issue_ids(&mut self) -> Result<Vec<String>>;
    fn list_exclusive_pr_ids(&mut self) -> Result<Vec<String>>;

    // --- attributes ---
    fn issue_is_heavy(&mut self, id: &str) -> Result<bool>;
    fn issue_is_recurring(&mut self, id: &str) -> Result<bool>;
    fn issue_is_scheduled(&mut self, id: &str) -> Result<bool>;
    /// 0 when the issue has no schedule.
    fn issue_schedule_interval_seconds(&mut self, id: &str) -> Result<u64>;
    fn issue_is_exclusive(&mut self, id: &str) -> Result<bool>;
    fn pr_is_exclusive(&mut self, pr: &str) -> Result<bool>;
    /// The PR classifier's JSON (`.number`, `.agentLane`, ...).
    fn pr_risk_json(&mut self, pr: &str) -> Result<serde_json::Value>;

    // --- label effects ---
    fn sync_pr_labels(&mut self, pr: &str) -> Result<HookRun>;
    fn sync_issue_labels(&mut self, id: &str) -> Result<HookRun>;
    fn mark_issue_running(&mut self, id: &str, heavy: bool) -> Result<HookRun>;
    fn issue_launch_failed(&mut self, id: &str, heavy: bool) -> Result<HookRun>;
    fn mark_pr_running(&mut self, pr: &str) -> Result<HookRun>;
    fn clear_pr_running(&mut self, pr: &str) -> Result<HookRun>;

    // --- launches and reconciles ---
    fn start_issue_worker(&mut self, id: &str) -> Result<HookRun>;
    fn start_pr_review_worker(&mut self, pr: &str) -> Result<HookRun>;
    fn start_pr_fix_worker(&mut self, pr: &str) -> Result<HookRun>;
    fn start_pr_merge_repair_worker(&mut self, pr: &str) -> Result<HookRun>;
    fn start_pr_ci_refresh(&mut self, pr: &str) -> Result<HookRun>;
    fn reconcile_issue(&mut self, session: &str) -> Result<HookRun>;
    fn reconcile_pr(&mut self, session: &str) -> Result<HookRun>;

    /// Forget cached GitHub reads (after effects that change them).
    fn invalidate_snapshot_cache(&mut self) -> Result<()>;
}

/// What a hook implementation is loaded with: the pass's flags and the
/// environment it runs in.
#[derive(Debug, Clone, Default)]
pub struct HookContext {
    pub repo_slug: String,
    pub runs_root: std::path::PathBuf,
    pub state_root: std::path::PathBuf,
    pub issue_prefix: String,
    pub pr_prefix: String,
    /// The `--hook-file` given to the pass.
    pub hook_file: std::path::PathBuf,
    pub memory_dir: Option<std::path::PathBuf>,
    pub env: acp_core::Env,
    /// The working directory of the pass.
    pub cwd: std::path::PathBuf,
    /// The running multicall binary (to run sibling tools).
    pub exe: std::path::PathBuf,
}
