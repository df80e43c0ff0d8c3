//! `agent-project-worker-status`: report one worker session's status from
//! tmux liveness, runner.env, the log's exit marker, failure reasons found in
//! the log and the presence of result.env; and `worker-status.sh SESSION`,
//! the operator wrapper that resolves the profile's runs root first.
//!
//! The state files are parsed (lenient, nothing executed); their raw bytes
//! are echoed to stdout as before so `awk -F= '/^KEY=/'` consumers keep working.

use std::ffi::OsString;
use std::path::Path;

use acp_core::classify::{self, ExitMarker, StatusInput};
use acp_core::cli::{self, Parsed};
use acp_core::tmux::{self, Tmux};
use acp_core::{Invocation, ToolSpec, fail};
use acp_session::state::{RunPaths, RunnerState};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[
    ToolSpec {
        name: "agent-project-worker-status",
        aliases: &["worker-status"],
        paths: &["tools/bin/agent-project-worker-status"],
        about: "Report a worker session's status (tmux, runner.env, log, result.env)",
        command,
        run,
    },
    ToolSpec {
        name: "worker-status.sh",
        aliases: &[],
        paths: &["tools/bin/worker-status.sh"],
        about: "Worker status of SESSION in the selected profile's runs root",
        command: wrapper::command,
        run: wrapper::run,
    },
];

mod wrapper;

/// The argument parser of `agent-project-worker-status`.
pub fn command() -> clap::Command {
    cli::tool_command(
        "agent-project-worker-status",
        "Prints SESSION=, STATUS= (RUNNING, SUCCEEDED, FAILED or UNKNOWN), the run's \
         run.env, runner.env and result.env lines with META_FILE=, RUNNER_STATE_FILE=, \
         RESULT_FILE=, then RESULT_ONLY_COMPLETION=, EXIT_CODE=, FAILURE_REASON= and \
         THREAD_ID= when known. Always exits 0 once the flags are valid.",
    )
    .override_usage(
        "agent-project-worker-status --runs-root <path> --session <id> [--exit-marker <regex>]",
    )
    .arg(cli::runs_root_opt())
    .arg(cli::session_opt(
        "Session id (tmux session and run directory name)",
    ))
    .arg(
        cli::opt("exit-marker")
            .help("Regex the exit code follows in the log [default: __\\w+_EXIT__:]"),
    )
}

/// Runs `agent-project-worker-status`.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let m = match cli::parse(ctx, command(), args, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    let runs_root = cli::get_or_env(&m, "runs-root", ctx, &["AGENT_PROJECT_RUNS_ROOT"]);
    let session = cli::get(&m, "session");
    let marker = if m.contains_id("exit-marker") {
        cli::get(&m, "exit-marker")
    } else {
        classify::DEFAULT_EXIT_MARKER.to_string()
    };
    cli::require_or_env(&runs_root, "--runs-root", "AGENT_PROJECT_RUNS_ROOT", 1)?;
    cli::require(&session, "--session", 1)?;
    // The session names a directory inside the runs root and a tmux session,
    // and both are printed as `KEY=value` lines.
    cli::plain_name("--session", &session).map_err(|m| fail(1, m))?;
    cli::printable("--runs-root", &runs_root).map_err(|m| fail(1, m))?;
    report(ctx, &runs_root, &session, &marker)?;
    Ok(0)
}

/// Reads a state file that may be absent; other read errors are reported on
/// stderr and the file is treated as absent.
fn read_state_file(ctx: &mut Invocation<'_>, path: &Path) -> anyhow::Result<Option<Vec<u8>>> {
    if !path.is_file() {
        return Ok(None);
    }
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) => {
            writeln!(ctx.stderr, "cannot read {}: {e}", path.display())?;
            Ok(None)
        }
    }
}

fn report(
    ctx: &mut Invocation<'_>,
    runs_root: &str,
    session: &str,
    marker: &str,
) -> anyhow::Result<()> {
    let paths = RunPaths::new(runs_root, session);
    // Without a server socket no tmux client is looked up or started.
    let tmux_alive =
        tmux::server_may_run(&ctx.env) && Tmux::new(&ctx.env, None).has_session(session);

    let runner_raw = read_state_file(ctx, &paths.runner_env)?;
    let runner = match &runner_raw {
        Some(bytes) => match acp_core::envfile::parse(bytes, acp_core::envfile::Mode::Lenient) {
            Ok(entries) => Some(
                RunnerState::from_file(&acp_core::envfile::EnvFile {
                    path: paths.runner_env.clone(),
                    entries,
                })
                .facts(),
            ),
            Err(e) => {
                writeln!(
                    ctx.stderr,
                    "{}:{}: {}",
                    paths.runner_env.display(),
                    e.line,
                    e.message
                )?;
                Some(classify::RunnerFacts::default())
            }
        },
        None => None,
    };
    // The log (it can be large) only counts while tmux and a terminal runner
    // state leave the status open, as the original ran `rg` only then.
    let decided = tmux_alive
        || runner
            .as_ref()
            .is_some_and(|r| matches!(r.state.as_str(), "succeeded" | "failed"));
    let log = if decided {
        None
    } else {
        read_state_file(ctx, &paths.log)?
    };
    let exit_marker = match ExitMarker::new(marker) {
        Ok(m) => Some(m),
        Err(e) => {
            let first = e.to_string();
            let first = first.lines().last().unwrap_or("invalid regex").trim();
            writeln!(
                ctx.stderr,
                "invalid --exit-marker regex {marker:?}: {first}"
            )?;
            None
        }
    };
    let meta_raw = read_state_file(ctx, &paths.run_env)?;
    let result_raw = read_state_file(ctx, &paths.result_env)?;

    let verdict = classify::evaluate_worker_status(&StatusInput {
        tmux_alive,
        runner: runner.as_ref(),
        log: log.as_deref(),
        result_exists: result_raw.is_some(),
        exit_marker: exit_marker.as_ref(),
    });

    let mut out: Vec<u8> = Vec::with_capacity(1024);
    out.extend_from_slice(format!("SESSION={session}\nSTATUS={}\n", verdict.status).as_bytes());
    for (raw, key, path) in [
        (&meta_raw, "META_FILE", &paths.run_env),
        (&runner_raw, "RUNNER_STATE_FILE", &paths.runner_env),
        (&result_raw, "RESULT_FILE", &paths.result_env),
    ] {
        if let Some(bytes) = raw {
            out.extend_from_slice(bytes);
            if !bytes.is_empty() && !bytes.ends_with(b"\n") {
                out.push(b'\n');
            }
            out.extend_from_slice(format!("{key}={}\n", path.display()).as_bytes());
        }
    }
    if verdict.result_only_completion {
        out.extend_from_slice(b"RESULT_ONLY_COMPLETION=yes\n");
    }
    for (key, value) in [
        ("EXIT_CODE", &verdict.exit_code),
        ("FAILURE_REASON", &verdict.failure_reason),
        ("THREAD_ID", &verdict.thread_id),
    ] {
        if !value.is_empty() {
            out.extend_from_slice(format!("{key}={value}\n").as_bytes());
        }
    }
    ctx.stdout.write_all(&out)?;
    Ok(())
}
