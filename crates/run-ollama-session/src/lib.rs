//! `agent-project-run-ollama-session`: run a local Ollama model as a coding
//! agent in a tmux session, and the agent itself (`ollama-agent`, the Rust
//! replacement of the original's embedded Node program).
//!
//! The launcher validates its flags, then hands the shared launcher a plan
//! (run.env keys, worker exports, inner settings) and blocks until the
//! session is done. Inside the pane the inner supervisor (`__inner`) empties
//! the sandbox run dir, runs the agent under the supervision engine, settles
//! runner.env and the result contract, records the final git state, collects
//! artifacts, schedules the delayed reconcile and writes the exit marker.

use std::ffi::OsString;

use acp_core::cli::{self, Parsed};
use acp_core::{Invocation, ToolSpec};
use acp_session::launcher::{self, Common, Export, Plan, blocking, inner};

pub mod agent;
mod cmdrun;
pub mod http;
pub mod session;

/// The launcher's original name.
pub const NAME: &str = "agent-project-run-ollama-session";
const DEFAULT_SANDBOX: &str = ".ollama-artifacts";
const DEFAULT_MODEL: &str = "qwen2.5-coder:7b";
const DEFAULT_BASE_URL: &str = "http://localhost:11434";
const DEFAULT_TIMEOUT: &str = "900";

const BACKEND: launcher::Backend = launcher::Backend {
    tool: NAME,
    default_sandbox_subdir: DEFAULT_SANDBOX,
    records_script: true,
};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[
    ToolSpec {
        name: NAME,
        aliases: &["run-ollama-session"],
        paths: &["tools/bin/agent-project-run-ollama-session"],
        about: "Run an Ollama model as a coding agent in a tmux worker session (blocks until done)",
        command,
        run,
    },
    ToolSpec {
        name: "ollama-agent",
        aliases: &["agent-project-ollama-agent"],
        paths: &[],
        about: "The ollama chat agent loop (run inside an ollama worker session)",
        command: agent_command,
        run: agent_run,
    },
];

/// The launcher's parser.
pub fn command() -> clap::Command {
    launcher::with_common_args(
        cli::tool_command(
            NAME,
            "Starts a worker session in tmux in which a local Ollama model works on the task \
             through five tools (read, write, run, list, complete), records the standard run \
             artifacts, and waits until the session has finished. Ollama must be reachable at \
             the base URL with the model pulled.",
        ),
        DEFAULT_SANDBOX,
    )
    .override_usage(
        "agent-project-run-ollama-session --mode safe|bypass --session <id> --worktree <path> \
         --prompt-file <path> --runs-root <path> --adapter-id <id> --task-kind <kind> \
         --task-id <id> [options]",
    )
    .arg(cli::opt("ollama-model").help(
        "Model name [env: ACP_OLLAMA_MODEL, F_LOSNING_OLLAMA_MODEL; default: qwen2.5-coder:7b]",
    ))
    .arg(cli::opt("ollama-base-url").help(
        "Plain-http API base URL [env: ACP_OLLAMA_BASE_URL, F_LOSNING_OLLAMA_BASE_URL; \
         default: http://localhost:11434]",
    ))
    .arg(cli::opt("ollama-timeout-seconds").help(
        "Wall-clock limit of the agent run [env: ACP_OLLAMA_TIMEOUT_SECONDS, \
         F_LOSNING_OLLAMA_TIMEOUT_SECONDS; default: 900]",
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
    let model = cli::given_or_acp(&m, "ollama-model", &ctx.env, "OLLAMA_MODEL", DEFAULT_MODEL);
    let base_url = cli::given_or_acp(
        &m,
        "ollama-base-url",
        &ctx.env,
        "OLLAMA_BASE_URL",
        DEFAULT_BASE_URL,
    );
    let timeout = cli::given_or_acp(
        &m,
        "ollama-timeout-seconds",
        &ctx.env,
        "OLLAMA_TIMEOUT_SECONDS",
        DEFAULT_TIMEOUT,
    );
    launcher::non_negative_int(&timeout, "--ollama-timeout-seconds")?;
    let context = common.validate()?;
    let retained = ctx.env.acp_or("RETAINED_REPO_ROOT", "");
    let prompt_abs = launcher::absolute(&ctx.cwd, &common.prompt_file);

    let mut plan = Plan::new(&BACKEND, &common, context);
    plan.run_env_keys = vec![
        ("OLLAMA_MODEL", model.clone()),
        ("OLLAMA_BASE_URL", base_url.clone()),
        ("OLLAMA_TIMEOUT_SECONDS", timeout.clone()),
    ];
    plan.exports = vec![Export::all("RETAINED_REPO_ROOT", retained)];
    plan.plain_exports = vec![
        (
            "ACP_WORKTREE",
            launcher::absolute(&ctx.cwd, &common.worktree),
        ),
        ("ACP_PROMPT_FILE", prompt_abs),
        ("ACP_OLLAMA_MODEL", model),
        ("ACP_OLLAMA_BASE_URL", base_url),
        ("ACP_OLLAMA_TIMEOUT_SECONDS", timeout.clone()),
    ];
    plan.inner = vec![("OLLAMA_TIMEOUT_SECONDS", timeout)];
    blocking::launch_and_wait(ctx, &plan)
}

/// The inner supervisor, inside the tmux pane.
fn inner_run(ctx: &mut Invocation<'_>, a: inner::InnerArgs) -> anyhow::Result<i32> {
    let exe = ctx.exe.clone();
    let timeout_secs = a
        .get("OLLAMA_TIMEOUT_SECONDS")
        .parse::<u64>()
        .unwrap_or(900);
    blocking::run_inner(
        ctx,
        NAME,
        &a,
        "ollama",
        "agent-supervision-failed",
        |s, env, log| {
            let run = session::OllamaRun {
                exe,
                env: env.clone(),
                worktree: s.worktree.clone().into(),
                sandbox_run_dir: s.sandbox_run_dir.clone().into(),
                sandbox_subdir: s.sandbox_subdir.clone(),
                runner_state_file: s.runner_env.clone().into(),
                timeout_secs,
                locale: s.locale,
            };
            let r = session::run(&run, log)?;
            Ok(blocking::RunEnd {
                status: r.exit_code,
                signalled: r.signalled,
            })
        },
    )
}

/// The agent's parser: no flags, everything comes from the worker environment.
pub fn agent_command() -> clap::Command {
    cli::tool_command(
        "ollama-agent",
        "Runs the ollama chat agent in the current worktree. Reads ACP_WORKTREE, ACP_RUN_DIR, \
         ACP_PROMPT_FILE, ACP_RESULT_FILE, ACP_RETAINED_REPO_ROOT, ACP_OLLAMA_BASE_URL, \
         ACP_OLLAMA_MODEL and ACP_OLLAMA_TIMEOUT_SECONDS. Exits 0 when the model finished, \
         1 after writing a blocked result contract.",
    )
}

/// Runs the agent loop with the invocation's environment.
pub fn agent_run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    match cli::parse(ctx, agent_command(), args, 1)? {
        Parsed::Matches(_) => {}
        Parsed::Exit(code) => return Ok(code),
    }
    let cfg = agent::AgentConfig::from_env(&ctx.env, &ctx.cwd);
    // TERM/INT/HUP are recorded, not fatal: the loop stops at the next
    // check and ends the process group of a running command first.
    acp_core::process::install_termination_handler()?;
    match agent::run(&cfg, ctx.stdout, ctx.stderr)? {
        agent::Ending::Done => Ok(0),
        agent::Ending::Failed(_) => Ok(1),
        agent::Ending::Signalled(sig) => Ok(128 + sig),
    }
}
