//! `agent-project-open-pr-worktree`: fetch the PR's head branch (and the
//! default branch), create `<prefix>-<pr>-<stamp>` from `<remote>/<head ref>`
//! in `<worktree root>/pr-<pr>-<stamp>` through the package's
//! `agent-init-worktree`, run the prepare script, and print `WORKTREE=`,
//! `REF=`, `BRANCH=`.
//!
//! The default branch fetched alongside is the profile's (`ACP_DEFAULT_BRANCH`,
//! `repo.default_branch`), else the one the remote's HEAD names; when
//! neither is known only the head ref is fetched (0.2.0 always fetched
//! `main`, which fails on repositories without one).

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use acp_core::cli::{self, Parsed};
use acp_core::config::{self, FlowConfig};
use acp_core::{Invocation, ToolSpec, fail};
use acp_session::worktree::{naming, open, repo, settings};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "agent-project-open-pr-worktree",
    aliases: &["open-pr-worktree"],
    paths: &["tools/bin/agent-project-open-pr-worktree"],
    about: "Create a PR review/fix worktree on a local branch from the PR head",
    command,
    run,
}];

fn path_opt(name: &'static str) -> clap::Arg {
    cli::opt(name).value_parser(clap::builder::OsStringValueParser::new())
}

/// The argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "agent-project-open-pr-worktree",
        "Creates a dedicated review/fix worktree for a PR on a new local branch from \
         <remote>/<head-ref> with agent-init-worktree, runs the prepare script on it, and \
         prints WORKTREE, REF and BRANCH.",
    )
    .override_usage(
        "agent-project-open-pr-worktree --repo-root <path> --worktree-root <path> --pr-number <id> \
         --head-ref <ref> [--local-branch-prefix <prefix>] [--remote <name>] \
         [--prepare-script <path>] [--stamp <yyyymmdd-hhmmss>]",
    )
    .arg(path_opt("repo-root").help("Repository [env: AGENT_PROJECT_REPO_ROOT]"))
    .arg(
        path_opt("worktree-root")
            .help("Parent of the worktrees [env: AGENT_PROJECT_WORKTREE_ROOT]"),
    )
    .arg(cli::opt("pr-number").help("PR number (required)"))
    .arg(cli::opt("head-ref").help("The PR's head branch (required)"))
    .arg(cli::opt("local-branch-prefix").help(
        "Local branch prefix [default: session_naming.pr_worktree_branch_prefix, agent/<id>/pr]",
    ))
    .arg(cli::opt("remote").help("Remote [default: origin]"))
    .arg(path_opt("prepare-script").help("Script run with the new worktree's path"))
    .arg(cli::opt("stamp").help("Name stamp [default: now, YYYYmmdd-HHMMSS]"))
}

fn os_or_env(m: &clap::ArgMatches, name: &str, env: &acp_core::Env, var: &str) -> OsString {
    if cli::given(m, name) {
        m.get_one::<OsString>(name).cloned().unwrap_or_default()
    } else {
        env.get_os(var)
            .map(|v| v.to_os_string())
            .unwrap_or_default()
    }
}

/// Everything one call resolved.
#[derive(Debug, Clone)]
pub struct Args {
    pub open: open::Open,
    pub head_ref: String,
    pub remote: String,
    /// Fetched with the head ref when known.
    pub default_branch: Option<String>,
    pub prepare_script: Option<PathBuf>,
}

impl Args {
    /// Flags, then `AGENT_PROJECT_*` and the selected profile.
    pub fn from_matches(
        m: &clap::ArgMatches,
        ctx: &Invocation<'_>,
        env: &acp_core::Env,
    ) -> anyhow::Result<Self> {
        let cfg = FlowConfig::load(env)?;
        let repo_root = os_or_env(m, "repo-root", env, "AGENT_PROJECT_REPO_ROOT");
        let worktree_root = os_or_env(m, "worktree-root", env, "AGENT_PROJECT_WORKTREE_ROOT");
        let pr = cli::get(m, "pr-number");
        let head_ref = cli::get(m, "head-ref");
        if repo_root.is_empty() || worktree_root.is_empty() || pr.is_empty() || head_ref.is_empty()
        {
            return Err(fail(
                1,
                format!(
                    "--repo-root, --worktree-root, --pr-number and --head-ref are required\n{}",
                    cli::usage(&command()).trim_end()
                ),
            ));
        }
        naming::check_word("--pr-number", &pr).map_err(|e| fail(1, e))?;
        let stamp = Some(cli::get(m, "stamp"))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(naming::stamp_now);
        naming::check_word("--stamp", &stamp).map_err(|e| fail(1, e))?;
        let remote = Some(cli::get(m, "remote"))
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "origin".into());
        let prefix = if cli::given(m, "local-branch-prefix") {
            cli::get(m, "local-branch-prefix")
        } else {
            settings::pr_branch_prefix(env, &cfg)
        };
        let repo_root = open::absolute(&ctx.cwd, &PathBuf::from(repo_root));
        if head_ref.starts_with('-') || !repo::valid_branch_name(env, &repo_root, &head_ref) {
            return Err(fail(1, format!("invalid --head-ref: {head_ref:?}")));
        }
        let worktree_root = open::absolute(&ctx.cwd, &PathBuf::from(worktree_root));
        cli::printable("--worktree-root", &worktree_root.to_string_lossy())
            .map_err(|e| fail(1, e))?;
        let default_branch = settings::configured_default_branch(env, &cfg)
            .or_else(|| settings::remote_head_branch(env, &repo_root, &remote))
            .filter(|b| *b != head_ref);
        Ok(Self {
            open: open::Open {
                worktree_path: worktree_root.join(naming::pr_dir_name(&pr, &stamp)),
                branch: naming::pr_branch(&prefix, &pr, &stamp),
                base_ref: format!("{remote}/{head_ref}"),
                repo_root,
            },
            head_ref,
            remote,
            default_branch,
            prepare_script: m
                .get_one::<OsString>("prepare-script")
                .filter(|p| !p.is_empty())
                .map(PathBuf::from),
        })
    }
}

/// Runs `agent-project-open-pr-worktree`.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let m = match cli::parse(ctx, command(), args, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    let mut env = ctx.env.clone();
    config::export_env_aliases(&mut env);
    let a = Args::from_matches(&m, ctx, &env)?;
    let skill = config::skill_root(&env, ctx.script_path().as_deref())
        .or_else(|_| ctx.script_dir().map(|d| d.join("../..")).ok_or(()))
        .unwrap_or_default();
    let mut branches: Vec<&str> = a.default_branch.iter().map(String::as_str).collect();
    branches.push(&a.head_ref);
    repo::fetch_branches(&env, &a.open.repo_root, &a.remote, &branches)?;
    let init = ctx.package_tool_command(&env, &skill, "agent-init-worktree");
    let prepare = a.prepare_script.as_ref().map(|p| {
        let mut c = ctx.command(p);
        env.apply(&mut c);
        c
    });
    a.open.make(&env, init, prepare, ctx.stderr)?;
    let mut out = Vec::new();
    out.extend_from_slice(b"WORKTREE=");
    out.extend_from_slice(a.open.worktree_path.as_os_str().as_bytes());
    out.extend_from_slice(
        format!("\nREF={}\nBRANCH={}\n", a.open.base_ref, a.open.branch).as_bytes(),
    );
    ctx.stdout.write_all(&out)?;
    Ok(0)
}
