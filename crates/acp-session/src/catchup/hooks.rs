//! A hook file (bash) as the original passes sourced it: which functions it
//! defines, and calling one of them in a fresh bash that sources the file
//! first. The file is run, never parsed; text from GitHub reaches a hook
//! only as an argument.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use acp_core::{Env, process};
use anyhow::Context;

/// What one hook call did.
#[derive(Debug, Clone, Default)]
pub struct HookOutput {
    pub code: i32,
    pub stdout: String,
    pub stderr: Vec<u8>,
}

impl HookOutput {
    pub fn ok(&self) -> bool {
        self.code == 0
    }
}

/// A loaded hook file.
#[derive(Debug, Clone)]
pub struct HookFile {
    pub path: PathBuf,
    env: Env,
    defined: BTreeSet<String>,
    /// Functions defined by a sourced shell library (`*-lib.sh`).
    from_library: BTreeSet<String>,
}

/// Sources the file (its own output to stderr) and runs `"$@"`.
const CALL: &str = r#"f="$1"; shift; source "$f" >&2 || exit 125; "$@""#;
/// Sources the file and lists the functions it defines, each as
/// `name line file` (where it was defined).
const PROBE: &str = r#"source "$1" >&2 || exit 125
shopt -s extdebug
for f in $(compgen -A function); do declare -F "$f"; done"#;

impl HookFile {
    /// Sources `path` once in bash to learn the functions it defines. A
    /// missing file or one that fails to load is an error naming it.
    pub fn load(path: &Path, env: &Env) -> anyhow::Result<Self> {
        if !path.is_file() {
            anyhow::bail!("missing hook file: {}", path.display());
        }
        let mut cmd = Command::new("bash");
        cmd.args(["-c", PROBE, "acp-hook"]).arg(path);
        env.apply(&mut cmd);
        let out = process::output(&mut cmd)?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            anyhow::bail!(
                "hook file {} failed to load: {}",
                path.display(),
                err.lines().last().unwrap_or("").trim()
            );
        }
        let mut defined = BTreeSet::new();
        let mut from_library = BTreeSet::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let mut parts = line.splitn(3, ' ');
            let (Some(name), _, file) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            if file.is_some_and(|f| f.ends_with("-lib.sh")) {
                from_library.insert(name.to_string());
            }
            defined.insert(name.to_string());
        }
        Ok(Self {
            path: path.to_path_buf(),
            env: env.clone(),
            defined,
            from_library,
        })
    }

    /// Whether function `name` comes from a shell library the file sourced
    /// (`flow-config-lib.sh`'s generic GitHub wrappers), not the file itself.
    pub fn from_library(&self, name: &str) -> bool {
        self.from_library.contains(name)
    }

    /// Whether the file defines function `name`.
    pub fn defines(&self, name: &str) -> bool {
        self.defined.contains(name)
    }

    /// Runs function `name` with `args`, `vars` added to the environment.
    pub fn call(
        &self,
        name: &str,
        args: &[&str],
        vars: &[(&str, &str)],
    ) -> anyhow::Result<HookOutput> {
        let mut env = self.env.clone();
        for (k, v) in vars {
            env.set(*k, *v);
        }
        let mut cmd = Command::new("bash");
        cmd.args(["-c", CALL, "acp-hook"])
            .arg(&self.path)
            .arg(name)
            .args(args);
        env.apply(&mut cmd);
        let out = process::output(&mut cmd)
            .with_context(|| format!("hook {name} of {}", self.path.display()))?;
        Ok(HookOutput {
            code: process::exit_code(out.status),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: out.stderr,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn functions_are_listed_and_called_with_their_arguments() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("hooks.sh");
        std::fs::write(
            &f,
            "echo loading\nset -euo pipefail\nh() { printf '%s|%s\\n' \"$1\" \"${X:-}\"; }\n\
             bad() { return 3; }\n",
        )
        .unwrap();
        let mut env = Env::new();
        env.set("PATH", "/usr/bin:/bin");
        let hooks = HookFile::load(&f, &env).unwrap();
        assert!(hooks.defines("h") && hooks.defines("bad") && !hooks.defines("x"));
        assert!(!hooks.from_library("h"));
        let out = hooks.call("h", &["a b; $(x)"], &[("X", "1")]).unwrap();
        assert_eq!(out.stdout, "a b; $(x)|1\n");
        assert_eq!(hooks.call("bad", &[], &[]).unwrap().code, 3);
        let missing = HookFile::load(&t.path().join("nope"), &env).unwrap_err();
        assert!(missing.to_string().contains("missing hook file"));
    }

    #[test]
    fn functions_of_a_sourced_library_are_told_apart() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(
            t.path().join("flow-config-lib.sh"),
            "flow_github_pr_list_json() { echo '[]'; }\n",
        )
        .unwrap();
        let f = t.path().join("heartbeat hooks.sh");
        std::fs::write(
            &f,
            format!(
                "source '{}'\nmine() {{ :; }}\n",
                t.path().join("flow-config-lib.sh").display()
            ),
        )
        .unwrap();
        let mut env = Env::new();
        env.set("PATH", "/usr/bin:/bin");
        let hooks = HookFile::load(&f, &env).unwrap();
        assert!(
            hooks.defines("flow_github_pr_list_json")
                && hooks.from_library("flow_github_pr_list_json")
        );
        assert!(hooks.defines("mine") && !hooks.from_library("mine"));
    }
}
