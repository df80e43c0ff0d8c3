//! `agent-project-run-kilo-session`: start Kilo Code (`kilo run --auto
//! --format json`) non-interactively inside tmux with a hard timeout; the
//! result is inferred from git state when the agent wrote none.
//!
//! Launcher half: `acp_core::launcher`; inner half: the shared one-shot
//! runner on the supervision engine (`acp_core::launcher::inner::run_one_shot`).

use std::ffi::OsString;

use acp_core::cli::{self, Parsed};
use acp_core::launcher::inner::{InnerArgs, OneShot, Session, run_one_shot};
use acp_core::launcher::{self, Backend, Common, Plan};
use acp_core::supervise::Input;
use acp_core::{Invocation, ToolSpec, fail};

const TOOL: &str = "agent-project-run-kilo-session";

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: TOOL,
    aliases: &["run-kilo-session"],
    paths: &["tools/bin/agent-project-run-kilo-session"],
    about: "Launch a Kilo Code worker session in tmux",
    command,
    run,
}];

const BACKEND: Backend = Backend {
    tool: TOOL,
    default_sandbox_subdir: ".kilo-artifacts",
    records_script: false,
};

const DEFAULT_MODEL: &str = "anthropic/claude-sonnet-4-20250514";

/// The argument parser.
pub fn command() -> clap::Command {
    let cmd = cli::tool_command(
        TOOL,
        "Starts a Kilo Code worker (the kilocode CLI) for one issue, PR or task in a detached \
         tmux session via `kilo run --auto --format json`, non-interactively, and records the \
         run's metadata, log, runner state and result under the runs root.",
    )
    .override_usage(
        "agent-project-run-kilo-session --mode safe|bypass --session <id> --worktree <path> \
         --prompt-file <path> --runs-root <path> --adapter-id <id> --task-kind <kind> \
         --task-id <id> [options]",
    );
    launcher::with_common_args(cmd, BACKEND.default_sandbox_subdir)
        .arg(cli::opt("kilo-model").help(format!(
            "provider/model for kilo [env: ACP_KILO_MODEL; default {DEFAULT_MODEL}]"
        )))
        .arg(cli::opt("kilo-timeout-seconds").help(
            "Hard limit for the run [env: ACP_KILO_TIMEOUT_SECONDS; default 900]",
        ))
        .arg(cli::opt("kilo-stall-seconds").help(
            "End a run that prints nothing for this long; 0 = off [env: ACP_KILO_STALL_SECONDS; default 0]",
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
    let model = cli::given_or_acp(&m, "kilo-model", &ctx.env, "KILO_MODEL", DEFAULT_MODEL);
    let timeout = cli::given_or_acp(
        &m,
        "kilo-timeout-seconds",
        &ctx.env,
        "KILO_TIMEOUT_SECONDS",
        "900",
    );
    let stall = cli::given_or_acp(
        &m,
        "kilo-stall-seconds",
        &ctx.env,
        "KILO_STALL_SECONDS",
        "0",
    );
    if let Some(code) = common.check(ctx, &cmd)? {
        return Ok(code);
    }
    launcher::positive_int(&timeout, "--kilo-timeout-seconds")?;
    launcher::non_negative_int(&stall, "--kilo-stall-seconds")?;
    let bin = launcher::resolve_binary(
        ctx,
        &["KILO_BIN", "ACP_KILO_BIN"],
        &["kilo"],
        &[
            "/opt/homebrew/bin/kilo",
            "/usr/local/bin/kilo",
            "~/.local/bin/kilo",
            "~/.bun/bin/kilo",
        ],
    )
    .ok_or_else(|| {
        fail(
            1,
            "unable to resolve a runnable kilo binary (install it with npm install -g @kilocode/cli, or set KILO_BIN)",
        )
    })?;
    let context = common.validate()?;
    let mut plan = Plan::new(&BACKEND, &common, context);
    plan.run_env_keys = vec![
        ("KILO_BIN", bin.clone()),
        ("KILO_MODEL", model.clone()),
        ("KILO_TIMEOUT_SECONDS", timeout.clone()),
    ];
    plan.inner = vec![
        ("KILO_BIN", bin),
        ("KILO_MODEL", model),
        ("KILO_TIMEOUT_SECONDS", timeout),
        ("KILO_STALL_SECONDS", stall),
    ];
    launcher::launch(ctx, &plan)
}

/// `kilo run --auto --format json --model <m> --dir <worktree> <prompt>`:
/// the CLI takes the prompt as its positional argument; `--mode` does not
/// change anything (kilo always runs with `--auto`).
pub fn kilo_args(model: &str, worktree: &str, prompt: &str) -> Vec<String> {
    [
        "run", "--auto", "--format", "json", "--model", model, "--dir", worktree, prompt,
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect()
}

/// Kilo's JSON event lines are progress; anything else is plain output.
fn is_event(line: &[u8]) -> bool {
    line.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{')
}

fn inner_main(ctx: &mut Invocation<'_>, a: InnerArgs) -> anyhow::Result<i32> {
    let mut s = Session::from_args(TOOL, &a, &ctx.env)?;
    let bin = a.get("KILO_BIN");
    let prompt = std::fs::read(&s.prompt_file)
        .map(|b| {
            String::from_utf8_lossy(&b)
                .trim_end_matches('\n')
                .to_string()
        })
        .unwrap_or_default();
    let args = kilo_args(&a.get("KILO_MODEL"), &s.worktree, &prompt);
    let run = OneShot {
        name: "kilo",
        bin: &bin,
        args,
        input: Input::Null,
        timeout: a.get("KILO_TIMEOUT_SECONDS").parse().unwrap_or(900),
        stall: a.get("KILO_STALL_SECONDS").parse().unwrap_or(0),
        progress: Some(is_event),
    };
    run_one_shot(ctx, &mut s, run)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn prompt_is_the_last_word_and_events_are_json() {
        let a = kilo_args("m", "/w", "do it");
        assert_eq!(a[..4], ["run", "--auto", "--format", "json"]);
        assert_eq!(a.last().unwrap(), "do it");
        assert!(is_event(b"  {\"type\":\"step\"}"));
        assert!(!is_event(b"plain text"));
    }
}
