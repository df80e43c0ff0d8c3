//! `agent-project-open-issue-worktree`: fetch the base, create the issue
//! branch `<prefix>-<issue>-<slug>-<stamp>` in `<worktree root>/issue-<issue>-<stamp>`
//! through the package's `agent-init-worktree`, run the prepare script, and
//! print `WORKTREE=`, `BRANCH=`, `BASE_REF=`.
//!
//! Without `--base` the base is `<remote>/<default branch>`: `ACP_DEFAULT_BRANCH`,
//! else the branch the remote's HEAD names in the repository, else `main`
//! (0.2.0 always used `origin/main`).

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use acp_core::cli::{self, Parsed};
use acp_core::{Invocation, ToolSpec, fail};
use acp_session::worktree::{naming, open, settings};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "agent-project-open-issue-worktree",
    aliases: &["open-issue-worktree"],
    paths: &["tools/bin/agent-project-open-issue-worktree"],
    about: "Create an issue branch + worktree and prepare it",
    command,
    run,
}];

fn path_opt(name: &'static str) -> clap::Arg {
    cli::opt(name).value_parser(clap::builder::OsStringValueParser::new())
}

/// The argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "agent-project-open-issue-worktree",
        "Creates a dedicated issue branch and worktree from the freshly fetched base with \
         agent-init-worktree, runs the prepare script on it, and prints WORKTREE, BRANCH and \
         BASE_REF.",
    )
    .override_usage(
        "agent-project-open-issue-worktree --repo-root <path> --worktree-root <path> --issue-id <id> \
         [--slug <text>] [--branch-prefix <prefix>] [--base <ref>] [--remote <name>] \
         [--prepare-script <path>] [--stamp <yyyymmdd-hhmmss>]",
    )
    .arg(path_opt("repo-root").help("Repository to branch from [env: AGENT_PROJECT_REPO_ROOT]"))
    .arg(path_opt("worktree-root").help("Parent of the worktrees [env: AGENT_PROJECT_WORKTREE_ROOT]"))
    .arg(cli::opt("issue-id").help("Issue number (required)"))
    .arg(cli::opt("slug").help("Text for the branch slug [default: task]"))
    .arg(cli::opt("branch-prefix").help("Branch prefix [default: agent/project/issue]"))
    .arg(cli::opt("base").help(
        "Base ref [default: <remote>/<ACP_DEFAULT_BRANCH, else the remote's HEAD branch, else main>]",
    ))
    .arg(cli::opt("remote").help("Remote [default: origin]"))
    .arg(path_opt("prepare-script").help("Script run with the new worktree's path"))
    .arg(cli::opt("stamp").help("Name stamp [default: now, YYYYmmdd-HHMMSS]"))
}

/// Everything one call resolved.
#[derive(Debug, Clone)]
pub struct Args {
    pub open: open::Open,
    pub remote: String,
    pub prepare_script: Option<PathBuf>,
}

fn os_or_env(m: &clap::ArgMatches, name: &str, ctx: &Invocation<'_>, var: &str) -> OsString {
    if cli::given(m, name) {
        m.get_one::<OsString>(name).cloned().unwrap_or_default()
    } else {
        ctx.env
            .get_os(var)
            .map(|v| v.to_os_string())
            .unwrap_or_default()
    }
}

impl Args {
    /// Flags, then `AGENT_PROJECT_*` and `ACP_DEFAULT_BRANCH`.
    pub fn from_matches(m: &clap::ArgMatches, ctx: &Invocation<'_>) -> anyhow::Result<Self> {
        let repo_root = os_or_env(m, "repo-root", ctx, "AGENT_PROJECT_REPO_ROOT");
        let worktree_root = os_or_env(m, "worktree-root", ctx, "AGENT_PROJECT_WORKTREE_ROOT");
        let issue = cli::get(m, "issue-id");
        if repo_root.is_empty() || worktree_root.is_empty() || issue.is_empty() {
            return Err(fail(
                1,
                format!(
                    "--repo-root, --worktree-root and --issue-id are required\n{}",
                    cli::usage(&command()).trim_end()
                ),
            ));
        }
        naming::check_word("--issue-id", &issue).map_err(|e| fail(1, e))?;
        let stamp = Some(cli::get(m, "stamp"))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(naming::stamp_now);
        naming::check_word("--stamp", &stamp).map_err(|e| fail(1, e))?;
        let remote = Some(cli::get(m, "remote"))
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "origin".into());
        let prefix = Some(cli::get(m, "branch-prefix"))
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "agent/project/issue".into());
        let slug = if cli::given(m, "slug") {
            cli::get(m, "slug")
        } else {
            "task".into()
        };
        let repo_root = open::absolute(&ctx.cwd, &PathBuf::from(repo_root));
        let base = Some(cli::get(m, "base"))
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| {
                let branch = ctx
                    .env
                    .first_non_empty(&["ACP_DEFAULT_BRANCH", "F_LOSNING_DEFAULT_BRANCH"])
                    .or_else(|| settings::remote_head_branch(&ctx.env, &repo_root, &remote))
                    .unwrap_or_else(|| "main".into());
                format!("{remote}/{branch}")
            });
        let worktree_root = open::absolute(&ctx.cwd, &PathBuf::from(worktree_root));
        let prepare_script = m
            .get_one::<OsString>("prepare-script")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from);
        cli::printable("--worktree-root", &worktree_root.to_string_lossy())
            .map_err(|e| fail(1, e))?;
        Ok(Self {
            open: open::Open {
                worktree_path: worktree_root.join(naming::issue_dir_name(&issue, &stamp)),
                branch: naming::issue_branch(&prefix, &issue, &slug, &stamp),
                base_ref: base,
                repo_root,
            },
            remote,
            prepare_script,
        })
    }
}

/// Runs `agent-project-open-issue-worktree`.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let m = match cli::parse(ctx, command(), args, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    let a = Args::from_matches(&m, ctx)?;
    open::fetch_base(&ctx.env, &a.open.repo_root, &a.remote, &a.open.base_ref)?;
    // 0.2.0 ran `<script dir>/../../tools/bin/agent-init-worktree`.
    let package_root = ctx
        .script_dir()
        .map(|d| d.join("../.."))
        .unwrap_or_default();
    let init = ctx.package_tool_command(&ctx.env, &package_root, "agent-init-worktree");
    let prepare = a.prepare_script.as_ref().map(|p| ctx.command(p));
    a.open.make(&ctx.env, init, prepare, ctx.stderr)?;
    let mut out = Vec::new();
    out.extend_from_slice(b"WORKTREE=");
    out.extend_from_slice(a.open.worktree_path.as_os_str().as_bytes());
    out.extend_from_slice(
        format!("\nBRANCH={}\nBASE_REF={}\n", a.open.branch, a.open.base_ref).as_bytes(),
    );
    ctx.stdout.write_all(&out)?;
    Ok(0)
}
