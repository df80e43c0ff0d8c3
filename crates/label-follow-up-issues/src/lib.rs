//! `label-follow-up-issues.sh SESSION`, at both of the original's paths:
//! `bin/label-follow-up-issues.sh` labels the follow-up issues
//! (`acp_session::catchup::follow_up`); `tools/bin/label-follow-up-issues.sh`
//! resolves the profile's runs root and runs the package's
//! `bin/label-follow-up-issues.sh` with it (or, when that file is missing,
//! does the same work itself).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use acp_core::config::{self, FlowConfig};
use acp_core::{Env, Invocation, ToolSpec, cli, fail};
use acp_session::catchup::LazyGh;
use acp_session::catchup::follow_up::{self, Step};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "label-follow-up-issues.sh",
    aliases: &["label-follow-up-issues"],
    paths: &[
        "bin/label-follow-up-issues.sh",
        "tools/bin/label-follow-up-issues.sh",
    ],
    about: "Label the follow-up issues a worker session pointed to",
    command,
    run,
}];

const USAGE: &str = "label-follow-up-issues.sh SESSION";

/// The argument description (one positional word).
pub fn command() -> clap::Command {
    cli::tool_command(
        "label-follow-up-issues.sh",
        "Reads the session's run metadata (ISSUE_ID, STARTED_AT; from worker-status or the \
         newest archived run), collects the #N references in the comments the GitHub user \
         (GITHUB_ACTOR, else gh's login) wrote on that issue since the session started, and \
         adds agent-e2e-heavy to each open, idle one that issue-resource-class.sh calls E2E. \
         Prints LABELED=<n> per issue visited and COUNT=<n>.",
    )
    .override_usage(USAGE)
    .arg(
        clap::Arg::new("session")
            .value_name("SESSION")
            .help("The worker session whose issue's follow-ups are labelled"),
    )
}

/// Runs the tool at either path.
pub fn run(ctx: &mut Invocation<'_>, argv: &[OsString]) -> anyhow::Result<i32> {
    if cli::first_is_help(argv) {
        write!(ctx.stdout, "{}", cli::usage(&command()))?;
        return Ok(0);
    }
    let Some(session) = argv.first().filter(|s| !s.is_empty()) else {
        return Err(fail(1, format!("SESSION: usage: {USAGE}")));
    };
    let session = session.to_string_lossy().into_owned();
    let script = ctx.script_path();
    let in_tools = script
        .as_deref()
        .and_then(Path::parent)
        .is_some_and(|d| d.ends_with("tools/bin"));
    let cfg = FlowConfig::load(&ctx.env)?;
    let runs_root = config::runs_root(&ctx.env, &cfg);
    let bin_parent = script
        .as_deref()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .map(Path::to_path_buf);
    let skill = match bin_parent {
        Some(p) if !in_tools => p,
        _ => config::skill_root(&ctx.env, script.as_deref())?,
    };
    if in_tools {
        let target = skill.join("bin/label-follow-up-issues.sh");
        if target.is_file() {
            let mut env = ctx.env.clone();
            env.set("ACP_RUNS_ROOT", runs_root.as_os_str());
            env.set("F_LOSNING_RUNS_ROOT", runs_root.as_os_str());
            let mut cmd = Command::new("bash");
            cmd.arg(&target).arg(&session);
            env.apply(&mut cmd);
            cmd.current_dir(&ctx.cwd);
            return ctx.relay(&mut cmd);
        }
    }
    let args = follow_up::Args {
        session: session.clone(),
        history_root: config::history_root(&ctx.env, &cfg),
        repo: config::repo_slug(&ctx.env, &cfg),
        repo_id: config::repo_id(&ctx.env, &cfg),
        actor: ctx.env.non_empty("GITHUB_ACTOR"),
    };
    let gh = LazyGh::new(ctx.env.clone());
    let step = |s: Step| step_command(ctx, &skill, &runs_root, &args, s);
    let mut out = Vec::new();
    let result = follow_up::run(&args, &gh, &step, &mut out);
    ctx.stdout.write_all(&out)?;
    result.map(|()| 0)
}

/// The command of one helper step, at the original's paths.
fn step_command(
    ctx: &Invocation<'_>,
    skill: &Path,
    runs_root: &Path,
    a: &follow_up::Args,
    s: Step,
) -> Command {
    let env: &Env = &ctx.env;
    match s {
        Step::WorkerStatus => {
            let mut c = ctx.package_tool_command(env, skill, "agent-project-worker-status");
            c.arg("--runs-root")
                .arg(runs_root)
                .args(["--session", &a.session]);
            c
        }
        Step::ResourceClass(n) => {
            let script: PathBuf = skill.join("bin/issue-resource-class.sh");
            let mut c = Command::new(script);
            c.arg(n.to_string());
            env.apply(&mut c);
            c.current_dir(&ctx.cwd);
            c
        }
        Step::AddHeavyLabel(n) => {
            let mut c = ctx.package_tool_command(env, skill, "agent-github-update-labels");
            c.args(["--repo-slug", &a.repo, "--number", &n.to_string()])
                .args(["--add", follow_up::HEAVY_LABEL]);
            c
        }
    }
}
