//! The policy hooks of the issue reconcile (spec 3.17's hook ABI).
//!
//! - No `--hook-file` (or not a file): every hook is the original's
//!   default (no-ops; `issue_mark_blocked` is `issue_remove_running`;
//!   `issue_should_close_as_superseded` is false).
//! - The shipped `hooks/issue-reconcile-hooks.sh`, unchanged (its bytes
//!   equal [`crate::DEFAULT_HOOK_FILE`]): its policy is applied in-process
//!   (`policy.rs`): labels as one delta through acp-github, retry state
//!   through `retry-state.sh`, writes through the run's outbox.
//! - Any other file (a user's edited copy, a test's hooks): each hook it
//!   defines runs as `bash -c 'source "$1"; shift; "$@"'` with the hook
//!   file and the function as arguments and the run's variables exported;
//!   hooks it does not define take the defaults above.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use acp_core::Invocation;

use crate::flow::Session;
use crate::policy::Policy;

/// Every hook function of the ABI.
pub const HOOKS: &[&str] = &[
    "issue_before_success",
    "issue_before_blocked",
    "issue_schedule_retry",
    "issue_mark_ready",
    "issue_clear_retry",
    "issue_remove_running",
    "issue_mark_blocked",
    "issue_should_close_as_superseded",
    "issue_close_as_superseded",
    "issue_after_pr_created",
    "issue_after_reconciled",
    "issue_publish_extra_args",
];

/// A hook file run through bash.
#[derive(Debug, Clone)]
pub struct BashHooks {
    pub file: PathBuf,
    /// The hook functions the file defines.
    pub defined: Vec<String>,
    /// `issue_result_contract_note` as the file sets it.
    pub note: String,
    /// The variables the hooks see (run.env, result.env, the reconcile's own).
    pub exports: Vec<(String, String)>,
}

/// Which hooks a reconcile runs.
pub enum Hooks {
    Defaults,
    Policy(Box<Policy>),
    Bash(BashHooks),
}

fn bash(ctx: &Invocation<'_>) -> Command {
    let mut cmd = Command::new(
        ctx.env
            .which("bash")
            .unwrap_or_else(|| PathBuf::from("/bin/bash")),
    );
    ctx.env.apply(&mut cmd);
    cmd.current_dir(&ctx.cwd);
    cmd
}

impl Hooks {
    /// Chooses the hooks of `args.hook_file`.
    pub(crate) fn load(
        ctx: &mut Invocation<'_>,
        args: &crate::Args,
        run_dir: &Path,
        vars: &BTreeMap<String, String>,
    ) -> anyhow::Result<Hooks> {
        let file = PathBuf::from(&args.hook_file);
        if args.hook_file.is_empty() || !file.is_file() {
            return Ok(Hooks::Defaults);
        }
        let bytes = acp_core::fsx::read_capped(&file, 4 << 20)?;
        if bytes == crate::DEFAULT_HOOK_FILE.as_bytes() {
            return Ok(Hooks::Policy(Box::new(Policy::resolve(
                ctx,
                &file,
                &args.repo_slug,
            )?)));
        }
        let mut exports: Vec<(String, String)> =
            vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let locals = [
            ("session", args.session.as_str()),
            ("repo_slug", args.repo_slug.as_str()),
            ("repo_root", args.repo_root.as_str()),
            ("runs_root", args.runs_root.as_str()),
            ("history_root", args.history_root.as_str()),
            ("hook_file", args.hook_file.as_str()),
        ];
        exports.extend(locals.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        exports.push(("run_dir".into(), run_dir.to_string_lossy().into_owned()));
        // The hook file's profile lookup names the repository reconciled.
        if ctx.env.non_empty("ACP_REPO_SLUG").is_none() {
            exports.push(("ACP_REPO_SLUG".into(), args.repo_slug.clone()));
        }
        exports.push((
            "issue_id".into(),
            vars.get("ISSUE_ID").cloned().unwrap_or_default(),
        ));
        let script = r#"source "$1" >/dev/null || exit 1; shift
for f in "$@"; do declare -F "$f" >/dev/null && printf 'HOOK=%s\n' "$f"; done
printf 'NOTE=%s\n' "${issue_result_contract_note-}""#;
        let mut cmd = bash(ctx);
        cmd.envs(exports.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        cmd.arg("-c")
            .arg(script)
            .arg("issue-reconcile-hooks")
            .arg(&file)
            .args(HOOKS);
        let out = acp_core::process::output(&mut cmd)?;
        ctx.stderr.write_all(&out.stderr)?;
        if !out.status.success() {
            return Err(acp_core::fail(
                1,
                format!("failed to load hook file {}", file.display()),
            ));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let defined = text
            .lines()
            .filter_map(|l| l.strip_prefix("HOOK="))
            .map(str::to_string)
            .collect();
        let note = text
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("NOTE="))
            .unwrap_or("")
            .to_string();
        Ok(Hooks::Bash(BashHooks {
            file,
            defined,
            note,
            exports,
        }))
    }

    /// The `issue_result_contract_note` a hook file sets ("" otherwise).
    pub fn contract_note(&self) -> String {
        match self {
            Hooks::Bash(b) => b.note.clone(),
            _ => String::new(),
        }
    }
}

impl Session<'_, '_> {
    /// Runs hook `name`: `Ok(true)` when it succeeded (for
    /// `issue_should_close_as_superseded`: when it says yes).
    pub fn call_hook(&mut self, name: &str, args: &[&str]) -> anyhow::Result<bool> {
        if matches!(self.hooks, Hooks::Policy(_)) {
            return self.policy_hook(name, args);
        }
        let defined = match &self.hooks {
            Hooks::Bash(b) => b.defined.iter().any(|d| d == name),
            _ => false,
        };
        if !defined {
            return match name {
                "issue_mark_blocked" => self.call_hook("issue_remove_running", &[]),
                "issue_should_close_as_superseded" => Ok(false),
                _ => Ok(true),
            };
        }
        let out = self.run_bash_hook(name, args)?;
        self.ctx.stderr.write_all(&out.stdout)?;
        self.ctx.stderr.write_all(&out.stderr)?;
        Ok(out.status.success())
    }

    fn run_bash_hook(&mut self, name: &str, args: &[&str]) -> anyhow::Result<std::process::Output> {
        let Hooks::Bash(b) = &self.hooks else {
            anyhow::bail!("not a bash hook file");
        };
        let mut cmd = bash(self.ctx);
        cmd.envs(b.exports.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let dynamic = [
            ("status", self.status.clone()),
            ("failure_reason", self.reason.clone()),
            ("result_outcome", self.outcome.clone()),
            ("result_action", self.action.clone()),
            ("pr_number", self.pr_number.clone()),
            ("WORKTREE", self.worktree.clone()),
        ];
        cmd.envs(dynamic.iter().map(|(k, v)| (*k, v.as_str())));
        cmd.arg("-c")
            .arg(r#"source "$1"; shift; "$@""#)
            .arg("issue-reconcile-hooks");
        cmd.arg(&b.file).arg(name).args(args);
        acp_core::process::output(&mut cmd)
    }

    /// `issue_publish_extra_args`: one publish argument per output line.
    pub fn publish_extra_args(&mut self) -> anyhow::Result<Vec<String>> {
        match &self.hooks {
            Hooks::Defaults => Ok(Vec::new()),
            Hooks::Policy(_) => Ok(vec!["--keep-open-label".into(), "agent-keep-open".into()]),
            Hooks::Bash(b) if !b.defined.iter().any(|d| d == "issue_publish_extra_args") => {
                Ok(Vec::new())
            }
            Hooks::Bash(_) => {
                let out = self.run_bash_hook("issue_publish_extra_args", &[])?;
                self.ctx.stderr.write_all(&out.stderr)?;
                Ok(String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect())
            }
        }
    }
}
