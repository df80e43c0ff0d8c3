//! One pass of `agent-project-heartbeat-loop` (spec 1.3-1.6): gather the
//! world through the hooks, the state files and the [`SessionHost`],
//! reconcile finished workers, sync labels of idle ones, plan
//! ([`crate::plan::plan`]), carry the plan out, print its lines.
//!
//! Output lines are exactly the original's (spec 1.6) plus, with
//! `--dry-run`, the plan's decisions instead of any effect.

mod cancel;
mod exec;
mod gather;
pub mod journal;
mod report;
pub mod state;

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;

use crate::bash_hooks::BashHooks;
use crate::hooks::{HeartbeatHooks, HookContext};
use crate::host::{LocalTmux, SessionHost};
use crate::plan::Limits;

/// The pass's flags (spec 3.1) and where it runs.
#[derive(Debug, Clone, Default)]
pub struct PassArgs {
    pub repo_slug: String,
    pub runs_root: PathBuf,
    pub state_root: PathBuf,
    pub memory_dir: Option<PathBuf>,
    pub issue_prefix: String,
    pub pr_prefix: String,
    pub hook_file: PathBuf,
    pub limits: Limits,
    pub heavy_running_label: String,
    pub heavy_deferred_key: String,
    pub heavy_deferred_message: String,
    /// Print the plan, change nothing.
    pub dry_run: bool,
    /// With `dry_run`: the plan as one JSON document.
    pub json: bool,
    /// `SHARED_AGENT_HOME`: where the helper tools are found.
    pub shared_home: PathBuf,
    pub env: acp_core::Env,
    pub cwd: PathBuf,
    pub exe: PathBuf,
}

impl PassArgs {
    fn hook_context(&self) -> HookContext {
        HookContext {
            repo_slug: self.repo_slug.clone(),
            runs_root: self.runs_root.clone(),
            state_root: self.state_root.clone(),
            issue_prefix: self.issue_prefix.clone(),
            pr_prefix: self.pr_prefix.clone(),
            hook_file: self.hook_file.clone(),
            memory_dir: self.memory_dir.clone(),
            env: self.env.clone(),
            cwd: self.cwd.clone(),
            exe: self.exe.clone(),
        }
    }

    fn pending_dir(&self) -> PathBuf {
        self.state_root.join("pending-launches")
    }

    fn tool(&self, name: &str) -> PathBuf {
        self.shared_home.join("tools/bin").join(name)
    }

    /// The resident library the original sources after the hook file.
    fn resident_lib(&self) -> PathBuf {
        self.shared_home
            .join("skills/openclaw/agent-control-plane/tools/bin/flow-resident-worker-lib.sh")
    }
}

/// Loads the policy: ours when `policy::load` recognises the hook file,
/// else the file through bash (then the resident reaper when defined).
fn load_hooks(args: &PassArgs) -> Result<Box<dyn HeartbeatHooks>> {
    let ctx = args.hook_context();
    if let Some(policy) = crate::policy::load(&ctx)? {
        if !args.dry_run {
            acp_session::resident::controller::reap_stale_state(&args.state_root)?;
        }
        return Ok(policy);
    }
    let lib = args.resident_lib();
    let extra = lib.is_file().then_some(lib.as_path());
    let mut bash = BashHooks::load(&ctx, extra, &args.shared_home)?;
    if !args.dry_run {
        // A hook file (or the resident library beside it) that defines the
        // reaper is obeyed, as the original did; otherwise ours reaps.
        if bash.defines(crate::bash_hooks::RESIDENT_REAPER) {
            bash.reap_stale_resident()?;
        } else {
            acp_session::resident::controller::reap_stale_state(&args.state_root)?;
        }
    }
    Ok(Box::new(bash))
}

/// Creates the directories of spec 1.3 step 0 and today's memory file.
fn setup(args: &PassArgs) -> Result<Option<PathBuf>> {
    use acp_core::fsx::create_dir_all;
    if args.dry_run {
        return Ok(None);
    }
    create_dir_all(&args.runs_root)?;
    for sub in [
        "recurring",
        "scheduled-issues",
        "blocked-recovery-issues",
        "pending-launches",
        "pr-risk-cache",
    ] {
        create_dir_all(&args.state_root.join(sub))?;
    }
    let Some(dir) = &args.memory_dir else {
        return Ok(None);
    };
    create_dir_all(dir)?;
    let file = dir.join(format!(
        "{}.md",
        acp_core::time::now_local("%Y-%m-%d", None)
    ));
    acp_core::fsx::append(&file, b"")?;
    Ok(Some(file))
}

/// Runs one pass, printing to `out`; the exit code (1 when a launch failed).
pub fn run(args: &PassArgs, out: &mut dyn Write) -> Result<i32> {
    if !args.hook_file.is_file() {
        return Err(acp_core::fail(
            1,
            format!("missing hook file: {}", args.hook_file.display()),
        ));
    }
    let memory = setup(args)?;
    let mut hooks = load_hooks(args)?;
    let mut host = LocalTmux::new(&args.env);
    let result = run_with(args, hooks.as_mut(), &mut host, memory, out);
    if !args.dry_run {
        let _ = hooks.invalidate_snapshot_cache();
    }
    result
}

/// One pass over given hooks and host.
pub fn run_with(
    args: &PassArgs,
    hooks: &mut dyn HeartbeatHooks,
    host: &mut dyn SessionHost,
    memory: Option<PathBuf>,
    out: &mut dyn Write,
) -> Result<i32> {
    let mut p = exec::Pass::new(args, hooks, host, memory, out);
    p.reconcile_phase()?;
    p.sync_issues_phase()?;
    p.sync_prs_phase()?;
    p.phase("snapshot-running-counts:start")?;
    let world = gather::world(&mut p)?;
    p.phase("snapshot-running-counts:end")?;
    let plan = crate::plan::plan(&world);
    if args.dry_run && args.json {
        return report::json(&mut p, &plan);
    }
    p.execute(&plan)?;
    p.phase("post-launch-summary:start")?;
    p.phase("post-launch-summary:end")?;
    report::summary(&mut p, &plan)?;
    Ok(if p.launch_failed { 1 } else { 0 })
}
