//! `issue-publish-localization-guard.sh`: refuses (exit 44) to publish a
//! branch that changes locale resources while the UI files it touches still
//! hold obvious user-facing literals. Prints
//! `LOCALIZATION_GUARD_STATUS=ok|skipped-no-locale-files|skipped-no-ui-files`
//! otherwise.

use std::ffi::OsString;
use std::path::Path;

use acp_core::cli::{self, Parsed};
use acp_core::{Invocation, ToolSpec, fail};
use acp_session::publish::{self, localization};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "issue-publish-localization-guard.sh",
    aliases: &["issue-publish-localization-guard"],
    paths: &["tools/bin/issue-publish-localization-guard.sh"],
    about: "Block a branch that adds translations but leaves hardcoded UI text",
    command,
    run,
}];

/// The argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "issue-publish-localization-guard.sh",
        "Stops the publication of a branch that updates locale resources but still has \
         hardcoded user-facing strings in the UI files it changes (exit 44, findings on stderr).",
    )
    .override_usage("issue-publish-localization-guard.sh --worktree <path> --base-ref <git-ref>")
    .arg(cli::opt("worktree").help("The git worktree holding the branch"))
    .arg(cli::opt("base-ref").help("The ref the branch is compared with (e.g. origin/main)"))
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let m = match cli::parse(ctx, command(), args, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    let (worktree, base_ref) = (cli::get(&m, "worktree"), cli::get(&m, "base-ref"));
    cli::require(&worktree, "--worktree", 1)?;
    cli::require(&base_ref, "--base-ref", 1)?;
    let wt = Path::new(&worktree);
    if !wt.is_dir() {
        return Err(fail(1, format!("missing worktree: {worktree}")));
    }
    let files = publish::changed_files(&ctx.env, wt, &base_ref).map_err(|e| fail(1, e))?;
    match localization::check(wt, &files)? {
        localization::Verdict::NoLocaleFiles => {
            ctx.out_kv("LOCALIZATION_GUARD_STATUS", "skipped-no-locale-files")?;
        }
        localization::Verdict::NoUiFiles => {
            ctx.out_kv("LOCALIZATION_GUARD_STATUS", "skipped-no-ui-files")?;
        }
        localization::Verdict::Ok {
            locale_files,
            ui_files,
        } => {
            ctx.out_kv("LOCALIZATION_GUARD_STATUS", "ok")?;
            ctx.out_kv("LOCALE_RESOURCE_COUNT", locale_files)?;
            ctx.out_kv("UI_FILE_COUNT", ui_files)?;
        }
        localization::Verdict::Blocked(findings) => {
            ctx.stderr
                .write_all(localization::report(&findings).as_bytes())?;
            return Ok(localization::BLOCKED);
        }
    }
    Ok(0)
}
