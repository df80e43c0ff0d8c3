//! `agent-project-run-claude-session`: start Claude Code in headless print
//! mode (`claude -p`) inside tmux, with hooks and MCP servers disabled, a
//! per-attempt timeout, bounded retries for transient failures, and a result
//! contract that always exists afterwards.
//!
//! The launcher half is the shared contract of `acp_session::launcher`; the
//! inner half (`<tool> __inner ...`, exec'd by `<session>.sh`) runs each
//! attempt under the shared supervision engine.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use acp_core::classify::{self, reason};
use acp_core::cli::{self};
use acp_core::config::backends;
use acp_core::{Invocation, ToolSpec, fail, fsx};
use acp_session::launcher::contract::{Contract, Inner, Reader, Writer};
use acp_session::launcher::inner::{AgentHooks, ResultContract, Session};
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

/// claude's defaults.
const D: &backends::Claude = &backends::DEFAULTS.claude;

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
        .arg(cli::opt("claude-model").help(format!(
            "Model alias or name [env: ACP_CLAUDE_MODEL; default {}]",
            D.model
        )))
        .arg(cli::opt("claude-permission-mode").help(format!(
            "Permission mode; dontAsk runs as acceptEdits [env: ACP_CLAUDE_PERMISSION_MODE; default {}]",
            D.permission_mode
        )))
        .arg(cli::opt("claude-effort").help(format!(
            "low, medium, high or max [env: ACP_CLAUDE_EFFORT; default {}]",
            D.effort
        )))
        .arg(cli::opt("claude-timeout-seconds").help(format!(
            "Per-attempt limit (default {})",
            D.timeout_seconds
        )))
        .arg(cli::opt("claude-max-attempts").help(format!(
            "Attempts for transient failures (default {})",
            D.max_attempts
        )))
        .arg(cli::opt("claude-retry-backoff-seconds").help(format!(
            "Pause between attempts (default {})",
            D.retry_backoff_seconds
        )))
        .arg(cli::opt("claude-allowed-tools").help(format!(
            "Tools Claude may use (default {DEFAULT_ALLOWED_TOOLS})"
        )))
        .arg(cli::opt("claude-stall-seconds").help(format!(
            "End an attempt that prints nothing for this long; 0 = off [env: ACP_CLAUDE_STALL_SECONDS; default {}]",
            D.stall_seconds
        )))
}

/// The launcher's arguments: the common ones and claude's, each from its
/// flag, else `ACP_CLAUDE_*`, else `F_LOSNING_CLAUDE_*`, else the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub common: Common,
    pub model: String,
    pub permission_mode: String,
    pub effort: String,
    pub timeout: String,
    pub max_attempts: String,
    pub retry_backoff: String,
    pub allowed_tools: String,
    pub stall: String,
}

impl Args {
    /// Reads the matches and the environment.
    pub fn new(m: &clap::ArgMatches, env: &acp_core::Env) -> Self {
        let knob =
            |flag: &str, name: &str, default: &str| cli::given_or_acp(m, flag, env, name, default);
        Self {
            common: Common::from_matches(m, BACKEND.default_sandbox_subdir),
            model: knob("claude-model", "CLAUDE_MODEL", D.model),
            permission_mode: knob(
                "claude-permission-mode",
                "CLAUDE_PERMISSION_MODE",
                D.permission_mode,
            ),
            effort: knob("claude-effort", "CLAUDE_EFFORT", D.effort),
            timeout: knob(
                "claude-timeout-seconds",
                "CLAUDE_TIMEOUT_SECONDS",
                &D.timeout_seconds.to_string(),
            ),
            max_attempts: knob(
                "claude-max-attempts",
                "CLAUDE_MAX_ATTEMPTS",
                &D.max_attempts.to_string(),
            ),
            retry_backoff: knob(
                "claude-retry-backoff-seconds",
                "CLAUDE_RETRY_BACKOFF_SECONDS",
                &D.retry_backoff_seconds.to_string(),
            ),
            allowed_tools: knob(
                "claude-allowed-tools",
                "CLAUDE_ALLOWED_TOOLS",
                DEFAULT_ALLOWED_TOOLS,
            ),
            stall: knob(
                "claude-stall-seconds",
                "CLAUDE_STALL_SECONDS",
                &D.stall_seconds.to_string(),
            ),
        }
    }

    /// `dontAsk` runs as `acceptEdits`.
    pub fn effective_permission_mode(&self) -> &str {
        if self.permission_mode == "dontAsk" {
            "acceptEdits"
        } else {
            &self.permission_mode
        }
    }

    /// The claude checks, in the original's order; the inner contract
    /// (with `bin` still empty) when they pass.
    pub fn check(&self) -> anyhow::Result<ClaudeInner> {
        if !matches!(self.effort.as_str(), "low" | "medium" | "high" | "max") {
            return Err(fail(
                1,
                "--claude-effort must be one of: low, medium, high, max",
            ));
        }
        Ok(ClaudeInner {
            bin: PathBuf::new(),
            model: self.model.clone(),
            permission_mode: self.effective_permission_mode().to_string(),
            effort: self.effort.clone(),
            timeout_seconds: launcher::positive_int(&self.timeout, "--claude-timeout-seconds")?,
            max_attempts: launcher::positive_int(&self.max_attempts, "--claude-max-attempts")?,
            retry_backoff_seconds: launcher::non_negative_int(
                &self.retry_backoff,
                "--claude-retry-backoff-seconds",
            )?,
            allowed_tools: self.allowed_tools.clone(),
            stall_seconds: launcher::non_negative_int(&self.stall, "--claude-stall-seconds")?,
        })
    }
}

/// Claude's part of the launcher -> `__inner` contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaudeInner {
    pub bin: PathBuf,
    pub model: String,
    /// The effective permission mode (`dontAsk` already mapped).
    pub permission_mode: String,
    pub effort: String,
    /// Per attempt.
    pub timeout_seconds: u64,
    pub max_attempts: u64,
    pub retry_backoff_seconds: u64,
    pub allowed_tools: String,
    /// 0: no stall watchdog.
    pub stall_seconds: u64,
}

impl Contract for ClaudeInner {
    fn write(&self, w: &mut Writer) {
        w.path("CLAUDE_BIN", &self.bin);
        w.text("CLAUDE_MODEL", &self.model);
        w.text("CLAUDE_EFFECTIVE_PERMISSION_MODE", &self.permission_mode);
        w.text("CLAUDE_EFFORT", &self.effort);
        w.num("CLAUDE_TIMEOUT_SECONDS", self.timeout_seconds);
        w.num("CLAUDE_MAX_ATTEMPTS", self.max_attempts);
        w.num("CLAUDE_RETRY_BACKOFF_SECONDS", self.retry_backoff_seconds);
        w.text("CLAUDE_ALLOWED_TOOLS", &self.allowed_tools);
        w.num("CLAUDE_STALL_SECONDS", self.stall_seconds);
    }

    fn read(r: &mut Reader) -> anyhow::Result<Self> {
        Ok(Self {
            bin: r.path("CLAUDE_BIN")?,
            model: r.text("CLAUDE_MODEL")?,
            permission_mode: r.text("CLAUDE_EFFECTIVE_PERMISSION_MODE")?,
            effort: r.text("CLAUDE_EFFORT")?,
            timeout_seconds: r.num("CLAUDE_TIMEOUT_SECONDS")?,
            max_attempts: r.num("CLAUDE_MAX_ATTEMPTS")?,
            retry_backoff_seconds: r.num("CLAUDE_RETRY_BACKOFF_SECONDS")?,
            allowed_tools: r.text("CLAUDE_ALLOWED_TOOLS")?,
            stall_seconds: r.num("CLAUDE_STALL_SECONDS")?,
        })
    }
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let cmd = command();
    let m = match launcher::parse_or_dispatch(ctx, args, &cmd, inner_main)? {
        Ok(m) => m,
        Err(code) => return Ok(code),
    };
    let a = Args::new(&m, &ctx.env);
    if let Some(code) = a.common.check(ctx, &cmd)? {
        return Ok(code);
    }
    let mut inner = a.check()?;
    inner.bin = launcher::resolve_binary(
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
    let context = a.common.validate()?;
    let python = ctx.env.which("python3").unwrap_or_default();
    let plan = plan(&a, context, inner, python);
    launcher::launch(ctx, &plan)
}

/// The launch plan: the headless settings and MCP files, run.env keys,
/// worker exports, and the inner contract.
fn plan(a: &Args, context: Vec<(String, String)>, inner: ClaudeInner, python: PathBuf) -> Plan<'_> {
    let layout = launcher::Layout::new(&a.common);
    let in_artifacts = |name: &str| layout.artifact_dir.join(name).into_os_string();
    let text = |v: &str| OsString::from(v);
    let bin = inner.bin.as_os_str().to_os_string();
    let mut plan = Plan::new(&BACKEND, &a.common, context);
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
        ("CLAUDE_BIN", bin.clone()),
        ("CLAUDE_MODEL", text(&a.model)),
        ("CLAUDE_PERMISSION_MODE", text(&a.permission_mode)),
        (
            "CLAUDE_EFFECTIVE_PERMISSION_MODE",
            text(a.effective_permission_mode()),
        ),
        ("CLAUDE_EFFORT", text(&a.effort)),
        ("CLAUDE_TIMEOUT_SECONDS", text(&a.timeout)),
        ("CLAUDE_MAX_ATTEMPTS", text(&a.max_attempts)),
        ("CLAUDE_RETRY_BACKOFF_SECONDS", text(&a.retry_backoff)),
        ("CLAUDE_ALLOWED_TOOLS", text(&a.allowed_tools)),
        (
            "CLAUDE_SETTINGS_FILE",
            in_artifacts("claude-headless-settings.json"),
        ),
        (
            "CLAUDE_MCP_CONFIG_FILE",
            in_artifacts("claude-headless-mcp.json"),
        ),
        ("CLAUDE_DEBUG_FILE", in_artifacts("claude-debug.log")),
        ("PYTHON_BIN", python.into_os_string()),
    ];
    plan.exports = vec![
        Export::all("CLAUDE_BIN", bin),
        Export::acp("CLAUDE_MODEL", a.model.clone()),
        Export::acp("CLAUDE_PERMISSION_MODE", a.permission_mode.clone()),
        Export::acp("CLAUDE_EFFORT", a.effort.clone()),
        Export::acp("CLAUDE_TIMEOUT_SECONDS", a.timeout.clone()),
        Export::acp("CLAUDE_MAX_ATTEMPTS", a.max_attempts.clone()),
        Export::acp("CLAUDE_RETRY_BACKOFF_SECONDS", a.retry_backoff.clone()),
    ];
    plan.plain_exports = vec![("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", text("1"))];
    plan.set_inner(&inner);
    plan
}

/// The claude argv (spec 2.3 "Command shape"); the prompt goes on stdin.
pub fn claude_args(artifact_dir: &Path, worktree: &Path, c: &ClaudeInner) -> Vec<OsString> {
    let text = |v: &str| OsString::from(v);
    let in_artifacts = |name: &str| artifact_dir.join(name).into_os_string();
    let mut v: Vec<OsString> = vec![
        text("-p"),
        text("--output-format"),
        text("text"),
        text("--verbose"),
        text("--debug-file"),
        in_artifacts("claude-debug.log"),
        text("--no-session-persistence"),
        text("--permission-mode"),
        text(&c.permission_mode),
        text("--allowed-tools"),
        text(&c.allowed_tools),
        text("--disable-slash-commands"),
        text("--strict-mcp-config"),
        text("--mcp-config"),
        in_artifacts("claude-headless-mcp.json"),
        text("--settings"),
        in_artifacts("claude-headless-settings.json"),
        text("--model"),
        text(&c.model),
        text("--effort"),
        text(&c.effort),
        text("--add-dir"),
        worktree.as_os_str().to_os_string(),
    ];
    if c.permission_mode == "bypassPermissions" {
        v.push(text("--allow-dangerously-skip-permissions"));
    }
    v
}

/// How a run's attempts ended.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RunEnd {
    status: i32,
    /// The last attempt's number.
    attempt: u32,
    /// Empty on success.
    reason: String,
    /// The session was told to stop (TERM/INT/HUP): no reconcile follows.
    signalled: bool,
}

/// How one attempt ended.
struct AttemptEnd {
    status: i32,
    reason: String,
    signalled: bool,
}

/// The inner supervisor: preparation, the attempts under the engine, then
/// the result contract, final git state, collection, runner state,
/// reconcile and exit marker.
fn inner_main(ctx: &mut Invocation<'_>, a: Inner<ClaudeInner>) -> anyhow::Result<i32> {
    let mut s = Session::new(TOOL, a.common, &ctx.env);
    let c = a.backend;
    let mut env = ctx.env.clone();
    s.take_secrets(&mut env)?;
    // A run that cannot be prepared still ends as a failed run (runner
    // state, result, exit marker) instead of leaving nothing behind.
    let setup = prepare(&s, &env)?;
    let end = match &setup {
        Err(e) => {
            s.append_log(format!("[claude-setup] {e:#}\n").as_bytes())?;
            RunEnd {
                status: 1,
                attempt: 1,
                reason: reason::WORKER_EXIT_FAILED.into(),
                signalled: false,
            }
        }
        Ok(()) => run_attempts(&s, &env, &c)?,
    };
    // Without a reset sandbox its result.env may be an earlier run's.
    finish(ctx, &s, &env, &end, setup.is_err())
}

/// Empties the sandbox and retires old debug/attempt logs (the outer error:
/// the log could not be written; the inner one: claude must not start),
/// then prepares the worktree (its failure is only logged).
fn prepare(s: &Session, env: &acp_core::Env) -> anyhow::Result<anyhow::Result<()>> {
    let setup = s
        .reset_sandbox()
        .and_then(|()| retire_debug_logs(&s.artifact_dir));
    match worktree::prepare(env, &s.worktree, &s.sandbox_run_dir, &s.sandbox_subdir) {
        Ok(notes) => {
            for note in notes {
                s.append_log(format!("{note}\n").as_bytes())?;
            }
        }
        Err(e) => s.append_log(format!("[claude-setup] {e:#}\n").as_bytes())?,
    }
    Ok(setup)
}

/// runner.env with claude's thread id.
fn runner_state(s: &Session, st: RunnerState) -> RunnerState {
    RunnerState {
        thread_id: format!("claude-print-{}", s.session),
        ..st
    }
}

/// Runs attempts until one succeeds, is not retryable, the attempts are
/// used up, or the session is told to stop (also during the back-off).
fn run_attempts(s: &Session, env: &acp_core::Env, c: &ClaudeInner) -> anyhow::Result<RunEnd> {
    let max_attempts = c.max_attempts.max(1);
    let mut attempt = 1u32;
    loop {
        let end = run_attempt(s, env, c, attempt, max_attempts)?;
        if end.status == 0
            || end.signalled
            || u64::from(attempt) >= max_attempts
            || !classify::is_claude_retryable(&end.reason)
        {
            return Ok(RunEnd {
                status: end.status,
                attempt,
                reason: end.reason,
                signalled: end.signalled,
            });
        }
        let backoff = c.retry_backoff_seconds;
        s.append_log(
            format!("[claude-retry] reason={} backoff={backoff}s\n", end.reason).as_bytes(),
        )?;
        if sleep_unless_signalled(backoff) {
            return Ok(RunEnd {
                status: 128 + supervise_signal(),
                attempt,
                reason: reason::RUNNER_ABORTED.into(),
                signalled: true,
            });
        }
        attempt = attempt.saturating_add(1);
    }
}

/// One attempt: runner.env `running`, claude under the engine with its
/// output in `claude-attempt-<n>.log` (then appended to the session log),
/// and the attempt's status and failure reason.
fn run_attempt(
    s: &Session,
    env: &acp_core::Env,
    c: &ClaudeInner,
    attempt: u32,
    max_attempts: u64,
) -> anyhow::Result<AttemptEnd> {
    let running = runner_state(
        s,
        RunnerState {
            state: supervise::state::RUNNING.into(),
            attempt,
            resume_count: attempt - 1,
            ..RunnerState::default()
        },
    );
    s.write_runner_state(&running, KeyProfile::Full)?;
    s.append_log(format!("\n[claude-attempt] {attempt}/{max_attempts}\n").as_bytes())?;
    let attempt_log = s.artifact_dir.join(format!("claude-attempt-{attempt}.log"));
    let _ = std::fs::remove_file(&attempt_log);
    let cfg = supervise::Config {
        timeout: Some(Duration::from_secs(c.timeout_seconds.max(1))),
        silent_stall: (c.stall_seconds > 0).then(|| Duration::from_secs(c.stall_seconds)),
        heartbeat: Some(Duration::from_secs(D.heartbeat_seconds)),
        ..supervise::Config::default()
    };
    let outcome = {
        let mut sink = LogSink::append(&attempt_log, None)?;
        let mut cmd = Command::new(&c.bin);
        env.apply(&mut cmd);
        cmd.args(claude_args(&s.artifact_dir, &s.worktree, c))
            .current_dir(&s.worktree);
        let mut hooks = AgentHooks {
            runner_env: &s.runner_env,
            profile: KeyProfile::Full,
            state: running,
            locale: s.locale,
            progress: None,
        };
        let input = Input::File(s.prompt_file.clone());
        supervise::supervise(&mut cmd, &input, &cfg, &mut hooks, &mut sink)
    };
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            fsx::append(&attempt_log, format!("{e:#}\n").as_bytes())?;
            supervise::Outcome::not_started(127)
        }
    };
    if let Some(bytes) = fsx::read_if_exists(&attempt_log)? {
        s.append_log(&bytes)?;
    }
    // An attempt the engine ended for stalling failed, even when the
    // agent answered the TERM by exiting 0.
    let status = match outcome.ending {
        Ending::Stalled(_) if outcome.exit_code == 0 => 1,
        _ => outcome.exit_code,
    };
    let debug_log = s.artifact_dir.join("claude-debug.log");
    let reason = match &outcome.ending {
        _ if status == 0 => String::new(),
        Ending::TimedOut => reason::TIMEOUT.into(),
        Ending::Stalled(kind) => classify::agent_stall_reason(*kind).into(),
        Ending::Signalled(_) => reason::RUNNER_ABORTED.into(),
        _ => classify_files(&[&attempt_log, &debug_log]).to_string(),
    };
    Ok(AttemptEnd {
        signalled: status != 0 && matches!(outcome.ending, Ending::Signalled(_)),
        status,
        reason,
    })
}

/// The closing steps: final git state, the result fallback (always when
/// the sandbox could not be reset), collected files, runner.env, the
/// reconcile unless signalled, and the exit marker.
fn finish(
    ctx: &mut Invocation<'_>,
    s: &Session,
    env: &acp_core::Env,
    end: &RunEnd,
    setup_failed: bool,
) -> anyhow::Result<i32> {
    let status = end.status;
    s.record_final_git_state(env)?;
    if setup_failed || !s.copy_result_to_host()? {
        s.write_host_result(&ResultContract::blocked(&result_detail(
            status,
            &end.reason,
        )))?;
    }
    s.collect_artifacts()?;
    let done = runner_state(
        s,
        RunnerState {
            state: if status == 0 {
                supervise::state::SUCCEEDED
            } else {
                supervise::state::FAILED
            }
            .into(),
            attempt: end.attempt,
            resume_count: end.attempt - 1,
            last_exit_code: status.to_string(),
            last_failure_reason: end.reason.clone(),
            ..RunnerState::default()
        },
    );
    s.write_runner_state(&done, KeyProfile::Full)?;
    if !end.signalled {
        s.schedule_reconcile_with(ctx, env)?;
    }
    s.exit_marker(ctx.stdout, status)?;
    Ok(status)
}

/// The `DETAIL` of the fallback result contract.
fn result_detail(status: i32, reason: &str) -> String {
    if status == 0 {
        reason::MISSING_RESULT_CONTRACT.to_string()
    } else if status != 124 && !reason.is_empty() && reason != reason::CLAUDE_EXIT_FAILED {
        reason.to_string()
    } else {
        format!("worker-exit-{status}")
    }
}

/// Claude's debug log and attempt logs of an earlier run of this session
/// would otherwise decide this run's failure reason; they join the other
/// retired files in `previous-run/`.
fn retire_debug_logs(dir: &Path) -> anyhow::Result<()> {
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
pub fn classify_files(files: &[&Path]) -> &'static str {
    let texts: Vec<Vec<u8>> = files.iter().filter_map(|f| std::fs::read(f).ok()).collect();
    classify::classify_claude_failure(&texts)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    use acp_session::launcher::contract::testing::{decode_error, round_trip, with_word};

    fn inner(permission_mode: &str) -> ClaudeInner {
        ClaudeInner {
            bin: PathBuf::from("/opt/claude bin/claude"),
            model: "opus".into(),
            permission_mode: permission_mode.into(),
            effort: "high".into(),
            timeout_seconds: 900,
            max_attempts: 3,
            retry_backoff_seconds: 0,
            allowed_tools: "Bash(*),Read".into(),
            stall_seconds: 45,
        }
    }

    #[test]
    fn bypass_adds_the_skip_flag() {
        let (art, wt) = (Path::new("/a"), Path::new("/w"));
        let a = claude_args(art, wt, &inner("bypassPermissions"));
        assert_eq!(
            a.last().map(|s| s.as_os_str()),
            Some(std::ffi::OsStr::new("--allow-dangerously-skip-permissions"))
        );
        let a = claude_args(art, wt, &inner("acceptEdits"));
        assert!(
            !a.iter()
                .any(|x| x == "--allow-dangerously-skip-permissions")
        );
        assert!(a.windows(2).any(|w| w[0] == "--add-dir" && w[1] == "/w"));
        assert!(
            a.windows(2)
                .any(|w| w[0] == "--debug-file" && w[1] == "/a/claude-debug.log")
        );
    }

    #[test]
    fn the_inner_contract_round_trips() {
        let c = inner("acceptEdits");
        assert_eq!(round_trip(&c).backend, c);
    }

    #[test]
    fn a_bad_or_missing_number_is_an_error_naming_the_key() {
        // These used to fall back to 3 attempts / 900 s / no stall.
        let c = inner("acceptEdits");
        let e = decode_error::<ClaudeInner>(&with_word(&c, "CLAUDE_MAX_ATTEMPTS", Some("three")));
        assert_eq!(
            e,
            "inner supervisor: CLAUDE_MAX_ATTEMPTS must be a whole number, not 'three'"
        );
        let e = decode_error::<ClaudeInner>(&with_word(&c, "CLAUDE_TIMEOUT_SECONDS", None));
        assert_eq!(e, "inner supervisor: CLAUDE_TIMEOUT_SECONDS is missing");
        let e = decode_error::<ClaudeInner>(&with_word(&c, "CLAUDE_STALL_SECONDS", Some(" 5")));
        assert_eq!(
            e,
            "inner supervisor: CLAUDE_STALL_SECONDS must be a whole number, not ' 5'"
        );
        let e = decode_error::<ClaudeInner>(&with_word(&c, "CLAUDE_BIN", None));
        assert_eq!(e, "inner supervisor: CLAUDE_BIN is missing");
    }

    #[test]
    fn the_result_detail_follows_the_fallback_rules() {
        assert_eq!(result_detail(0, ""), "missing-result-contract");
        assert_eq!(result_detail(124, "timeout"), "worker-exit-124");
        assert_eq!(result_detail(1, "claude-exit-failed"), "worker-exit-1");
        assert_eq!(result_detail(1, ""), "worker-exit-1");
        assert_eq!(result_detail(1, "auth-failure"), "auth-failure");
    }
}
