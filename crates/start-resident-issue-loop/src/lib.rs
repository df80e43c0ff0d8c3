//! `start-resident-issue-loop.sh ISSUE_ID [safe|bypass]`: the resident lane
//! controller (spec 3.9). It runs the issue's worker cycles back to back
//! in its lane, adopts queued or ready recurring issues, waits for due
//! times and provider cooldowns, and records each step in
//! `resident-workers/issues/<id>/controller.env`. Everything is in
//! `acp_session::resident::controller`; this crate reads the arguments.

use std::ffi::OsString;

use acp_core::{Invocation, ToolSpec, fail};
use acp_session::resident::controller::{self, Setup};

const NAME: &str = "start-resident-issue-loop.sh";
const USAGE: &str = "start-resident-issue-loop.sh ISSUE_ID [safe|bypass]";

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: NAME,
    aliases: &["start-resident-issue-loop"],
    paths: &["tools/bin/start-resident-issue-loop.sh"],
    about: "Resident lane controller: run recurring/scheduled issues back to back in one lane",
    command,
    run,
}];

/// The argument description.
pub fn command() -> clap::Command {
    acp_core::cli::tool_command(
        NAME,
        "Keeps one resident lane busy: runs start-issue-worker.sh for ISSUE_ID, waits for its \
         tmux session, reconciles it with reconcile-issue-worker.sh and repeats (up to \
         execution.resident_workers.issue_controller_max_immediate_cycles back-to-back \
         cycles, or every cadence interval for a scheduled issue), then adopts a queued or \
         ready recurring issue or waits for one until the idle timeout. It waits while the \
         provider cools down, yields to a live controller of the same lane (queueing the \
         issue for it) and writes its state to resident-workers/issues/<id>/controller.env. \
         Backends without resident lanes, or resident workers disabled, run \
         start-issue-worker.sh once instead.",
    )
    .override_usage(USAGE)
    .arg(
        clap::Arg::new("issue")
            .value_name("ISSUE_ID")
            .help("Issue number"),
    )
    .arg(
        clap::Arg::new("mode")
            .value_name("MODE")
            .help("safe (default) or bypass"),
    )
}

/// Runs the controller; exit 0 when it stopped, 64 without an explicit
/// profile among several, 1 on a usage error.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if acp_core::cli::first_is_help(args) {
        write!(ctx.stdout, "{}", command().render_help())?;
        return Ok(0);
    }
    let word = |i: usize| {
        args.get(i)
            .map(|a| a.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let issue = word(0);
    if issue.is_empty() {
        return Err(fail(1, format!("{NAME}: usage: {USAGE}")));
    }
    let script = ctx.script_path();
    let mut setup = Setup::resolve(
        &ctx.env,
        script.as_deref(),
        &ctx.exe,
        &ctx.cwd,
        &issue,
        &word(1),
    )?;
    setup.reap_orphans = true;
    acp_core::process::install_termination_handler()?;
    controller::run(setup, ctx.stdout, ctx.stderr)
}
