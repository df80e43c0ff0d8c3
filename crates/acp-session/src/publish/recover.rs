//! Finding a worktree that holds the session's branch, rebuilding one when
//! the worker's is gone, and aligning it with the remote branch.
//!
//! Each decision is written to `notes` as `WORKTREE_RECOVERY=...`,
//! `BRANCH_RECOVERY=...`, `RECOVERY_WORKTREE=...` and `RECOVERY_HEAD=...`
//! lines (the publisher sends them to stderr, where reconcile reads them).
//! Branch and remote names are checked by the caller before they get here.

use std::io::Write;
use std::path::{Path, PathBuf};

use acp_core::{Env, git};

use super::meta::RunMeta;

/// Where and what to recover.
#[derive(Debug, Clone)]
pub struct Recovery<'a> {
    /// The repository whose worktrees these are (`agent_repo_root`).
    pub repo_root: &'a Path,
    /// Where new recovery worktrees are made.
    pub worktree_root: &'a Path,
    pub remote: &'a str,
    pub meta: &'a RunMeta,
}

fn ok(env: &Env, dir: &Path, args: &[&str]) -> bool {
    git::output(env, dir, args).is_ok_and(|o| o.status.success())
}

/// Whether `path` is (inside) a git work tree.
fn is_worktree(env: &Env, path: &Path) -> bool {
    path.is_dir() && git::is_work_tree(env, path)
}

/// `WORKTREE_RECOVERY=<what>` and `RECOVERY_WORKTREE=<path>`.
fn note(notes: &mut dyn Write, what: &str, path: &Path) -> std::io::Result<()> {
    writeln!(notes, "WORKTREE_RECOVERY={what}")?;
    writeln!(notes, "RECOVERY_WORKTREE={}", path.display())
}

impl Recovery<'_> {
    /// Whether `path` is a work tree at the run's final commit or on its
    /// branch.
    fn is_target(&self, env: &Env, path: &Path) -> bool {
        if !is_worktree(env, path) {
            return false;
        }
        let head = git::head(env, path);
        if !self.meta.final_head.is_empty() && head == self.meta.final_head {
            return true;
        }
        let branch = git::capture(env, path, &["symbolic-ref", "--quiet", "--short", "HEAD"]);
        branch.is_some_and(|b| !b.is_empty() && b == self.meta.branch.as_str())
    }

    /// The work tree that has the branch checked out, if any.
    fn checked_out(&self, env: &Env) -> Option<PathBuf> {
        crate::worktree::repo::checked_out_at(env, self.repo_root, self.meta.branch.as_str())
    }

    /// Finds or rebuilds the worktree to publish from; `None` when nothing
    /// holds the branch, locally or on the remote.
    pub fn find(&self, env: &Env, notes: &mut dyn Write) -> anyhow::Result<Option<PathBuf>> {
        let mut wt = Some(PathBuf::from(&self.meta.worktree)).filter(|p| !p.as_os_str().is_empty());
        if self.meta.archived
            && let Some(p) = wt.take()
        {
            note(notes, "ignored-archived-pointer", &p)?;
        }
        if let Some(p) = wt.clone().filter(|p| !self.is_target(env, p)) {
            note(notes, "ignored-stale", &p)?;
            wt = None;
        }
        let _ = ok(env, self.repo_root, &["worktree", "prune"]);
        if wt.is_some() {
            return Ok(wt);
        }
        if let Some(p) = self.checked_out(env).filter(|p| self.is_target(env, p)) {
            note(notes, "reused-existing", &p)?;
            return Ok(Some(p));
        }
        if self.meta.archived
            && let Some(p) = self.checkout_remote(env)?
        {
            note(notes, "from-remote", &p)?;
            return Ok(Some(p));
        }
        self.rebuild_locally(env, notes)
    }

    /// Recreates the branch from the run's final commit when it is gone,
    /// then reuses the work tree that has it or adds one.
    fn rebuild_locally(&self, env: &Env, notes: &mut dyn Write) -> anyhow::Result<Option<PathBuf>> {
        let branch = self.meta.branch.as_str();
        let local_ref = format!("refs/heads/{branch}");
        let fh = &self.meta.final_head;
        if !ok(
            env,
            self.repo_root,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                &local_ref,
            ],
        ) && !fh.is_empty()
            && !fh.starts_with('-')
            && git::resolves_to_commit(env, self.repo_root, fh)
        {
            let _ = ok(
                env,
                self.repo_root,
                &["branch", "-f", "--end-of-options", branch, fh],
            );
            writeln!(notes, "BRANCH_RECOVERY=from-final-head")?;
            writeln!(notes, "RECOVERY_HEAD={fh}")?;
        }
        if let Some(p) = self.checked_out(env).filter(|p| is_worktree(env, p)) {
            note(notes, "reused-existing", &p)?;
            return Ok(Some(p));
        }
        let dir = new_recovery_dir(self.worktree_root)?;
        let remote_ref = format!("refs/remotes/{}/{branch}", self.remote);
        let added = [branch, remote_ref.as_str()].iter().any(|r| {
            ok(
                env,
                self.repo_root,
                &[
                    "worktree",
                    "add",
                    "--end-of-options",
                    &dir.to_string_lossy(),
                    r,
                ],
            )
        });
        if added && is_worktree(env, &dir) {
            note(notes, "created", &dir)?;
            return Ok(Some(dir));
        }
        discard(env, self.repo_root, &dir);
        Ok(None)
    }

    /// Fetches the branch from the remote and checks it out in a new
    /// work tree.
    fn checkout_remote(&self, env: &Env) -> anyhow::Result<Option<PathBuf>> {
        let branch = self.meta.branch.as_str();
        let remote_ref = format!("refs/remotes/{}/{branch}", self.remote);
        let _ = ok(
            env,
            self.repo_root,
            &["fetch", "--end-of-options", self.remote, branch],
        );
        if !ok(
            env,
            self.repo_root,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                &remote_ref,
            ],
        ) {
            return Ok(None);
        }
        let dir = new_recovery_dir(self.worktree_root)?;
        let d = dir.to_string_lossy().into_owned();
        let made = ok(
            env,
            self.repo_root,
            &[
                "worktree",
                "add",
                "--detach",
                "--end-of-options",
                &d,
                &remote_ref,
            ],
        ) && is_worktree(env, &dir)
            && ok(env, &dir, &["checkout", "-q", "-B", branch, &remote_ref]);
        if !made {
            discard(env, self.repo_root, &dir);
            return Ok(None);
        }
        let upstream = format!("{}/{branch}", self.remote);
        let _ = ok(
            env,
            &dir,
            &["branch", "--set-upstream-to", &upstream, branch],
        );
        Ok(Some(dir))
    }

    /// Fetches the base and the branch, and moves the worktree's branch to
    /// the remote branch when the remote is ahead of it or has diverged
    /// (a worktree ahead of the remote keeps its commits: they are what
    /// gets pushed).
    pub fn align(
        &self,
        env: &Env,
        wt: &Path,
        base: &str,
        notes: &mut dyn Write,
    ) -> anyhow::Result<()> {
        let branch = self.meta.branch.as_str();
        let remote = self.remote;
        if !ok(
            env,
            wt,
            &["fetch", "--prune", "--end-of-options", remote, base, branch],
        ) {
            let _ = ok(
                env,
                wt,
                &["fetch", "--prune", "--end-of-options", remote, base],
            );
        }
        let remote_ref = format!("refs/remotes/{remote}/{branch}");
        let Some(remote_head) = git::capture(
            env,
            self.repo_root,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                &remote_ref,
            ],
        ) else {
            return Ok(());
        };
        let head = git::head(env, wt);
        if remote_head.is_empty() || head == remote_head {
            return Ok(());
        }
        if !head.is_empty()
            && ok(
                env,
                wt,
                &["merge-base", "--is-ancestor", &remote_head, &head],
            )
        {
            return Ok(());
        }
        let _ = ok(env, wt, &["checkout", "-q", "-B", branch, &remote_ref]);
        let upstream = format!("{remote}/{branch}");
        let _ = ok(env, wt, &["branch", "--set-upstream-to", &upstream, branch]);
        writeln!(notes, "WORKTREE_RECOVERY=aligned-remote")?;
        writeln!(notes, "RECOVERY_HEAD={remote_head}")?;
        Ok(())
    }
}

/// Removes a recovery dir that did not become a work tree, and its
/// registration if git made one.
fn discard(env: &Env, repo_root: &Path, dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    let _ = ok(env, repo_root, &["worktree", "prune"]);
}

/// A new empty `<root>/recovery-XXXXXX` directory (the root is created).
fn new_recovery_dir(root: &Path) -> anyhow::Result<PathBuf> {
    acp_core::fsx::create_dir_all(root)?;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
        ^ std::process::id();
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    for attempt in 0u32..1000 {
        let mut n = u64::from(seed)
            .wrapping_mul(6364136223846793005)
            .wrapping_add(u64::from(attempt) * 1442695040888963407);
        let suffix: String = (0..6)
            .map(|_| {
                let c = ALPHABET[(n % ALPHABET.len() as u64) as usize] as char;
                n /= ALPHABET.len() as u64;
                c
            })
            .collect();
        let dir = root.join(format!("recovery-{suffix}"));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => anyhow::bail!("failed to create {}: {e}", dir.display()),
        }
    }
    anyhow::bail!("no free recovery-XXXXXX name under {}", root.display())
}
