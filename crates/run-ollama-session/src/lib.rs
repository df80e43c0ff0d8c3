//! `agent-project-run-ollama-session`: run a local Ollama model as a coding
//! agent in a tmux session, and the agent itself (`ollama-agent`, the Rust
//! replacement of the original's embedded Node program).

use std::ffi::OsString;

use acp_core::cli::{self, Parsed};
use acp_core::{Invocation, ToolSpec};

pub mod agent;
mod cmdrun;
pub mod http;
pub mod session;

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "ollama-agent",
    aliases: &["agent-project-ollama-agent"],
    paths: &[],
    about: "The ollama chat agent loop (run inside an ollama worker session)",
    command: agent_command,
    run: agent_run,
}];

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
