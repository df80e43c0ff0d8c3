//! `agent-project-reconcile-pr-session` and `reconcile-pr-worker.sh`: turn
//! a finished PR worker session into its GitHub effects (comment, approval
//! and merge, branch push) and policy transitions (retry state, labels,
//! lane overrides), then print `STATUS=`, `PR_NUMBER=`, `PR_STATE=`,
//! `OUTCOME=`, `ACTION=` and optional `FAILURE_REASON=` /
//! `RESULT_CONTRACT_NOTE=` lines.
//!
//! Hidden words used by the shipped `hooks/pr-reconcile-hooks.sh`:
//! `agent-project-reconcile-pr-session __hook-env` (the profile values as
//! `KEY=value` lines), `__issue-keep-open SLUG N`, `__pr-head-ref SLUG N`
//! and `__json-get KEY` (a top-level value of the JSON on stdin).

use std::ffi::OsString;
use std::path::PathBuf;

use acp_core::cli::{self, Parsed};
use acp_core::{Invocation, ToolSpec};

pub mod branches;
pub mod contract;
pub mod engine;
pub mod flow;
pub mod gitops;
pub mod hookenv;
pub mod hooks;
pub mod host;
pub mod policy;
pub mod recovery;
pub mod worker;

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[
    ToolSpec {
        name: "agent-project-reconcile-pr-session",
        aliases: &["reconcile-pr-session"],
        paths: &["tools/bin/agent-project-reconcile-pr-session"],
        about: "Reconcile a finished PR worker session with GitHub and the policy hooks",
        command,
        run,
    },
    ToolSpec {
        name: "reconcile-pr-worker.sh",
        aliases: &[],
        paths: &["tools/bin/reconcile-pr-worker.sh"],
        about: "Reconcile a PR session with the selected profile's roots and PR hooks",
        command: worker::command,
        run: worker::run,
    },
];

/// The argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "agent-project-reconcile-pr-session",
        "Reconciles a completed PR worker run: reads its status, run.env and result.env, \
         checks the result contract, then comments, approves and merges, pushes the \
         repaired branch or blocks it, and calls the policy hooks of --hook-file \
         (pr_schedule_retry, pr_after_merged, pr_automerge_allowed, ...). Host actions \
         that GitHub refuses are kept in the run's outbox/ and replayed by the next \
         reconcile; a PR is merged only with an approving review from someone other \
         than its author.",
    )
    .override_usage(
        "agent-project-reconcile-pr-session --session <id> --repo-slug <owner/repo> \
         --repo-root <path> --runs-root <path> --history-root <path> [--hook-file <path>]",
    )
    .arg(cli::opt("session").help("The PR session"))
    .arg(cli::opt("repo-slug").help("owner/repo of the PR"))
    .arg(cli::opt("repo-root").help("The agent repository"))
    .arg(cli::opt("runs-root").help("Where the session's run directory is"))
    .arg(cli::opt("history-root").help("Where cleanup archives the run"))
    .arg(cli::opt("hook-file").help("Policy hooks (bash functions pr_*)"))
}

/// Runs the reconciler (or one of its hidden words).
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if let Some(word) = args.first().and_then(|a| a.to_str())
        && word.starts_with("__")
    {
        return hookenv::run(ctx, word, &args[1..]);
    }
    let cmd = command();
    let m = match cli::parse(ctx, cmd.clone(), args, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    let a = engine::Args {
        session: cli::get(&m, "session"),
        repo_slug: cli::get(&m, "repo-slug"),
        repo_root: PathBuf::from(cli::get(&m, "repo-root")),
        runs_root: PathBuf::from(cli::get(&m, "runs-root")),
        history_root: PathBuf::from(cli::get(&m, "history-root")),
        hook_file: Some(cli::get(&m, "hook-file"))
            .filter(|s| !s.is_empty())
            .map(PathBuf::from),
    };
    let missing = [
        a.session.is_empty(),
        a.repo_slug.is_empty(),
        a.repo_root.as_os_str().is_empty(),
        a.runs_root.as_os_str().is_empty(),
        a.history_root.as_os_str().is_empty(),
    ];
    if missing.iter().any(|m| *m) {
        write!(ctx.stderr, "{}", cli::usage(&cmd))?;
        return Ok(1);
    }
    flow::reconcile(ctx, a)
}
