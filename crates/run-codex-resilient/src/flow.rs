//! The parts of the original's flow-config resolution the runner needs: the
//! skill root, the shared agent home, the codex-quota tool and manager
//! script, and the issue/PR session prefixes (spec 2.19). Kept here until
//! `acp_core::config` provides them.

use std::path::{Path, PathBuf};

use acp_core::Env;

fn is_skill_root(dir: &Path) -> bool {
    dir.join("tools/bin").is_dir()
        && (dir.join("SKILL.md").is_file()
            || dir.join("assets/workflow-catalog.json").is_file()
            || dir.join("bin").is_dir()
            || dir.join("hooks").is_dir())
}

fn physical(dir: &Path) -> PathBuf {
    std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())
}

/// `resolve_flow_skill_dir`: explicit roots, then the script's ancestors,
/// then the shared/runtime homes. `None` when nothing qualifies.
pub fn skill_dir(env: &Env, script_dir: Option<&Path>) -> Option<PathBuf> {
    for key in [
        "AGENT_CONTROL_PLANE_ROOT",
        "ACP_ROOT",
        "F_LOSNING_FLOW_ROOT",
        "AGENT_FLOW_SKILL_ROOT",
    ] {
        if let Some(p) = env.path(key)
            && is_skill_root(&p)
        {
            return Some(physical(&p));
        }
    }
    if let Some(dir) = script_dir {
        let dir = physical(dir);
        for anc in dir.ancestors() {
            if anc == Path::new("/") {
                break;
            }
            if is_skill_root(anc) {
                return Some(anc.to_path_buf());
            }
        }
    }
    let names = [
        env.first_or(&["AGENT_CONTROL_PLANE_SKILL_NAME"], "agent-control-plane"),
        env.get_or_empty("AGENT_CONTROL_PLANE_COMPAT_ALIAS"),
    ];
    let mut homes = Vec::new();
    if let Some(shared) = env.path("SHARED_AGENT_HOME") {
        homes.push(shared.join("skills/openclaw"));
    }
    let platform = env
        .path("AGENT_PLATFORM_HOME")
        .unwrap_or_else(|| env.home().join(".agent-runtime"));
    homes.push(platform.join("runtime-home/skills/openclaw"));
    for home in homes {
        for name in names.iter().filter(|n| !n.is_empty()) {
            let c = home.join(name);
            if is_skill_root(&c) {
                return Some(physical(&c));
            }
        }
    }
    None
}

/// `resolve_shared_agent_home`.
pub fn shared_agent_home(env: &Env, root: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = env.path("SHARED_AGENT_HOME") {
        return Some(p);
    }
    let root = root?;
    if is_skill_root(root) {
        return Some(root.to_path_buf());
    }
    Some(root.join("../../.."))
}

fn executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `flow_resolve_codex_quota_bin`.
pub fn codex_quota_bin(env: &Env, root: Option<&Path>, shared: Option<&Path>) -> PathBuf {
    if let Some(p) = env.first_non_empty(&["ACP_CODEX_QUOTA_BIN", "F_LOSNING_CODEX_QUOTA_BIN"]) {
        return PathBuf::from(p);
    }
    let mut candidates = Vec::new();
    if let Some(r) = root {
        candidates.push(r.join("tools/bin/codex-quota"));
    }
    if let Some(s) = shared {
        candidates.push(s.join("tools/bin/codex-quota"));
    }
    if let Some(c) = candidates.iter().find(|c| executable(c)) {
        return c.clone();
    }
    if let Some(p) = env.which("codex-quota") {
        return p;
    }
    candidates
        .into_iter()
        .next()
        .unwrap_or_else(|| PathBuf::from("codex-quota"))
}

/// `flow_resolve_codex_quota_manager_script`.
pub fn codex_quota_manager_script(
    env: &Env,
    root: Option<&Path>,
    shared: Option<&Path>,
) -> PathBuf {
    if let Some(p) = env.first_non_empty(&[
        "ACP_CODEX_QUOTA_MANAGER_SCRIPT",
        "F_LOSNING_CODEX_QUOTA_MANAGER_SCRIPT",
    ]) {
        return PathBuf::from(p);
    }
    let mut candidates = Vec::new();
    if let Some(r) = root {
        candidates.push(r.join("tools/vendor/codex-quota-manager/scripts/auto-switch.sh"));
    }
    if let Some(s) = shared {
        candidates.push(s.join("tools/vendor/codex-quota-manager/scripts/auto-switch.sh"));
        candidates.push(s.join("skills/openclaw/codex-quota-manager/scripts/auto-switch.sh"));
    }
    if let Some(c) = candidates.iter().find(|c| executable(c)) {
        return c.clone();
    }
    candidates
        .into_iter()
        .next()
        .unwrap_or_else(|| PathBuf::from("auto-switch.sh"))
}

/// The control-plane.yaml the original would pick (may not exist).
fn config_yaml(env: &Env) -> Option<PathBuf> {
    for key in [
        "AGENT_CONTROL_PLANE_CONFIG",
        "ACP_CONFIG",
        "AGENT_PROJECT_CONFIG_PATH",
        "F_LOSNING_FLOW_CONFIG",
    ] {
        if let Some(p) = env.path(key)
            && p.is_file()
        {
            return Some(p);
        }
    }
    let registry = env
        .first_non_empty(&[
            "AGENT_CONTROL_PLANE_PROFILE_ROOT",
            "ACP_PROFILE_REGISTRY_ROOT",
        ])
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            env.path("AGENT_PLATFORM_HOME")
                .unwrap_or_else(|| env.home().join(".agent-runtime"))
                .join("control-plane/profiles")
        });
    let id = env.first_or(
        &[
            "ACP_PROJECT_ID",
            "AGENT_PROJECT_ID",
            "AGENT_CONTROL_PLANE_DEFAULT_PROFILE_ID",
            "ACP_DEFAULT_PROFILE_ID",
            "AGENT_PROJECT_DEFAULT_PROFILE_ID",
        ],
        "default",
    );
    let p = registry.join(id).join("control-plane.yaml");
    p.is_file().then_some(p)
}

fn yaml_key(doc: &yaml_rust2::Yaml, dotted: &str) -> Option<String> {
    let mut cur = doc;
    for part in dotted.split('.') {
        cur = &cur[part];
    }
    match cur {
        yaml_rust2::Yaml::String(s) => Some(s.clone()),
        yaml_rust2::Yaml::Integer(i) => Some(i.to_string()),
        _ => None,
    }
    .filter(|s| !s.is_empty())
}

/// (issue prefix, PR prefix) for counting running workers.
pub fn session_prefixes(env: &Env) -> (String, String) {
    let doc = config_yaml(env)
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| yaml_rust2::YamlLoader::load_from_str(&t).ok())
        .and_then(|mut docs| (!docs.is_empty()).then(|| docs.swap_remove(0)));
    let from_yaml = |k: &str| doc.as_ref().and_then(|d| yaml_key(d, k));
    let adapter = env
        .first_non_empty(&["ACP_PROJECT_ID", "AGENT_PROJECT_ID"])
        .or_else(|| from_yaml("id"))
        .unwrap_or_else(|| {
            env.first_or(
                &[
                    "AGENT_CONTROL_PLANE_DEFAULT_PROFILE_ID",
                    "ACP_DEFAULT_PROFILE_ID",
                    "AGENT_PROJECT_DEFAULT_PROFILE_ID",
                ],
                "default",
            )
        });
    let issue = env
        .first_non_empty(&["ACP_ISSUE_SESSION_PREFIX", "F_LOSNING_ISSUE_SESSION_PREFIX"])
        .or_else(|| from_yaml("session_naming.issue_prefix"))
        .unwrap_or_else(|| format!("{adapter}-issue-"));
    let pr = env
        .first_non_empty(&["ACP_PR_SESSION_PREFIX", "F_LOSNING_PR_SESSION_PREFIX"])
        .or_else(|| from_yaml("session_naming.pr_prefix"))
        .unwrap_or_else(|| format!("{adapter}-pr-"));
    (issue, pr)
}
