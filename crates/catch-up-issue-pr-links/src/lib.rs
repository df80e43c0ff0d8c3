//! `agent-project-catch-up-issue-pr-links`: clear host-publish retries of issues whose PR was opened after all
//! (`acp_session::catchup`).

use std::ffi::OsString;

use acp_core::{Invocation, ToolSpec};
use acp_session::catchup::tool::{Pass, ToolText};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "agent-project-catch-up-issue-pr-links",
    aliases: &["catch-up-issue-pr-links"],
    paths: &["tools/bin/agent-project-catch-up-issue-pr-links"],
    about: "Clear host-publish retries of issues whose PR was opened after all",
    command,
    run,
}];

const TEXT: ToolText = ToolText {
    name: "agent-project-catch-up-issue-pr-links",
    long_about: "For each issue retry record whose LAST_REASON is host-publish-failed: when the issue's newest `Opened PR #N` comment names a PR that exists, the retry is cleared (issue_clear_retry of --hook-file, else the record is removed), a record is written under <state-root>/linked-pr-issue-catchup and CATCHUP_LINKED_PR_ISSUE=<id> printed. Each issue is handled once.",
    limit_help: "Accepted and ignored, as by the original",
    pass: Pass::IssueLinks,
};

/// The argument parser.
pub fn command() -> clap::Command {
    TEXT.command()
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, argv: &[OsString]) -> anyhow::Result<i32> {
    TEXT.run(ctx, argv)
}
