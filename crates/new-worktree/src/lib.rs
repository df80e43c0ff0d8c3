//! `new-worktree.sh ISSUE_ID [SLUG]`: open a new issue worktree for the
//! selected profile: refresh the anchor (sibling `sync-agent-repo.sh`), run
//! the package's `agent-project-open-issue-worktree` against it with the
//! profile's worktree root, issue branch prefix, default branch and the
//! sibling `prepare-worktree.sh`, refresh the VS Code workspace (errors
//! ignored) and print the open tool's lines.
//!
//! The base is `origin/<default branch>` (profile, else the anchor's
//! `origin/HEAD`, else `main`); 0.2.0 never passed it, so issue branches
//! always started from `origin/main`.

use std::ffi::OsString;

use acp_core::config::{self, FlowConfig};
use acp_core::{Invocation, ToolSpec, fail};
use acp_session::worktree::{settings::Profile, wrapper};

const NAME: &str = "new-worktree.sh";

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: NAME,
    aliases: &["new-worktree"],
    paths: &["tools/bin/new-worktree.sh"],
    about: "Open a new issue worktree for the selected profile",
    command,
    run,
}];

/// The argument parser (positional, for `--help`).
pub fn command() -> clap::Command {
    acp_core::cli::tool_command(
        NAME,
        "Refreshes the profile's anchor checkout and opens a new issue branch and worktree \
         from origin/<default branch> (agent-project-open-issue-worktree), prepared. Prints \
         WORKTREE, BRANCH and BASE_REF. Set ACP_PROJECT_ID when several profiles are installed.",
    )
    .override_usage("new-worktree.sh ISSUE_ID [SLUG]")
    .arg(
        clap::Arg::new("args")
            .num_args(0..)
            .value_names(["ISSUE_ID", "SLUG"])
            .help("The issue number and the slug text [default: task]"),
    )
}

/// Runs `new-worktree.sh`.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if acp_core::cli::first_is_help(args) {
        write!(ctx.stdout, "{}", acp_core::cli::usage(&command()))?;
        return Ok(0);
    }
    let env = config::wrapper_env(&ctx.env, NAME)?;
    let Some(issue) = args.first().filter(|a| !a.is_empty()) else {
        return Err(fail(1, format!("{NAME}: usage: {NAME} ISSUE_ID [SLUG]")));
    };
    let slug = args
        .get(1)
        .cloned()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "task".into());
    let cfg = FlowConfig::load(&env)?;
    let p = Profile::resolve(&env, &cfg);
    let skill = config::skill_root(&env, ctx.script_path().as_deref())
        .or_else(|_| ctx.script_dir().map(|d| d.join("../..")).ok_or(()))
        .unwrap_or_default();

    let base = format!("origin/{}", p.default_branch(&env, "origin"));
    let mut opener = ctx.package_tool_command(&env, &skill, "agent-project-open-issue-worktree");
    opener
        .arg("--repo-root")
        .arg(&p.agent_repo_root)
        .arg("--worktree-root")
        .arg(&p.worktree_root)
        .arg("--issue-id")
        .arg(issue)
        .arg("--slug")
        .arg(&slug)
        .arg("--branch-prefix")
        .arg(&p.issue_branch_prefix)
        .arg("--base")
        .arg(&base)
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
