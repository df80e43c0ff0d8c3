//! `prepare-worktree.sh WORKTREE`: make a task worktree ready for an agent.
//!
//! Refuses the canonical checkout (`repo.root`) and the dependency source
//! (`ACP_DEPENDENCY_SOURCE_ROOT`); creates `.openclaw-artifacts/` and the
//! worktree's own excludes file; refreshes the dependency baseline
//! (`ACP_SYNC_DEPENDENCY_BASELINE_SCRIPT`, default the sibling
//! `sync-dependency-baseline.sh`; errors ignored) when the dependency source
//! is the canonical checkout; then installs what the repository needs:
//! the profile's install command when it names one, else per ecosystem
//! found (Node as in 0.2.0: link `node_modules` from the dependency source,
//! or `ACP_WORKTREE_LOCAL_INSTALL=true` to install in the worktree; Cargo,
//! Python, Go installed in the worktree). Prints `WORKTREE=` and
//! `SANDBOX_ARTIFACT_DIR=`.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use acp_core::config::{self, FlowConfig};
use acp_core::{Invocation, ToolSpec, fail, fsx};
use acp_session::worktree::{prepare, settings};

const NAME: &str = "prepare-worktree.sh";

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: NAME,
    aliases: &["prepare-worktree"],
    paths: &["tools/bin/prepare-worktree.sh"],
    about: "Prepare a task worktree: artifacts dir, excludes, dependencies",
    command,
    run,
}];

/// The argument parser (positional, for `--help`).
pub fn command() -> clap::Command {
    acp_core::cli::tool_command(
        NAME,
        "Prepares a worker worktree: .openclaw-artifacts/, a per-worktree excludes file, the \
         dependency baseline, and the dependencies the repository needs (Node, Cargo, Python, \
         Go, or the profile's dependencies.install_command). Prints WORKTREE and \
         SANDBOX_ARTIFACT_DIR.",
    )
    .override_usage("prepare-worktree.sh WORKTREE")
    .arg(
        clap::Arg::new("worktree")
            .value_name("WORKTREE")
            .help("The worktree to prepare"),
    )
}

/// Everything one call resolved.
#[derive(Debug, Clone)]
pub struct Args {
    pub request: prepare::PrepareRequest,
    pub sync_script: PathBuf,
}

impl Args {
    /// The worktree word, the environment and the selected profile.
    pub fn resolve(
        ctx: &Invocation<'_>,
        env: &acp_core::Env,
        words: &[OsString],
    ) -> anyhow::Result<Self> {
        let Some(worktree) = words.first().filter(|w| !w.is_empty()) else {
            return Err(fail(1, format!("{NAME}: usage: {NAME} WORKTREE")));
        };
        let cfg = FlowConfig::load(env)?;
        let canonical_root = config::repo_root(env, &cfg);
        let dependency_root = env
            .path("ACP_DEPENDENCY_SOURCE_ROOT")
            .unwrap_or_else(|| canonical_root.clone());
        let sync_script = env
            .path("ACP_SYNC_DEPENDENCY_BASELINE_SCRIPT")
            .or_else(|| {
                ctx.script_dir()
                    .map(|d| d.join("sync-dependency-baseline.sh"))
            })
            .unwrap_or_default();
        Ok(Self {
            request: prepare::PrepareRequest {
                worktree: PathBuf::from(worktree),
                canonical_root,
                dependency_root,
                package_manager: env.non_empty("ACP_PACKAGE_MANAGER_BIN"),
                local_install: env.get("ACP_WORKTREE_LOCAL_INSTALL").as_deref() == Some("true"),
                install_command: settings::install_command(env, &cfg),
            },
            sync_script,
        })
    }
}

/// Runs `prepare-worktree.sh`.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if acp_core::cli::first_is_help(args) {
        write!(ctx.stdout, "{}", acp_core::cli::usage(&command()))?;
        return Ok(0);
    }
    let mut env = ctx.env.clone();
    config::export_env_aliases(&mut env);
    let a = Args::resolve(ctx, &env, args)?;
    let req = &a.request;
    req.check_target()?;
    let kinds = req.kinds();
    let artifacts = prepare::configure(&env, &req.worktree, &kinds)?;
    if req.baseline_applies() && fsx::is_executable(&a.sync_script) {
        // Not fatal: a worker can start without a fresh baseline.
        let mut cmd = ctx.command(&a.sync_script);
        env.apply(&mut cmd);
        let _ = acp_core::process::output(&mut cmd);
    }
    prepare::install(&env, req, &kinds, ctx.stdout, ctx.stderr)?;
    let mut out = Vec::new();
    for (key, path) in [
        ("WORKTREE=", &req.worktree),
        ("SANDBOX_ARTIFACT_DIR=", &artifacts),
    ] {
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(path.as_os_str().as_bytes());
        out.push(b'\n');
    }
    ctx.stdout.write_all(&out)?;
    Ok(0)
}
