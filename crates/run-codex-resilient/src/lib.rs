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
use acp_core::config::{self, FlowConfig};
use acp_core::shellquote::QuoteLocale;
use acp_core::{Env, Invocation, ToolSpec, process};
use acp_session::supervise::{
    self, Backend, Config, Ending, Input, KeyProfile, LogSink, RunnerState, Signal, StallKind,
    Tick, state,
};
use anyhow::{Context, Result};
use regex::bytes::Regex;

mod sha256;

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
    .arg(cli::opt("safe-profile").help("Codex profile in safe mode [default: default]"))
    .arg(cli::opt("bypass-profile").help("Codex profile in bypass mode [default: default]"))
    .arg(cli::opt("codex-bin").help("The codex executable"))
    .arg(cli::opt("max-resume-attempts").help(
        "Resumes allowed after interruptions [env: ACP_CODEX_MAX_RESUME_ATTEMPTS, default 6]",
    ))
    .arg(cli::opt("auth-refresh-timeout-seconds").help(
        "How long to wait for healthy auth [env: ACP_CODEX_AUTH_REFRESH_TIMEOUT_SECONDS, default 900]",
    ))
    .arg(cli::opt("auth-refresh-poll-seconds").help(
        "Auth polling interval [env: ACP_CODEX_AUTH_REFRESH_POLL_SECONDS, default 10]",
    ))
    .arg(cli::opt("stall-seconds").help(
        "End codex after this long without output/progress, 0 = never [env: ACP_CODEX_STALL_SECONDS, default 300]",
    ))
    .arg(cli::opt("timeout-seconds").help(
        "Overall limit per codex exec (exit 124), 0 = none [env: ACP_CODEX_TIMEOUT_SECONDS, default 0]",
    ))
}

fn numeric(v: &str) -> Option<u64> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Huge all-digit values saturate instead of failing.
    Some(v.parse().unwrap_or(u64::MAX))
}

/// Settings resolved from flags and the environment.
#[derive(Debug, Clone)]
struct Settings {
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

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let cmd = command();
    let m = match cli::parse(ctx, cmd.clone(), args, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    // Sourcing the flow library mirrored the ACP_/F_LOSNING_ twins first.
    let mut env = ctx.env.clone();
    config::export_env_aliases(&mut env);
    let mode = cli::get(&m, "mode");
    let worktree = cli::get(&m, "worktree");
    let prompt_file = cli::get(&m, "prompt-file");
    let output_file = cli::get(&m, "output-file");
    let host_run_dir = cli::get(&m, "host-run-dir");
    let sandbox_run_dir = cli::get(&m, "sandbox-run-dir");
    let codex_bin = cli::get(&m, "codex-bin");
    let safe_profile = cli::given_or(&m, "safe-profile", || "default".into());
    let bypass_profile = cli::given_or(&m, "bypass-profile", || "default".into());
    let max_resume = cli::given_or_acp(
        &m,
        "max-resume-attempts",
        &env,
        "CODEX_MAX_RESUME_ATTEMPTS",
        "6",
    );
    let auth_timeout = cli::given_or_acp(
        &m,
        "auth-refresh-timeout-seconds",
        &env,
        "CODEX_AUTH_REFRESH_TIMEOUT_SECONDS",
        "900",
    );
    let auth_poll = cli::given_or_acp(
        &m,
        "auth-refresh-poll-seconds",
        &env,
        "CODEX_AUTH_REFRESH_POLL_SECONDS",
        "10",
    );
    let stall = cli::given_or_acp(&m, "stall-seconds", &env, "CODEX_STALL_SECONDS", "300");
    let timeout = cli::given_or_acp(&m, "timeout-seconds", &env, "CODEX_TIMEOUT_SECONDS", "0");
    let max_autoswitch = env.acp_or("CODEX_MAX_AUTOSWITCH_ATTEMPTS", "1");
    let heartbeat = env.acp_or("CODEX_PROGRESS_HEARTBEAT_SECONDS", "30");

    if [
        &mode,
        &worktree,
        &prompt_file,
        &output_file,
        &host_run_dir,
        &sandbox_run_dir,
        &codex_bin,
    ]
    .iter()
    .any(|v| v.is_empty())
    {
        write!(ctx.stderr, "{}", cli::usage(&cmd))?;
        return Ok(1);
    }
    if mode != "safe" && mode != "bypass" {
        return Err(acp_core::fail(1, "--mode must be safe or bypass"));
    }
    let need = |v: &str, msg: &str| numeric(v).ok_or_else(|| acp_core::fail(1, msg.to_string()));
    let max_resume = need(&max_resume, "--max-resume-attempts must be numeric")?;
    let auth_timeout = need(
        &auth_timeout,
        "--auth-refresh-timeout-seconds must be numeric",
    )?;
    let auth_poll = need(&auth_poll, "--auth-refresh-poll-seconds must be numeric")?;
    let max_autoswitch = need(
        &max_autoswitch,
        "ACP_CODEX_MAX_AUTOSWITCH_ATTEMPTS must be numeric",
    )?;
    let heartbeat = need(
        &heartbeat,
        "ACP_CODEX_PROGRESS_HEARTBEAT_SECONDS must be numeric",
    )?;
    if heartbeat == 0 {
        return Err(acp_core::fail(
            1,
            "ACP_CODEX_PROGRESS_HEARTBEAT_SECONDS must be greater than zero",
        ));
    }
    let stall = need(&stall, "ACP_CODEX_STALL_SECONDS must be numeric")?;
    let timeout = need(&timeout, "ACP_CODEX_TIMEOUT_SECONDS must be numeric")?;

    // Without a package root (the runner copied alone) the quota tool and
    // manager are still looked up: explicit variables, then the shared home,
    // then PATH (see docs/compatibility.md).
    let root = config::skill_root(&env, ctx.script_path().as_deref())
        .ok()
        .or_else(|| env.path("SHARED_AGENT_HOME"))
        .unwrap_or_else(|| config::runtime_canonical_skill_dir(&env));
    // An unreadable or invalid config only loses the YAML session prefixes
    // (the defaults apply), as before.
    let flow_cfg =
        FlowConfig::load(&env).unwrap_or_else(|_| FlowConfig::empty(&config::config_path(&env)));
    let issue_prefix = config::issue_session_prefix(&env, &flow_cfg);
    let pr_prefix = config::pr_session_prefix(&env, &flow_cfg);
    let home = env.home();
    let cache = env
        .path("XDG_CACHE_HOME")
        .unwrap_or_else(|| home.join(".cache"));
    let settings = Settings {
        bypass: mode == "bypass",
        prompt_file: PathBuf::from(prompt_file),
        output_file: PathBuf::from(output_file),
        host_run_dir: PathBuf::from(host_run_dir),
        sandbox_run_dir: PathBuf::from(sandbox_run_dir),
        safe_profile,
        bypass_profile,
        codex_bin: PathBuf::from(codex_bin),
        max_resume,
        auth_timeout,
        auth_poll,
        max_autoswitch,
        heartbeat,
        stall,
        timeout,
        quota_enabled: env.acp_or("CODEX_QUOTA_AUTOSWITCH_ENABLED", "1") != "0",
        quota_threshold: env.acp_or("CODEX_QUOTA_THRESHOLD", "70"),
        quota_weekly_threshold: env.acp_or("CODEX_QUOTA_WEEKLY_THRESHOLD", "90"),
        quota_timeout: numeric(&env.acp_or("CODEX_QUOTA_TIMEOUT_SECONDS", "45")).unwrap_or(45),
        quota_prefer_label: env.acp_or("CODEX_QUOTA_PREFER_LABEL", ""),
        quota_bin: config::codex_quota_bin(&env, &root),
        quota_manager: config::codex_quota_manager_script(&env, &root),
        switch_state_file: env
            .path("CODEX_QUOTA_MANAGER_SWITCH_STATE_FILE")
            .unwrap_or_else(|| cache.join("codex-quota-manager/last-switch.env")),
        auth_file: home.join(".codex/auth.json"),
        issue_prefix,
        pr_prefix,
    };

    acp_core::fsx::create_dir_all(&settings.host_run_dir)?;
    if let Some(parent) = settings
        .output_file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        acp_core::fsx::create_dir_all(parent)?;
    }
    let mut codex_env = env.clone();
    // Nested workers must not inherit a parent's thread; ours is persisted.
    codex_env.remove("CODEX_THREAD_ID");
    let locale = QuoteLocale::from_env(&env);
    let cwd = ctx.cwd.clone();
    let mut log = LogSink::append(&settings.output_file, Some(&mut *ctx.stdout))?;
    let mut runner = Runner {
        state_file: settings.host_run_dir.join("runner.env"),
        s: settings,
        st: RunnerState::default(),
        locale,
        codex_env,
        env,
        cwd,
        attempt_start_size: 0,
        attempt_start_label: String::new(),
        switch_status: String::new(),
        next_retry_at: String::new(),
        autoswitch_count: 0,
    };
    runner.main(&mut log)
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

struct Runner {
    s: Settings,
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

    fn attempt(&mut self, log: &mut LogSink<'_>) -> Result<Next> {
        self.st.attempt += 1;
        self.switch_status.clear();
        self.attempt_start_label = self.quota_active_label();
        self.publish(state::RUNNING)?;
        let resume = !self.st.thread_id.is_empty();
        if resume {
            log.message(&format!(
                "resuming Codex thread {} (resume {}/{})",
                self.st.thread_id, self.st.resume_count, self.s.max_resume
            ))?;
        } else {
            log.message(&format!("starting Codex exec attempt {}", self.st.attempt))?;
        }
        let ending = self.stream(resume, log)?;

        if let Ending::Signalled(sig) = ending {
            self.fail_with(reason::RUNNER_ABORTED)?;
            return Ok(Next::Done(128 + sig));
        }
        if self.st.last_exit_code == "0" {
            self.st.last_failure_reason.clear();
            self.publish(state::SUCCEEDED)?;
            return Ok(Next::Done(0));
        }
        if ending == Ending::TimedOut {
            self.fail_with(reason::TIMEOUT)?;
            return Ok(Next::Done(process::TIMEOUT_EXIT));
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
        let stalled = why == reason::NO_CODEX_OUTPUT || why == reason::NO_CODEX_PROGRESS;
        let startup_stall = stalled && classify::is_codex_startup_stall(chunk.as_bytes());

        if classify::is_codex_auth_recoverable(why) {
            if u64::from(self.st.resume_count) >= self.s.max_resume {
                self.fail_with(reason::RESUME_ATTEMPTS_EXHAUSTED)?;
                return Ok(Next::Done(self.exit_code()));
            }
            let auth_before = self.auth_fingerprint();
            let label_before = self.attempt_start_label.clone();
            let signature_before = self.switch_signature();
            self.st.last_auth_fingerprint = auth_before.clone();
            if classify::is_codex_rotation_reason(why) {
                if self.autoswitch_count >= self.s.max_autoswitch {
                    log.message(&format!(
                        "automatic Codex quota switching already ran {} time(s) in this worker; refusing another rotation",
                        self.autoswitch_count
                    ))?;
                    self.fail_with(reason::QUOTA_SWITCH_ATTEMPT_LIMIT)?;
                    return Ok(Next::Done(self.exit_code()));
                }
                self.publish(state::SWITCHING_ACCOUNT)?;
                let switched = self.quota_autoswitch(log)?;
                if let Some(sig) = process::termination_signal() {
                    return self.aborted(sig);
                }
                if switched == 10 {
                    let until = if self.next_retry_at.is_empty() {
                        "unknown".to_string()
                    } else {
                        self.next_retry_at.clone()
                    };
                    log.message(&format!(
                        "quota manager deferred rotation until {until}; automatic timed re-tries are disabled for safety"
                    ))?;
                    self.fail_with(reason::QUOTA_SWITCH_DEFERRED)?;
                    return Ok(Next::Done(self.exit_code()));
                }
            }
            match self.wait_for_auth_refresh(
                log,
                &auth_before,
                why,
                &label_before,
                &signature_before,
            )? {
                AuthWait::Ready => {}
                AuthWait::TimedOut => return Ok(Next::Done(self.exit_code())),
                AuthWait::Aborted(sig) => return self.aborted(sig),
            }
            self.st.resume_count += 1;
            return Ok(Next::Again);
        }

        if stalled {
            if startup_stall && self.autoswitch_count < self.s.max_autoswitch {
                self.st.last_auth_fingerprint = self.auth_fingerprint();
                self.publish(state::SWITCHING_ACCOUNT)?;
                log.message(
                    "startup-stall detected before first Codex tool activity; attempting Codex account rotation",
                )?;
                let switched = self.quota_autoswitch(log)?;
                if let Some(sig) = process::termination_signal() {
                    return self.aborted(sig);
                }
                match switched {
                    0 => {
                        self.st.thread_id.clear();
                        self.st.auth_wait_started_at.clear();
                        self.publish(state::RUNNING)?;
                        return Ok(Next::Again);
                    }
                    10 => {
                        let until = if self.next_retry_at.is_empty() {
                            "unknown".to_string()
                        } else {
                            self.next_retry_at.clone()
                        };
                        log.message(&format!("startup-stall rotation deferred until {until}"))?;
                        self.fail_with(reason::QUOTA_SWITCH_DEFERRED)?;
                        return Ok(Next::Done(self.exit_code()));
                    }
                    _ => {}
                }
            }
            self.publish(state::FAILED)?;
            return Ok(Next::Done(self.exit_code()));
        }

        self.publish(state::FAILED)?;
        Ok(Next::Done(self.exit_code()))
    }

    /// One `codex exec` (initial or resume) under the engine.
    fn stream(&mut self, resume: bool, log: &mut LogSink<'_>) -> Result<Ending> {
        self.attempt_start_size = log.position()?;
        let mut cmd = Command::new(&self.s.codex_bin);
        self.codex_env.apply(&mut cmd);
        cmd.current_dir(&self.cwd);
        let approvals = if self.s.bypass {
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
            let profile = if self.s.bypass {
                &self.s.bypass_profile
            } else {
                &self.s.safe_profile
            };
            cmd.args(["exec", "--json", "--profile"])
                .arg(profile)
                .arg(approvals);
            Input::File(self.s.prompt_file.clone())
        };
        if let Input::File(p) = &input
            && let Err(e) = std::fs::File::open(p)
        {
            // As the original's `<prompt` redirection: the attempt fails.
            log.line(format!("{}: {e}", p.display()).as_bytes())?;
            self.st.last_exit_code = "1".into();
            return Ok(Ending::Exited);
        }
        let stall = (self.s.stall > 0).then(|| Duration::from_secs(self.s.stall));
        let cfg = Config {
            heartbeat: Some(Duration::from_secs(self.s.heartbeat)),
            silent_stall: stall,
            progress_stall: stall,
            timeout: (self.s.timeout > 0).then(|| Duration::from_secs(self.s.timeout)),
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
                log.line(format!("{}: {e:#}", self.s.codex_bin.display()).as_bytes())?;
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
        let mut f = std::fs::File::open(&self.s.output_file)
            .with_context(|| format!("failed to open {}", self.s.output_file.display()))?;
        f.seek(SeekFrom::Start(from))
            .with_context(|| format!("failed to read {}", self.s.output_file.display()))?;
        let mut buf = Vec::new();
        f.take(end - from)
            .read_to_end(&mut buf)
            .with_context(|| format!("failed to read {}", self.s.output_file.display()))?;
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
            self.s.host_run_dir.display(),
            self.s.sandbox_run_dir.display()
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
            .map(|b| sha256::hex(&b))
            .unwrap_or_default();
        format!("{}:{}:{sha}", meta.mtime(), meta.size())
    }

    fn auth_fingerprint(&self) -> String {
        Self::fingerprint(&self.s.auth_file)
    }

    fn switch_signature(&self) -> String {
        Self::fingerprint(&self.s.switch_state_file)
    }

    fn quota_active_label(&self) -> String {
        if !acp_core::fsx::is_executable(&self.s.quota_bin) {
            return String::new();
        }
        let mut cmd = Command::new(&self.s.quota_bin);
        self.env.apply(&mut cmd);
        cmd.current_dir(&self.cwd).args(["codex", "list", "--json"]);
        let timeout = Duration::from_secs(self.s.quota_timeout.max(1));
        let Ok(out) = run_helper(&mut cmd, timeout, false) else {
            return String::new();
        };
        if out.code != 0 {
            return String::new();
        }
        active_label_from_json(&out.stdout)
    }

    fn login_healthy(&self) -> bool {
        let mut cmd = Command::new(&self.s.codex_bin);
        self.codex_env.apply(&mut cmd);
        cmd.current_dir(&self.cwd).args(["login", "status"]);
        // Bounded, unlike the original: a hung `codex login status` counts
        // as unhealthy for this poll.
        let timeout = Duration::from_secs(self.s.quota_timeout.max(1));
        run_helper(&mut cmd, timeout, false).is_ok_and(|o| o.code == 0)
    }

    fn running_workers(&self) -> usize {
        let tmux = acp_core::tmux::Tmux::new(&self.env, None);
        let starts = |name: &str, prefix: &str| !prefix.is_empty() && name.starts_with(prefix);
        tmux.list_sessions()
            .iter()
            .filter(|s| starts(s, &self.s.issue_prefix) || starts(s, &self.s.pr_prefix))
            .count()
    }

    /// Asks the quota manager to rotate accounts. Returns 0 (switched or
    /// current account fine), 10 (deferred), or another failure status.
    fn quota_autoswitch(&mut self, log: &mut LogSink<'_>) -> Result<i32> {
        self.next_retry_at.clear();
        if !self.s.quota_enabled {
            log.message("quota auto-switch disabled; waiting for external Codex auth refresh")?;
            log.line(b"CODEX_QUOTA_AUTOSWITCH_ENABLED=0")?;
            log.flush()?;
            self.switch_status = "disabled".into();
            return Ok(1);
        }
        let unavailable = if !acp_core::fsx::is_executable(&self.s.quota_manager) {
            Some("missing-script")
        } else if !acp_core::fsx::is_executable(&self.s.quota_bin) {
            Some("missing-codex-quota")
        } else {
            None
        };
        if let Some(why) = unavailable {
            log.message(&format!(
                "quota auto-switch unavailable ({why}); waiting for external Codex auth refresh"
            ))?;
            log.line(b"CODEX_QUOTA_MANAGER_UNAVAILABLE=yes")?;
            log.line(format!("CODEX_QUOTA_MANAGER_REASON={why}").as_bytes())?;
            log.flush()?;
            self.switch_status = "unavailable".into();
            return Ok(1);
        }
        self.autoswitch_count += 1;
        let workers = self.running_workers();
        let mut cmd = Command::new("bash");
        let mut env = self.env.clone();
        env.set("CODEX_QUOTA_BIN", self.s.quota_bin.as_os_str());
        env.apply(&mut cmd);
        cmd.current_dir(&self.cwd)
            .arg(&self.s.quota_manager)
            .arg("--trigger-reason")
            .arg(&self.st.last_failure_reason)
            .arg("--current-label")
            .arg(&self.attempt_start_label)
            .arg("--five-hour-threshold")
            .arg(&self.s.quota_threshold)
            .arg("--weekly-threshold")
            .arg(&self.s.quota_weekly_threshold)
            .arg("--running-workers")
            .arg(workers.to_string());
        if !self.s.quota_prefer_label.is_empty() {
            cmd.arg("--prefer-label").arg(&self.s.quota_prefer_label);
        }
        log.message(&format!(
            "{} detected; attempting failure-driven Codex account switch",
            self.st.last_failure_reason
        ))?;
        let out = run_helper(&mut cmd, Duration::from_secs(self.s.quota_timeout), true)?;
        if out.stopped {
            // The runner was told to stop: the manager's group was ended.
            self.switch_status = "failed".into();
            return Ok(1);
        }
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
                self.s.quota_timeout
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
        baseline_fp: &str,
        trigger: &str,
        baseline_label: &str,
        baseline_signature: &str,
    ) -> Result<AuthWait> {
        let target = self.target();
        self.st.auth_wait_started_at = acp_core::time::now_utc_iso();
        self.st.last_trigger_reason = trigger.to_string();
        self.st.last_failure_reason = trigger.to_string();
        self.publish(state::WAITING_AUTH_REFRESH)?;
        let deadline = acp_core::time::now_epoch() + self.s.auth_timeout as i64;
        loop {
            let fp = self.auth_fingerprint();
            self.st.last_auth_fingerprint = fp.clone();
            let resumed = if classify::is_codex_rotation_reason(trigger) {
                let label = self.quota_active_label();
                let signature = self.switch_signature();
                if !self.login_healthy() {
                    None
                } else if fp != baseline_fp {
                    Some(format!(
                        "detected refreshed Codex auth after quota interruption; resuming {target}"
                    ))
                } else if !baseline_label.is_empty() && !label.is_empty() && label != baseline_label
                {
                    Some(format!(
                        "detected rotated Codex quota account ({baseline_label} -> {label}); resuming {target}"
                    ))
                } else if !baseline_signature.is_empty()
                    && !signature.is_empty()
                    && signature != baseline_signature
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
            } else if self.login_healthy() {
                Some(if fp != baseline_fp {
                    format!("detected refreshed Codex auth; resuming {target}")
                } else {
                    format!("Codex auth is healthy again; resuming {target}")
                })
            } else {
                None
            };
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
            let secs = (self.s.auth_poll as i64).min(deadline - now).max(1);
            // Sleep in small steps so a TERM ends the wait promptly.
            let until = std::time::Instant::now() + Duration::from_secs(secs as u64);
            while std::time::Instant::now() < until {
                if let Some(sig) = process::termination_signal() {
                    return Ok(AuthWait::Aborted(sig));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
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

    #[test]
    fn numeric_accepts_digits_only() {
        assert_eq!(numeric("12"), Some(12));
        assert_eq!(numeric(""), None);
        assert_eq!(numeric("1x"), None);
        assert_eq!(numeric("-1"), None);
    }
}
