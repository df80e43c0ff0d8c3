//! `agent-project-run-opencode-session`: start Crush (the agent formerly
//! called OpenCode, `crush run`) non-interactively inside tmux with a hard
//! timeout; the result is inferred from git state when the agent wrote none.
//!
//! Launcher half: `acp_core::launcher`; inner half: the shared one-shot
//! runner on the supervision engine (`acp_core::launcher::inner::run_one_shot`).

use std::ffi::OsString;

use acp_core::cli::{self, Parsed};
use acp_core::launcher::inner::{InnerArgs, OneShot, Session, run_one_shot};
use acp_core::launcher::{self, Backend, Common, Plan};
use acp_core::supervise::Input;
use acp_core::{Invocation, ToolSpec, fail};

const TOOL: &str = "agent-project-run-opencode-session";

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: TOOL,
    aliases: &["run-opencode-session"],
    paths: &["tools/bin/agent-project-run-opencode-session"],
    about: "Launch a Crush (opencode) worker session in tmux",
    command,
    run,
}];

const BACKEND: Backend = Backend {
    tool: TOOL,
    default_sandbox_subdir: ".opencode-artifacts",
    records_script: false,
};

const DEFAULT_MODEL: &str = "anthropic/claude-sonnet-4-20250514";

/// The argument parser.
pub fn command() -> clap::Command {
    let cmd = cli::tool_command(
        TOOL,
        "Starts a Crush worker (Charm's Go coding agent, formerly opencode) for one issue, PR or \
         task in a detached tmux session via `crush run`, non-interactively, and records the \
         run's metadata, log, runner state and result under the runs root.",
    )
    .override_usage(
        "agent-project-run-opencode-session --mode safe|bypass --session <id> --worktree <path> \
         --prompt-file <path> --runs-root <path> --adapter-id <id> --task-kind <kind> \
         --task-id <id> [options]",
    );
    launcher::with_common_args(cmd, BACKEND.default_sandbox_subdir)
        .arg(cli::opt("opencode-model").help(format!(
            "provider/model for crush [env: ACP_OPENCODE_MODEL; default {DEFAULT_MODEL}]"
        )))
        .arg(cli::opt("opencode-timeout-seconds").help(
            "Hard limit for the run [env: ACP_OPENCODE_TIMEOUT_SECONDS; default 900]",
        ))
        .arg(cli::opt("opencode-stall-seconds").help(
            "End a run that prints nothing for this long; 0 = off [env: ACP_OPENCODE_STALL_SECONDS; default 0]",
        ))
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if let Some(r) = launcher::dispatch_hidden(ctx, args, inner_main) {
        return r;
    }
    let cmd = command();
    let m = match cli::parse(ctx, cmd.clone(), args, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    let common = Common::from_matches(&m, BACKEND.default_sandbox_subdir);
    let model = cli::given_or_acp(
        &m,
        "opencode-model",
        &ctx.env,
        "OPENCODE_MODEL",
        DEFAULT_MODEL,
    );
    let timeout = cli::given_or_acp(
        &m,
        "opencode-timeout-seconds",
        &ctx.env,
        "OPENCODE_TIMEOUT_SECONDS",
        "900",
    );
    let stall = cli::given_or_acp(
        &m,
        "opencode-stall-seconds",
        &ctx.env,
        "OPENCODE_STALL_SECONDS",
        "0",
    );
    if let Some(code) = common.check(ctx, &cmd)? {
        return Ok(code);
    }
    launcher::positive_int(&timeout, "--opencode-timeout-seconds")?;
    launcher::non_negative_int(&stall, "--opencode-stall-seconds")?;
    let bin = launcher::resolve_binary(
        ctx,
        &["CRUSH_BIN", "ACP_CRUSH_BIN", "ACP_OPENCODE_BIN"],
        &["crush", "opencode"],
        &[
            "/opt/homebrew/bin/crush",
            "/usr/local/bin/crush",
            "~/.local/bin/crush",
            "~/go/bin/crush",
            "/opt/homebrew/bin/opencode",
            "/usr/local/bin/opencode",
        ],
    )
    .ok_or_else(|| {
        fail(
            1,
            "unable to resolve a runnable crush/opencode binary (install Crush, e.g. brew install charmbracelet/tap/crush, or set CRUSH_BIN)",
        )
    })?;
    let context = common.validate()?;
    let mut plan = Plan::new(&BACKEND, &common, context);
    plan.run_env_keys = vec![
        ("CRUSH_BIN", bin.clone()),
        ("OPENCODE_MODEL", model.clone()),
        ("OPENCODE_TIMEOUT_SECONDS", timeout.clone()),
    ];
    plan.inner = vec![
        ("CRUSH_BIN", bin),
        ("OPENCODE_MODEL", model),
        ("OPENCODE_TIMEOUT_SECONDS", timeout),
        ("OPENCODE_STALL_SECONDS", stall),
    ];
    launcher::launch(ctx, &plan)
}

/// `crush run --quiet --model <m> --cwd <worktree> [--yolo]` (prompt on stdin).
pub fn crush_args(model: &str, worktree: &str, bypass: bool) -> Vec<String> {
    let mut v: Vec<String> = ["run", "--quiet", "--model", model, "--cwd", worktree]
        .iter()
        .map(|s| (*s).to_string())
        .collect();
    if bypass {
        v.push("--yolo".into());
    }
    v
}

fn inner_main(ctx: &mut Invocation<'_>, a: InnerArgs) -> anyhow::Result<i32> {
    let mut s = Session::from_args(TOOL, &a, &ctx.env)?;
    let bin = a.get("CRUSH_BIN");
    let args = crush_args(&a.get("OPENCODE_MODEL"), &s.worktree, s.mode == "bypass");
    let run = OneShot {
        name: "opencode",
        bin: &bin,
        args,
        input: Input::File(s.prompt_file.clone().into()),
        timeout: a.get("OPENCODE_TIMEOUT_SECONDS").parse().unwrap_or(900),
        stall: a.get("OPENCODE_STALL_SECONDS").parse().unwrap_or(0),
        progress: None,
    };
    run_one_shot(ctx, &mut s, run)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn yolo_only_in_bypass() {
        assert_eq!(
            crush_args("m", "/w", false),
            ["run", "--quiet", "--model", "m", "--cwd", "/w"]
        );
        assert_eq!(crush_args("m", "/w", true).last().unwrap(), "--yolo");
    }
}
