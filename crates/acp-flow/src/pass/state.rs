//! The state files one pass reads and writes (spec 2): pending launches,
//! resident controller states, scheduled and blocked-recovery records, the
//! recurring rotation file, run directories' markers.

use std::path::{Path, PathBuf};

use acp_core::fsx;
use acp_core::procid::ProcId;
use anyhow::Result;

/// A `KEY=value` file's raw value of `key` (last occurrence, quotes
/// removed), read as data (never sourced).
pub fn kv_value(path: &Path, key: &str) -> Option<String> {
    let bytes = fsx::read_capped_if_exists(path, 1 << 20).ok()??;
    let text = String::from_utf8_lossy(&bytes);
    let v = acp_core::kv::last(&text, key)?;
    Some(v.replace(['"', '\''], ""))
}

/// An epoch field (0 when absent or not a number).
pub fn epoch_field(path: &Path, key: &str) -> i64 {
    kv_value(path, key)
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|e| *e >= 0)
        .unwrap_or(0)
}

/// Whether process `p` is running: same pid and start time, and not a
/// zombie (F16: `kill -0` also answers for zombies and recycled pids).
pub fn proc_alive(p: &ProcId) -> bool {
    if !p.is_alive() {
        return false;
    }
    let stat = Path::new("/proc").join(p.pid.to_string()).join("stat");
    match std::fs::read_to_string(&stat) {
        Ok(text) => text
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_none_or(|state| state != "Z" && state != "X"),
        Err(_) => true,
    }
}

/// The pending-launch files of one kind (`issue` or `pr`): id and path.
pub fn pending_files(dir: &Path, kind: &str) -> Vec<(String, PathBuf)> {
    let prefix = format!("{kind}-");
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in rd.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(id) = name
            .strip_prefix(&prefix)
            .and_then(|r| r.strip_suffix(".pid"))
            && !id.is_empty()
        {
            out.push((id.to_owned(), entry.path()));
        }
    }
    out.sort();
    out
}

/// The live process a pending file names, `None` when empty or dead.
pub fn pending_pid(path: &Path) -> Option<ProcId> {
    let bytes = fsx::read_capped_if_exists(path, 4096).ok()??;
    let p = ProcId::parse(&String::from_utf8_lossy(&bytes))?;
    proc_alive(&p).then_some(p)
}

/// A resident controller state that means "not working now" (spec 1.4.2).
pub fn controller_idle(state_root: &Path, issue: &str) -> bool {
    let file = state_root
        .join("resident-workers/issues")
        .join(issue)
        .join("controller.env");
    matches!(
        kv_value(&file, "CONTROLLER_STATE").as_deref(),
        Some("idle" | "sleeping" | "waiting-due" | "waiting-open-pr" | "waiting-provider")
    )
}

/// Whether `run_dir/reconciled.ok` belongs to the run in `run_dir/run.env`.
pub fn reconciled_marker_matches(run_dir: &Path) -> bool {
    let marker = kv_value(&run_dir.join("reconciled.ok"), "STARTED_AT");
    let run = kv_value(&run_dir.join("run.env"), "STARTED_AT");
    matches!((marker, run), (Some(m), Some(r)) if !m.is_empty() && m == r)
}

/// `RUNNER_STATE` of a session's runner.env says it waits for auth.
pub fn auth_waiting(runs_root: &Path, session: &str) -> bool {
    let f = runs_root.join(session).join("runner.env");
    matches!(
        kv_value(&f, "RUNNER_STATE").as_deref(),
        Some("waiting-auth-refresh" | "switching-account")
    )
}

/// Writes `scheduled-issues/<id>.env` after a scheduled launch: the next
/// due time is the previous one advanced by whole intervals past now, or
/// now + interval when there was none.
pub fn record_scheduled_launch(state_root: &Path, id: &str, interval: u64, now: i64) -> Result<()> {
    if interval == 0 {
        return Ok(());
    }
    let file = state_root
        .join("scheduled-issues")
        .join(format!("{id}.env"));
    let previous = epoch_field(&file, "NEXT_DUE_EPOCH");
    let step = interval as i64;
    let next = if previous <= 0 {
        now + step
    } else if previous > now {
        previous
    } else {
        previous + ((now - previous) / step + 1) * step
    };
    let iso = acp_core::time::epoch_to_utc_iso;
    let text = format!(
        "INTERVAL_SECONDS={interval}\nLAST_STARTED_EPOCH={now}\nLAST_STARTED_AT={}\n\
         NEXT_DUE_EPOCH={next}\nNEXT_DUE_AT={}\nUPDATED_AT={}\n",
        iso(now),
        iso(next),
        acp_core::time::now_utc_iso()
    );
    fsx::atomic_write(&file, text.as_bytes())
}

/// Writes `blocked-recovery-issues/<id>.env` after a blocked-recovery launch.
pub fn record_blocked_recovery_launch(
    state_root: &Path,
    id: &str,
    cooldown: u64,
    now: i64,
) -> Result<()> {
    let file = state_root
        .join("blocked-recovery-issues")
        .join(format!("{id}.env"));
    let iso = acp_core::time::epoch_to_utc_iso;
    let (next, next_at) = if cooldown > 0 {
        let n = now + cooldown as i64;
        (n, iso(n))
    } else {
        (0, String::new())
    };
    let text = format!(
        "LANE=blocked-recovery\nLAST_STARTED_EPOCH={now}\nLAST_STARTED_AT={}\n\
         NEXT_DUE_EPOCH={next}\nNEXT_DUE_AT={next_at}\nUPDATED_AT={}\n",
        iso(now),
        acp_core::time::now_utc_iso()
    );
    fsx::atomic_write(&file, text.as_bytes())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn scheduled_next_due_advances_by_whole_intervals() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("scheduled-issues")).unwrap();
        record_scheduled_launch(d.path(), "5", 100, 1000).unwrap();
        let f = d.path().join("scheduled-issues/5.env");
        assert_eq!(epoch_field(&f, "NEXT_DUE_EPOCH"), 1100);
        record_scheduled_launch(d.path(), "5", 100, 1350).unwrap();
        assert_eq!(epoch_field(&f, "NEXT_DUE_EPOCH"), 1400);
        record_scheduled_launch(d.path(), "5", 100, 1400).unwrap();
        assert_eq!(epoch_field(&f, "NEXT_DUE_EPOCH"), 1500);
    }

    #[test]
    fn zombies_and_recycled_pids_are_not_alive() {
        let me = ProcId::current();
        assert!(proc_alive(&me));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let rec = ProcId::of(pid);
        // wait until it is a zombie (exited, not reaped)
        for _ in 0..200 {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            if stat.contains(") Z") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        if let Some(rec) = rec {
            assert!(!proc_alive(&rec));
        }
        child.wait().unwrap();
        let other = ProcId {
            pid: me.pid,
            start: format!("{}-other", me.start),
        };
        assert!(!proc_alive(&other));
    }
}
