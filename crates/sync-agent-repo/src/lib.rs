//! `sync-agent-repo.sh`: syncs the selected profile's anchor clone. The
//! seed (whose remote URL the anchor follows) is the anchor itself when it
//! is a checkout with the remote, else the profile's repo root, else
//! `ACP_SOURCE_REPO_ROOT` or the retained checkout. It then runs the
//! package's `agent-project-sync-anchor-repo` and relays its output.
//!
//! The default branch is the profile's (`ACP_DEFAULT_BRANCH`,
//! `repo.default_branch`); without one it is left to the anchor sync, which
//! asks the remote's HEAD.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use acp_core::config::{self, FlowConfig};
use acp_core::{Env, Invocation, ToolSpec, fail};
use acp_session::anchor::{is_checkout, profile_default_branch};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "sync-agent-repo.sh",
    aliases: &["sync-agent-repo"],
    paths: &["tools/bin/sync-agent-repo.sh"],
    about: "Sync the selected profile's anchor clone from its best seed checkout",
    command,
    run,
}];

/// The argument description (the original took none).
pub fn command() -> clap::Command {
    acp_core::cli::tool_command(
        "sync-agent-repo.sh",
        "Creates or refreshes the selected profile's anchor clone (runtime.agent_repo_root) \
         through agent-project-sync-anchor-repo. The remote's URL is read from the anchor \
         itself, else the repo root, else ACP_SOURCE_REPO_ROOT or the retained checkout. \
         Environment: ACP_SOURCE_REPO_ROOT, ACP_REMOTE_NAME (default origin), \
         ACP_DEFAULT_BRANCH and the profile selection variables.",
    )
    .override_usage("sync-agent-repo.sh")
}

/// What the profile resolves to.
#[derive(Debug, Clone)]
pub struct Args {
    pub source_repo_root: PathBuf,
    pub repo_root: PathBuf,
    pub agent_repo_root: PathBuf,
    pub default_branch: Option<String>,
    pub remote: String,
    pub skill_root: PathBuf,
}

impl Args {
    /// Environment > `control-plane.yaml` > defaults, as the original's lib.
    pub fn resolve(ctx: &Invocation<'_>) -> anyhow::Result<Self> {
        let env = &ctx.env;
        let cfg = FlowConfig::load(env)?;
        Ok(Self {
            source_repo_root: env
                .path("ACP_SOURCE_REPO_ROOT")
                .unwrap_or_else(|| config::retained_repo_root(env, &cfg)),
            repo_root: config::repo_root(env, &cfg),
            agent_repo_root: config::agent_repo_root(env, &cfg),
            default_branch: profile_default_branch(env, &cfg),
            remote: env.first_or(&["ACP_REMOTE_NAME"], "origin"),
            skill_root: config::skill_root(env, ctx.script_path().as_deref())?,
        })
    }

    /// The checkout whose remote URL the anchor follows.
    pub fn seed(&self, env: &Env) -> anyhow::Result<PathBuf> {
        let has_remote = |p: &Path| {
            acp_core::git::capture(env, p, &["remote", "get-url", &self.remote]).is_some()
        };
        let usable = |p: &Path| !p.as_os_str().is_empty() && is_checkout(p) && has_remote(p);
        let seed = [&self.agent_repo_root, &self.repo_root]
            .into_iter()
            .find(|p| usable(p))
            .unwrap_or(&self.source_repo_root);
        if seed.as_os_str().is_empty() || !is_checkout(seed) {
            return Err(fail(
                1,
                format!(
                    "[sync-agent-repo] source repo is not a Git checkout: {}",
                    seed.display()
                ),
            ));
        }
        if !has_remote(seed) {
            return Err(fail(
                1,
                format!(
                    "[sync-agent-repo] missing remote '{}' in source repo: {}",
                    self.remote,
                    seed.display()
                ),
            ));
        }
        Ok(seed.clone())
    }
}

/// Runs the sync.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if acp_core::cli::first_is_help(args) {
        write!(ctx.stdout, "{}", acp_core::cli::usage(&command()))?;
        return Ok(0);
    }
    let a = Args::resolve(ctx)?;
    let seed = a.seed(&ctx.env)?;
    let env = ctx.env.clone();
    let mut cmd = ctx.package_tool_command(&env, &a.skill_root, "agent-project-sync-anchor-repo");
    cmd.arg("--canonical-root")
        .arg(&seed)
        .arg("--anchor-root")
        .arg(&a.agent_repo_root)
        .args(["--remote", &a.remote]);
    if let Some(branch) = &a.default_branch {
        cmd.args(["--default-branch", branch]);
    }
    ctx.relay(&mut cmd)
}
