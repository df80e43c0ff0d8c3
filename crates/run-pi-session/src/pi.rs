//! What is specific to the Pi backend: finding the `pi` binary, its argument
//! shape, the supervision hooks (every output line is progress; stall and
//! timeout announce themselves in the log) and the failure reasons.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use acp_core::Invocation;
use acp_core::classify::{self, reason};
use acp_session::launcher;
use acp_session::supervise::{Backend, Ending, LogSink, Outcome, Signal, StallKind, Tick};

/// Accepted `--pi-thinking` levels.
pub const THINKING_LEVELS: &[&str] = &["off", "minimal", "low", "medium", "high", "xhigh"];

/// How many of the last output lines are kept for failure classification.
const TAIL_LINES: usize = 80;

/// `pi --print --no-session --model M --thinking T @PROMPT` (after the binary).
pub fn pi_args(model: &str, thinking: &str, prompt_file: &Path) -> Vec<OsString> {
    let mut prompt_ref = OsString::from("@");
    prompt_ref.push(prompt_file.as_os_str());
    vec![
        "--print".into(),
        "--no-session".into(),
        "--model".into(),
        model.into(),
        "--thinking".into(),
        thinking.into(),
        prompt_ref,
    ]
}

/// The pi binary: `PI_BIN`, `ACP_PI_BIN`, `F_LOSNING_PI_BIN` (first non-empty,
/// used only when executable), then `pi` on `PATH`, then the usual install
/// places (`/usr/local/bin`, `~/.local/bin`, the active nvm node's bin).
pub fn resolve_pi_bin(ctx: &Invocation<'_>) -> Option<PathBuf> {
    let mut fallbacks = vec![
        "/usr/local/bin/pi".to_string(),
        "~/.local/bin/pi".to_string(),
    ];
    if let Some(node) = ctx.env.which("node") {
        let mut cmd = std::process::Command::new(node);
        ctx.env.apply(&mut cmd);
        cmd.arg("--version");
        if let Ok(out) = acp_core::process::output(&mut cmd) {
            let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if !version.is_empty() && !version.contains('/') {
                fallbacks.push(format!("~/.nvm/versions/node/{version}/bin/pi"));
            }
        }
    }
    let fallbacks: Vec<&str> = fallbacks.iter().map(String::as_str).collect();
    launcher::resolve_binary(
        ctx,
        &["PI_BIN", "ACP_PI_BIN", "F_LOSNING_PI_BIN"],
        &["pi"],
        &fallbacks,
    )
}

/// A provider reason found in pi's last output lines, by the shared table of
/// the one-shot CLI backends: `auth-failure` or `provider-quota-limit`
/// (auth first: a refused key is never a quota).
pub fn classify_output<'a>(lines: impl IntoIterator<Item = &'a str>) -> Option<&'static str> {
    let mut text = Vec::new();
    for l in lines {
        text.extend_from_slice(l.as_bytes());
        text.push(b'\n');
    }
    classify::classify_cli_failure(&text)
}

/// The supervision hooks for pi.
#[derive(Debug)]
pub struct PiBackend {
    pub timeout_secs: u64,
    pub stall_secs: u64,
    /// Where the heartbeat refreshes `RUNNER_STATE=running` (with its locale).
    pub heartbeat_state: Option<(std::path::PathBuf, acp_core::shellquote::QuoteLocale)>,
    tail: VecDeque<String>,
}

impl PiBackend {
    pub fn new(timeout_secs: u64, stall_secs: u64) -> Self {
        Self {
            timeout_secs,
            stall_secs,
            heartbeat_state: None,
            tail: VecDeque::with_capacity(TAIL_LINES),
        }
    }

    /// The last output lines seen.
    pub fn tail(&self) -> impl Iterator<Item = &str> {
        self.tail.iter().map(String::as_str)
    }

    /// The exit code and failure reason of a finished run (`None` reason on
    /// success). Timeout and stall end with 124, like the original's
    /// watchdogs (143 mapped to 124).
    pub fn verdict(&self, outcome: &Outcome) -> (i32, Option<String>) {
        match &outcome.ending {
            Ending::TimedOut => (124, Some(reason::TIMEOUT.to_string())),
            Ending::Stalled(kind) => (124, Some(classify::agent_stall_reason(*kind).to_string())),
            Ending::Signalled(sig) => (128 + sig, Some(reason::RUNNER_ABORTED.to_string())),
            Ending::Exited | Ending::Stopped(_) => {
                let code = outcome.exit_code;
                if code == 0 {
                    (0, None)
                } else if code == 124 {
                    (124, Some(reason::TIMEOUT.to_string()))
                } else {
                    let reason = classify_output(self.tail())
                        .map_or_else(|| format!("pi-exit-{code}"), str::to_string);
                    (code, Some(reason))
                }
            }
        }
    }
}

impl Backend for PiBackend {
    fn on_line(&mut self, line: &[u8], _log: &mut LogSink<'_>) -> anyhow::Result<Signal> {
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail
            .push_back(String::from_utf8_lossy(line).into_owned());
        Ok(Signal::Progress)
    }

    fn on_heartbeat(&mut self, _tick: &Tick, _log: &mut LogSink<'_>) -> anyhow::Result<()> {
        if let Some((path, locale)) = &self.heartbeat_state {
            acp_session::supervise::RunnerState {
                state: acp_session::supervise::state::RUNNING.to_string(),
                attempt: 1,
                ..Default::default()
            }
            .write(path, acp_session::supervise::KeyProfile::NoThread, *locale)?;
        }
        Ok(())
    }

    fn on_stall(
        &mut self,
        _kind: StallKind,
        _tick: &Tick,
        log: &mut LogSink<'_>,
    ) -> anyhow::Result<()> {
        log.line(
            format!(
                "[pi] no output for {} seconds, stopping the stalled worker",
                self.stall_secs
            )
            .as_bytes(),
        )?;
        log.flush()
    }

    fn on_timeout(&mut self, _tick: &Tick, log: &mut LogSink<'_>) -> anyhow::Result<()> {
        log.line(format!("[pi] timed out after {} seconds", self.timeout_secs).as_bytes())?;
        log.flush()
    }

    fn on_signal(&mut self, sig: i32, _tick: &Tick, log: &mut LogSink<'_>) -> anyhow::Result<()> {
        log.line(format!("[pi] stopping: the session received signal {sig}").as_bytes())?;
        log.flush()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use acp_core::Env;

    #[test]
    fn argument_shape() {
        let args = pi_args(
            "openrouter/qwen/x:free",
            "low",
            Path::new("/p dir/prompt.md"),
        );
        let args: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "--print",
                "--no-session",
                "--model",
                "openrouter/qwen/x:free",
                "--thinking",
                "low",
                "@/p dir/prompt.md"
            ]
        );
    }

    #[test]
    fn classification_is_specific() {
        let c = |s: &str| classify_output(s.lines());
        assert_eq!(
            c("Error: 429 Too Many Requests"),
            Some("provider-quota-limit")
        );
        assert_eq!(
            c("provider error: status 429"),
            Some("provider-quota-limit")
        );
        assert_eq!(
            c("Rate limit exceeded for model x"),
            Some("provider-quota-limit")
        );
        assert_eq!(
            c("Insufficient credits on your account"),
            Some("provider-quota-limit")
        );
        assert_eq!(c("HTTP 401 Unauthorized"), Some("auth-failure"));
        assert_eq!(
            c("Error: No API key found for openrouter"),
            Some("auth-failure")
        );
        assert_eq!(c("invalid api key"), Some("auth-failure"));
        // Numbers in ordinary text are not provider errors.
        assert_eq!(c("Fixed PR #4291 and line 401: ok\nissue 429 closed"), None);
        assert_eq!(c("TypeError: x is undefined"), None);
    }

    #[test]
    fn binary_resolution_order() {
        let tmp = tempfile::tempdir().unwrap();
        let bin = tmp.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let exe = |p: &Path| {
            acp_core::testutil::write_script(p, "#!/bin/sh\n");
        };
        let on_path = bin.join("pi");
        exe(&on_path);
        let configured = tmp.path().join("my-pi");
        exe(&configured);
        let not_exec = tmp.path().join("plain");
        std::fs::write(&not_exec, "").unwrap();

        let mut env = Env::new();
        env.set("PATH", &bin);
        env.set("HOME", tmp.path().join("home"));
        env.set("ACP_PI_BIN", &configured);
        let resolve = |env: &Env| {
            let (mut o, mut e) = (Vec::new(), Vec::new());
            let ctx = Invocation::new(&mut o, &mut e, env.clone());
            resolve_pi_bin(&ctx)
        };
        assert_eq!(resolve(&env), Some(configured.clone()));
        env.set("PI_BIN", &not_exec);
        assert_eq!(
            resolve(&env),
            Some(on_path.clone()),
            "first non-empty wins, then PATH"
        );
        env.remove("PI_BIN");
        env.remove("ACP_PI_BIN");
        std::fs::remove_file(&on_path).unwrap();
        assert_eq!(resolve(&env), None);
        let local = tmp.path().join("home/.local/bin");
        std::fs::create_dir_all(&local).unwrap();
        exe(&local.join("pi"));
        assert_eq!(resolve(&env), Some(local.join("pi")));
    }
}
