//! The git side of a PR repair: committing the worker's leftovers, checking
//! what the branch holds beyond its remote head, pushing it, and finding
//! merge conflicts that remain against the base branch.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::Path;
use std::process::Output;

use acp_core::{Env, git};

fn run<I, S>(env: &Env, dir: &Path, args: I) -> anyhow::Result<Output>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    git::output(env, dir, args)
}

fn lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether a merge is in progress in `wt` (`MERGE_HEAD` exists).
pub fn merge_in_progress(env: &Env, wt: &Path) -> bool {
    run(env, wt, ["rev-parse", "-q", "--verify", "MERGE_HEAD"]).is_ok_and(|o| o.status.success())
}

/// Changed, staged and untracked paths, without `node_modules` and
/// `.openclaw-artifacts`, sorted and unique.
pub fn stageable_paths(env: &Env, wt: &Path) -> Vec<String> {
    let mut set = BTreeSet::new();
    for args in [
        &["diff", "--name-only", "--relative"][..],
        &["diff", "--cached", "--name-only", "--relative"][..],
        &["ls-files", "--others", "--exclude-standard"][..],
    ] {
        if let Ok(out) = run(env, wt, args) {
            set.extend(lines(&out));
        }
    }
    set.into_iter()
        .filter(|p| {
            !p.split('/').any(|c| c == "node_modules")
                && p != ".openclaw-artifacts"
                && !p.starts_with(".openclaw-artifacts/")
        })
        .collect()
}

/// Commits what the worker left uncommitted (nothing when clean). The
/// message is the first line of `commit-message.txt` in the run dir, else
/// a default naming the PR.
pub fn commit_leftovers(env: &Env, wt: &Path, run_dir: &Path, pr: &str) -> anyhow::Result<()> {
    for p in stageable_paths(env, wt) {
        run(
            env,
            wt,
            [OsStr::new("add"), OsStr::new("--"), OsStr::new(&p)],
        )?;
    }
    let clean = |args: &[&str]| run(env, wt, args).is_ok_and(|o| o.status.success());
    if clean(&["diff", "--cached", "--quiet"]) && clean(&["diff", "--quiet"]) {
        return Ok(());
    }
    let from_file = std::fs::read(run_dir.join("commit-message.txt"))
        .ok()
        .map(|b| {
            String::from_utf8_lossy(&b)
                .replace('\r', "")
                .lines()
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .unwrap_or_default();
    let message = if !from_file.is_empty() {
        from_file
    } else if merge_in_progress(env, wt) {
        format!("fix(pr): resolve merge drift for PR #{pr}")
    } else {
        format!("fix(pr): apply repair for PR #{pr}")
    };
    let out = run(env, wt, ["commit", "-m", &message])?;
    if !out.status.success() {
        anyhow::bail!(
            "git commit in {} failed: {}",
            wt.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// How many commits `HEAD` of `wt` has beyond the refreshed
/// `origin/<head_ref>`; `Err` is the stderr line when that is unknown.
pub fn commits_ahead(env: &Env, wt: &Path, head_ref: &str) -> Result<u64, String> {
    let refspec = format!("+refs/heads/{head_ref}:refs/remotes/origin/{head_ref}");
    let fetched = run(env, wt, ["fetch", "origin", &refspec, "--prune"]);
    if !fetched.is_ok_and(|o| o.status.success()) {
        return Err(format!(
            "unable to refresh remote tracking ref for PR head {head_ref}"
        ));
    }
    let range = format!("origin/{head_ref}..HEAD");
    match run(env, wt, ["rev-list", "--count", &range]) {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .trim()
            .parse()
            .map_err(|_| format!("unexpected rev-list output in {}", wt.display())),
        _ => Err(format!("git rev-list {range} failed in {}", wt.display())),
    }
}

/// `git push origin HEAD:<head_ref>`; `Err` carries git's message.
pub fn push(env: &Env, wt: &Path, head_ref: &str) -> anyhow::Result<()> {
    let target = format!("HEAD:{head_ref}");
    let out = run(env, wt, ["push", "origin", &target])?;
    if !out.status.success() {
        anyhow::bail!(
            "git push origin {target} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Paths still in conflict: the unmerged index entries while a merge is in
/// progress, else what a merge of `origin/<base>` into `HEAD` would leave
/// conflicted. Pseudo paths name why it could not be computed.
pub fn remaining_conflicts(
    env: &Env,
    wt: Option<&Path>,
    repo_root: &Path,
    base: &str,
) -> Vec<String> {
    let Some(wt) = wt else {
        return vec!["__missing_worktree__".into()];
    };
    if merge_in_progress(env, wt) {
        let out = run(env, wt, ["ls-files", "-u"]).map(|o| lines(&o));
        let mut seen = Vec::new();
        for l in out.unwrap_or_default() {
            if let Some((_, path)) = l.split_once('\t')
                && !seen.iter().any(|p: &String| p == path)
            {
                seen.push(path.to_string());
            }
        }
        return seen;
    }
    let refspec = format!("+refs/heads/{base}:refs/remotes/origin/{base}");
    if !run(env, repo_root, ["fetch", "origin", &refspec, "--prune"])
        .is_ok_and(|o| o.status.success())
    {
        return vec![format!("__unable_to_fetch_base_ref__:{base}")];
    }
    let other = format!("origin/{base}");
    let merge_base = run(env, wt, ["merge-base", "HEAD", &other])
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if merge_base.is_empty() {
        return vec![format!("__unable_to_compute_merge_base__:{base}")];
    }
    let out = run(env, wt, ["merge-tree", &merge_base, "HEAD", &other])
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    legacy_merge_tree_conflicts(&out)
}

/// The paths of the "changed in both" sections of legacy `git merge-tree`
/// output.
fn legacy_merge_tree_conflicts(text: &str) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut capture = false;
    for line in text.lines() {
        if line == "changed in both" {
            capture = true;
            continue;
        }
        if capture
            && (line.starts_with("  base  ")
                || line.starts_with("  our  ")
                || line.starts_with("  their  "))
        {
            if let Some(path) = line.split_whitespace().last()
                && !seen.iter().any(|p| p == path)
            {
                seen.push(path.to_string());
            }
        } else if capture && line.starts_with("@@ ") {
            capture = false;
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_tree_sections() {
        let text = "changed in both\n  base   100644 a f.txt\n  our    100644 b f.txt\n  their  100644 c f.txt\n@@ -1 +1 @@\n";
        assert_eq!(legacy_merge_tree_conflicts(text), ["f.txt"]);
    }
}
