//! The session-state progress signal.
//!
//! openclaw's `agent --local --json` prints little until it finishes, but it
//! keeps writing its session index (`sessions.json`) and transcripts
//! (`*.jsonl`) under `<state dir>/agents/<id>/sessions`, and the agent writes
//! its artifacts into the sandbox run dir. A change in any of those files
//! (path, modification time or size) counts as progress, so a long silent
//! turn that is still working is not mistaken for a stall.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A comparable snapshot of the watched files.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Signature(Vec<(PathBuf, i128, u64)>);

impl Signature {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What to watch.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The sandbox run dir (regular files directly inside it).
    pub sandbox_run_dir: PathBuf,
    /// `<state dir>/agents/<id>/sessions` (`sessions.json` and `*.jsonl`).
    pub sessions_dir: PathBuf,
    /// Files written by the supervisor itself (runner.env, the log); they and
    /// their `<name>.tmp.*` siblings never count as progress.
    pub host_managed: Vec<PathBuf>,
}

impl Probe {
    pub fn new(sandbox_run_dir: &Path, sessions_dir: &Path, host_managed: &[&Path]) -> Self {
        Self {
            sandbox_run_dir: sandbox_run_dir.to_path_buf(),
            sessions_dir: sessions_dir.to_path_buf(),
            host_managed: host_managed
                .iter()
                .map(|p| acp_core::fsx::canonical_or_given(p))
                .collect(),
        }
    }

    fn host_managed(&self, real: &Path) -> bool {
        self.host_managed.iter().any(|m| {
            if real == m {
                return true;
            }
            let (Some(rd), Some(md)) = (real.parent(), m.parent()) else {
                return false;
            };
            if rd != md {
                return false;
            }
            let (Some(rn), Some(mn)) = (real.file_name(), m.file_name()) else {
                return false;
            };
            let rn = rn.to_string_lossy();
            let mn = mn.to_string_lossy();
            rn.starts_with(&format!("{mn}.tmp.")) || rn.starts_with(&format!(".{mn}.tmp."))
        })
    }

    fn add(&self, path: &Path, out: &mut Vec<(PathBuf, i128, u64)>) {
        let Ok(meta) = std::fs::metadata(path) else {
            return;
        };
        if !meta.is_file() {
            return;
        }
        let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if self.host_managed(&real) {
            return;
        }
        let mtime_ns = i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec());
        out.push((real, mtime_ns, meta.size()));
    }

    /// The current signature (missing directories contribute nothing).
    pub fn signature(&self) -> Signature {
        let mut entries = Vec::new();
        if let Ok(rd) = std::fs::read_dir(&self.sandbox_run_dir) {
            for e in rd.flatten() {
                self.add(&e.path(), &mut entries);
            }
        }
        self.add(&self.sessions_dir.join("sessions.json"), &mut entries);
        if let Ok(rd) = std::fs::read_dir(&self.sessions_dir) {
            for e in rd.flatten() {
                let name = e.file_name();
                if name.to_string_lossy().ends_with(".jsonl") {
                    self.add(&e.path(), &mut entries);
                }
            }
        }
        entries.sort();
        entries.dedup();
        Signature(entries)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn signature_changes_with_watched_files_only() {
        let t = tempfile::tempdir().unwrap();
        let sandbox = t.path().join("sandbox");
        let sessions = t.path().join("state/agents/a/sessions");
        let host = t.path().join("host");
        std::fs::create_dir_all(&sandbox).unwrap();
        std::fs::create_dir_all(&host).unwrap();
        let runner = host.join("runner.env");
        let probe = Probe::new(&sandbox, &sessions, &[&runner]);
        let empty = probe.signature();
        assert!(empty.is_empty());

        std::fs::create_dir_all(&sessions).unwrap();
        std::fs::write(sessions.join("notes.txt"), "x").unwrap();
        std::fs::write(sessions.join("x.jsonl.lock"), "x").unwrap();
        assert_eq!(probe.signature(), empty, "other session files are ignored");

        std::fs::write(sessions.join("s.jsonl"), "{}\n").unwrap();
        let one = probe.signature();
        assert_eq!(one.len(), 1);
        std::fs::write(sessions.join("s.jsonl"), "{}\n{}\n").unwrap();
        let grown = probe.signature();
        assert_ne!(grown, one, "growth is progress");

        std::fs::write(sessions.join("sessions.json"), "{}").unwrap();
        std::fs::write(sandbox.join("result.env"), "OUTCOME=x\n").unwrap();
        std::fs::create_dir_all(sandbox.join("subdir")).unwrap();
        assert_eq!(probe.signature().len(), 3, "directories are not files");
    }

    #[test]
    fn supervisor_files_never_count() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("run");
        std::fs::create_dir_all(&dir).unwrap();
        let runner = dir.join("runner.env");
        let log = dir.join("s.log");
        let probe = Probe::new(&dir, &dir.join("none"), &[&runner, &log]);
        std::fs::write(&runner, "RUNNER_STATE=running\n").unwrap();
        std::fs::write(&log, "line\n").unwrap();
        std::fs::write(dir.join("runner.env.tmp.123"), "x").unwrap();
        std::fs::write(dir.join(".runner.env.tmp.abc"), "x").unwrap();
        assert!(probe.signature().is_empty());
        std::fs::write(dir.join("verification.jsonl"), "{}").unwrap();
        assert_eq!(probe.signature().len(), 1);
    }
}
