//! `start-issue-worker.sh ISSUE_ID [safe|bypass]`: prepares one issue
//! worker run (run directory, worktree, prompt) and starts it through the
//! `run-codex-safe.sh` / `run-codex-bypass.sh` sibling
//! (`acp_session::start::issue`). Prints `ISSUE_ID=`, `TITLE=`, `URL=`,
//! `AUTOMERGE=`, `SESSION=`, `WORKTREE=`, `BRANCH=`, `PROMPT=`.

use std::ffi::OsString;

use acp_core::{Invocation, ToolSpec, cli};
use acp_session::start::issue::{self, Args, NAME, USAGE};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: NAME,
    aliases: &["start-issue-worker"],
    paths: &["tools/bin/start-issue-worker.sh"],
    about: "Start one issue worker: run dir, worktree (resident lanes reuse theirs), prompt, runner",
    command,
    run,
}];

/// The argument parser (for `--help`).
pub fn command() -> clap::Command {
    cli::tool_command(
        NAME,
        "Prepares the run of issue ISSUE_ID: refuses when its tmux session already runs, \
         reaps a stale run directory, replays a host publish that failed, blocks a recurring \
         issue whose checklist is done or an issue naming missing OpenSpec paths, opens (or, \
         in a resident lane, reuses) a worktree, renders prompt.md from the issue template, \
         and runs run-codex-safe.sh (or run-codex-bypass.sh) next to this script. Issue text \
         is only ever rendered, never run. A failed start removes its prompt-only run \
         directory and the agent-running label.",
    )
    .override_usage("start-issue-worker.sh ISSUE_ID [safe|bypass]")
    .arg(
        clap::Arg::new("issue_id")
            .value_name("ISSUE_ID")
            .help("The issue number"),
    )
    .arg(
        clap::Arg::new("mode")
            .value_name("MODE")
            .help("safe (default) or bypass: which runner sibling starts the worker"),
    )
}

/// Runs the tool: positional arguments as the original read them.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if cli::first_is_help(args) {
        write!(ctx.stdout, "{}", cli::usage(&command()))?;
        return Ok(0);
    }
    let arg = |i: usize| {
        args.get(i)
            .map(|a| a.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let issue_id = arg(0);
    if issue_id.is_empty() {
        writeln!(ctx.stderr, "{USAGE}")?;
        return Ok(1);
    }
    let mode = Some(arg(1))
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "safe".into());
    issue::run(ctx, &Args { issue_id, mode })
}
