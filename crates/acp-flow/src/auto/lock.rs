//! The pass lock of `heartbeat-safe-auto.sh` (spec 1.2 step 7, F3).
//!
//! The original took a `mkdir` lock and removed it in an EXIT trap that was
//! installed before the lock was taken, so a run that found the lock held
//! removed the holder's lock on its way out. Here the lock is `flock(2)` on
//! the directory `STATE/heartbeat-loop.lock` itself: only the process that
//! holds it can release it, and the kernel releases it when that process
//! dies, however it dies. The holder's identity (pid and start time) is
//! written to `pid` inside the directory, only for the loser's
//! `LOCK_PID=` line; the lock itself never depends on that file.

use std::path::{Path, PathBuf};

use acp_core::fsx;
use acp_core::procid::ProcId;

/// The lock directory under the state root.
pub fn lock_dir(state_root: &Path) -> PathBuf {
    state_root.join("heartbeat-loop.lock")
}

/// A held pass lock; dropping it removes the holder record and releases
/// the lock (in that order, so a record never outlives its holder's lock).
#[derive(Debug)]
pub struct PassLock {
    pid_file: PathBuf,
    me: ProcId,
    _lock: fsx::Lock,
}

impl Drop for PassLock {
    fn drop(&mut self) {
        let ours = std::fs::read_to_string(&self.pid_file)
            .ok()
            .and_then(|t| ProcId::parse(&t))
            .is_some_and(|p| p == self.me);
        if ours {
            let _ = std::fs::remove_file(&self.pid_file);
        }
    }
}

/// The result of [`acquire`].
#[derive(Debug)]
pub enum Acquired {
    /// This process holds the lock now.
    Held(PassLock),
    /// Another process holds it; its pid as recorded ("" when the record
    /// is missing or unreadable).
    Busy { holder_pid: String },
}

/// Takes the pass lock without waiting. A lock whose holder died is free
/// (the kernel released it) and is simply taken; a stale `pid` record of
/// that holder is overwritten.
pub fn acquire(state_root: &Path) -> anyhow::Result<Acquired> {
    let dir = lock_dir(state_root);
    fsx::create_dir_all(&dir)?;
    let pid_file = dir.join("pid");
    match fsx::Lock::try_on(&dir)? {
        Some(lock) => {
            let me = ProcId::current();
            fsx::atomic_write(&pid_file, format!("{}\n", me.to_line()).as_bytes())?;
            Ok(Acquired::Held(PassLock {
                pid_file,
                me,
                _lock: lock,
            }))
        }
        None => Ok(Acquired::Busy {
            holder_pid: holder_pid(&pid_file).unwrap_or_default(),
        }),
    }
}

/// The pid recorded in a holder file.
fn holder_pid(pid_file: &Path) -> Option<String> {
    let text = fsx::read_capped(pid_file, 4096).ok()?;
    ProcId::parse(&String::from_utf8_lossy(&text)).map(|p| p.pid.to_string())
}

/// The live holder of the pass lock as recorded in its `pid` file, without
/// touching the lock (so a probe never makes a starting pass skip). A
/// record whose process is gone, or was replaced under the same pid, is
/// not a holder.
pub fn recorded_holder(state_root: &Path) -> Option<ProcId> {
    let text = fsx::read_capped(&lock_dir(state_root).join("pid"), 4096).ok()?;
    ProcId::parse(&String::from_utf8_lossy(&text)).filter(ProcId::is_alive)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn a_loser_never_releases_the_holders_lock() {
        let t = tempfile::tempdir().unwrap();
        let first = match acquire(t.path()).unwrap() {
            Acquired::Held(l) => l,
            Acquired::Busy { .. } => panic!("free lock not taken"),
        };
        for _ in 0..2 {
            match acquire(t.path()).unwrap() {
                Acquired::Busy { holder_pid } => {
                    assert_eq!(holder_pid, std::process::id().to_string());
                }
                Acquired::Held(_) => panic!("lock taken twice"),
            }
        }
        assert_eq!(recorded_holder(t.path()).unwrap(), ProcId::current());
        drop(first);
        assert!(!lock_dir(t.path()).join("pid").exists());
        assert!(matches!(acquire(t.path()).unwrap(), Acquired::Held(_)));
    }

    #[test]
    fn a_stale_record_is_no_holder_and_is_overwritten() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(lock_dir(t.path())).unwrap();
        std::fs::write(lock_dir(t.path()).join("pid"), "999999999 1\n").unwrap();
        assert!(recorded_holder(t.path()).is_none());
        let Acquired::Held(_l) = acquire(t.path()).unwrap() else {
            panic!("stale lock not taken over");
        };
        assert_eq!(recorded_holder(t.path()).unwrap(), ProcId::current());
    }
}
