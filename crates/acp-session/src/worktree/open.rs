//! The shared steps of `agent-project-open-issue-worktree` and
//! `agent-project-open-pr-worktree`: fetch the base, make the worktree
//! through `agent-init-worktree`, run the prepare script.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use acp_core::{Env, fail, fsx};

use super::repo;

/// A worktree to open.
#[derive(Debug, Clone)]
pub struct Open {
    pub repo_root: PathBuf,
    pub worktree_path: PathBuf,
    pub branch: String,
    pub base_ref: String,
}

/// An absolute form of `p` (relative paths are taken from `cwd`, so the
/// worktree root means the same to every step whatever its directory).
pub fn absolute(cwd: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    }
}

/// Fetches the base: `<remote>/<b>` as `+refs/heads/<b>:refs/remotes/<remote>/<b>`,
/// anything else as `git fetch <remote> <base> --prune`.
pub fn fetch_base(env: &Env, repo_root: &Path, remote: &str, base: &str) -> anyhow::Result<()> {
    match base.strip_prefix(&format!("{remote}/")) {
        Some(branch) => repo::fetch_branches(env, repo_root, remote, &[branch]),
        None => {
            if base.starts_with('-') {
                return Err(fail(1, format!("invalid base ref: {base:?}")));
            }
            if !repo::has_remote(env, repo_root, remote) {
                return Err(fail(
                    1,
                    format!("remote '{remote}' is missing in {}", repo_root.display()),
                ));
            }
            repo::run(
                env,
                repo_root,
                "git fetch",
                ["fetch", remote, base, "--prune"],
            )
            .map(|_| ())
        }
    }
}

impl Open {
    /// The arguments of `agent-init-worktree` for this worktree.
    pub fn init_args(&self) -> Vec<OsString> {
        vec![
            "--branch".into(),
            self.branch.clone().into(),
            "--base".into(),
            self.base_ref.clone().into(),
            "--path".into(),
            self.worktree_path.clone().into_os_string(),
            "--allow-unclaimed".into(),
            "--no-bootstrap-deps".into(),
        ]
    }

    /// Creates the worktree root, then runs `init` (the init tool, with
    /// [`Self::init_args`] added here, in the repository) and, when given,
    /// `prepare` (with the worktree path added); their stdout is dropped,
    /// their stderr goes to `err`, a failure ends with their exit code.
    ///
    /// When the prepare step fails, the worktree and the branch this call
    /// just created are removed again (nothing of anyone's is in them yet),
    /// so a failed open leaves no half-made worktree behind.
    pub fn make(
        &self,
        env: &Env,
        mut init: Command,
        prepare: Option<Command>,
        err: &mut dyn Write,
    ) -> anyhow::Result<()> {
        fsx::create_dir_all(&fsx::parent_dir(&self.worktree_path))?;
        init.args(self.init_args()).current_dir(&self.repo_root);
        run_quiet(&mut init, err)?;
        if let Some(mut prepare) = prepare {
            prepare.arg(&self.worktree_path);
            if let Err(e) = run_quiet(&mut prepare, err) {
                self.undo(env, err);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Removes the worktree and branch [`Open::make`] created (best effort,
    /// each failure one stderr line).
    fn undo(&self, env: &Env, err: &mut dyn Write) {
        let path = self.worktree_path.as_os_str();
        let steps: [(&str, Vec<&OsStr>); 2] = [
            (
                "remove the worktree",
                vec![
                    "worktree".as_ref(),
                    "remove".as_ref(),
                    "--force".as_ref(),
                    path,
                ],
            ),
            (
                "delete the branch",
                vec!["branch".as_ref(), "-D".as_ref(), self.branch.as_ref()],
            ),
        ];
        let mut undone = true;
        for (what, args) in steps {
            if let Err(e) = repo::run(env, &self.repo_root, what, args) {
                undone = false;
                let _ = writeln!(err, "after the failed prepare, could not {what}: {e:#}");
            }
        }
        if !undone {
            return;
        }
        let _ = writeln!(
            err,
            "removed {} and branch {} after the failed prepare",
            self.worktree_path.display(),
            self.branch
        );
    }
}

/// Runs `cmd` with stdout dropped and stderr relayed to `err`; a non-zero
/// exit becomes an error with that code and no further message.
pub fn run_quiet(cmd: &mut Command, err: &mut dyn Write) -> anyhow::Result<()> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let out = acp_core::process::output(cmd)
        .map_err(|e| fail(127, format!("cannot run {program}: {e:#}")))?;
    err.write_all(&out.stderr)?;
    if !out.status.success() {
        return Err(fail(acp_core::process::exit_code(out.status).max(1), ""));
    }
    Ok(())
}
