//! `issue-publish-scope-guard.sh`: refuses (exit 42) to publish an issue
//! branch that is too broad for one PR, judged by the paths it changes and
//! by the issue's own docs-only declaration. Passes with
//! `SCOPE_GUARD_STATUS=ok` and the counts.

use std::ffi::OsString;
use std::path::Path;

use acp_core::cli::{self, Parsed};
use acp_core::config::{self as settings, FlowConfig};
use acp_core::{Invocation, ToolSpec, fail};
use acp_session::publish::{self, scope};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "issue-publish-scope-guard.sh",
    aliases: &["issue-publish-scope-guard"],
    paths: &["tools/bin/issue-publish-scope-guard.sh"],
    about: "Block an issue branch too broad to publish as one PR",
    command,
    run,
}];

/// The argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "issue-publish-scope-guard.sh",
        "Stops the publication of an issue branch that changes too much for a single PR \
         (exit 42, reasons on stderr). With --issue-id the issue is read so that a \
         docs-only issue cannot ship product code.",
    )
    .override_usage(
        "issue-publish-scope-guard.sh --worktree <path> --base-ref <git-ref> [--issue-id <number>]",
    )
    .arg(cli::opt("worktree").help("The git worktree holding the branch"))
    .arg(cli::opt("base-ref").help("The ref the branch is compared with (e.g. origin/main)"))
    .arg(cli::opt("issue-id").help("The issue the branch implements (its title and body are read)"))
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let m = match cli::parse(ctx, command(), args, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    let (worktree, base_ref) = (cli::get(&m, "worktree"), cli::get(&m, "base-ref"));
    let issue_id = cli::get(&m, "issue-id");
    cli::require(&worktree, "--worktree", 1)?;
    cli::require(&base_ref, "--base-ref", 1)?;
    let wt = Path::new(&worktree);
    if !wt.is_dir() {
        return Err(fail(1, format!("missing worktree: {worktree}")));
    }
    let files = publish::changed_files(&ctx.env, wt, &base_ref).map_err(|e| fail(1, e))?;
    let (title, body) = issue_text(ctx, &issue_id);
    let found = scope::classify(&files, &title, &body)?;
    let reasons = found.reasons();
    if reasons.is_empty() {
        ctx.out_kv("SCOPE_GUARD_STATUS", "ok")?;
        for (key, n) in found.ok_lines() {
            ctx.out_kv(key, n)?;
        }
        return Ok(0);
    }
    ctx.stderr
        .write_all(found.report(&issue_id, &reasons).as_bytes())?;
    Ok(scope::BLOCKED)
}

/// The issue's title and body; empty when there is no issue id or it
/// cannot be read (the guard then judges by the files alone).
fn issue_text(ctx: &Invocation<'_>, issue_id: &str) -> (String, String) {
    let Ok(number) = issue_id.parse::<u64>() else {
        return Default::default();
    };
    let Ok(cfg) = FlowConfig::load(&ctx.env) else {
        return Default::default();
    };
    let repo = settings::repo_slug(&ctx.env, &cfg);
    acp_github::Gh::new(ctx.env.clone())
        .and_then(|gh| gh.issue(&repo, number))
        .map(|i| (i.title, i.body))
        .unwrap_or_default()
}
