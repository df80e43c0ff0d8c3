//! `run-codex-bypass.sh ARGS...`: `run-codex-task.sh bypass ARGS...`, run through
//! the sibling next to this tool's shim (a caller's stub is what runs).

use std::ffi::OsString;

use acp_core::{Invocation, ToolSpec};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "run-codex-bypass.sh",
    aliases: &["run-codex-bypass"],
    paths: &["tools/bin/run-codex-bypass.sh"],
    about: "Run run-codex-task.sh in bypass mode",
    command,
    run,
}];

/// The argument parser (used for `--help`).
pub fn command() -> clap::Command {
    acp_core::cli::tool_command(
        "run-codex-bypass.sh",
        "Runs run-codex-task.sh with MODE=bypass and the given SESSION WORKTREE PROMPT_FILE.",
    )
    .override_usage("run-codex-bypass.sh SESSION WORKTREE PROMPT_FILE")
}

/// Runs the tool: `run-codex-task.sh bypass ARGS...`.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    ctx.relay_sibling("run-codex-task.sh", &["bypass"], args, command)
}
