//! Where sessions run (issue 10, section 2): the pass lists, probes and
//! ends sessions only through [`SessionHost`], so that running sessions on
//! other machines later is a new implementation, not a rewrite. The one
//! implementation today is local tmux ([`LocalTmux`]).

use std::process::Stdio;

use acp_core::Env;
use acp_core::tmux::Tmux;
use anyhow::Result;

/// The sessions of one host.
pub trait SessionHost {
    /// Every session name (empty when the host has none or cannot be asked).
    fn list_sessions(&mut self) -> Vec<String>;
    /// Whether session `name` exists (exact name).
    fn has_session(&mut self, name: &str) -> bool {
        self.list_sessions().iter().any(|s| s == name)
    }
    /// Ends session `name`: the process groups of its panes first (so a
    /// worker's children do not outlive it), then the session.
    fn end_session(&mut self, name: &str) -> Result<()>;
}

/// Sessions of the local tmux server (the `tmux` on the env's `PATH`).
///
/// The session list is asked once and cached until [`LocalTmux::refresh`]
/// or an [`SessionHost::end_session`]: a pass reasons about one snapshot,
/// and `has_session` is an exact lookup in it (tmux's own `-t NAME` would
/// also match another session by prefix).
pub struct LocalTmux {
    tmux: Tmux,
    env: Env,
    cache: Option<Vec<String>>,
}

impl LocalTmux {
    pub fn new(env: &Env) -> Self {
        LocalTmux {
            tmux: Tmux::new(env, None),
            env: env.clone(),
            cache: None,
        }
    }

    /// Forgets the cached session list.
    pub fn refresh(&mut self) {
        self.cache = None;
    }

    /// The pids of the panes of session `name`.
    fn pane_pids(&self, name: &str) -> Vec<u32> {
        let mut cmd = std::process::Command::new(self.env.which("tmux").unwrap_or("tmux".into()));
        self.env.apply(&mut cmd);
        cmd.args([
            "list-panes",
            "-s",
            "-t",
            &format!("={name}"),
            "-F",
            "#{pane_pid}",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null());
        match cmd.output() {
            Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter_map(|l| l.trim().parse().ok())
                .collect(),
            _ => Vec::new(),
        }
    }
}

impl SessionHost for LocalTmux {
    fn list_sessions(&mut self) -> Vec<String> {
        if self.cache.is_none() {
            self.cache = Some(self.tmux.list_sessions());
        }
        self.cache.clone().unwrap_or_default()
    }

    fn end_session(&mut self, name: &str) -> Result<()> {
        for pid in self.pane_pids(name) {
            // A pane's shell leads its own process group (tmux starts each
            // pane in a new session): end the group, not just the shell.
            if pid > 1 {
                acp_core::process::signal_group(pid, libc::SIGTERM);
            }
        }
        let mut cmd = std::process::Command::new(self.env.which("tmux").unwrap_or("tmux".into()));
        self.env.apply(&mut cmd);
        cmd.args(["kill-session", "-t", &format!("={name}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let _ = cmd.status();
        self.cache = None;
        Ok(())
    }
}

/// A host with a fixed session list (dry runs and tests).
#[derive(Debug, Default, Clone)]
pub struct StaticHost {
    pub sessions: Vec<String>,
    pub ended: Vec<String>,
}

impl SessionHost for StaticHost {
    fn list_sessions(&mut self) -> Vec<String> {
        self.sessions.clone()
    }

    fn end_session(&mut self, name: &str) -> Result<()> {
        self.sessions.retain(|s| s != name);
        self.ended.push(name.to_owned());
        Ok(())
    }
}
