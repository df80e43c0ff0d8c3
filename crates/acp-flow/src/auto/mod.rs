//! One pass of `heartbeat-safe-auto.sh` (spec 1.2, 3.2): the per-profile
//! wrapper around the heartbeat loop. In order: the codex quota preflight
//! lines, `ensure-runtime-sync.sh`, the pass lock, the recorded loop of an
//! earlier pass, the two worktree audits, the capacity limits, the loop
//! (bounded, its identity recorded), then the catch-up passes at most once
//! per interval.
//!
//! Fixed on purpose (docs/compatibility.md): the lock is a `flock` that a
//! loser cannot release (F3); nothing is found or signalled by process name
//! (F16); the catch-up passes run whatever the loop's status (F22); the
//! children are bounded without a hard-coded python (F5).

pub mod catchup;
pub mod child;
pub mod lock;
pub mod settings;
pub mod shared_loop;

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

pub use settings::Settings;

use crate::limits;

/// Grace between TERM and KILL for the wrapper's children.
const GRACE: Duration = Duration::from_secs(2);

fn stamp() -> String {
    acp_core::time::now_utc_iso()
}

/// Where the pass writes: the wrapper's stdout and stderr.
pub struct Io<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
}

impl Io<'_> {
    fn line(&mut self, text: impl std::fmt::Display) -> anyhow::Result<()> {
        writeln!(self.out, "{text}")?;
        self.out.flush()?;
        Ok(())
    }
}

/// `bash <script>` with the pass's environment and working directory.
fn bash(s: &Settings, script: &Path) -> Command {
    let mut cmd = Command::new("bash");
    cmd.arg(script);
    s.env.apply(&mut cmd);
    cmd.current_dir(&s.cwd);
    cmd
}

/// The exit code a stop request ends the pass with (128 + signal).
fn stop_code() -> Option<i32> {
    acp_core::process::termination_signal().map(|sig| 128 + sig)
}

/// Runs one pass; returns the wrapper's exit code.
pub fn run_pass(s: &Settings, io: &mut Io<'_>) -> anyhow::Result<i32> {
    for dir in [
        &s.roots.agent,
        &s.roots.runs,
        &s.roots.state,
        &s.roots.history,
        &s.roots.worktree,
        &s.roots.memory,
    ] {
        acp_core::fsx::create_dir_all(dir)?;
    }
    if s.preflight_only {
        return preflight_only(s, io);
    }
    quota_preflight(s, io)?;
    ensure_runtime_sync(s, io)?;
    let _lock = match lock::acquire(&s.roots.state)? {
        lock::Acquired::Held(l) => l,
        lock::Acquired::Busy { holder_pid } => {
            io.line("HEARTBEAT_SKIPPED=lock-held")?;
            io.line(format_args!("LOCK_PID={holder_pid}"))?;
            return Ok(0);
        }
    };
    if let Some(pid) = shared_loop::settle_recorded_loop(&s.roots.state, GRACE)? {
        io.line(format_args!(
            "[{}] shared heartbeat loop orphan ended pid={pid}",
            stamp()
        ))?;
    }
    if s.retained_audit_enabled {
        audit(
            s,
            io,
            "retained-worktree",
            "audit-retained-worktrees.sh",
            s.timeouts.retained_audit,
        )?;
    }
    if s.agent_audit_enabled {
        audit(
            s,
            io,
            "agent-worktree",
            "audit-agent-worktrees.sh",
            s.timeouts.agent_audit,
        )?;
    }
    if let Some(code) = stop_code() {
        return Ok(code);
    }
    let now = acp_core::time::now_epoch();
    let eff = limits::derive(
        &s.limits,
        &s.quota,
        limits::file_age_seconds(&s.quota.cache_file, now),
    );
    for l in &eff.lines {
        io.line(l)?;
    }
    let ended = run_loop(s, io, &eff)?;
    if ended.stopped {
        return Ok(ended.code);
    }
    catchup::run_throttled(s, io)?;
    Ok(stop_code().unwrap_or(ended.code))
}

/// `ACP_HEARTBEAT_PREFLIGHT_ONLY=1`: the sibling preflight's status.
fn preflight_only(s: &Settings, io: &mut Io<'_>) -> anyhow::Result<i32> {
    let script = s.tools_dir.join("heartbeat-recovery-preflight.sh");
    if !acp_core::fsx::is_executable(&script) {
        return Err(acp_core::fail(
            1,
            format!("missing heartbeat preflight script: {}", script.display()),
        ));
    }
    // Its own tests are bounded one by one; the whole run is not.
    let ended = child::run(
        &mut bash(s, &script),
        Duration::from_secs(u64::from(u32::MAX)),
        GRACE,
        None,
        io.out,
        io.err,
    )?;
    Ok(ended.code)
}

/// The codex quota preflight's lines; nothing is run (the failure-driven
/// strategy rotates accounts when a worker fails, not here).
fn quota_preflight(s: &Settings, io: &mut Io<'_>) -> anyhow::Result<()> {
    let q = &s.quota_preflight;
    if s.quota.coding_worker != "codex" {
        io.line(format_args!("CODING_WORKER={}", s.quota.coding_worker))?;
        io.line("CODEX_QUOTA_PREFLIGHT_SKIPPED_FOR_WORKER=yes")?;
        return Ok(());
    }
    let reason = if !q.autoswitch_enabled {
        "disabled"
    } else if !acp_core::fsx::is_executable(&q.manager_script) {
        "missing-script"
    } else if !acp_core::fsx::is_executable(&q.quota_bin) {
        "missing-codex-quota"
    } else {
        "ok"
    };
    if reason != "ok" {
        io.line("CODEX_QUOTA_MANAGER_UNAVAILABLE=yes")?;
        io.line(format_args!("CODEX_QUOTA_MANAGER_REASON={reason}"))?;
        io.line(format_args!(
            "[{}] codex quota preflight skipped unavailable ({reason})",
            stamp()
        ))?;
    }
    if !q.autoswitch_enabled {
        io.line("CODEX_QUOTA_AUTOSWITCH_ENABLED=0")?;
        return Ok(());
    }
    let strategy = &s.quota.rotation_strategy;
    io.line(format_args!("CODEX_QUOTA_ROTATION_STRATEGY={strategy}"))?;
    io.line(format_args!(
        "CODEX_QUOTA_PREFLIGHT_SKIPPED=strategy-{strategy}"
    ))?;
    io.line(format_args!(
        "[{}] codex quota preflight skipped strategy={strategy}",
        stamp()
    ))
}

/// `ensure-runtime-sync.sh --quiet` when the tools dir has an executable
/// one; its stdout is relayed, its stderr and status ignored.
fn ensure_runtime_sync(s: &Settings, io: &mut Io<'_>) -> anyhow::Result<()> {
    let script = s.tools_dir.join("ensure-runtime-sync.sh");
    if !acp_core::fsx::is_executable(&script) {
        return Ok(());
    }
    let mut cmd = Command::new(&script);
    cmd.arg("--quiet");
    s.env.apply(&mut cmd);
    cmd.current_dir(&s.cwd);
    let mut sink = std::io::sink();
    child::run(
        &mut cmd,
        s.timeouts.runtime_sync,
        GRACE,
        None,
        io.out,
        &mut sink,
    )?;
    Ok(())
}

/// One worktree audit with `--cleanup`, bounded; its output (stdout and
/// stderr together) is printed, a failure only noted.
fn audit(
    s: &Settings,
    io: &mut Io<'_>,
    label: &str,
    script: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    io.line(format_args!("[{}] {label} audit start", stamp()))?;
    let mut cmd = bash(s, &s.audit_dir.join(script));
    cmd.arg("--cleanup");
    let out = acp_core::process::run_stoppable(&mut cmd, timeout, GRACE, true)?;
    let text = String::from_utf8_lossy(&out.stdout);
    let text = text.trim_end_matches('\n');
    if !text.is_empty() {
        io.line(text)?;
    }
    if out.code == acp_core::process::TIMEOUT_EXIT {
        let key = label.to_ascii_uppercase().replace('-', "_");
        io.line(format_args!("{key}_AUDIT_TIMEOUT=yes"))?;
    }
    io.line(format_args!(
        "[{}] {label} audit end status={}",
        stamp(),
        out.code
    ))
}

/// The heartbeat loop with the effective limits, bounded, its identity in
/// `shared-heartbeat-loop.pid` while it runs, its state in
/// `shared-heartbeat-loop.env`.
fn run_loop(
    s: &Settings,
    io: &mut Io<'_>,
    eff: &limits::Effective,
) -> anyhow::Result<child::Ended> {
    io.line(format_args!("[{}] shared heartbeat loop start", stamp()))?;
    shared_loop::write_status(&s.roots.state, "running", None)?;
    let mut cmd = bash(s, &s.tools_dir.join("agent-project-heartbeat-loop"));
    let state = s.roots.state.as_os_str();
    for prefix in ["ACP_", "F_LOSNING_"] {
        cmd.env(format!("{prefix}STATE_ROOT"), state)
            .env(
                format!("{prefix}ALLOW_INFRA_CI_BYPASS"),
                &s.allow_infra_ci_bypass,
            )
            .env(format!("{prefix}HEALTHY_QUOTA_POOLS"), &eff.healthy_pools)
            .env(
                format!("{prefix}EFFECTIVE_QUOTA_POOLS"),
                &eff.effective_pools,
            );
    }
    cmd.args(loop_args(s, eff));
    let pid_file = shared_loop::pid_file(&s.roots.state);
    let ended = child::run(
        &mut cmd,
        s.timeouts.heartbeat_loop,
        GRACE,
        Some(&pid_file),
        io.out,
        io.err,
    )?;
    shared_loop::write_status(&s.roots.state, "idle", Some(ended.code))?;
    if ended.code == acp_core::process::TIMEOUT_EXIT {
        io.line("HEARTBEAT_LOOP_TIMEOUT=yes")?;
    }
    io.line(format_args!(
        "[{}] shared heartbeat loop end status={}",
        stamp(),
        ended.code
    ))?;
    Ok(ended)
}

/// The loop's argument vector, in the original's order.
pub fn loop_args(s: &Settings, eff: &limits::Effective) -> Vec<std::ffi::OsString> {
    let l = &s.limits;
    let mut v: Vec<std::ffi::OsString> = Vec::new();
    let mut pair = |k: &str, val: &std::ffi::OsStr| {
        v.push(k.into());
        v.push(val.to_os_string());
    };
    pair("--repo-slug", s.repo_slug.as_ref());
    pair("--runs-root", s.roots.runs.as_os_str());
    pair("--state-root", s.roots.state.as_os_str());
    pair("--memory-dir", s.roots.memory.as_os_str());
    pair("--issue-prefix", s.issue_prefix.as_ref());
    pair("--pr-prefix", s.pr_prefix.as_ref());
    pair("--hook-file", s.hook_file.as_os_str());
    let numbers = [
        ("--max-concurrent-workers", eff.max_workers),
        ("--max-concurrent-heavy-workers", l.max_heavy_workers),
        ("--max-concurrent-pr-workers", eff.max_pr_workers),
        ("--max-recurring-issue-workers", eff.max_recurring_workers),
        (
            "--max-concurrent-scheduled-issue-workers",
            l.max_scheduled_workers,
        ),
        (
            "--max-concurrent-scheduled-heavy-workers",
            l.max_scheduled_heavy_workers,
        ),
        (
            "--max-concurrent-blocked-recovery-issue-workers",
            l.max_blocked_recovery_workers,
        ),
        (
            "--blocked-recovery-cooldown-seconds",
            l.blocked_recovery_cooldown_seconds,
        ),
        (
            "--max-open-agent-prs-for-recurring",
            l.max_open_agent_prs_for_recurring,
        ),
        ("--max-launches-per-pass", eff.max_launches_per_heartbeat),
    ];
    for (k, n) in numbers {
        pair(k, n.to_string().as_ref());
    }
    pair("--heavy-running-label", "E2E_ISSUE".as_ref());
    pair("--heavy-deferred-key", "E2E_DEFERRED".as_ref());
    pair(
        "--heavy-deferred-message",
        "E2E-heavy issues remain queued until the single e2e slot is free.".as_ref(),
    );
    v
}
