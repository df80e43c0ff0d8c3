//! The profile registry and which profile a command works on.

use std::path::{Path, PathBuf};

use super::layout::platform_home;
use crate::Env;

/// File name of a profile's config inside its registry directory.
pub const CONFIG_FILE_NAME: &str = "control-plane.yaml";

/// Hint printed when several profiles exist and none was chosen.
pub const SELECTION_HINT: &str =
    "Set ACP_PROJECT_ID=<id> or AGENT_PROJECT_ID=<id> when multiple available profiles exist.";

/// The profile registry: `AGENT_CONTROL_PLANE_PROFILE_ROOT` >
/// `ACP_PROFILE_REGISTRY_ROOT` > `<platform home>/control-plane/profiles`.
pub fn registry_root(env: &Env) -> PathBuf {
    env.first_non_empty(&[
        "AGENT_CONTROL_PLANE_PROFILE_ROOT",
        "ACP_PROFILE_REGISTRY_ROOT",
    ])
    .map(PathBuf::from)
    .unwrap_or_else(|| platform_home(env).join("control-plane/profiles"))
}

/// Whether `id` can name a registry directory: non-empty, one path
/// component (no `/`, not `.` or `..`), no line breaks or NUL.
pub fn is_valid_profile_id(id: &str) -> bool {
    !id.is_empty() && id != "." && id != ".." && !id.contains(['/', '\n', '\r', '\0'])
}

/// `<registry>/<id>` (whether or not it exists).
pub fn profile_dir(env: &Env, id: &str) -> PathBuf {
    registry_root(env).join(id)
}

/// Whether `<registry>/<id>/control-plane.yaml` is a file.
pub fn profile_installed(env: &Env, id: &str) -> bool {
    is_valid_profile_id(id) && profile_dir(env, id).join(CONFIG_FILE_NAME).is_file()
}

/// The ids of the profiles installed in `root`: its sub-directories that hold
/// a `control-plane.yaml`, sorted bytewise and unique.
pub fn profile_ids_in(root: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut ids: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|id| is_valid_profile_id(id) && root.join(id).join(CONFIG_FILE_NAME).is_file())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// The installed profile ids of the registry, sorted and unique.
pub fn profile_ids(env: &Env) -> Vec<String> {
    profile_ids_in(&registry_root(env))
}

/// The profile named by `ACP_PROJECT_ID` > `AGENT_PROJECT_ID`, if any.
pub fn explicit_profile_id(env: &Env) -> Option<String> {
    env.first_non_empty(&["ACP_PROJECT_ID", "AGENT_PROJECT_ID"])
}

/// The profile used when none is named: the preferred default
/// (`AGENT_CONTROL_PLANE_DEFAULT_PROFILE_ID` > `ACP_DEFAULT_PROFILE_ID` >
/// `AGENT_PROJECT_DEFAULT_PROFILE_ID`) if installed, else `default` if
/// installed, else the first id that is not `demo`, else the first id, else
/// `default`.
pub fn default_profile_id(env: &Env) -> String {
    let preferred = env.first_non_empty(&[
        "AGENT_CONTROL_PLANE_DEFAULT_PROFILE_ID",
        "ACP_DEFAULT_PROFILE_ID",
        "AGENT_PROJECT_DEFAULT_PROFILE_ID",
    ]);
    for candidate in preferred.iter().map(String::as_str).chain(["default"]) {
        if profile_installed(env, candidate) {
            return candidate.to_string();
        }
    }
    let ids = profile_ids(env);
    ids.iter()
        .find(|id| id.as_str() != "demo")
        .or_else(|| ids.first())
        .cloned()
        .unwrap_or_else(|| "default".to_string())
}

/// The explicit profile id, else the default one.
pub fn selected_profile_id(env: &Env) -> String {
    explicit_profile_id(env).unwrap_or_else(|| default_profile_id(env))
}

/// How the current profile was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectionMode {
    /// `ACP_PROJECT_ID` or `AGENT_PROJECT_ID` is set.
    Explicit,
    /// Several profiles are installed and the default was picked.
    ImplicitDefault,
    /// At most one profile is installed.
    SingleProfileDefault,
}

impl SelectionMode {
    /// `explicit`, `implicit-default` or `single-profile-default`.
    pub fn as_str(self) -> &'static str {
        match self {
            SelectionMode::Explicit => "explicit",
            SelectionMode::ImplicitDefault => "implicit-default",
            SelectionMode::SingleProfileDefault => "single-profile-default",
        }
    }
}

impl std::fmt::Display for SelectionMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The current [`SelectionMode`].
pub fn selection_mode(env: &Env) -> SelectionMode {
    if explicit_profile_id(env).is_some() {
        SelectionMode::Explicit
    } else if profile_ids(env).len() > 1 {
        SelectionMode::ImplicitDefault
    } else {
        SelectionMode::SingleProfileDefault
    }
}

/// The guard of commands that must not pick a profile implicitly: the two
/// stderr lines (joined by a newline, none at the end) when the caller must
/// stop with exit 64, `None` when it may go on (a profile was named, at most
/// one is installed, or `ACP_ALLOW_IMPLICIT_PROFILE_SELECTION=1`).
/// The environment a profile-resolving `*.sh` wrapper works in: `env` with
/// the `F_LOSNING_*`/`ACP_*` aliases exported, or the exit-64 error of
/// [`explicit_selection_error`] (its lines printed by the binary).
pub fn wrapper_env(env: &Env, command: &str) -> anyhow::Result<Env> {
    let mut env = env.clone();
    super::export_env_aliases(&mut env);
    match explicit_selection_error(&env, command) {
        Some(message) => Err(crate::fail(64, message)),
        None => Ok(env),
    }
}

pub fn explicit_selection_error(env: &Env, command: &str) -> Option<String> {
    if env.get("ACP_ALLOW_IMPLICIT_PROFILE_SELECTION").as_deref() == Some("1") {
        return None;
    }
    if selection_mode(env) != SelectionMode::ImplicitDefault {
        return None;
    }
    let command = if command.is_empty() {
        "this command"
    } else {
        command
    };
    Some(format!(
        "explicit profile selection required for {command} when multiple available profiles exist.\n{SELECTION_HINT}"
    ))
}

/// The config file in use: the first existing file among
/// `AGENT_CONTROL_PLANE_CONFIG`, `ACP_CONFIG`, `AGENT_PROJECT_CONFIG_PATH`,
/// `F_LOSNING_FLOW_CONFIG`; else `<registry>/<selected id>/control-plane.yaml`
/// (returned even when it does not exist).
pub fn config_path(env: &Env) -> PathBuf {
    for key in [
        "AGENT_CONTROL_PLANE_CONFIG",
        "ACP_CONFIG",
        "AGENT_PROJECT_CONFIG_PATH",
        "F_LOSNING_FLOW_CONFIG",
    ] {
        if let Some(p) = env.path(key)
            && p.is_file()
        {
            return p;
        }
    }
    profile_dir(env, &selected_profile_id(env)).join(CONFIG_FILE_NAME)
}

/// `<physical dir of the config>/README.md` (the profile's notes file); the
/// directory is used as given when it does not exist.
pub fn profile_notes_path(config: &Path) -> PathBuf {
    let dir = config
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .unwrap_or(Path::new("."));
    std::fs::canonicalize(dir)
        .unwrap_or_else(|_| dir.to_path_buf())
        .join("README.md")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn registry(ids: &[&str]) -> (tempfile::TempDir, Env) {
        let t = tempfile::tempdir().unwrap();
        for id in ids {
            let d = t.path().join(id);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join(CONFIG_FILE_NAME), format!("id: {id}\n")).unwrap();
        }
        std::fs::create_dir_all(t.path().join("no-config")).unwrap();
        let mut env = Env::new();
        env.set("ACP_PROFILE_REGISTRY_ROOT", t.path());
        (t, env)
    }

    #[test]
    fn registry_root_precedence() {
        let mut env = Env::new();
        env.set("HOME", "/h");
        assert_eq!(
            registry_root(&env),
            PathBuf::from("/h/.agent-runtime/control-plane/profiles")
        );
        env.set("ACP_PROFILE_REGISTRY_ROOT", "/b");
        assert_eq!(registry_root(&env), PathBuf::from("/b"));
        env.set("AGENT_CONTROL_PLANE_PROFILE_ROOT", "/a");
        assert_eq!(registry_root(&env), PathBuf::from("/a"));
    }

    #[test]
    fn ids_sorted_and_default_rules() {
        let (_t, mut env) = registry(&["zeta", "demo", "alpha"]);
        assert_eq!(profile_ids(&env), ["alpha", "demo", "zeta"]);
        assert_eq!(default_profile_id(&env), "alpha");
        env.set("ACP_DEFAULT_PROFILE_ID", "zeta");
        assert_eq!(default_profile_id(&env), "zeta");
        env.set("ACP_DEFAULT_PROFILE_ID", "../zeta");
        assert_eq!(default_profile_id(&env), "alpha");

        let (_t, env) = registry(&["demo", "default", "a"]);
        assert_eq!(default_profile_id(&env), "default");
        let (_t, env) = registry(&["demo"]);
        assert_eq!(default_profile_id(&env), "demo");
        let (_t, env) = registry(&[]);
        assert_eq!(default_profile_id(&env), "default");
        assert!(profile_ids(&env).is_empty());
    }

    #[test]
    fn missing_registry_has_no_profiles() {
        let mut env = Env::new();
        env.set("ACP_PROFILE_REGISTRY_ROOT", "/nonexistent/acp/registry");
        assert!(profile_ids(&env).is_empty());
        assert_eq!(selection_mode(&env), SelectionMode::SingleProfileDefault);
        assert_eq!(
            config_path(&env),
            PathBuf::from("/nonexistent/acp/registry/default/control-plane.yaml")
        );
    }

    #[test]
    fn selection_mode_and_guard() {
        let (_t, mut env) = registry(&["alpha", "beta"]);
        assert_eq!(selection_mode(&env), SelectionMode::ImplicitDefault);
        assert_eq!(selection_mode(&env).as_str(), "implicit-default");
        assert_eq!(
            explicit_selection_error(&env, "new-worktree.sh").as_deref(),
            Some(
                "explicit profile selection required for new-worktree.sh when multiple available profiles exist.\n\
                 Set ACP_PROJECT_ID=<id> or AGENT_PROJECT_ID=<id> when multiple available profiles exist."
            )
        );
        env.set("ACP_ALLOW_IMPLICIT_PROFILE_SELECTION", "1");
        assert_eq!(explicit_selection_error(&env, "x"), None);
        env.remove("ACP_ALLOW_IMPLICIT_PROFILE_SELECTION");
        env.set("AGENT_PROJECT_ID", "beta");
        assert_eq!(selection_mode(&env), SelectionMode::Explicit);
        assert_eq!(explicit_selection_error(&env, "x"), None);

        let (_t, env) = registry(&["alpha"]);
        assert_eq!(selection_mode(&env), SelectionMode::SingleProfileDefault);
        assert_eq!(explicit_selection_error(&env, ""), None);
    }

    #[test]
    fn config_path_precedence() {
        let (t, mut env) = registry(&["alpha", "beta"]);
        assert_eq!(config_path(&env), t.path().join("alpha/control-plane.yaml"));
        env.set("AGENT_PROJECT_ID", "beta");
        assert_eq!(config_path(&env), t.path().join("beta/control-plane.yaml"));
        env.set("ACP_PROJECT_ID", "gamma");
        assert_eq!(config_path(&env), t.path().join("gamma/control-plane.yaml"));
        env.set("ACP_CONFIG", t.path().join("missing.yaml"));
        assert_eq!(config_path(&env), t.path().join("gamma/control-plane.yaml"));
        let explicit = t.path().join("alpha/control-plane.yaml");
        env.set("F_LOSNING_FLOW_CONFIG", &explicit);
        assert_eq!(config_path(&env), explicit);
    }

    #[test]
    fn notes_path_is_physical() {
        let t = tempfile::tempdir().unwrap();
        let real = std::fs::canonicalize(t.path()).unwrap();
        std::fs::create_dir_all(real.join("p")).unwrap();
        std::os::unix::fs::symlink(real.join("p"), real.join("link")).unwrap();
        assert_eq!(
            profile_notes_path(&real.join("link/control-plane.yaml")),
            real.join("p/README.md")
        );
        assert_eq!(
            profile_notes_path(Path::new("/nonexistent/q/control-plane.yaml")),
            PathBuf::from("/nonexistent/q/README.md")
        );
    }
}
