//! The controller itself (`start-resident-issue-loop.sh ISSUE_ID [MODE]`,
//! spec 3.9): its setup, its `controller.env`, the provider bookkeeping and
//! the pending-launch file; the loop is in [`super::cycle`].

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use acp_core::config::{self, FlowConfig};
use acp_core::procid::ProcId;
use acp_core::shellquote::QuoteLocale;
use acp_core::{Env, time};

use super::hooks::{Hooks, hook_file};
use super::settings::Settings;
use super::{CONTROLLER_SCRIPT, PID_START_KEY, controller_file, counts_as_pending};
use crate::resident::lane::{issue_dir, lane_key};

/// Provider variables the controller drops before re-selecting a pool,
/// and that the provider-cooldown check runs without.
pub(super) const PROVIDER_VARS: &[&str] = &[
    "ACP_CODING_WORKER",
    "CODEX_PROFILE_SAFE",
    "CODEX_PROFILE_BYPASS",
    "CLAUDE_MODEL",
    "CLAUDE_PERMISSION_MODE",
    "CLAUDE_EFFORT",
    "CLAUDE_TIMEOUT_SECONDS",
    "CLAUDE_MAX_ATTEMPTS",
    "CLAUDE_RETRY_BACKOFF_SECONDS",
    "OPENCLAW_MODEL",
    "OPENCLAW_THINKING",
    "OPENCLAW_TIMEOUT_SECONDS",
    "OPENCLAW_STALL_SECONDS",
    "ACTIVE_PROVIDER_POOL_NAME",
    "ACTIVE_PROVIDER_BACKEND",
    "ACTIVE_PROVIDER_MODEL",
    "ACTIVE_PROVIDER_KEY",
    "PROVIDER_POOLS_EXHAUSTED",
    "PROVIDER_POOL_SELECTION_REASON",
    "PROVIDER_POOL_NEXT_ATTEMPT_EPOCH",
    "PROVIDER_POOL_NEXT_ATTEMPT_AT",
    "PROVIDER_POOL_LAST_REASON",
];

/// `env` without the provider variables (both families).
pub(super) fn without_provider_vars(env: &Env) -> Env {
    let mut env = env.clone();
    for var in PROVIDER_VARS {
        if *var == "ACP_CODING_WORKER" {
            env.remove(var);
        } else {
            env.remove(&format!("ACP_{var}"));
            env.remove(&format!("F_LOSNING_{var}"));
        }
    }
    env
}

/// Everything the controller is started with.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The profile's environment (aliases and execution settings exported).
    pub env: Env,
    pub cfg: FlowConfig,
    /// The multicall binary (runs a sibling tool that has no file).
    pub exe: PathBuf,
    pub cwd: PathBuf,
    /// `<package root>/tools/bin` (`FLOW_TOOLS_DIR`).
    pub tools_dir: PathBuf,
    pub hook_file: PathBuf,
    pub repo_slug: String,
    pub issue_prefix: String,
    pub state_root: PathBuf,
    /// `ACP_PENDING_LAUNCH_DIR`, else `STATE/pending-launches`.
    pub pending_dir: PathBuf,
    pub issue_id: String,
    pub mode: String,
    pub settings: Settings,
    /// Adopt orphaned descendants and reap them (a real controller process
    /// only: zombies would otherwise count as live workers, F16).
    pub reap_orphans: bool,
}

impl Setup {
    /// The original's start: package root from the script path, the
    /// explicit-profile guard (exit 64), the profile's config, execution
    /// environment and roots.
    pub fn resolve(
        env: &Env,
        script_path: Option<&Path>,
        exe: &Path,
        cwd: &Path,
        issue_id: &str,
        mode: &str,
    ) -> anyhow::Result<Setup> {
        let skill = config::skill_root(env, script_path)?;
        let mut env = config::wrapper_env(env, CONTROLLER_SCRIPT)?;
        let cfg = FlowConfig::load(&env)?;
        config::export_execution_env(&mut env, &cfg)?;
        config::export_env_aliases(&mut env);
        let state_root = config::state_root(&env, &cfg);
        let pending_dir = env
            .first_non_empty(&["ACP_PENDING_LAUNCH_DIR", "F_LOSNING_PENDING_LAUNCH_DIR"])
            .map(PathBuf::from)
            .unwrap_or_else(|| state_root.join("pending-launches"));
        let settings = Settings::resolve(&env, &cfg);
        Ok(Setup {
            repo_slug: config::repo_slug(&env, &cfg),
            issue_prefix: config::issue_session_prefix(&env, &cfg),
            tools_dir: skill.join("tools/bin"),
            hook_file: hook_file(&skill),
            exe: exe.to_path_buf(),
            cwd: cwd.to_path_buf(),
            issue_id: issue_id.to_string(),
            mode: if mode.is_empty() { "safe" } else { mode }.to_string(),
            reap_orphans: false,
            env,
            cfg,
            state_root,
            pending_dir,
            settings,
        })
    }

    /// `bash <tools dir>/<name>` when that file exists (a stub there is what
    /// runs), else this binary running tool `name`; with `env`.
    pub(super) fn tool_command(&self, env: &Env, name: &str) -> Command {
        acp_core::script_or_tool_command(&self.exe, &self.cwd, env, &self.tools_dir, name)
    }
}

/// One provider as the controller records it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Provider {
    pub pool: String,
    pub backend: String,
    pub model: String,
    pub key: String,
}

/// The controller's state (what `controller.env` shows).
pub(super) struct Controller<'w> {
    pub s: Setup,
    pub err: &'w mut dyn Write,
    pub me: ProcId,
    pub hooks: Hooks,
    pub issue_id: String,
    pub session: String,
    pub coding_worker: String,
    pub loop_count: u64,
    pub state: String,
    pub reason: String,
    pub next_wake: Option<(i64, String)>,
    pub idle_wait_started: Option<i64>,
    pub provider_waited: bool,
    pub worker_key: String,
    pub lane_kind: String,
    pub lane_value: String,
    pub active: Provider,
    pub selection_reason: String,
    pub pool_next_epoch: String,
    pub pool_next_at: String,
    pub pool_last_reason: String,
    pub recorded: Provider,
    pub launched: Provider,
    pub from: Provider,
    pub to: Provider,
    pub switch_at: String,
    pub switch_reason: String,
    pub failover_at: String,
    pub switch_count: u64,
    pub failover_count: u64,
    pub wait_count: u64,
    pub wait_total: u64,
    pub last_wait: u64,
    pub wait_started_at: String,
    pub wait_completed_at: String,
    pub scheduled_cycles: u64,
}

impl<'w> Controller<'w> {
    pub fn new(s: Setup, err: &'w mut dyn Write) -> Self {
        let hooks = Hooks {
            file: s.hook_file.clone(),
            timeout: s.settings.hook_timeout,
            cwd: s.cwd.clone(),
            unsourced: Default::default(),
        };
        let issue_id = s.issue_id.clone();
        let session = format!("{}{issue_id}", s.issue_prefix);
        Controller {
            me: ProcId::current(),
            hooks,
            issue_id,
            session,
            coding_worker: String::new(),
            loop_count: 0,
            state: "starting".into(),
            reason: String::new(),
            next_wake: None,
            idle_wait_started: None,
            provider_waited: false,
            worker_key: String::new(),
            lane_kind: String::new(),
            lane_value: String::new(),
            active: Provider::default(),
            selection_reason: String::new(),
            pool_next_epoch: String::new(),
            pool_next_at: String::new(),
            pool_last_reason: String::new(),
            recorded: Provider::default(),
            launched: Provider::default(),
            from: Provider::default(),
            to: Provider::default(),
            switch_at: String::new(),
            switch_reason: String::new(),
            failover_at: String::new(),
            switch_count: 0,
            failover_count: 0,
            wait_count: 0,
            wait_total: 0,
            last_wait: 0,
            wait_started_at: String::new(),
            wait_completed_at: String::new(),
            scheduled_cycles: 0,
            s,
            err,
        }
    }

    pub fn controller_file(&self) -> PathBuf {
        controller_file(&self.s.state_root, &self.issue_id)
    }

    pub fn pending_file(&self, issue_id: &str) -> PathBuf {
        self.s.pending_dir.join(format!("issue-{issue_id}.pid"))
    }

    /// The lane's `metadata.env` (the legacy per-issue one before a lane is known).
    pub fn meta_file(&self) -> PathBuf {
        let key = if self.worker_key.is_empty() {
            &self.issue_id
        } else {
            &self.worker_key
        };
        issue_dir(&self.s.state_root, key).join("metadata.env")
    }

    /// Drops the provider variables, selects the provider again from the
    /// profile (`controller_refresh_execution_context`) and records it.
    pub fn refresh_execution_context(&mut self) {
        let mut env = without_provider_vars(&self.s.env);
        config::export_execution_settings(&mut env, &self.s.cfg, time::now_epoch());
        config::export_env_aliases(&mut env);
        self.coding_worker = env
            .non_empty("ACP_CODING_WORKER")
            .unwrap_or_else(|| "codex".into());
        self.s.env = env;
        self.capture_active_provider();
    }

    fn capture_active_provider(&mut self) {
        let env = &self.s.env;
        let pick = |name: &str| {
            env.first_non_empty(&[&format!("ACP_{name}"), &format!("F_LOSNING_{name}")])
                .unwrap_or_default()
        };
        let backend = env
            .first_non_empty(&[
                "ACP_ACTIVE_PROVIDER_BACKEND",
                "F_LOSNING_ACTIVE_PROVIDER_BACKEND",
            ])
            .unwrap_or_else(|| self.coding_worker.clone());
        let mut model = pick("ACTIVE_PROVIDER_MODEL");
        if model.is_empty() {
            model = match backend.as_str() {
                "openclaw" => pick("OPENCLAW_MODEL"),
                "claude" => pick("CLAUDE_MODEL"),
                "codex" => pick("CODEX_PROFILE_SAFE"),
                "ollama" => pick("OLLAMA_MODEL"),
                "pi" => pick("PI_MODEL"),
                _ => String::new(),
            };
        }
        let mut key = pick("ACTIVE_PROVIDER_KEY");
        if key.is_empty() && !backend.is_empty() && !model.is_empty() {
            key = config::sanitize_provider_key(&format!("{backend}-{model}"));
        }
        self.selection_reason = pick("PROVIDER_POOL_SELECTION_REASON");
        self.pool_next_epoch = pick("PROVIDER_POOL_NEXT_ATTEMPT_EPOCH");
        self.pool_next_at = pick("PROVIDER_POOL_NEXT_ATTEMPT_AT");
        self.pool_last_reason = pick("PROVIDER_POOL_LAST_REASON");
        self.active = Provider {
            pool: pick("ACTIVE_PROVIDER_POOL_NAME"),
            backend,
            model,
            key,
        };
    }

    /// The lane of the current issue (`recurring-general` or
    /// `scheduled-<interval>`) for the current backend and mode.
    pub fn refresh_lane(&mut self, interval: u64) {
        (self.lane_kind, self.lane_value) = if interval > 0 {
            ("scheduled".into(), interval.to_string())
        } else {
            ("recurring".into(), "general".into())
        };
        self.worker_key = lane_key(
            &self.coding_worker,
            &self.s.mode,
            &self.lane_kind,
            &self.lane_value,
        );
    }

    /// Counts a change of provider since the last recorded one
    /// (`controller_track_provider_selection`).
    pub fn track_provider_selection(&mut self, reason: &str) {
        if self.active.key.is_empty() {
            return;
        }
        if self.recorded.key.is_empty() {
            self.recorded = self.active.clone();
            return;
        }
        if self.active.key == self.recorded.key {
            return;
        }
        let now = time::now_utc_iso();
        self.switch_count += 1;
        self.switch_at = now.clone();
        self.switch_reason = reason.to_string();
        self.from = self.recorded.clone();
        self.to = self.active.clone();
        if reason == "provider-failover" {
            self.failover_count += 1;
            self.failover_at = now;
        }
        self.recorded = self.active.clone();
    }

    /// Records the provider a worker was just started with.
    pub fn mark_provider_launched(&mut self) {
        self.launched = self.active.clone();
        if self.recorded.key.is_empty() {
            self.recorded = self.active.clone();
        }
    }

    /// Writes `controller.env` in `state` (`reason` replaces the current
    /// reason when given and not empty) and keeps the pending-launch file
    /// in step: present with this process's identity while the state counts
    /// as pending, absent otherwise and once stopped.
    pub fn write_state(&mut self, state: &str, reason: Option<&str>) -> anyhow::Result<()> {
        self.state = state.to_string();
        if let Some(r) = reason.filter(|r| !r.is_empty()) {
            self.reason = r.to_string();
        }
        let pairs = self.state_pairs();
        let text = acp_core::envfile::format_all(&pairs, QuoteLocale::from_env(&self.s.env));
        acp_core::fsx::atomic_write(&self.controller_file(), &text)?;
        let pending = self.pending_file(&self.issue_id);
        if state != "stopped" && counts_as_pending(state) {
            let line = format!("{}\n", self.me.to_line());
            acp_core::fsx::atomic_write(&pending, line.as_bytes())?;
        } else {
            acp_core::fsx::remove_file_if_exists(&pending)?;
        }
        Ok(())
    }

    fn state_pairs(&self) -> Vec<(String, OsString)> {
        let mut v: Vec<(String, String)> = vec![
            ("ISSUE_ID".into(), self.issue_id.clone()),
            ("SESSION".into(), self.session.clone()),
            ("CONTROLLER_PID".into(), self.me.pid.to_string()),
            (PID_START_KEY.into(), self.me.start.clone()),
            ("CONTROLLER_MODE".into(), self.s.mode.clone()),
            ("CONTROLLER_LOOP_COUNT".into(), self.loop_count.to_string()),
            ("CONTROLLER_STATE".into(), self.state.clone()),
            ("CONTROLLER_REASON".into(), self.reason.clone()),
            ("ACTIVE_RESIDENT_WORKER_KEY".into(), self.worker_key.clone()),
            ("ACTIVE_RESIDENT_LANE_KIND".into(), self.lane_kind.clone()),
            ("ACTIVE_RESIDENT_LANE_VALUE".into(), self.lane_value.clone()),
        ];
        let group = |v: &mut Vec<(String, String)>, prefix: &str, p: &Provider| {
            for (name, value) in [
                ("POOL_NAME", &p.pool),
                ("BACKEND", &p.backend),
                ("MODEL", &p.model),
                ("KEY", &p.key),
            ] {
                v.push((format!("{prefix}_{name}"), value.clone()));
            }
        };
        group(&mut v, "ACTIVE_PROVIDER", &self.active);
        for (k, val) in [
            ("ACTIVE_PROVIDER_SELECTION_REASON", &self.selection_reason),
            ("ACTIVE_PROVIDER_NEXT_ATTEMPT_EPOCH", &self.pool_next_epoch),
            ("ACTIVE_PROVIDER_NEXT_ATTEMPT_AT", &self.pool_next_at),
            ("ACTIVE_PROVIDER_LAST_REASON", &self.pool_last_reason),
        ] {
            v.push((k.into(), val.clone()));
        }
        group(&mut v, "LAST_LAUNCHED_PROVIDER", &self.launched);
        for (k, val) in [
            ("PROVIDER_SWITCH_COUNT", self.switch_count.to_string()),
            ("PROVIDER_FAILOVER_COUNT", self.failover_count.to_string()),
            ("LAST_PROVIDER_SWITCH_AT", self.switch_at.clone()),
            ("LAST_PROVIDER_SWITCH_REASON", self.switch_reason.clone()),
        ] {
            v.push((k.into(), val));
        }
        group(&mut v, "LAST_PROVIDER_FROM", &self.from);
        group(&mut v, "LAST_PROVIDER_TO", &self.to);
        let (wake_epoch, wake_at) = match &self.next_wake {
            Some((e, at)) => (e.to_string(), at.clone()),
            None => (String::new(), String::new()),
        };
        for (k, val) in [
            ("LAST_PROVIDER_FAILOVER_AT", self.failover_at.clone()),
            ("PROVIDER_WAIT_COUNT", self.wait_count.to_string()),
            ("PROVIDER_WAIT_TOTAL_SECONDS", self.wait_total.to_string()),
            ("PROVIDER_LAST_WAIT_SECONDS", self.last_wait.to_string()),
            (
                "PROVIDER_LAST_WAIT_STARTED_AT",
                self.wait_started_at.clone(),
            ),
            (
                "PROVIDER_LAST_WAIT_COMPLETED_AT",
                self.wait_completed_at.clone(),
            ),
            ("NEXT_WAKE_EPOCH", wake_epoch),
            ("NEXT_WAKE_AT", wake_at),
            ("UPDATED_AT", time::now_utc_iso()),
        ] {
            v.push((k.into(), val));
        }
        v.into_iter()
            .map(|(k, val)| (k, OsString::from(val)))
            .collect()
    }

    /// Switches to `next` (`controller_adopt_issue`): the previous issue's
    /// pending file and controller file go, the lane is forgotten.
    pub fn adopt(&mut self, next: &str) -> anyhow::Result<()> {
        if !self.issue_id.is_empty() && self.issue_id != next {
            acp_core::fsx::remove_file_if_exists(&self.pending_file(&self.issue_id.clone()))?;
            acp_core::fsx::remove_file_if_exists(&self.controller_file())?;
        }
        self.issue_id = next.to_string();
        self.session = format!("{}{next}", self.s.issue_prefix);
        self.loop_count = 0;
        self.next_wake = None;
        self.idle_wait_started = None;
        self.scheduled_cycles = 0;
        self.worker_key.clear();
        self.lane_kind.clear();
        self.lane_value.clear();
        Ok(())
    }

    /// Writes `scheduled-issues/<id>.env` with the next due time now +
    /// `interval`, and remembers it as the next wake-up.
    pub fn record_scheduled_next_due(&mut self, interval: u64) -> anyhow::Result<()> {
        let now = time::now_epoch();
        let due = now.saturating_add(i64::try_from(interval).unwrap_or(i64::MAX / 2));
        let due_at = time::epoch_to_utc_iso(due);
        let text = format!(
            "INTERVAL_SECONDS={interval}\nLAST_STARTED_EPOCH={now}\nLAST_STARTED_AT={}\n\
             NEXT_DUE_EPOCH={due}\nNEXT_DUE_AT={due_at}\nUPDATED_AT={}\n",
            time::epoch_to_utc_iso(now),
            time::now_utc_iso()
        );
        let file = self
            .s
            .state_root
            .join("scheduled-issues")
            .join(format!("{}.env", self.issue_id));
        acp_core::fsx::atomic_write(&file, text.as_bytes())?;
        self.next_wake = Some((due, due_at));
        Ok(())
    }

    /// Sleeps `d` in short slices, reaping adopted orphans, and stops with
    /// [`Interrupted`] as soon as a termination signal arrived.
    pub fn nap(&mut self, d: Duration) -> anyhow::Result<()> {
        let end = std::time::Instant::now() + d;
        loop {
            if acp_core::process::termination_signal().is_some() {
                return Err(Interrupted.into());
            }
            if self.s.reap_orphans {
                reap_orphans();
            }
            let now = std::time::Instant::now();
            if now >= end {
                return Ok(());
            }
            std::thread::sleep((end - now).min(Duration::from_millis(50)));
        }
    }
}

/// The controller was asked to stop (TERM, INT or HUP).
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// Makes this process the reaper of its orphaned descendants (Linux), so a
/// worker's exited child becomes no zombie that keeps looking alive.
pub(super) fn become_subreaper() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(PR_SET_CHILD_SUBREAPER, 1) only sets a flag of this
    // process; it reads no memory of ours.
    #[allow(unsafe_code)]
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
}

/// Collects every exited child (never blocks). Only called between runs
/// of child commands, so no status a caller waits for is taken.
fn reap_orphans() {
    loop {
        let mut status = 0;
        // SAFETY: waitpid with WNOHANG writes only to `status`, a local.
        #[allow(unsafe_code)]
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            break;
        }
    }
}

/// Runs the controller to its end; returns the exit code (the exit code
/// of `start-issue-worker.sh` when the lane cannot be resident).
pub fn run(setup: Setup, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<i32> {
    super::cycle::run(setup, out, err)
}
