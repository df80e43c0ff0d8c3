//! `profile-smoke.sh`: check installed profiles before the scheduler uses
//! them (`KEY=value` lines, or one JSON object with `--json`).

use std::ffi::OsString;

use acp_core::{Invocation, ToolSpec, cli, config};
use acp_runtime::profile::{Sibling, smoke};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "profile-smoke.sh",
    aliases: &["profile-smoke"],
    paths: &["tools/bin/profile-smoke.sh"],
    about: "Check installed profiles (fields, backends, pools, prefix collisions)",
    command,
    run,
}];

/// The argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "profile-smoke.sh",
        "Checks one installed profile, or all of them: the YAML exists and renders, the \
         required fields are set, the coding worker is one of codex, openclaw, claude, \
         ollama, pi, opencode, kilo with the settings it needs, provider pools are valid, \
         issue and PR prefixes differ, the repo slug matches the checkout's origin, and no \
         two profiles share a session or branch prefix. Exit 1 on any failure.",
    )
    .override_usage("profile-smoke.sh [--profile-id <id>] [--json]")
    .arg(cli::opt("profile-id").help("Check only this profile"))
    .arg(cli::flag("json").help("Print one JSON object instead of KEY=value lines"))
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let m = match cli::parse(ctx, command(), args, 1)? {
        cli::Parsed::Matches(m) => m,
        cli::Parsed::Exit(code) => return Ok(code),
    };
    let filter = cli::get(&m, "profile-id");
    let mut env = ctx.env.clone();
    config::export_env_aliases(&mut env);
    let sibling = Sibling {
        exe: ctx.exe.clone(),
        cwd: ctx.cwd.clone(),
        skill_root: config::skill_root(&env, ctx.script_path().as_deref())?,
    };
    let report = smoke::smoke(
        &env,
        &sibling,
        (!filter.is_empty()).then_some(filter.as_str()),
    )?;
    if m.get_flag("json") {
        writeln!(ctx.stdout, "{}", report.to_json())?;
    } else {
        ctx.stdout.write_all(report.to_kv().as_bytes())?;
    }
    Ok(if report.ok() { 0 } else { 1 })
}
