//! The policy hooks of the PR reconciler (the original's hook ABI:
//! `pr_schedule_retry REASON`, `pr_after_merged PR`, `pr_automerge_allowed
//! PR`, ...).
//!
//! - No `--hook-file`: the original's defaults (transitions do nothing,
//!   `pr_linked_issue_should_close` = yes, `pr_automerge_allowed` = no,
//!   `pr_review_pass_action` = merge).
//! - `--hook-file` byte-identical to the shipped `hooks/pr-reconcile-hooks.sh`:
//!   the default policy runs in-process ([`crate::policy`]).
//! - Any other hook file (a user's edited copy, a test's stubs): each hook
//!   runs in its own `bash`, which defines the defaults, sources the file
//!   (a file of code the operator installed, never data) and calls the
//!   function with the reconciler's variables in the environment.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use acp_core::Env;

/// The shipped hook file (the in-process policy stands for it).
pub const SHIPPED: &str = include_str!("../../../templates/hooks/pr-reconcile-hooks.sh");

/// Defines every hook's default, sources `$1`, then calls `$2 ARGS...`.
const RUNNER: &str = r#"pr_schedule_retry() { :; }
pr_clear_retry() { :; }
pr_cleanup_linked_issue_session() { :; }
pr_cleanup_merged_residue() { :; }
pr_linked_issue_should_close() { printf 'yes\n'; }
pr_after_merged() { :; }
pr_after_closed() { :; }
pr_automerge_allowed() { printf 'no\n'; }
pr_review_pass_action() { printf 'merge\n'; }
pr_after_double_check_advanced() { :; }
pr_after_updated_branch() { :; }
pr_after_blocked() { :; }
pr_after_succeeded() { :; }
pr_after_failed() { :; }
pr_after_reconciled() { :; }
acp_hook_file="$1"
shift
# shellcheck source=/dev/null
source "$acp_hook_file"
"$@"
"#;

/// Which hooks are in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Defaults,
    /// The shipped file at this path: the in-process policy.
    Shipped(PathBuf),
    /// Another file: run through bash.
    Bash(PathBuf),
}

impl Mode {
    /// The mode for `--hook-file` (`None` or a missing file: defaults, as
    /// the original sourced only an existing file).
    pub fn for_file(file: Option<&Path>) -> Self {
        match file {
            Some(f) if f.is_file() => match std::fs::read(f) {
                Ok(bytes) if bytes == SHIPPED.as_bytes() => Mode::Shipped(f.to_path_buf()),
                _ => Mode::Bash(f.to_path_buf()),
            },
            _ => Mode::Defaults,
        }
    }
}

/// What one hook call did.
#[derive(Debug, Clone, Default)]
pub struct Called {
    pub ok: bool,
    /// Its stdout with trailing newlines removed (as `$(...)` would).
    pub stdout: String,
    pub stderr: Vec<u8>,
}

/// The default answer of hook `name` (no hook file).
pub fn default_answer(name: &str) -> &'static str {
    match name {
        "pr_linked_issue_should_close" => "yes",
        "pr_automerge_allowed" => "no",
        "pr_review_pass_action" => "merge",
        _ => "",
    }
}

/// Runs hook `name` of `file` through bash with `env`.
pub fn run_bash(file: &Path, name: &str, args: &[String], env: &Env, cwd: &Path) -> Called {
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(RUNNER)
        .arg("acp-pr-hook")
        .arg(file)
        .arg(name)
        .args(args)
        .stdin(Stdio::null())
        .current_dir(cwd);
    env.apply(&mut cmd);
    match acp_core::process::output(&mut cmd) {
        Ok(out) => Called {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout)
                .trim_end_matches('\n')
                .to_string(),
            stderr: out.stderr,
        },
        Err(e) => Called {
            ok: false,
            stdout: String::new(),
            stderr: format!("{e:#}\n").into_bytes(),
        },
    }
}
