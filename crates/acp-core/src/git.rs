//! A thin wrapper around `git`.

use std::path::Path;
use std::process::Command;

use crate::Env;

/// Runs `git -C dir args...` and returns trimmed stdout on success.
pub fn capture(env: &Env, dir: &Path, args: &[&str]) -> Option<String> {
    let mut cmd = Command::new(env.which("git").unwrap_or_else(|| "git".into()));
    env.apply(&mut cmd);
    cmd.arg("-C").arg(dir).args(args);
    let out = crate::process::output(&mut cmd).ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The branch `refs/remotes/<remote>/HEAD` of the repository at `dir`
/// points at (set by `git clone` and `git remote set-head`; no network).
/// `None` for a remote name that is empty, starts with `-` or holds
/// whitespace or control characters, and when no such ref is recorded.
pub fn remote_head_branch(env: &Env, dir: &Path, remote: &str) -> Option<String> {
    let plain = !remote.is_empty()
        && !remote.starts_with('-')
        && !remote.chars().any(|c| c.is_control() || c.is_whitespace());
    if !plain {
        return None;
    }
    let head_ref = format!("refs/remotes/{remote}/HEAD");
    capture(
        env,
        dir,
        &[
            "symbolic-ref",
            "--quiet",
            "--short",
            "--end-of-options",
            &head_ref,
        ],
    )?
    .strip_prefix(&format!("{remote}/"))
    .filter(|b| !b.is_empty())
    .map(str::to_string)
}

/// `git -C dir branch --show-current` (empty when not a repo or detached).
pub fn current_branch(env: &Env, dir: &Path) -> String {
    capture(env, dir, &["branch", "--show-current"]).unwrap_or_default()
}

/// `git -C dir rev-parse HEAD` (empty on failure).
pub fn head(env: &Env, dir: &Path) -> String {
    capture(env, dir, &["rev-parse", "HEAD"]).unwrap_or_default()
}

/// Runs `git -C dir args...` (stdin from /dev/null) and returns its whole
/// output, whatever the exit status.
pub fn output<I, S>(env: &Env, dir: &Path, args: I) -> anyhow::Result<std::process::Output>
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut cmd = Command::new(env.which("git").unwrap_or_else(|| "git".into()));
    env.apply(&mut cmd);
    cmd.arg("-C").arg(dir).args(args);
    crate::process::output(&mut cmd)
}

/// Splits NUL-terminated `-z` output into names (empty names dropped).
fn split_nul(bytes: &[u8]) -> Vec<std::ffi::OsString> {
    use std::os::unix::ffi::OsStrExt;
    bytes
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| std::ffi::OsStr::from_bytes(s).to_os_string())
        .collect()
}

/// A list of paths from a `-z` git command (`diff --name-only -z`,
/// `ls-files -z`): `Err` carries git's stderr (trimmed) when it fails.
pub fn name_list<I, S>(env: &Env, dir: &Path, args: I) -> Result<Vec<std::ffi::OsString>, String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    match output(env, dir, args) {
        Ok(out) if out.status.success() => Ok(split_nul(&out.stdout)),
        Ok(out) => Err(String::from_utf8_lossy(&out.stderr).trim().to_string()),
        Err(e) => Err(format!("{e:#}")),
    }
}

/// Whether `dir` lies inside a git work tree.
pub fn is_work_tree(env: &Env, dir: &Path) -> bool {
    capture(env, dir, &["rev-parse", "--is-inside-work-tree"]).is_some_and(|s| s == "true")
}

/// Whether `rev` names a commit in the repository of `dir` (never read as an option).
pub fn resolves_to_commit(env: &Env, dir: &Path, rev: &str) -> bool {
    let spec = format!("{rev}^{{commit}}");
    output(
        env,
        dir,
        [
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            spec.as_str(),
        ],
    )
    .is_ok_and(|o| o.status.success())
}

/// The paths of `git worktree list --porcelain -z`, main worktree first
/// (empty when `dir` is not in a repository).
pub fn worktree_paths(env: &Env, dir: &Path) -> Vec<std::path::PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    match output(env, dir, ["worktree", "list", "--porcelain", "-z"]) {
        Ok(out) if out.status.success() => out
            .stdout
            .split(|b| *b == 0)
            .filter_map(|field| field.strip_prefix(b"worktree "))
            .map(|p| std::path::PathBuf::from(std::ffi::OsStr::from_bytes(p)))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_nul_drops_empty_names_and_keeps_odd_bytes() {
        let names = split_nul(b"a b\0\0line\nbreak\0\"q\"\0");
        assert_eq!(names, ["a b", "line\nbreak", "\"q\""]);
        assert!(split_nul(b"").is_empty());
    }
}
