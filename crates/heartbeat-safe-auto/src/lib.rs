//! `heartbeat-safe-auto.sh`: one heartbeat pass of the selected profile
//! (spec 1.2, 3.2): the pass lock, the worktree audits, the capacity
//! limits from the codex quota cache, the heartbeat loop, and the
//! catch-up passes at most once per interval. No arguments; everything
//! comes from the environment (`ACP_*`, with `F_LOSNING_*` twins) and the
//! profile. See `acp_flow::auto`.

use std::ffi::OsString;

use acp_core::config;
use acp_core::{Invocation, ToolSpec};
use acp_flow::auto::{self, Io, Settings};

const NAME: &str = "heartbeat-safe-auto.sh";

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: NAME,
    aliases: &["heartbeat-safe-auto"],
    paths: &["tools/bin/heartbeat-safe-auto.sh"],
    about: "Run one heartbeat pass of the selected profile (lock, audits, limits, loop, catch-up)",
    command,
    run,
}];

/// The argument parser (no arguments; for `--help`).
pub fn command() -> clap::Command {
    acp_core::cli::tool_command(
        NAME,
        "Runs one heartbeat pass of the selected profile: takes the pass lock (a run that \
         finds it held prints HEARTBEAT_SKIPPED=lock-held and LOCK_PID=), runs the retained \
         and agent worktree audits, derives the capacity limits (from the codex quota cache \
         for codex workers), runs tools/bin/agent-project-heartbeat-loop with them under a \
         timeout, then the merged-PR, linked-issue and scheduled-retry catch-up passes at \
         most once per ACP_CATCHUP_INTERVAL_SECONDS (300), whatever the loop's status. \
         Exits with the loop's status. Set ACP_PROJECT_ID when several profiles are \
         installed.",
    )
    .override_usage(NAME)
}

/// Runs `heartbeat-safe-auto.sh`.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if acp_core::cli::first_is_help(args) {
        write!(ctx.stdout, "{}", acp_core::cli::usage(&command()))?;
        return Ok(0);
    }
    let env = config::wrapper_env(&ctx.env, NAME)?;
    let script = ctx.script_path();
    let skill = config::skill_root(&env, script.as_deref())?;
    let script_dir = ctx.script_dir().unwrap_or_else(|| skill.join("tools/bin"));
    let settings = Settings::resolve(&env, &ctx.cwd, &skill, &script_dir)?;
    // A stop request ends the running child's group instead of orphaning it.
    acp_core::process::install_termination_handler()?;
    let mut io = Io {
        out: ctx.stdout,
        err: ctx.stderr,
    };
    auto::run_pass(&settings, &mut io)
}
