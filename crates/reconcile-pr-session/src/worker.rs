//! `reconcile-pr-worker.sh SESSION`: the profile-aware front of the PR
//! reconciler. It resolves the selected profile's roots and repository and
//! runs `<skill>/tools/bin/agent-project-reconcile-pr-session` with the
//! skill's `hooks/pr-reconcile-hooks.sh`, exporting `ACP_AGENT_ROOT`,
//! `ACP_RUNS_ROOT`, `ACP_HISTORY_ROOT`, `ACP_REPO_SLUG`,
//! `ACP_AGENT_REPO_ROOT` and `F_LOSNING_RUNS_ROOT`. Exit = the reconciler's.

use std::ffi::OsString;

use acp_core::config::{self, FlowConfig};
use acp_core::{Invocation, fail};

const USAGE: &str = "reconcile-pr-worker.sh SESSION";

pub fn command() -> clap::Command {
    acp_core::cli::tool_command(
        "reconcile-pr-worker.sh",
        "Reconciles PR session SESSION with the selected profile's runs, history and agent \
         repository roots and the skill's hooks/pr-reconcile-hooks.sh.",
    )
    .override_usage(USAGE)
    .arg(
        clap::Arg::new("session")
            .value_name("SESSION")
            .help("The PR session"),
    )
}

pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if acp_core::cli::first_is_help(args) {
        write!(ctx.stdout, "{}", command().render_help())?;
        return Ok(0);
    }
    let Some(session) = args.first().filter(|s| !s.is_empty()) else {
        return Err(fail(
            1,
            format!("reconcile-pr-worker.sh: 1: usage: {USAGE}"),
        ));
    };
    let cfg = FlowConfig::load(&ctx.env)?;
    let env0 = &ctx.env;
    let agent_root = config::agent_root(env0, &cfg);
    let runs_root = config::runs_root(env0, &cfg);
    let history_root = config::history_root(env0, &cfg);
    let repo_slug = config::repo_slug(env0, &cfg);
    let agent_repo_root = config::agent_repo_root(env0, &cfg);
    let skill_root = config::skill_root(env0, ctx.script_path().as_deref())?;
    let hook_file = skill_root.join("hooks/pr-reconcile-hooks.sh");
    let mut env = ctx.env.clone();
    env.set("ACP_AGENT_ROOT", agent_root.as_os_str());
    env.set("ACP_RUNS_ROOT", runs_root.as_os_str());
    env.set("ACP_HISTORY_ROOT", history_root.as_os_str());
    env.set("ACP_REPO_SLUG", repo_slug.as_str());
    env.set("ACP_AGENT_REPO_ROOT", agent_repo_root.as_os_str());
    env.set("F_LOSNING_RUNS_ROOT", runs_root.as_os_str());
    let mut cmd = ctx.package_tool_command(&env, &skill_root, "agent-project-reconcile-pr-session");
    cmd.arg("--session")
        .arg(session)
        .args(["--repo-slug", &repo_slug])
        .arg("--repo-root")
        .arg(&agent_repo_root)
        .arg("--runs-root")
        .arg(&runs_root)
        .arg("--history-root")
        .arg(&history_root)
        .arg("--hook-file")
        .arg(&hook_file);
    ctx.relay(&mut cmd)
}
