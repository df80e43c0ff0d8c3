//! Creating and refreshing the anchor clone (`agent-project-sync-anchor-repo`).
//!
//! The canonical checkout only provides the remote's URL. The anchor is
//! cloned from it when absent, then fetched, pruned, and put on the default
//! branch at the remote's tip. Before anything in the anchor's working tree
//! is replaced, every uncommitted change that would be lost goes into one
//! stash named `acp-anchor-sync-<UTC stamp>`: changes to tracked files, and
//! untracked or ignored files that the new tip would overwrite. Untracked
//! files the new tip does not touch stay where they are. Local commits of
//! the default branch (or a detached HEAD) that the remote does not have are
//! kept on a branch `acp-anchor-backup/<stamp>/<branch>`.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use acp_core::{Env, fail};

use super::{branch, gitx, lock};

const TAG: &str = "[agent-sync-anchor]";

/// One sync.
#[derive(Debug, Clone)]
pub struct SyncRequest {
    /// A checkout that has `remote`; only its URL is used.
    pub canonical_root: PathBuf,
    pub anchor_root: PathBuf,
    pub remote: String,
    /// `None`: the branch the remote's HEAD names.
    pub default_branch: Option<String>,
    /// How long to wait for another sync of the same anchor.
    pub lock_wait: Duration,
}

/// What a sync did.
#[derive(Debug, Clone, Default)]
pub struct SyncOutcome {
    pub origin_url: OsString,
    pub default_branch: String,
    /// The stash message when uncommitted work was stashed.
    pub stash_message: Option<String>,
    /// Things an operator should know (stash made, commits kept on a branch).
    pub notes: Vec<String>,
}

/// Whether `dir` has a `.git` directory or file (the original's test).
pub fn is_checkout(dir: &Path) -> bool {
    let git = dir.join(".git");
    git.is_dir() || git.is_file()
}

fn is_empty_dir(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none())
}

/// Runs one sync; see the module documentation.
pub fn sync_anchor(env: &Env, req: &SyncRequest) -> anyhow::Result<SyncOutcome> {
    let (canonical, anchor) = (&req.canonical_root, &req.anchor_root);
    if !gitx::plain_ref_name(&req.remote) {
        return Err(fail(
            1,
            format!("{TAG} invalid remote name: {:?}", req.remote),
        ));
    }
    if !is_checkout(canonical) {
        return Err(fail(
            1,
            format!(
                "{TAG} canonical root is not a Git checkout: {}",
                canonical.display()
            ),
        ));
    }
    let origin_url = gitx::run(env, canonical, ["remote", "get-url", req.remote.as_str()])
        .map(trim_newline)
        .unwrap_or_default();
    if origin_url.is_empty() {
        return Err(fail(
            1,
            format!(
                "{TAG} missing remote '{}' in canonical repo: {}",
                req.remote,
                canonical.display()
            ),
        ));
    }
    let origin_url = OsString::from_vec(origin_url);
    acp_core::fsx::create_dir_all(&acp_core::fsx::parent_dir(anchor))?;
    let Some(_lock) = lock::acquire(anchor, req.lock_wait)? else {
        return Err(fail(
            1,
            format!(
                "{TAG} timed out waiting for anchor lock: {}",
                lock::lock_path(anchor).display()
            ),
        ));
    };
    if anchor.exists() && !is_checkout(anchor) && !is_empty_dir(anchor) {
        return Err(fail(
            1,
            format!(
                "{TAG} anchor root exists but is not a Git checkout: {}",
                anchor.display()
            ),
        ));
    }
    let default_branch = match &req.default_branch {
        Some(b) => b.clone(),
        None => detect_default_branch(env, req)?,
    };
    if !gitx::plain_ref_name(&default_branch) {
        return Err(fail(
            1,
            format!("{TAG} invalid default branch: {default_branch:?}"),
        ));
    }
    if !is_checkout(anchor) {
        clone(env, req, &origin_url, &default_branch)?;
    }
    refresh_remote(env, req, &origin_url, &default_branch)?;
    let mut outcome = SyncOutcome {
        origin_url,
        default_branch,
        ..SyncOutcome::default()
    };
    let remote_ref = format!("refs/remotes/{}/{}", req.remote, outcome.default_branch);
    if gitx::ok(
        env,
        anchor,
        ["show-ref", "--verify", "--quiet", remote_ref.as_str()],
    ) {
        move_to_tip(env, req, &mut outcome)?;
    }
    Ok(outcome)
}

fn trim_newline(mut bytes: Vec<u8>) -> Vec<u8> {
    while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        bytes.pop();
    }
    bytes
}

/// The remote's HEAD, asked through the canonical checkout, else through an
/// existing anchor.
fn detect_default_branch(env: &Env, req: &SyncRequest) -> anyhow::Result<String> {
    branch::remote_default_branch(env, &req.canonical_root, &req.remote)
        .or_else(|| {
            is_checkout(&req.anchor_root)
                .then(|| branch::remote_default_branch(env, &req.anchor_root, &req.remote))
                .flatten()
        })
        .ok_or_else(|| {
            fail(
                1,
                format!(
                    "{TAG} cannot tell the default branch of remote '{}' (its HEAD names none): \
                     pass --default-branch or set repo.default_branch in the profile",
                    req.remote
                ),
            )
        })
}

fn clone(env: &Env, req: &SyncRequest, url: &OsString, branch: &str) -> anyhow::Result<()> {
    let parent = acp_core::fsx::parent_dir(&req.anchor_root);
    let args: Vec<OsString> = [
        "clone",
        "--quiet",
        "--origin",
        req.remote.as_str(),
        "--branch",
        branch,
        "--single-branch",
        "--no-tags",
        "--",
    ]
    .iter()
    .map(OsString::from)
    .chain([url.clone(), req.anchor_root.clone().into_os_string()])
    .collect();
    gitx::run(env, &parent, &args).map_err(|e| {
        fail(
            1,
            format!(
                "{TAG} cannot clone {} into {}: {}",
                url.to_string_lossy(),
                req.anchor_root.display(),
                gitx::last_line(&e)
            ),
        )
    })?;
    Ok(())
}

/// Points the anchor's remote at `url` (adding it when missing), turns on
/// pruning, fetches (the default branch explicitly when the remote's
/// fetch refspec does not cover it) and prunes stale worktree entries
/// (locked ones stay).
fn refresh_remote(
    env: &Env,
    req: &SyncRequest,
    url: &OsString,
    branch: &str,
) -> anyhow::Result<()> {
    let anchor = &req.anchor_root;
    let r = req.remote.as_str();
    let verb = if gitx::ok(env, anchor, ["remote", "get-url", r]) {
        "set-url"
    } else {
        "add"
    };
    let set: Vec<OsString> = vec!["remote".into(), verb.into(), r.into(), url.clone()];
    let prune_key = format!("remote.{r}.prune");
    gitx::run(env, anchor, &set)
        .and_then(|_| gitx::run(env, anchor, ["config", prune_key.as_str(), "true"]))
        .and_then(|_| gitx::run(env, anchor, ["fetch", "--quiet", "--prune", r]))
        .map_err(|e| {
            fail(
                1,
                format!("{TAG} fetch from '{r}' failed: {}", gitx::last_line(&e)),
            )
        })?;
    let remote_ref = format!("refs/remotes/{r}/{branch}");
    if !gitx::ok(
        env,
        anchor,
        ["show-ref", "--verify", "--quiet", remote_ref.as_str()],
    ) {
        let spec = format!("+refs/heads/{branch}:{remote_ref}");
        // A branch the remote lacks is not an error here: there is nothing
        // to move the anchor to (as in the original).
        let _ = gitx::run(
            env,
            anchor,
            ["fetch", "--quiet", "--no-tags", r, spec.as_str()],
        );
    }
    let _ = gitx::run(env, anchor, ["worktree", "prune"]);
    Ok(())
}

/// Puts the anchor on the default branch at the remote's tip, after keeping
/// what that would lose.
fn move_to_tip(env: &Env, req: &SyncRequest, outcome: &mut SyncOutcome) -> anyhow::Result<()> {
    let anchor = &req.anchor_root;
    let branch = outcome.default_branch.clone();
    let tip = format!("{}/{}", req.remote, branch);
    refuse_branch_elsewhere(env, anchor, &branch)?;
    let stamp = acp_core::time::now_utc("%Y%m%dT%H%M%SZ");
    stash_what_would_be_lost(env, anchor, &tip, &stamp, outcome)?;
    keep_unpushed_commits(env, anchor, &branch, &tip, &stamp, outcome)?;
    let current = gitx::text(env, anchor, ["symbolic-ref", "--quiet", "--short", "HEAD"]);
    let step = |args: &[&str]| {
        gitx::run(env, anchor, args).map(|_| ()).map_err(|e| {
            fail(
                1,
                format!(
                    "{TAG} cannot move {} to {tip}: {}",
                    anchor.display(),
                    gitx::last_line(&e)
                ),
            )
        })
    };
    if current.as_deref() != Some(branch.as_str()) {
        step(&["checkout", "--quiet", "-B", &branch, &tip, "--"])?;
    }
    step(&["reset", "--quiet", "--hard", &tip])?;
    let upstream = format!("--set-upstream-to={tip}");
    let _ = gitx::run(
        env,
        anchor,
        ["branch", "--quiet", upstream.as_str(), branch.as_str()],
    );
    Ok(())
}

/// Refuses (changing nothing) when `branch` is checked out in a worktree
/// other than the anchor: git would not check it out twice, and resetting
/// it would pull the ground from under that worktree.
fn refuse_branch_elsewhere(env: &Env, anchor: &Path, branch: &str) -> anyhow::Result<()> {
    let Ok(list) = gitx::run(env, anchor, ["worktree", "list", "--porcelain", "-z"]) else {
        return Ok(());
    };
    let own = acp_core::fsx::canonical_or_given(anchor);
    let wanted = format!("branch refs/heads/{branch}");
    let mut path: Option<PathBuf> = None;
    for field in gitx::nul_fields(&list) {
        if let Some(p) = field.strip_prefix(b"worktree ") {
            path = Some(PathBuf::from(std::ffi::OsStr::from_bytes(p)));
        } else if field == wanted.as_bytes()
            && let Some(p) = &path
            && acp_core::fsx::canonical_or_given(p) != own
        {
            return Err(fail(
                1,
                format!(
                    "{TAG} branch '{branch}' is checked out in another worktree: {}; \
                     the anchor cannot be moved to it (nothing was changed)",
                    p.display()
                ),
            ));
        }
    }
    Ok(())
}

/// Paths of changed tracked files (both sides of a rename), NUL-safe.
fn dirty_tracked(env: &Env, anchor: &Path) -> anyhow::Result<Vec<Vec<u8>>> {
    let out = gitx::run(
        env,
        anchor,
        ["status", "--porcelain=v1", "-z", "--untracked-files=no"],
    )
    .map_err(|e| {
        fail(
            1,
            format!(
                "{TAG} cannot read the anchor's status: {}",
                gitx::last_line(&e)
            ),
        )
    })?;
    let mut paths = Vec::new();
    let mut fields = out.split(|b| *b == 0).filter(|f| !f.is_empty());
    while let Some(entry) = fields.next() {
        if entry.len() < 4 {
            continue;
        }
        paths.push(entry[3..].to_vec());
        if matches!(entry[0], b'R' | b'C') {
            paths.extend(fields.next().map(<[u8]>::to_vec));
        }
    }
    Ok(paths)
}

/// Untracked and ignored paths that moving to `tip` would overwrite or
/// remove (a file where `tip` has a file or a directory, a directory where
/// it has a file, files inside an untracked directory that `tip` tracks).
fn colliding_untracked(env: &Env, anchor: &Path, tip: &str) -> anyhow::Result<Vec<Vec<u8>>> {
    let read = |args: &[&str]| {
        gitx::run(env, anchor, args).map_err(|e| {
            fail(
                1,
                format!("{TAG} cannot list files: {}", gitx::last_line(&e)),
            )
        })
    };
    let others = read(&["ls-files", "-z", "--others", "--directory"])?;
    if others.is_empty() {
        return Ok(Vec::new());
    }
    let tree = read(&["ls-tree", "-r", "-z", "--name-only", "--full-tree", tip])?;
    let files: BTreeSet<&[u8]> = gitx::nul_fields(&tree).into_iter().collect();
    let mut dirs: BTreeSet<&[u8]> = BTreeSet::new();
    for f in &files {
        for (i, b) in f.iter().enumerate() {
            if *b == b'/' {
                dirs.insert(&f[..i]);
            }
        }
    }
    let ancestor_is_file = |p: &[u8]| {
        p.iter()
            .enumerate()
            .any(|(i, b)| *b == b'/' && files.contains(&p[..i]))
    };
    let mut hits = Vec::new();
    for entry in gitx::nul_fields(&others) {
        if let Some(dir) = entry.strip_suffix(b"/") {
            if files.contains(dir) || ancestor_is_file(dir) {
                hits.push(entry.to_vec());
                continue;
            }
            let under = files
                .range::<[u8], _>((std::ops::Bound::Included(entry), std::ops::Bound::Unbounded))
                .take_while(|f| f.starts_with(entry));
            for f in under {
                if std::fs::symlink_metadata(anchor.join(std::ffi::OsStr::from_bytes(f))).is_ok() {
                    hits.push(f.to_vec());
                }
            }
        } else if files.contains(entry) || dirs.contains(entry) || ancestor_is_file(entry) {
            hits.push(entry.to_vec());
        }
    }
    Ok(hits)
}

/// Stashes tracked changes and the untracked files in the way of `tip`,
/// as one stash named `acp-anchor-sync-<stamp>`; fails when the anchor is
/// still dirty afterwards.
fn stash_what_would_be_lost(
    env: &Env,
    anchor: &Path,
    tip: &str,
    stamp: &str,
    outcome: &mut SyncOutcome,
) -> anyhow::Result<()> {
    let tracked = dirty_tracked(env, anchor)?;
    let in_the_way = colliding_untracked(env, anchor, tip)?;
    if tracked.is_empty() && in_the_way.is_empty() {
        return Ok(());
    }
    let message = format!("acp-anchor-sync-{stamp}");
    let mut args: Vec<OsString> = vec!["stash".into(), "push".into()];
    if !in_the_way.is_empty() {
        args.push("--all".into());
    }
    args.extend(["--message".into(), OsString::from(&message)]);
    if !in_the_way.is_empty() {
        args.push("--".into());
        args.extend(
            tracked
                .iter()
                .chain(&in_the_way)
                .map(|p| OsString::from_vec([b":(literal,top)".as_slice(), p].concat())),
        );
    }
    gitx::run(env, anchor, &args).map_err(|e| {
        fail(
            1,
            format!(
                "{TAG} anchor repo is dirty and cannot be stashed ({}); refuse to reset: {}",
                gitx::last_line(&e),
                anchor.display()
            ),
        )
    })?;
    if !dirty_tracked(env, anchor)?.is_empty() {
        return Err(fail(
            1,
            format!(
                "{TAG} anchor repo is dirty; refuse to reset: {}",
                anchor.display()
            ),
        ));
    }
    outcome.notes.push(format!(
        "{TAG} kept uncommitted changes of {} in stash '{message}' ({} tracked, {} untracked in \
         the way); restore with: git -C <anchor> stash list; git stash apply --index stash@{{N}}",
        anchor.display(),
        tracked.len(),
        in_the_way.len()
    ));
    outcome.stash_message = Some(message);
    Ok(())
}

/// Keeps commits that the reset would drop: the local default branch's
/// commits missing from `tip`, and a detached HEAD on no branch.
fn keep_unpushed_commits(
    env: &Env,
    anchor: &Path,
    branch: &str,
    tip: &str,
    stamp: &str,
    outcome: &mut SyncOutcome,
) -> anyhow::Result<()> {
    let local = format!("refs/heads/{branch}");
    let mut keep: Vec<(String, String)> = Vec::new();
    if gitx::ok(
        env,
        anchor,
        ["show-ref", "--verify", "--quiet", local.as_str()],
    ) {
        let range = format!("{tip}..{local}");
        if gitx::text(env, anchor, ["rev-list", "--count", range.as_str()])
            .is_some_and(|n| n != "0")
        {
            keep.push((local.clone(), branch.to_string()));
        }
    }
    let detached = gitx::text(env, anchor, ["symbolic-ref", "--quiet", "HEAD"]).is_none();
    if detached
        && gitx::text(
            env,
            anchor,
            [
                "rev-list",
                "--count",
                "HEAD",
                "--not",
                "--branches",
                "--remotes",
            ],
        )
        .is_some_and(|n| n != "0")
    {
        keep.push(("HEAD".to_string(), "detached".to_string()));
    }
    for (rev, label) in keep {
        let name = format!("acp-anchor-backup/{stamp}/{label}");
        gitx::run(
            env,
            anchor,
            ["branch", "--quiet", name.as_str(), rev.as_str()],
        )
        .map_err(|e| {
            fail(
                1,
                format!(
                    "{TAG} cannot keep unpushed commits of {rev} on {name}: {}",
                    gitx::last_line(&e)
                ),
            )
        })?;
        outcome.notes.push(format!(
            "{TAG} commits of {rev} that '{tip}' lacks are kept on branch '{name}'"
        ));
    }
    Ok(())
}
