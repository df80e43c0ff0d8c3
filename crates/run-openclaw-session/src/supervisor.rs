//! Running `openclaw agent` under the shared supervision engine, with the
//! openclaw-specific signals: session-state files count as progress, provider
//! errors seen in live output end the run at once, and heartbeat/stale-run
//! lines are written in openclaw's `[openclaw] ...` form.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use acp_core::shellquote::QuoteLocale;
use acp_session::supervise::{
    self, Backend, Config, Ending, Input, KeyProfile, LogSink, Outcome, RunnerState, Signal,
    StallKind, Tick,
};
use anyhow::Result;

use crate::progress::{Probe, Signature};
use acp_core::classify::{self, reason};

/// The `openclaw agent` argv (after the binary), as openclaw expects it.
pub fn agent_args(
    agent_id: &str,
    session_id: &str,
    timeout_seconds: &str,
    thinking: &str,
    prompt: &str,
) -> Vec<String> {
    [
        "agent",
        "--agent",
        agent_id,
        "--session-id",
        session_id,
        "--local",
        "--json",
        "--timeout",
        timeout_seconds,
        "--thinking",
        thinking,
        "--message",
        prompt,
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect()
}

/// Settings of one supervised agent run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub timeout: Duration,
    pub timeout_slack: Duration,
    /// 0 disables stall detection.
    pub stall: Duration,
    pub heartbeat: Duration,
    pub runner_state_file: PathBuf,
    pub thread_id: String,
    pub locale: QuoteLocale,
    /// Engine tick (the original polled every 0.2 s).
    pub poll: Duration,
}

/// What the run ended with, for the caller.
#[derive(Debug)]
pub struct RunResult {
    pub outcome: Outcome,
    /// The code the session reports for this run.
    pub status: i32,
    /// The terminal rule that ended it early, if any.
    pub terminal_reason: Option<&'static str>,
}

struct OpenclawBackend<'a> {
    settings: &'a Settings,
    probe: Probe,
    last_signature: Signature,
    /// "stdout" or "session-state": what last counted as progress.
    last_source: Option<&'static str>,
    terminal: Option<&'static str>,
}

impl OpenclawBackend<'_> {
    fn write_running(&self) -> Result<()> {
        RunnerState {
            state: supervise::state::RUNNING.into(),
            thread_id: self.settings.thread_id.clone(),
            attempt: 1,
            resume_count: 0,
            ..RunnerState::default()
        }
        .write(
            &self.settings.runner_state_file,
            KeyProfile::Full,
            self.settings.locale,
        )
    }
}

fn secs(d: Duration) -> u64 {
    d.as_secs()
}

impl Backend for OpenclawBackend<'_> {
    fn on_line(&mut self, line: &[u8], _log: &mut LogSink<'_>) -> Result<Signal> {
        self.last_source = Some("stdout");
        if self.terminal.is_none()
            && let Some(why) = classify::openclaw_terminal_match(line)
        {
            self.terminal = Some(why);
            return Ok(Signal::Stop(why.to_string()));
        }
        Ok(Signal::Progress)
    }

    fn poll(&mut self, _tick: &Tick, _log: &mut LogSink<'_>) -> Result<Option<Signal>> {
        let now = self.probe.signature();
        if now != self.last_signature {
            self.last_signature = now;
            self.last_source = Some("session-state");
            return Ok(Some(Signal::Progress));
        }
        Ok(None)
    }

    fn on_heartbeat(&mut self, tick: &Tick, log: &mut LogSink<'_>) -> Result<()> {
        self.write_running()?;
        let line = match self.last_source {
            None => format!(
                "[openclaw] heartbeat waiting-for-agent-output elapsed={}s",
                secs(tick.elapsed)
            ),
            Some(source) => format!(
                "[openclaw] heartbeat progress source={source} elapsed={}s idle={}s",
                secs(tick.elapsed),
                secs(tick.since_progress.unwrap_or(tick.elapsed))
            ),
        };
        log.line(line.as_bytes())?;
        log.flush()
    }

    fn on_stall(&mut self, _kind: StallKind, tick: &Tick, log: &mut LogSink<'_>) -> Result<()> {
        self.write_running()?;
        // Any progress at all (output or session state) makes it a progress
        // stall; the engine only sees output lines, so decide here.
        let line = match self.last_source {
            None => format!(
                "[openclaw] stale-run {} elapsed={}s",
                reason::NO_AGENT_OUTPUT,
                secs(tick.elapsed)
            ),
            Some(_) => format!(
                "[openclaw] stale-run {} elapsed={}s idle={}s",
                reason::NO_AGENT_PROGRESS,
                secs(tick.elapsed),
                secs(tick.since_progress.unwrap_or(tick.elapsed))
            ),
        };
        log.line(line.as_bytes())?;
        log.flush()
    }

    fn on_timeout(&mut self, tick: &Tick, log: &mut LogSink<'_>) -> Result<()> {
        let line = format!(
            "[openclaw] timeout: agent still running after elapsed={}s, ending it",
            secs(tick.elapsed)
        );
        log.line(line.as_bytes())?;
        log.flush()
    }

    fn on_stop(&mut self, reason: &str, _tick: &Tick, log: &mut LogSink<'_>) -> Result<()> {
        let line = format!("[openclaw] terminal provider error ({reason}), ending the agent");
        log.line(line.as_bytes())?;
        log.flush()
    }
}

/// Runs `cmd` (an `openclaw agent ...` command with its environment and
/// working directory set) with `prompt` on stdin, appending its output to
/// `log_path`.
pub fn run_agent(
    cmd: &mut Command,
    prompt: &[u8],
    log_path: &Path,
    probe: Probe,
    settings: &Settings,
) -> Result<RunResult> {
    let cfg = Config {
        heartbeat: Some(settings.heartbeat),
        silent_stall: None,
        progress_stall: (!settings.stall.is_zero()).then_some(settings.stall),
        timeout: Some(settings.timeout.saturating_add(settings.timeout_slack)),
        poll: settings.poll,
        ..Config::default()
    };
    let mut backend = OpenclawBackend {
        settings,
        last_signature: probe.signature(),
        probe,
        last_source: None,
        terminal: None,
    };
    let mut log = LogSink::append(log_path, None)?;
    let outcome = supervise::supervise(
        cmd,
        &Input::Bytes(prompt.to_vec()),
        &cfg,
        &mut backend,
        &mut log,
    )?;
    let status = match outcome.ending {
        Ending::Stopped(_) | Ending::Stalled(_) if outcome.exit_code == 0 => 1,
        _ => outcome.exit_code,
    };
    Ok(RunResult {
        status,
        terminal_reason: backend.terminal,
        outcome,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn settings(dir: &Path, stall: u64) -> Settings {
        Settings {
            timeout: Duration::from_secs(30),
            timeout_slack: Duration::from_secs(15),
            stall: Duration::from_secs(stall),
            heartbeat: Duration::from_secs(1),
            runner_state_file: dir.join("runner.env"),
            thread_id: "sid".into(),
            locale: QuoteLocale::Utf8,
            poll: Duration::from_millis(100),
        }
    }

    fn sh(script: &str) -> Command {
        let mut c = Command::new("bash");
        c.args(["-c", script]);
        c
    }

    #[test]
    fn agent_args_keep_openclaws_shape() {
        assert_eq!(
            agent_args("a", "s", "900", "low", "do it").join(" "),
            "agent --agent a --session-id s --local --json --timeout 900 --thinking low --message do it"
        );
    }

    #[test]
    fn terminal_provider_error_ends_the_run() {
        let t = tempfile::tempdir().unwrap();
        let log = t.path().join("s.log");
        let probe = Probe::new(&t.path().join("sb"), &t.path().join("ss"), &[&log]);
        let r = run_agent(
            &mut sh("echo '429 Provider returned error: rate-limited upstream' >&2; trap 'exit 0' TERM; while :; do sleep 0.1; done"),
            b"",
            &log,
            probe,
            &settings(t.path(), 0),
        )
        .unwrap();
        assert_eq!(r.terminal_reason, Some(reason::PROVIDER_QUOTA_LIMIT));
        assert_eq!(
            r.status, 1,
            "a clean exit after a terminal error is a failure"
        );
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.starts_with("429 Provider returned error"), "{text}");
    }

    #[test]
    fn silent_agent_is_a_no_output_stall_and_prompt_reaches_stdin() {
        let t = tempfile::tempdir().unwrap();
        let log = t.path().join("s.log");
        let probe = Probe::new(&t.path().join("sb"), &t.path().join("ss"), &[&log]);
        // The agent copies its stdin into the temp dir (never the cwd, which
        // is the crate's source dir under `cargo test`).
        let seen = t.path().join("stdin.seen");
        let mut agent = sh("cat > \"$1\"; sleep 30");
        agent.arg("agent").arg(&seen);
        let r = run_agent(
            &mut agent,
            b"the prompt",
            &log,
            probe,
            &settings(t.path(), 1),
        );
        let r = r.unwrap();
        assert_eq!(std::fs::read(&seen).unwrap(), b"the prompt");
        assert_eq!(r.outcome.ending, Ending::Stalled(StallKind::NoProgress));
        assert_ne!(r.status, 0);
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(
            text.contains("[openclaw] stale-run no-agent-output-before-stall-threshold elapsed=1s"),
            "{text}"
        );
        let runner = std::fs::read_to_string(t.path().join("runner.env")).unwrap();
        assert!(runner.starts_with("RUNNER_STATE=running\nTHREAD_ID=sid\nATTEMPT=1\n"));
    }

    #[test]
    fn session_state_writes_count_as_progress() {
        let t = tempfile::tempdir().unwrap();
        let log = t.path().join("s.log");
        let sessions = t.path().join("state/agents/a/sessions");
        std::fs::create_dir_all(&sessions).unwrap();
        let probe = Probe::new(&t.path().join("sb"), &sessions, &[&log]);
        let script = format!(
            "for i in 1 2 3 4 5 6; do echo x >> {}/s.jsonl; sleep 0.4; done",
            sessions.display()
        );
        let r = run_agent(&mut sh(&script), b"", &log, probe, &settings(t.path(), 1)).unwrap();
        assert_eq!(r.outcome.ending, Ending::Exited);
        assert_eq!(r.status, 0);
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(!text.contains("stale-run"), "{text}");
        assert!(
            text.contains("[openclaw] heartbeat progress source=session-state elapsed="),
            "{text}"
        );
    }
}
