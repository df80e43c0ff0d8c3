//! The command-line front shared by the three catch-up passes: the same
//! flags (`--repo-slug --state-root --hook-file [--limit]`), the hook file
//! loaded once, one `Gh`, and the exit status (1 when a list could not be
//! read or one of our own GitHub calls failed; a failing hook only prints
//! its `CATCHUP_FAILED_*` line, as in the original).

use std::io::Write;
use std::path::{Path, PathBuf};

use acp_core::Env;
use acp_core::config::{self, FlowConfig};

use super::{Ctx, HookFile, LazyGh, issue_links, scheduled, terminal_prs};

/// Which pass to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    TerminalPrs,
    IssueLinks,
    ScheduledRetries,
}

/// One catch-up call's arguments.
#[derive(Debug, Clone, Default)]
pub struct PassArgs {
    pub repo: String,
    pub state_root: PathBuf,
    pub hook_file: Option<PathBuf>,
    pub limit: usize,
}

/// The managed-branch prefixes of the selected profile
/// (`ACP_MANAGED_PR_BRANCH_GLOBS` > `session_naming.managed_pr_branch_globs`
/// > `agent/<id>/* codex/* openclaw/*`).
pub fn managed_prefixes(env: &Env) -> anyhow::Result<Vec<String>> {
    let cfg = FlowConfig::load(env)?;
    let globs = config::env_or_config_with(
        env,
        &cfg,
        &[
            "ACP_MANAGED_PR_BRANCH_GLOBS",
            "F_LOSNING_MANAGED_PR_BRANCH_GLOBS",
        ],
        "session_naming.managed_pr_branch_globs",
        || {
            format!(
                "agent/{}/* codex/* openclaw/*",
                config::adapter_id(env, &cfg)
            )
        },
    );
    Ok(super::managed_prefixes(&globs))
}

/// Runs `pass`; returns the exit code.
pub fn run(
    pass: Pass,
    a: &PassArgs,
    env: &Env,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<i32> {
    let hooks = match &a.hook_file {
        Some(p) => Some(HookFile::load(p, env)?),
        None => None,
    };
    let gh = LazyGh::new(env.clone());
    let mut cx = Ctx {
        repo: &a.repo,
        state_root: &a.state_root,
        hooks: hooks.as_ref(),
        gh: &gh,
        out,
        err,
        failed: false,
    };
    match pass {
        Pass::TerminalPrs => {
            let needs_config = cx.hook("heartbeat_pr_risk_json").is_none();
            let settings = terminal_prs::Settings {
                limit: a.limit,
                managed_prefixes: if needs_config {
                    managed_prefixes(env)?
                } else {
                    Vec::new()
                },
                adapter_bin_dir: env.non_empty("ADAPTER_BIN_DIR").map(PathBuf::from),
                env: env.clone(),
            };
            terminal_prs::run(&mut cx, &settings)?;
        }
        Pass::IssueLinks => issue_links::run(&mut cx)?,
        Pass::ScheduledRetries => scheduled::run(&mut cx, a.limit)?,
    }
    Ok(if cx.failed { 1 } else { 0 })
}

/// `Some(path)` for a given, non-empty path.
pub fn given_path(p: &str) -> Option<PathBuf> {
    (!p.is_empty()).then(|| Path::new(p).to_path_buf())
}
