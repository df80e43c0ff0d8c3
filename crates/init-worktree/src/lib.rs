//! `agent-init-worktree`: create a task branch and its worktree next to the
//! repository (run from inside it) and write `.agent-session.env` there.
//!
//! Prints `[agent-init] key=value` plan lines; `--dry-run` prints the planned
//! commands and env file and stops. Otherwise `git worktree add`, the env
//! file (values quoted like `printf %q`), the external
//! `agent-bootstrap-worktree` (unless `--no-bootstrap-deps`) and
//! `agent-claim-task` (with `--claim`) from `PATH`, and the user's
//! `~/.ao/bin/ao-metadata-helper.sh` in a child bash when it exists.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use acp_core::cli::{self, Parsed};
use acp_core::shellquote::{QuoteLocale, quote};
use acp_core::{Invocation, ToolSpec, fail};
use acp_session::worktree::create::{self, InitOptions, InitPlan};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "agent-init-worktree",
    aliases: &["init-worktree"],
    paths: &["tools/bin/agent-init-worktree"],
    about: "Create a task branch + worktree and its .agent-session.env",
    command,
    run,
}];

/// The argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "agent-init-worktree",
        "Creates a dedicated task branch and worktree for an agent, run from inside the \
         repository, and writes .agent-session.env (task branch, worktree path, test run id \
         and seed namespaces) into it. main and master are refused.",
    )
    .override_usage(
        "agent-init-worktree --branch <name> --claim <task-id> [--base <ref>] [--path <dir>] \
         [--allow-unclaimed] [--no-bootstrap-deps] [--dry-run]",
    )
    .arg(cli::opt("branch").help("Task branch (required)"))
    .arg(cli::opt("base").help(
        "Base of a new branch [default: the remote's HEAD branch, else ACP_DEFAULT_BRANCH, \
         else HEAD]",
    ))
    .arg(
        cli::opt("path")
            .value_parser(clap::builder::OsStringValueParser::new())
            .help("Worktree path [default: <repo parent>/<repo name>-<branch slug>]"),
    )
    .arg(cli::opt("claim").help("Shared task claim id (required unless --allow-unclaimed)"))
    .arg(cli::flag("allow-unclaimed").help("Allow a worktree without a claim"))
    .arg(cli::flag("no-bootstrap-deps").help("Do not run agent-bootstrap-worktree"))
    .arg(cli::flag("dry-run").help("Print the plan without creating anything"))
}

/// Everything one call resolved.
#[derive(Debug, Clone)]
pub struct Args {
    pub options: InitOptions,
    pub allow_unclaimed: bool,
    pub bootstrap_deps: bool,
    pub dry_run: bool,
}

impl Args {
    /// Flags and environment (`AO_SESSION_ID`, `ACP_DEFAULT_BRANCH`).
    pub fn from_matches(m: &clap::ArgMatches, ctx: &Invocation<'_>) -> anyhow::Result<Self> {
        let branch = cli::get(m, "branch");
        if branch.is_empty() {
            return Err(fail(1, "--branch is required (see --help)"));
        }
        if branch == "main" || branch == "master" {
            return Err(fail(
                1,
                format!(
                    "[agent-init] Refusing to bootstrap protected branch: {branch} (keep it \
                     read-only; create a dedicated task branch for write work)"
                ),
            ));
        }
        let claim = cli::get(m, "claim");
        let allow_unclaimed = m.get_flag("allow-unclaimed");
        if claim.is_empty() && !allow_unclaimed {
            return Err(fail(
                1,
                "--claim is required for agent task worktrees (--allow-unclaimed only for \
                 exceptional preserve/review cases)",
            ));
        }
        let path = m
            .get_one::<OsString>("path")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from);
        Ok(Self {
            options: InitOptions {
                branch,
                base: Some(cli::get(m, "base")).filter(|b| !b.is_empty()),
                path,
                claim: Some(claim).filter(|c| !c.is_empty()),
                remote: "origin".to_string(),
                default_branch: ctx
                    .env
                    .first_non_empty(&["ACP_DEFAULT_BRANCH", "F_LOSNING_DEFAULT_BRANCH"]),
                session_id: ctx.env.non_empty("AO_SESSION_ID"),
            },
            allow_unclaimed,
            bootstrap_deps: !m.get_flag("no-bootstrap-deps"),
            dry_run: m.get_flag("dry-run"),
        })
    }
}

fn line(out: &mut dyn Write, parts: &[&[u8]]) -> std::io::Result<()> {
    let mut buf = Vec::new();
    for p in parts {
        buf.extend_from_slice(p);
    }
    buf.push(b'\n');
    out.write_all(&buf)
}

fn path_bytes(p: &Path) -> &[u8] {
    p.as_os_str().as_bytes()
}

fn print_plan(out: &mut dyn Write, p: &InitPlan, a: &Args) -> std::io::Result<()> {
    let yes_no = |b: bool| if b { "true" } else { "false" };
    let claim = p.claim.as_deref().unwrap_or("<none>");
    line(out, &[b"[agent-init] repo=", path_bytes(&p.repo_root)])?;
    line(
        out,
        &[b"[agent-init] source_root=", path_bytes(&p.source_root)],
    )?;
    line(out, &[b"[agent-init] branch=", p.branch.as_bytes()])?;
    line(out, &[b"[agent-init] base_ref=", p.base_ref.as_bytes()])?;
    line(
        out,
        &[b"[agent-init] worktree_path=", path_bytes(&p.worktree_path)],
    )?;
    line(
        out,
        &[b"[agent-init] test_namespace=", p.namespace.as_bytes()],
    )?;
    line(
        out,
        &[
            b"[agent-init] branch_exists=",
            yes_no(p.branch_exists).as_bytes(),
        ],
    )?;
    line(
        out,
        &[
            b"[agent-init] bootstrap_deps=",
            yes_no(a.bootstrap_deps).as_bytes(),
        ],
    )?;
    line(out, &[b"[agent-init] claim_task_id=", claim.as_bytes()])?;
    line(
        out,
        &[
            b"[agent-init] allow_unclaimed=",
            yes_no(a.allow_unclaimed).as_bytes(),
        ],
    )
}

fn print_dry_run(
    out: &mut dyn Write,
    p: &InitPlan,
    a: &Args,
    q: QuoteLocale,
) -> std::io::Result<()> {
    let sq = |b: &[u8]| quote(b, q);
    let wt = sq(path_bytes(&p.worktree_path));
    line(out, &[b"[agent-init] dry-run only\n\nPlanned commands:"])?;
    if p.branch_exists {
        line(
            out,
            &[b"  git worktree add ", &wt, b" ", &sq(p.branch.as_bytes())],
        )?;
    } else {
        line(
            out,
            &[
                b"  git worktree add -b ",
                &sq(p.branch.as_bytes()),
                b" ",
                &wt,
                b" ",
                &sq(p.base_ref.as_bytes()),
            ],
        )?;
    }
    line(out, &[b"\nPlanned env file: ", path_bytes(&p.env_file())])?;
    for l in create::env_file_bytes(p, q)
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
    {
        line(out, &[b"  ", l])?;
    }
    if a.bootstrap_deps {
        let src = sq(path_bytes(&p.source_root));
        line(
            out,
            &[
                b"  agent-bootstrap-worktree --source-root ",
                &src,
                b" --path ",
                &wt,
            ],
        )?;
    }
    if let Some(c) = &p.claim {
        let parts: [&[u8]; 6] = [
            b"  agent-claim-task --task ",
            &sq(c.as_bytes()),
            b" --branch ",
            &sq(p.branch.as_bytes()),
            b" --worktree ",
            &wt,
        ];
        line(out, &parts)?;
    }
    Ok(())
}

/// Runs an external helper from `PATH`; its output is relayed and a failure ends the tool.
fn external(
    ctx: &mut Invocation<'_>,
    program: &str,
    args: &[&std::ffi::OsStr],
) -> anyhow::Result<()> {
    let mut cmd = ctx.command(program);
    cmd.args(args);
    let code = ctx
        .relay(&mut cmd)
        .map_err(|e| fail(127, format!("{program}: {e:#}")))?;
    if code != 0 {
        return Err(fail(code, ""));
    }
    Ok(())
}

/// `update_ao_metadata` of the user's AO helper, in a child bash (values as
/// positional arguments, never spliced into code); failures are ignored.
fn ao_metadata(ctx: &mut Invocation<'_>, p: &InitPlan) {
    let helper = ctx.env.home().join(".ao/bin/ao-metadata-helper.sh");
    if !helper.is_file() {
        return;
    }
    let script = r#"source "$1" >/dev/null 2>&1 || exit 0
declare -F update_ao_metadata >/dev/null 2>&1 || exit 0
update_ao_metadata branch "$2" || true
update_ao_metadata worktree "$3" || true
update_ao_metadata test_seed_namespace "$4" || true"#;
    let mut cmd = ctx.command("bash");
    cmd.arg("-c")
        .arg(script)
        .arg("ao-metadata")
        .arg(&helper)
        .arg(&p.branch)
        .arg(&p.worktree_path)
        .arg(&p.namespace);
    let _ = ctx.relay(&mut cmd);
}

/// Runs `agent-init-worktree`.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let m = match cli::parse(ctx, command(), args, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    let a = Args::from_matches(&m, ctx)?;
    let q = QuoteLocale::from_env(&ctx.env);
    let plan = create::plan(&ctx.env, &ctx.cwd, &a.options)?;
    print_plan(ctx.stdout, &plan, &a)?;
    if a.dry_run {
        print_dry_run(ctx.stdout, &plan, &a, q)?;
        return Ok(0);
    }
    create::create(&ctx.env, &ctx.cwd, &plan, q)?;
    if a.bootstrap_deps {
        external(
            ctx,
            "agent-bootstrap-worktree",
            &[
                "--source-root".as_ref(),
                plan.source_root.as_os_str(),
                "--path".as_ref(),
                plan.worktree_path.as_os_str(),
            ],
        )?;
    }
    if let Some(claim) = &plan.claim {
        external(
            ctx,
            "agent-claim-task",
            &[
                "--task".as_ref(),
                claim.as_ref(),
                "--branch".as_ref(),
                plan.branch.as_ref(),
                "--worktree".as_ref(),
                plan.worktree_path.as_os_str(),
            ],
        )?;
    }
    ao_metadata(ctx, &plan);
    let out = &mut *ctx.stdout;
    line(
        out,
        &[
            b"[agent-init] created worktree: ",
            path_bytes(&plan.worktree_path),
        ],
    )?;
    line(
        out,
        &[
            b"[agent-init] wrote env file: ",
            path_bytes(&plan.env_file()),
        ],
    )?;
    if let Some(c) = &plan.claim {
        line(out, &[b"[agent-init] claimed task: ", c.as_bytes()])?;
    }
    line(
        out,
        &[
            b"\nNext:\n  cd ",
            &quote(path_bytes(&plan.worktree_path), q),
        ],
    )?;
    line(out, &[b"  source .agent-session.env"])?;
    Ok(0)
}
