//! Re-branching a resident issue worktree for its next cycle
//! (`reuse-issue-worktree.sh`): reset it to the default branch on a new
//! branch, then move it to `issue-<id>-<stamp>` and check the result.

use std::path::{Path, PathBuf};

use acp_core::{Env, fail, fsx, git};

use super::repo;

/// One reuse.
#[derive(Debug, Clone)]
pub struct Reuse {
    pub worktree: PathBuf,
    /// The anchor checkout the worktree belongs to.
    pub agent_repo_root: PathBuf,
    /// Where rotated worktrees go (none: stay in place).
    pub worktree_root: Option<PathBuf>,
    pub remote: String,
    pub default_branch: String,
    pub new_branch: String,
    /// The new directory name (`issue-<id>-<stamp>`).
    pub dir_name: String,
}

impl Reuse {
    /// `<remote>/<default branch>`.
    pub fn base_ref(&self) -> String {
        format!("{}/{}", self.remote, self.default_branch)
    }

    /// Resets the worktree onto a new branch from the freshly fetched
    /// default branch and deletes its previous branch from the anchor. A
    /// directory that is not a git work tree, a locked worktree, a missing
    /// remote and a failed fetch are refused before anything changes.
    pub fn reset(&self, env: &Env) -> anyhow::Result<()> {
        let wt = &self.worktree;
        if !wt.is_dir() || !git::is_work_tree(env, wt) {
            return Err(fail(
                1,
                format!("invalid managed worktree: {}", wt.display()),
            ));
        }
        let real = fsx::canonical_or_given(wt);
        let locked = repo::list(env, &self.agent_repo_root)
            .into_iter()
            .any(|e| e.locked && fsx::canonical_or_given(&e.path) == real);
        if locked {
            return Err(fail(
                1,
                format!("reused worktree is locked: {}", wt.display()),
            ));
        }
        let previous = git::current_branch(env, wt);
        repo::fetch_branches(
            env,
            &self.agent_repo_root,
            &self.remote,
            &[self.default_branch.as_str()],
        )?;
        repo::run(env, wt, "git reset --hard", ["reset", "--hard", "-q"])?;
        repo::run(env, wt, "git clean -fd", ["clean", "-fdq"])?;
        let base = self.base_ref();
        repo::run(
            env,
            wt,
            "git checkout -B",
            [
                "checkout",
                "-q",
                "-B",
                self.new_branch.as_str(),
                base.as_str(),
            ],
        )?;
        if !previous.is_empty() && previous != self.new_branch {
            let _ = repo::succeeds(
                env,
                &self.agent_repo_root,
                ["branch", "-D", "--", previous.as_str()],
            );
        }
        Ok(())
    }

    /// Moves the worktree to `<worktree root>/<dir name>` (when it is not
    /// there yet) and checks it is still registered and on the new branch.
    /// Returns the final (physical) path.
    pub fn rotate(&self, env: &Env) -> anyhow::Result<PathBuf> {
        let wt = &self.worktree;
        if !git::is_work_tree(env, wt) {
            return Err(fail(
                1,
                format!("invalid managed worktree after reuse: {}", wt.display()),
            ));
        }
        let mut path = std::fs::canonicalize(wt).map_err(|_| {
            fail(
                1,
                format!("reused worktree path is unavailable: {}", wt.display()),
            )
        })?;
        if let Some(root) = &self.worktree_root {
            fsx::create_dir_all(root)?;
            let target = root.join(&self.dir_name);
            if path != target && fsx::canonical_or_given(&target) != path {
                if target.exists() || target.is_symlink() {
                    return Err(fail(
                        1,
                        format!("rotated worktree path already exists: {}", target.display()),
                    ));
                }
                repo::run(
                    env,
                    &self.agent_repo_root,
                    "git worktree move",
                    [
                        std::ffi::OsStr::new("worktree"),
                        "move".as_ref(),
                        path.as_os_str(),
                        target.as_os_str(),
                    ],
                )?;
                path = std::fs::canonicalize(&target).map_err(|_| {
                    fail(
                        1,
                        format!("rotated worktree path is unavailable: {}", target.display()),
                    )
                })?;
            }
        }
        self.verify(env, &path)?;
        Ok(path)
    }

    fn verify(&self, env: &Env, path: &Path) -> anyhow::Result<()> {
        if !repo::is_registered(env, &self.agent_repo_root, path) {
            return Err(fail(
                1,
                format!(
                    "reused worktree is no longer registered: {}",
                    path.display()
                ),
            ));
        }
        let actual = git::current_branch(env, path);
        if actual != self.new_branch {
            let got = if actual.is_empty() { "<none>" } else { &actual };
            return Err(fail(
                1,
                format!(
                    "reused worktree branch mismatch: expected {} got {got}",
                    self.new_branch
                ),
            ));
        }
        Ok(())
    }
}
