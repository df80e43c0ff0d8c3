//! What still owns a worktree. A worktree with an owner is never removed.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use acp_core::envfile::{EnvFile, Mode};
use acp_core::tmux::Tmux;

use super::list::canonical_dir;
use super::naming::Naming;

/// Why a worktree is still in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// The session's tmux session is alive.
    LiveSession(String),
    /// The run directory exists and has no `reconciled.ok`: the host has not
    /// consumed the result yet.
    UnreconciledRun(PathBuf),
    /// worker-status still says `RUNNING`.
    RunningRun(String),
    /// A pending launch's pid file names a live process.
    PendingLaunch(u32),
    /// A recurring or running resident lane records this worktree.
    ResidentLane(PathBuf),
    /// A resident-enabled run that is still running works in it.
    ResidentRun(String),
    /// A live tmux pane's working directory is inside it.
    LivePane(String),
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::LiveSession(s) => write!(f, "tmux session {s} is alive"),
            Owner::UnreconciledRun(d) => write!(f, "run {} is not reconciled yet", d.display()),
            Owner::RunningRun(s) => write!(f, "worker status of {s} is RUNNING"),
            Owner::PendingLaunch(pid) => write!(f, "pending launch pid {pid} is alive"),
            Owner::ResidentLane(m) => write!(f, "resident lane {} uses it", m.display()),
            Owner::ResidentRun(s) => write!(f, "resident run {s} is still running"),
            Owner::LivePane(s) => write!(f, "a pane of live tmux session {s} works in it"),
        }
    }
}

/// The inputs of the owner checks of the audit tools.
pub struct OwnerProbe<'a> {
    pub tmux: &'a Tmux,
    pub runs_root: &'a Path,
    pub pending_dir: &'a Path,
    pub naming: &'a Naming,
    /// Runs worker-status for a session and returns its last `STATUS=`
    /// value (None when it could not say).
    pub worker_status: &'a dyn Fn(&str) -> Option<String>,
}

impl OwnerProbe<'_> {
    /// A live tmux session; else a run directory without `reconciled.ok`;
    /// else worker-status saying `RUNNING` (asked only for reconciled runs).
    pub fn session_owner(&self, session: &str) -> Option<Owner> {
        if session.is_empty() {
            return None;
        }
        if self.tmux.has_session(session) {
            return Some(Owner::LiveSession(session.to_string()));
        }
        if session.contains('/') || session == "." || session == ".." {
            return None;
        }
        let run_dir = self.runs_root.join(session);
        if !run_dir.is_dir() {
            return None;
        }
        if !run_dir.join("reconciled.ok").is_file() {
            return Some(Owner::UnreconciledRun(run_dir));
        }
        ((self.worker_status)(session).as_deref() == Some("RUNNING"))
            .then(|| Owner::RunningRun(session.to_string()))
    }

    /// `<pending dir>/<issue-N|pr-N>.pid` naming a live process.
    pub fn launch_owner(&self, session: &str) -> Option<Owner> {
        let key = self.naming.launch_key(session)?;
        let file = self.pending_dir.join(format!("{key}.pid"));
        let pid = read_pid(&file)?;
        pid_alive(pid).then_some(Owner::PendingLaunch(pid))
    }

    /// [`Self::session_owner`], then [`Self::launch_owner`].
    pub fn any(&self, session: &str) -> Option<Owner> {
        self.session_owner(session)
            .or_else(|| self.launch_owner(session))
    }
}

/// The pid in a pid file (whitespace ignored); None when missing or not a number.
pub fn read_pid(file: &Path) -> Option<u32> {
    let bytes = acp_core::fsx::read_regular(file, 4096).ok()?;
    let text: String = String::from_utf8_lossy(&bytes)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    text.parse().ok()
}

/// `kill -0 PID`.
pub fn pid_alive(pid: u32) -> bool {
    acp_core::process::signal_pid(pid, 0)
}

/// `<dir>/*/<file>` in glob order (names starting with a dot skipped).
pub fn children_with(dir: &Path, file: &str) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<OsString> = rd
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .filter(|n| !n.as_encoded_bytes().starts_with(b"."))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| dir.join(n).join(file))
        .filter(|p| p.is_file())
        .collect()
}

/// `<state>/resident-workers/issues/*/metadata.env`.
pub fn resident_metadata_files(state_root: Option<&Path>) -> Vec<PathBuf> {
    match state_root {
        Some(root) => children_with(&root.join("resident-workers/issues"), "metadata.env"),
        None => Vec::new(),
    }
}

/// Loads a state file that may be missing or unreadable (then None).
fn load_optional(path: &Path) -> Option<EnvFile> {
    EnvFile::load_with(path, Mode::Lenient).ok()
}

/// `WORKTREE_REALPATH`, else `WORKTREE`, of one file.
fn recorded_worktree(f: &EnvFile) -> String {
    let real = f.get_or_empty("WORKTREE_REALPATH");
    if real.is_empty() {
        f.get_or_empty("WORKTREE")
    } else {
        real
    }
}

/// A recurring or running resident lane whose metadata records `wt`.
pub fn resident_lane_owner(state_root: Option<&Path>, wt: &Path) -> Option<Owner> {
    let candidate = canonical_dir(wt)?;
    resident_metadata_files(state_root)
        .into_iter()
        .find_map(|meta| {
            let f = load_optional(&meta)?;
            if f.get_or_empty("RESIDENT_LANE_KIND") != "recurring"
                && f.get_or_empty("LAST_STATUS") != "running"
            {
                return None;
            }
            let recorded = canonical_dir(Path::new(&recorded_worktree(&f)))?;
            (recorded == candidate).then_some(Owner::ResidentLane(meta))
        })
}

/// A resident-enabled run (run.env `RESIDENT_WORKER_ENABLED=yes`) recording
/// `wt` whose runner.env says `running` or whose tmux session is alive.
pub fn resident_run_owner(runs_root: &Path, wt: &Path, tmux: &Tmux) -> Option<Owner> {
    if runs_root.as_os_str().is_empty() || !runs_root.is_dir() {
        return None;
    }
    let candidate = canonical_dir(wt)?;
    children_with(runs_root, "run.env")
        .into_iter()
        .find_map(|run_env| {
            let f = load_optional(&run_env)?;
            if f.get_or_empty("RESIDENT_WORKER_ENABLED") != "yes" {
                return None;
            }
            let recorded = canonical_dir(Path::new(&recorded_worktree(&f)))?;
            if recorded != candidate {
                return None;
            }
            let runner_state = run_env
                .parent()
                .map(|d| d.join("runner.env"))
                .and_then(|p| load_optional(&p))
                .map(|r| r.get_or_empty("RUNNER_STATE"))
                .unwrap_or_default();
            let session = f.get_or_empty("SESSION");
            (runner_state == "running" || tmux.has_session(&session))
                .then_some(Owner::ResidentRun(session))
        })
}

/// A live tmux pane (of the server `env` selects) whose current directory
/// is `dir` or inside it: `tmux list-panes -a`. None without tmux or server.
pub fn live_pane_owner(env: &acp_core::Env, dir: &Path) -> Option<Owner> {
    use std::os::unix::ffi::OsStrExt;
    let dir = canonical_dir(dir)?;
    let tmux = env.which("tmux")?;
    let mut cmd = std::process::Command::new(tmux);
    env.apply(&mut cmd);
    cmd.args([
        "list-panes",
        "-a",
        "-F",
        "#{session_name}\t#{pane_current_path}",
    ]);
    let out = acp_core::process::output(&mut cmd).ok()?;
    if !out.status.success() {
        return None;
    }
    out.stdout.split(|b| *b == b'\n').find_map(|line| {
        let tab = line.iter().position(|b| *b == b'\t')?;
        let cwd = Path::new(std::ffi::OsStr::from_bytes(&line[tab + 1..]));
        let cwd = canonical_dir(cwd)?;
        cwd.starts_with(&dir)
            .then(|| Owner::LivePane(String::from_utf8_lossy(&line[..tab]).into_owned()))
    })
}

/// How to run `agent-project-worker-status`: the sibling file through bash
/// (a caller's stub there is what runs), else this binary.
pub struct StatusTool {
    script: Option<PathBuf>,
    exe: PathBuf,
    cwd: PathBuf,
}

impl StatusTool {
    pub fn sibling_of(ctx: &acp_core::Invocation<'_>) -> Self {
        Self {
            script: ctx.sibling("agent-project-worker-status"),
            exe: ctx.exe.clone(),
            cwd: ctx.cwd.clone(),
        }
    }

    /// The last `STATUS=` of `--runs-root R --session S`.
    pub fn status(&self, env: &acp_core::Env, runs_root: &Path, session: &str) -> Option<String> {
        let mut cmd = match &self.script {
            Some(p) => {
                let mut c = std::process::Command::new("bash");
                c.arg(p);
                c
            }
            None => {
                let mut c = std::process::Command::new(&self.exe);
                c.arg("agent-project-worker-status");
                c
            }
        };
        env.apply(&mut cmd);
        cmd.current_dir(&self.cwd)
            .arg("--runs-root")
            .arg(runs_root)
            .arg("--session")
            .arg(session);
        let out = acp_core::process::output(&mut cmd).ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        acp_core::kv::last(&text, "STATUS").map(str::to_string)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pid_files() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("issue-1.pid");
        std::fs::write(&f, format!(" {}\n", std::process::id())).unwrap();
        assert_eq!(read_pid(&f), Some(std::process::id()));
        assert!(pid_alive(std::process::id()));
        std::fs::write(&f, "x").unwrap();
        assert_eq!(read_pid(&f), None);
        assert_eq!(read_pid(&t.path().join("none")), None);
    }
}
