//! Publishing an issue branch as a PR, and the guards that may refuse it.
//!
//! - [`scope`]: is the branch narrow enough for one PR (exit 42 rules)?
//! - [`localization`]: are user-facing literals left in touched UI files
//!   of a branch that adds locale resources (exit 44 rules)?
//! - [`install`]: does a scheduled issue need a local install?
//! - [`body`]: the PR body (worker-written or generated, `Closes #N` or
//!   kept open) and the host's `Opened PR` comment.
//! - [`meta`]: the session's run.env (read as data) and its archived copy.
//! - [`recover`]: finding or rebuilding a worktree holding the branch.
//!
//! Shared here: the changed files of a branch ([`changed_files`]) and the
//! branch-name check ([`check_branch`]). Nothing prints or exits.

pub mod body;
pub mod install;
pub mod localization;
pub mod meta;
pub mod recover;
pub mod scope;

use std::path::Path;

use acp_core::{Env, git};

/// A locale resource file (one JSON file per language).
pub(crate) const LOCALE_RESOURCE: &str = r"^packages/i18n/src/resources/[^/]+\.json$";

/// The files added, copied, modified or renamed on `HEAD` of `worktree`
/// since its merge base with `base_ref` (`git diff --name-only
/// --diff-filter=ACMR base...HEAD`). `Err` is one line saying why git
/// failed.
pub fn changed_files(env: &Env, worktree: &Path, base_ref: &str) -> Result<Vec<String>, String> {
    if base_ref.starts_with('-') {
        return Err(format!("base ref {base_ref:?} looks like an option"));
    }
    let range = format!("{base_ref}...HEAD");
    let args = [
        "diff",
        "--name-only",
        "-z",
        "--diff-filter=ACMR",
        "--end-of-options",
        range.as_str(),
    ];
    git::name_list(env, worktree, args)
        .map(|names| {
            names
                .into_iter()
                .map(|n| n.to_string_lossy().into_owned())
                .collect()
        })
        .map_err(|e| {
            let first = e.lines().next().unwrap_or("").to_string();
            format!("git diff {range} failed in {}: {first}", worktree.display())
        })
}

/// Refuses a branch name that git would not accept for a branch, or that
/// could be taken for an option (a run.env is data an agent could write).
pub fn check_branch(name: &str) -> Result<(), String> {
    let bad = |why: &str| {
        Err(format!(
            "branch name {:?} is not usable: {why}",
            name.escape_debug().to_string()
        ))
    };
    if name.is_empty() {
        return bad("empty");
    }
    if name.starts_with('-') {
        return bad("it starts with -");
    }
    if name
        .chars()
        .any(|c| c.is_control() || " ~^:?*[\\".contains(c))
    {
        return bad("it holds a space, a control character or one of ~^:?*[\\");
    }
    if name.contains("..") || name.contains("@{") || name.contains("//") || name == "@" {
        return bad("it holds .., @{ or //");
    }
    if name.ends_with('/') || name.ends_with('.') || name.ends_with(".lock") {
        return bad("it ends with /, . or .lock");
    }
    if name.starts_with('/') || name.split('/').any(|c| c.starts_with('.')) {
        return bad("a component starts with . or /");
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::check_branch;

    #[test]
    fn branch_names_git_would_refuse_or_read_as_options_are_refused() {
        for ok in ["agent/demo/issue-7-recovery", "feature_x", "a.b/c-d"] {
            assert!(check_branch(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "--upload-pack=touch x",
            "-f",
            "a b",
            "x..y",
            "a/.hidden",
            "ref.lock",
            "a\nb",
            "$(id)`x`:y",
            "end/",
            "x@{1}",
        ] {
            assert!(check_branch(bad).is_err(), "{bad:?}");
        }
    }
}
