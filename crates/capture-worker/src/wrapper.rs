//! `capture-worker.sh SESSION [LINES]`: the operator entry point. Resolves the
//! package root and the selected profile's runs root, then runs the package's
//! `tools/bin/agent-project-capture-worker` for SESSION.

use std::ffi::OsString;

use acp_core::Invocation;
use acp_core::config::{self, FlowConfig};

const NAME: &str = "capture-worker.sh";
const USAGE: &str = "usage: capture-worker.sh SESSION [LINES]";

/// The argument parser (for `--help` and the registry).
pub fn command() -> clap::Command {
    acp_core::cli::tool_command(
        NAME,
        "Prints the latest transcript of worker SESSION (LINES lines, default 80) from \
         the selected profile's runs root (see agent-project-capture-worker).",
    )
    .override_usage("capture-worker.sh SESSION [LINES]")
    .arg(
        clap::Arg::new("session")
            .value_name("SESSION")
            .required(true)
            .help("Session id (tmux session and run directory name)"),
    )
    .arg(
        clap::Arg::new("lines")
            .value_name("LINES")
            .help("How many lines to print (as tail -n) [default: 80]"),
    )
}

/// Runs the wrapper.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if acp_core::cli::first_is_help(args) {
        write!(ctx.stdout, "{}", acp_core::cli::usage(&command()))?;
        return Ok(0);
    }
    let (env, session, skill) =
        config::session_wrapper_start(&ctx.env, ctx.script_path().as_deref(), args, NAME, USAGE)?;
    let lines = args
        .get(1)
        .filter(|l| !l.is_empty())
        .cloned()
        .unwrap_or_else(|| OsString::from("80"));
    let cfg = FlowConfig::load(&env)?;
    let runs_root = config::runs_root(&env, &cfg);
    let tool_args: Vec<OsString> = vec![
        "--runs-root".into(),
        runs_root.into_os_string(),
        "--session".into(),
        session.into(),
        "--lines".into(),
        lines,
    ];
    let mut cmd = ctx.package_tool_command(&env, &skill, "agent-project-capture-worker");
    cmd.args(&tool_args);
    ctx.relay(&mut cmd)
}
