//! `agent-project-reconcile-issue-session` and `reconcile-issue-worker.sh`:
//! turn a finished issue worker run into its effects (blocker comments,
//! labels, retry state, the PR publish, the run's cleanup) and print the
//! result as `STATUS=`, `ISSUE_ID=`, `PR_NUMBER=`, `OUTCOME=`, `ACTION=`,
//! `FAILURE_REASON=`, `RESULT_CONTRACT_NOTE=`, `PUBLISH_ERROR=` lines.
//!
//! The decision tree is [`flow`]; the policy hooks ([`hooks`]) are the
//! shipped default applied in-process, a user's or a test's hook file run
//! through bash, or nothing; the shared reconcile logic is
//! `acp_session::reconcile`.

use std::ffi::OsString;
use std::path::PathBuf;

use acp_core::cli::{self, Parsed};
use acp_core::{Invocation, ToolSpec};

mod flow;
pub mod hooks;
mod policy;
mod steps;
mod worker;

/// The shipped hook file (`hooks/issue-reconcile-hooks.sh` of every tree):
/// a hook file with exactly these bytes is applied in-process.
pub const DEFAULT_HOOK_FILE: &str =
    include_str!("../../../templates/hooks/issue-reconcile-hooks.sh");

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[
    ToolSpec {
        name: "agent-project-reconcile-issue-session",
        aliases: &["reconcile-issue-session"],
        paths: &["tools/bin/agent-project-reconcile-issue-session"],
        about: "Reconcile a finished issue worker run (comments, labels, retry, publish, cleanup)",
        command,
        run,
    },
    ToolSpec {
        name: "reconcile-issue-worker.sh",
        aliases: &["reconcile-issue-worker"],
        paths: &["tools/bin/reconcile-issue-worker.sh"],
        about: "Reconcile issue session SESSION of the selected profile with the shipped hooks",
        command: worker::command,
        run: worker::run,
    },
];

/// The flags of one reconcile.
#[derive(Debug, Clone, Default)]
pub struct Args {
    pub session: String,
    pub repo_slug: String,
    pub repo_root: String,
    pub runs_root: String,
    pub history_root: String,
    /// Empty: no hooks.
    pub hook_file: String,
}

/// The argument parser of `agent-project-reconcile-issue-session`.
pub fn command() -> clap::Command {
    cli::tool_command(
        "agent-project-reconcile-issue-session",
        "Reconciles a completed issue worker run: reads its worker status and result \
         contract, posts the blocker or report comment, updates labels and retry state \
         through the policy hooks, publishes the PR of an implemented run, cleans the \
         session up and writes reconciled.ok. GitHub writes that fail wait in the run's \
         outbox/ and are replayed.",
    )
    .override_usage(
        "agent-project-reconcile-issue-session --session <id> --repo-slug <owner/repo> \
         --repo-root <path> --runs-root <path> --history-root <path> [--hook-file <path>]",
    )
    .arg(cli::opt("session").help("Session id"))
    .arg(cli::opt("repo-slug").help("GitHub repository (owner/repo)"))
    .arg(cli::opt("repo-root").help("The agent repository root"))
    .arg(cli::opt("runs-root").help("Runs directory"))
    .arg(cli::opt("history-root").help("History directory (archived runs)"))
    .arg(
        cli::opt("hook-file")
            .help("Policy hook file (bash); the shipped one is applied in-process"),
    )
}

/// Runs `agent-project-reconcile-issue-session` (or a hidden hook word).
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if let Some(word) = args.first().and_then(|a| a.to_str())
        && word.starts_with("__hook-")
    {
        return policy::hook_word(ctx, word, &args[1..]);
    }
    let m = match cli::parse(ctx, command(), args, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    let a = Args {
        session: cli::get(&m, "session"),
        repo_slug: cli::get(&m, "repo-slug"),
        repo_root: cli::get(&m, "repo-root"),
        runs_root: cli::get(&m, "runs-root"),
        history_root: cli::get(&m, "history-root"),
        hook_file: cli::get(&m, "hook-file"),
    };
    let required = [
        &a.session,
        &a.repo_slug,
        &a.repo_root,
        &a.runs_root,
        &a.history_root,
    ];
    if required.iter().any(|v| v.is_empty()) {
        write!(ctx.stderr, "{}", cli::usage(&command()))?;
        return Ok(1);
    }
    cli::plain_name("--session", &a.session).map_err(|msg| acp_core::fail(1, msg))?;
    flow::reconcile(ctx, &a)
}

/// The directory the reconcile takes its sibling tools from (worker
/// status, cleanup, publish, provider cooldown, checklist sync,
/// verification records): the first of `AGENT_CONTROL_PLANE_ROOT`,
/// `ACP_ROOT`, `F_LOSNING_FLOW_ROOT`, `AGENT_FLOW_SKILL_ROOT` with a
/// `tools/bin`, then `SHARED_AGENT_HOME/tools/bin`, then the skill under
/// `SHARED_AGENT_HOME/skills/openclaw/<name>`, then the tool's own dir.
pub fn shared_tools_dir(ctx: &Invocation<'_>) -> PathBuf {
    let env = &ctx.env;
    for key in [
        "AGENT_CONTROL_PLANE_ROOT",
        "ACP_ROOT",
        "F_LOSNING_FLOW_ROOT",
        "AGENT_FLOW_SKILL_ROOT",
    ] {
        if let Some(root) = env.non_empty(key) {
            let dir = PathBuf::from(root).join("tools/bin");
            if dir.is_dir() {
                return dir;
            }
        }
    }
    if let Some(home) = env.non_empty("SHARED_AGENT_HOME") {
        let dir = PathBuf::from(&home).join("tools/bin");
        if dir.is_dir() {
            return dir;
        }
        let names = [
            env.non_empty("AGENT_CONTROL_PLANE_SKILL_NAME")
                .unwrap_or_else(|| "agent-control-plane".into()),
            env.get_or_empty("AGENT_CONTROL_PLANE_COMPAT_ALIAS"),
        ];
        for name in names.iter().filter(|n| !n.is_empty()) {
            let dir = PathBuf::from(&home)
                .join("skills/openclaw")
                .join(name)
                .join("tools/bin");
            if dir.is_dir() {
                return dir;
            }
        }
    }
    ctx.script_dir().unwrap_or_else(|| ctx.cwd.clone())
}
