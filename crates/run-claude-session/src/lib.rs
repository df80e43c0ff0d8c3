//! `agent-project-run-claude-session`: start Claude Code in headless print
//! mode (`claude -p`) inside tmux, with hooks and MCP servers disabled, a
//! per-attempt timeout, bounded retries for transient failures, and a result
//! contract that always exists afterwards.
//!
//! The launcher half is the shared contract of `acp_session::launcher`; the
//! inner half (`<tool> __inner ...`, exec'd by `<session>.sh`) runs each
//! attempt under the shared supervision engine.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use acp_core::classify::{self, reason};
use acp_core::cli::{self};
use acp_core::{Invocation, ToolSpec, fail, fsx};
use acp_session::launcher::inner::{AgentHooks, InnerArgs, ResultContract, Session};
use acp_session::launcher::{self, Backend, Common, Export, Plan};
use acp_session::supervise::{self, Ending, Input, KeyProfile, LogSink, RunnerState};

mod worktree;

const TOOL: &str = "agent-project-run-claude-session";

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: TOOL,
    aliases: &["run-claude-session"],
    paths: &["tools/bin/agent-project-run-claude-session"],
    about: "Launch a Claude Code worker session in tmux",
    command,
    run,
}];

const BACKEND: Backend = Backend {
    tool: TOOL,
    default_sandbox_subdir: ".openclaw-artifacts",
    records_script: true,
};

const DEFAULT_ALLOWED_TOOLS: &str = "Bash(*),Read,Grep,Glob,LS,Edit,Write,MultiEdit";

/// The argument parser.
pub fn command() -> clap::Command {
    let cmd = cli::tool_command(
        TOOL,
        "Starts Claude Code (`claude -p`) for one issue, PR or task in a detached tmux session \
         and records the run's metadata, log, runner state and result under the runs root.",
    )
    .override_usage(
        "agent-project-run-claude-session --mode safe|bypass --session <id> --worktree <path> \
         --prompt-file <path> --runs-root <path> --adapter-id <id> --task-kind <kind> \
         --task-id <id> [options]",
    );
    launcher::with_common_args(cmd, BACKEND.default_sandbox_subdir)
        .arg(cli::opt("claude-model").help("Model alias or name [env: ACP_CLAUDE_MODEL; default sonnet]"))
        .arg(cli::opt("claude-permission-mode").help(
            "Permission mode; dontAsk runs as acceptEdits [env: ACP_CLAUDE_PERMISSION_MODE; default acceptEdits]",
        ))
        .arg(cli::opt("claude-effort").help("low, medium, high or max [env: ACP_CLAUDE_EFFORT; default medium]"))
        .arg(cli::opt("claude-timeout-seconds").help("Per-attempt limit (default 900)"))
        .arg(cli::opt("claude-max-attempts").help("Attempts for transient failures (default 3)"))
        .arg(cli::opt("claude-retry-backoff-seconds").help("Pause between attempts (default 30)"))
        .arg(cli::opt("claude-allowed-tools").help(format!(
            "Tools Claude may use (default {DEFAULT_ALLOWED_TOOLS})"
        )))
        .arg(cli::opt("claude-stall-seconds").help(
            "End an attempt that prints nothing for this long; 0 = off [env: ACP_CLAUDE_STALL_SECONDS; default 0]",
        ))
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let cmd = command();
    let m = match launcher::parse_or_dispatch(ctx, args, &cmd, inner_main)? {
        Ok(m) => m,
        Err(code) => return Ok(code),
    };
    let common = Common::from_matches(&m, BACKEND.default_sandbox_subdir);
    let model = cli::given_or_acp(&m, "claude-model", &ctx.env, "CLAUDE_MODEL", "sonnet");
    let permission = cli::given_or_acp(
        &m,
        "claude-permission-mode",
        &ctx.env,
        "CLAUDE_PERMISSION_MODE",
        "acceptEdits",
    );
    let effort = cli::given_or_acp(&m, "claude-effort", &ctx.env, "CLAUDE_EFFORT", "medium");
    let timeout = cli::given_or_acp(
        &m,
        "claude-timeout-seconds",
        &ctx.env,
        "CLAUDE_TIMEOUT_SECONDS",
        "900",
    );
    let attempts = cli::given_or_acp(
        &m,
        "claude-max-attempts",
        &ctx.env,
        "CLAUDE_MAX_ATTEMPTS",
        "3",
    );
    let backoff = cli::given_or_acp(
        &m,
        "claude-retry-backoff-seconds",
        &ctx.env,
        "CLAUDE_RETRY_BACKOFF_SECONDS",
        "30",
    );
    let tools = cli::given_or_acp(
        &m,
        "claude-allowed-tools",
        &ctx.env,
        "CLAUDE_ALLOWED_TOOLS",
        DEFAULT_ALLOWED_TOOLS,
    );
    let stall = cli::given_or_acp(
        &m,
        "claude-stall-seconds",
        &ctx.env,
        "CLAUDE_STALL_SECONDS",
        "0",
    );

    if let Some(code) = common.check(ctx, &cmd)? {
        return Ok(code);
    }
    if !matches!(effort.as_str(), "low" | "medium" | "high" | "max") {
        return Err(fail(
            1,
            "--claude-effort must be one of: low, medium, high, max",
        ));
    }
    launcher::positive_int(&timeout, "--claude-timeout-seconds")?;
    launcher::positive_int(&attempts, "--claude-max-attempts")?;
    launcher::non_negative_int(&backoff, "--claude-retry-backoff-seconds")?;
    launcher::non_negative_int(&stall, "--claude-stall-seconds")?;
    let claude_bin = launcher::resolve_binary(
        ctx,
        &["CLAUDE_BIN", "ACP_CLAUDE_BIN", "F_LOSNING_CLAUDE_BIN"],
        &["claude"],
        &[
            "~/.local/bin/claude",
            "~/.claude/local/bin/claude",
            "/usr/local/bin/claude",
            "/opt/homebrew/bin/claude",
        ],
    )
    .ok_or_else(|| fail(1, "unable to resolve a runnable claude binary"))?;
    let context = common.validate()?;

    let effective = if permission == "dontAsk" {
        "acceptEdits".to_string()
    } else {
        permission.clone()
    };
    let layout = launcher::Layout::new(&common);
    let settings = format!("{}/claude-headless-settings.json", layout.artifact_dir);
    let mcp = format!("{}/claude-headless-mcp.json", layout.artifact_dir);
    let debug = format!("{}/claude-debug.log", layout.artifact_dir);
    let python = ctx
        .env
        .which("python3")
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();

    let mut plan = Plan::new(&BACKEND, &common, context);
    plan.artifact_files = vec![
        (
            "claude-headless-settings.json",
            b"{\n  \"disableAllHooks\": true\n}\n".to_vec(),
        ),
        (
            "claude-headless-mcp.json",
            b"{\n  \"mcpServers\": {}\n}\n".to_vec(),
        ),
    ];
    plan.run_env_keys = vec![
        ("CLAUDE_BIN", claude_bin.clone()),
        ("CLAUDE_MODEL", model.clone()),
        ("CLAUDE_PERMISSION_MODE", permission.clone()),
        ("CLAUDE_EFFECTIVE_PERMISSION_MODE", effective.clone()),
        ("CLAUDE_EFFORT", effort.clone()),
        ("CLAUDE_TIMEOUT_SECONDS", timeout.clone()),
        ("CLAUDE_MAX_ATTEMPTS", attempts.clone()),
        ("CLAUDE_RETRY_BACKOFF_SECONDS", backoff.clone()),
        ("CLAUDE_ALLOWED_TOOLS", tools.clone()),
        ("CLAUDE_SETTINGS_FILE", settings),
        ("CLAUDE_MCP_CONFIG_FILE", mcp),
        ("CLAUDE_DEBUG_FILE", debug),
        ("PYTHON_BIN", python),
    ];
    plan.exports = vec![
        Export::all("CLAUDE_BIN", claude_bin.clone()),
        Export::acp("CLAUDE_MODEL", model.clone()),
        Export::acp("CLAUDE_PERMISSION_MODE", permission),
        Export::acp("CLAUDE_EFFORT", effort.clone()),
        Export::acp("CLAUDE_TIMEOUT_SECONDS", timeout.clone()),
        Export::acp("CLAUDE_MAX_ATTEMPTS", attempts.clone()),
        Export::acp("CLAUDE_RETRY_BACKOFF_SECONDS", backoff.clone()),
    ];
    plan.plain_exports = vec![("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".into())];
    plan.inner = vec![
        ("CLAUDE_BIN", claude_bin),
        ("CLAUDE_MODEL", model),
        ("CLAUDE_EFFECTIVE_PERMISSION_MODE", effective),
        ("CLAUDE_EFFORT", effort),
        ("CLAUDE_TIMEOUT_SECONDS", timeout),
        ("CLAUDE_MAX_ATTEMPTS", attempts),
        ("CLAUDE_RETRY_BACKOFF_SECONDS", backoff),
        ("CLAUDE_ALLOWED_TOOLS", tools),
        ("CLAUDE_STALL_SECONDS", stall),
    ];
    launcher::launch(ctx, &plan)
}

/// The claude argv (spec 2.3 "Command shape"); the prompt goes on stdin.
pub fn claude_args(
    artifact_dir: &str,
    worktree: &str,
    permission: &str,
    tools: &str,
    model: &str,
    effort: &str,
) -> Vec<String> {
    let mut v: Vec<String> = [
        "-p",
        "--output-format",
        "text",
        "--verbose",
        "--debug-file",
        &format!("{artifact_dir}/claude-debug.log"),
        "--no-session-persistence",
        "--permission-mode",
        permission,
        "--allowed-tools",
        tools,
        "--disable-slash-commands",
        "--strict-mcp-config",
        "--mcp-config",
        &format!("{artifact_dir}/claude-headless-mcp.json"),
        "--settings",
        &format!("{artifact_dir}/claude-headless-settings.json"),
        "--model",
        model,
        "--effort",
        effort,
        "--add-dir",
        worktree,
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect();
    if permission == "bypassPermissions" {
        v.push("--allow-dangerously-skip-permissions".into());
    }
    v
}

fn num(a: &InnerArgs, key: &str, default: u64) -> u64 {
    a.get(key).parse().unwrap_or(default)
}

/// The inner supervisor: attempts under the engine, then the result contract,
/// final git state, collection, runner state, reconcile and exit marker.
fn inner_main(ctx: &mut Invocation<'_>, a: InnerArgs) -> anyhow::Result<i32> {
    let mut s = Session::from_args(TOOL, &a, &ctx.env)?;
    let mut env = ctx.env.clone();
    s.take_secrets(&mut env)?;
    // A run that cannot be prepared still ends as a failed run (runner
    // state, result, exit marker) instead of leaving nothing behind.
    let setup = s
        .reset_sandbox()
        .and_then(|()| retire_debug_logs(&s.artifact_dir));
    let wt = Path::new(&s.worktree);
    match worktree::prepare(&env, wt, &s.sandbox_run_dir, &s.sandbox_subdir) {
        Ok(notes) => {
            for note in notes {
                s.append_log(format!("{note}\n").as_bytes())?;
            }
        }
        Err(e) => s.append_log(format!("[claude-setup] {e:#}\n").as_bytes())?,
    }

    let claude_bin = a.get("CLAUDE_BIN");
    let max_attempts = num(&a, "CLAUDE_MAX_ATTEMPTS", 3).max(1);
    let backoff = num(&a, "CLAUDE_RETRY_BACKOFF_SECONDS", 30);
    let stall = num(&a, "CLAUDE_STALL_SECONDS", 0);
    let argv = claude_args(
        &s.artifact_dir,
        &s.worktree,
        &a.get("CLAUDE_EFFECTIVE_PERMISSION_MODE"),
        &a.get("CLAUDE_ALLOWED_TOOLS"),
        &a.get("CLAUDE_MODEL"),
        &a.get("CLAUDE_EFFORT"),
    );
    let cfg = supervise::Config {
        timeout: Some(Duration::from_secs(
            num(&a, "CLAUDE_TIMEOUT_SECONDS", 900).max(1),
        )),
        silent_stall: (stall > 0).then(|| Duration::from_secs(stall)),
        heartbeat: Some(Duration::from_secs(30)),
        ..supervise::Config::default()
    };
    let thread_id = format!("claude-print-{}", s.session);
    let state = |st: RunnerState| RunnerState {
        thread_id: thread_id.clone(),
        ..st
    };
    let debug_log = format!("{}/claude-debug.log", s.artifact_dir);

    let mut status: i32;
    let mut attempt = 1u32;
    let mut reason: String;
    let mut signalled = false;
    if let Err(e) = &setup {
        s.append_log(format!("[claude-setup] {e:#}\n").as_bytes())?;
        status = 1;
        reason = reason::WORKER_EXIT_FAILED.into();
    } else {
        loop {
            let running = state(RunnerState {
                state: supervise::state::RUNNING.into(),
                attempt,
                resume_count: attempt - 1,
                ..RunnerState::default()
            });
            s.write_runner_state(&running, KeyProfile::Full)?;
            s.append_log(format!("\n[claude-attempt] {attempt}/{max_attempts}\n").as_bytes())?;
            let attempt_log = format!("{}/claude-attempt-{attempt}.log", s.artifact_dir);
            let _ = std::fs::remove_file(&attempt_log);
            let outcome = {
                let mut sink = LogSink::append(Path::new(&attempt_log), None)?;
                let mut cmd = Command::new(&claude_bin);
                env.apply(&mut cmd);
                cmd.args(&argv).current_dir(wt);
                let mut hooks = AgentHooks {
                    runner_env: Path::new(&s.runner_env),
                    profile: KeyProfile::Full,
                    state: running,
                    locale: s.locale,
                    progress: None,
                };
                supervise::supervise(
                    &mut cmd,
                    &Input::File(s.prompt_file.clone().into()),
                    &cfg,
                    &mut hooks,
                    &mut sink,
                )
            };
            let outcome = match outcome {
                Ok(o) => o,
                Err(e) => {
                    fsx::append(Path::new(&attempt_log), format!("{e:#}\n").as_bytes())?;
                    supervise::Outcome::not_started(127)
                }
            };
            if let Some(bytes) = fsx::read_if_exists(Path::new(&attempt_log))? {
                s.append_log(&bytes)?;
            }
            // An attempt the engine ended for stalling failed, even when the
            // agent answered the TERM by exiting 0.
            status = match outcome.ending {
                Ending::Stalled(_) if outcome.exit_code == 0 => 1,
                _ => outcome.exit_code,
            };
            reason = match &outcome.ending {
                _ if status == 0 => String::new(),
                Ending::TimedOut => reason::TIMEOUT.into(),
                Ending::Stalled(kind) => classify::agent_stall_reason(*kind).into(),
                Ending::Signalled(_) => {
                    signalled = true;
                    reason::RUNNER_ABORTED.into()
                }
                _ => classify_files(&[&attempt_log, &debug_log]).to_string(),
            };
            if status == 0
                || signalled
                || u64::from(attempt) >= max_attempts
                || !classify::is_claude_retryable(&reason)
            {
                break;
            }
            s.append_log(
                format!("[claude-retry] reason={reason} backoff={backoff}s\n").as_bytes(),
            )?;
            if sleep_unless_signalled(backoff) {
                signalled = true;
                status = 128 + supervise_signal();
                reason = reason::RUNNER_ABORTED.into();
                break;
            }
            attempt = attempt.saturating_add(1);
        }
    }

    s.record_final_git_state(&env)?;
    // Without a reset sandbox its result.env may be an earlier run's.
    if setup.is_err() || !s.copy_result_to_host()? {
        let detail = if status == 0 {
            reason::MISSING_RESULT_CONTRACT.to_string()
        } else if status != 124 && !reason.is_empty() && reason != reason::CLAUDE_EXIT_FAILED {
            reason.clone()
        } else {
            format!("worker-exit-{status}")
        };
        s.write_host_result(&ResultContract::blocked(&detail))?;
    }
    s.collect_artifacts()?;
    let done = state(RunnerState {
        state: if status == 0 {
            supervise::state::SUCCEEDED
        } else {
            supervise::state::FAILED
        }
        .into(),
        attempt,
        resume_count: attempt - 1,
        last_exit_code: status.to_string(),
        last_failure_reason: reason,
        ..RunnerState::default()
    });
    s.write_runner_state(&done, KeyProfile::Full)?;
    if !signalled {
        s.schedule_reconcile_with(ctx, &env)?;
    }
    s.exit_marker(ctx.stdout, status)?;
    Ok(status)
}

/// Claude's debug log and attempt logs of an earlier run of this session
/// would otherwise decide this run's failure reason; they join the other
/// retired files in `previous-run/`.
fn retire_debug_logs(artifact_dir: &str) -> anyhow::Result<()> {
    let dir = Path::new(artifact_dir);
    let previous = dir.join("previous-run");
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = name == "claude-debug.log"
            || (name.starts_with("claude-attempt-") && name.ends_with(".log"));
        if ours && entry.path().is_file() {
            fsx::create_dir_all(&previous)?;
            fs_err::rename(entry.path(), previous.join(&name))?;
        }
    }
    Ok(())
}

fn supervise_signal() -> i32 {
    acp_core::process::termination_signal().unwrap_or(libc_sigterm())
}

const fn libc_sigterm() -> i32 {
    15
}

/// Sleeps `secs` seconds in short steps; true when a termination signal
/// arrived meanwhile (the engine's handler stays installed between attempts).
/// A back-off too long to represent as a deadline waits until a signal.
fn sleep_unless_signalled(secs: u64) -> bool {
    let end = std::time::Instant::now().checked_add(Duration::from_secs(secs));
    let step = Duration::from_millis(100);
    loop {
        if acp_core::process::termination_signal().is_some() {
            return true;
        }
        let left = match end {
            Some(end) => end.saturating_duration_since(std::time::Instant::now()),
            None => step,
        };
        if left.is_zero() {
            return false;
        }
        std::thread::sleep(left.min(step));
    }
}

/// Classifies a failed attempt from its files in turn (attempt log, then
/// Claude's debug log; a missing file is skipped): `claude-exit-failed` when
/// nothing matches.
pub fn classify_files(files: &[&str]) -> &'static str {
    let texts: Vec<Vec<u8>> = files.iter().filter_map(|f| std::fs::read(f).ok()).collect();
    classify::classify_claude_failure(&texts)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn bypass_adds_the_skip_flag() {
        let a = claude_args("/a", "/w", "bypassPermissions", "Read", "m", "high");
        assert_eq!(
            a.last().map(String::as_str),
            Some("--allow-dangerously-skip-permissions")
        );
        let a = claude_args("/a", "/w", "acceptEdits", "Read", "m", "high");
        assert!(
            !a.iter()
                .any(|x| x == "--allow-dangerously-skip-permissions")
        );
        assert!(a.windows(2).any(|w| w[0] == "--add-dir" && w[1] == "/w"));
    }
}
