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

/// What differs between the three catch-up tools' command lines.
#[derive(Debug, Clone, Copy)]
pub struct ToolText {
    pub name: &'static str,
    pub long_about: &'static str,
    pub limit_help: &'static str,
    pub pass: Pass,
}

impl ToolText {
    fn usage(&self) -> String {
        format!(
            "{} --repo-slug <owner/repo> --state-root <path> --hook-file <path> [--limit <n>]",
            self.name
        )
    }

    /// The argument parser of the tool (the same flags for all three).
    pub fn command(&self) -> clap::Command {
        use acp_core::cli;
        cli::tool_command(self.name, self.long_about)
            .override_usage(self.usage())
            .arg(cli::opt("repo-slug").help("owner/name of the repository"))
            .arg(cli::opt("state-root").help("The profile's state directory"))
            .arg(
                cli::opt("hook-file").help("Bash hook file whose functions replace built-in steps"),
            )
            .arg(cli::opt("limit").help(self.limit_help))
    }

    /// Flags into the pass's arguments; a missing flag prints the usage and
    /// exits 1 (as the originals), a --limit that is not a number exits 1.
    pub fn args(&self, m: &clap::ArgMatches) -> anyhow::Result<PassArgs> {
        use acp_core::{cli, fail};
        let (repo, state_root, hook_file) = (
            cli::get(m, "repo-slug"),
            cli::get(m, "state-root"),
            cli::get(m, "hook-file"),
        );
        if repo.is_empty() || state_root.is_empty() || hook_file.is_empty() {
            return Err(fail(1, format!("usage: {}", self.usage())));
        }
        let limit = cli::given_or(m, "limit", || "100".to_string());
        let limit = limit
            .parse()
            .map_err(|_| fail(1, format!("--limit must be a number, not {limit:?}")))?;
        Ok(PassArgs {
            repo,
            state_root: state_root.into(),
            hook_file: given_path(&hook_file),
            limit,
        })
    }

    /// Parses `argv` and runs the pass.
    pub fn run(
        &self,
        ctx: &mut acp_core::Invocation<'_>,
        argv: &[std::ffi::OsString],
    ) -> anyhow::Result<i32> {
        use acp_core::cli::{self, Parsed};
        let m = match cli::parse(ctx, self.command(), argv, 1)? {
            Parsed::Matches(m) => m,
            Parsed::Exit(code) => return Ok(code),
        };
        let a = self.args(&m)?;
        run(self.pass, &a, &ctx.env, ctx.stdout, ctx.stderr)
    }
}
