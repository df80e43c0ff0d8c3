//! tmux control through the `tmux` CLI, with an explicit environment.
//!
//! The client runs with the caller's [`Env`] (so `TMUX_TMPDIR` and `PATH`
//! pick the right server and binary); what a worker needs is passed in its
//! command line or inner script, never inherited from the tmux server.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use anyhow::{Context, Result};

use crate::Env;

/// A tmux client bound to an environment.
#[derive(Debug, Clone)]
pub struct Tmux {
    bin: OsString,
    env: Env,
}

impl Tmux {
    /// Uses `tmux` from the env's `PATH` (or `bin` when given).
    pub fn new(env: &Env, bin: Option<PathBuf>) -> Self {
        let bin = bin
            .or_else(|| env.which("tmux"))
            .map(OsString::from)
            .unwrap_or_else(|| OsString::from("tmux"));
        Self {
            bin,
            env: env.clone(),
        }
    }

    fn cmd<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = Command::new(&self.bin);
        self.env.apply(&mut c);
        c.args(args).stdin(Stdio::null());
        c
    }

    fn output<I, S>(&self, args: I) -> Result<Output>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd(args)
            .output()
            .with_context(|| format!("failed to run {}", self.bin.to_string_lossy()))
    }

    /// `tmux has-session -t NAME` (false when tmux is missing or no server runs).
    pub fn has_session(&self, name: &str) -> bool {
        if name.is_empty() {
            return false;
        }
        self.cmd(["has-session", "-t", &exact(name)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Names of all sessions (empty when no server runs).
    pub fn list_sessions(&self) -> Vec<String> {
        match self.output(["list-sessions", "-F", "#{session_name}"]) {
            Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Starts a detached session running `argv` (first word the program).
    pub fn new_session<S: AsRef<OsStr>>(
        &self,
        name: &str,
        cwd: Option<&std::path::Path>,
        argv: &[S],
    ) -> Result<()> {
        let mut args: Vec<OsString> =
            vec!["new-session".into(), "-d".into(), "-s".into(), name.into()];
        if let Some(dir) = cwd {
            args.push("-c".into());
            args.push(dir.as_os_str().to_os_string());
        }
        args.extend(argv.iter().map(|a| a.as_ref().to_os_string()));
        let out = self.output(&args)?;
        if !out.status.success() {
            anyhow::bail!(
                "tmux new-session {name} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }

    /// `tmux kill-session -t NAME`; true when a session was killed.
    pub fn kill_session(&self, name: &str) -> bool {
        self.cmd(["kill-session", "-t", &exact(name)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// The visible pane of session NAME (`capture-pane -p`, no scrollback),
    /// as raw bytes. The target `=NAME:` names the session exactly: a bare
    /// `=NAME` is not a valid pane target, and a bare `NAME` could pick
    /// another session by prefix.
    pub fn capture_pane(&self, name: &str) -> Result<Vec<u8>> {
        let out = self.output(["capture-pane", "-p", "-t", &format!("={name}:")])?;
        if !out.status.success() {
            anyhow::bail!(
                "tmux capture-pane failed for {name}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(out.stdout)
    }

    /// `tmux wait-for -S CHANNEL`.
    pub fn signal(&self, channel: &str) -> bool {
        self.cmd(["wait-for", "-S", channel])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// `tmux wait-for CHANNEL` (blocks).
    pub fn wait_for(&self, channel: &str) -> bool {
        self.cmd(["wait-for", channel])
            .status()
            .is_ok_and(|s| s.success())
    }
}

/// A target that matches the session name exactly (`=NAME`), so that
/// `issue-1` never matches `issue-12` by prefix.
fn exact(name: &str) -> String {
    format!("={name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_matched_exactly_and_panes_captured() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let mut env = Env::from_process();
        env.set("TMUX_TMPDIR", dir.path());
        env.remove("TMUX");
        let tmux = Tmux::new(&env, None);
        assert!(!tmux.has_session("acp-unit-12"));
        tmux.new_session(
            "acp-unit-12",
            None,
            &["bash", "-c", "printf 'hello-pane\\n'; sleep 30"],
        )?;
        let mut text = Vec::new();
        for _ in 0..50 {
            text = tmux.capture_pane("acp-unit-12")?;
            if String::from_utf8_lossy(&text).contains("hello-pane") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert!(String::from_utf8_lossy(&text).contains("hello-pane"));
        assert!(tmux.has_session("acp-unit-12"));
        assert!(!tmux.has_session("acp-unit-1"), "no prefix match");
        assert!(tmux.capture_pane("acp-unit-1").is_err());
        assert_eq!(tmux.list_sessions(), vec!["acp-unit-12".to_string()]);
        assert!(tmux.kill_session("acp-unit-12"));
        assert!(!tmux.has_session("acp-unit-12"));
        Ok(())
    }
}
