//! The checks every deletion of a directory tree passes first.

use std::fmt;
use std::path::{Path, PathBuf};

use acp_core::{Env, git};

use super::list::{self, Worktree, canonical_dir};

/// Why a directory must not be deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// It is the repository's main checkout.
    MainCheckout(PathBuf),
    /// It contains the main checkout.
    HoldsMainCheckout(PathBuf),
    /// It contains the repository's git directory.
    HoldsGitDir(PathBuf),
    /// It contains another registered worktree.
    HoldsWorktree(PathBuf),
    /// It lies inside a checkout without being a registered worktree itself,
    /// so deleting it deletes part of that checkout.
    InsideCheckout(PathBuf),
    /// It is not strictly inside the worktree root.
    OutsideRoot(PathBuf),
    /// git has it locked (`git worktree lock`).
    Locked(String),
    /// The repository's worktrees could not be listed, so nothing can be
    /// checked.
    Unverifiable(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::MainCheckout(p) => write!(f, "it is the main checkout {}", p.display()),
            Refusal::HoldsMainCheckout(p) => {
                write!(f, "it contains the main checkout {}", p.display())
            }
            Refusal::HoldsGitDir(p) => {
                write!(
                    f,
                    "it contains the repository's git directory {}",
                    p.display()
                )
            }
            Refusal::HoldsWorktree(p) => {
                write!(f, "it contains the registered worktree {}", p.display())
            }
            Refusal::InsideCheckout(p) => write!(f, "it lies inside the checkout {}", p.display()),
            Refusal::OutsideRoot(r) => {
                write!(f, "it is not inside the worktree root {}", r.display())
            }
            Refusal::Locked(reason) if reason.is_empty() => write!(f, "the worktree is locked"),
            Refusal::Locked(reason) => write!(f, "the worktree is locked: {reason}"),
            Refusal::Unverifiable(why) => {
                write!(f, "cannot list the repository's worktrees: {why}")
            }
        }
    }
}

/// `git rev-parse --git-common-dir` of `repo`, physical.
pub fn common_git_dir(env: &Env, repo: &Path) -> Option<PathBuf> {
    let out = git::output(
        env,
        repo,
        ["rev-parse", "--path-format=absolute", "--git-common-dir"],
    )
    .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    canonical_dir(Path::new(text.trim_end_matches('\n')))
}

/// Whether deleting the tree at `target` is safe with respect to the
/// repository at `repo`: it is not the main checkout, holds neither the main
/// checkout, the git directory nor another registered worktree, is not a
/// piece of a checkout, is not locked, and (with `root`) lies strictly
/// inside `root`. A target that does not exist passes (nothing to delete).
pub fn check_tree_removal(
    env: &Env,
    repo: &Path,
    target: &Path,
    root: Option<&Path>,
) -> Result<(), Refusal> {
    let Some(target) = canonical_dir(target) else {
        return Ok(());
    };
    if let Some(root) = root {
        let inside = canonical_dir(root).is_some_and(|r| target != r && target.starts_with(&r));
        if !inside {
            return Err(Refusal::OutsideRoot(root.to_path_buf()));
        }
    }
    let all = list::list(env, repo).map_err(|e| Refusal::Unverifiable(format!("{e:#}")))?;
    check_against(&all, &target, common_git_dir(env, repo).as_deref())
}

/// [`check_tree_removal`]'s rules for a physical `target` against a listing.
pub fn check_against(
    all: &[Worktree],
    target: &Path,
    git_dir: Option<&Path>,
) -> Result<(), Refusal> {
    if let Some(g) = git_dir
        && g.starts_with(target)
    {
        return Err(Refusal::HoldsGitDir(g.to_path_buf()));
    }
    let mut registered_self = None;
    let mut enclosing = None;
    for (i, w) in all.iter().enumerate() {
        let Some(p) = canonical_dir(&w.path) else {
            continue;
        };
        let main = i == 0 && !w.bare;
        if p == target {
            if main {
                return Err(Refusal::MainCheckout(p));
            }
            registered_self = Some(w);
        } else if p.starts_with(target) {
            return Err(if main {
                Refusal::HoldsMainCheckout(p)
            } else {
                Refusal::HoldsWorktree(p)
            });
        } else if target.starts_with(&p) && !w.bare {
            enclosing = Some(p);
        }
    }
    if let Some(w) = registered_self {
        if let Some(reason) = &w.locked {
            return Err(Refusal::Locked(reason.clone()));
        }
        return Ok(());
    }
    match enclosing {
        Some(p) => Err(Refusal::InsideCheckout(p)),
        None => Ok(()),
    }
}

/// `--path`-style equality: both name the same existing directory.
pub fn same_dir(a: &Path, b: &Path) -> bool {
    match (canonical_dir(a), canonical_dir(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn wt(path: &Path, locked: Option<&str>) -> Worktree {
        Worktree {
            path: path.to_path_buf(),
            locked: locked.map(str::to_string),
            ..Worktree::default()
        }
    }

    #[test]
    fn refusals() {
        let t = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(t.path()).unwrap();
        for d in ["main/sub", "w/a", "w/b", "w/b/nested", "w/c"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        let all = vec![
            wt(&root.join("main"), None),
            wt(&root.join("w/a"), None),
            wt(&root.join("w/b/nested"), None),
            wt(&root.join("w/c"), Some("usb")),
        ];
        let git_dir = root.join("main/.git");
        let check = |rel: &str| check_against(&all, &root.join(rel), Some(&git_dir));
        assert_eq!(check("w/a"), Ok(()));
        assert_eq!(check("main"), Err(Refusal::HoldsGitDir(git_dir.clone())));
        assert!(matches!(check("w/b"), Err(Refusal::HoldsWorktree(_))));
        assert!(matches!(check("w"), Err(Refusal::HoldsWorktree(_))));
        assert!(matches!(check("main/sub"), Err(Refusal::InsideCheckout(_))));
        assert_eq!(check("w/c"), Err(Refusal::Locked("usb".into())));
        assert!(matches!(
            check_against(&all, &root.join("main"), None),
            Err(Refusal::MainCheckout(_))
        ));
        assert!(matches!(
            check_against(&all, &root, None),
            Err(Refusal::HoldsMainCheckout(_))
        ));
    }
}
