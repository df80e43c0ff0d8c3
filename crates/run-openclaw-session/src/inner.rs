//! The body of an openclaw session, run inside tmux by the inner script:
//! prepare the worktree and the agent, run it (resetting a resident agent
//! once on a version mismatch), then recover and infer the result contract,
//! synthesize the host comment, publish the runner state and remove a
//! per-session agent. The common epilogue (final git state, collected files,
//! delayed reconcile, exit marker) is the launcher contract's.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use acp_core::shellquote::QuoteLocale;
use acp_core::{Env, fsx, process};
use acp_session::supervise::{self, Ending, KeyProfile, RunnerState};
use anyhow::Result;

use crate::agents::{self, AgentEntry};
use crate::contract::{self, Evidence};
use crate::naming::AgentPaths;
use crate::progress::Probe;
use crate::supervisor::{self, Settings};
use crate::workspace::{self, Layout};
use acp_core::classify::{self, reason};
use acp_session::worktree::{self as wt_prep, HookOutcome};

/// Reason recorded when the session itself was told to stop.
pub const ABORTED: &str = reason::RUNNER_ABORTED;

/// How long `openclaw agents add/list/delete` may take.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(600);

/// Everything the session body needs, fixed at launch.
#[derive(Debug, Clone)]
pub struct Session {
    pub session: String,
    pub task_kind: String,
    pub worktree: PathBuf,
    pub prompt_file: PathBuf,
    pub log: PathBuf,
    pub host_run_dir: PathBuf,
    pub runner_state_file: PathBuf,
    pub host_result_file: PathBuf,
    pub sandbox_artifact_dir: PathBuf,
    pub sandbox_run_dir: PathBuf,
    pub retained_root: String,
    pub agent: AgentPaths,
    pub openclaw_bin: PathBuf,
    pub model: String,
    pub thinking: String,
    pub timeout_seconds: u64,
    pub stall_seconds: u64,
    pub heartbeat_seconds: u64,
    /// Extra time past the agent's own timeout before it is ended.
    pub timeout_slack_seconds: u64,
    pub keep_agent: bool,
}

/// What the body ended with.
#[derive(Debug)]
pub struct BodyResult {
    pub status: i32,
    pub failure_reason: String,
}

struct Ctx<'a> {
    s: &'a Session,
    env: Env,
    locale: QuoteLocale,
    layout: Layout,
    /// This run put `auth-profiles.json` (which holds the provider key) into
    /// the agent dir, so it removes it again with a throw-away agent.
    auth_prepared: std::cell::Cell<bool>,
}

impl Ctx<'_> {
    fn log(&self, line: &str) {
        let mut l = line.to_string();
        l.push('\n');
        let _ = fsx::append(&self.s.log, l.as_bytes());
    }

    fn state(&self, state: &str, exit: &str, reason: &str) -> Result<()> {
        RunnerState {
            state: state.into(),
            thread_id: self.s.agent.session_id.clone(),
            attempt: 1,
            resume_count: 0,
            last_exit_code: exit.into(),
            last_failure_reason: reason.into(),
            ..RunnerState::default()
        }
        .write(&self.s.runner_state_file, KeyProfile::Full, self.locale)
    }

    fn openclaw(&self) -> Command {
        let mut c = Command::new(&self.s.openclaw_bin);
        self.env.apply(&mut c);
        c.current_dir(&self.s.worktree);
        c
    }

    fn log_len(&self) -> u64 {
        fsx::size(&self.s.log).unwrap_or(0)
    }

    fn log_since(&self, offset: u64) -> String {
        let bytes = std::fs::read(&self.s.log).unwrap_or_default();
        let start = usize::try_from(offset).unwrap_or(0).min(bytes.len());
        String::from_utf8_lossy(&bytes[start..]).into_owned()
    }

    fn agent_exists(&self) -> bool {
        let mut c = self.openclaw();
        c.args(["agents", "list", "--json"]);
        match process::run_with_timeout(&mut c, ADMIN_TIMEOUT, process::DEFAULT_GRACE) {
            Ok(out) => agents::agent_listed(
                &String::from_utf8_lossy(&out.stdout),
                &self.s.agent.agent_id,
            ),
            Err(_) => false,
        }
    }

    /// `openclaw agents add`; its merged output goes to the sandbox add log
    /// and then to the session log. An "already exists" failure is a race
    /// with another session and counts as success.
    fn add_agent(&self) -> Result<i32> {
        let add_log = self.s.sandbox_run_dir.join("openclaw-agents-add.log");
        fsx::atomic_write(&add_log, b"")?;
        let mut c = self.openclaw();
        c.arg("agents")
            .arg("add")
            .arg(&self.s.agent.agent_id)
            .arg("--model")
            .arg(&self.s.model)
            .arg("--workspace")
            .arg(&self.s.worktree)
            .arg("--agent-dir")
            .arg(&self.s.agent.agent_dir)
            .args(["--non-interactive", "--json"]);
        let cfg = supervise::Config {
            timeout: Some(ADMIN_TIMEOUT),
            ..supervise::Config::default()
        };
        let outcome = {
            let mut sink = supervise::LogSink::append(&add_log, None)?;
            supervise::supervise(
                &mut c,
                &supervise::Input::Null,
                &cfg,
                &mut supervise::NoHooks,
                &mut sink,
            )?
        };
        let mut status = outcome.exit_code;
        let text = fsx::read_to_string_lossy(&add_log).unwrap_or_default();
        if status != 0 && text.to_lowercase().contains("already exists") {
            self.log(&format!(
                "[openclaw] reusing existing agent after add race: {}",
                self.s.agent.agent_id
            ));
            status = 0;
        }
        let _ = fsx::append(&self.s.log, text.as_bytes());
        Ok(status)
    }

    fn sync_config(&self) -> bool {
        let worktree = self.s.worktree.to_string_lossy();
        let agent_dir = self.s.agent.agent_dir.to_string_lossy();
        agents::sync_config(
            &self.s.agent.config_path,
            &AgentEntry {
                agent_id: &self.s.agent.agent_id,
                workspace: &worktree,
                agent_dir: &agent_dir,
                model: &self.s.model,
            },
        )
        .is_ok()
    }

    fn ensure_auth(&self) {
        let key = self.env.get_or_empty("OPENROUTER_API_KEY");
        match agents::ensure_auth_profiles(&self.s.agent.agent_dir, &key) {
            Ok(Some(_)) => self.auth_prepared.set(true),
            Ok(None) => {}
            Err(e) => self.log(&format!(
                "[openclaw] could not prepare auth profiles: {e:#}"
            )),
        }
    }

    fn make_dirs(&self) -> Result<()> {
        for d in [
            &self.s.sandbox_run_dir,
            &self.s.host_run_dir,
            &self.s.agent.state_dir,
            &self.s.agent.config_dir(),
            &self.s.agent.agent_dir,
        ] {
            fsx::create_dir_all(d)?;
        }
        Ok(())
    }

    /// Rebuilds a resident agent from scratch: its state dir, its agent dir
    /// and its config file are removed and recreated. Only the config file
    /// goes, not the directory holding it (which may be a user's
    /// `~/.openclaw` with other files in it).
    fn reset_resident(&self) -> Result<()> {
        for d in [&self.s.agent.state_dir, &self.s.agent.agent_dir] {
            if d.exists() {
                fs_err::remove_dir_all(d)?;
            }
        }
        if self.s.agent.config_path.is_file() {
            fs_err::remove_file(&self.s.agent.config_path)?;
        }
        self.make_dirs()?;
        self.ensure_auth();
        Ok(())
    }

    fn run_agent(&self) -> Result<supervisor::RunResult> {
        let prompt = fsx::read(&self.s.prompt_file)?;
        let prompt_text = String::from_utf8_lossy(&prompt).into_owned();
        let mut c = self.openclaw();
        c.args(supervisor::agent_args(
            &self.s.agent.agent_id,
            &self.s.agent.session_id,
            &self.s.timeout_seconds.to_string(),
            &self.s.thinking,
            &prompt_text,
        ));
        let probe = Probe::new(
            &self.s.sandbox_run_dir,
            &self.s.agent.sessions_dir(),
            &[&self.s.runner_state_file, &self.s.log],
        );
        let settings = Settings {
            timeout: Duration::from_secs(self.s.timeout_seconds),
            timeout_slack: Duration::from_secs(self.s.timeout_slack_seconds),
            stall: Duration::from_secs(self.s.stall_seconds),
            heartbeat: Duration::from_secs(self.s.heartbeat_seconds.max(1)),
            runner_state_file: self.s.runner_state_file.clone(),
            thread_id: self.s.agent.session_id.clone(),
            locale: self.locale,
            poll: Duration::from_millis(200),
        };
        supervisor::run_agent(&mut c, &prompt, &self.s.log, probe, &settings)
    }

    /// Writes the inferred contract when the agent left none.
    fn infer_result(&self, run_offset: u64) {
        let sandbox_result = self.s.sandbox_run_dir.join("result.env");
        let verification_path = self.s.sandbox_run_dir.join("verification.jsonl");
        if sandbox_result.is_file() {
            let text = fsx::read_to_string_lossy(&sandbox_result).unwrap_or_default();
            if text.contains("OUTCOME=implemented") && !verification_path.is_file() {
                self.log("[infer] WARN: agent wrote OUTCOME=implemented but verification.jsonl is missing — deferring to host reconcile recovery");
            }
            return;
        }
        let log = self.log_since(run_offset);
        let verification = std::fs::read_to_string(&verification_path).ok();
        let inferred = contract::infer(&Evidence {
            log: &log,
            product_changes: contract::has_product_changes(&self.env, &self.s.worktree),
            verification: verification.as_deref(),
        });
        if let Some(note) = inferred.note {
            self.log(note);
        }
        let text = inferred.contract.render();
        for p in [&sandbox_result, &self.s.host_result_file] {
            if let Err(e) = fsx::atomic_write(p, text.as_bytes()) {
                self.log(&format!(
                    "[openclaw] could not write {}: {e:#}",
                    p.display()
                ));
            }
        }
    }

    fn synthesize_comment(&self, run_offset: u64) {
        let result = self.s.sandbox_run_dir.join("result.env");
        let Ok(text) = std::fs::read_to_string(&result) else {
            return;
        };
        if !contract::wants_host_comment(&text) {
            return;
        }
        let Some(name) = contract::comment_file_for(&self.s.task_kind) else {
            return;
        };
        let target = self.s.sandbox_run_dir.join(name);
        if target.exists() {
            return;
        }
        if let Some(body) = contract::comment_from_payloads(&self.log_since(run_offset)) {
            let _ = fsx::atomic_write(&target, body.as_bytes());
        }
    }

    fn delete_agent(&self) {
        let mut c = self.openclaw();
        c.arg("agents")
            .arg("delete")
            .arg(&self.s.agent.agent_id)
            .args(["--json", "--force"]);
        let _ = process::run_with_timeout(&mut c, ADMIN_TIMEOUT, process::DEFAULT_GRACE);
        // The key must not outlive a throw-away agent (the run dir is
        // archived into history afterwards).
        if self.auth_prepared.get() {
            let profiles = self.s.agent.agent_dir.join("auth-profiles.json");
            if let Err(e) = fsx::remove_file_if_exists(&profiles) {
                self.log(&format!("[openclaw] {e:#}"));
            }
        }
    }

    fn prepare_worktree(&self) -> Result<()> {
        workspace::reset_dir(&self.s.sandbox_run_dir)?;
        if let Err(e) = workspace::ensure_excludes(&self.env, &self.layout) {
            self.log(&format!("[openclaw] could not set git excludes: {e:#}"));
        }
        match wt_prep::install_scope_hook(&self.env, Path::new(&self.s.worktree)) {
            Ok(HookOutcome::KeptForeign(p)) => self.log(&format!(
                "[openclaw] existing pre-commit hook kept, scope guard not installed: {}",
                p.display()
            )),
            Ok(_) => {}
            Err(e) => self.log(&format!(
                "[openclaw] could not install the pre-commit hook: {e:#}"
            )),
        }
        for note in workspace::ensure_aliases(&self.layout) {
            self.log(&note);
        }
        Ok(())
    }
}

/// Publishes `failed` with `reason` (for a body that ended in an error).
pub fn write_failed_state(s: &Session, env: &Env, status: i32, reason: &str) -> Result<()> {
    RunnerState {
        state: supervise::state::FAILED.into(),
        thread_id: s.agent.session_id.clone(),
        attempt: 1,
        resume_count: 0,
        last_exit_code: status.to_string(),
        last_failure_reason: reason.into(),
        ..RunnerState::default()
    }
    .write(
        &s.runner_state_file,
        KeyProfile::Full,
        QuoteLocale::from_env(env),
    )
}

/// Removes the literal aliases however the body ends.
struct AliasGuard<'a>(&'a Path);

impl Drop for AliasGuard<'_> {
    fn drop(&mut self) {
        workspace::remove_aliases(self.0);
    }
}

/// Runs the session body. `env` is the worker environment (the inner
/// script's exports).
pub fn run_body(s: &Session, env: &Env) -> Result<BodyResult> {
    process::install_termination_handler()?;
    let mut env = env.clone();
    if !env.is_set("OPENROUTER_API_KEY") {
        env.set("OPENROUTER_API_KEY", "");
    }
    let cx = Ctx {
        s,
        auth_prepared: std::cell::Cell::new(false),
        locale: QuoteLocale::from_env(&env),
        env,
        layout: Layout {
            worktree: s.worktree.clone(),
            sandbox_artifact_dir: s.sandbox_artifact_dir.clone(),
            sandbox_run_dir: s.sandbox_run_dir.clone(),
            host_run_dir: s.host_run_dir.clone(),
        },
    };
    let run_offset = cx.log_len();
    cx.make_dirs()?;
    cx.prepare_worktree()?;
    let _aliases = AliasGuard(&s.worktree);
    cx.state(supervise::state::RUNNING, "", "")?;
    cx.ensure_auth();

    let attempts = run_attempts(&cx)?;
    if attempts.aborted || process::termination_signal().is_some() {
        return aborted(&cx, attempts.status);
    }
    settle(&cx, run_offset, attempts)
}

/// How the agent's attempts ended.
struct Attempts {
    status: i32,
    failure_reason: String,
    /// The session itself was told to stop.
    aborted: bool,
}

/// Adds (or reuses) the agent, syncs its config and runs it; a resident
/// agent whose failure calls for it is reset and run once more.
fn run_attempts(cx: &Ctx<'_>) -> Result<Attempts> {
    let s = cx.s;
    let mut failure_reason = String::new();
    let mut reset_done = false;
    loop {
        let attempt_offset = cx.log_len();
        let mut status = 0;
        if !s.keep_agent || !cx.agent_exists() {
            status = cx.add_agent()?;
        }
        if status == 0 && !cx.sync_config() {
            status = 1;
            failure_reason = reason::OPENCLAW_CONFIG_SYNC_FAILED.to_string();
            cx.log(&format!(
                "[openclaw] failed to sync agent config for {}",
                s.agent.agent_id
            ));
        }
        // The supervisor's own verdict (timeout, terminal provider error) is
        // the reason; otherwise the attempt's log is classified.
        let mut decided: Option<String> = None;
        let mut aborted = false;
        if status == 0 {
            let run = cx.run_agent()?;
            status = run.status;
            match &run.outcome.ending {
                Ending::Signalled(_) => aborted = true,
                Ending::TimedOut => decided = Some(reason::TIMEOUT.to_string()),
                Ending::Stopped(why) => decided = Some(why.clone()),
                // The backend logs which stall it was (session-state growth
                // counts as progress), and the table reads that line.
                Ending::Stalled(_) | Ending::Exited => {}
            }
        }
        if status == 0 || aborted {
            return Ok(Attempts {
                status,
                failure_reason,
                aborted,
            });
        }
        if let Some(why) = decided {
            failure_reason = why;
        } else if failure_reason != reason::OPENCLAW_CONFIG_SYNC_FAILED {
            failure_reason =
                classify::classify_openclaw_failure(cx.log_since(attempt_offset).as_bytes())
                    .to_string();
        }
        if s.keep_agent && !reset_done && classify::openclaw_resets_resident(&failure_reason) {
            reset_done = true;
            cx.log(&format!(
                "[openclaw] {failure_reason}: resetting resident agent state and retrying once"
            ));
            cx.reset_resident()?;
            failure_reason.clear();
            continue;
        }
        return Ok(Attempts {
            status,
            failure_reason,
            aborted: false,
        });
    }
}

/// The end of a session told to stop: `failed` / runner-aborted with
/// 128+signal (when the agent had not failed by itself), a per-session
/// agent removed.
fn aborted(cx: &Ctx<'_>, status: i32) -> Result<BodyResult> {
    let status = if status == 0 {
        128 + process::termination_signal().unwrap_or(libc::SIGTERM)
    } else {
        status
    };
    cx.state(supervise::state::FAILED, &status.to_string(), ABORTED)?;
    cx.log(&format!(
        "[openclaw] session stopped by a signal; agent process group ended (exit {status})"
    ));
    if !cx.s.keep_agent {
        cx.delete_agent();
    }
    Ok(BodyResult {
        status,
        failure_reason: ABORTED.to_string(),
    })
}

/// After a run that was not stopped: recover stray artifacts, infer the
/// result and the host comment, publish the final state, copy the result
/// to the host, remove a per-session agent.
fn settle(cx: &Ctx<'_>, run_offset: u64, attempts: Attempts) -> Result<BodyResult> {
    let s = cx.s;
    let Attempts {
        status,
        mut failure_reason,
        ..
    } = attempts;
    for line in workspace::recover_literal_artifacts(&cx.layout) {
        cx.log(&line);
    }
    for line in workspace::recover_retained_leak(&s.retained_root, &s.session, &cx.layout) {
        cx.log(&line);
    }
    cx.infer_result(run_offset);
    cx.synthesize_comment(run_offset);
    if status == 0 {
        cx.state(supervise::state::SUCCEEDED, "0", "")?;
    } else {
        if failure_reason.is_empty() {
            failure_reason =
                classify::classify_openclaw_failure(cx.log_since(run_offset).as_bytes())
                    .to_string();
        }
        cx.state(
            supervise::state::FAILED,
            &status.to_string(),
            &failure_reason,
        )?;
    }
    let sandbox_result = s.sandbox_run_dir.join("result.env");
    if sandbox_result.is_file() {
        let _ = std::fs::copy(&sandbox_result, &s.host_result_file);
    }
    if !s.keep_agent {
        cx.delete_agent();
    }
    Ok(BodyResult {
        status,
        failure_reason,
    })
}
