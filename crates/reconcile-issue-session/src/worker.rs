//! `reconcile-issue-worker.sh SESSION`: reconciles an issue session of the
//! selected profile with the package's shipped hook file.

use std::ffi::OsString;

use acp_core::Invocation;
use acp_core::config::{self, FlowConfig};

const NAME: &str = "reconcile-issue-worker.sh";
const USAGE: &str = "usage: reconcile-issue-worker.sh SESSION";

/// The argument parser (for `--help` and the registry).
pub fn command() -> clap::Command {
    acp_core::cli::tool_command(
        NAME,
        "Runs agent-project-reconcile-issue-session for SESSION with the selected profile's \
         repository, runs and history roots and the package's hooks/issue-reconcile-hooks.sh.",
    )
    .override_usage("reconcile-issue-worker.sh SESSION")
    .arg(
        clap::Arg::new("session")
            .value_name("SESSION")
            .required(true)
            .help("Issue session id"),
    )
}

/// Runs the wrapper; its exit code is the reconcile's.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if acp_core::cli::first_is_help(args) {
        write!(ctx.stdout, "{}", acp_core::cli::usage(&command()))?;
        return Ok(0);
    }
    let (env, session, skill) =
        config::session_wrapper_start(&ctx.env, ctx.script_path().as_deref(), args, NAME, USAGE)?;
    let cfg = FlowConfig::load(&env)?;
    let s = |p: std::path::PathBuf| p.to_string_lossy().into_owned();
    let agent_root = s(config::agent_root(&env, &cfg));
    let runs_root = s(config::runs_root(&env, &cfg));
    let history_root = s(config::history_root(&env, &cfg));
    let repo_slug = config::repo_slug(&env, &cfg);
    let agent_repo_root = s(config::agent_repo_root(&env, &cfg));
    let hook_file = s(skill.join("hooks/issue-reconcile-hooks.sh"));
    let mut cmd = ctx.package_tool_command(&env, &skill, "agent-project-reconcile-issue-session");
    cmd.env("ACP_AGENT_ROOT", &agent_root)
        .env("ACP_RUNS_ROOT", &runs_root)
        .env("ACP_HISTORY_ROOT", &history_root)
        .env("ACP_REPO_SLUG", &repo_slug)
        .env("ACP_AGENT_REPO_ROOT", &agent_repo_root)
        .env("F_LOSNING_RUNS_ROOT", &runs_root);
    cmd.args([
        "--session",
        &session,
        "--repo-slug",
        &repo_slug,
        "--repo-root",
        &agent_repo_root,
    ]);
    cmd.args([
        "--runs-root",
        &runs_root,
        "--history-root",
        &history_root,
        "--hook-file",
        &hook_file,
    ]);
    ctx.relay(&mut cmd)
}
