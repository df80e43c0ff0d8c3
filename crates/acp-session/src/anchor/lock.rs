//! The anchor's sync lock: an advisory `flock` on `.<anchor name>.sync.lock`
//! beside the anchor, waited for up to a bound.
//!
//! The original used a `mkdir` lock with a pid file that its waiters deleted
//! when the pid file was not written yet (two syncs could then run at once).
//! A kernel lock is released when its holder dies, so there is nothing
//! stale to steal; the file is removed by the holder on release.

use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A held sync lock; released (and its file removed) when dropped.
#[derive(Debug)]
pub struct SyncLock {
    path: PathBuf,
    _file: std::fs::File,
}

impl Drop for SyncLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The lock file of an anchor: `<parent>/.<name>.sync.lock`.
pub fn lock_path(anchor_root: &Path) -> PathBuf {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let name = anchor_root
        .file_name()
        .map(|n| n.as_bytes())
        .unwrap_or(b"anchor");
    let file = std::ffi::OsString::from_vec([b".", name, b".sync.lock"].concat());
    acp_core::fsx::parent_dir(anchor_root).join(file)
}

fn open(path: &Path) -> std::io::Result<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .mode(0o666)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    Ok(file)
}

/// Takes the sync lock of `anchor_root`, waiting up to `wait`. `Ok(None)`
/// when someone else still holds it after that.
pub fn acquire(anchor_root: &Path, wait: Duration) -> anyhow::Result<Option<SyncLock>> {
    let path = lock_path(anchor_root);
    let named = |e: std::io::Error| anyhow::anyhow!("failed to lock {}: {e}", path.display());
    let deadline = Instant::now() + wait;
    loop {
        let file = open(&path).map_err(named)?;
        match file.try_lock() {
            Ok(()) => {
                // Valid only on the file still in place (a releasing holder
                // removes it).
                let held = file.metadata().map_err(named)?;
                match std::fs::symlink_metadata(&path) {
                    Ok(now) if (now.dev(), now.ino()) == (held.dev(), held.ino()) => {
                        return Ok(Some(SyncLock { path, _file: file }));
                    }
                    _ => continue,
                }
            }
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => return Err(named(e)),
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_times_out_and_release_removes_the_file() {
        let t = tempfile::tempdir().unwrap();
        let anchor = t.path().join("my anchor");
        let first = acquire(&anchor, Duration::ZERO).unwrap().unwrap();
        assert!(t.path().join(".my anchor.sync.lock").is_file());
        assert!(
            acquire(&anchor, Duration::from_millis(300))
                .unwrap()
                .is_none()
        );
        drop(first);
        assert!(!t.path().join(".my anchor.sync.lock").exists());
        assert!(acquire(&anchor, Duration::ZERO).unwrap().is_some());
    }
}
