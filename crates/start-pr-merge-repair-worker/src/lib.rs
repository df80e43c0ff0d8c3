//! `start-pr-merge-repair-worker.sh PR_NUMBER [safe|bypass]` (spec 3.8):
//! the sibling `start-pr-fix-worker.sh PR_NUMBER MODE merge-repair`.

use std::ffi::OsString;

use acp_core::{Invocation, ToolSpec};
use acp_session::start::pr::tool;

const NAME: &str = "start-pr-merge-repair-worker.sh";

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: NAME,
    aliases: &["start-pr-merge-repair-worker"],
    paths: &["tools/bin/start-pr-merge-repair-worker.sh"],
    about: "Start an agent merge-repair worker for a PR (start-pr-fix-worker.sh ... merge-repair)",
    command,
    run,
}];

/// The argument description (positional words, as the original).
pub fn command() -> clap::Command {
    acp_core::cli::tool_command(
        NAME,
        "Runs the sibling start-pr-fix-worker.sh PR_NUMBER MODE merge-repair and passes on \
         its output and exit status.",
    )
    .override_usage(tool::MERGE_REPAIR_USAGE)
    .arg(
        clap::Arg::new("args")
            .num_args(0..)
            .value_names(["PR_NUMBER", "MODE"])
            .help("The PR number and safe (default) or bypass"),
    )
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if acp_core::cli::first_is_help(args) {
        write!(ctx.stdout, "{}", acp_core::cli::usage(&command()))?;
        return Ok(0);
    }
    tool::run_merge_repair(ctx, NAME, args)
}
