//! `kick-scheduler.sh [DELAY_SECONDS]`: ask for an early heartbeat after a
//! reconcile (spec 3.4). Prints `KICK_STATUS=active-heartbeat|already-pending|scheduled`
//! and `PID=`; always exits 0 (64 when the profile must be named).
//!
//! Spec F16: "a heartbeat is active" is the pass lock's live holder or the
//! recorded live heartbeat loop of this profile's state root (pid and start
//! time), never a `ps` command-line match; the delayed kicker is this
//! binary in a new session (`--delayed-kick`, internal), which sleeps,
//! checks again and runs the bootstrap script.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use acp_core::config::{self, FlowConfig};
use acp_core::procid::ProcId;
use acp_core::{Invocation, ToolSpec, fsx};
use acp_flow::auto::{lock, shared_loop};

const NAME: &str = "kick-scheduler.sh";
const DELAYED: &str = "--delayed-kick";

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: NAME,
    aliases: &["kick-scheduler"],
    paths: &["tools/bin/kick-scheduler.sh"],
    about: "Request an early heartbeat of the selected profile after a delay",
    command,
    run,
}];

/// The argument parser (positional; for `--help`).
pub fn command() -> clap::Command {
    acp_core::cli::tool_command(
        NAME,
        "Requests an early heartbeat: unless a heartbeat pass or loop of the profile is \
         running (KICK_STATUS=active-heartbeat) or a kick is already waiting \
         (KICK_STATUS=already-pending), starts a detached kicker that waits DELAY_SECONDS, \
         checks again and runs the bootstrap script (ACP_BOOTSTRAP_SCRIPT, \
         AGENT_SCHEDULER_BOOTSTRAP_SCRIPT, else \
         ~/.agent-runtime/control-plane/workspace/bin/agent-scheduler-launchd.sh) \
         (KICK_STATUS=scheduled). Its identity is kept in <state dir>/pid \
         (ACP_SCHEDULER_KICK_STATE_DIR, else <state root>/kick-scheduler).",
    )
    .override_usage("kick-scheduler.sh [DELAY_SECONDS]")
    .arg(
        clap::Arg::new("args")
            .num_args(0..)
            .value_names(["DELAY_SECONDS"])
            .help("Seconds to wait before kicking [default: 5]"),
    )
}

/// A running heartbeat pass or loop of the state root: its pid.
fn active_heartbeat(state_root: &Path) -> Option<u32> {
    lock::recorded_holder(state_root)
        .or_else(|| shared_loop::recorded_live_loop(state_root))
        .map(|p| p.pid)
}

/// The seconds of a delay word (`sleep`'s plain numbers); anything else 0.
fn delay_of(word: &str) -> Duration {
    word.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(Duration::ZERO, Duration::from_secs_f64)
}

/// Runs `kick-scheduler.sh`.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if acp_core::cli::first_is_help(args) {
        write!(ctx.stdout, "{}", acp_core::cli::usage(&command()))?;
        return Ok(0);
    }
    if args.first().is_some_and(|a| a == DELAYED) {
        return delayed_kick(ctx, &args[1..]);
    }
    let env = config::wrapper_env(&ctx.env, NAME)?;
    let delay = args
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_else(|| "5".into());
    let cfg = FlowConfig::load(&env)?;
    let state_root = config::state_root(&env, &cfg);
    let bootstrap = env
        .first_non_empty(&[
            "ACP_BOOTSTRAP_SCRIPT",
            "F_LOSNING_BOOTSTRAP_SCRIPT",
            "AGENT_SCHEDULER_BOOTSTRAP_SCRIPT",
        ])
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            env.home()
                .join(".agent-runtime/control-plane/workspace/bin/agent-scheduler-launchd.sh")
        });
    let state_dir = env
        .path("ACP_SCHEDULER_KICK_STATE_DIR")
        .unwrap_or_else(|| state_root.join("kick-scheduler"));
    fsx::create_dir_all(&state_dir)?;
    let pid_file = state_dir.join("pid");

    if let Some(pid) = active_heartbeat(&state_root) {
        ctx.out_kv("KICK_STATUS", "active-heartbeat")?;
        ctx.out_kv("PID", pid)?;
        return Ok(0);
    }
    // Checked and replaced under one lock: two kicks never both start one.
    let _update = fsx::Lock::beside(&pid_file)?;
    if let Some(pending) = read_procid(&pid_file).filter(ProcId::is_alive) {
        ctx.out_kv("KICK_STATUS", "already-pending")?;
        ctx.out_kv("PID", pending.pid)?;
        return Ok(0);
    }
    let mut cmd = Command::new(&ctx.exe);
    cmd.arg(NAME)
        .arg(DELAYED)
        .arg(&delay)
        .arg(&pid_file)
        .arg(&state_root)
        .arg(&bootstrap);
    env.apply(&mut cmd);
    cmd.env_remove("ACP_SHIM_PATH")
        .current_dir(&ctx.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    acp_core::process::new_session(&mut cmd);
    let child = cmd.spawn().map_err(|e| {
        anyhow::anyhow!(
            "failed to start the delayed kicker {}: {e}",
            ctx.exe.display()
        )
    })?;
    let id = ProcId::of(child.id()).unwrap_or(ProcId {
        pid: child.id(),
        start: String::new(),
    });
    fsx::atomic_write(&pid_file, format!("{}\n", id.to_line()).as_bytes())?;
    // The kicker outlives this process (init adopts it); not waited for.
    drop(child);
    ctx.out_kv("KICK_STATUS", "scheduled")?;
    ctx.out_kv("PID", id.pid)?;
    Ok(0)
}

fn read_procid(path: &Path) -> Option<ProcId> {
    let text = fsx::read_capped(path, 4096).ok()?;
    ProcId::parse(&String::from_utf8_lossy(&text))
}

/// The detached kicker: `--delayed-kick DELAY PID_FILE STATE_ROOT BOOTSTRAP`.
/// Sleeps, and unless a heartbeat became active meanwhile runs the
/// bootstrap script (output discarded, bounded by an hour); then removes
/// its own record.
fn delayed_kick(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let [delay, pid_file, state_root, bootstrap] = args else {
        return Err(acp_core::fail(
            2,
            format!("{NAME} {DELAYED}: internal use only"),
        ));
    };
    let pid_file = PathBuf::from(pid_file);
    std::thread::sleep(delay_of(&delay.to_string_lossy()));
    if active_heartbeat(Path::new(state_root)).is_none() {
        let mut cmd = Command::new(bootstrap);
        ctx.env.apply(&mut cmd);
        cmd.current_dir(&ctx.cwd);
        let _ = acp_core::process::run_with_timeout(
            &mut cmd,
            Duration::from_secs(3600),
            acp_core::process::DEFAULT_GRACE,
        );
    }
    // The starter writes the record under this lock after spawning us: a
    // quick kick must not remove it before it exists.
    let _update = fsx::Lock::beside(&pid_file);
    let me = ProcId::current();
    if read_procid(&pid_file).is_none_or(|p| p.pid == me.pid) {
        let _ = fsx::remove_file_if_exists(&pid_file);
    }
    Ok(0)
}
