//! `project-init.sh`: scaffold -> smoke -> adopt -> publish the runtime copy.
//!
//! Each step is a sibling tool (or the script an `ACP_PROJECT_INIT_*_SCRIPT`
//! variable names), run with its stdout discarded and its stderr passed on;
//! the first failing step ends the run with that step's exit code. A
//! `--profile-home` reaches every step (as `ACP_PROFILE_REGISTRY_ROOT` for
//! smoke and adopt), not only scaffold.

use std::io::Write;
use std::path::{Path, PathBuf};

use acp_core::{Env, fail, fsx};

use super::{Sibling, github_remote_slug, run, text};

/// The flags of `project-init.sh` (empty = not given).
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// `(flag, value)` of the scaffold options, in the original's order
    /// (`--profile-id` and `--repo-slug` first).
    pub scaffold: Vec<(&'static str, String)>,
    pub force: bool,
    pub source_repo_root: String,
    pub skip_anchor_sync: bool,
    pub skip_workspace_sync: bool,
    pub allow_missing_repo: bool,
    pub skip_sync: bool,
    pub source_home: String,
    pub runtime_home: String,
}

/// The scaffold flags project-init forwards, in order.
pub const SCAFFOLD_FLAGS: &[&str] = &[
    "profile-id",
    "repo-slug",
    "profile-home",
    "repo-root",
    "agent-repo-root",
    "agent-root",
    "worktree-root",
    "retained-repo-root",
    "vscode-workspace-file",
    "coding-worker",
    "claude-model",
    "claude-permission-mode",
    "claude-effort",
    "claude-timeout-seconds",
    "claude-max-attempts",
    "claude-retry-backoff-seconds",
    "openclaw-model",
    "openclaw-thinking",
    "openclaw-timeout-seconds",
];

impl Request {
    /// The value of scaffold flag `name` ("" when not given).
    pub fn get(&self, name: &str) -> &str {
        self.scaffold
            .iter()
            .find(|(k, _)| *k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// The result lines.
#[derive(Debug, Clone)]
pub struct Report {
    pub lines: Vec<(&'static str, String)>,
}

/// The command of step `name`: the script named by `var` when set, else the sibling.
fn step(sibling: &Sibling, env: &Env, var: &str, name: &str) -> std::process::Command {
    match env.path(var) {
        Some(script) => sibling.script_command(env, &script),
        None => sibling.command(env, name),
    }
}

/// Runs a step: stdout dropped, stderr to `err`; a failure ends init with
/// the step's exit code (its stderr already passed on).
fn run_step(mut cmd: std::process::Command, err: &mut dyn Write) -> anyhow::Result<()> {
    let out = run(&mut cmd)?;
    err.write_all(&out.stderr)?;
    if !out.status.success() {
        return Err(fail(acp_core::process::exit_code(out.status), ""));
    }
    Ok(())
}

/// Runs project-init. Errors: 64 for a missing required flag, 1 for a repo
/// slug that disagrees with the checkout's `origin`, else a step's code.
pub fn init(
    env: &Env,
    sibling: &Sibling,
    req: &Request,
    err: &mut dyn Write,
) -> anyhow::Result<Report> {
    let id = req.get("profile-id").to_string();
    let slug = req.get("repo-slug").to_string();
    acp_core::cli::require(&id, "--profile-id", 64)?;
    acp_core::cli::require(&slug, "--repo-slug", 64)?;
    check_origin(env, req, &slug)?;

    let mut env = env.clone();
    acp_core::config::export_env_aliases(&mut env);
    let profile_home = req.get("profile-home");
    if !profile_home.is_empty() {
        env.remove("AGENT_CONTROL_PLANE_PROFILE_ROOT");
        env.set(
            "ACP_PROFILE_REGISTRY_ROOT",
            fsx::normalize_lexically(&sibling.cwd.join(profile_home)),
        );
    }
    let source_home = first_path(&req.source_home, &env, "ACP_PROJECT_INIT_SOURCE_HOME")
        .unwrap_or_else(|| acp_core::config::shared_agent_home(&env, &sibling.skill_root));
    let runtime_home = first_path(&req.runtime_home, &env, "ACP_PROJECT_INIT_RUNTIME_HOME")
        .unwrap_or_else(|| acp_core::config::platform_home(&env).join("runtime-home"));

    let mut scaffold = step(
        sibling,
        &env,
        "ACP_PROJECT_INIT_SCAFFOLD_SCRIPT",
        "scaffold-profile.sh",
    );
    for (flag, value) in &req.scaffold {
        if !value.is_empty() {
            scaffold.arg(format!("--{flag}")).arg(value);
        }
    }
    if req.force {
        scaffold.arg("--force");
    }
    run_step(scaffold, err)?;

    let mut smoke = step(
        sibling,
        &env,
        "ACP_PROJECT_INIT_SMOKE_SCRIPT",
        "profile-smoke.sh",
    );
    smoke.args(["--profile-id", &id]);
    run_step(smoke, err)?;

    let adopt = adopt_command(sibling, &env, req, &id);
    run_step(adopt, err)?;

    let sync_status = if req.skip_sync {
        "skipped"
    } else {
        let mut sync = step(
            sibling,
            &env,
            "ACP_PROJECT_INIT_SYNC_SCRIPT",
            "sync-shared-agent-home.sh",
        );
        sync.arg(&source_home).arg(&runtime_home);
        run_step(sync, err)?;
        "ok"
    };
    let registry = if profile_home.is_empty() {
        text(&acp_core::config::registry_root(&env))
    } else {
        profile_home.to_string()
    };
    Ok(Report {
        lines: vec![
            ("PROJECT_INIT_STATUS", "ok".into()),
            ("PROFILE_ID", id),
            ("REPO_SLUG", slug),
            ("PROFILE_SMOKE_STATUS", "ok".into()),
            ("PROFILE_ADOPT_STATUS", "ok".into()),
            ("RUNTIME_SYNC_STATUS", sync_status.into()),
            ("PROFILE_REGISTRY_ROOT", registry),
            ("RUNTIME_HOME", text(&runtime_home)),
        ],
    })
}

/// Fails (exit 1) when the checkout given (`--repo-root`, else
/// `--agent-repo-root`) has a GitHub `origin` other than `slug`.
fn check_origin(env: &Env, req: &Request, slug: &str) -> anyhow::Result<()> {
    let checkout = [req.get("repo-root"), req.get("agent-repo-root")]
        .into_iter()
        .find(|p| !p.is_empty());
    if let Some(repo) = checkout
        && let Some(origin) = github_remote_slug(env, Path::new(repo), "origin")
        && origin != slug
    {
        return Err(fail(
            1,
            format!(
                "project-init repo slug mismatch: config={slug} origin={origin} repo_root={repo}"
            ),
        ));
    }
    Ok(())
}

/// The adopt step with the adopt flags given.
fn adopt_command(sibling: &Sibling, env: &Env, req: &Request, id: &str) -> std::process::Command {
    let mut adopt = step(
        sibling,
        env,
        "ACP_PROJECT_INIT_ADOPT_SCRIPT",
        "profile-adopt.sh",
    );
    adopt.args(["--profile-id", id]);
    if !req.source_repo_root.is_empty() {
        adopt.args(["--source-repo-root", &req.source_repo_root]);
    }
    for (on, flag) in [
        (req.skip_anchor_sync, "--skip-anchor-sync"),
        (req.skip_workspace_sync, "--skip-workspace-sync"),
        (req.allow_missing_repo, "--allow-missing-repo"),
    ] {
        if on {
            adopt.arg(flag);
        }
    }
    adopt
}

/// The flag's path, else the variable's, else `None`.
fn first_path(flag: &str, env: &Env, var: &str) -> Option<PathBuf> {
    if flag.is_empty() {
        env.path(var)
    } else {
        Some(PathBuf::from(flag))
    }
}
