//! The session's metadata: its run.env (read as data, never sourced), found
//! through worker-status or, once the run was archived, in the newest
//! archived run dir of the session.

use std::path::{Path, PathBuf};

use acp_core::envfile::{EnvFile, Mode};

/// What publishing needs from a run.env.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunMeta {
    /// The file read.
    pub file: PathBuf,
    /// Its directory (the run dir: `pr-body.md`, `verification.jsonl`).
    pub run_dir: PathBuf,
    pub issue_id: String,
    pub branch: String,
    pub worktree: String,
    pub final_head: String,
    pub issue_url: String,
    /// Read from an archived run (`<history>/<session>-<stamp>/run.env`).
    pub archived: bool,
}

impl RunMeta {
    /// Reads `file`. Values are taken as the text after `=` (quoted
    /// values unquoted); lines bash would run are kept as plain text.
    pub fn load(file: &Path, archived: bool) -> anyhow::Result<Self> {
        let env = EnvFile::load_with(file, Mode::Lenient).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Self {
            file: file.to_path_buf(),
            run_dir: acp_core::fsx::parent_dir(file),
            issue_id: env.get_or_empty("ISSUE_ID"),
            branch: env.get_or_empty("BRANCH"),
            worktree: env.get_or_empty("WORKTREE"),
            final_head: env.get_or_empty("FINAL_HEAD"),
            issue_url: env.get_or_empty("ISSUE_URL"),
            archived,
        })
    }
}

/// The newest archived run dir of `session` under `history_root`:
/// `<session>-*` directories except `<session>-stale-*`, the last by byte
/// order of their names.
pub fn archived_run_dir(history_root: &Path, session: &str) -> Option<PathBuf> {
    if session.is_empty() {
        return None;
    }
    let prefix = format!("{session}-");
    let stale = format!("{session}-stale-");
    let mut best: Option<(Vec<u8>, PathBuf)> = None;
    for entry in std::fs::read_dir(history_root).ok()?.flatten() {
        let name = entry.file_name();
        let bytes = std::os::unix::ffi::OsStrExt::as_bytes(name.as_os_str()).to_vec();
        if !bytes.starts_with(prefix.as_bytes()) || bytes.starts_with(stale.as_bytes()) {
            continue;
        }
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if best.as_ref().is_none_or(|(b, _)| bytes > *b) {
            best = Some((bytes, entry.path()));
        }
    }
    best.map(|(_, p)| p)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_archived_run_that_is_not_stale_is_chosen() {
        let d = tempfile::tempdir().unwrap();
        for n in [
            "s-1-20260101-000000",
            "s-1-20260301-000000",
            "s-1-stale-20261231-000000",
            "s-10-20270101-000000",
        ] {
            std::fs::create_dir(d.path().join(n)).unwrap();
        }
        std::fs::write(d.path().join("s-1-20991231-file"), "").unwrap();
        let got = archived_run_dir(d.path(), "s-1").unwrap();
        assert!(got.ends_with("s-1-20260301-000000"), "{got:?}");
        assert!(archived_run_dir(d.path(), "nope").is_none());
    }

    #[test]
    fn run_env_is_read_as_data() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("run.env");
        std::fs::write(
            &f,
            "ISSUE_ID=7\nBRANCH='agent/x-7'\nWORKTREE=$(touch pwned)\nFINAL_HEAD=abc\n",
        )
        .unwrap();
        let m = RunMeta::load(&f, false).unwrap();
        assert_eq!((m.issue_id.as_str(), m.branch.as_str()), ("7", "agent/x-7"));
        assert_eq!(m.worktree, "$(touch pwned)");
        assert_eq!(m.run_dir, d.path());
        assert!(!d.path().join("pwned").exists());
    }
}
