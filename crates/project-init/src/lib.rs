//! `project-init.sh`: onboard a project in one go: scaffold the profile,
//! smoke-check it, adopt it and publish the runtime copy.

use std::ffi::OsString;

use acp_core::{Invocation, ToolSpec, cli, config};
use acp_runtime::profile::Sibling;
use acp_runtime::profile::init::{self, Request, SCAFFOLD_FLAGS};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "project-init.sh",
    aliases: &["project-init"],
    paths: &["tools/bin/project-init.sh"],
    about: "Scaffold, check, adopt and publish a project profile in one step",
    command,
    run,
}];

/// The argument parser.
pub fn command() -> clap::Command {
    let mut cmd = cli::tool_command(
        "project-init.sh",
        "Runs scaffold-profile.sh, profile-smoke.sh, profile-adopt.sh and \
         sync-shared-agent-home.sh in turn (each replaceable with \
         ACP_PROJECT_INIT_{SCAFFOLD,SMOKE,ADOPT,SYNC}_SCRIPT); the first step that fails \
         ends the run with its exit code. Profile options are scaffold-profile.sh's.",
    )
    .override_usage("project-init.sh --profile-id <id> --repo-slug <owner/repo> [options]");
    for name in SCAFFOLD_FLAGS {
        let help = match *name {
            "profile-id" => "Profile id, e.g. billing-api (required)",
            "repo-slug" => "GitHub repository as owner/repo (required)",
            "profile-home" => "Profile registry root (used by every step)",
            _ => "Passed to scaffold-profile.sh",
        };
        cmd = cmd.arg(cli::opt(name).help(help));
    }
    cmd.arg(cli::flag("force").help("Overwrite an existing profile's files"))
        .arg(cli::opt("source-repo-root").help("Repository the anchor repo is seeded from (adopt)"))
        .arg(cli::flag("skip-anchor-sync").help("Adopt without sync-agent-repo.sh"))
        .arg(cli::flag("skip-workspace-sync").help("Adopt without sync-vscode-workspace.sh"))
        .arg(cli::flag("allow-missing-repo").help("Adopt even when no repository exists yet"))
        .arg(cli::flag("skip-sync").help("Do not publish the runtime copy"))
        .arg(cli::opt("source-home").help("Source home to publish [env: ACP_PROJECT_INIT_SOURCE_HOME; default: this package]"))
        .arg(cli::opt("runtime-home").help("Runtime home to publish into [env: ACP_PROJECT_INIT_RUNTIME_HOME; default: <platform home>/runtime-home]"))
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let m = match cli::parse(ctx, command(), args, 64)? {
        cli::Parsed::Matches(m) => m,
        cli::Parsed::Exit(code) => return Ok(code),
    };
    let req = Request {
        scaffold: SCAFFOLD_FLAGS
            .iter()
            .map(|name| (*name, cli::get(&m, name)))
            .collect(),
        force: m.get_flag("force"),
        source_repo_root: cli::get(&m, "source-repo-root"),
        skip_anchor_sync: m.get_flag("skip-anchor-sync"),
        skip_workspace_sync: m.get_flag("skip-workspace-sync"),
        allow_missing_repo: m.get_flag("allow-missing-repo"),
        skip_sync: m.get_flag("skip-sync"),
        source_home: cli::get(&m, "source-home"),
        runtime_home: cli::get(&m, "runtime-home"),
    };
    cli::require(req.get("profile-id"), "--profile-id", 64)?;
    cli::require(req.get("repo-slug"), "--repo-slug", 64)?;
    let mut env = ctx.env.clone();
    config::export_env_aliases(&mut env);
    let sibling = Sibling {
        exe: ctx.exe.clone(),
        cwd: ctx.cwd.clone(),
        skill_root: config::skill_root(&env, ctx.script_path().as_deref())?,
    };
    let report = init::init(&env, &sibling, &req, ctx.stderr)?;
    for (k, v) in report.lines {
        ctx.out_kv(k, v)?;
    }
    Ok(0)
}
