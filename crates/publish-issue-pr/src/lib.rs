//! `agent-project-publish-issue-pr` and `publish-issue-worker.sh`: publish an
//! issue worker's branch as a PR, after its guards pass, and link the PR
//! from the issue with one `Opened PR #<n>: <url>` comment.
//!
//! The PR targets the repository's default branch (`--base-branch`, else the
//! profile's `repo.default_branch` or `ACP_DEFAULT_BRANCH`, else the
//! remote's HEAD, else `main`; F9). Nothing is pushed before every guard
//! passed. The run.env is read as data (F1) and its branch name is checked
//! before git sees it.

mod comment;
mod flow;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use acp_core::cli::{self, Parsed};
use acp_core::config::{self as settings, FlowConfig};
use acp_core::{Env, Invocation, ToolSpec, fail, git};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[
    ToolSpec {
        name: "agent-project-publish-issue-pr",
        aliases: &["publish-issue-pr"],
        paths: &["tools/bin/agent-project-publish-issue-pr"],
        about: "Publish an issue worker branch as a PR and link it from the issue",
        command,
        run,
    },
    ToolSpec {
        name: "publish-issue-worker.sh",
        aliases: &["publish-issue-worker"],
        paths: &["tools/bin/publish-issue-worker.sh"],
        about: "Publish a session's issue branch with the profile's settings",
        command: worker_command,
        run: run_worker,
    },
];

/// The publisher's argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "agent-project-publish-issue-pr",
        "Turns an issue worker's branch into a PR (or finds the open one) and makes sure the \
         issue carries exactly one host comment pointing at it. The scope, localization and \
         verification guards run before anything is pushed.",
    )
    .override_usage(
        "agent-project-publish-issue-pr --repo-slug <owner/repo> --runs-root <path> --session <id> \
         [--history-root <path>] [--base-branch <name>] [--remote <name>] \
         [--keep-open-label <label>] [--dry-run]",
    )
    .arg(cli::opt("repo-slug").help("The GitHub repository (owner/name)"))
    .arg(cli::opt("runs-root").help("Parent of the live run directories"))
    .arg(cli::opt("session").help("The issue worker's session"))
    .arg(cli::opt("history-root").help("Parent of archived runs [default: the profile's]"))
    .arg(cli::opt("base-branch").help(
        "Branch the PR targets [default: the profile's default branch, else the remote's HEAD]",
    ))
    .arg(cli::opt("remote").help("Remote to fetch from and push to [default: origin]"))
    .arg(
        cli::opt("keep-open-label").help(
            "An issue carrying this label stays open: closing keywords become `Related to #N`",
        ),
    )
    .arg(cli::flag("dry-run").help("Say what would be created; push, create and post nothing"))
}

/// One publication's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub repo_slug: String,
    pub runs_root: PathBuf,
    pub session: String,
    pub history_root: PathBuf,
    pub base_branch: String,
    pub remote: String,
    pub keep_open_label: String,
    pub dry_run: bool,
    /// `agent_repo_root` and `worktree_root` of the profile.
    pub repo_root: PathBuf,
    pub worktree_root: PathBuf,
}

impl Args {
    fn from_matches(m: &clap::ArgMatches, env: &Env) -> anyhow::Result<Self> {
        let (repo_slug, runs_root) = (cli::get(m, "repo-slug"), cli::get(m, "runs-root"));
        let session = cli::get(m, "session");
        cli::require(&repo_slug, "--repo-slug", 1)?;
        cli::require(&runs_root, "--runs-root", 1)?;
        cli::require(&session, "--session", 1)?;
        cli::plain_name("--session", &session).map_err(|e| fail(1, e))?;
        let cfg = FlowConfig::load(env)?;
        let repo_root = settings::agent_repo_root(env, &cfg);
        let remote = cli::given_or(m, "remote", || "origin".to_string());
        check_remote(&remote)?;
        let base_branch = match cli::given(m, "base-branch") {
            true => cli::get(m, "base-branch"),
            false => default_branch(env, &cfg, &repo_root, &remote),
        };
        acp_session::publish::check_branch(&base_branch)
            .map_err(|e| fail(1, format!("--base-branch: {e}")))?;
        Ok(Self {
            history_root: match cli::given(m, "history-root") {
                true => PathBuf::from(cli::get(m, "history-root")),
                false => settings::history_root(env, &cfg),
            },
            worktree_root: settings::worktree_root(env, &cfg),
            repo_slug,
            runs_root: PathBuf::from(runs_root),
            session,
            base_branch,
            remote,
            keep_open_label: cli::get(m, "keep-open-label"),
            dry_run: m.get_flag("dry-run"),
            repo_root,
        })
    }
}

/// A remote name git cannot take for an option or a path.
fn check_remote(remote: &str) -> anyhow::Result<()> {
    let bad = remote.is_empty()
        || remote.starts_with('-')
        || remote.contains('/')
        || remote.chars().any(|c| c.is_control() || c.is_whitespace());
    if bad {
        return Err(fail(
            1,
            format!("--remote {remote:?} is not a usable remote name"),
        ));
    }
    Ok(())
}

/// The branch PRs target (F9): `ACP_DEFAULT_BRANCH` /
/// `F_LOSNING_DEFAULT_BRANCH`, else `repo.default_branch`, else the
/// branch the remote's HEAD points at in the local clone, else `main`.
pub fn default_branch(env: &Env, cfg: &FlowConfig, repo_root: &Path, remote: &str) -> String {
    acp_core::config::default_branch_setting(env, cfg)
        .or_else(|| git::remote_head_branch(env, repo_root, remote))
        .unwrap_or_else(|| "main".to_string())
}

/// Runs the publisher.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let m = match cli::parse(ctx, command(), args, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    let a = Args::from_matches(&m, &ctx.env)?;
    flow::publish(ctx, &a)
}

/// A package tool the publisher runs: `<script dir>/../../tools/bin/<name>`
/// (the original's layout, where callers put stubs), run directly when
/// executable and through bash otherwise; without that file, this binary
/// runs the tool.
pub(crate) fn package_tool(ctx: &Invocation<'_>, name: &str) -> Command {
    let path = ctx
        .script_dir()
        .map(|d| d.join("../../tools/bin").join(name))
        .filter(|p| p.is_file());
    let mut cmd = match path {
        Some(p) if acp_core::fsx::is_executable(&p) => Command::new(p),
        Some(p) => {
            let mut c = Command::new("bash");
            c.arg(p);
            c
        }
        None => {
            let mut c = Command::new(&ctx.exe);
            c.arg(name);
            c
        }
    };
    ctx.env.apply(&mut cmd);
    cmd.current_dir(&ctx.cwd);
    cmd
}

/// Whether `<script dir>/../../tools/bin/<name>` is an executable file.
pub(crate) fn package_tool_is_executable(ctx: &Invocation<'_>, name: &str) -> bool {
    ctx.script_dir()
        .map(|d| d.join("../../tools/bin").join(name))
        .is_some_and(|p| acp_core::fsx::is_executable(&p))
}

/// `publish-issue-worker.sh`'s argument parser.
pub fn worker_command() -> clap::Command {
    cli::tool_command(
        "publish-issue-worker.sh",
        "Publishes SESSION's issue branch with the selected profile's repository, roots and \
         default branch (agent-project-publish-issue-pr --remote origin).",
    )
    .override_usage("publish-issue-worker.sh SESSION [--dry-run]")
    .arg(clap::Arg::new("session").help("The issue worker's session"))
    .arg(clap::Arg::new("mode").help("--dry-run to only say what would be done"))
}

/// Runs `publish-issue-worker.sh SESSION [--dry-run]`.
pub fn run_worker(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if cli::first_is_help(args) {
        write!(ctx.stdout, "{}", cli::usage(&worker_command()))?;
        return Ok(0);
    }
    let session = args
        .first()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if session.is_empty() {
        return Err(fail(
            1,
            "usage: publish-issue-worker.sh SESSION [--dry-run]",
        ));
    }
    let env = ctx.env.clone();
    let cfg = FlowConfig::load(&env)?;
    let repo_root = settings::agent_repo_root(&env, &cfg);
    let skill = settings::skill_root(&env, ctx.script_path().as_deref())?;
    let mut cmd = ctx.package_tool_command(&env, &skill, "agent-project-publish-issue-pr");
    cmd.arg("--repo-slug").arg(settings::repo_slug(&env, &cfg));
    cmd.arg("--runs-root").arg(settings::runs_root(&env, &cfg));
    cmd.arg("--history-root")
        .arg(settings::history_root(&env, &cfg));
    cmd.args(["--session", &session]);
    cmd.args([
        "--base-branch",
        &default_branch(&env, &cfg, &repo_root, "origin"),
    ]);
    cmd.args(["--remote", "origin"]);
    if args.get(1).is_some_and(|a| a == "--dry-run") {
        cmd.arg("--dry-run");
    }
    ctx.relay(&mut cmd)
}
