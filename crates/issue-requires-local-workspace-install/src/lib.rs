//! `issue-requires-local-workspace-install.sh`: prints `yes` when a
//! scheduled issue's body asks for dependencies to be installed in its own
//! worktree (an explicit line or a backticked install command), else `no`.
//! The body comes from `ISSUE_BODY`, else the first argument.

use std::ffi::OsString;

use acp_core::cli;
use acp_core::{Invocation, ToolSpec};
use acp_session::publish::install;

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "issue-requires-local-workspace-install.sh",
    aliases: &["issue-requires-local-workspace-install"],
    paths: &["tools/bin/issue-requires-local-workspace-install.sh"],
    about: "Say yes/no: does a scheduled issue need a local install in its worktree",
    command,
    run,
}];

/// The argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "issue-requires-local-workspace-install.sh",
        "Prints yes when the issue body (ISSUE_BODY, else the first argument) has a cadence \
         line and either `Local workspace install: yes` or a backticked install command; \
         otherwise no.",
    )
    .override_usage("issue-requires-local-workspace-install.sh [BODY]")
    .arg(clap::Arg::new("body").help("The issue body (when ISSUE_BODY is empty)"))
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    // The original read no option at all: only `--help` alone is one here,
    // anything else is the body.
    if args.len() == 1 && cli::first_is_help(args) {
        write!(ctx.stdout, "{}", cli::usage(&command()))?;
        return Ok(0);
    }
    let body = ctx
        .env
        .non_empty("ISSUE_BODY")
        .or_else(|| args.first().map(|a| a.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let answer = if install::requires_local_install(&body)? {
        "yes"
    } else {
        "no"
    };
    writeln!(ctx.stdout, "{answer}")?;
    Ok(0)
}
