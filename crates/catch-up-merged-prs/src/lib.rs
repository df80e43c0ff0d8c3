//! `agent-project-catch-up-merged-prs`: clean up managed PRs merged or closed after their worker session was reconciled
//! (`acp_session::catchup`).

use std::ffi::OsString;

use acp_core::{Invocation, ToolSpec};
use acp_session::catchup::tool::{Pass, ToolText};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "agent-project-catch-up-merged-prs",
    aliases: &["catch-up-merged-prs"],
    paths: &["tools/bin/agent-project-catch-up-merged-prs"],
    about: "Clean up managed PRs merged or closed after their worker session was reconciled",
    command,
    run,
}];

const TEXT: ToolText = ToolText {
    name: "agent-project-catch-up-merged-prs",
    long_about: "Handles each managed PR that was merged or closed after its worker session had already been reconciled, once (a record per PR under <state-root>/merged-pr-catchup or closed-pr-catchup): its retry record is cleared, a merged PR's linked issue loses its workflow labels and is closed with a comment, and the PR loses its workflow labels. A function of the same name in --hook-file replaces each step (pr_clear_retry, pr_linked_issue_should_close, pr_cleanup_linked_issue_session, pr_after_merged, pr_after_closed, pr_cleanup_merged_residue, heartbeat_pr_risk_json, flow_github_*). Prints CATCHUP_MERGED_PR=, CATCHUP_CLOSED_PR=, CATCHUP_CLOSED_ISSUE= lines.",
    limit_help: "Newest merged / closed PRs looked at [default: 100]",
    pass: Pass::TerminalPrs,
};

/// The argument parser.
pub fn command() -> clap::Command {
    TEXT.command()
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, argv: &[OsString]) -> anyhow::Result<i32> {
    TEXT.run(ctx, argv)
}
