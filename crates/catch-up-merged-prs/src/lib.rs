//! `agent-project-catch-up-merged-prs`: clean up managed PRs merged or closed after their worker session was reconciled
//! (`acp_session::catchup`).

use std::ffi::OsString;

use acp_core::cli::{self, Parsed};
use acp_core::{Invocation, ToolSpec, fail};
use acp_session::catchup::tool::{self as pass, Pass, PassArgs};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "agent-project-catch-up-merged-prs",
    aliases: &["catch-up-merged-prs"],
    paths: &["tools/bin/agent-project-catch-up-merged-prs"],
    about: "Clean up managed PRs merged or closed after their worker session was reconciled",
    command,
    run,
}];

const USAGE: &str = "agent-project-catch-up-merged-prs --repo-slug <owner/repo> --state-root <path> \
                     --hook-file <path> [--limit <n>]";

/// The argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "agent-project-catch-up-merged-prs",
        "Handles each managed PR that was merged or closed after its worker session had already been reconciled, once (a record per PR under <state-root>/merged-pr-catchup or closed-pr-catchup): its retry record is cleared, a merged PR's linked issue loses its workflow labels and is closed with a comment, and the PR loses its workflow labels. A function of the same name in --hook-file replaces each step (pr_clear_retry, pr_linked_issue_should_close, pr_cleanup_linked_issue_session, pr_after_merged, pr_after_closed, pr_cleanup_merged_residue, heartbeat_pr_risk_json, flow_github_*). Prints CATCHUP_MERGED_PR=, CATCHUP_CLOSED_PR=, CATCHUP_CLOSED_ISSUE= lines.",
    )
    .override_usage(USAGE)
    .arg(cli::opt("repo-slug").help("owner/name of the repository"))
    .arg(cli::opt("state-root").help("The profile's state directory"))
    .arg(cli::opt("hook-file").help("Bash hook file whose functions replace built-in steps"))
    .arg(cli::opt("limit").help("Newest merged / closed PRs looked at [default: 100]"))
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
    pass::run(Pass::TerminalPrs, &a, &ctx.env, ctx.stdout, ctx.stderr)
}
