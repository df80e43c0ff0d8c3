//! What a worktree directory holds: uncommitted work, a broken
//! registration, generated leftovers; and resident metadata that points at
//! worktrees that are gone.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use acp_core::envfile::{self, EnvFile, Mode};
use acp_core::shellquote::QuoteLocale;
use acp_core::{Env, git};

use super::owner::resident_metadata_files;

/// Generated entries that are not work: dependency links and the sandbox
/// artifact directory.
pub const GENERATED: &[&str] = &[".openclaw-artifacts", "node_modules"];

/// Whether a `git status --porcelain -z` entry is generated, not work:
/// untracked `node_modules` anywhere, untracked `.openclaw-artifacts` at the top.
fn generated_entry(status: &[u8], path: &[u8]) -> bool {
    if status != b"??" {
        return false;
    }
    let path = path.strip_suffix(b"/").unwrap_or(path);
    path == b"node_modules"
        || path.ends_with(b"/node_modules")
        || path == b".openclaw-artifacts"
        || path.starts_with(b".openclaw-artifacts/")
}

/// The uncommitted entries of a work tree that are work (generated entries
/// left out), as `XY path` byte strings; None when `dir` is not a work tree
/// or git fails.
pub fn uncommitted_work(env: &Env, dir: &Path) -> Option<Vec<Vec<u8>>> {
    status_entries(env, dir, true)
}

/// `git status --porcelain -z --untracked-files=normal` entries of `dir` as
/// `XY path` (a rename's source dropped), generated entries left out when
/// `skip_generated`; None when `dir` is not a work tree or git fails.
pub fn status_entries(env: &Env, dir: &Path, skip_generated: bool) -> Option<Vec<Vec<u8>>> {
    if !git::is_work_tree(env, dir) {
        return None;
    }
    let out = git::output(
        env,
        dir,
        ["status", "--porcelain", "-z", "--untracked-files=normal"],
    )
    .ok()?;
    if !out.status.success() {
        return None;
    }
    let mut entries = Vec::new();
    let mut fields = out.stdout.split(|b| *b == 0).filter(|f| !f.is_empty());
    while let Some(f) = fields.next() {
        if f.len() < 4 {
            continue;
        }
        let (status, path) = (&f[..2], &f[3..]);
        if status.contains(&b'R') || status.contains(&b'C') {
            // A rename's source follows as its own field.
            fields.next();
        }
        if !(skip_generated && generated_entry(status, path)) {
            entries.push(f.to_vec());
        }
    }
    Some(entries)
}

/// Whether `dir` holds uncommitted work (see [`uncommitted_work`]); false
/// when it is not a work tree.
pub fn effectively_dirty(env: &Env, dir: &Path) -> bool {
    uncommitted_work(env, dir).is_some_and(|e| !e.is_empty())
}

/// Whether a registered worktree is broken: its directory is gone or git
/// does not see a work tree there (its `.git` or its admin directory is gone).
pub fn is_broken(env: &Env, dir: &Path) -> bool {
    !dir.is_dir() || !git::is_work_tree(env, dir)
}

/// A directory that is no work tree and holds only generated entries (at
/// least one).
pub fn artifact_only(env: &Env, dir: &Path) -> bool {
    if !dir.is_dir() || git::is_work_tree(env, dir) {
        return false;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return false;
    };
    let mut count = 0;
    for entry in rd {
        let Ok(entry) = entry else { return false };
        if !GENERATED.iter().any(|g| entry.file_name() == OsStr::new(g)) {
            return false;
        }
        count += 1;
    }
    count > 0
}

/// Deletes the generated entries of a worktree before it is removed (so
/// git does not walk them): `.openclaw-artifacts`, `node_modules`, and
/// `node_modules` of every `apps/*` and `packages/*`. Links are removed,
/// never followed. Err names the first path that could not be removed.
pub fn remove_generated(dir: &Path) -> anyhow::Result<()> {
    let mut targets = vec![dir.join(".openclaw-artifacts"), dir.join("node_modules")];
    for group in ["apps", "packages"] {
        let Ok(rd) = std::fs::read_dir(dir.join(group)) else {
            continue;
        };
        let mut found: Vec<PathBuf> = rd
            .filter_map(Result::ok)
            .map(|e| e.path().join("node_modules"))
            .collect();
        found.sort();
        targets.extend(found);
    }
    for t in targets {
        remove_entry(&t)?;
    }
    Ok(())
}

/// Removes a file, a link or a directory tree; nothing when absent.
pub fn remove_entry(path: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    let Ok(md) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    let r = if md.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    r.with_context(|| format!("failed to remove {}", path.display()))
}

/// Sets `WORKTREE_REALPATH=''` in every resident metadata.env whose
/// recorded path is not a directory any more; returns the files changed.
pub fn clear_stale_resident_realpaths(
    state_root: Option<&Path>,
    locale: QuoteLocale,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut cleared = Vec::new();
    for meta in resident_metadata_files(state_root) {
        let Ok(f) = EnvFile::load_with(&meta, Mode::Lenient) else {
            continue;
        };
        let recorded = f.get_or_empty("WORKTREE_REALPATH");
        if recorded.is_empty() || Path::new(&recorded).is_dir() {
            continue;
        }
        envfile::set(&meta, "WORKTREE_REALPATH", OsStr::new(""), locale)?;
        cleared.push(meta);
    }
    Ok(cleared)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_entries() {
        assert!(generated_entry(b"??", b"node_modules"));
        assert!(generated_entry(b"??", b"node_modules/"));
        assert!(generated_entry(b"??", b"apps/web/node_modules"));
        assert!(generated_entry(b"??", b".openclaw-artifacts/"));
        assert!(generated_entry(b"??", b".openclaw-artifacts/x.log"));
        assert!(!generated_entry(b" M", b"node_modules"));
        assert!(!generated_entry(b"??", b"src/x.rs"));
        assert!(!generated_entry(b"??", b"node_modules_x"));
    }
}
