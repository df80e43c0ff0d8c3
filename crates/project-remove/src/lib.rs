//! `project-remove.sh`: stop and remove one installed profile and the
//! state it owns (each path checked before it is deleted).

use std::ffi::OsString;

use acp_core::{Invocation, ToolSpec, cli, config};
use acp_runtime::profile::Sibling;
use acp_runtime::profile::remove::{self, Request};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "project-remove.sh",
    aliases: &["project-remove"],
    paths: &["tools/bin/project-remove.sh"],
    about: "Remove an installed profile and the runtime state it owns",
    command,
    run,
}];

/// The argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "project-remove.sh",
        "Stops the profile's runtime (project-runtimectl.sh stop), removes its autostart \
         service, then deletes its registry entry and its runs, state, history and agent \
         roots. Repo, worktree, retained and workspace paths are deleted only with \
         --purge-paths or when they lie in the profile's managed areas. Nothing that \
         another installed profile uses, nor the platform home, registry or runtime home \
         themselves, is ever deleted.",
    )
    .override_usage("project-remove.sh --profile-id <id> [--purge-paths] [--skip-stop]")
    .arg(cli::opt("profile-id").help("Profile to remove (required)"))
    .arg(
        cli::flag("purge-paths")
            .help("Also delete the repo, worktree, retained and workspace paths"),
    )
    .arg(cli::flag("skip-stop").help("Do not run project-runtimectl.sh stop first"))
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let m = match cli::parse(ctx, command(), args, 64)? {
        cli::Parsed::Matches(m) => m,
        cli::Parsed::Exit(code) => return Ok(code),
    };
    let req = Request {
        profile_id: cli::get(&m, "profile-id"),
        purge_paths: m.get_flag("purge-paths"),
        skip_stop: m.get_flag("skip-stop"),
    };
    cli::require(&req.profile_id, "--profile-id", 64)?;
    let mut env = ctx.env.clone();
    config::export_env_aliases(&mut env);
    let sibling = Sibling {
        exe: ctx.exe.clone(),
        cwd: ctx.cwd.clone(),
        skill_root: config::skill_root(&env, ctx.script_path().as_deref())?,
    };
    let report = remove::remove(&env, &sibling, &req, ctx.stderr)?;
    for (k, v) in report.lines() {
        ctx.out_kv(k, v)?;
    }
    Ok(0)
}
