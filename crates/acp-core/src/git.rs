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

/// `git -C dir branch --show-current` (empty when not a repo or detached).
pub fn current_branch(env: &Env, dir: &Path) -> String {
    capture(env, dir, &["branch", "--show-current"]).unwrap_or_default()
}

/// `git -C dir rev-parse HEAD` (empty on failure).
pub fn head(env: &Env, dir: &Path) -> String {
    capture(env, dir, &["rev-parse", "HEAD"]).unwrap_or_default()
}
