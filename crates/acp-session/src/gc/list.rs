//! Registered worktrees, read from `git worktree list --porcelain -z`.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use acp_core::{Env, git};
use anyhow::bail;

/// One registered worktree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Worktree {
    /// As git records it (absolute).
    pub path: PathBuf,
    /// The commit checked out ("" when git did not say).
    pub head: String,
    /// `refs/heads/<branch>`, or `None` when detached (or bare).
    pub branch_ref: Option<String>,
    /// The repository's own entry is bare.
    pub bare: bool,
    /// `Some(reason)` when locked (the reason may be empty).
    pub locked: Option<String>,
    /// `Some(reason)` when git calls it prunable (its directory is gone).
    pub prunable: Option<String>,
}

impl Worktree {
    /// The branch name (`refs/heads/` removed), when on a branch.
    pub fn branch(&self) -> Option<&str> {
        self.branch_ref
            .as_deref()
            .and_then(|r| r.strip_prefix("refs/heads/"))
    }
}

/// Parses `git worktree list --porcelain -z` output: fields end with NUL,
/// records with an empty field.
pub fn parse_porcelain_z(bytes: &[u8]) -> Vec<Worktree> {
    let mut out = Vec::new();
    let mut cur: Option<Worktree> = None;
    for field in bytes.split(|b| *b == 0) {
        if field.is_empty() {
            if let Some(w) = cur.take() {
                out.push(w);
            }
            continue;
        }
        let (key, value) = match field.iter().position(|b| *b == b' ') {
            Some(i) => (&field[..i], Some(&field[i + 1..])),
            None => (field, None),
        };
        let text = || String::from_utf8_lossy(value.unwrap_or_default()).into_owned();
        if key == b"worktree" {
            if let Some(w) = cur.take() {
                out.push(w);
            }
            cur = Some(Worktree {
                path: PathBuf::from(OsStr::from_bytes(value.unwrap_or_default())),
                ..Worktree::default()
            });
            continue;
        }
        let Some(w) = cur.as_mut() else { continue };
        match key {
            b"HEAD" => w.head = text(),
            b"branch" => w.branch_ref = Some(text()),
            b"bare" => w.bare = true,
            b"locked" => w.locked = Some(text()),
            b"prunable" => w.prunable = Some(text()),
            _ => {}
        }
    }
    if let Some(w) = cur.take() {
        out.push(w);
    }
    out
}

/// The worktrees of the repository at `repo`, main worktree first. An error
/// (with git's message) when `repo` is not in a repository.
pub fn list(env: &Env, repo: &Path) -> anyhow::Result<Vec<Worktree>> {
    let out = git::output(env, repo, ["worktree", "list", "--porcelain", "-z"])?;
    if !out.status.success() {
        bail!(
            "git worktree list failed in {}: {}",
            repo.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(parse_porcelain_z(&out.stdout))
}

/// The worktree that has `branch` checked out.
pub fn for_branch<'a>(all: &'a [Worktree], branch: &str) -> Option<&'a Worktree> {
    all.iter().find(|w| w.branch() == Some(branch))
}

/// The physical path of an existing directory.
pub fn canonical_dir(path: &Path) -> Option<PathBuf> {
    if path.as_os_str().is_empty() || !path.is_dir() {
        return None;
    }
    std::fs::canonicalize(path).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_records_flags_and_odd_paths() {
        let raw = b"worktree /r/main\0HEAD abc\0branch refs/heads/main\0\0\
worktree /w/a b\n\"q\" \xff\0HEAD def\0detached\0locked\0\0\
worktree /w/c\0HEAD 123\0branch refs/heads/agent/x\0locked on usb\0prunable gitdir file points to non-existent location\0\0";
        let all = parse_porcelain_z(raw);
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].branch(), Some("main"));
        assert_eq!(all[1].path.as_os_str().as_bytes(), b"/w/a b\n\"q\" \xff");
        assert_eq!(all[1].branch_ref, None);
        assert_eq!(all[1].locked.as_deref(), Some(""));
        assert_eq!(all[2].locked.as_deref(), Some("on usb"));
        assert!(all[2].prunable.is_some());
        assert_eq!(for_branch(&all, "agent/x").unwrap().path, Path::new("/w/c"));
        assert!(parse_porcelain_z(b"").is_empty());
    }
}
