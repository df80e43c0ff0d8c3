//! `agent-project-run-kilo-session`: start Kilo Code (`kilo run --auto
//! --format json`) non-interactively inside tmux with a hard timeout; the
//! result is inferred from git state when the agent wrote none.
//!
//! Both halves are the shared one-shot launcher
//! (`acp_session::launcher::one_shot`); this crate is its data and argv.

use std::ffi::OsString;
use std::path::Path;

use acp_core::{Invocation, ToolSpec};
use acp_session::launcher::Backend;
use acp_session::launcher::contract::Inner;
use acp_session::launcher::inner::Session;
use acp_session::launcher::one_shot::{self, Argv, OneShotInner, Spec};
use acp_session::supervise::Input;

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

const SPEC: Spec = Spec {
    backend: Backend {
        tool: TOOL,
        default_sandbox_subdir: ".kilo-artifacts",
        records_script: false,
    },
    about: "Starts a Kilo Code worker (the kilocode CLI) for one issue, PR or task in a detached \
            tmux session via `kilo run --auto --format json`, non-interactively, and records the \
            run's metadata, log, runner state and result under the runs root.",
    usage: "agent-project-run-kilo-session --mode safe|bypass --session <id> --worktree <path> \
            --prompt-file <path> --runs-root <path> --adapter-id <id> --task-kind <kind> \
            --task-id <id> [options]",
    model_flag: "kilo-model",
    timeout_flag: "kilo-timeout-seconds",
    stall_flag: "kilo-stall-seconds",
    model_key: "KILO_MODEL",
    timeout_key: "KILO_TIMEOUT_SECONDS",
    stall_key: "KILO_STALL_SECONDS",
    bin_key: "KILO_BIN",
    model_help_agent: "kilo",
    defaults: &acp_core::config::backends::DEFAULTS.kilo,
    bin_vars: &["KILO_BIN", "ACP_KILO_BIN"],
    bin_names: &["kilo"],
    bin_fallbacks: &[
        "/opt/homebrew/bin/kilo",
        "/usr/local/bin/kilo",
        "~/.local/bin/kilo",
        "~/.bun/bin/kilo",
    ],
    missing_bin: "unable to resolve a runnable kilo binary (install it with npm install -g @kilocode/cli, or set KILO_BIN)",
    name: "kilo",
    progress: Some(is_event),
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

/// `kilo run --auto --format json --model <m> --dir <worktree> <prompt>`:
/// the CLI takes the prompt as its positional argument; `--mode` does not
/// change anything (kilo always runs with `--auto`).
pub fn kilo_args(model: &str, worktree: &Path, prompt: &str) -> Vec<OsString> {
    let mut v: Vec<OsString> = [
        "run", "--auto", "--format", "json", "--model", model, "--dir",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    v.push(worktree.as_os_str().to_os_string());
    v.push(prompt.into());
    v
}

/// The prompt file's text (trailing newlines dropped; unreadable: empty)
/// as the last word, nothing on stdin.
fn argv(s: &Session, model: &str) -> Argv {
    let prompt = std::fs::read(&s.prompt_file)
        .map(|b| {
            String::from_utf8_lossy(&b)
                .trim_end_matches('\n')
                .to_string()
        })
        .unwrap_or_default();
    Argv {
        args: kilo_args(model, &s.worktree, &prompt),
        input: Input::Null,
    }
}

/// Kilo's JSON event lines are progress; anything else is plain output.
fn is_event(line: &[u8]) -> bool {
    line.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{')
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn prompt_is_the_last_word_and_events_are_json() {
        let a = kilo_args("m", Path::new("/w"), "do it");
        assert_eq!(a[..4], ["run", "--auto", "--format", "json"]);
        assert_eq!(a.last().unwrap(), "do it");
        assert!(is_event(b"  {\"type\":\"step\"}"));
        assert!(!is_event(b"plain text"));
    }
}
