//! Creating a task branch and its worktree with a session env file
//! (`agent-init-worktree`): the plan ([`plan`]), the env file
//! ([`env_file_bytes`]) and the creation ([`create`]).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use acp_core::shellquote::{QuoteLocale, quote};
use acp_core::{Env, fail, git};

use super::{naming, repo};

/// The env file written into every new worktree.
pub const ENV_FILE: &str = ".agent-session.env";

/// What the caller asked for.
#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    pub branch: String,
    pub base: Option<String>,
    pub path: Option<PathBuf>,
    pub claim: Option<String>,
    pub remote: String,
    /// `ACP_DEFAULT_BRANCH`, tried after the remote's HEAD.
    pub default_branch: Option<String>,
    /// `AO_SESSION_ID`.
    pub session_id: Option<String>,
}

/// Everything `agent-init-worktree` decided before changing anything.
#[derive(Debug, Clone)]
pub struct InitPlan {
    pub repo_root: PathBuf,
    pub source_root: PathBuf,
    pub branch: String,
    pub base_ref: String,
    pub worktree_path: PathBuf,
    pub namespace: String,
    pub run_id: String,
    pub branch_exists: bool,
    pub claim: Option<String>,
}

impl InitPlan {
    /// `<worktree>/.agent-session.env`.
    pub fn env_file(&self) -> PathBuf {
        self.worktree_path.join(ENV_FILE)
    }
}

/// The base when none is given: the branch `<remote>/HEAD` names, else the
/// configured default branch (remote-tracking ref, else local), else `HEAD`.
pub fn default_base(env: &Env, dir: &Path, remote: &str, default_branch: Option<&str>) -> String {
    if let Some(b) = super::settings::remote_head_branch(env, dir, remote) {
        return format!("{remote}/{b}");
    }
    if let Some(b) = default_branch.filter(|b| !b.is_empty()) {
        if repo::has_ref(env, dir, &format!("refs/remotes/{remote}/{b}")) {
            return format!("{remote}/{b}");
        }
        if repo::has_ref(env, dir, &format!("refs/heads/{b}")) {
            return b.to_string();
        }
    }
    "HEAD".to_string()
}

/// Decides branch, base, path and names, run in `cwd` (inside the parent
/// repository). Refuses protected and invalid branch names, a cwd outside a
/// repository and an existing path.
pub fn plan(env: &Env, cwd: &Path, o: &InitOptions) -> anyhow::Result<InitPlan> {
    let repo_root = git::capture(env, cwd, &["rev-parse", "--show-toplevel"])
        .map(PathBuf::from)
        .ok_or_else(|| fail(1, format!("not inside a git repository: {}", cwd.display())))?;
    if !repo::valid_branch_name(env, cwd, &o.branch) {
        return Err(fail(1, format!("invalid branch name: {:?}", o.branch)));
    }
    let source_root = repo::main_checkout(env, cwd).unwrap_or_else(|| repo_root.clone());
    let slug = naming::branch_slug(&o.branch);
    if slug.is_empty() {
        return Err(fail(
            1,
            format!("Failed to derive branch slug from: {}", o.branch),
        ));
    }
    let base_ref = match o.base.as_deref().filter(|b| !b.is_empty()) {
        Some(b) => b.to_string(),
        None => default_base(env, cwd, &o.remote, o.default_branch.as_deref()),
    };
    let worktree_path = match &o.path {
        Some(p) if !p.as_os_str().is_empty() => p.clone(),
        _ => {
            let mut name: OsString = source_root
                .file_name()
                .map(|n| n.to_os_string())
                .unwrap_or_default();
            name.push("-");
            name.push(&slug);
            source_root
                .parent()
                .map(|p| p.join(&name))
                .unwrap_or_else(|| PathBuf::from(&name))
        }
    };
    let branch_exists = repo::has_ref(env, cwd, &format!("refs/heads/{}", o.branch));
    if worktree_path.exists() || worktree_path.is_symlink() {
        return Err(fail(
            1,
            format!("Worktree path already exists: {}", worktree_path.display()),
        ));
    }
    let run_id = o
        .session_id
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("{slug}-{}", std::process::id()));
    Ok(InitPlan {
        repo_root,
        source_root,
        branch: o.branch.clone(),
        base_ref,
        worktree_path,
        namespace: naming::namespace(&slug),
        run_id,
        branch_exists,
        claim: o.claim.clone().filter(|c| !c.is_empty()),
    })
}

/// The env file: `export KEY=<value>` lines, every value quoted as bash's
/// `printf %q` does (0.2.0 wrapped them in single quotes without escaping).
pub fn env_file_bytes(p: &InitPlan, locale: QuoteLocale) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    let mut pairs: Vec<(&str, &[u8])> = vec![
        ("AGENT_TASK_BRANCH", p.branch.as_bytes()),
        (
            "AGENT_WORKTREE_PATH",
            p.worktree_path.as_os_str().as_bytes(),
        ),
        ("TEST_RUN_ID", p.run_id.as_bytes()),
        ("API_TEST_RUN_ID", p.run_id.as_bytes()),
        ("TEST_SEED_NAMESPACE", p.namespace.as_bytes()),
        ("E2E_SEED_NAMESPACE", p.namespace.as_bytes()),
        ("MOBILE_SEED_NAMESPACE", p.namespace.as_bytes()),
    ];
    if let Some(c) = &p.claim {
        pairs.push(("AGENT_TASK_CLAIM", c.as_bytes()));
    }
    let mut out = Vec::new();
    for (k, v) in pairs {
        out.extend_from_slice(b"export ");
        out.extend_from_slice(k.as_bytes());
        out.push(b'=');
        out.extend(quote(v, locale));
        out.push(b'\n');
    }
    out
}

/// Adds the worktree (new branch from the base, or the existing branch)
/// and writes its env file.
pub fn create(env: &Env, cwd: &Path, p: &InitPlan, locale: QuoteLocale) -> anyhow::Result<()> {
    repo::add(env, cwd, &p.branch, &p.worktree_path, &p.base_ref)?;
    acp_core::fsx::atomic_write(&p.env_file(), &env_file_bytes(p, locale))
}
