//! `sync-shared-agent-home.sh`: publish the package (and a source home's
//! `tools/`) into the runtime home the daemons run from. Prints
//! `SHARED_AGENT_HOME=<runtime home>`.

use std::ffi::OsString;
use std::path::PathBuf;

use acp_core::{Invocation, ToolSpec, cli};
use acp_runtime::install::publish::{self, PublishRequest};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "sync-shared-agent-home.sh",
    aliases: &["sync-shared-agent-home"],
    paths: &["tools/bin/sync-shared-agent-home.sh"],
    about: "Publish the package into the runtime home (staged, then swapped in)",
    command,
    run,
}];

/// The argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "sync-shared-agent-home.sh",
        "Publishes the package into the runtime home: the source home's tools/ and \
         skills/openclaw/codex-quota-manager, and the package itself as \
         skills/openclaw/<name> (AGENT_CONTROL_PLANE_SKILL_NAME, plus \
         AGENT_CONTROL_PLANE_COMPAT_ALIAS when set). Each copy is staged beside its \
         target and swapped in, so a daemon running from the runtime copy never sees \
         it half written; publishing a tree onto itself changes nothing. The package \
         is AGENT_FLOW_SOURCE_ROOT, else the one this tool belongs to.",
    )
    .override_usage("sync-shared-agent-home.sh [SOURCE_HOME] [TARGET_HOME]")
    .arg(
        clap::Arg::new("source-home")
            .value_name("SOURCE_HOME")
            .help("Source home [default: the package's shared home]"),
    )
    .arg(
        clap::Arg::new("target-home")
            .value_name("TARGET_HOME")
            .help("Runtime home [default: ${AGENT_PLATFORM_HOME:-~/.agent-runtime}/runtime-home]"),
    )
}

/// A positional argument; empty counts as not given (`${1:-default}`).
fn positional(m: &clap::ArgMatches, name: &str) -> Option<PathBuf> {
    Some(cli::get(m, name))
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let m = match cli::parse(ctx, command(), args, cli::USAGE_EXIT)? {
        cli::Parsed::Matches(m) => m,
        cli::Parsed::Exit(code) => return Ok(code),
    };
    let req = PublishRequest {
        source_home: positional(&m, "source-home"),
        target_home: positional(&m, "target-home"),
    };
    let mut env = ctx.env.clone();
    acp_core::config::export_env_aliases(&mut env);
    let homes = publish::resolve(&env, ctx.script_path().as_deref(), &req)?;
    let target = homes.target_home.to_string_lossy().into_owned();
    cli::printable("runtime home", &target).map_err(|e| acp_core::fail(1, e))?;
    publish::publish(&env, homes)?;
    ctx.out_kv("SHARED_AGENT_HOME", target)?;
    Ok(0)
}
