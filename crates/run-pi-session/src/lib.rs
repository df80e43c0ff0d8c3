//! `agent-project-run-pi-session`: run the Pi coding agent (`pi --print`)
//! once in a tmux session, under a hard timeout and a stall watchdog, and
//! block until it is done.
//!
//! The launcher validates its flags and resolves `pi`, hands the shared
//! launcher a plan and waits. Inside the pane the inner supervisor
//! (`__inner`) empties the sandbox run dir, runs pi under the supervision
//! engine, settles runner.env and the fallback contract, records the final
//! git state, collects artifacts, schedules the delayed reconcile and writes
//! the exit marker.

use std::ffi::OsString;

use acp_core::cli::{self};
use acp_core::{Invocation, ToolSpec, fail};
use acp_session::launcher::{self, Common, Export, Plan, blocking, inner};

pub mod pi;
pub mod session;

/// The launcher's original name.
pub const NAME: &str = "agent-project-run-pi-session";
const DEFAULT_SANDBOX: &str = ".pi-artifacts";

const BACKEND: launcher::Backend = launcher::Backend {
    tool: NAME,
    default_sandbox_subdir: DEFAULT_SANDBOX,
    records_script: true,
};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: NAME,
    aliases: &["run-pi-session"],
    paths: &["tools/bin/agent-project-run-pi-session"],
    about: "Run the Pi coding agent once in a tmux worker session (blocks until done)",
    command,
    run,
}];

/// The launcher's parser.
pub fn command() -> clap::Command {
    launcher::with_common_args(
        cli::tool_command(
            NAME,
            "Starts a worker session in tmux that runs the Pi coding agent once, \
             non-interactively (`pi --print`), with a hard timeout and a stall watchdog, \
             records the standard run artifacts, and waits until the session has finished. \
             Any provider Pi supports can be chosen with --pi-model provider/id.",
        ),
        DEFAULT_SANDBOX,
    )
    .override_usage(
        "agent-project-run-pi-session --mode safe|bypass --session <id> --worktree <path> \
         --prompt-file <path> --runs-root <path> --adapter-id <id> --task-kind <kind> \
         --task-id <id> [options]",
    )
    .arg(cli::opt("pi-model").help(
        "Model id for pi [env: ACP_PI_MODEL, F_LOSNING_PI_MODEL; \
         default: openrouter/qwen/qwen3.6-plus:free]",
    ))
    .arg(cli::opt("pi-thinking").help(
        "Reasoning level: off, minimal, low, medium, high or xhigh \
         [env: ACP_PI_THINKING, F_LOSNING_PI_THINKING; default: low]",
    ))
    .arg(cli::opt("pi-timeout-seconds").help(
        "Hard limit in seconds [env: ACP_PI_TIMEOUT_SECONDS, F_LOSNING_PI_TIMEOUT_SECONDS; \
         default: 900]",
    ))
    .arg(cli::opt("pi-stall-seconds").help(
        "Stop pi after this long without output, 0 disables \
         [env: ACP_PI_STALL_SECONDS, F_LOSNING_PI_STALL_SECONDS; default: 300]",
    ))
}

/// Runs the launcher (or, with the hidden first word, its inner supervisor).
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let cmd = command();
    let m = match launcher::parse_or_dispatch(ctx, args, &cmd, inner_run)? {
        Ok(m) => m,
        Err(code) => return Ok(code),
    };
    let common = Common::from_matches(&m, DEFAULT_SANDBOX);
    if let Some(code) = common.check(ctx, &cmd)? {
        return Ok(code);
    }
    let model = cli::given_or_acp(
        &m,
        "pi-model",
        &ctx.env,
        "PI_MODEL",
        "openrouter/qwen/qwen3.6-plus:free",
    );
    let thinking = cli::given_or_acp(&m, "pi-thinking", &ctx.env, "PI_THINKING", "low");
    let timeout = cli::given_or_acp(
        &m,
        "pi-timeout-seconds",
        &ctx.env,
        "PI_TIMEOUT_SECONDS",
        "900",
    );
    let stall = cli::given_or_acp(&m, "pi-stall-seconds", &ctx.env, "PI_STALL_SECONDS", "300");
    if !pi::THINKING_LEVELS.contains(&thinking.as_str()) {
        return Err(fail(
            1,
            "--pi-thinking must be one of: off, minimal, low, medium, high, xhigh",
        ));
    }
    launcher::positive_int(&timeout, "--pi-timeout-seconds")?;
    launcher::non_negative_int(&stall, "--pi-stall-seconds")?;
    let Some(pi_bin) = pi::resolve_pi_bin(ctx) else {
        return Err(fail(
            1,
            "unable to resolve a runnable pi binary (set PI_BIN or put pi on PATH; \
             it is the npm package @mariozechner/pi-coding-agent)",
        ));
    };
    let pi_bin = pi_bin.to_string_lossy().into_owned();
    let context = common.validate()?;
    let retained = ctx.env.acp_or("RETAINED_REPO_ROOT", "");

    let mut plan = Plan::new(&BACKEND, &common, context);
    plan.run_env_keys = vec![
        ("PI_BIN", pi_bin.clone()),
        ("PI_MODEL", model.clone()),
        ("PI_THINKING", thinking.clone()),
        ("PI_TIMEOUT_SECONDS", timeout.clone()),
        ("PI_STALL_SECONDS", stall.clone()),
    ];
    plan.exports = vec![
        Export::all("PI_BIN", pi_bin.clone()),
        Export::acp("PI_MODEL", model.clone()),
        Export::acp("PI_THINKING", thinking.clone()),
        Export::acp("PI_TIMEOUT_SECONDS", timeout.clone()),
        Export::all("RETAINED_REPO_ROOT", retained),
    ];
    plan.inner = vec![
        ("PI_BIN", pi_bin),
        ("PI_MODEL", model),
        ("PI_THINKING", thinking),
        ("PI_TIMEOUT_SECONDS", timeout),
        ("PI_STALL_SECONDS", stall),
    ];
    blocking::launch_and_wait(ctx, &plan)
}

/// The inner supervisor, inside the tmux pane.
fn inner_run(ctx: &mut Invocation<'_>, a: inner::InnerArgs) -> anyhow::Result<i32> {
    blocking::run_inner(ctx, NAME, &a, "pi", "pi-exit-1", |s, env, log| {
        let run = session::PiRun {
            pi_bin: a.get("PI_BIN").into(),
            model: a.get("PI_MODEL"),
            thinking: a.get("PI_THINKING"),
            prompt_file: s.prompt_file.clone().into(),
            timeout_secs: a.get("PI_TIMEOUT_SECONDS").parse().unwrap_or(900),
            stall_secs: a.get("PI_STALL_SECONDS").parse().unwrap_or(300),
            env: env.clone(),
            worktree: s.worktree.clone().into(),
            sandbox_run_dir: s.sandbox_run_dir.clone().into(),
            runner_state_file: s.runner_env.clone().into(),
            locale: s.locale,
        };
        let r = session::run(&run, log)?;
        Ok(blocking::RunEnd {
            status: r.exit_code,
            signalled: r.signalled,
        })
    })
}
