//! tmux control through the `tmux` CLI, with an explicit environment. Every
//! tmux command line of the tools is built here.
//!
//! The client runs with the caller's [`Env`] (so `TMUX_TMPDIR` and `PATH`
//! pick the right server and binary); what a worker needs is passed in its
//! command line, its inner script or [`NewSession::env`], never inherited
//! from the tmux server.
//!
//! Sessions are named exactly: a target is `=NAME`, so `issue-1` never
//! matches `issue-12` by prefix, and a name tmux cannot give a session
//! (`live:0`, `a.b`: tmux reads them as window and pane targets) is never
//! alive and is refused by [`Tmux::new_session`].

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use anyhow::{Context, Result};

use crate::Env;

/// A tmux client bound to an environment.
#[derive(Debug, Clone)]
pub struct Tmux {
    bin: OsString,
    env: Env,
}

/// A detached session to start with [`Tmux::new_session`]: its name, the
/// program and arguments it runs (as argv, no shell), and optionally its
/// working directory (`-c`) and variables set in its environment (`-e`).
#[derive(Debug, Clone)]
pub struct NewSession {
    name: String,
    cwd: Option<PathBuf>,
    env: Vec<(String, OsString)>,
    argv: Vec<OsString>,
}

impl NewSession {
    /// Session `name` running `program`.
    pub fn new(name: impl Into<String>, program: impl AsRef<OsStr>) -> Self {
        Self {
            name: name.into(),
            cwd: None,
            env: Vec::new(),
            argv: vec![program.as_ref().to_os_string()],
        }
    }

    /// Appends one argument of the program.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.argv.push(arg.as_ref().to_os_string());
        self
    }

    /// Appends arguments of the program.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.argv
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// The session's working directory (`new-session -c DIR`).
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Sets `key=value` in the session's environment (`new-session -e`).
    pub fn env(mut self, key: impl Into<String>, value: impl AsRef<OsStr>) -> Self {
        self.env.push((key.into(), value.as_ref().to_os_string()));
        self
    }

    /// The session's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tmux arguments: `new-session -d -s NAME [-c DIR] [-e K=V]... PROGRAM ARGS...`.
    fn tmux_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![
            "new-session".into(),
            "-d".into(),
            "-s".into(),
            self.name.clone().into(),
        ];
        if let Some(dir) = &self.cwd {
            args.push("-c".into());
            args.push(dir.as_os_str().to_os_string());
        }
        for (key, value) in &self.env {
            let mut kv = OsString::from(format!("{key}="));
            kv.push(value);
            args.push("-e".into());
            args.push(kv);
        }
        args.extend(self.argv.iter().cloned());
        args
    }
}

/// tmux ran but refused a command (e.g. `duplicate session`): its exit code
/// and stderr, for a caller that relays them as the original scripts did.
#[derive(Debug, Clone)]
pub struct Refused {
    pub code: i32,
    pub stderr: Vec<u8>,
    what: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} failed (exit {}): {}",
            self.what,
            self.code,
            String::from_utf8_lossy(&self.stderr).trim()
        )
    }
}

impl std::error::Error for Refused {}

/// Whether tmux can hold a session of this name: not empty, and without `:`
/// or `.` (tmux replaces them by `_` in a new session's name and reads them
/// as window and pane separators in a target).
pub fn is_session_name(name: &str) -> bool {
    !name.is_empty() && !name.contains([':', '.'])
}

/// The socket of the server a client started with `env` talks to: the one
/// named in `$TMUX` (inside a tmux pane), else
/// `${TMUX_TMPDIR:-/tmp}/tmux-<uid>/default`.
pub fn default_socket(env: &Env) -> PathBuf {
    if let Some(t) = env.non_empty("TMUX")
        && !t.starts_with(',')
    {
        return PathBuf::from(t.split(',').next().unwrap_or_default());
    }
    let base = env
        .non_empty("TMUX_TMPDIR")
        .unwrap_or_else(|| "/tmp".to_string());
    Path::new(&base)
        .join(format!("tmux-{}", real_uid()))
        .join("default")
}

/// Whether a tmux server may be running for a client started with `env`:
/// its socket ([`default_socket`]) exists. Without it no session is alive,
/// and a caller that starts often (worker-status) need not start the `tmux`
/// client, nor even look it up, to learn so.
pub fn server_may_run(env: &Env) -> bool {
    default_socket(env).exists()
}

/// The real user id (what tmux uses to name its socket directory).
#[allow(unsafe_code)]
fn real_uid() -> u32 {
    // SAFETY: getuid() has no preconditions, cannot fail and touches no memory.
    unsafe { libc::getuid() }
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

    /// [`server_may_run`] for this client's environment.
    pub fn server_may_run(&self) -> bool {
        server_may_run(&self.env)
    }

    /// Whether session NAME exists (`has-session -t =NAME`); false when
    /// tmux is missing, no server runs, or tmux cannot have such a name.
    pub fn has_session(&self, name: &str) -> bool {
        if !is_session_name(name) {
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

    /// Starts `session` detached. An error when tmux cannot be run or the
    /// name is not one tmux keeps as given; when tmux runs and refuses
    /// (a duplicate session, no usable server), the error is a [`Refused`]
    /// carrying tmux's exit code and stderr (`e.downcast_ref::<Refused>()`).
    pub fn new_session(&self, session: &NewSession) -> Result<()> {
        if !is_session_name(&session.name) {
            anyhow::bail!(
                "not a tmux session name (empty, or with ':' or '.'): {}",
                session.name.escape_debug()
            );
        }
        let out = self.output(session.tmux_args())?;
        if !out.status.success() {
            return Err(Refused {
                code: crate::process::exit_code(out.status),
                stderr: out.stderr,
                what: format!("tmux new-session {}", session.name),
            }
            .into());
        }
        Ok(())
    }

    /// The visible pane of session NAME (`capture-pane -p`, no scrollback),
    /// as raw bytes. The target `=NAME:` names the session exactly: a bare
    /// `=NAME` is not a valid pane target, and a bare `NAME` could pick
    /// another session by prefix.
    pub fn capture_pane(&self, name: &str) -> Result<Vec<u8>> {
        if !is_session_name(name) {
            anyhow::bail!("no tmux session can be named {}", name.escape_debug());
        }
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

    /// Starts `tmux wait-for CHANNEL` as a child (stdin, stdout and stderr
    /// null) for a caller that polls it (`try_wait`) and kills it when it
    /// gives up waiting.
    pub fn spawn_wait_for(&self, channel: &str) -> Result<Child> {
        self.cmd(["wait-for", channel])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("failed to run {} wait-for", self.bin.to_string_lossy()))
    }
}

/// A target that matches the session name exactly (`=NAME`), so that
/// `issue-1` never matches `issue-12` by prefix.
fn exact(name: &str) -> String {
    format!("={name}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn private_env(dir: &Path) -> Env {
        let mut env = Env::from_process();
        env.set("TMUX_TMPDIR", dir);
        env.remove("TMUX");
        env
    }

    /// Ends the private server of a test.
    fn kill_server(env: &Env) {
        let mut c = Command::new("tmux");
        env.apply(&mut c);
        let _ = c
            .arg("kill-server")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    #[test]
    fn sessions_are_matched_exactly_and_panes_captured() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let env = private_env(dir.path());
        let tmux = Tmux::new(&env, None);
        assert!(!tmux.server_may_run(), "no server yet");
        assert!(!tmux.has_session("acp-unit-12"));
        assert!(tmux.list_sessions().is_empty());
        tmux.new_session(
            &NewSession::new("acp-unit-12", "bash")
                .args([
                    "-c",
                    "printf 'hello-pane %s %s\\n' \"$ACP_UNIT\" \"$PWD\"; sleep 30",
                ])
                .env("ACP_UNIT", "from-e")
                .cwd(dir.path()),
        )?;
        assert!(tmux.server_may_run(), "the server's socket exists");
        let want = format!("hello-pane from-e {}", dir.path().display());
        let mut text = Vec::new();
        for _ in 0..50 {
            text = tmux.capture_pane("acp-unit-12")?;
            if String::from_utf8_lossy(&text).contains(&want) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let shown = String::from_utf8_lossy(&text).into_owned();
        kill_server(&env);
        assert!(shown.contains(&want), "{shown}");
        Ok(())
    }

    #[test]
    fn targets_are_exact_and_names_tmux_would_rewrite_are_never_alive() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let env = private_env(dir.path());
        let tmux = Tmux::new(&env, None);
        tmux.new_session(&NewSession::new("live", "sleep").arg("30"))?;
        let checks = [
            tmux.has_session("live"),
            tmux.has_session("liv"),
            // tmux reads these as window/pane targets of session `live`.
            tmux.has_session("live:0"),
            tmux.has_session("live.0"),
            tmux.has_session("live:"),
            tmux.capture_pane("live:0").is_ok(),
            tmux.list_sessions() == ["live"],
        ];
        let duplicate = tmux.new_session(&NewSession::new("live", "sleep").arg("30"));
        let dotted = tmux.new_session(&NewSession::new("a.b", "sleep").arg("30"));
        let listed = tmux.list_sessions();
        kill_server(&env);
        assert_eq!(checks, [true, false, false, false, false, false, true]);
        let refused = duplicate.expect_err("duplicate session");
        let refused = refused.downcast_ref::<Refused>().expect("a Refused");
        assert_eq!(refused.code, 1);
        assert!(String::from_utf8_lossy(&refused.stderr).contains("duplicate"));
        assert!(dotted.is_err());
        assert_eq!(listed, ["live"], "no a_b session was started");
        Ok(())
    }

    #[test]
    fn the_socket_follows_tmux_and_tmux_tmpdir() {
        let mut env = Env::default();
        env.set("TMUX_TMPDIR", "/x");
        let uid = real_uid();
        assert_eq!(
            default_socket(&env),
            PathBuf::from(format!("/x/tmux-{uid}/default"))
        );
        env.remove("TMUX_TMPDIR");
        assert_eq!(
            default_socket(&env),
            PathBuf::from(format!("/tmp/tmux-{uid}/default"))
        );
        env.set("TMUX", "/s/sock,123,0");
        assert_eq!(default_socket(&env), PathBuf::from("/s/sock"));
    }
}
