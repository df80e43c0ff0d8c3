//! `start-pr-fix-worker.sh PR_NUMBER [safe|bypass] [fix|merge-repair]`
//! (spec 3.7): start an agent that fixes one of the agent's PRs, or
//! repairs its merge with the base branch (`acp_session::start::pr`).

use std::ffi::OsString;

use acp_core::{Invocation, ToolSpec};
use acp_session::start::pr::tool;

const NAME: &str = "start-pr-fix-worker.sh";

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: NAME,
    aliases: &["start-pr-fix-worker"],
    paths: &["tools/bin/start-pr-fix-worker.sh"],
    about: "Start an agent fix or merge-repair worker for a PR",
    command,
    run,
}];

/// The argument description (positional words, as the original).
pub fn command() -> clap::Command {
    acp_core::cli::tool_command(
        NAME,
        "Like start-pr-review-worker.sh, with pr-fix-template.md (kind fix, the default) or \
         pr-merge-repair-template.md (kind merge-repair: the host first merges origin/<base> \
         into the worktree without committing). The prompt also gets the failing checks, the \
         review bot's findings on the head commit, the last final-review blocker, the newest \
         archived host-blocker.md and the changed tests to verify. Prints the review \
         starter's lines plus WORKER_KIND.",
    )
    .override_usage(tool::FIX_USAGE)
    .arg(
        clap::Arg::new("args")
            .num_args(0..)
            .value_names(["PR_NUMBER", "MODE", "KIND"])
            .help("The PR number, safe (default) or bypass, fix (default) or merge-repair"),
    )
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if acp_core::cli::first_is_help(args) {
        write!(ctx.stdout, "{}", acp_core::cli::usage(&command()))?;
        return Ok(0);
    }
    tool::run(ctx, NAME, true, args)
}
