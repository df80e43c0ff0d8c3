//! `agent-project-run-opencode-session`: start Crush (the agent formerly
//! called OpenCode, `crush run`) non-interactively inside tmux with a hard
//! timeout; the result is inferred from git state when the agent wrote none.
//!
//! Both halves are the shared one-shot launcher
//! (`acp_session::launcher::one_shot`); this crate is its data and argv.

use std::ffi::OsString;
use std::path::Path;

use acp_core::{Invocation, ToolSpec};
use acp_session::launcher::Backend;
use acp_session::launcher::contract::{Inner, Mode};
use acp_session::launcher::inner::Session;
use acp_session::launcher::one_shot::{self, Argv, OneShotInner, Spec};
use acp_session::supervise::Input;

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

const SPEC: Spec = Spec {
    backend: Backend {
        tool: TOOL,
        default_sandbox_subdir: ".opencode-artifacts",
        records_script: false,
    },
    about: "Starts a Crush worker (Charm's Go coding agent, formerly opencode) for one issue, PR or \
            task in a detached tmux session via `crush run`, non-interactively, and records the \
            run's metadata, log, runner state and result under the runs root.",
    usage: "agent-project-run-opencode-session --mode safe|bypass --session <id> --worktree <path> \
            --prompt-file <path> --runs-root <path> --adapter-id <id> --task-kind <kind> \
            --task-id <id> [options]",
    model_flag: "opencode-model",
    timeout_flag: "opencode-timeout-seconds",
    stall_flag: "opencode-stall-seconds",
    model_key: "OPENCODE_MODEL",
    timeout_key: "OPENCODE_TIMEOUT_SECONDS",
    stall_key: "OPENCODE_STALL_SECONDS",
    bin_key: "CRUSH_BIN",
    model_help_agent: "crush",
    defaults: &acp_core::config::backends::DEFAULTS.opencode,
    bin_vars: &["CRUSH_BIN", "ACP_CRUSH_BIN", "ACP_OPENCODE_BIN"],
    bin_names: &["crush", "opencode"],
    bin_fallbacks: &[
        "/opt/homebrew/bin/crush",
        "/usr/local/bin/crush",
        "~/.local/bin/crush",
        "~/go/bin/crush",
        "/opt/homebrew/bin/opencode",
        "/usr/local/bin/opencode",
    ],
    missing_bin: "unable to resolve a runnable crush/opencode binary (install Crush, e.g. brew install charmbracelet/tap/crush, or set CRUSH_BIN)",
    name: "opencode",
    progress: None,
    argv,
};

/// The argument parser.
pub fn command() -> clap::Command {
    one_shot::command(&SPEC)
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    one_shot::run(&SPEC, ctx, args, inner_main)
}

fn inner_main(ctx: &mut Invocation<'_>, a: Inner<OneShotInner>) -> anyhow::Result<i32> {
    one_shot::run_inner(&SPEC, ctx, a)
}

/// `crush run --quiet --model <m> --cwd <worktree> [--yolo]` (prompt on stdin).
pub fn crush_args(model: &str, worktree: &Path, bypass: bool) -> Vec<OsString> {
    let mut v: Vec<OsString> = ["run", "--quiet", "--model", model, "--cwd"]
        .iter()
        .map(OsString::from)
        .collect();
    v.push(worktree.as_os_str().to_os_string());
    if bypass {
        v.push("--yolo".into());
    }
    v
}

/// `--yolo` only in bypass mode; the prompt file on stdin.
fn argv(s: &Session, model: &str) -> Argv {
    Argv {
        args: crush_args(model, &s.worktree, s.mode == Mode::Bypass),
        input: Input::File(s.prompt_file.clone()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn yolo_only_in_bypass() {
        let wt = Path::new("/w");
        assert_eq!(
            crush_args("m", wt, false),
            ["run", "--quiet", "--model", "m", "--cwd", "/w"]
        );
        assert_eq!(crush_args("m", wt, true).last().unwrap(), "--yolo");
    }
}
