//! `sync-recurring-issue-checklist.sh --repo-slug R --issue-id N
//! [--dry-run]`: ticks the checklist items of a recurring issue that merged
//! PRs did (`acp_session::catchup::checklist`) and prints
//! `CHECKLIST_SYNC_STATUS=`, `CHECKLIST_TOTAL=`, `CHECKLIST_CHECKED=`,
//! `CHECKLIST_UNCHECKED=`, `CHECKLIST_MATCHED_PR_NUMBERS=`.

use std::ffi::OsString;

use acp_core::cli::{self, Parsed};
use acp_core::{Invocation, ToolSpec, fail};
use acp_github::Gh;
use acp_session::catchup::checklist;

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "sync-recurring-issue-checklist.sh",
    aliases: &["sync-recurring-issue-checklist"],
    paths: &["tools/bin/sync-recurring-issue-checklist.sh"],
    about: "Tick a recurring issue's checklist items that merged PRs did",
    command,
    run,
}];

const USAGE: &str =
    "sync-recurring-issue-checklist.sh --repo-slug <owner/repo> --issue-id <id> [--dry-run]";

/// The argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "sync-recurring-issue-checklist.sh",
        "For a recurring issue (label agent-keep-open): ticks each unticked `- [ ] item` of \
         the body that a merged PR named in an `Opened PR #N` comment did, or every unticked \
         item once when a session reported `# Blocker: All checklist items already \
         completed`. Each PR and each such report is applied once (a hidden line in the body \
         remembers them), so items added or unticked later by a human stay as they are. \
         Other issues are never written. --dry-run only reports.",
    )
    .override_usage(USAGE)
    .arg(cli::opt("repo-slug").help("owner/name of the repository"))
    .arg(cli::opt("issue-id").help("The issue number"))
    .arg(cli::flag("dry-run").help("Report without writing the body"))
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, argv: &[OsString]) -> anyhow::Result<i32> {
    let m = match cli::parse(ctx, command(), argv, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    let (repo, issue) = (cli::get(&m, "repo-slug"), cli::get(&m, "issue-id"));
    if repo.is_empty() || issue.is_empty() {
        return Err(fail(1, format!("usage: {USAGE}")));
    }
    let issue: u64 = issue
        .parse()
        .map_err(|_| fail(1, format!("--issue-id must be a number, not {issue:?}")))?;
    let gh = Gh::new(ctx.env.clone()).map_err(|e| fail(1, e.to_string()))?;
    let o = checklist::sync(&gh, &repo, issue, m.get_flag("dry-run"))
        .map_err(|e| fail(1, format!("{e:#}")))?;
    let prs: Vec<String> = o.matched_prs.iter().map(u64::to_string).collect();
    ctx.out_kv("CHECKLIST_SYNC_STATUS", o.status)?;
    ctx.out_kv("CHECKLIST_TOTAL", o.total)?;
    ctx.out_kv("CHECKLIST_CHECKED", o.checked)?;
    ctx.out_kv("CHECKLIST_UNCHECKED", o.unchecked)?;
    ctx.out_kv("CHECKLIST_MATCHED_PR_NUMBERS", prs.join(","))?;
    Ok(0)
}
