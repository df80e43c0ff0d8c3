//! `cleanup-worktree.sh [WORKTREE] [SESSION]`: the profile-aware front of
//! `agent-project-cleanup-session`. The mode comes from the session's
//! prefix (`issue`, `pr`, else `generic`); the profile's anchor repo, runs,
//! history and worktree roots are passed on; then the VS Code workspace is
//! refreshed (failures ignored). Prints nothing; exits with the cleanup's
//! status.

use std::ffi::OsString;

use acp_core::config::{self, FlowConfig};
use acp_core::{Invocation, ToolSpec, cli, fail};
use acp_session::gc::Naming;

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "cleanup-worktree.sh",
    aliases: &["cleanup-worktree"],
    paths: &["tools/bin/cleanup-worktree.sh"],
    about: "Clean up a session's worktree through the profile",
    command,
    run,
}];

/// The argument parser (used for `--help`; the words are positional).
pub fn command() -> clap::Command {
    cli::tool_command(
        "cleanup-worktree.sh",
        "Removes a finished session's worktree and archives its run with \
         agent-project-cleanup-session, using the selected profile's anchor repo, runs, \
         history and worktree roots; the mode (issue, pr or generic) follows the session's \
         prefix. Then refreshes the profile's VS Code workspace file.",
    )
    .override_usage("cleanup-worktree.sh [WORKTREE] [SESSION]")
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if cli::first_is_help(args) {
        write!(ctx.stdout, "{}", cli::usage(&command()))?;
        return Ok(0);
    }
    config::export_env_aliases(&mut ctx.env);
    let env = ctx.env.clone();
    let cfg = FlowConfig::load(&env)?;
    let skill_root = config::skill_root(&env, ctx.script_path().as_deref())?;
    let worktree = args.first().cloned().unwrap_or_default();
    let session = args.get(1).cloned().unwrap_or_default();
    let naming = Naming::resolve(&env, &cfg);
    let mode = naming.mode_of(&session.to_string_lossy());
    let worktree_root = config::worktree_root(&env, &cfg);
    let agent_repo_root = config::agent_repo_root(&env, &cfg);

    let mut cleanup_env = env.clone();
    cleanup_env.set("AGENT_PROJECT_WORKTREE_ROOT", &worktree_root);
    cleanup_env.set("F_LOSNING_WORKTREE_ROOT", &worktree_root);
    let mut cleanup =
        ctx.package_tool_command(&cleanup_env, &skill_root, "agent-project-cleanup-session");
    cleanup
        .arg("--repo-root")
        .arg(&agent_repo_root)
        .arg("--runs-root")
        .arg(config::runs_root(&env, &cfg))
        .arg("--history-root")
        .arg(config::history_root(&env, &cfg))
        .arg("--worktree")
        .arg(&worktree)
        .arg("--mode")
        .arg(mode);
    if !session.is_empty() {
        cleanup.arg("--session").arg(&session);
    }
    let out = acp_core::process::output(&mut cleanup)?;
    ctx.stderr.write_all(&out.stderr)?;
    if !out.status.success() {
        return Err(fail(acp_core::process::exit_code(out.status), ""));
    }

    let mut sync_env = env.clone();
    sync_env.set("F_LOSNING_AGENT_REPO_ROOT", &agent_repo_root);
    sync_env.set(
        "F_LOSNING_RETAINED_REPO_ROOT",
        config::retained_repo_root(&env, &cfg),
    );
    sync_env.set(
        "F_LOSNING_VSCODE_WORKSPACE_FILE",
        config::vscode_workspace_file(&env, &cfg),
    );
    let mut sync = ctx.package_tool_command(&sync_env, &skill_root, "sync-vscode-workspace.sh");
    // The workspace file is a convenience: its failure does not matter here.
    let _ = acp_core::process::output(&mut sync);
    Ok(0)
}
