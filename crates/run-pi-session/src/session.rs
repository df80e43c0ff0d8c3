//! The pi backend step of the inner session: run `pi --print` under the
//! supervision engine (hard timeout, stall watchdog, whole-group ending),
//! publish the runner state, and write the fallback result contract when pi
//! wrote none.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use acp_core::Env;
use acp_core::envfile;
use acp_core::shellquote::QuoteLocale;
use acp_core::supervise::{self, Config, Input, KeyProfile, LogSink, RunnerState, state};

use crate::pi::{PiBackend, pi_args};

/// What the backend step needs.
#[derive(Debug, Clone)]
pub struct PiRun {
    pub pi_bin: PathBuf,
    pub model: String,
    pub thinking: String,
    pub prompt_file: PathBuf,
    pub timeout_secs: u64,
    /// 0 disables the stall watchdog.
    pub stall_secs: u64,
    /// The worker environment (the inner script's exports).
    pub env: Env,
    pub worktree: PathBuf,
    pub sandbox_run_dir: PathBuf,
    pub runner_state_file: PathBuf,
    pub locale: QuoteLocale,
}

/// The end of the backend step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PiResult {
    pub exit_code: i32,
    pub failure_reason: Option<String>,
}

/// Publishes runner.env (the eight ollama/pi keys).
pub fn write_state(
    path: &Path,
    runner_state: &str,
    exit_code: &str,
    reason: &str,
    locale: QuoteLocale,
) -> anyhow::Result<()> {
    RunnerState {
        state: runner_state.to_string(),
        attempt: 1,
        last_exit_code: exit_code.to_string(),
        last_failure_reason: reason.to_string(),
        ..RunnerState::default()
    }
    .write(path, KeyProfile::NoThread, locale)
}

/// The blocked contract for `detail`, atomically and `%q`-quoted.
pub fn write_blocked(path: &Path, detail: &str, locale: QuoteLocale) -> anyhow::Result<()> {
    envfile::write_all(
        path,
        &[
            ("OUTCOME", "blocked"),
            ("ACTION", "host-comment-blocker"),
            ("DETAIL", detail),
        ],
        locale,
    )
}

/// Runs pi once and settles runner.env and the sandbox result.env.
pub fn run(r: &PiRun, log: &mut LogSink<'_>) -> anyhow::Result<PiResult> {
    write_state(&r.runner_state_file, state::RUNNING, "", "", r.locale)?;
    let mut cmd = Command::new(&r.pi_bin);
    r.env.apply(&mut cmd);
    cmd.args(pi_args(&r.model, &r.thinking, &r.prompt_file))
        .current_dir(&r.worktree);
    let stall = (r.stall_secs > 0).then(|| Duration::from_secs(r.stall_secs));
    let cfg = Config {
        timeout: Some(Duration::from_secs(r.timeout_secs)),
        silent_stall: stall,
        progress_stall: stall,
        ..Config::default()
    };
    let mut backend = PiBackend::new(r.timeout_secs, r.stall_secs);
    let outcome = supervise::supervise(&mut cmd, &Input::Null, &cfg, &mut backend, log)?;
    let (code, reason) = backend.verdict(&outcome);
    let result_file = r.sandbox_run_dir.join("result.env");
    match &reason {
        None => {
            if !result_file.exists() {
                write_blocked(&result_file, "missing-result-contract", r.locale)?;
            }
            write_state(&r.runner_state_file, state::SUCCEEDED, "0", "", r.locale)?;
        }
        Some(reason) => {
            if !result_file.exists() {
                write_blocked(&result_file, reason, r.locale)?;
            }
            write_state(
                &r.runner_state_file,
                state::FAILED,
                &code.to_string(),
                reason,
                r.locale,
            )?;
        }
    }
    Ok(PiResult {
        exit_code: code,
        failure_reason: reason,
    })
}
