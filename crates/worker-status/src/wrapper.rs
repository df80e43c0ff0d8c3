//! `worker-status.sh SESSION`: the operator entry point. Resolves the package
//! root and the selected profile (refusing with exit 64 when several profiles
//! are installed and none was named), then runs the package's
//! `tools/bin/agent-project-worker-status` for SESSION in the profile's runs root.

use std::ffi::OsString;

use acp_core::Invocation;
use acp_core::config::{self, FlowConfig};

const NAME: &str = "worker-status.sh";
const USAGE: &str = "usage: worker-status.sh SESSION";

/// The argument parser (for `--help` and the registry).
pub fn command() -> clap::Command {
    acp_core::cli::tool_command(
        NAME,
        "Prints the status of worker SESSION in the selected profile's runs root \
         (see agent-project-worker-status). Set ACP_PROJECT_ID when several profiles \
         are installed.",
    )
    .override_usage("worker-status.sh SESSION")
    .arg(
        clap::Arg::new("session")
            .value_name("SESSION")
            .required(true)
            .help("Session id (tmux session and run directory name)"),
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
    if let Some(message) = config::explicit_selection_error(&env, NAME) {
        writeln!(ctx.stderr, "{message}")?;
        return Ok(64);
    }
    let cfg = FlowConfig::load(&env)?;
    let runs_root = config::runs_root(&env, &cfg);
    let tool_args: Vec<OsString> = vec![
        "--runs-root".into(),
        runs_root.into_os_string(),
        "--session".into(),
        session.into(),
    ];
    let mut cmd = ctx.package_tool_command(&env, &skill, "agent-project-worker-status");
    cmd.args(&tool_args);
    ctx.relay(&mut cmd)
}
