//! Where things live: skill root, platform home, shared and runtime homes.

use std::path::{Path, PathBuf};

use crate::Env;
use crate::fsx::canonical_or_given;

/// Default canonical skill name (`AGENT_CONTROL_PLANE_SKILL_NAME`).
pub const DEFAULT_SKILL_NAME: &str = "agent-control-plane";

/// The canonical skill name: `AGENT_CONTROL_PLANE_SKILL_NAME` or `agent-control-plane`.
pub fn canonical_skill_name(env: &Env) -> String {
    env.first_or(&["AGENT_CONTROL_PLANE_SKILL_NAME"], DEFAULT_SKILL_NAME)
}

/// The compat alias (`AGENT_CONTROL_PLANE_COMPAT_ALIAS`), when set.
pub fn compat_skill_alias(env: &Env) -> Option<String> {
    env.non_empty("AGENT_CONTROL_PLANE_COMPAT_ALIAS")
}

/// The file `agent-control-plane shims` writes at the top of every tree it
/// generates (the installed tree and the repository's `bin-shims/`): it
/// makes the tree a package root even when it holds nothing but shims.
pub const TREE_MARKER: &str = ".agent-control-plane-tree";

/// Whether `dir` is a package ("skill") root: it has `tools/bin` and at least
/// one of `SKILL.md`, `assets/workflow-catalog.json`, `bin/`, `hooks/`, or
/// our [`TREE_MARKER`].
pub fn is_skill_root(dir: &Path) -> bool {
    if dir.as_os_str().is_empty() || !dir.is_dir() || !dir.join("tools/bin").is_dir() {
        return false;
    }
    dir.join(TREE_MARKER).is_file()
        || dir.join("SKILL.md").is_file()
        || dir.join("assets/workflow-catalog.json").is_file()
        || dir.join("bin").is_dir()
        || dir.join("hooks").is_dir()
}

/// `AGENT_PLATFORM_HOME`, or `$HOME/.agent-runtime`.
pub fn platform_home(env: &Env) -> PathBuf {
    env.path("AGENT_PLATFORM_HOME")
        .unwrap_or_else(|| env.home().join(".agent-runtime"))
}

/// The skill names to try under `skills/openclaw/`: canonical, then the compat alias.
fn skill_names(env: &Env) -> Vec<String> {
    let mut names = vec![canonical_skill_name(env)];
    names.extend(compat_skill_alias(env));
    names
}

/// The package root the tools belong to (`resolve_flow_skill_dir`):
/// the first of `AGENT_CONTROL_PLANE_ROOT`, `ACP_ROOT`, `F_LOSNING_FLOW_ROOT`,
/// `AGENT_FLOW_SKILL_ROOT` that is a skill root; else the nearest skill root
/// above the script's directory; else `$SHARED_AGENT_HOME/skills/openclaw/<name>`;
/// else `<platform home>/runtime-home/skills/openclaw/<name>`. Physical paths.
pub fn skill_root(env: &Env, script_path: Option<&Path>) -> anyhow::Result<PathBuf> {
    for key in [
        "AGENT_CONTROL_PLANE_ROOT",
        "ACP_ROOT",
        "F_LOSNING_FLOW_ROOT",
        "AGENT_FLOW_SKILL_ROOT",
    ] {
        if let Some(candidate) = env.path(key)
            && is_skill_root(&candidate)
        {
            return Ok(canonical_or_given(&candidate));
        }
    }

    if let Some(script) = script_path {
        let start = script.parent().map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        });
        if let Some(mut dir) = start.and_then(|p| std::fs::canonicalize(p).ok()) {
            while dir != Path::new("/") {
                if is_skill_root(&dir) {
                    return Ok(dir);
                }
                match dir.parent() {
                    Some(parent) if parent != dir => dir = parent.to_path_buf(),
                    _ => break,
                }
            }
        }
    }

    if let Some(shared) = env.path("SHARED_AGENT_HOME") {
        for name in skill_names(env) {
            let candidate = shared.join("skills/openclaw").join(name);
            if is_skill_root(&candidate) {
                return Ok(canonical_or_given(&candidate));
            }
        }
    }

    let runtime = platform_home(env).join("runtime-home/skills/openclaw");
    for name in skill_names(env) {
        let candidate = runtime.join(name);
        if is_skill_root(&candidate) {
            return Ok(canonical_or_given(&candidate));
        }
    }

    Err(crate::fail(
        1,
        "unable to resolve agent control plane root (run the tool through a shim of an \
         installed tree, `agent-control-plane shims --into DIR`, or set ACP_ROOT to one)",
    ))
}

/// The source home (`resolve_shared_agent_home`): `SHARED_AGENT_HOME`, else
/// the skill root itself when it qualifies, else `<skill root>/../../..`.
pub fn shared_agent_home(env: &Env, skill_root: &Path) -> PathBuf {
    if let Some(shared) = env.path("SHARED_AGENT_HOME") {
        return canonical_or_given(&shared);
    }
    if is_skill_root(skill_root) {
        return canonical_or_given(skill_root);
    }
    canonical_or_given(&skill_root.join("../../.."))
}

/// `<platform home>/runtime-home`, physical when it exists.
pub fn runtime_home(env: &Env) -> PathBuf {
    canonical_or_given(&platform_home(env).join("runtime-home"))
}

/// `<runtime home>/skills/openclaw/<canonical name>`.
pub fn runtime_canonical_skill_dir(env: &Env) -> PathBuf {
    runtime_home(env)
        .join("skills/openclaw")
        .join(canonical_skill_name(env))
}

/// The common start of the profile-scoped `<tool>.sh SESSION ...` wrappers
/// (`worker-status.sh`, `capture-worker.sh`): the environment with the
/// `ACP_`/`F_LOSNING_` aliases exported, SESSION (the first argument; a
/// missing or empty one fails with `<name>: <usage>`, exit 1) and the
/// package root.
pub fn session_wrapper_start(
    env: &Env,
    script_path: Option<&Path>,
    args: &[std::ffi::OsString],
    name: &str,
    usage: &str,
) -> anyhow::Result<(Env, String, PathBuf)> {
    let mut env = env.clone();
    super::export_env_aliases(&mut env);
    let session = match args.first().map(|a| a.to_string_lossy().into_owned()) {
        Some(s) if !s.is_empty() => s,
        _ => return Err(crate::fail(1, format!("{name}: {usage}"))),
    };
    let skill = skill_root(&env, script_path)?;
    Ok((env, session, skill))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn make_skill(dir: &Path) {
        std::fs::create_dir_all(dir.join("tools/bin")).unwrap();
        std::fs::write(dir.join("SKILL.md"), "x").unwrap();
    }

    #[test]
    fn skill_root_detection() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("pkg");
        std::fs::create_dir_all(d.join("tools/bin")).unwrap();
        assert!(!is_skill_root(&d));
        std::fs::create_dir_all(d.join("hooks")).unwrap();
        assert!(is_skill_root(&d));
        assert!(!is_skill_root(Path::new("")));
    }

    #[test]
    fn skill_root_env_then_walk_up_then_runtime_home() {
        let t = tempfile::tempdir().unwrap();
        let real = std::fs::canonicalize(t.path()).unwrap();
        let pkg = real.join("pkg");
        make_skill(&pkg);
        let other = real.join("other");
        make_skill(&other);
        let script = pkg.join("tools/bin/x.sh");

        let mut env = Env::new();
        env.set("HOME", real.join("home"));
        assert_eq!(skill_root(&env, Some(&script)).unwrap(), pkg);

        env.set("ACP_ROOT", real.join("not-a-skill"));
        env.set("F_LOSNING_FLOW_ROOT", &other);
        assert_eq!(skill_root(&env, Some(&script)).unwrap(), other);

        let mut env = Env::new();
        env.set("AGENT_PLATFORM_HOME", real.join("plat"));
        let rt = real.join("plat/runtime-home/skills/openclaw/agent-control-plane");
        assert!(skill_root(&env, Some(Path::new("/nonexistent/x.sh"))).is_err());
        make_skill(&rt);
        assert_eq!(skill_root(&env, None).unwrap(), rt);

        env.set("SHARED_AGENT_HOME", real.join("shared"));
        env.set("AGENT_CONTROL_PLANE_COMPAT_ALIAS", "old-name");
        let shared_alias = real.join("shared/skills/openclaw/old-name");
        make_skill(&shared_alias);
        assert_eq!(skill_root(&env, None).unwrap(), shared_alias);
    }

    #[test]
    fn skill_root_error_message() {
        let env = Env::new();
        let err = skill_root(&env, None).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("unable to resolve agent control plane root (run the tool through"),
            "{err}"
        );
    }

    #[test]
    fn platform_home_default() {
        let mut env = Env::new();
        env.set("HOME", "/h");
        assert_eq!(platform_home(&env), PathBuf::from("/h/.agent-runtime"));
        env.set("AGENT_PLATFORM_HOME", "/p");
        assert_eq!(platform_home(&env), PathBuf::from("/p"));
    }
}
