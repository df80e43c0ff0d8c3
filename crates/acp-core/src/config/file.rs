//! A loaded `control-plane.yaml`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::profiles::config_path;
use super::yaml::{self, Node};
use crate::Env;

/// A profile config: its path and, when the file exists, its parsed content.
/// A missing file is an empty config (every lookup is absent).
#[derive(Debug, Clone)]
pub struct FlowConfig {
    /// The path the config was loaded from (it may not exist).
    pub path: PathBuf,
    docs: Option<Arc<Vec<Node>>>,
}

impl FlowConfig {
    /// The config that [`config_path`] selects for `env`.
    pub fn load(env: &Env) -> anyhow::Result<FlowConfig> {
        Self::from_path(&config_path(env))
    }

    /// The config at `path`; a path that is not a file gives an empty config.
    /// Unreadable files and invalid YAML are errors naming the file (and line).
    pub fn from_path(path: &Path) -> anyhow::Result<FlowConfig> {
        if !path.is_file() {
            return Ok(Self::empty(path));
        }
        Ok(FlowConfig {
            path: path.to_path_buf(),
            docs: Some(yaml::load_file(path)?),
        })
    }

    /// An empty config that claims `path`.
    pub fn empty(path: &Path) -> FlowConfig {
        FlowConfig {
            path: path.to_path_buf(),
            docs: None,
        }
    }

    /// A config parsed from text (tests only); `path` is used in error
    /// messages and as the config's location.
    #[cfg(test)]
    pub(crate) fn from_text(path: &Path, text: &str) -> anyhow::Result<FlowConfig> {
        Ok(FlowConfig {
            path: path.to_path_buf(),
            docs: Some(Arc::new(yaml::parse(text, path)?)),
        })
    }

    /// Whether the config file existed when loaded.
    pub fn exists(&self) -> bool {
        self.docs.is_some()
    }

    /// The value at a dotted path (`execution.claude.model`): scalars as their
    /// text; `None` for absent keys, empty strings, nulls, mappings, sequences
    /// and values that span several lines.
    pub fn get(&self, dotted: &str) -> Option<String> {
        let docs = self.docs.as_ref()?;
        yaml::lookup(docs, dotted).map(str::to_string)
    }

    /// `<physical config dir>/README.md`.
    pub fn notes_path(&self) -> PathBuf {
        super::profiles::profile_notes_path(&self.path)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_empty_and_bad_yaml_is_an_error() {
        let t = tempfile::tempdir().unwrap();
        let missing = t.path().join("nope.yaml");
        let cfg = FlowConfig::from_path(&missing).unwrap();
        assert!(!cfg.exists());
        assert_eq!(cfg.get("id"), None);
        assert_eq!(cfg.path, missing);

        let bad = t.path().join("bad.yaml");
        std::fs::write(&bad, "id: x\nrepo:\n  slug: \"a/b\n").unwrap();
        let err = FlowConfig::from_path(&bad).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}:", bad.display())), "{err}");

        let good = t.path().join("good.yaml");
        std::fs::write(&good, "id: x\n").unwrap();
        let cfg = FlowConfig::from_path(&good).unwrap();
        assert!(cfg.exists());
        assert_eq!(cfg.get("id").as_deref(), Some("x"));
    }

    #[test]
    fn load_uses_the_selected_profile() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("p")).unwrap();
        std::fs::write(t.path().join("p/control-plane.yaml"), "id: p\n").unwrap();
        let mut env = Env::new();
        env.set("ACP_PROFILE_REGISTRY_ROOT", t.path());
        let cfg = FlowConfig::load(&env).unwrap();
        assert_eq!(cfg.path, t.path().join("p/control-plane.yaml"));
        assert_eq!(cfg.get("id").as_deref(), Some("p"));
    }
}
