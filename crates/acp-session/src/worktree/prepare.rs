//! Preparing a task worktree before an agent works in it
//! (`prepare-worktree.sh`): refuse the canonical and dependency checkouts,
//! the sandbox artifact dir and the per-worktree excludes file, then the
//! dependencies the repository needs ([`super::baseline::detect`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use acp_core::{Env, fail, fsx, git};

use super::baseline::{self, Kind};

/// The sandbox artifact directory inside every prepared worktree.
pub const ARTIFACT_DIR: &str = ".openclaw-artifacts";

/// What 0.2.0's excludes file lists (Node dirs, agent bookkeeping).
pub const EXCLUDES: &[&str] = &[
    "node_modules",
    "apps/*/node_modules",
    "packages/*/node_modules",
    ".openclaw-artifacts",
    ".openclaw",
    "SOUL.md",
    "TOOLS.md",
    "IDENTITY.md",
    "USER.md",
    "HEARTBEAT.md",
    "BOOTSTRAP.md",
    ".agent-session.env",
];

/// What to prepare and from where.
#[derive(Debug, Clone)]
pub struct PrepareRequest {
    pub worktree: PathBuf,
    /// `repo.root`.
    pub canonical_root: PathBuf,
    /// Where Node's `node_modules` are linked from (`ACP_DEPENDENCY_SOURCE_ROOT`,
    /// default the canonical root).
    pub dependency_root: PathBuf,
    /// `ACP_PACKAGE_MANAGER_BIN`.
    pub package_manager: Option<String>,
    /// `ACP_WORKTREE_LOCAL_INSTALL=true`: Node installs inside the worktree.
    pub local_install: bool,
    /// The profile's own install command.
    pub install_command: Option<String>,
}

impl PrepareRequest {
    fn real(p: &Path) -> PathBuf {
        fsx::canonical_or_given(p)
    }

    /// Refuses to prepare the canonical checkout or the dependency source.
    pub fn check_target(&self) -> anyhow::Result<()> {
        let wt = Self::real(&self.worktree);
        if wt == Self::real(&self.canonical_root) {
            return Err(fail(
                1,
                format!(
                    "refusing to prepare canonical checkout as worker worktree: {}",
                    self.worktree.display()
                ),
            ));
        }
        if wt == Self::real(&self.dependency_root) {
            return Err(fail(
                1,
                format!(
                    "refusing to prepare retained checkout as worker worktree: {}",
                    self.worktree.display()
                ),
            ));
        }
        Ok(())
    }

    /// Whether the baseline sync applies (the dependency source is the
    /// canonical checkout).
    pub fn baseline_applies(&self) -> bool {
        Self::real(&self.dependency_root) == Self::real(&self.canonical_root)
    }

    /// What this worktree needs installed.
    pub fn kinds(&self) -> Vec<Kind> {
        baseline::detect(
            &[&self.worktree, &self.dependency_root],
            self.package_manager.as_deref(),
            self.install_command.as_deref(),
        )
    }
}

/// Creates the artifact dir and points the worktree's own
/// `core.excludesFile` at `<artifact dir>/git-exclude` (patterns added,
/// user's global excludes kept, see [`super::ensure_excludes`]). Returns the
/// artifact dir.
pub fn configure(env: &Env, wt: &Path, kinds: &[Kind]) -> anyhow::Result<PathBuf> {
    if !is_git_worktree(env, wt) {
        return Err(fail(1, format!("not a git worktree: {}", wt.display())));
    }
    let artifacts = wt.join(ARTIFACT_DIR);
    fsx::create_dir_all(&artifacts)?;
    let mut patterns: Vec<&str> = EXCLUDES.to_vec();
    if kinds
        .iter()
        .any(|k| matches!(k, Kind::Uv | Kind::Requirements(_)))
    {
        patterns.push(".venv");
    }
    let file = artifacts.join("git-exclude");
    if super::ensure_excludes(env, wt, &file, &patterns)?.is_none() {
        return Err(fail(1, format!("not a git worktree: {}", wt.display())));
    }
    Ok(artifacts)
}

/// Links `source` at `target` unless something is already there.
fn link_shared(source: &Path, target: &Path) -> anyhow::Result<()> {
    if !source.exists() || target.is_symlink() || target.exists() {
        return Ok(());
    }
    fsx::create_dir_all(&fsx::parent_dir(target))?;
    std::os::unix::fs::symlink(source, target).map_err(|e| {
        anyhow::anyhow!(
            "cannot link {} -> {}: {e}",
            target.display(),
            source.display()
        )
    })
}

/// 0.2.0's Node path without a local install: require `node_modules` in the
/// dependency source and link them (root, `apps/*`, `packages/*`).
fn link_node_modules(dep: &Path, wt: &Path) -> anyhow::Result<()> {
    if !baseline::node_modules_ready(dep) {
        return Err(fail(
            1,
            format!(
                "dependency source is missing required node_modules or built workspace artifacts: {}",
                dep.display()
            ),
        ));
    }
    link_shared(&dep.join("node_modules"), &wt.join("node_modules"))?;
    for dir in baseline::workspace_dirs(dep) {
        let nm = dir.join("node_modules");
        if !nm.is_dir() {
            continue;
        }
        if let Ok(rel) = dir.strip_prefix(dep) {
            link_shared(&nm, &wt.join(rel).join("node_modules"))?;
        }
    }
    Ok(())
}

/// Installs what `kinds` need in the worktree. A program missing for a
/// non-Node ecosystem is reported on `err` and skipped (the worktree stays
/// usable); a failing install is an error.
pub fn install(
    env: &Env,
    req: &PrepareRequest,
    kinds: &[Kind],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<()> {
    let wt = &req.worktree;
    for kind in kinds {
        if matches!(kind, Kind::Node { .. }) && !req.local_install {
            link_node_modules(&req.dependency_root, wt)?;
            continue;
        }
        for step in baseline::install_steps(kind, wt) {
            let known = step.program.contains('/') || env.which(&step.program).is_some();
            if !known && !matches!(kind, Kind::Node { .. } | Kind::Custom(_)) {
                writeln!(
                    err,
                    "prepare-worktree: {} not found; skipping the {} install in {}",
                    step.program,
                    kind.name(),
                    wt.display()
                )?;
                break;
            }
            baseline::run_step(env, wt, &step, out, err)?;
        }
    }
    Ok(())
}

/// Whether `dir` is a git work tree.
pub fn is_git_worktree(env: &Env, dir: &Path) -> bool {
    dir.is_dir() && git::is_work_tree(env, dir)
}
