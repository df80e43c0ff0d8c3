//! Loading a finished PR session (worker status, run.env, result.env, the
//! PR's state) and the state the transitions share.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use acp_core::envfile::{self, EnvFile, Mode};
use acp_core::{Env, Invocation, fail, fsx};
use acp_github::{Gh, Outbox, RetryPolicy};

use acp_session::reconcile::effects;

use crate::hooks;
use crate::policy::Policy;

/// The reconciler's inputs (its flags).
#[derive(Debug, Clone, Default)]
pub struct Args {
    pub session: String,
    pub repo_slug: String,
    pub repo_root: PathBuf,
    pub runs_root: PathBuf,
    pub history_root: PathBuf,
    pub hook_file: Option<PathBuf>,
}

/// Everything a transition reads or changes.
pub struct Flow<'c, 'a> {
    pub ctx: &'c mut Invocation<'a>,
    pub a: Args,
    /// The shared tools dir (worker-status, cleanup-session, the guard...).
    pub tools_dir: PathBuf,
    /// The environment of every child: ours plus run.env and result.env
    /// (the original exported both with `set -a`).
    pub env: Env,
    pub run_dir: PathBuf,
    pub pr: String,
    pub pr_n: u64,
    pub worktree: String,
    pub head_ref: String,
    pub final_head: String,
    pub started_at: String,
    pub status: String,
    pub failure_reason: String,
    pub outcome: String,
    pub action: String,
    pub detail: String,
    pub issue_id: String,
    pub note: String,
    pub pr_state: String,
    pub base_ref: String,
    /// The `gh` handle (an error when `gh` is not on the PATH).
    pub gh: Result<Gh, acp_github::GhError>,
    pub hooks: hooks::Mode,
    pub policy: Option<Policy>,
    pub outbox: Outbox,
    /// The rate-limit message of a host action, once one was refused.
    pub rate_limited: Option<String>,
}

/// The tools dir the original resolved: a root with `tools/bin` from
/// `AGENT_CONTROL_PLANE_ROOT`, `ACP_ROOT`, `F_LOSNING_FLOW_ROOT`,
/// `AGENT_FLOW_SKILL_ROOT`; `SHARED_AGENT_HOME/tools/bin`; the skill under
/// `SHARED_AGENT_HOME/skills/openclaw/`; else the shim's own directory.
pub fn tools_dir(ctx: &Invocation<'_>) -> PathBuf {
    let env = &ctx.env;
    for key in [
        "AGENT_CONTROL_PLANE_ROOT",
        "ACP_ROOT",
        "F_LOSNING_FLOW_ROOT",
        "AGENT_FLOW_SKILL_ROOT",
    ] {
        if let Some(root) = env.path(key).filter(|p| !p.as_os_str().is_empty()) {
            let dir = root.join("tools/bin");
            if dir.is_dir() {
                return dir;
            }
        }
    }
    if let Some(home) = env
        .path("SHARED_AGENT_HOME")
        .filter(|p| !p.as_os_str().is_empty())
    {
        if home.join("tools/bin").is_dir() {
            return home.join("tools/bin");
        }
        let names = [
            env.non_empty("AGENT_CONTROL_PLANE_SKILL_NAME")
                .unwrap_or_else(|| "agent-control-plane".into()),
            env.get_or_empty("AGENT_CONTROL_PLANE_COMPAT_ALIAS"),
        ];
        for name in names.iter().filter(|n| !n.is_empty()) {
            let dir = home.join("skills/openclaw").join(name).join("tools/bin");
            if dir.is_dir() {
                return dir;
            }
        }
    }
    ctx.script_dir().unwrap_or_else(|| ctx.cwd.clone())
}

/// A command for tool `name` of the tools dir (`bash <dir>/<name>`, so a
/// stub there is what runs), else our own binary running it.
pub fn tool_command(
    ctx: &Invocation<'_>,
    dir: &Path,
    env: &Env,
    name: &str,
) -> std::process::Command {
    let path = dir.join(name);
    let mut cmd = if path.is_file() {
        let mut c = std::process::Command::new("bash");
        c.arg(path);
        c
    } else {
        let mut c = std::process::Command::new(&ctx.exe);
        c.arg(name);
        c
    };
    env.apply(&mut cmd);
    cmd.current_dir(&ctx.cwd);
    cmd.stdin(std::process::Stdio::null());
    cmd
}

/// The value of the first `KEY=` line of `text` (`last`: the last one).
pub fn line_value(text: &str, key: &str, last: bool) -> String {
    let prefix = format!("{key}=");
    let mut found = text.lines().filter_map(|l| l.strip_prefix(&prefix));
    let v = if last {
        found.next_back()
    } else {
        found.next()
    };
    v.unwrap_or_default().to_string()
}

/// What worker-status said about the session.
pub struct WorkerStatus {
    pub status: String,
    pub failure_reason: String,
    pub meta_file: String,
}

pub fn worker_status(
    ctx: &mut Invocation<'_>,
    dir: &Path,
    a: &Args,
) -> anyhow::Result<WorkerStatus> {
    let mut cmd = tool_command(ctx, dir, &ctx.env, "agent-project-worker-status");
    cmd.arg("--runs-root")
        .arg(&a.runs_root)
        .args(["--session", &a.session]);
    let out = acp_core::dispatch::output(&mut cmd)?;
    ctx.stderr.write_all(&out.stderr)?;
    if !out.status.success() {
        return Err(fail(acp_core::process::exit_code(out.status), ""));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(WorkerStatus {
        status: line_value(&text, "STATUS", false),
        failure_reason: line_value(&text, "FAILURE_REASON", true),
        meta_file: line_value(&text, "META_FILE", false),
    })
}

/// Every assignment of an env file (read, never executed).
pub fn env_pairs(path: &Path) -> anyhow::Result<Vec<(String, OsString)>> {
    let file = EnvFile::load_with(path, Mode::Lenient).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(file.to_map().into_iter().collect())
}

/// The text of `key` in `pairs`.
pub fn pair(pairs: &[(String, OsString)], key: &str) -> String {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The `gh` handle of a reconcile: few, short retries (a refused host
/// action is retried by the next reconcile or a fresh worker).
pub fn gh_for(env: &Env) -> Result<Gh, acp_github::GhError> {
    let gh = Gh::new(env.clone())?;
    Ok(gh.with_retry(RetryPolicy {
        attempts: 2,
        server_base: std::time::Duration::from_secs(2),
        rate_limit_base: std::time::Duration::from_secs(1),
    }))
}

impl Flow<'_, '_> {
    /// The `gh` handle, or why there is none.
    pub fn gh(&self) -> Result<&Gh, acp_github::GhError> {
        self.gh.as_ref().map_err(Clone::clone)
    }

    /// The worktree, when it exists.
    pub fn wt(&self) -> Option<PathBuf> {
        let p = PathBuf::from(&self.worktree);
        (!self.worktree.is_empty() && p.is_dir()).then_some(p)
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.run_dir.join(name)
    }

    /// Writes `reconciled.ok` (when the run dir is still there).
    pub fn mark_reconciled(&self) -> anyhow::Result<()> {
        acp_session::reconcile::marker::mark_reconciled(&self.run_dir, &self.started_at).map(|_| ())
    }

    /// The final lines.
    pub fn print_result(&mut self) -> anyhow::Result<()> {
        let or_unknown = |s: &str| {
            if s.is_empty() {
                "unknown".to_string()
            } else {
                s.to_string()
            }
        };
        let mut lines = vec![
            ("STATUS", self.status.clone()),
            ("PR_NUMBER", self.pr.clone()),
            ("PR_STATE", self.pr_state.clone()),
            ("OUTCOME", or_unknown(&self.outcome)),
            ("ACTION", or_unknown(&self.action)),
        ];
        if !self.failure_reason.is_empty() {
            lines.push(("FAILURE_REASON", self.failure_reason.clone()));
        }
        if !self.note.is_empty() {
            lines.push(("RESULT_CONTRACT_NOTE", self.note.clone()));
        }
        print_lines(self.ctx, &lines)
    }

    /// Writes a stderr line.
    pub fn warn(&mut self, line: impl std::fmt::Display) {
        let _ = writeln!(self.ctx.stderr, "{line}");
    }

    /// Runs `cleanup-session` of the tools dir for this session (only when
    /// it is there, failures ignored, as the original did).
    pub fn cleanup(&mut self) {
        self.settle_outbox();
        let path = self.tools_dir.join("agent-project-cleanup-session");
        if !path.is_file() {
            return;
        }
        let mut cmd = tool_command(
            self.ctx,
            &self.tools_dir,
            &self.env,
            "agent-project-cleanup-session",
        );
        cmd.arg("--repo-root")
            .arg(&self.a.repo_root)
            .arg("--runs-root")
            .arg(&self.a.runs_root)
            .arg("--history-root")
            .arg(&self.a.history_root)
            .args(["--session", &self.a.session])
            .args(["--worktree", &self.worktree])
            .args(["--mode", "pr"]);
        if let Ok(out) = acp_core::dispatch::output(&mut cmd) {
            let _ = self.ctx.stderr.write_all(&out.stderr);
        }
    }
}

impl Flow<'_, '_> {
    /// Replays the run's outbox (at the start of a reconcile and before
    /// cleanup archives the run dir), in order. An entry GitHub refuses for
    /// good (a bare 403, a validation error, a missing item) is moved to
    /// `outbox/dead/` so it never holds back the entries behind it; a
    /// retryable failure stops the replay (reported on stderr).
    pub fn settle_outbox(&mut self) {
        if let Err(e) = self.replay_outbox() {
            self.warn(format!("{e:#}"));
        }
    }

    fn replay_outbox(&mut self) -> anyhow::Result<()> {
        let Ok(gh) = self.gh() else { return Ok(()) };
        let settled = effects::replay(gh, &self.outbox)?;
        let error = settled.error.unwrap_or_default();
        if settled.dead > 0 {
            let dead = self.outbox.dir().join(effects::DEAD_DIR);
            self.warn(format!(
                "{} GitHub write(s) refused for good, kept in {}: {error}",
                settled.dead,
                dead.display()
            ));
        }
        if settled.pending > 0 {
            let dir = self.outbox.dir().display().to_string();
            self.warn(format!(
                "{} GitHub write(s) still pending in {dir}: {error}",
                settled.pending
            ));
        }
        Ok(())
    }
}

/// Writes `KEY=value` lines, each value checked for control characters
/// (a value that could forge a line is printed with them replaced).
pub fn print_lines<K: AsRef<str>>(
    ctx: &mut Invocation<'_>,
    lines: &[(K, String)],
) -> anyhow::Result<()> {
    for (k, v) in lines {
        let clean: String = v
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
        ctx.out_kv(k.as_ref(), clean)?;
    }
    Ok(())
}

/// Reads a text file of the run dir ("" when absent or unreadable).
pub fn read_text(path: &Path) -> String {
    fsx::read_capped_if_exists(path, 16 << 20)
        .ok()
        .flatten()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// Appends `text` to `path` (created when missing).
pub fn append_text(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut all = read_text(path);
    all.push_str(text);
    fsx::atomic_write(path, all.as_bytes())
}

/// Sets `KEY=value` pairs into `env` (valid names only).
pub fn overlay(env: &mut Env, pairs: &std::collections::BTreeMap<String, OsString>) {
    for (k, v) in pairs {
        if envfile::valid_key(k) {
            env.set(k.as_str(), v.clone());
        }
    }
}
