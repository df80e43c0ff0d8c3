//! `sync-vscode-workspace.sh`: (re)writes the selected profile's multi-root
//! VS Code workspace file (see `acp_session::anchor::workspace`). No stdout.

use std::ffi::OsString;

use acp_core::config::{self, FlowConfig};
use acp_core::{Env, Invocation, ToolSpec};
use acp_session::anchor::{
    WorkspaceRequest, profile_default_branch, recorded_remote_head, write_workspace,
};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "sync-vscode-workspace.sh",
    aliases: &["sync-vscode-workspace"],
    paths: &["tools/bin/sync-vscode-workspace.sh"],
    about: "Write the selected profile's multi-root VS Code workspace file",
    command,
    run,
}];

/// The argument description (the original took none).
pub fn command() -> clap::Command {
    acp_core::cli::tool_command(
        "sync-vscode-workspace.sh",
        "Writes runtime.vscode_workspace_file: the retained checkout, the anchor clone and \
         every worktree of the anchor as folders of one VS Code workspace (JSON, replaced \
         atomically). Environment: ACP_VSCODE_WORKSPACE_FILE, ACP_AGENT_REPO_ROOT, \
         ACP_RETAINED_REPO_ROOT, ACP_DEFAULT_BRANCH and the profile selection variables.",
    )
    .override_usage("sync-vscode-workspace.sh")
}

/// The branch the folder names call the automation branch: the profile's,
/// else the anchor's record of its remote's HEAD (no network: this runs
/// after every new worktree), else the anchor's current branch.
fn default_branch(env: &Env, cfg: &FlowConfig, anchor: &std::path::Path) -> String {
    profile_default_branch(env, cfg)
        .or_else(|| {
            let remote = env.first_or(&["ACP_REMOTE_NAME"], "origin");
            recorded_remote_head(env, anchor, &remote)
        })
        .unwrap_or_else(|| acp_core::git::current_branch(env, anchor))
}

/// `flow_resolve_project_label`: the repo slug's name, else the profile id.
fn project_label(env: &Env, cfg: &FlowConfig) -> String {
    let slug = config::repo_slug(env, cfg);
    let name = slug.rsplit('/').next().unwrap_or_default();
    if name.is_empty() {
        config::adapter_id(env, cfg)
    } else {
        name.to_string()
    }
}

/// Resolves the profile's paths into a request.
pub fn request(ctx: &Invocation<'_>) -> anyhow::Result<WorkspaceRequest> {
    let env = &ctx.env;
    let cfg = FlowConfig::load(env)?;
    let agent_repo_root = config::agent_repo_root(env, &cfg);
    Ok(WorkspaceRequest {
        default_branch: default_branch(env, &cfg, &agent_repo_root),
        retained_repo_root: config::retained_repo_root(env, &cfg),
        workspace_file: config::vscode_workspace_file(env, &cfg),
        project_label: project_label(env, &cfg),
        cwd: ctx.cwd.clone(),
        agent_repo_root,
    })
}

/// Runs the sync.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if acp_core::cli::first_is_help(args) {
        write!(ctx.stdout, "{}", acp_core::cli::usage(&command()))?;
        return Ok(0);
    }
    let req = request(ctx)?;
    for w in write_workspace(&ctx.env, &req)? {
        ctx.err_line(format!("sync-vscode-workspace.sh: {w}"))?;
    }
    Ok(0)
}
