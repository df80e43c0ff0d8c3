//! `profile-adopt.sh`: make an installed profile runnable on this machine.
//!
//! Smoke-check it (sibling `profile-smoke.sh`), create its runtime roots,
//! copy its YAML into the agent root, seed the anchor repo (sibling
//! `sync-agent-repo.sh`) and write the VS Code workspace (sibling
//! `sync-vscode-workspace.sh`), copying that file into the agent root too.

use std::path::{Path, PathBuf};

use acp_core::config::{self, FlowConfig};
use acp_core::{Env, fail, fsx};

use super::{Sibling, run, text};

/// The flags of `profile-adopt.sh`.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// `--profile-id` (else `ACP_PROJECT_ID`/`AGENT_PROJECT_ID`, else the default profile).
    pub profile_id: String,
    pub source_repo_root: String,
    pub skip_anchor_sync: bool,
    pub skip_workspace_sync: bool,
    pub allow_missing_repo: bool,
}

/// What adopt did, in its output order.
#[derive(Debug, Clone)]
pub struct Report {
    pub lines: Vec<(&'static str, String)>,
}

/// `git` when `path` holds `.git`, `exists` when it exists, else `missing`.
pub fn path_status(path: &Path) -> &'static str {
    if path.as_os_str().is_empty() {
        "missing"
    } else if path.join(".git").exists() {
        "git"
    } else if path.exists() {
        "exists"
    } else {
        "missing"
    }
}

fn has_remote(env: &Env, repo: &Path, remote: &str) -> bool {
    !repo.as_os_str().is_empty()
        && repo.join(".git").exists()
        && acp_core::git::capture(env, repo, &["remote", "get-url", remote]).is_some()
}

/// The profile the request names and the environment that selects it.
fn select(env: &Env, req: &Request) -> anyhow::Result<(Env, PathBuf, String)> {
    let mut env = env.clone();
    config::export_env_aliases(&mut env);
    if !req.profile_id.is_empty() {
        if !config::is_valid_profile_id(&req.profile_id) {
            return Err(fail(
                1,
                format!(
                    "[profile-adopt] invalid profile id: {}",
                    req.profile_id.escape_debug()
                ),
            ));
        }
        // A named profile is read from its registry directory, never from
        // a config file pinned by an earlier `profile-activate` (F10).
        for key in [
            "AGENT_CONTROL_PLANE_CONFIG",
            "ACP_CONFIG",
            "AGENT_PROJECT_CONFIG_PATH",
            "F_LOSNING_FLOW_CONFIG",
        ] {
            env.remove(key);
        }
        env.set("ACP_PROJECT_ID", &req.profile_id);
        env.set("AGENT_PROJECT_ID", &req.profile_id);
    }
    let config_yaml = config::config_path(&env);
    if !config_yaml.is_file() {
        return Err(fail(
            1,
            format!(
                "[profile-adopt] missing installed profile config: {}",
                config_yaml.display()
            ),
        ));
    }
    // The identity is the registry directory when the config lives there.
    let registry = config::registry_root(&env);
    let dir = config_yaml.parent().unwrap_or(Path::new(""));
    let id = match (dir.parent(), dir.file_name()) {
        (Some(parent), Some(name)) if parent == registry => name.to_string_lossy().into_owned(),
        _ => {
            let cfg = FlowConfig::from_path(&config_yaml)?;
            config::adapter_id(&env, &cfg)
        }
    };
    env.set("ACP_PROJECT_ID", &id);
    env.set("AGENT_PROJECT_ID", &id);
    Ok((env, config_yaml, id))
}

/// Replaces `target` (file, link or directory) by a copy of `source`;
/// nothing when both name the same file.
fn copy_into_runtime(source: &Path, target: &Path) -> anyhow::Result<()> {
    if let (Ok(a), Ok(b)) = (std::fs::canonicalize(source), std::fs::canonicalize(target))
        && a == b
    {
        return Ok(());
    }
    let bytes = fsx::read(source)?;
    if target.is_dir() && !target.is_symlink() {
        std::fs::remove_dir_all(target)
            .map_err(|e| anyhow::anyhow!("{}: cannot remove: {e}", target.display()))?;
    } else {
        fsx::remove_file_if_exists(target)?;
    }
    fsx::atomic_write(target, &bytes)
}

/// A sibling step's failure as an error with its exit code and stderr.
fn step_failed(name: &str, out: &std::process::Output) -> anyhow::Error {
    let code = acp_core::process::exit_code(out.status);
    let err = String::from_utf8_lossy(&out.stderr);
    let err = err.trim_end();
    if err.is_empty() {
        fail(code, format!("[profile-adopt] {name} failed (exit {code})"))
    } else {
        fail(code, err.to_string())
    }
}

/// The profile's resolved settings.
struct Resolved {
    id: String,
    config_yaml: PathBuf,
    slug: String,
    branch: String,
    label: String,
    remote: String,
    repo_root: PathBuf,
    source: PathBuf,
    agent_repo_root: PathBuf,
    agent_root: PathBuf,
    runs: PathBuf,
    state: PathBuf,
    history: PathBuf,
    worktrees: PathBuf,
    retained: PathBuf,
    workspace: PathBuf,
}

impl Resolved {
    fn new(env: &Env, cfg: &FlowConfig, id: String, req: &Request) -> Self {
        let slug = config::repo_slug(env, cfg);
        let label = match slug.rsplit('/').next() {
            Some(l) if !l.is_empty() => l.to_string(),
            _ => id.clone(),
        };
        let retained = config::retained_repo_root(env, cfg);
        let source = if req.source_repo_root.is_empty() {
            env.path("ACP_SOURCE_REPO_ROOT")
                .unwrap_or_else(|| retained.clone())
        } else {
            PathBuf::from(&req.source_repo_root)
        };
        Self {
            id,
            config_yaml: cfg.path.clone(),
            branch: config::default_branch_setting(env, cfg).unwrap_or_else(|| "main".into()),
            label,
            slug,
            remote: env.first_or(&["ACP_REMOTE_NAME"], "origin"),
            repo_root: config::repo_root(env, cfg),
            source,
            agent_repo_root: config::agent_repo_root(env, cfg),
            agent_root: config::agent_root(env, cfg),
            runs: config::runs_root(env, cfg),
            state: config::state_root(env, cfg),
            history: config::history_root(env, cfg),
            worktrees: config::worktree_root(env, cfg),
            retained,
            workspace: config::vscode_workspace_file(env, cfg),
        }
    }

    fn profile_link(&self) -> PathBuf {
        self.agent_root.join(config::CONFIG_FILE_NAME)
    }

    fn workspace_link(&self) -> PathBuf {
        self.agent_root.join("workspace.code-workspace")
    }
}

/// Adopts the profile. Errors carry the exit code (1 for the original's
/// checks, the sibling's own code when a sync step fails).
pub fn adopt(env: &Env, sibling: &Sibling, req: &Request) -> anyhow::Result<Report> {
    let (env, config_yaml, id) = select(env, req)?;
    let cfg =
        FlowConfig::from_path(&config_yaml).map_err(|e| fail(1, acp_core::cli::error_line(&e)))?;
    let r = Resolved::new(&env, &cfg, id, req);

    let mut smoke = sibling.command(&env, "profile-smoke.sh");
    smoke.args(["--profile-id", &r.id]);
    let out = run(&mut smoke)?;
    if !out.status.success() {
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        return Err(fail(1, text.trim_end().to_string()));
    }

    for dir in [&r.agent_root, &r.runs, &r.state, &r.history, &r.worktrees] {
        fsx::create_dir_all(dir)?;
    }
    fsx::create_dir_all(&fsx::parent_dir(&r.workspace))?;
    copy_into_runtime(&r.config_yaml, &r.profile_link())?;

    let before = [
        path_status(&r.repo_root),
        path_status(&r.source),
        path_status(&r.agent_repo_root),
    ];
    let (anchor, workspace, warnings) = sync_steps(&env, sibling, &r, req)?;
    if r.workspace.is_file() {
        copy_into_runtime(&r.workspace, &r.workspace_link())?;
    } else {
        let link = r.workspace_link();
        if link.is_file() || link.is_symlink() {
            fsx::remove_file_if_exists(&link)?;
        }
    }
    if anchor != "ok" && !r.agent_repo_root.exists() {
        fsx::create_dir_all(&r.agent_repo_root)?;
    }
    Ok(Report {
        lines: report_lines(&env, &r, before, anchor, workspace, warnings),
    })
}

/// The anchor and workspace syncs: (anchor status, workspace status, warnings).
fn sync_steps(
    env: &Env,
    sibling: &Sibling,
    r: &Resolved,
    req: &Request,
) -> anyhow::Result<(&'static str, &'static str, u32)> {
    let mut warnings = 0;
    let mut step_env = env.clone();
    step_env.set("ACP_REPO_ROOT", &r.repo_root);
    step_env.set("ACP_AGENT_REPO_ROOT", &r.agent_repo_root);
    step_env.set("ACP_RETAINED_REPO_ROOT", &r.retained);
    step_env.set("ACP_DEFAULT_BRANCH", &r.branch);
    let anchor = if req.skip_anchor_sync {
        "skipped"
    } else if has_remote(env, &r.repo_root, &r.remote) || has_remote(env, &r.source, &r.remote) {
        let mut e = step_env.clone();
        e.set("ACP_SOURCE_REPO_ROOT", &r.source);
        e.set("ACP_REMOTE_NAME", &r.remote);
        let out = run(&mut sibling.command(&e, "sync-agent-repo.sh"))?;
        if !out.status.success() {
            return Err(step_failed("sync-agent-repo.sh", &out));
        }
        "ok"
    } else if req.allow_missing_repo {
        warnings += 1;
        "skipped-missing-repo"
    } else {
        return Err(fail(
            1,
            format!(
                "[profile-adopt] no Git source with remote '{}' for profile {}",
                r.remote, r.id
            ),
        ));
    };
    let workspace = if req.skip_workspace_sync {
        "skipped"
    } else {
        let mut e = step_env;
        e.set("ACP_VSCODE_WORKSPACE_FILE", &r.workspace);
        let out = run(&mut sibling.command(&e, "sync-vscode-workspace.sh"))?;
        if !out.status.success() {
            return Err(step_failed("sync-vscode-workspace.sh", &out));
        }
        "ok"
    };
    Ok((anchor, workspace, warnings))
}

fn report_lines(
    env: &Env,
    r: &Resolved,
    before: [&'static str; 3],
    anchor: &'static str,
    workspace: &'static str,
    warnings: u32,
) -> Vec<(&'static str, String)> {
    let t = text;
    vec![
        ("PROFILE_ID", r.id.clone()),
        ("PROJECT_LABEL", r.label.clone()),
        ("PROFILE_REGISTRY_ROOT", t(&config::registry_root(env))),
        ("INSTALLED_PROFILE_DIR", t(&fsx::parent_dir(&r.config_yaml))),
        ("CONFIG_YAML", t(&r.config_yaml)),
        ("REPO_SLUG", r.slug.clone()),
        ("DEFAULT_BRANCH", r.branch.clone()),
        ("REMOTE_NAME", r.remote.clone()),
        ("REPO_ROOT", t(&r.repo_root)),
        ("SOURCE_REPO_ROOT", t(&r.source)),
        ("AGENT_REPO_ROOT", t(&r.agent_repo_root)),
        ("AGENT_ROOT", t(&r.agent_root)),
        ("RUNS_ROOT", t(&r.runs)),
        ("STATE_ROOT", t(&r.state)),
        ("HISTORY_ROOT", t(&r.history)),
        ("WORKTREE_ROOT", t(&r.worktrees)),
        ("VSCODE_WORKSPACE_FILE", t(&r.workspace)),
        ("PROFILE_LINK", t(&r.profile_link())),
        ("WORKSPACE_LINK", t(&r.workspace_link())),
        ("CANONICAL_REPO_STATUS", before[0].into()),
        ("SOURCE_REPO_STATUS", before[1].into()),
        ("AGENT_REPO_STATUS_BEFORE", before[2].into()),
        (
            "AGENT_REPO_STATUS_AFTER",
            path_status(&r.agent_repo_root).into(),
        ),
        ("WORKSPACE_FILE_STATUS", path_status(&r.workspace).into()),
        ("PROFILE_SMOKE_STATUS", "ok".into()),
        ("ANCHOR_SYNC_STATUS", anchor.into()),
        ("WORKSPACE_SYNC_STATUS", workspace.into()),
        ("WARNING_COUNT", warnings.to_string()),
        (
            "ADOPT_STATUS",
            if warnings > 0 {
                "ok-with-warnings"
            } else {
                "ok"
            }
            .into(),
        ),
    ]
}
