//! Worktree preparation before Claude runs, with the shared helpers of
//! [`acp_session::worktree`]: the sandbox subdir and agent scratch files are
//! excluded from git through a per-worktree excludes file in the sandbox run
//! dir, and the commit-scope pre-commit hook is installed (a project's own
//! hook is kept). A directory that is not a git work tree is left alone.

use std::path::Path;

use acp_core::Env;
use acp_session::worktree::{self, AGENT_SCRATCH_FILES, HookOutcome};

/// Sets up excludes and the hook; returns log notes for what was skipped.
pub fn prepare(
    env: &Env,
    wt: &Path,
    sandbox_run_dir: &Path,
    sandbox_subdir: &str,
) -> anyhow::Result<Vec<String>> {
    let mut patterns = vec![worktree::subdir_pattern(sandbox_subdir)];
    patterns.extend_from_slice(AGENT_SCRATCH_FILES);
    let default_file = sandbox_run_dir.join("git-exclude");
    worktree::ensure_excludes(env, wt, &default_file, &patterns)?;
    Ok(match worktree::install_scope_hook(env, wt)? {
        HookOutcome::KeptForeign(p) => vec![format!(
            "[claude-setup] existing pre-commit hook kept, scope guard not installed: {}",
            p.display()
        )],
        HookOutcome::NotGit | HookOutcome::Installed(_) => Vec::new(),
    })
}
