//! `new-pr-worktree.sh PR_NUMBER HEAD_REF`: open a new PR worktree for the
//! selected profile: refresh the anchor (sibling `sync-agent-repo.sh`), run
//! the package's `agent-project-open-pr-worktree` against it with the
//! profile's worktree root, PR branch prefix and the sibling
//! `prepare-worktree.sh`, refresh the VS Code workspace (errors ignored) and
//! print the open tool's lines.

use std::ffi::OsString;

use acp_core::config::{self, FlowConfig};
use acp_core::{Invocation, ToolSpec, fail};
use acp_session::worktree::{settings::Profile, wrapper};

const NAME: &str = "new-pr-worktree.sh";

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: NAME,
    aliases: &["new-pr-worktree"],
    paths: &["tools/bin/new-pr-worktree.sh"],
    about: "Open a new PR worktree for the selected profile",
    command,
    run,
}];

/// The argument parser (positional, for `--help`).
pub fn command() -> clap::Command {
    acp_core::cli::tool_command(
        NAME,
        "Refreshes the profile's anchor checkout and opens a new local branch and worktree \
         from the PR's head (agent-project-open-pr-worktree), prepared. Prints WORKTREE, REF \
         and BRANCH. Set ACP_PROJECT_ID when several profiles are installed.",
    )
    .override_usage("new-pr-worktree.sh PR_NUMBER HEAD_REF")
    .arg(
        clap::Arg::new("args")
            .num_args(0..)
            .value_names(["PR_NUMBER", "HEAD_REF"])
            .help("The PR number and its head branch"),
    )
}

/// Runs `new-worktree.sh`.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if acp_core::cli::first_is_help(args) {
        write!(ctx.stdout, "{}", acp_core::cli::usage(&command()))?;
        return Ok(0);
    }
    let env = config::wrapper_env(&ctx.env, NAME)?;
    let given = |i: usize| args.get(i).filter(|a| !a.is_empty());
    let (Some(pr), Some(head_ref)) = (given(0), given(1)) else {
        return Err(fail(1, format!("{NAME}: usage: {NAME} PR_NUMBER HEAD_REF")));
    };
    let cfg = FlowConfig::load(&env)?;
    let p = Profile::resolve(&env, &cfg);
    let skill = config::skill_root(&env, ctx.script_path().as_deref())
        .or_else(|_| ctx.script_dir().map(|d| d.join("../..")).ok_or(()))
        .unwrap_or_default();

    let mut opener = ctx.package_tool_command(&env, &skill, "agent-project-open-pr-worktree");
    opener
        .arg("--repo-root")
        .arg(&p.agent_repo_root)
        .arg("--worktree-root")
        .arg(&p.worktree_root)
        .arg("--pr-number")
        .arg(pr)
        .arg("--head-ref")
        .arg(head_ref)
        .arg("--local-branch-prefix")
        .arg(&p.pr_branch_prefix)
        .arg("--prepare-script")
        .arg(
            ctx.script_dir()
                .unwrap_or_default()
                .join("prepare-worktree.sh"),
        );
    let apply = |mut c: std::process::Command| {
        env.apply(&mut c);
        c
    };
    let steps = wrapper::Steps {
        sync_anchor: apply(ctx.sibling_command("sync-agent-repo.sh")),
        open: opener,
        sync_vscode: apply(ctx.sibling_command("sync-vscode-workspace.sh")),
    };
    let out = wrapper::run(&p, steps, ctx.stderr)?;
    ctx.stdout.write_all(&out)?;
    Ok(0)
}
