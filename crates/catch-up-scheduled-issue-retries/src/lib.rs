//! `agent-project-catch-up-scheduled-issue-retries`: clear retries of scheduled issues that already reported a terminal status
//! (`acp_session::catchup`).

use std::ffi::OsString;

use acp_core::cli::{self, Parsed};
use acp_core::{Invocation, ToolSpec, fail};
use acp_session::catchup::tool::{self as pass, Pass, PassArgs};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "agent-project-catch-up-scheduled-issue-retries",
    aliases: &["catch-up-scheduled-issue-retries"],
    paths: &["tools/bin/agent-project-catch-up-scheduled-issue-retries"],
    about: "Clear retries of scheduled issues that already reported a terminal status",
    command,
    run,
}];

const USAGE: &str = "agent-project-catch-up-scheduled-issue-retries --repo-slug <owner/repo> --state-root <path> \
                     --hook-file <path> [--limit <n>]";

/// The argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "agent-project-catch-up-scheduled-issue-retries",
        "For up to --limit issue retry records: when the issue is scheduled (a cadence line or agent-scheduled), open, not agent-running and carries a health/checks/smoke -ok or -not-ok label, the retry is cleared (issue_clear_retry of --hook-file, else the record is removed), a record keeping LAST_REASON is written under <state-root>/scheduled-issue-retry-catchup and CATCHUP_SCHEDULED_ISSUE=<id> printed. Each issue is handled once.",
    )
    .override_usage(USAGE)
    .arg(cli::opt("repo-slug").help("owner/name of the repository"))
    .arg(cli::opt("state-root").help("The profile's state directory"))
    .arg(cli::opt("hook-file").help("Bash hook file whose functions replace built-in steps"))
    .arg(cli::opt("limit").help("Most retry records handled per run [default: 100]"))
}

/// Flags into the pass's arguments; a missing flag prints the usage and
/// exits 1 (as the original), a --limit that is not a number exits 1.
pub fn args(m: &clap::ArgMatches) -> anyhow::Result<PassArgs> {
    let (repo, state_root, hook_file) = (
        cli::get(m, "repo-slug"),
        cli::get(m, "state-root"),
        cli::get(m, "hook-file"),
    );
    if repo.is_empty() || state_root.is_empty() || hook_file.is_empty() {
        return Err(fail(1, format!("usage: {USAGE}")));
    }
    let limit = cli::given_or(m, "limit", || "100".to_string());
    let limit = limit
        .parse()
        .map_err(|_| fail(1, format!("--limit must be a number, not {limit:?}")))?;
    Ok(PassArgs {
        repo,
        state_root: state_root.into(),
        hook_file: pass::given_path(&hook_file),
        limit,
    })
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, argv: &[OsString]) -> anyhow::Result<i32> {
    let m = match cli::parse(ctx, command(), argv, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    let a = args(&m)?;
    pass::run(Pass::ScheduledRetries, &a, &ctx.env, ctx.stdout, ctx.stderr)
}
