//! `project-remove.sh`: uninstall one profile and the state it owns.
//!
//! Before anything is deleted each path is checked (spec 8 item 11): it
//! must be absolute; it must not be, contain or lie inside a place that is
//! not this profile's (the file system root, `$HOME`, the platform home and
//! its registry, runtime home, `projects/` and `logs/`, the package root);
//! it must not be, contain or lie inside a root of another installed
//! profile; and a root that holds a path kept back is kept too. The repo,
//! worktree, retained and workspace paths are deleted only with
//! `--purge-paths` or when they lie in this profile's own managed areas
//! (`/tmp/agent-control-plane-<id>`, `<platform home>/projects/<id>`).
//! Paths come from the profile's YAML and the lib defaults only: path
//! variables of the caller's environment are ignored here.

use std::io::Write;
use std::path::{Path, PathBuf};

use acp_core::config::{self, FlowConfig};
use acp_core::{Env, fail, fsx};

use super::{Sibling, run, text};

/// The flags of `project-remove.sh`.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub profile_id: String,
    pub purge_paths: bool,
    pub skip_stop: bool,
}

/// What was removed and what was kept back.
#[derive(Debug, Clone)]
pub struct Report {
    pub profile_id: String,
    pub registry: PathBuf,
    pub purge_paths: bool,
    pub skip_stop: bool,
    pub removed: Vec<PathBuf>,
    pub skipped: Vec<PathBuf>,
}

/// The per-path variables a removal never takes from the environment.
const PATH_VARS: &[&str] = &[
    "REPO_ROOT",
    "AGENT_ROOT",
    "AGENT_REPO_ROOT",
    "WORKTREE_ROOT",
    "RUNS_ROOT",
    "STATE_ROOT",
    "HISTORY_ROOT",
    "RETAINED_REPO_ROOT",
    "VSCODE_WORKSPACE_FILE",
];

/// The environment profile `id` is resolved in.
fn profile_env(env: &Env, id: &str) -> Env {
    let mut env = env.clone();
    config::export_env_aliases(&mut env);
    for key in [
        "AGENT_CONTROL_PLANE_CONFIG",
        "ACP_CONFIG",
        "AGENT_PROJECT_CONFIG_PATH",
        "F_LOSNING_FLOW_CONFIG",
    ] {
        env.remove(key);
    }
    for v in PATH_VARS {
        env.remove(&format!("ACP_{v}"));
        env.remove(&format!("F_LOSNING_{v}"));
    }
    env.set("ACP_PROJECT_ID", id);
    env.set("AGENT_PROJECT_ID", id);
    env
}

/// Every root a profile's YAML (plus defaults) names.
struct Roots {
    runs: PathBuf,
    state: PathBuf,
    history: PathBuf,
    agent_root: PathBuf,
    worktrees: PathBuf,
    retained: PathBuf,
    workspace: PathBuf,
    repo_root: PathBuf,
    agent_repo_root: PathBuf,
}

impl Roots {
    fn of(env: &Env, cfg: &FlowConfig) -> Self {
        Self {
            runs: config::runs_root(env, cfg),
            state: config::state_root(env, cfg),
            history: config::history_root(env, cfg),
            agent_root: config::agent_root(env, cfg),
            worktrees: config::worktree_root(env, cfg),
            retained: config::retained_repo_root(env, cfg),
            workspace: config::vscode_workspace_file(env, cfg),
            repo_root: config::repo_root(env, cfg),
            agent_repo_root: config::agent_repo_root(env, cfg),
        }
    }

    fn all(&self) -> [&PathBuf; 9] {
        [
            &self.runs,
            &self.state,
            &self.history,
            &self.agent_root,
            &self.worktrees,
            &self.retained,
            &self.workspace,
            &self.repo_root,
            &self.agent_repo_root,
        ]
    }
}

/// `path` normalised (and made physical where it exists), for comparisons.
fn norm(path: &Path) -> PathBuf {
    super::physical(&fsx::normalize_lexically(path))
}

/// Whether one of `a`, `b` lies inside (or is) the other.
fn overlaps(a: &Path, b: &Path) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// The places a removal must not touch.
struct Guard {
    /// Places that must not be deleted nor contained by a deleted path.
    protected: Vec<PathBuf>,
    /// Places nothing inside of which may be deleted.
    fenced: Vec<PathBuf>,
    /// Roots of the other installed profiles.
    others: Vec<PathBuf>,
    /// This profile's managed areas.
    managed: Vec<PathBuf>,
    registry: PathBuf,
    registry_dir: PathBuf,
}

impl Guard {
    fn new(env: &Env, id: &str, skill_root: &Path) -> Self {
        let platform = config::platform_home(env);
        let registry = config::registry_root(env);
        let mut protected: Vec<PathBuf> = [
            PathBuf::from("/"),
            PathBuf::from("/tmp"),
            env.home(),
            env.home().join(".agent-runtime"),
            platform.clone(),
            platform.join("projects"),
            platform.join("control-plane"),
            registry.clone(),
            skill_root.to_path_buf(),
        ]
        .iter()
        .map(|p| norm(p))
        .collect();
        protected.extend(env.path("TMPDIR").map(|p| norm(&p)));
        let fenced = [
            platform.join("runtime-home"),
            platform.join("logs"),
            skill_root.to_path_buf(),
        ]
        .iter()
        .map(|p| norm(p))
        .collect();
        let mut others = Vec::new();
        for other in config::profile_ids(env).into_iter().filter(|o| o != id) {
            let dir = config::profile_dir(env, &other);
            others.push(norm(&dir));
            let oenv = profile_env(env, &other);
            // An unreadable profile only protects its registry directory.
            if let Ok(cfg) = FlowConfig::from_path(&dir.join(config::CONFIG_FILE_NAME)) {
                let roots = Roots::of(&oenv, &cfg);
                others.extend(roots.all().iter().map(|p| norm(p)));
            }
        }
        Self {
            protected,
            fenced,
            others,
            managed: vec![
                norm(Path::new(&format!("/tmp/agent-control-plane-{id}"))),
                norm(&platform.join("projects").join(id)),
            ],
            registry_dir: norm(&registry.join(id)),
            registry: norm(&registry),
        }
    }

    /// Whether `path` may be deleted as far as other owners go.
    fn allowed(&self, path: &Path) -> bool {
        if !path.is_absolute() {
            return false;
        }
        let p = norm(path);
        if self.protected.iter().any(|q| q.starts_with(&p)) {
            return false;
        }
        if self.fenced.iter().any(|q| overlaps(q, &p)) {
            return false;
        }
        // Inside the registry only this profile's own directory.
        if p.starts_with(&self.registry) && !p.starts_with(&self.registry_dir) {
            return false;
        }
        !self.others.iter().any(|q| overlaps(q, &p))
    }

    fn managed(&self, path: &Path) -> bool {
        let p = norm(path);
        self.managed.iter().any(|m| p.starts_with(m))
    }
}

/// Removes `path` (a link or file is unlinked, a directory removed with its
/// contents, links inside it never followed).
fn remove_path(path: &Path) -> anyhow::Result<()> {
    let meta =
        std::fs::symlink_metadata(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let result = if meta.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    result.map_err(|e| anyhow::anyhow!("{}: cannot remove: {e}", path.display()))
}

fn exists(path: &Path) -> bool {
    path.symlink_metadata().is_ok()
}

/// The stop and launchd steps before deletion.
fn stop_runtime(
    env: &Env,
    sibling: &Sibling,
    req: &Request,
    err: &mut dyn Write,
) -> anyhow::Result<()> {
    let id = &req.profile_id;
    if !req.skip_stop {
        let mut cmd = match env.path("ACP_PROJECT_REMOVE_RUNTIMECTL_SCRIPT") {
            Some(script) => sibling.script_command(env, &script),
            None => sibling.command(env, "project-runtimectl.sh"),
        };
        cmd.args(["stop", "--profile-id", id]);
        let out = run(&mut cmd)?;
        err.write_all(&out.stderr)?;
        if !out.status.success() {
            return Err(fail(acp_core::process::exit_code(out.status), ""));
        }
    }
    let uninstall = env
        .path("ACP_PROJECT_REMOVE_LAUNCHD_UNINSTALL_SCRIPT")
        .unwrap_or_else(|| {
            sibling
                .skill_root
                .join("tools/bin/uninstall-project-launchd.sh")
        });
    if fsx::is_executable(&uninstall) {
        let mut cmd = sibling.script_command(env, &uninstall);
        cmd.args(["--profile-id", id]);
        // Best effort, as before: a failed uninstall does not stop the removal.
        let _ = run(&mut cmd);
    }
    Ok(())
}

/// Removes the profile. Errors: 64 for a missing or invalid id, 66 when the
/// profile is not installed, the runtime controller's code when stopping fails.
pub fn remove(
    env: &Env,
    sibling: &Sibling,
    req: &Request,
    err: &mut dyn Write,
) -> anyhow::Result<Report> {
    let id = req.profile_id.as_str();
    acp_core::cli::require(id, "--profile-id", 64)?;
    if !config::is_valid_profile_id(id) {
        return Err(fail(
            64,
            format!("invalid profile id: {}", id.escape_debug()),
        ));
    }
    let env = profile_env(env, id);
    let profile_dir = config::profile_dir(&env, id);
    let config_yaml = profile_dir.join(config::CONFIG_FILE_NAME);
    if !config_yaml.is_file() {
        return Err(fail(66, format!("profile not installed: {id}")));
    }
    let cfg =
        FlowConfig::from_path(&config_yaml).map_err(|e| fail(1, acp_core::cli::error_line(&e)))?;
    let roots = Roots::of(&env, &cfg);
    let guard = Guard::new(&env, id, &sibling.skill_root);
    stop_runtime(&env, sibling, req, err)?;

    // Decide first (a root that holds a kept path is kept), then delete in
    // the original's order.
    let optional = [
        &roots.worktrees,
        &roots.retained,
        &roots.workspace,
        &roots.repo_root,
    ];
    let keep_optional: Vec<PathBuf> = optional
        .iter()
        .filter(|p| !(guard.allowed(p) && (req.purge_paths || guard.managed(p))))
        .map(|p| norm(p))
        .collect();
    let owned_ok = |p: &Path| {
        guard.allowed(p) && {
            let n = norm(p);
            !keep_optional.iter().any(|k| k.starts_with(&n))
        }
    };
    let mut plan: Vec<(&Path, bool)> = Vec::new();
    for p in [&roots.runs, &roots.state, &roots.history, &roots.agent_root] {
        plan.push((p, owned_ok(p)));
    }
    for p in optional {
        plan.push((p, !keep_optional.contains(&norm(p)) && owned_ok(p)));
    }
    plan.push((&profile_dir, owned_ok(&profile_dir)));

    let (mut removed, mut skipped) = (Vec::new(), Vec::new());
    for (path, delete) in plan {
        if path.as_os_str().is_empty() || !exists(path) {
            continue;
        }
        if delete {
            remove_path(path)?;
            removed.push(path.to_path_buf());
        } else {
            skipped.push(path.to_path_buf());
        }
    }
    Ok(Report {
        profile_id: id.to_string(),
        registry: config::registry_root(&env),
        purge_paths: req.purge_paths,
        skip_stop: req.skip_stop,
        removed,
        skipped,
    })
}

impl Report {
    /// The result lines.
    pub fn lines(&self) -> Vec<(&'static str, String)> {
        let join = |v: &[PathBuf]| v.iter().map(|p| text(p)).collect::<Vec<_>>().join(",");
        let flag = |b: bool| if b { "1" } else { "0" }.to_string();
        vec![
            ("PROJECT_REMOVE_STATUS", "ok".into()),
            ("PROFILE_ID", self.profile_id.clone()),
            ("PROFILE_REGISTRY_ROOT", text(&self.registry)),
            ("PURGE_PATHS", flag(self.purge_paths)),
            ("SKIP_STOP", flag(self.skip_stop)),
            ("REMOVED_PATHS", join(&self.removed)),
            ("SKIPPED_PATHS", join(&self.skipped)),
        ]
    }
}
