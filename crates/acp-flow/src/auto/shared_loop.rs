//! The heartbeat loop this profile runs: `STATE/shared-heartbeat-loop.pid`
//! (the running loop's pid and start time) and `STATE/shared-heartbeat-loop.env`
//! (`STATE`, `STATUS`, `STARTED_AT`, `UPDATED_AT`; other keys kept).
//!
//! Spec F16: the original found loops by matching `ps` command lines (and
//! killed every `agent-project-heartbeat-loop` on the machine whose parent
//! was init, whoever had started it). Here only the loop recorded in this
//! state root's pid file is ever signalled, and only while its pid still
//! belongs to the same process (same start time).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use acp_core::procid::ProcId;
use acp_core::{fsx, process};

/// `STATE/shared-heartbeat-loop.pid`.
pub fn pid_file(state_root: &Path) -> PathBuf {
    state_root.join("shared-heartbeat-loop.pid")
}

/// `STATE/shared-heartbeat-loop.env`.
pub fn status_file(state_root: &Path) -> PathBuf {
    state_root.join("shared-heartbeat-loop.env")
}

/// The recorded loop when it is still running (same pid, same start time).
/// A record without a start time (the original's bare pid) cannot be
/// told apart from a recycled pid and is never reported.
pub fn recorded_live_loop(state_root: &Path) -> Option<ProcId> {
    let text = fsx::read_capped(&pid_file(state_root), 4096).ok()?;
    ProcId::parse(&String::from_utf8_lossy(&text)).filter(|p| !p.start.is_empty() && p.is_alive())
}

/// Clears the record of a loop that is not running any more; a loop that
/// is still running while the caller holds the pass lock lost its wrapper
/// (which holds the lock for the loop's whole run), so its process group
/// is ended (TERM, `grace`, KILL). Returns the pid of a loop it ended.
pub fn settle_recorded_loop(state_root: &Path, grace: Duration) -> anyhow::Result<Option<u32>> {
    let path = pid_file(state_root);
    if !path.exists() {
        return Ok(None);
    }
    let ended = match recorded_live_loop(state_root) {
        Some(orphan) => {
            end_group(&orphan, grace);
            Some(orphan.pid)
        }
        None => None,
    };
    fsx::remove_file_if_exists(&path)?;
    Ok(ended)
}

/// TERM to the group the recorded loop leads, KILL after `grace` if any
/// member is left. Checked against the start time first, so a pid the
/// kernel gave to someone else is never signalled.
fn end_group(loop_id: &ProcId, grace: Duration) {
    if !loop_id.is_alive() {
        return;
    }
    process::signal_group(loop_id.pid, libc::SIGTERM);
    let deadline = Instant::now() + grace;
    while process::group_alive(loop_id.pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    process::signal_group(loop_id.pid, libc::SIGKILL);
}

/// Rewrites the status file: keys other than `STATE`, `STATUS`,
/// `STARTED_AT` and `UPDATED_AT` are kept as they were, then `STATE=`,
/// `STATUS=` (when given), `STARTED_AT=` (when running) and `UPDATED_AT=`.
pub fn write_status(state_root: &Path, state: &str, status: Option<i32>) -> anyhow::Result<()> {
    let path = status_file(state_root);
    let _lock = fsx::Lock::beside(&path)?;
    let old = fsx::read_capped_if_exists(&path, 16 << 20)?.unwrap_or_default();
    let now = acp_core::time::now_utc_iso();
    let mut text = String::new();
    for line in String::from_utf8_lossy(&old).lines() {
        let key = line.split('=').next().unwrap_or_default();
        let ours =
            line.contains('=') && matches!(key, "STATE" | "STATUS" | "STARTED_AT" | "UPDATED_AT");
        if !ours {
            text.push_str(line);
            text.push('\n');
        }
    }
    text.push_str(&format!("STATE={state}\n"));
    if let Some(s) = status {
        text.push_str(&format!("STATUS={s}\n"));
    }
    if state == "running" {
        text.push_str(&format!("STARTED_AT={now}\n"));
    }
    text.push_str(&format!("UPDATED_AT={now}\n"));
    fsx::atomic_write(&path, text.as_bytes())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn status_keeps_foreign_keys() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(status_file(t.path()), "OWNER=x\nSTATE=idle\nSTATUS=3\n").unwrap();
        write_status(t.path(), "running", None).unwrap();
        let text = std::fs::read_to_string(status_file(t.path())).unwrap();
        assert!(text.starts_with("OWNER=x\nSTATE=running\nSTARTED_AT="));
        assert!(!text.contains("STATUS="));
        write_status(t.path(), "idle", Some(1)).unwrap();
        let text = std::fs::read_to_string(status_file(t.path())).unwrap();
        assert!(text.contains("STATE=idle\nSTATUS=1\nUPDATED_AT="));
        assert!(!text.contains("STARTED_AT"));
    }

    #[test]
    fn a_bare_or_dead_record_is_dropped_without_signalling() {
        let t = tempfile::tempdir().unwrap();
        let mut sleeper = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        std::fs::write(pid_file(t.path()), format!("{}\n", sleeper.id())).unwrap();
        assert_eq!(
            settle_recorded_loop(t.path(), Duration::from_millis(10)).unwrap(),
            None
        );
        assert!(!pid_file(t.path()).exists());
        assert!(
            sleeper.try_wait().unwrap().is_none(),
            "a foreign pid was signalled"
        );
        std::fs::write(pid_file(t.path()), "999999999 5\n").unwrap();
        assert_eq!(
            settle_recorded_loop(t.path(), Duration::from_millis(10)).unwrap(),
            None
        );
        sleeper.kill().unwrap();
        sleeper.wait().unwrap();
    }

    #[test]
    fn a_recorded_orphan_group_is_ended() {
        use std::os::unix::process::CommandExt;
        let t = tempfile::tempdir().unwrap();
        let mut orphan = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let id = ProcId::of(orphan.id()).unwrap();
        std::fs::write(pid_file(t.path()), id.to_line()).unwrap();
        assert_eq!(
            settle_recorded_loop(t.path(), Duration::from_millis(300)).unwrap(),
            Some(orphan.id())
        );
        assert!(orphan.wait().unwrap().code().is_none());
    }
}
