//! `sync-dependency-baseline.sh [--force]`: keep the canonical checkout's
//! (`repo.root`) dependency baseline current so worker worktrees can link
//! or reuse it. What is installed follows what the repository holds (see
//! `acp_session::worktree::baseline`); a Node repository behaves as in
//! 0.2.0. Prints `DEPENDENCY_BASELINE=ready|updated`, `REPO_ROOT=`, `HASH=`
//! and `BASELINE_KIND=` (the ecosystems found, comma-separated, or `none`).

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

use acp_core::cli::{self, Parsed};
use acp_core::config::{self, FlowConfig};
use acp_core::{Invocation, ToolSpec};
use acp_session::worktree::baseline::{self, BaselineRequest};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "sync-dependency-baseline.sh",
    aliases: &["sync-dependency-baseline"],
    paths: &["tools/bin/sync-dependency-baseline.sh"],
    about: "Keep the canonical checkout's dependency baseline current",
    command,
    run,
}];

/// The argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "sync-dependency-baseline.sh",
        "Ensures the canonical checkout (repo.root) has a current dependency baseline: Node \
         packages installed and workspace packages built (ACP_PACKAGE_MANAGER_BIN, \
         ACP_WORKSPACE_BUILD_PACKAGES, ACP_WORKSPACE_BUILD_ARTIFACTS), Cargo and Go caches \
         filled. Current means the lockfiles and HEAD hash to the recorded value.",
    )
    .override_usage("sync-dependency-baseline.sh [--force]")
    .arg(cli::flag("force").help("Install even when the baseline looks current"))
}

/// The request one call resolves to.
pub fn request(env: &acp_core::Env, force: bool) -> anyhow::Result<BaselineRequest> {
    let cfg = FlowConfig::load(env)?;
    Ok(BaselineRequest {
        canonical_root: config::repo_root(env, &cfg),
        state_root: config::state_root(env, &cfg),
        package_manager: env.non_empty("ACP_PACKAGE_MANAGER_BIN"),
        build_packages: env
            .non_empty("ACP_WORKSPACE_BUILD_PACKAGES")
            .map(|raw| baseline::split_list(&raw)),
        build_artifacts: env
            .non_empty("ACP_WORKSPACE_BUILD_ARTIFACTS")
            .map(|raw| baseline::split_list(&raw))
            .unwrap_or_default(),
        force,
    })
}

/// Runs `sync-dependency-baseline.sh`.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let m = match cli::parse(ctx, command(), args, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    let mut env = ctx.env.clone();
    config::export_env_aliases(&mut env);
    let req = request(&env, m.get_flag("force"))?;
    let outcome = baseline::sync(&env, &req, ctx.stdout, ctx.stderr)?;
    let kinds: Vec<&str> = outcome.kinds.iter().map(baseline::Kind::name).collect();
    let mut out = Vec::new();
    out.extend_from_slice(
        format!(
            "DEPENDENCY_BASELINE={}\nREPO_ROOT=",
            if outcome.updated { "updated" } else { "ready" }
        )
        .as_bytes(),
    );
    out.extend_from_slice(outcome.repo_root.as_os_str().as_bytes());
    out.extend_from_slice(
        format!(
            "\nHASH={}\nBASELINE_KIND={}\n",
            outcome.hash,
            if kinds.is_empty() {
                "none".to_string()
            } else {
                kinds.join(",")
            }
        )
        .as_bytes(),
    );
    ctx.stdout.write_all(&out)?;
    Ok(0)
}
