//! The few resident-lane facts the policy routes by: live controllers and
//! their lanes, idle controllers, the issue queue, pending launches.
//!
//! LEAD-MERGE: replace with acp_session::resident::{queue, controller}
//! (`queue::enqueue`, `queue::count`, `controller::live_for_key`,
//! `controller::idle_count`) once the resident helper's versions land;
//! this private copy reads and writes the same files (spec 2).

use std::path::{Path, PathBuf};

use acp_core::fsx;
use acp_core::procid::ProcId;
use anyhow::Result;

/// One `resident-workers/issues/*/controller.env`.
#[derive(Debug, Clone, Default)]
pub struct Controller {
    pub file: PathBuf,
    pub issue_id: String,
    pub pid: Option<ProcId>,
    pub state: String,
    pub worker_key: String,
}

/// A KV value as the controller writes it (`%q` quoting of plain words is
/// at most surrounding quotes).
fn kv(text: &str, key: &str) -> String {
    acp_core::kv::last(text, key)
        .unwrap_or("")
        .trim()
        .trim_matches(['"', '\''])
        .to_string()
}

/// Every controller file under `state_root`.
pub fn controllers(state_root: &Path) -> Vec<Controller> {
    let dir = acp_session::resident::lane::resident_root(state_root).join("issues");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let file = e.path().join("controller.env");
        let Ok(bytes) = fsx::read_capped(&file, 1 << 20) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        out.push(Controller {
            issue_id: kv(&text, "ISSUE_ID"),
            pid: ProcId::parse(&kv(&text, "CONTROLLER_PID")),
            state: kv(&text, "CONTROLLER_STATE"),
            worker_key: kv(&text, "ACTIVE_RESIDENT_WORKER_KEY"),
            file,
        });
    }
    out.sort_by(|a, b| a.file.cmp(&b.file));
    out
}

/// The command line of `pid` ("" when unknown).
fn command_line(pid: u32) -> String {
    if let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) {
        return String::from_utf8_lossy(&raw).replace('\0', " ");
    }
    std::process::Command::new("ps")
        .args(["-p", &pid.to_string(), "-o", "command="])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Whether a controller's process is a live resident loop: its recorded
/// start time still matches, or, for a bare pid (the original's files), the
/// process exists and runs `start-resident-issue-loop`.
pub fn controller_live(c: &Controller) -> bool {
    let Some(pid) = &c.pid else {
        return false;
    };
    if !pid.is_alive() {
        return false;
    }
    !pid.start.is_empty() || command_line(pid.pid).contains("start-resident-issue-loop")
}

/// The live controller (not stopped) of lane `key`. Read-only: stale
/// files are the pass's reaper's (`controller::reap_stale_state`).
pub fn live_controller_for_key(state_root: &Path, key: &str) -> Option<Controller> {
    controllers(state_root)
        .into_iter()
        .find(|c| c.worker_key == key && c.state != "stopped" && controller_live(c))
}

/// Idle controllers whose process exists (as the original counts them).
pub fn idle_controller_count(state_root: &Path) -> usize {
    controllers(state_root)
        .iter()
        .filter(|c| c.state == "idle" && c.pid.as_ref().is_some_and(ProcId::is_alive))
        .count()
}

fn queue_root(state_root: &Path) -> PathBuf {
    acp_session::resident::lane::resident_root(state_root).join("issue-queue")
}

/// Queued issues (`issue-queue/pending/issue-*.env`).
pub fn queue_count(state_root: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(queue_root(state_root).join("pending")) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with("issue-") && n.ends_with(".env") && e.path().is_file()
        })
        .count()
}

/// Issue ids queued for a resident controller or claimed by one
/// (`issue-queue/pending/issue-<id>.env`, `issue-queue/claims/issue-<id>.*`).
pub fn queued_issue_ids(state_root: &Path) -> std::collections::BTreeSet<String> {
    let root = queue_root(state_root);
    let mut ids = std::collections::BTreeSet::new();
    for (dir, pending) in [(root.join("pending"), true), (root.join("claims"), false)] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix("issue-") else {
                continue;
            };
            let id = if pending {
                rest.strip_suffix(".env")
            } else {
                rest.split('.').next()
            };
            if let Some(id) = id.filter(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()))
            {
                ids.insert(id.to_string());
            }
        }
    }
    ids
}

/// What [`enqueue`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    Enqueued,
    /// Already queued or claimed.
    Exists,
}

/// Queues issue `id` for a resident controller (`QUEUED_BY=by`), unless it
/// is queued or claimed already.
pub fn enqueue(state_root: &Path, id: &str, by: &str) -> Result<Queued> {
    let root = queue_root(state_root);
    let (pending, claims) = (root.join("pending"), root.join("claims"));
    fsx::create_dir_all(&pending)?;
    fsx::create_dir_all(&claims)?;
    let file = pending.join(format!("issue-{id}.env"));
    let _lock = fsx::Lock::beside(&file)?;
    let claimed = std::fs::read_dir(&claims).is_ok_and(|mut es| {
        es.any(|e| {
            e.is_ok_and(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(&format!("issue-{id}."))
            })
        })
    });
    if file.is_file() || claimed {
        return Ok(Queued::Exists);
    }
    let text = format!(
        "ISSUE_ID={id}\nQUEUED_BY={by}\nQUEUED_AT={}\n",
        acp_core::time::now_utc_iso()
    );
    fsx::atomic_write(&file, text.as_bytes())?;
    Ok(Queued::Enqueued)
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
        let file = t
            .path()
            .join("resident-workers/issue-queue/pending/issue-7.env");
        let text = std::fs::read_to_string(file).unwrap();
        assert!(text.starts_with("ISSUE_ID=7\nQUEUED_BY=heartbeat\nQUEUED_AT="));
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
                "ISSUE_ID=5\nCONTROLLER_PID='{}'\nCONTROLLER_STATE=idle\nACTIVE_RESIDENT_WORKER_KEY=k\n",
                me.to_line()
            ),
        )
        .unwrap();
        assert_eq!(
            live_controller_for_key(t.path(), "k").unwrap().issue_id,
            "5"
        );
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
