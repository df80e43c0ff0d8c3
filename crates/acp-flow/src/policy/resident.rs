//! The few resident-lane facts the policy routes by: live controllers and
//! their lanes, idle controllers, the issue queue (all read and written by
//! `acp_session::resident::{controller, queue}`), and the policy's own
//! pending-launch files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use acp_core::fsx;
use acp_core::procid::ProcId;
use acp_session::resident::{controller, queue};
use anyhow::Result;

/// What [`enqueue`] did.
pub use acp_session::resident::queue::Enqueued as Queued;

/// The live controller of a lane.
#[derive(Debug, Clone, Default)]
pub struct Controller {
    pub file: PathBuf,
    pub issue_id: String,
    pub pid: Option<ProcId>,
    pub state: String,
}

/// The live controller (not stopped) of lane `key`. Read-only: stale
/// files are the pass's reaper's (`controller::reap_stale_state`).
pub fn live_controller_for_key(state_root: &Path, key: &str) -> Option<Controller> {
    let c = controller::find_live_controller(state_root, key, None, false).ok()??;
    Some(Controller {
        pid: Some(ProcId {
            pid: c.pid,
            start: c.pid_start,
        }),
        file: c.file,
        issue_id: c.issue_id,
        state: c.state,
    })
}

/// Idle controllers whose process exists (as the original counts them).
pub fn idle_controller_count(state_root: &Path) -> usize {
    controller::idle_count(state_root).unwrap_or(0)
}

/// Queued issues (`issue-queue/pending/issue-*.env`).
pub fn queue_count(state_root: &Path) -> usize {
    queue::count(state_root).unwrap_or(0)
}

/// Issue ids queued for a resident controller or claimed by one.
pub fn queued_issue_ids(state_root: &Path) -> BTreeSet<String> {
    queue::queued_ids(state_root).unwrap_or_default()
}

/// Queues issue `id` for a resident controller (`QUEUED_BY=by`), unless it
/// is queued or claimed already.
pub fn enqueue(state_root: &Path, id: &str, by: &str) -> Result<Queued> {
    queue::enqueue(state_root, id, by)
}

/// The live pending-launch process of `issue-<id>` (pid or pid + start).
pub fn pending_issue_launch(pending_dir: &Path, id: &str) -> Option<ProcId> {
    let file = pending_dir.join(format!("issue-{id}.pid"));
    let text = fsx::read_capped(&file, 4096).ok()?;
    let pid = ProcId::parse(&String::from_utf8_lossy(&text))?;
    pid.is_alive().then_some(pid)
}

/// Issue ids with a pending-launch file, in name order; files of dead
/// launches are removed on the way (as the original).
pub fn pending_issue_ids(pending_dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(pending_dir) else {
        return Vec::new();
    };
    let mut ids: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            Some(n.strip_prefix("issue-")?.strip_suffix(".pid")?.to_string())
        })
        .filter(|id| !id.is_empty())
        .collect();
    ids.sort();
    ids.retain(|id| {
        let live = pending_issue_launch(pending_dir, id).is_some();
        if !live {
            let _ = std::fs::remove_file(pending_dir.join(format!("issue-{id}.pid")));
        }
        live
    });
    ids
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn enqueue_once_and_count() {
        let t = tempfile::tempdir().unwrap();
        assert_eq!(
            enqueue(t.path(), "7", "heartbeat").unwrap(),
            Queued::Enqueued
        );
        assert_eq!(enqueue(t.path(), "7", "heartbeat").unwrap(), Queued::Exists);
        assert_eq!(queue_count(t.path()), 1);
        let claims = t.path().join("resident-workers/issue-queue/claims");
        std::fs::write(claims.join("issue-8.x.1"), "").unwrap();
        assert_eq!(enqueue(t.path(), "8", "heartbeat").unwrap(), Queued::Exists);
        let queued: Vec<String> = queued_issue_ids(t.path()).into_iter().collect();
        assert_eq!(queued, ["7", "8"]);
    }

    #[test]
    fn controllers_are_live_by_start_time_and_dead_pending_files_go() {
        let t = tempfile::tempdir().unwrap();
        let me = ProcId::current();
        let dir = t.path().join("resident-workers/issues/5");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("controller.env"),
            format!(
                "ISSUE_ID=5\nCONTROLLER_PID={}\nCONTROLLER_PID_START='{}'\nCONTROLLER_STATE=idle\nACTIVE_RESIDENT_WORKER_KEY=k\n",
                me.pid, me.start
            ),
        )
        .unwrap();
        let live = live_controller_for_key(t.path(), "k").unwrap();
        assert_eq!((live.issue_id.as_str(), live.pid), ("5", Some(me.clone())));
        assert!(live_controller_for_key(t.path(), "other").is_none());
        assert_eq!(idle_controller_count(t.path()), 1);
        let pending = t.path().join("pending");
        std::fs::create_dir_all(&pending).unwrap();
        std::fs::write(pending.join("issue-1.pid"), me.to_line()).unwrap();
        std::fs::write(pending.join("issue-2.pid"), "999999999\n").unwrap();
        assert_eq!(pending_issue_ids(&pending), ["1"]);
        assert!(!pending.join("issue-2.pid").exists());
    }
}
