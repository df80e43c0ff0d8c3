//! Resident controllers: `controller.env`, the live controller of a lane,
//! and the reaper of stale controllers and their pending-launch files
//! (spec 2, 3.9, 3.10).
//!
//! `controller.env` is a `%q` KV file written atomically by the controller
//! on every state change and read here parsed, never sourced (F1). Our
//! controllers record `CONTROLLER_PID_START` (the start-time token of
//! `CONTROLLER_PID`) next to the pid, so liveness is pid + start time (F16);
//! a file without it (written by the original controller) counts as live
//! only while its pid runs a program whose argument list names
//! `start-resident-issue-loop.sh` (an exact argument, not a substring).

mod cycle;
mod hooks;
mod machine;
mod settings;

use std::path::{Path, PathBuf};

use acp_core::procid::ProcId;
use anyhow::Context;

pub use machine::{Setup, run};
pub use settings::Settings;

use super::lane::{is_plain_id, issue_dir, resident_root};

/// The controller's script name (what a legacy controller's argv names).
pub const CONTROLLER_SCRIPT: &str = "start-resident-issue-loop.sh";

/// The key holding the controller's start-time token (ours only).
pub const PID_START_KEY: &str = "CONTROLLER_PID_START";

/// `resident-workers/issues/<issue id>/controller.env`.
pub fn controller_file(state_root: &Path, issue_id: &str) -> PathBuf {
    issue_dir(state_root, issue_id).join("controller.env")
}

/// `STATE/pending-launches/issue-<id>.pid` (the reaper's and the heartbeat's
/// fixed location).
pub fn pending_file(state_root: &Path, issue_id: &str) -> PathBuf {
    state_root
        .join("pending-launches")
        .join(format!("issue-{issue_id}.pid"))
}

/// Whether a controller in `state` counts as a pending launch (holds its
/// pending-launch pid file): every state but `idle`, `sleeping`,
/// `waiting-due`, `waiting-open-pr` and `waiting-provider`.
pub fn counts_as_pending(state: &str) -> bool {
    !matches!(
        state,
        "idle" | "sleeping" | "waiting-due" | "waiting-open-pr" | "waiting-provider"
    )
}

/// What a `controller.env` says about its controller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    pub issue_id: String,
    pub pid: Option<u32>,
    pub pid_start: String,
    pub state: String,
    pub worker_key: String,
}

impl Record {
    /// Reads `file` (lenient parse: `%q` values, raw values and the
    /// original's double quotes all read as their text); `None` when missing.
    pub fn load(file: &Path) -> anyhow::Result<Option<Record>> {
        if !file.exists() {
            return Ok(None);
        }
        let map = acp_core::envfile::read_lenient(file)
            .with_context(|| format!("failed to read {}", file.display()))?;
        let get = |k: &str| {
            map.get(k)
                .map(|v| v.to_string_lossy().trim().to_string())
                .unwrap_or_default()
        };
        // `CONTROLLER_PID` may also be a `PID START` line (a procid).
        let recorded = ProcId::parse(&get("CONTROLLER_PID")).filter(|p| p.pid > 1);
        let pid_start = match get(PID_START_KEY) {
            s if s.is_empty() => recorded.as_ref().map(|p| p.start.clone()).unwrap_or(s),
            s => s,
        };
        Ok(Some(Record {
            issue_id: get("ISSUE_ID"),
            pid: recorded.map(|p| p.pid),
            pid_start,
            state: get("CONTROLLER_STATE"),
            worker_key: get("ACTIVE_RESIDENT_WORKER_KEY"),
        }))
    }

    /// Whether the controller this file names still runs (see the module docs).
    pub fn is_alive(&self) -> bool {
        let Some(pid) = self.pid else {
            return false;
        };
        if is_zombie(pid) {
            return false;
        }
        if !self.pid_start.is_empty() {
            return ProcId {
                pid,
                start: self.pid_start.clone(),
            }
            .is_alive();
        }
        ProcId::of(pid).is_some() && argv_names_controller(pid)
    }
}

/// Whether `pid` is a zombie (exited, not yet reaped): not alive (F16).
pub fn is_zombie(pid: u32) -> bool {
    let stat = Path::new("/proc").join(pid.to_string()).join("stat");
    std::fs::read_to_string(stat).is_ok_and(|t| {
        t.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            == Some("Z")
    })
}

/// Whether one argument of `pid`'s command line is (a path to) the
/// controller script.
fn argv_names_controller(pid: u32) -> bool {
    let names = |arg: &str| {
        Path::new(arg)
            .file_name()
            .is_some_and(|n| n == CONTROLLER_SCRIPT)
    };
    let cmdline = Path::new("/proc").join(pid.to_string()).join("cmdline");
    if let Ok(bytes) = std::fs::read(&cmdline) {
        return bytes
            .split(|b| *b == 0)
            .any(|a| names(&String::from_utf8_lossy(a)));
    }
    if Path::new("/proc/self").exists() {
        return false;
    }
    std::process::Command::new("ps")
        .args(["-o", "args=", "-p", &pid.to_string()])
        .stdin(std::process::Stdio::null())
        .output()
        .is_ok_and(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .any(names)
        })
}

/// Whether the pending-launch file `file` is the controller `rec`'s own or
/// belongs to no live process (a live launcher's file is left alone).
fn pending_is_reapable(file: &Path, rec: &Record) -> bool {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    match ProcId::parse(&text) {
        Some(p) => Some(p.pid) == rec.pid || !p.is_alive() || is_zombie(p.pid),
        None => true,
    }
}

/// Removes `controller_file` and its issue's pending-launch file when the
/// controller is stopped or no longer runs; `Ok(true)` when it did.
pub fn reap_file(state_root: &Path, controller_file: &Path) -> anyhow::Result<bool> {
    let Some(rec) = Record::load(controller_file)? else {
        return Ok(false);
    };
    if rec.state != "stopped" && rec.is_alive() {
        return Ok(false);
    }
    if is_plain_id(&rec.issue_id) {
        let pending = pending_file(state_root, &rec.issue_id);
        if pending.is_file() && pending_is_reapable(&pending, &rec) {
            acp_core::fsx::remove_file_if_exists(&pending)?;
        }
    }
    acp_core::fsx::remove_file_if_exists(controller_file)?;
    Ok(true)
}

/// Every `resident-workers/issues/*/controller.env`, in name order.
fn controller_files(state_root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let dir = resident_root(state_root).join("issues");
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("failed to read {}", dir.display())),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path().join("controller.env"))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// The reaper (`flow_resident_issue_reap_stale_state`): deletes the
/// `controller.env` of every controller that is stopped or no longer runs,
/// with its `pending-launches/issue-<id>.pid`; returns how many it reaped.
pub fn reap_stale_state(state_root: &Path) -> anyhow::Result<usize> {
    let mut reaped = 0;
    for file in controller_files(state_root)? {
        if reap_file(state_root, &file)? {
            reaped += 1;
        }
    }
    Ok(reaped)
}

/// How many controllers are `idle` with their process still there (a file
/// without a start-time token: the pid exists, as the original counted).
pub fn idle_count(state_root: &Path) -> anyhow::Result<usize> {
    let mut n = 0;
    for file in controller_files(state_root)? {
        let Some(rec) = Record::load(&file)? else {
            continue;
        };
        let alive = rec.pid.is_some_and(|pid| {
            ProcId {
                pid,
                start: rec.pid_start.clone(),
            }
            .is_alive()
        });
        if rec.state == "idle" && alive {
            n += 1;
        }
    }
    Ok(n)
}

/// A running controller found for a lane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveController {
    pub issue_id: String,
    pub pid: u32,
    pub state: String,
    /// Its start-time token (empty for the original's controllers).
    pub pid_start: String,
    pub file: PathBuf,
}

impl LiveController {
    /// The original's lines: `ISSUE_ID=`, `CONTROLLER_PID=`,
    /// `CONTROLLER_STATE=`, `CONTROLLER_FILE=`.
    pub fn lines(&self) -> String {
        format!(
            "ISSUE_ID={}\nCONTROLLER_PID={}\nCONTROLLER_STATE={}\nCONTROLLER_FILE={}\n",
            self.issue_id,
            self.pid,
            self.state,
            self.file.display()
        )
    }
}

/// The live controller working lane `worker_key`, other than the one with
/// pid `exclude_pid` (`flow_resident_live_issue_controller_for_key`).
/// Stopped and dead controllers met on the way are reaped.
pub fn live_controller_for_key(
    state_root: &Path,
    worker_key: &str,
    exclude_pid: Option<u32>,
) -> anyhow::Result<Option<LiveController>> {
    find_live_controller(state_root, worker_key, exclude_pid, true)
}

/// [`live_controller_for_key`]; with `reap` false it only reads: stopped
/// and dead controllers are passed over, left to the reaper.
pub fn find_live_controller(
    state_root: &Path,
    worker_key: &str,
    exclude_pid: Option<u32>,
    reap: bool,
) -> anyhow::Result<Option<LiveController>> {
    for file in controller_files(state_root)? {
        let Some(rec) = Record::load(&file)? else {
            continue;
        };
        let Some(pid) = rec.pid else {
            continue;
        };
        if Some(pid) == exclude_pid {
            continue;
        }
        if !rec.is_alive() || rec.state == "stopped" {
            if reap {
                reap_file(state_root, &file)?;
            }
            continue;
        }
        if rec.worker_key.is_empty() || rec.worker_key != worker_key {
            continue;
        }
        return Ok(Some(LiveController {
            issue_id: rec.issue_id,
            pid,
            state: rec.state,
            pid_start: rec.pid_start,
            file,
        }));
    }
    Ok(None)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
