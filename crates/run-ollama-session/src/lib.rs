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
use acp_core::config::backends;
use acp_core::{Invocation, ToolSpec};
use acp_session::launcher::contract::{Contract, Inner, Reader, Writer};
use acp_session::launcher::{self, Common, Export, Plan, blocking};

pub mod agent;
mod cmdrun;
pub mod http;
pub mod session;

/// The launcher's original name.
pub const NAME: &str = "agent-project-run-ollama-session";
const DEFAULT_SANDBOX: &str = ".ollama-artifacts";
/// ollama's defaults (the agent's too).
pub const DEFAULTS: &backends::Ollama = &backends::DEFAULTS.ollama;

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
    .arg(cli::opt("ollama-model").help(format!(
        "Model name [env: ACP_OLLAMA_MODEL, F_LOSNING_OLLAMA_MODEL; default: {}]",
        DEFAULTS.model
    )))
    .arg(cli::opt("ollama-base-url").help(format!(
        "Plain-http API base URL [env: ACP_OLLAMA_BASE_URL, F_LOSNING_OLLAMA_BASE_URL; \
         default: {}]",
        DEFAULTS.base_url
    )))
    .arg(cli::opt("ollama-timeout-seconds").help(format!(
        "Wall-clock limit of the agent run [env: ACP_OLLAMA_TIMEOUT_SECONDS, \
         F_LOSNING_OLLAMA_TIMEOUT_SECONDS; default: {}]",
        DEFAULTS.timeout_seconds
    )))
}

/// The launcher's arguments: the common ones and ollama's, each from its
/// flag, else `ACP_OLLAMA_*`, else `F_LOSNING_OLLAMA_*`, else the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub common: Common,
    pub model: String,
    pub base_url: String,
    pub timeout: String,
    pub retained_repo_root: String,
}

impl Args {
    /// Reads the matches and the environment.
    pub fn new(m: &clap::ArgMatches, env: &acp_core::Env) -> Self {
        Self {
            common: Common::from_matches(m, DEFAULT_SANDBOX),
            model: cli::given_or_acp(m, "ollama-model", env, "OLLAMA_MODEL", DEFAULTS.model),
            base_url: cli::given_or_acp(
                m,
                "ollama-base-url",
                env,
                "OLLAMA_BASE_URL",
                DEFAULTS.base_url,
            ),
            timeout: cli::given_or_acp(
                m,
                "ollama-timeout-seconds",
                env,
                "OLLAMA_TIMEOUT_SECONDS",
                &DEFAULTS.timeout_seconds.to_string(),
            ),
            retained_repo_root: env.acp_or("RETAINED_REPO_ROOT", ""),
        }
    }
}

/// Ollama's part of the launcher -> `__inner` contract (the model and the
/// base URL reach the agent through its environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OllamaInner {
    pub timeout_seconds: u64,
}

impl Contract for OllamaInner {
    fn write(&self, w: &mut Writer) {
        w.num("OLLAMA_TIMEOUT_SECONDS", self.timeout_seconds);
    }

    fn read(r: &mut Reader) -> anyhow::Result<Self> {
        Ok(Self {
            timeout_seconds: r.num("OLLAMA_TIMEOUT_SECONDS")?,
        })
    }
}

/// Runs the launcher (or, with the hidden first word, its inner supervisor).
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let cmd = command();
    let m = match launcher::parse_or_dispatch(ctx, args, &cmd, inner_run)? {
        Ok(m) => m,
        Err(code) => return Ok(code),
    };
    let a = Args::new(&m, &ctx.env);
    if let Some(code) = a.common.check(ctx, &cmd)? {
        return Ok(code);
    }
    let timeout_seconds = launcher::non_negative_int(&a.timeout, "--ollama-timeout-seconds")?;
    let context = a.common.validate()?;
    let mut plan = Plan::new(&BACKEND, &a.common, context);
    plan.run_env_keys = vec![
        ("OLLAMA_MODEL", a.model.clone().into()),
        ("OLLAMA_BASE_URL", a.base_url.clone().into()),
        ("OLLAMA_TIMEOUT_SECONDS", a.timeout.clone().into()),
    ];
    plan.exports = vec![Export::all(
        "RETAINED_REPO_ROOT",
        a.retained_repo_root.clone(),
    )];
    plan.plain_exports = vec![
        (
            "ACP_WORKTREE",
            launcher::absolute(&ctx.cwd, &a.common.worktree).into_os_string(),
        ),
        (
            "ACP_PROMPT_FILE",
            launcher::absolute(&ctx.cwd, &a.common.prompt_file).into_os_string(),
        ),
        ("ACP_OLLAMA_MODEL", a.model.clone().into()),
        ("ACP_OLLAMA_BASE_URL", a.base_url.clone().into()),
        ("ACP_OLLAMA_TIMEOUT_SECONDS", a.timeout.clone().into()),
    ];
    plan.set_inner(&OllamaInner { timeout_seconds });
    blocking::launch_and_wait(ctx, &plan)
}

/// The inner supervisor, inside the tmux pane.
fn inner_run(ctx: &mut Invocation<'_>, a: Inner<OllamaInner>) -> anyhow::Result<i32> {
    let exe = ctx.exe.clone();
    let timeout_secs = a.backend.timeout_seconds;
    blocking::run_inner(
        ctx,
        NAME,
        a.common,
        "ollama",
        "agent-supervision-failed",
        |s, env, log| {
            let run = session::OllamaRun {
                exe,
                env: env.clone(),
                worktree: s.worktree.clone(),
                sandbox_run_dir: s.sandbox_run_dir.clone(),
                sandbox_subdir: s.sandbox_subdir.clone(),
                runner_state_file: s.runner_env.clone(),
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use acp_session::launcher::contract::testing::{decode_error, round_trip, with_word};

    #[test]
    fn the_inner_contract_round_trips_and_the_timeout_is_checked() {
        let b = OllamaInner { timeout_seconds: 0 };
        assert_eq!(round_trip(&b).backend, b);
        // A bad value used to run with 900 s.
        let e = decode_error::<OllamaInner>(&with_word(&b, "OLLAMA_TIMEOUT_SECONDS", Some("1e3")));
        assert_eq!(
            e,
            "inner supervisor: OLLAMA_TIMEOUT_SECONDS must be a whole number, not '1e3'"
        );
        let e = decode_error::<OllamaInner>(&with_word(&b, "OLLAMA_TIMEOUT_SECONDS", None));
        assert_eq!(e, "inner supervisor: OLLAMA_TIMEOUT_SECONDS is missing");
    }

    #[test]
    fn args_take_flags_then_acp_then_f_losning_then_defaults() {
        let mut env = acp_core::Env::new();
        env.set("F_LOSNING_OLLAMA_MODEL", "f-model");
        env.set("ACP_OLLAMA_BASE_URL", "http://acp:1");
        env.set("F_LOSNING_OLLAMA_BASE_URL", "http://f:1");
        env.set("ACP_RETAINED_REPO_ROOT", "/retained");
        let m = command()
            .try_get_matches_from([NAME, "--ollama-timeout-seconds", "5", "--session", "s"])
            .unwrap();
        let a = Args::new(&m, &env);
        assert_eq!(a.model, "f-model");
        assert_eq!(a.base_url, "http://acp:1");
        assert_eq!(a.timeout, "5");
        assert_eq!(a.retained_repo_root, "/retained");
        assert_eq!(a.common.session, "s");
        let a = Args::new(
            &command().try_get_matches_from([NAME]).unwrap(),
            &acp_core::Env::new(),
        );
        assert_eq!(
            (a.model.as_str(), a.base_url.as_str(), a.timeout.as_str()),
            ("qwen2.5-coder:7b", "http://localhost:11434", "900")
        );
    }
}
