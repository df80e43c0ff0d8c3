//! `start-pr-review-worker.sh PR_NUMBER [safe|bypass]` (spec 3.6): start
//! an agent review of one of the agent's PRs (`acp_session::start::pr`).

use std::ffi::OsString;

use acp_core::{Invocation, ToolSpec};
use acp_session::start::pr::tool;

const NAME: &str = "start-pr-review-worker.sh";

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: NAME,
    aliases: &["start-pr-review-worker"],
    paths: &["tools/bin/start-pr-review-worker.sh"],
    about: "Start an agent review worker for a PR",
    command,
    run,
}];

/// The argument description (positional words, as the original).
pub fn command() -> clap::Command {
    acp_core::cli::tool_command(
        NAME,
        "Checks that PR_NUMBER is the agent's (managed head branch, agent-handoff label or an \
         agent status comment), reads it and its lane (pr-risk.sh), opens its worktree \
         (new-pr-worktree.sh), writes <runs>/<session>/prompt.md from pr-review-template.md \
         and starts run-codex-safe.sh or run-codex-bypass.sh. Prints PR_NUMBER, TITLE, URL, \
         HEAD_REF, BASE_REF, LINKED_ISSUE_ID, RISK, RISK_REASON, SESSION, WORKTREE, PROMPT.",
    )
    .override_usage(tool::REVIEW_USAGE)
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
    tool::run(ctx, NAME, false, args)
}
