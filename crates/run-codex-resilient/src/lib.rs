//! `agent-project-run-codex-resilient`: run `codex exec --json` for one
//! prompt under the shared supervision engine, persisting the Codex thread
//! id, heartbeating into runner.env, ending the process group on stalls, and
//! recovering from quota/auth interruptions by rotating accounts (through the
//! codex-quota manager), waiting for healthy auth and resuming the thread.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use acp_core::cli::{self, Parsed};
use acp_core::config::{self, FlowConfig, backends};
use acp_core::shellquote::QuoteLocale;
use acp_core::{Env, Invocation, ToolSpec, process};
use acp_session::supervise::{
    self, Backend, Config, Ending, Input, KeyProfile, LogSink, RunnerState, Signal, StallKind,
    Tick, state,
};
use anyhow::{Context, Result};
use clap::ArgMatches;
use regex::bytes::Regex;

use acp_core::classify::{self, reason};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "agent-project-run-codex-resilient",
    aliases: &["run-codex-resilient"],
    paths: &["tools/bin/agent-project-run-codex-resilient"],
    about: "Supervise codex exec with thread resume, quota rotation and stall detection",
    command,
    run,
}];

/// codex's defaults.
const D: &backends::Codex = &backends::DEFAULTS.codex;

/// The argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "agent-project-run-codex-resilient",
        "Runs one Codex prompt with `codex exec --json`, keeping the thread id, heartbeats and \
         stall detection in <host-run-dir>/runner.env; on quota or auth interruptions it can \
         rotate the Codex account and resume the same thread.",
    )
    // Like the original shell loop: a repeated flag takes the last value.
    .args_override_self(true)
    .override_usage(
        "agent-project-run-codex-resilient --mode safe|bypass --worktree <path> --prompt-file <path> \
         --output-file <path> --host-run-dir <path> --sandbox-run-dir <path> --codex-bin <path> [options]",
    )
    .arg(cli::opt("mode").help("safe (--full-auto) or bypass (no approvals, no sandbox)"))
    .arg(cli::opt("worktree").help("The worker's git worktree"))
    .arg(cli::opt("prompt-file").help("Prompt fed to the first codex exec on stdin"))
    .arg(cli::opt("output-file").help("Session log (appended)"))
    .arg(cli::opt("host-run-dir").help("Artifact dir; runner.env is written here"))
    .arg(cli::opt("sandbox-run-dir").help("The worker's sandbox run dir (named in the resume prompt)"))
    .arg(cli::opt("safe-profile").help(format!(
        "Codex profile in safe mode [default: {}]",
        D.launcher_profile
    )))
    .arg(cli::opt("bypass-profile").help(format!(
        "Codex profile in bypass mode [default: {}]",
        D.launcher_profile
    )))
    .arg(cli::opt("codex-bin").help("The codex executable"))
    .arg(cli::opt("max-resume-attempts").help(format!(
        "Resumes allowed after interruptions [env: ACP_CODEX_MAX_RESUME_ATTEMPTS, default {}]",
        D.max_resume_attempts
    )))
    .arg(cli::opt("auth-refresh-timeout-seconds").help(format!(
        "How long to wait for healthy auth [env: ACP_CODEX_AUTH_REFRESH_TIMEOUT_SECONDS, default {}]",
        D.auth_refresh_timeout_seconds
    )))
    .arg(cli::opt("auth-refresh-poll-seconds").help(format!(
        "Auth polling interval [env: ACP_CODEX_AUTH_REFRESH_POLL_SECONDS, default {}]",
        D.auth_refresh_poll_seconds
    )))
    .arg(cli::opt("stall-seconds").help(format!(
        "End codex after this long without output/progress, 0 = never [env: ACP_CODEX_STALL_SECONDS, default {}]",
        D.stall_seconds
    )))
    .arg(cli::opt("timeout-seconds").help(format!(
        "Overall limit per codex exec (exit 124), 0 = none [env: ACP_CODEX_TIMEOUT_SECONDS, default {}]",
        D.timeout_seconds
    )))
}

fn numeric(v: &str) -> Option<u64> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Huge all-digit values saturate instead of failing.
    Some(v.parse().unwrap_or(u64::MAX))
}

/// Everything one run needs, resolved by [`Args::resolve`]. Durations are
/// whole seconds (`stall` and `timeout` 0 = off); the `quota_*` settings,
/// `switch_state_file` and `auth_file` drive the account rotation; the
/// session prefixes count running workers for the quota manager.
#[derive(Debug, Clone)]
struct Args {
    bypass: bool,
    prompt_file: PathBuf,
    output_file: PathBuf,
    host_run_dir: PathBuf,
    sandbox_run_dir: PathBuf,
    safe_profile: String,
    bypass_profile: String,
    codex_bin: PathBuf,
    max_resume: u64,
    auth_timeout: u64,
    auth_poll: u64,
    max_autoswitch: u64,
    heartbeat: u64,
    stall: u64,
    timeout: u64,
    quota_enabled: bool,
    quota_threshold: String,
    quota_weekly_threshold: String,
    quota_timeout: u64,
    quota_prefer_label: String,
    quota_bin: PathBuf,
    quota_manager: PathBuf,
    switch_state_file: PathBuf,
    auth_file: PathBuf,
    issue_prefix: String,
    pr_prefix: String,
}

/// The flags the original's usage check required (`--worktree` is only
/// checked: codex runs in the caller's directory, as before).
const REQUIRED: [&str; 7] = [
    "mode",
    "worktree",
    "prompt-file",
    "output-file",
    "host-run-dir",
    "sandbox-run-dir",
    "codex-bin",
];

/// Where the quota tool and manager are looked up. Without a package root
/// (the runner copied alone) they are still found: explicit variables, then
/// the shared home, then PATH (see docs/compatibility.md).
fn quota_tools_root(env: &Env, script: Option<&Path>) -> PathBuf {
    config::skill_root(env, script)
        .ok()
        .or_else(|| env.path("SHARED_AGENT_HOME"))
        .unwrap_or_else(|| config::runtime_canonical_skill_dir(env))
}

/// The quota manager's last-switch file: `CODEX_QUOTA_MANAGER_SWITCH_STATE_FILE`,
/// else `${XDG_CACHE_HOME:-~/.cache}/codex-quota-manager/last-switch.env`.
fn switch_state_file(env: &Env) -> PathBuf {
    env.path("CODEX_QUOTA_MANAGER_SWITCH_STATE_FILE")
        .unwrap_or_else(|| {
            env.path("XDG_CACHE_HOME")
                .unwrap_or_else(|| env.home().join(".cache"))
                .join("codex-quota-manager/last-switch.env")
        })
}

impl Args {
    /// The flags and `env` (its `ACP_`/`F_LOSNING_` twins already mirrored)
    /// as one value: each setting is its flag, else `ACP_<NAME>`, else
    /// `F_LOSNING_<NAME>`, else its default. `Ok(None)` when a required flag
    /// is missing or empty (the caller prints the usage); a bad value is an
    /// error naming the setting, checked in the original's order.
    fn resolve(m: &ArgMatches, env: &Env, script: Option<&Path>) -> Result<Option<Args>> {
        if REQUIRED.iter().any(|name| cli::get(m, name).is_empty()) {
            return Ok(None);
        }
        let mode = cli::get(m, "mode");
        if mode != "safe" && mode != "bypass" {
            return Err(acp_core::fail(1, "--mode must be safe or bypass"));
        }
        // (flag, variable without its ACP_/F_LOSNING_ prefix, default, the
        // name a bad value is reported under)
        let number = |flag: Option<&str>, var: &str, default: u64, name: &str| {
            let default = default.to_string();
            let raw = match flag {
                Some(flag) => cli::given_or_acp(m, flag, env, var, &default),
                None => env.acp_or(var, &default),
            };
            numeric(&raw).ok_or_else(|| acp_core::fail(1, format!("{name} must be numeric")))
        };
        let max_resume = number(
            Some("max-resume-attempts"),
            "CODEX_MAX_RESUME_ATTEMPTS",
            D.max_resume_attempts.into(),
            "--max-resume-attempts",
        )?;
        let auth_timeout = number(
            Some("auth-refresh-timeout-seconds"),
            "CODEX_AUTH_REFRESH_TIMEOUT_SECONDS",
            D.auth_refresh_timeout_seconds,
            "--auth-refresh-timeout-seconds",
        )?;
        let auth_poll = number(
            Some("auth-refresh-poll-seconds"),
            "CODEX_AUTH_REFRESH_POLL_SECONDS",
            D.auth_refresh_poll_seconds,
            "--auth-refresh-poll-seconds",
        )?;
        let heartbeat_var = "ACP_CODEX_PROGRESS_HEARTBEAT_SECONDS";
        let max_autoswitch = number(
            None,
            "CODEX_MAX_AUTOSWITCH_ATTEMPTS",
            D.max_autoswitch_attempts.into(),
            "ACP_CODEX_MAX_AUTOSWITCH_ATTEMPTS",
        )?;
        let heartbeat = number(
            None,
            "CODEX_PROGRESS_HEARTBEAT_SECONDS",
            D.progress_heartbeat_seconds,
            heartbeat_var,
        )?;
        if heartbeat == 0 {
            let msg = format!("{heartbeat_var} must be greater than zero");
            return Err(acp_core::fail(1, msg));
        }
        let stall_var = "ACP_CODEX_STALL_SECONDS";
        let stall = number(
            Some("stall-seconds"),
            "CODEX_STALL_SECONDS",
            D.stall_seconds,
            stall_var,
        )?;
        let timeout_var = "ACP_CODEX_TIMEOUT_SECONDS";
        let timeout = number(
            Some("timeout-seconds"),
            "CODEX_TIMEOUT_SECONDS",
            D.timeout_seconds,
            timeout_var,
        )?;

        let root = quota_tools_root(env, script);
        // An unreadable or invalid config only loses the YAML session prefixes
        // (the defaults apply), as before.
        let flow_cfg =
            FlowConfig::load(env).unwrap_or_else(|_| FlowConfig::empty(&config::config_path(env)));
        let home = env.home();
        Ok(Some(Args {
            bypass: mode == "bypass",
            prompt_file: PathBuf::from(cli::get(m, "prompt-file")),
            output_file: PathBuf::from(cli::get(m, "output-file")),
            host_run_dir: PathBuf::from(cli::get(m, "host-run-dir")),
            sandbox_run_dir: PathBuf::from(cli::get(m, "sandbox-run-dir")),
            safe_profile: cli::given_or(m, "safe-profile", || D.launcher_profile.into()),
            bypass_profile: cli::given_or(m, "bypass-profile", || D.launcher_profile.into()),
            codex_bin: PathBuf::from(cli::get(m, "codex-bin")),
            max_resume,
            auth_timeout,
            auth_poll,
            max_autoswitch,
            heartbeat,
            stall,
            timeout,
            quota_enabled: env.acp_or(
                "CODEX_QUOTA_AUTOSWITCH_ENABLED",
                if D.quota_autoswitch_enabled { "1" } else { "0" },
            ) != "0",
            quota_threshold: env.acp_or("CODEX_QUOTA_THRESHOLD", &D.quota_threshold.to_string()),
            quota_weekly_threshold: env.acp_or(
                "CODEX_QUOTA_WEEKLY_THRESHOLD",
                &D.quota_weekly_threshold.to_string(),
            ),
            quota_timeout: numeric(&env.acp_or(
                "CODEX_QUOTA_TIMEOUT_SECONDS",
                &D.quota_timeout_seconds.to_string(),
            ))
            .unwrap_or(D.quota_timeout_seconds),
            quota_prefer_label: env.acp_or("CODEX_QUOTA_PREFER_LABEL", ""),
            quota_bin: config::codex_quota_bin(env, &root),
            quota_manager: config::codex_quota_manager_script(env, &root),
            switch_state_file: switch_state_file(env),
            auth_file: home.join(".codex/auth.json"),
            issue_prefix: config::issue_session_prefix(env, &flow_cfg),
            pr_prefix: config::pr_session_prefix(env, &flow_cfg),
        }))
    }

    /// Creates the host run dir and the log's directory.
    fn create_dirs(&self) -> Result<()> {
        acp_core::fsx::create_dir_all(&self.host_run_dir)?;
        if let Some(parent) = self
            .output_file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            acp_core::fsx::create_dir_all(parent)?;
        }
        Ok(())
    }
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, argv: &[OsString]) -> anyhow::Result<i32> {
    let cmd = command();
    let m = match cli::parse(ctx, cmd.clone(), argv, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    // Sourcing the flow library mirrored the ACP_/F_LOSNING_ twins first.
    let mut env = ctx.env.clone();
    config::export_env_aliases(&mut env);
    let Some(args) = Args::resolve(&m, &env, ctx.script_path().as_deref())? else {
        write!(ctx.stderr, "{}", cli::usage(&cmd))?;
        return Ok(1);
    };
    args.create_dirs()?;
    let cwd = ctx.cwd.clone();
    let mut log = LogSink::append(&args.output_file, Some(&mut *ctx.stdout))?;
    Runner::new(args, env, cwd).main(&mut log)
}

/// How a wait for refreshed auth ended.
enum AuthWait {
    Ready,
    TimedOut,
    Aborted(i32),
}

/// What one attempt asks the main loop to do next.
enum Next {
    Done(i32),
    Again,
}

/// What the auth wait compares against: the auth file, the quota account
/// and the switch state as they were when the attempt failed.
struct Baseline {
    fingerprint: String,
    label: String,
    signature: String,
}

struct Runner {
    args: Args,
    st: RunnerState,
    state_file: PathBuf,
    locale: QuoteLocale,
    env: Env,
    codex_env: Env,
    cwd: PathBuf,
    attempt_start_size: u64,
    attempt_start_label: String,
    switch_status: String,
    next_retry_at: String,
    autoswitch_count: u64,
}

fn write_state(
    st: &mut RunnerState,
    runner_state: &str,
    file: &Path,
    locale: QuoteLocale,
) -> Result<()> {
    st.state = runner_state.to_string();
    st.write(file, KeyProfile::Full, locale)
}

impl Runner {
    fn new(args: Args, env: Env, cwd: PathBuf) -> Runner {
        let mut codex_env = env.clone();
        // Nested workers must not inherit a parent's thread; ours is persisted.
        codex_env.remove("CODEX_THREAD_ID");
        Runner {
            state_file: args.host_run_dir.join("runner.env"),
            locale: QuoteLocale::from_env(&env),
            args,
            st: RunnerState::default(),
            codex_env,
            env,
            cwd,
            attempt_start_size: 0,
            attempt_start_label: String::new(),
            switch_status: String::new(),
            next_retry_at: String::new(),
            autoswitch_count: 0,
        }
    }

    fn publish(&mut self, runner_state: &str) -> Result<()> {
        write_state(&mut self.st, runner_state, &self.state_file, self.locale)
    }

    fn fail_with(&mut self, why: &str) -> Result<()> {
        self.st.last_failure_reason = why.to_string();
        self.publish(state::FAILED)
    }

    fn exit_code(&self) -> i32 {
        self.st.last_exit_code.parse().unwrap_or(1)
    }

    /// Publishes `failed` with `why` and ends with codex's exit code.
    fn give_up(&mut self, why: &str) -> Result<Next> {
        self.fail_with(why)?;
        Ok(Next::Done(self.exit_code()))
    }

    fn main(&mut self, log: &mut LogSink<'_>) -> Result<i32> {
        // TERM/INT/HUP are recorded from the start, so a stop request that
        // arrives outside codex's run (quota switch, auth wait) still ends
        // the runner through `aborted`.
        process::install_termination_handler()?;
        self.publish(state::RUNNING)?;
        loop {
            match self.attempt(log)? {
                Next::Done(code) => return Ok(code),
                Next::Again => continue,
            }
        }
    }

    /// Publishes `failed` / runner-aborted and ends with 128+signal.
    fn aborted(&mut self, sig: i32) -> Result<Next> {
        self.fail_with(reason::RUNNER_ABORTED)?;
        Ok(Next::Done(128 + sig))
    }

    fn target(&self) -> String {
        if self.st.thread_id.is_empty() {
            "initial Codex exec".to_string()
        } else {
            format!("thread {}", self.st.thread_id)
        }
    }

    /// The quota manager's `NEXT_RETRY_AT`, else `unknown`.
    fn retry_until(&self) -> String {
        if self.next_retry_at.is_empty() {
            "unknown".to_string()
        } else {
            self.next_retry_at.clone()
        }
    }

    /// One codex exec (initial or resume) and what its ending asks for.
    fn attempt(&mut self, log: &mut LogSink<'_>) -> Result<Next> {
        let resume = self.begin_attempt(log)?;
        let ending = self.stream(resume, log)?;
        if let Some(next) = self.settle(&ending)? {
            return Ok(next);
        }
        let chunk = self.attempt_output(log)?;
        // A stall the engine ended is known for certain; the log patterns
        // only see it while the stall line is among the last 120 lines.
        let why = match ending {
            Ending::Stalled(kind) => classify::codex_stall_reason(kind),
            _ => classify::classify_codex_failure(chunk.as_bytes(), Some(self.exit_code()))
                .unwrap_or(reason::WORKER_EXIT_FAILED),
        };
        self.st.last_failure_reason = why.to_string();
        if classify::is_codex_auth_recoverable(why) {
            return self.recover_auth(why, log);
        }
        let stalled = why == reason::NO_CODEX_OUTPUT || why == reason::NO_CODEX_PROGRESS;
        if stalled
            && classify::is_codex_startup_stall(chunk.as_bytes())
            && self.autoswitch_count < self.args.max_autoswitch
            && let Some(next) = self.rotate_after_startup_stall(log)?
        {
            return Ok(next);
        }
        self.publish(state::FAILED)?;
        Ok(Next::Done(self.exit_code()))
    }

    /// Counts the attempt, publishes `running` and logs what starts; whether
    /// the attempt resumes the thread.
    fn begin_attempt(&mut self, log: &mut LogSink<'_>) -> Result<bool> {
        self.st.attempt += 1;
        self.switch_status.clear();
        self.attempt_start_label = self.quota_active_label();
        self.publish(state::RUNNING)?;
        let resume = !self.st.thread_id.is_empty();
        if resume {
            log.message(&format!(
                "resuming Codex thread {} (resume {}/{})",
                self.st.thread_id, self.st.resume_count, self.args.max_resume
            ))?;
        } else {
            log.message(&format!("starting Codex exec attempt {}", self.st.attempt))?;
        }
        Ok(resume)
    }

    /// The endings that decide the run at once: a stop signal, success, the
    /// overall timeout.
    fn settle(&mut self, ending: &Ending) -> Result<Option<Next>> {
        if let Ending::Signalled(sig) = ending {
            return self.aborted(*sig).map(Some);
        }
        if self.st.last_exit_code == "0" {
            self.st.last_failure_reason.clear();
            self.publish(state::SUCCEEDED)?;
            return Ok(Some(Next::Done(0)));
        }
        if *ending == Ending::TimedOut {
            self.fail_with(reason::TIMEOUT)?;
            return Ok(Some(Next::Done(process::TIMEOUT_EXIT)));
        }
        Ok(None)
    }

    /// After a quota or auth failure: rotate the account when the reason
    /// calls for it, wait for healthy auth, then resume (or give up).
    fn recover_auth(&mut self, why: &str, log: &mut LogSink<'_>) -> Result<Next> {
        if u64::from(self.st.resume_count) >= self.args.max_resume {
            return self.give_up(reason::RESUME_ATTEMPTS_EXHAUSTED);
        }
        let before = Baseline {
            fingerprint: self.auth_fingerprint(),
            label: self.attempt_start_label.clone(),
            signature: self.switch_signature(),
        };
        self.st.last_auth_fingerprint = before.fingerprint.clone();
        if classify::is_codex_rotation_reason(why)
            && let Some(next) = self.rotate_for_quota(log)?
        {
            return Ok(next);
        }
        match self.wait_for_auth_refresh(log, &before, why)? {
            AuthWait::Ready => {}
            AuthWait::TimedOut => return Ok(Next::Done(self.exit_code())),
            AuthWait::Aborted(sig) => return self.aborted(sig),
        }
        self.st.resume_count += 1;
        Ok(Next::Again)
    }

    /// The account rotation before a quota wait; `Some` ends the run (the
    /// rotation budget is spent, the manager deferred, or a stop request).
    fn rotate_for_quota(&mut self, log: &mut LogSink<'_>) -> Result<Option<Next>> {
        if self.autoswitch_count >= self.args.max_autoswitch {
            log.message(&format!(
                "automatic Codex quota switching already ran {} time(s) in this worker; refusing another rotation",
                self.autoswitch_count
            ))?;
            return self.give_up(reason::QUOTA_SWITCH_ATTEMPT_LIMIT).map(Some);
        }
        self.publish(state::SWITCHING_ACCOUNT)?;
        let switched = self.quota_autoswitch(log)?;
        if let Some(sig) = process::termination_signal() {
            return self.aborted(sig).map(Some);
        }
        if switched == 10 {
            log.message(&format!(
                "quota manager deferred rotation until {}; automatic timed re-tries are disabled for safety",
                self.retry_until()
            ))?;
            return self.give_up(reason::QUOTA_SWITCH_DEFERRED).map(Some);
        }
        Ok(None)
    }

    /// A stall before any tool activity: rotate the account and start a
    /// fresh exec. `None` when the rotation failed (the run fails).
    fn rotate_after_startup_stall(&mut self, log: &mut LogSink<'_>) -> Result<Option<Next>> {
        self.st.last_auth_fingerprint = self.auth_fingerprint();
        self.publish(state::SWITCHING_ACCOUNT)?;
        log.message(
            "startup-stall detected before first Codex tool activity; attempting Codex account rotation",
        )?;
        let switched = self.quota_autoswitch(log)?;
        if let Some(sig) = process::termination_signal() {
            return self.aborted(sig).map(Some);
        }
        match switched {
            0 => {
                self.st.thread_id.clear();
                self.st.auth_wait_started_at.clear();
                self.publish(state::RUNNING)?;
                Ok(Some(Next::Again))
            }
            10 => {
                let until = self.retry_until();
                log.message(&format!("startup-stall rotation deferred until {until}"))?;
                self.give_up(reason::QUOTA_SWITCH_DEFERRED).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// One `codex exec` (initial or resume) under the engine.
    fn stream(&mut self, resume: bool, log: &mut LogSink<'_>) -> Result<Ending> {
        self.attempt_start_size = log.position()?;
        let mut cmd = Command::new(&self.args.codex_bin);
        self.codex_env.apply(&mut cmd);
        cmd.current_dir(&self.cwd);
        let approvals = if self.args.bypass {
            "--dangerously-bypass-approvals-and-sandbox"
        } else {
            "--full-auto"
        };
        let input = if resume {
            cmd.args(["exec", "resume", "--json", approvals])
                .arg(&self.st.thread_id)
                .arg("-");
            Input::Bytes(self.resume_prompt().into_bytes())
        } else {
            let profile = if self.args.bypass {
                &self.args.bypass_profile
            } else {
                &self.args.safe_profile
            };
            cmd.args(["exec", "--json", "--profile"])
                .arg(profile)
                .arg(approvals);
            Input::File(self.args.prompt_file.clone())
        };
        if let Input::File(p) = &input
            && let Err(e) = std::fs::File::open(p)
        {
            // As the original's `<prompt` redirection: the attempt fails.
            log.line(format!("{}: {e}", p.display()).as_bytes())?;
            self.st.last_exit_code = "1".into();
            return Ok(Ending::Exited);
        }
        let stall = (self.args.stall > 0).then(|| Duration::from_secs(self.args.stall));
        let cfg = Config {
            heartbeat: Some(Duration::from_secs(self.args.heartbeat)),
            silent_stall: stall,
            progress_stall: stall,
            timeout: (self.args.timeout > 0).then(|| Duration::from_secs(self.args.timeout)),
            ..Config::default()
        };
        let mut hooks = CodexHooks {
            st: &mut self.st,
            file: &self.state_file,
            locale: self.locale,
            confirmed: String::new(),
        };
        let outcome = match supervise::supervise(&mut cmd, &input, &cfg, &mut hooks, log) {
            Ok(o) => o,
            Err(e) => {
                // A codex that cannot be started fails the attempt like a
                // missing command in the original (status 127).
                log.line(format!("{}: {e:#}", self.args.codex_bin.display()).as_bytes())?;
                self.st.last_exit_code = "127".into();
                return Ok(Ending::Exited);
            }
        };
        let confirmed = std::mem::take(&mut hooks.confirmed);
        if !confirmed.is_empty() {
            self.st.thread_id = confirmed;
        }
        self.st.last_exit_code = outcome.exit_code.to_string();
        Ok(outcome.ending)
    }

    /// The log text this attempt wrote (at most its last 4 MiB).
    fn attempt_output(&self, log: &mut LogSink<'_>) -> Result<String> {
        use std::io::{Read, Seek, SeekFrom};
        let end = log.position()?;
        if end <= self.attempt_start_size {
            return Ok(String::new());
        }
        let from = self.attempt_start_size.max(end.saturating_sub(4 << 20));
        let mut f = std::fs::File::open(&self.args.output_file)
            .with_context(|| format!("failed to open {}", self.args.output_file.display()))?;
        f.seek(SeekFrom::Start(from))
            .with_context(|| format!("failed to read {}", self.args.output_file.display()))?;
        let mut buf = Vec::new();
        f.take(end - from)
            .read_to_end(&mut buf)
            .with_context(|| format!("failed to read {}", self.args.output_file.display()))?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    fn resume_prompt(&self) -> String {
        format!(
            "Your previous Codex turn in this thread stopped because the host had to refresh Codex \
             authentication after a quota or auth failure.\n\n\
             Pick the task up again at the first step that is not finished yet. Do not redo work \
             that is already complete, except to check or fix it.\n\n\
             To find your place again, look at the current git status and at the run artifacts in:\n\
             - Host run dir: {}\n\
             - Sandbox run dir: {}\n",
            self.args.host_run_dir.display(),
            self.args.sandbox_run_dir.display()
        )
    }

    fn fingerprint(path: &Path) -> String {
        let Ok(meta) = std::fs::metadata(path) else {
            return "missing".into();
        };
        if !meta.is_file() {
            return "missing".into();
        }
        use std::os::unix::fs::MetadataExt;
        let sha = std::fs::read(path)
            .map(|b| acp_core::sha256::hex(&b))
            .unwrap_or_default();
        format!("{}:{}:{sha}", meta.mtime(), meta.size())
    }

    fn auth_fingerprint(&self) -> String {
        Self::fingerprint(&self.args.auth_file)
    }

    fn switch_signature(&self) -> String {
        Self::fingerprint(&self.args.switch_state_file)
    }

    fn quota_active_label(&self) -> String {
        if !acp_core::fsx::is_executable(&self.args.quota_bin) {
            return String::new();
        }
        let mut cmd = Command::new(&self.args.quota_bin);
        self.env.apply(&mut cmd);
        cmd.current_dir(&self.cwd).args(["codex", "list", "--json"]);
        let timeout = Duration::from_secs(self.args.quota_timeout.max(1));
        let Ok(out) = run_helper(&mut cmd, timeout, false) else {
            return String::new();
        };
        if out.code != 0 {
            return String::new();
        }
        active_label_from_json(&out.stdout)
    }

    fn login_healthy(&self) -> bool {
        let mut cmd = Command::new(&self.args.codex_bin);
        self.codex_env.apply(&mut cmd);
        cmd.current_dir(&self.cwd).args(["login", "status"]);
        // Bounded, unlike the original: a hung `codex login status` counts
        // as unhealthy for this poll.
        let timeout = Duration::from_secs(self.args.quota_timeout.max(1));
        run_helper(&mut cmd, timeout, false).is_ok_and(|o| o.code == 0)
    }

    fn running_workers(&self) -> usize {
        let tmux = acp_core::tmux::Tmux::new(&self.env, None);
        let starts = |name: &str, prefix: &str| !prefix.is_empty() && name.starts_with(prefix);
        tmux.list_sessions()
            .iter()
            .filter(|s| starts(s, &self.args.issue_prefix) || starts(s, &self.args.pr_prefix))
            .count()
    }

    /// Asks the quota manager to rotate accounts. Returns 0 (switched or
    /// current account fine), 10 (deferred), or another failure status.
    fn quota_autoswitch(&mut self, log: &mut LogSink<'_>) -> Result<i32> {
        self.next_retry_at.clear();
        if let Some(code) = self.quota_unavailable(log)? {
            return Ok(code);
        }
        self.autoswitch_count += 1;
        let mut cmd = self.manager_command();
        log.message(&format!(
            "{} detected; attempting failure-driven Codex account switch",
            self.st.last_failure_reason
        ))?;
        let out = run_helper(&mut cmd, Duration::from_secs(self.args.quota_timeout), true)?;
        if out.stopped {
            // The runner was told to stop: the manager's group was ended.
            self.switch_status = "failed".into();
            return Ok(1);
        }
        self.switch_outcome(&out, log)
    }

    /// `Some(1)` after logging why when auto-switching is disabled or its
    /// tools are missing (the runner then waits for an external refresh).
    fn quota_unavailable(&mut self, log: &mut LogSink<'_>) -> Result<Option<i32>> {
        if !self.args.quota_enabled {
            log.message("quota auto-switch disabled; waiting for external Codex auth refresh")?;
            log.line(b"CODEX_QUOTA_AUTOSWITCH_ENABLED=0")?;
            log.flush()?;
            self.switch_status = "disabled".into();
            return Ok(Some(1));
        }
        let why = if !acp_core::fsx::is_executable(&self.args.quota_manager) {
            "missing-script"
        } else if !acp_core::fsx::is_executable(&self.args.quota_bin) {
            "missing-codex-quota"
        } else {
            return Ok(None);
        };
        log.message(&format!(
            "quota auto-switch unavailable ({why}); waiting for external Codex auth refresh"
        ))?;
        log.line(b"CODEX_QUOTA_MANAGER_UNAVAILABLE=yes")?;
        log.line(format!("CODEX_QUOTA_MANAGER_REASON={why}").as_bytes())?;
        log.flush()?;
        self.switch_status = "unavailable".into();
        Ok(Some(1))
    }

    /// `bash <manager> --trigger-reason ... --running-workers N [--prefer-label L]`.
    fn manager_command(&self) -> Command {
        let workers = self.running_workers();
        let mut cmd = Command::new("bash");
        let mut env = self.env.clone();
        env.set("CODEX_QUOTA_BIN", self.args.quota_bin.as_os_str());
        env.apply(&mut cmd);
        cmd.current_dir(&self.cwd)
            .arg(&self.args.quota_manager)
            .arg("--trigger-reason")
            .arg(&self.st.last_failure_reason)
            .arg("--current-label")
            .arg(&self.attempt_start_label)
            .arg("--five-hour-threshold")
            .arg(&self.args.quota_threshold)
            .arg("--weekly-threshold")
            .arg(&self.args.quota_weekly_threshold)
            .arg("--running-workers")
            .arg(workers.to_string());
        if !self.args.quota_prefer_label.is_empty() {
            cmd.arg("--prefer-label").arg(&self.args.quota_prefer_label);
        }
        cmd
    }

    /// Logs the manager's output and turns its status and
    /// `SWITCH_DECISION` into 0, 10 or the failure status.
    fn switch_outcome(&mut self, out: &process::TimedOutput, log: &mut LogSink<'_>) -> Result<i32> {
        let text = String::from_utf8_lossy(&out.stdout);
        let text = text.trim_end_matches('\n');
        let last = |key: &str| {
            acp_core::kv::last(text, key)
                .unwrap_or_default()
                .to_string()
        };
        self.next_retry_at = last("NEXT_RETRY_AT");
        if !text.is_empty() {
            log.line(text.as_bytes())?;
            log.flush()?;
        }
        if out.code == 0 {
            let decision = last("SWITCH_DECISION");
            return Ok(match decision.as_str() {
                "switched" | "current-ok" => {
                    self.switch_status = decision;
                    0
                }
                "deferred" => {
                    self.switch_status = decision;
                    10
                }
                _ => {
                    self.switch_status = "failed".into();
                    1
                }
            });
        }
        if out.code == 10 {
            self.switch_status = "deferred".into();
            log.message(
                "no eligible Codex account is ready yet; waiting for the next reset window",
            )?;
            return Ok(10);
        }
        self.switch_status = "failed".into();
        if out.code == process::TIMEOUT_EXIT {
            log.message(&format!(
                "quota auto-switch timed out after {}s",
                self.args.quota_timeout
            ))?;
        } else {
            log.message(&format!(
                "quota auto-switch exited with status {}",
                out.code
            ))?;
        }
        Ok(out.code)
    }

    /// Polls until Codex auth looks healthy again (`TimedOut` after
    /// publishing `failed auth-refresh-timeout`; `Aborted` when told to stop).
    fn wait_for_auth_refresh(
        &mut self,
        log: &mut LogSink<'_>,
        before: &Baseline,
        trigger: &str,
    ) -> Result<AuthWait> {
        let target = self.target();
        self.st.auth_wait_started_at = acp_core::time::now_utc_iso();
        self.st.last_trigger_reason = trigger.to_string();
        self.st.last_failure_reason = trigger.to_string();
        self.publish(state::WAITING_AUTH_REFRESH)?;
        let deadline = acp_core::time::now_epoch() + self.args.auth_timeout as i64;
        loop {
            let fp = self.auth_fingerprint();
            self.st.last_auth_fingerprint = fp.clone();
            let resumed = self.auth_refreshed(&fp, before, trigger, &target);
            // The checks above may have been cut short by a stop request.
            if let Some(sig) = process::termination_signal() {
                return Ok(AuthWait::Aborted(sig));
            }
            if let Some(msg) = resumed {
                log.message(&msg)?;
                self.st.auth_wait_started_at.clear();
                self.publish(state::RUNNING)?;
                return Ok(AuthWait::Ready);
            }
            let now = acp_core::time::now_epoch();
            if now >= deadline {
                self.fail_with(reason::AUTH_REFRESH_TIMEOUT)?;
                return Ok(AuthWait::TimedOut);
            }
            let secs = (self.args.auth_poll as i64).min(deadline - now).max(1);
            if let Some(sig) = pause(Duration::from_secs(secs as u64)) {
                return Ok(AuthWait::Aborted(sig));
            }
        }
    }

    /// One poll of the auth wait: the message to resume with once auth
    /// looks healthy again (`fp` is the auth file's fingerprint now).
    fn auth_refreshed(
        &self,
        fp: &str,
        before: &Baseline,
        trigger: &str,
        target: &str,
    ) -> Option<String> {
        if !classify::is_codex_rotation_reason(trigger) {
            if !self.login_healthy() {
                return None;
            }
            return Some(if fp != before.fingerprint {
                format!("detected refreshed Codex auth; resuming {target}")
            } else {
                format!("Codex auth is healthy again; resuming {target}")
            });
        }
        let label = self.quota_active_label();
        let signature = self.switch_signature();
        if !self.login_healthy() {
            None
        } else if fp != before.fingerprint {
            Some(format!(
                "detected refreshed Codex auth after quota interruption; resuming {target}"
            ))
        } else if !before.label.is_empty() && !label.is_empty() && label != before.label {
            Some(format!(
                "detected rotated Codex quota account ({} -> {label}); resuming {target}",
                before.label
            ))
        } else if !before.signature.is_empty()
            && !signature.is_empty()
            && signature != before.signature
        {
            Some(format!(
                "detected quota switch state refresh; resuming {target}"
            ))
        } else if self.switch_status == "switched" && !label.is_empty() {
            Some(format!(
                "quota manager reports healthy Codex account {label}; resuming {target}"
            ))
        } else {
            None
        }
    }
}

/// Sleeps for `d` in small steps so a TERM ends the wait promptly; the
/// signal when one arrived.
fn pause(d: Duration) -> Option<i32> {
    let until = std::time::Instant::now() + d;
    while std::time::Instant::now() < until {
        if let Some(sig) = process::termination_signal() {
            return Some(sig);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// Runs a helper (`codex-quota`, `codex login status`, the quota manager)
/// in its own process group with stdin from /dev/null, ended after
/// `timeout` (code 124) or as soon as the runner is asked to stop.
fn run_helper(
    cmd: &mut Command,
    timeout: Duration,
    merge_stderr: bool,
) -> Result<process::TimedOutput> {
    process::run_stoppable(cmd, timeout, process::DEFAULT_GRACE, merge_stderr)
}

/// `.activeInfo.trackedLabel // .activeInfo.activeLabel // (first account
/// with isActive or isNativeActive).label // empty`.
fn active_label_from_json(bytes: &[u8]) -> String {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return String::new();
    };
    let truthy = |v: &serde_json::Value| !v.is_null() && v != &serde_json::Value::Bool(false);
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    for key in ["trackedLabel", "activeLabel"] {
        let candidate = &v["activeInfo"][key];
        if truthy(candidate) {
            return text(candidate);
        }
    }
    if let Some(accounts) = v["accounts"].as_array()
        && let Some(acc) = accounts.iter().find(|a| {
            a["isActive"] == serde_json::Value::Bool(true)
                || a["isNativeActive"] == serde_json::Value::Bool(true)
        })
        && truthy(&acc["label"])
    {
        return text(&acc["label"]);
    }
    String::new()
}

/// The engine hooks for codex: every line is progress; `thread.started`
/// events update and publish the thread id; heartbeats and stalls publish
/// `running` and log the original's lines.
struct CodexHooks<'r> {
    st: &'r mut RunnerState,
    file: &'r Path,
    locale: QuoteLocale,
    /// The last thread id confirmed by parsing a whole JSON event.
    confirmed: String,
}

fn thread_re() -> Option<&'static Regex> {
    static RE: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r#""type"[[:space:]]*:[[:space:]]*"thread\.started".*"thread_id"[[:space:]]*:[[:space:]]*"([^"]+)""#,
        )
        .ok()
    })
    .as_ref()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

impl CodexHooks<'_> {
    fn publish_running(&mut self) -> Result<()> {
        write_state(self.st, state::RUNNING, self.file, self.locale)
    }
}

impl Backend for CodexHooks<'_> {
    fn on_line(&mut self, line: &[u8], _log: &mut LogSink<'_>) -> Result<Signal> {
        if contains(line, b"thread.started") {
            if let Some(c) = thread_re().and_then(|re| re.captures(line))
                && let Some(id) = c.get(1)
            {
                let id = String::from_utf8_lossy(id.as_bytes()).into_owned();
                if id != self.st.thread_id {
                    self.st.thread_id = id;
                    self.publish_running()?;
                }
            }
            let trimmed = line.trim_ascii();
            if trimmed.starts_with(b"{")
                && let Ok(v) = serde_json::from_slice::<serde_json::Value>(trimmed)
                && v["type"] == "thread.started"
            {
                match &v["thread_id"] {
                    serde_json::Value::String(s) if !s.is_empty() => self.confirmed = s.clone(),
                    serde_json::Value::Number(n) => self.confirmed = n.to_string(),
                    _ => {}
                }
            }
        }
        Ok(Signal::Progress)
    }

    fn on_heartbeat(&mut self, tick: &Tick, log: &mut LogSink<'_>) -> Result<()> {
        self.publish_running()?;
        log.message(&format!(
            "heartbeat waiting-for-codex-output elapsed={}s",
            tick.elapsed.as_secs()
        ))
    }

    fn on_stall(&mut self, kind: StallKind, tick: &Tick, log: &mut LogSink<'_>) -> Result<()> {
        self.publish_running()?;
        let elapsed = tick.elapsed.as_secs();
        let why = classify::codex_stall_reason(kind);
        match kind {
            StallKind::NoOutput => log.message(&format!("stale-run {why} elapsed={elapsed}s")),
            StallKind::NoProgress => log.message(&format!(
                "stale-run {why} elapsed={elapsed}s idle={}s",
                tick.since_progress.unwrap_or(tick.elapsed).as_secs()
            )),
        }
    }

    fn on_timeout(&mut self, tick: &Tick, log: &mut LogSink<'_>) -> Result<()> {
        log.message(&format!(
            "codex exec exceeded the timeout; ending its process group elapsed={}s",
            tick.elapsed.as_secs()
        ))
    }

    fn on_signal(&mut self, sig: i32, _tick: &Tick, log: &mut LogSink<'_>) -> Result<()> {
        log.message(&format!(
            "runner received signal {sig}; ending the Codex process group"
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn active_label_follows_the_jq_filter() {
        assert_eq!(
            active_label_from_json(br#"{"activeInfo":{"trackedLabel":"a","activeLabel":"b"}}"#),
            "a"
        );
        assert_eq!(
            active_label_from_json(br#"{"activeInfo":{"activeLabel":"b"}}"#),
            "b"
        );
        assert_eq!(
            active_label_from_json(
                br#"{"accounts":[{"label":"x"},{"label":"y","isNativeActive":true}]}"#
            ),
            "y"
        );
        assert_eq!(active_label_from_json(b"not json"), "");
    }

    #[test]
    fn thread_regex_matches_spaced_and_compact_events() {
        let re = thread_re().unwrap();
        let c = re
            .captures(br#"{"type": "thread.started", "thread_id": "t-1"}"#)
            .unwrap();
        assert_eq!(&c[1], b"t-1");
        assert!(re.captures(br#"{"type":"turn.started"}"#).is_none());
    }

    fn resolve(extra: &[&str], vars: &[(&str, &str)]) -> Result<Option<Args>> {
        let mut argv = vec!["agent-project-run-codex-resilient".to_string()];
        for flag in REQUIRED {
            let value = if flag == "mode" { "safe" } else { "/x" };
            argv.extend([format!("--{flag}"), value.to_string()]);
        }
        argv.extend(extra.iter().map(|a| a.to_string()));
        let m = command().try_get_matches_from(argv).unwrap();
        let mut env = Env::new();
        env.set("HOME", "/nonexistent-home");
        for (k, v) in vars {
            env.set(*k, *v);
        }
        Args::resolve(&m, &env, None)
    }

    #[test]
    fn args_defaults() {
        let a = resolve(&[], &[]).unwrap().unwrap();
        assert!(!a.bypass && a.quota_enabled);
        assert_eq!(
            [a.max_resume, a.auth_timeout, a.auth_poll, a.max_autoswitch],
            [6, 900, 10, 1]
        );
        assert_eq!(
            [a.heartbeat, a.stall, a.timeout, a.quota_timeout],
            [30, 300, 0, 45]
        );
        assert_eq!(
            (a.safe_profile.as_str(), a.bypass_profile.as_str()),
            ("default", "default")
        );
        assert_eq!(
            (
                a.quota_threshold.as_str(),
                a.quota_weekly_threshold.as_str()
            ),
            ("70", "90")
        );
        assert_eq!(a.auth_file, Path::new("/nonexistent-home/.codex/auth.json"));
        assert_eq!(
            a.switch_state_file,
            Path::new("/nonexistent-home/.cache/codex-quota-manager/last-switch.env")
        );
    }

    #[test]
    fn args_take_flag_then_acp_then_f_losning() {
        let fl = [
            ("F_LOSNING_CODEX_MAX_RESUME_ATTEMPTS", "2"),
            ("F_LOSNING_CODEX_QUOTA_THRESHOLD", "50"),
        ];
        let a = resolve(&[], &fl).unwrap().unwrap();
        assert_eq!((a.max_resume, a.quota_threshold.as_str()), (2, "50"));
        let both = [fl[0], fl[1], ("ACP_CODEX_MAX_RESUME_ATTEMPTS", "3")];
        assert_eq!(resolve(&[], &both).unwrap().unwrap().max_resume, 3);
        let a = resolve(&["--max-resume-attempts", "4"], &both)
            .unwrap()
            .unwrap();
        assert_eq!(a.max_resume, 4);
        // An empty variable is absent; an empty flag is a bad value.
        let empty = [("ACP_CODEX_MAX_RESUME_ATTEMPTS", ""), fl[0]];
        assert_eq!(resolve(&[], &empty).unwrap().unwrap().max_resume, 2);
        let err = resolve(&["--max-resume-attempts", ""], &[]).err().unwrap();
        assert_eq!(err.to_string(), "--max-resume-attempts must be numeric");
    }

    #[test]
    fn args_missing_or_empty_required_flag_is_usage() {
        assert!(resolve(&["--codex-bin", ""], &[]).unwrap().is_none());
        let m = command()
            .try_get_matches_from(["x", "--mode", "safe"])
            .unwrap();
        assert!(Args::resolve(&m, &Env::new(), None).unwrap().is_none());
    }

    #[test]
    fn numeric_accepts_digits_only() {
        assert_eq!(numeric("12"), Some(12));
        assert_eq!(numeric(""), None);
        assert_eq!(numeric("1x"), None);
        assert_eq!(numeric("-1"), None);
    }
}
