//! The heartbeat hooks the controller asks (open agent PRs, ready issues,
//! recurring/scheduled/heavy, mark running, launch failed), run through
//! bash from `hooks/heartbeat-hooks.sh` when that file defines them, as the
//! original did by sourcing the file.
//!
//! Each question is a fresh `bash` that sources the file and calls one
//! function, with `TMPDIR` pointing at a private directory removed
//! afterwards: whatever the hooks cache there lives for that one answer,
//! so every loop iteration sees GitHub as it is now (F17) and no cache
//! directory is left behind. Each call is bounded by a timeout.

// Not `acp_flow::bash_hooks`: acp-flow depends on acp-session, so this layer
// cannot reach the engine's hook runner (a dependency cycle).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use acp_core::Env;
use acp_core::process::{Bounds, run_bounded};

/// Marks "the file does not define that function" on stderr.
const UNDEFINED: &str = "acp-resident-hook-undefined";
/// Marks "the file could not be sourced" on stderr.
const UNSOURCED: &str = "acp-resident-hook-unsourced";

const RUNNER: &str = r#"set +e
__acp_hook_file="$1"; __acp_hook_fn="$2"; shift 2
source "$__acp_hook_file" >/dev/null 2>&1 </dev/null || { echo acp-resident-hook-unsourced >&2; exit 127; }
declare -F "$__acp_hook_fn" >/dev/null 2>&1 || { echo acp-resident-hook-undefined >&2; exit 127; }
"$__acp_hook_fn" "$@"
"#;

/// What a hook call came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// No hook file, or it does not define the function.
    Undefined,
    /// The function ran: its exit code and stdout.
    Ran { code: i32, stdout: String },
}

impl Answer {
    /// The trimmed stdout of a successful run, else `fallback`
    /// (`$(hook 2>/dev/null || printf 'fallback')`).
    fn text_or(&self, fallback: &str) -> Option<String> {
        match self {
            Answer::Undefined => None,
            Answer::Ran { code: 0, stdout } => Some(stdout.trim().to_string()),
            Answer::Ran { .. } => Some(fallback.to_string()),
        }
    }
}

/// The hook file of a profile and how long one call may take.
#[derive(Debug, Clone)]
pub struct Hooks {
    pub file: PathBuf,
    pub timeout: Duration,
    pub cwd: PathBuf,
    /// Set when sourcing the file failed (every answer is then "undefined");
    /// the controller reports it once.
    pub unsourced: std::cell::Cell<bool>,
}

impl Hooks {
    /// Runs `func args...` from the hook file with `env`.
    pub fn call(&self, env: &Env, func: &str, args: &[&str]) -> Answer {
        if !self.file.is_file() {
            return Answer::Undefined;
        }
        let Ok(tmp) = tempfile::Builder::new().prefix("acp-hook-").tempdir() else {
            return Answer::Undefined;
        };
        let mut cmd = Command::new("bash");
        env.apply(&mut cmd);
        cmd.env("TMPDIR", tmp.path())
            .current_dir(&self.cwd)
            .arg("-c")
            .arg(RUNNER)
            .arg("acp-resident-hook")
            .arg(&self.file)
            .arg(func)
            .args(args);
        let Ok(out) = run_bounded(&mut cmd, &Bounds::new(self.timeout, Duration::from_secs(2)))
        else {
            return Answer::Undefined;
        };
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.code == 127 && stderr.lines().any(|l| l == UNDEFINED) {
            return Answer::Undefined;
        }
        if out.code == 127 && stderr.lines().any(|l| l == UNSOURCED) {
            self.unsourced.set(true);
            return Answer::Undefined;
        }
        Answer::Ran {
            code: out.code,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        }
    }

    /// `heartbeat_open_agent_pr_issue_ids` (a JSON array of ids); `None`
    /// when the hook is not defined.
    pub fn open_agent_pr_issue_ids(&self, env: &Env) -> Option<Vec<String>> {
        let text = self
            .call(env, "heartbeat_open_agent_pr_issue_ids", &[])
            .text_or("[]")?;
        Some(json_ids(&text))
    }

    /// `heartbeat_list_ready_issue_ids` (one id a line; empty when undefined).
    pub fn ready_issue_ids(&self, env: &Env) -> Vec<String> {
        self.call(env, "heartbeat_list_ready_issue_ids", &[])
            .text_or("")
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// A `yes`/`no` question about an issue; `None` when undefined (a
    /// failing hook answers `no`).
    pub fn yes_no(&self, env: &Env, func: &str, issue_id: &str) -> Option<bool> {
        let text = self.call(env, func, &[issue_id]).text_or("no")?;
        Some(text == "yes")
    }

    /// Runs a hook for its effect only (missing or failing: ignored).
    pub fn notify(&self, env: &Env, func: &str, args: &[&str]) {
        let _ = self.call(env, func, args);
    }
}

/// The ids of a JSON array of strings or numbers (anything else: none).
pub fn json_ids(text: &str) -> Vec<String> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|v| match v {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The hook file of a package root: `<skill>/hooks/heartbeat-hooks.sh`.
pub fn hook_file(skill_root: &Path) -> PathBuf {
    skill_root.join("hooks/heartbeat-hooks.sh")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn calls_defined_functions_only() {
        let t = tempfile::tempdir().unwrap();
        let file = t.path().join("hooks.sh");
        std::fs::write(
            &file,
            "set -euo pipefail\nheartbeat_open_agent_pr_issue_ids() { printf '[\"440\", 7]\\n'; }\n\
             heartbeat_issue_is_heavy() { [[ $1 == 9 ]] && echo yes || echo no; }\n\
             heartbeat_issue_is_recurring() { return 3; }\n\
             heartbeat_list_ready_issue_ids() { printf '1\\n\\n2\\n'; echo \"$TMPDIR\" > \"$OUT\"; }\n",
        )
        .unwrap();
        let hooks = Hooks {
            file,
            timeout: Duration::from_secs(30),
            cwd: t.path().to_path_buf(),
            unsourced: Default::default(),
        };
        let mut env = Env::from_process();
        env.set("OUT", t.path().join("tmpdir.txt"));
        assert_eq!(
            hooks.open_agent_pr_issue_ids(&env),
            Some(vec!["440".to_string(), "7".to_string()])
        );
        assert_eq!(
            hooks.yes_no(&env, "heartbeat_issue_is_heavy", "9"),
            Some(true)
        );
        assert_eq!(
            hooks.yes_no(&env, "heartbeat_issue_is_recurring", "9"),
            Some(false)
        );
        assert_eq!(
            hooks.yes_no(&env, "heartbeat_issue_is_scheduled", "9"),
            None
        );
        assert_eq!(hooks.ready_issue_ids(&env), vec!["1", "2"]);
        let private = std::fs::read_to_string(t.path().join("tmpdir.txt")).unwrap();
        assert!(
            !Path::new(private.trim()).exists(),
            "private TMPDIR removed"
        );
        assert!(!hooks.unsourced.get());
        let none = Hooks {
            file: t.path().join("missing.sh"),
            ..hooks.clone()
        };
        assert_eq!(none.open_agent_pr_issue_ids(&env), None);
        let broken = t.path().join("broken.sh");
        std::fs::write(&broken, "source /nonexistent/flow-config-lib.sh\n").unwrap();
        let broken = Hooks {
            file: broken,
            ..hooks
        };
        assert_eq!(broken.open_agent_pr_issue_ids(&env), None);
        assert!(broken.unsourced.get());
    }
}
