//! An explicit environment: a snapshot of variables that tools read and
//! change without touching the process environment, and pass on to children.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::process::Command;

/// A map of environment variables. Tools read it instead of `std::env`, change
/// it freely (aliases, unset lists) and hand it to the processes they spawn.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: BTreeMap<OsString, OsString>,
}

impl Env {
    /// An empty environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// A snapshot of the current process environment.
    pub fn from_process() -> Self {
        Self {
            vars: std::env::vars_os().collect(),
        }
    }

    /// The raw value, if the variable is set (possibly empty).
    pub fn get_os(&self, key: &str) -> Option<&OsStr> {
        self.vars.get(OsStr::new(key)).map(OsString::as_os_str)
    }

    /// The value as text (lossy for non-UTF-8), `None` when unset.
    pub fn get(&self, key: &str) -> Option<String> {
        self.get_os(key).map(|v| v.to_string_lossy().into_owned())
    }

    /// The value when set and non-empty.
    pub fn non_empty(&self, key: &str) -> Option<String> {
        self.get(key).filter(|v| !v.is_empty())
    }

    /// The value or an empty string.
    pub fn get_or_empty(&self, key: &str) -> String {
        self.get(key).unwrap_or_default()
    }

    /// First non-empty value among `keys`, in order ("first non-empty wins").
    pub fn first_non_empty(&self, keys: &[&str]) -> Option<String> {
        keys.iter().find_map(|k| self.non_empty(k))
    }

    /// First non-empty value among `keys`, or `default`.
    pub fn first_or(&self, keys: &[&str], default: &str) -> String {
        self.first_non_empty(keys)
            .unwrap_or_else(|| default.to_string())
    }

    /// `ACP_<name>`, else `F_LOSNING_<name>`, else `default` (the original's
    /// `${ACP_X:-${F_LOSNING_X:-default}}`).
    pub fn acp_or(&self, name: &str, default: &str) -> String {
        self.first_or(
            &[&format!("ACP_{name}"), &format!("F_LOSNING_{name}")],
            default,
        )
    }

    /// The value as a path when set and non-empty.
    pub fn path(&self, key: &str) -> Option<PathBuf> {
        self.get_os(key)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    }

    /// Whether the variable is set to a non-empty value.
    pub fn is_set(&self, key: &str) -> bool {
        self.get_os(key).is_some_and(|v| !v.is_empty())
    }

    /// Sets a variable in this snapshot only.
    pub fn set(&mut self, key: impl Into<OsString>, value: impl Into<OsString>) {
        self.vars.insert(key.into(), value.into());
    }

    /// Removes a variable from this snapshot only.
    pub fn remove(&mut self, key: &str) {
        self.vars.remove(OsStr::new(key));
    }

    /// Sets `key` when it is unset or empty.
    pub fn set_if_empty(&mut self, key: &str, value: impl Into<OsString>) {
        if !self.is_set(key) {
            self.set(key, value);
        }
    }

    /// Iterates over all variables.
    pub fn iter(&self) -> impl Iterator<Item = (&OsStr, &OsStr)> {
        self.vars
            .iter()
            .map(|(k, v)| (k.as_os_str(), v.as_os_str()))
    }

    /// Makes `cmd` run with exactly this environment.
    pub fn apply(&self, cmd: &mut Command) {
        cmd.env_clear();
        cmd.envs(self.vars.iter());
    }

    /// `$HOME`, or `/` when unset.
    pub fn home(&self) -> PathBuf {
        self.path("HOME").unwrap_or_else(|| PathBuf::from("/"))
    }

    /// Finds an executable by name on this environment's `PATH`
    /// (a name containing `/` is returned as is when it is executable).
    pub fn which(&self, name: &str) -> Option<PathBuf> {
        if name.is_empty() {
            return None;
        }
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let path = self.get_os("PATH").unwrap_or_default().to_os_string();
        which::which_in(name, Some(path), cwd).ok()
    }
}

impl FromIterator<(OsString, OsString)> for Env {
    fn from_iter<T: IntoIterator<Item = (OsString, OsString)>>(iter: T) -> Self {
        Self {
            vars: iter.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_non_empty_skips_empty_values() {
        let mut env = Env::new();
        env.set("A", "");
        env.set("B", "b");
        assert_eq!(env.first_non_empty(&["A", "B"]).as_deref(), Some("b"));
        assert_eq!(env.first_or(&["A", "C"], "d"), "d");
    }

    #[test]
    fn set_if_empty_keeps_existing_value() {
        let mut env = Env::new();
        env.set("A", "1");
        env.set_if_empty("A", "2");
        env.set_if_empty("B", "3");
        assert_eq!(env.get("A").as_deref(), Some("1"));
        assert_eq!(env.get("B").as_deref(), Some("3"));
    }
}
