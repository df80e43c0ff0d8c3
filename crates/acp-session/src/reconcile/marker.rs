//! `reconciled.ok` and the per-session reconcile lock.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use acp_core::fsx;

/// The marker file a finished reconcile leaves in the run dir.
pub const RECONCILED_FILE: &str = "reconciled.ok";

/// Writes `<run_dir>/reconciled.ok` (`STARTED_AT=` the run's start,
/// `RECONCILED_AT=` now) atomically. Returns `false` without writing when
/// the run dir is gone (the cleanup archived it), as the original did.
pub fn mark_reconciled(run_dir: &Path, started_at: &str) -> anyhow::Result<bool> {
    if !run_dir.is_dir() {
        return Ok(false);
    }
    let text = format!(
        "STARTED_AT={started_at}\nRECONCILED_AT={}\n",
        acp_core::time::now_utc_iso()
    );
    fsx::atomic_write(&run_dir.join(RECONCILED_FILE), text.as_bytes())?;
    Ok(true)
}

/// Whether `<run_dir>/reconciled.ok` was written at or after `since`:
/// another reconcile finished this run while this one waited for the lock.
pub fn reconciled_since(run_dir: &Path, since: SystemTime) -> bool {
    std::fs::metadata(run_dir.join(RECONCILED_FILE))
        .and_then(|m| m.modified())
        .is_ok_and(|t| t >= since)
}

/// Whether archived run dir `dir` was moved into the history at or after
/// `since` (its inode change time): the cleanup of another reconcile of
/// this session archived it while this one waited for the lock.
pub fn archived_since(dir: &Path, since: SystemTime) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return false;
    };
    let (secs, nanos) = (meta.ctime(), meta.ctime_nsec());
    let (Ok(secs), Ok(nanos)) = (u64::try_from(secs), u32::try_from(nanos)) else {
        return false;
    };
    SystemTime::UNIX_EPOCH + std::time::Duration::new(secs, nanos) >= since
}

/// The exclusive reconcile lock of one session, held until dropped.
#[derive(Debug)]
pub struct SessionLock {
    _lock: fsx::Lock,
    /// When this process started waiting for it.
    pub requested_at: SystemTime,
    pub path: PathBuf,
}

/// Waits for the reconcile lock of `session`: `.<session>.reconcile.lock`
/// in `runs_root` (outside the run dir, which the cleanup moves away).
/// Two reconciles of one session never run their effects at once.
pub fn lock_session(runs_root: &Path, session: &str) -> anyhow::Result<SessionLock> {
    let requested_at = SystemTime::now();
    let target = runs_root.join(format!("{session}.reconcile"));
    let lock = fsx::Lock::beside(&target)?;
    Ok(SessionLock {
        _lock: lock,
        requested_at,
        path: runs_root.join(format!(".{session}.reconcile.lock")),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_is_written_only_into_a_run_dir_that_exists() {
        let d = tempfile::tempdir().unwrap();
        let before = SystemTime::now() - std::time::Duration::from_secs(2);
        assert!(mark_reconciled(d.path(), "2026-01-01T00:00:00Z").unwrap());
        let text = std::fs::read_to_string(d.path().join(RECONCILED_FILE)).unwrap();
        assert!(text.starts_with("STARTED_AT=2026-01-01T00:00:00Z\nRECONCILED_AT="));
        assert!(reconciled_since(d.path(), before));
        assert!(!mark_reconciled(&d.path().join("gone"), "x").unwrap());
        let lock = lock_session(d.path(), "s-1").unwrap();
        assert!(lock.path.exists());
        drop(lock);
    }
}
