//! `agent-project-catch-up-scheduled-issue-retries`: clear retries of scheduled issues that already reported a terminal status
//! (`acp_session::catchup`).

use std::ffi::OsString;

use acp_core::{Invocation, ToolSpec};
use acp_session::catchup::tool::{Pass, ToolText};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "agent-project-catch-up-scheduled-issue-retries",
    aliases: &["catch-up-scheduled-issue-retries"],
    paths: &["tools/bin/agent-project-catch-up-scheduled-issue-retries"],
    about: "Clear retries of scheduled issues that already reported a terminal status",
    command,
    run,
}];

const TEXT: ToolText = ToolText {
    name: "agent-project-catch-up-scheduled-issue-retries",
    long_about: "For up to --limit issue retry records: when the issue is scheduled (a cadence line or agent-scheduled), open, not agent-running and carries a health/checks/smoke -ok or -not-ok label, the retry is cleared (issue_clear_retry of --hook-file, else the record is removed), a record keeping LAST_REASON is written under <state-root>/scheduled-issue-retry-catchup and CATCHUP_SCHEDULED_ISSUE=<id> printed. Each issue is handled once.",
    limit_help: "Most retry records handled per run [default: 100]",
    pass: Pass::ScheduledRetries,
};

/// The argument parser.
pub fn command() -> clap::Command {
    TEXT.command()
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, argv: &[OsString]) -> anyhow::Result<i32> {
    TEXT.run(ctx, argv)
}
