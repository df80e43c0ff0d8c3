//! `profile-adopt.sh`: make an installed profile runnable on this machine
//! (smoke check, runtime roots, anchor repo, VS Code workspace).

use std::ffi::OsString;

use acp_core::{Invocation, ToolSpec, cli, config};
use acp_runtime::profile::Sibling;
use acp_runtime::profile::adopt::{self, Request};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "profile-adopt.sh",
    aliases: &["profile-adopt"],
    paths: &["tools/bin/profile-adopt.sh"],
    about: "Prepare an installed profile for the scheduler (roots, anchor repo, workspace)",
    command,
    run,
}];

/// The argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "profile-adopt.sh",
        "Checks the profile with profile-smoke.sh, creates its runtime roots, copies its \
         YAML into the agent root, seeds the anchor repo (sync-agent-repo.sh) and writes \
         the VS Code workspace (sync-vscode-workspace.sh).",
    )
    .override_usage("profile-adopt.sh [--profile-id <id>] [options]")
    .arg(cli::opt("profile-id").help("Profile to adopt [default: ACP_PROJECT_ID, else the default profile]"))
    .arg(cli::opt("source-repo-root").help("Repository to seed the anchor repo from [env: ACP_SOURCE_REPO_ROOT; default: the retained repo root]"))
    .arg(cli::flag("skip-anchor-sync").help("Do not run sync-agent-repo.sh"))
    .arg(cli::flag("skip-workspace-sync").help("Do not run sync-vscode-workspace.sh"))
    .arg(cli::flag("allow-missing-repo").help("Go on (with a warning) when no repository with the remote exists"))
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let m = match cli::parse(ctx, command(), args, 1)? {
        cli::Parsed::Matches(m) => m,
        cli::Parsed::Exit(code) => return Ok(code),
    };
    let req = Request {
        profile_id: cli::get(&m, "profile-id"),
        source_repo_root: cli::get(&m, "source-repo-root"),
        skip_anchor_sync: m.get_flag("skip-anchor-sync"),
        skip_workspace_sync: m.get_flag("skip-workspace-sync"),
        allow_missing_repo: m.get_flag("allow-missing-repo"),
    };
    let mut env = ctx.env.clone();
    config::export_env_aliases(&mut env);
    let sibling = Sibling {
        exe: ctx.exe.clone(),
        cwd: ctx.cwd.clone(),
        skill_root: config::skill_root(&env, ctx.script_path().as_deref())?,
    };
    let report = adopt::adopt(&env, &sibling, &req)?;
    for (k, v) in report.lines {
        ctx.out_kv(k, v)?;
    }
    Ok(0)
}
