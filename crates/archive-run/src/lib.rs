//! `agent-project-archive-run`: move a finished run directory into the
//! history root (`<session>-<local %Y%m%d-%H%M%S>`) and optionally delete one
//! extra file, printing `SESSION=`, `RUN_DIR=`, `ARCHIVED_DIR=`, `REMOVED_FILE=`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use acp_core::cli::{self, Parsed};
use acp_core::{Invocation, ToolSpec, fail, fsx};
use anyhow::Context;

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "agent-project-archive-run",
    aliases: &["archive-run"],
    paths: &["tools/bin/agent-project-archive-run"],
    about: "Move a finished run dir into the history root",
    command,
    run,
}];

/// The argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "agent-project-archive-run",
        "Moves a completed run directory into the history root and optionally removes an \
         extra file such as a sandbox result file.",
    )
    .override_usage(
        "agent-project-archive-run --runs-root <path> --history-root <path> --session <id> \
         [--remove-file <path>]",
    )
    .arg(cli::runs_root_opt())
    .arg(cli::opt("history-root").help("Where archived runs go [env: AGENT_PROJECT_HISTORY_ROOT]"))
    .arg(cli::session_opt("Session id (the run directory's name)"))
    .arg(cli::opt("remove-file").help("A file to delete after archiving"))
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let m = match cli::parse(ctx, command(), args, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    let runs_root = cli::get_or_env(&m, "runs-root", ctx, &["AGENT_PROJECT_RUNS_ROOT"]);
    let history_root = cli::get_or_env(&m, "history-root", ctx, &["AGENT_PROJECT_HISTORY_ROOT"]);
    let session = cli::get(&m, "session");
    let remove_file = cli::get(&m, "remove-file");
    cli::require_or_env(&runs_root, "--runs-root", "AGENT_PROJECT_RUNS_ROOT", 1)?;
    cli::require_or_env(
        &history_root,
        "--history-root",
        "AGENT_PROJECT_HISTORY_ROOT",
        1,
    )?;
    cli::require(&session, "--session", 1)?;
    cli::plain_name("--session", &session).map_err(|m| fail(1, m))?;
    // Every value below is printed as a `KEY=value` line.
    for (flag, value) in [
        ("--runs-root", &runs_root),
        ("--history-root", &history_root),
        ("--remove-file", &remove_file),
    ] {
        cli::printable(flag, value).map_err(|m| fail(1, m))?;
    }

    let run_dir = format!("{runs_root}/{session}");
    fsx::create_dir_all(Path::new(&history_root))?;
    let mut archived = String::new();
    if Path::new(&run_dir).is_dir() {
        let stamp = acp_core::time::now_local("%Y%m%d-%H%M%S", ctx.env.get("TZ").as_deref());
        let target = free_target(&history_root, &session, &stamp);
        move_dir(ctx, Path::new(&run_dir), &target)?;
        archived = target.to_string_lossy().into_owned();
    }
    if !remove_file.is_empty() && Path::new(&remove_file).is_file() {
        fs_remove(Path::new(&remove_file))?;
    }
    ctx.out_kv("SESSION", &session)?;
    ctx.out_kv("RUN_DIR", &run_dir)?;
    ctx.out_kv("ARCHIVED_DIR", &archived)?;
    ctx.out_kv("REMOVED_FILE", &remove_file)?;
    Ok(0)
}

/// `<history>/<session>-<stamp>`, with `-2`, `-3`... when a run of the same
/// second was already archived (the original `mv` would nest it inside).
fn free_target(history_root: &str, session: &str, stamp: &str) -> PathBuf {
    let base = PathBuf::from(format!("{history_root}/{session}-{stamp}"));
    if !base.exists() {
        return base;
    }
    (2..)
        .map(|n| PathBuf::from(format!("{history_root}/{session}-{stamp}-{n}")))
        .find(|p| !p.exists())
        .unwrap_or(base)
}

fn move_dir(ctx: &Invocation<'_>, from: &Path, to: &Path) -> anyhow::Result<()> {
    match std::fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc_exdev()) => {
            // Different file systems: let mv copy and delete.
            let status = ctx
                .command("mv")
                .arg(from)
                .arg(to)
                .status()
                .context("failed to run mv")?;
            if status.success() {
                Ok(())
            } else {
                Err(fail(acp_core::process::exit_code(status), ""))
            }
        }
        Err(e) => {
            Err(e).with_context(|| format!("failed to move {} to {}", from.display(), to.display()))
        }
    }
}

const fn libc_exdev() -> i32 {
    18
}

fn fs_remove(path: &Path) -> anyhow::Result<()> {
    std::fs::remove_file(path).with_context(|| format!("failed to remove {}", path.display()))
}
