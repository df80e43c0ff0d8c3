//! `flow-runtime-doctor.sh`: report whether the package, its runtime copy
//! and the selected profile are in place (`DOCTOR_STATUS=ok|needs-sync`)
//! and the next step when they are not. `--json` prints the same keys as
//! one JSON object.

use std::ffi::OsString;

use acp_core::{Invocation, ToolSpec, cli};
use acp_runtime::install::doctor;

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "flow-runtime-doctor.sh",
    aliases: &["flow-runtime-doctor"],
    paths: &["tools/bin/flow-runtime-doctor.sh"],
    about: "Check the package, its runtime copy and the selected profile",
    command,
    run,
}];

/// The argument parser (for `--help`; other arguments are ignored, as before).
pub fn command() -> clap::Command {
    cli::tool_command(
        "flow-runtime-doctor.sh",
        "Reports the package root, the profile registry and selected profile, the source \
         and runtime copies of the package and DOCTOR_STATUS (ok when the package, its \
         runtime copy and the profile all exist, else needs-sync) as KEY=value lines, \
         then NEXT_STEP when something is missing. Always exits 0 once it has reported.",
    )
    .override_usage("flow-runtime-doctor.sh [--json]")
    .arg(cli::flag("json").help("Print one JSON object with the same keys"))
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        write!(ctx.stdout, "{}", cli::usage(&command()))?;
        return Ok(0);
    }
    let json = args.iter().any(|a| a == "--json");
    let mut env = ctx.env.clone();
    acp_core::config::export_env_aliases(&mut env);
    let report = doctor::examine(&env, ctx.script_path().as_deref())?;
    if json {
        let mut obj = serde_json::Map::new();
        for (key, value) in &report.rows {
            obj.insert((*key).to_string(), serde_json::Value::String(value.clone()));
        }
        let text = serde_json::to_string_pretty(&serde_json::Value::Object(obj))?;
        writeln!(ctx.stdout, "{text}")?;
        return Ok(0);
    }
    for (key, value) in &report.rows {
        cli::printable(key, value).map_err(|e| acp_core::fail(1, e))?;
        ctx.out_kv(key, value)?;
    }
    Ok(0)
}
