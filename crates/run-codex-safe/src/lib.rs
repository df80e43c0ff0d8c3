//! `run-codex-safe.sh ARGS...`: `run-codex-task.sh safe ARGS...`, run through
//! the sibling next to this tool's shim (a caller's stub is what runs).

use std::ffi::OsString;

use acp_core::{Invocation, ToolSpec};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "run-codex-safe.sh",
    aliases: &["run-codex-safe"],
    paths: &["tools/bin/run-codex-safe.sh"],
    about: "Run run-codex-task.sh in safe mode",
    command,
    run,
}];

/// The argument parser (used for `--help`).
pub fn command() -> clap::Command {
    acp_core::cli::tool_command(
        "run-codex-safe.sh",
        "Runs run-codex-task.sh with MODE=safe and the given SESSION WORKTREE PROMPT_FILE.",
    )
    .override_usage("run-codex-safe.sh SESSION WORKTREE PROMPT_FILE")
}

/// Runs the tool: `run-codex-task.sh safe ARGS...`.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    ctx.relay_sibling("run-codex-task.sh", &["safe"], args, command)
}
