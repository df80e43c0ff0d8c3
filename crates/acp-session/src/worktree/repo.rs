//! The git steps of making and moving worktrees. Every path and name goes to
//! git as its own argument (never through a shell); a failing git call
//! becomes an error that carries git's exit code and its stderr.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use acp_core::{Env, fail, git};

/// Runs `git -C dir args...`; on failure an error (exit code of git, or 1)
/// naming `what` with git's stderr.
pub fn run<I, S>(env: &Env, dir: &Path, what: &str, args: I) -> anyhow::Result<Vec<u8>>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = git::output(env, dir, args)?;
    if out.status.success() {
        return Ok(out.stdout);
    }
    let code = out.status.code().filter(|c| *c != 0).unwrap_or(1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let detail = stderr.trim();
    Err(fail(
        code,
        if detail.is_empty() {
            format!("{what} failed in {}", dir.display())
        } else {
            format!("{what} failed in {}: {detail}", dir.display())
        },
    ))
}

/// Whether `git -C dir args...` succeeds (output ignored).
pub fn succeeds<I, S>(env: &Env, dir: &Path, args: I) -> bool
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    git::output(env, dir, args).is_ok_and(|o| o.status.success())
}

/// Whether `name` is acceptable as a new branch name
/// (`git check-ref-format --branch`).
pub fn valid_branch_name(env: &Env, dir: &Path, name: &str) -> bool {
    !name.starts_with('-') && succeeds(env, dir, ["check-ref-format", "--branch", name])
}

/// Whether `refs/<kind>/<name>` exists (`kind` = `heads` or `remotes`).
pub fn has_ref(env: &Env, dir: &Path, full_ref: &str) -> bool {
    succeeds(env, dir, ["show-ref", "--verify", "--quiet", full_ref])
}

/// Whether `remote` is configured in the repository of `dir`.
pub fn has_remote(env: &Env, dir: &Path, remote: &str) -> bool {
    succeeds(env, dir, ["remote", "get-url", "--", remote])
}

/// `git fetch <remote> +refs/heads/<b>:refs/remotes/<remote>/<b>... --prune`
/// for every branch of `branches`, in one call.
pub fn fetch_branches(
    env: &Env,
    repo: &Path,
    remote: &str,
    branches: &[&str],
) -> anyhow::Result<()> {
    if !has_remote(env, repo, remote) {
        return Err(fail(
            1,
            format!("remote '{remote}' is missing in {}", repo.display()),
        ));
    }
    let mut args = vec!["fetch".to_string(), remote.to_string()];
    args.extend(
        branches
            .iter()
            .map(|b| format!("+refs/heads/{b}:refs/remotes/{remote}/{b}")),
    );
    args.push("--prune".to_string());
    run(env, repo, "git fetch", &args).map(|_| ())
}

/// One entry of `git worktree list --porcelain -z`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    pub path: PathBuf,
    /// The branch without `refs/heads/` (None when detached or bare).
    pub branch: Option<String>,
    pub locked: bool,
    pub prunable: bool,
}

/// The registered worktrees of the repository of `dir`, main first (empty
/// when `dir` is not in a repository).
pub fn list(env: &Env, dir: &Path) -> Vec<Entry> {
    let Ok(out) = git::output(env, dir, ["worktree", "list", "--porcelain", "-z"]) else {
        return Vec::new();
    };
    if !out.status.success() {
        return Vec::new();
    }
    parse_list(&out.stdout)
}

fn parse_list(bytes: &[u8]) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut current: Option<Entry> = None;
    for field in bytes.split(|b| *b == 0) {
        if let Some(p) = field.strip_prefix(b"worktree ") {
            entries.extend(current.take());
            current = Some(Entry {
                path: PathBuf::from(OsStr::from_bytes(p)),
                ..Entry::default()
            });
        } else if let Some(e) = current.as_mut() {
            if let Some(b) = field.strip_prefix(b"branch refs/heads/") {
                e.branch = Some(String::from_utf8_lossy(b).into_owned());
            } else if field == b"locked" || field.starts_with(b"locked ") {
                e.locked = true;
            } else if field == b"prunable" || field.starts_with(b"prunable ") {
                e.prunable = true;
            }
        }
    }
    entries.extend(current);
    entries
}

/// The registered worktree that has `branch` checked out.
pub fn checked_out_at(env: &Env, dir: &Path, branch: &str) -> Option<PathBuf> {
    list(env, dir)
        .into_iter()
        .find(|e| e.branch.as_deref() == Some(branch))
        .map(|e| e.path)
}

/// Whether `path` (physically) is a registered worktree of `dir`'s repository.
pub fn is_registered(env: &Env, dir: &Path, path: &Path) -> bool {
    let want = acp_core::fsx::canonical_or_given(path);
    list(env, dir)
        .iter()
        .any(|e| e.path == path || acp_core::fsx::canonical_or_given(&e.path) == want)
}

/// `git worktree add [-b <branch>] <path> <base|branch>`: a new branch from
/// `base` when the branch does not exist yet, else the existing branch. A
/// branch checked out elsewhere and an existing path are refused with one
/// line naming them before git runs.
pub fn add(env: &Env, repo: &Path, branch: &str, path: &Path, base: &str) -> anyhow::Result<()> {
    if path.exists() || path.is_symlink() {
        return Err(fail(
            1,
            format!("Worktree path already exists: {}", path.display()),
        ));
    }
    let local = format!("refs/heads/{branch}");
    if has_ref(env, repo, &local) {
        if let Some(at) = checked_out_at(env, repo, branch) {
            return Err(fail(
                1,
                format!("branch {branch} is already checked out at {}", at.display()),
            ));
        }
        let args: [&OsStr; 3] = ["worktree".as_ref(), "add".as_ref(), path.as_os_str()];
        run(
            env,
            repo,
            "git worktree add",
            args.into_iter().chain([OsStr::new(branch)]),
        )?;
    } else {
        run(
            env,
            repo,
            "git worktree add",
            [
                OsStr::new("worktree"),
                OsStr::new("add"),
                OsStr::new("-b"),
                OsStr::new(branch),
                path.as_os_str(),
                OsStr::new(base),
            ],
        )?;
    }
    Ok(())
}

/// The repository's main checkout for `dir`: the parent of the common git dir.
pub fn main_checkout(env: &Env, dir: &Path) -> Option<PathBuf> {
    let out = git::output(env, dir, ["rev-parse", "--git-common-dir"]).ok()?;
    let raw = out.stdout.strip_suffix(b"\n").unwrap_or(&out.stdout);
    if !out.status.success() || raw.is_empty() {
        return None;
    }
    let common = acp_core::fsx::canonical_or_given(&dir.join(OsStr::from_bytes(raw)));
    common.parent().map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_porcelain_entries() {
        let raw = b"worktree /r\0HEAD abc\0branch refs/heads/main\0\0worktree /w 1\0HEAD d\0detached\0locked\0\0worktree /w\n2\0HEAD e\0branch refs/heads/agent/x\0prunable gitdir file points to non-existent location\0\0";
        let e = parse_list(raw);
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].branch.as_deref(), Some("main"));
        assert!(e[1].locked && e[1].branch.is_none());
        assert_eq!(e[2].path, PathBuf::from("/w\n2"));
        assert!(e[2].prunable);
    }
}
