//! The inner half of a launcher, run inside the tmux pane by the generated
//! `<session>.sh` (`<exe> <tool> __inner KEY=VALUE...`, the typed contract of
//! [`super::contract`]): the session's paths,
//! sandbox reset, runner state, result contracts, final git state, artifact
//! collection, the delayed reconcile and the exit marker.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context;

use super::contract::{self, CommonInner, ReconcileArgs};
use crate::supervise::{KeyProfile, RunnerState};
use acp_core::classify;
use acp_core::envfile;
use acp_core::fsx;
use acp_core::shellquote::QuoteLocale;
use acp_core::{Env, Invocation};

/// One running session as the inner supervisor sees it: the contract's
/// common part (absolute paths, byte for byte as the launcher had them;
/// its fields read through `Deref`), plus what the inner side derives.
#[derive(Debug, Clone)]
pub struct Session {
    pub tool: String,
    pub common: CommonInner,
    /// `<sandbox run dir>/result.env`.
    pub sandbox_result: PathBuf,
    pub locale: QuoteLocale,
}

impl std::ops::Deref for Session {
    type Target = CommonInner;
    fn deref(&self) -> &CommonInner {
        &self.common
    }
}

impl std::ops::DerefMut for Session {
    fn deref_mut(&mut self) -> &mut CommonInner {
        &mut self.common
    }
}

impl Session {
    /// The session of tool `tool` from the contract's common part.
    pub fn new(tool: &str, c: CommonInner, env: &Env) -> Self {
        Self {
            tool: tool.to_string(),
            sandbox_result: c.sandbox_run_dir.join("result.env"),
            common: c,
            locale: QuoteLocale::from_env(env),
        }
    }

    /// Creates the artifact dir and an empty sandbox run dir (every backend:
    /// a result or comment left by an earlier run of the same session name
    /// must not be read as this run's, bug B18).
    pub fn reset_sandbox(&self) -> anyhow::Result<()> {
        fsx::create_dir_all(&self.artifact_dir)?;
        let dir = &self.sandbox_run_dir;
        fsx::create_dir_all(dir)?;
        for entry in fs_err::read_dir(dir)? {
            let path = entry?.path();
            let is_dir = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
            if is_dir {
                fs_err::remove_dir_all(&path)?;
            } else {
                fs_err::remove_file(&path)?;
            }
        }
        Ok(())
    }

    /// Appends raw bytes to the session log.
    pub fn append_log(&self, bytes: &[u8]) -> anyhow::Result<()> {
        fsx::append(&self.log, bytes)
    }

    /// Appends `text` to the log and writes it to `out` (the pane), like
    /// the original's `printf ... | tee -a <log>`. A closed pane (the session
    /// was killed) does not stop the log write.
    pub fn tee(&self, out: &mut dyn Write, text: &str) -> anyhow::Result<()> {
        self.append_log(text.as_bytes())?;
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
        Ok(())
    }

    /// "Record final git state": run.env minus `FINAL_HEAD`/`FINAL_BRANCH`,
    /// then both again from the worktree (`''` when not a repo), atomically.
    pub fn record_final_git_state(&self, env: &Env) -> anyhow::Result<()> {
        self.record_final_git_state_with(env, &[])
    }

    /// [`Self::record_final_git_state`] that also replaces `extra` keys:
    /// their old lines are dropped and they are appended (quoted) before
    /// `FINAL_HEAD`/`FINAL_BRANCH` (codex re-records `WORKTREE_REALPATH`).
    pub fn record_final_git_state_with(
        &self,
        env: &Env,
        extra: &[(&str, &[u8])],
    ) -> anyhow::Result<()> {
        let wt = &self.worktree;
        let head = acp_core::git::head(env, wt);
        let branch = acp_core::git::current_branch(env, wt);
        let path = &self.run_env;
        let old = fsx::read_if_exists(path)?.unwrap_or_default();
        let mut out = Vec::with_capacity(old.len() + 128);
        let replaced = |line: &[u8]| {
            ["FINAL_HEAD", "FINAL_BRANCH"]
                .iter()
                .chain(extra.iter().map(|(k, _)| k))
                .any(|k| line.starts_with(k.as_bytes()) && line.get(k.len()) == Some(&b'='))
        };
        for line in old.split_inclusive(|b| *b == b'\n') {
            if replaced(line) {
                continue;
            }
            out.extend_from_slice(line);
            if !line.ends_with(b"\n") {
                out.push(b'\n');
            }
        }
        for (k, v) in extra {
            out.extend(envfile::format_assignment(k, v, self.locale));
        }
        out.extend(envfile::format_assignment(
            "FINAL_HEAD",
            head.as_bytes(),
            self.locale,
        ));
        out.extend(envfile::format_assignment(
            "FINAL_BRANCH",
            branch.as_bytes(),
            self.locale,
        ));
        fsx::atomic_write(path, &out)
    }

    /// Copies each `--collect-file` that exists in the sandbox run dir into
    /// the artifact dir.
    pub fn collect_artifacts(&self) -> anyhow::Result<()> {
        for name in &self.collect {
            let from = self.sandbox_run_dir.join(name);
            if from.is_file() {
                fs_err::copy(from, self.artifact_dir.join(name))?;
            }
        }
        Ok(())
    }

    /// Whether the agent (or an earlier step) left a sandbox result.env.
    pub fn has_sandbox_result(&self) -> bool {
        self.sandbox_result.is_file()
    }

    /// Copies the sandbox result.env to the host; false when there is none.
    pub fn copy_result_to_host(&self) -> anyhow::Result<bool> {
        if !self.has_sandbox_result() {
            return Ok(false);
        }
        fs_err::copy(&self.sandbox_result, &self.host_result)?;
        Ok(true)
    }

    /// Writes `contract` to the sandbox result.env.
    pub fn write_sandbox_result(&self, contract: &ResultContract) -> anyhow::Result<()> {
        fsx::atomic_write(&self.sandbox_result, &contract.to_bytes())
    }

    /// Writes `contract` to the host result.env and copies it to the sandbox.
    pub fn write_host_result(&self, contract: &ResultContract) -> anyhow::Result<()> {
        let bytes = contract.to_bytes();
        fsx::atomic_write(&self.host_result, &bytes)?;
        fsx::atomic_write(&self.sandbox_result, &bytes)
    }

    /// Writes runner.env atomically (a unique temp name per write, so two
    /// writers can never interleave, bug B7).
    pub fn write_runner_state(&self, st: &RunnerState, profile: KeyProfile) -> anyhow::Result<()> {
        st.write(&self.runner_env, profile, self.locale)
    }

    /// Moves the credentials the launcher left in a private file into `env`
    /// and deletes the file (they never stay on disk for the run).
    pub fn take_secrets(&mut self, env: &mut Env) -> anyhow::Result<()> {
        let Some(path) = self.secrets_file.take() else {
            return Ok(());
        };
        let loaded = envfile::EnvFile::load_if_exists(&path, envfile::Mode::Strict);
        let _ = std::fs::remove_file(&path);
        if let Some(f) = loaded? {
            for e in f.entries {
                env.set(e.key, e.value);
            }
        }
        Ok(())
    }

    /// Prints and appends `\n__CODEX_EXIT__:<status>\n` (spec 1.10).
    pub fn exit_marker(&self, out: &mut dyn Write, status: i32) -> anyhow::Result<()> {
        self.tee(out, &format!("\n__CODEX_EXIT__:{status}\n"))
    }

    /// Starts the delayed reconcile (spec 1.9) when a command was given: a
    /// detached waiter in its own session (it survives the pane's hangup)
    /// that polls the tmux session every second, waits 2 s more after it is
    /// gone, then runs the command with `ACP_EXPECTED_RUN_STARTED_AT` and
    /// `F_LOSNING_EXPECTED_RUN_STARTED_AT` set, output appended to the log.
    /// Runs in the invocation's environment; see [`Self::schedule_reconcile_with`].
    pub fn schedule_reconcile(&self, ctx: &Invocation<'_>) -> anyhow::Result<()> {
        self.schedule_reconcile_with(ctx, &ctx.env)
    }

    /// [`Self::schedule_reconcile`] in `env`, the worker's environment
    /// (credentials included: reconcile scripts talk to GitHub).
    pub fn schedule_reconcile_with(&self, ctx: &Invocation<'_>, env: &Env) -> anyhow::Result<()> {
        if self.reconcile_command.is_empty() {
            return Ok(());
        }
        let log = fs_err::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let log = log.into_file();
        let log2 = log
            .try_clone()
            .with_context(|| format!("failed to reopen {}", self.log.display()))?;
        let args = ReconcileArgs {
            session: self.session.clone(),
            started_at: self.started_at.clone(),
            command: self.reconcile_command.clone(),
        };
        let mut cmd = Command::new(&ctx.exe);
        env.apply(&mut cmd);
        cmd.arg(&self.tool)
            .arg(super::RECONCILE_WORD)
            .args(contract::encode(&args))
            .current_dir(&ctx.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2));
        acp_core::process::new_session(&mut cmd);
        cmd.spawn().with_context(|| {
            format!("failed to start the delayed reconcile for {}", self.session)
        })?;
        Ok(())
    }
}

/// The delayed-reconcile waiter (`<tool> __reconcile SESSION= STARTED_AT= COMMAND=`).
pub fn reconcile_waiter(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let ReconcileArgs {
        session,
        started_at,
        command,
    } = contract::decode(args)?;
    let tmux = acp_core::tmux::Tmux::new(&ctx.env, None);
    while tmux.has_session(&session) {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    std::thread::sleep(std::time::Duration::from_secs(2));
    let mut env = ctx.env.clone();
    env.set("ACP_EXPECTED_RUN_STARTED_AT", &started_at);
    env.set("F_LOSNING_EXPECTED_RUN_STARTED_AT", &started_at);
    let mut cmd = Command::new("bash");
    env.apply(&mut cmd);
    cmd.arg("-c")
        .arg(&command)
        .current_dir(&ctx.cwd)
        .stdin(Stdio::null());
    let status = cmd
        .status()
        .context("failed to run bash for the reconcile command")?;
    Ok(acp_core::process::exit_code(status))
}

/// A result contract the launcher writes itself (raw `KEY=value` lines, as
/// the original's `printf`; values are restricted to a safe character set so
/// the file stays safe to source).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultContract {
    pub outcome: &'static str,
    pub action: &'static str,
    pub detail: Option<String>,
}

impl ResultContract {
    /// `OUTCOME=blocked`, `ACTION=host-comment-blocker`, `DETAIL=<detail>`.
    pub fn blocked(detail: &str) -> Self {
        Self {
            outcome: "blocked",
            action: "host-comment-blocker",
            detail: Some(detail.to_string()),
        }
    }

    /// `OUTCOME=implemented`, `ACTION=host-publish-issue-pr`.
    pub fn implemented() -> Self {
        Self {
            outcome: "implemented",
            action: "host-publish-issue-pr",
            detail: None,
        }
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = format!("OUTCOME={}\nACTION={}\n", self.outcome, self.action);
        if let Some(d) = &self.detail {
            let safe: String = d
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "._:-+@%/=".contains(c) {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            s.push_str(&format!("DETAIL={safe}\n"));
        }
        s.into_bytes()
    }
}

/// Result inference from git state (opencode/kilo/ollama rule): whether any
/// path that is not `*.md` appears in `git diff --name-only HEAD`,
/// `git diff --cached --name-only` or `git diff --name-only origin/main..HEAD`.
pub fn has_product_changes(env: &Env, worktree: &Path) -> bool {
    let diffs: [&[&str]; 3] = [
        &["diff", "--name-only", "HEAD"],
        &["diff", "--cached", "--name-only"],
        &["diff", "--name-only", "origin/main..HEAD"],
    ];
    diffs.iter().any(|args| {
        acp_core::git::capture(env, worktree, args)
            .is_some_and(|out| out.lines().any(|l| !l.is_empty() && !l.ends_with(".md")))
    })
}

/// The per-backend data the launchers hand to the shared engine: which lines
/// count as progress, and the runner state refreshed on every heartbeat
/// (`UPDATED_AT` moves while the agent runs, nothing else is touched).
pub struct AgentHooks<'a> {
    pub runner_env: &'a Path,
    pub profile: KeyProfile,
    pub state: RunnerState,
    pub locale: QuoteLocale,
    /// `None`: every line is progress; `Some(f)`: only lines where `f` is true.
    pub progress: Option<fn(&[u8]) -> bool>,
}

impl crate::supervise::Backend for AgentHooks<'_> {
    fn on_line(
        &mut self,
        line: &[u8],
        _log: &mut crate::supervise::LogSink<'_>,
    ) -> anyhow::Result<crate::supervise::Signal> {
        use crate::supervise::Signal;
        Ok(match self.progress {
            Some(f) if !f(line) => Signal::Output,
            _ => Signal::Progress,
        })
    }

    fn on_heartbeat(
        &mut self,
        _tick: &crate::supervise::Tick,
        _log: &mut crate::supervise::LogSink<'_>,
    ) -> anyhow::Result<()> {
        self.state.write(self.runner_env, self.profile, self.locale)
    }
}

/// A one-shot agent CLI run (crush, kilo): one attempt, hard timeout,
/// optional silent stall, result inferred from git state when the agent
/// wrote no contract.
pub struct OneShot<'a> {
    /// Reason prefix: `opencode` gives `opencode-exit-<n>`.
    pub name: &'a str,
    pub bin: &'a Path,
    pub args: Vec<OsString>,
    pub input: crate::supervise::Input,
    pub timeout: u64,
    pub stall: u64,
    /// runner.env refresh interval.
    pub heartbeat: u64,
    pub progress: Option<fn(&[u8]) -> bool>,
}

/// Runs a one-shot backend from start to exit marker; returns the status.
pub fn run_one_shot(
    ctx: &mut Invocation<'_>,
    s: &mut Session,
    run: OneShot<'_>,
) -> anyhow::Result<i32> {
    use crate::supervise::{self, Ending};
    use std::time::Duration;
    let mut env = ctx.env.clone();
    // Neither failure may end the run without its state and exit marker:
    // missing credentials are noted (the agent reports what it lacks), and a
    // sandbox that cannot be emptied fails the run before the agent starts.
    if let Err(e) = s.take_secrets(&mut env) {
        let _ = s.append_log(format!("[session] credentials not loaded: {e:#}\n").as_bytes());
    }
    let prepared = s.reset_sandbox();
    let running = RunnerState {
        state: supervise::state::RUNNING.into(),
        attempt: 1,
        ..RunnerState::default()
    };
    s.write_runner_state(&running, KeyProfile::Minimal)?;
    let start = fsx::size(&s.log).unwrap_or(0);
    let cfg = supervise::Config {
        timeout: Some(Duration::from_secs(run.timeout.max(1))),
        silent_stall: (run.stall > 0).then(|| Duration::from_secs(run.stall)),
        progress_stall: (run.stall > 0).then(|| Duration::from_secs(run.stall)),
        heartbeat: Some(Duration::from_secs(run.heartbeat)),
        ..supervise::Config::default()
    };
    let outcome = {
        let mut sink = supervise::LogSink::append(&s.log, Some(&mut *ctx.stdout))?;
        let mut cmd = Command::new(run.bin);
        env.apply(&mut cmd);
        cmd.args(&run.args).current_dir(&s.worktree);
        let mut hooks = AgentHooks {
            runner_env: &s.runner_env,
            profile: KeyProfile::Minimal,
            state: running,
            locale: s.locale,
            progress: run.progress,
        };
        match prepared
            .and_then(|()| supervise::supervise(&mut cmd, &run.input, &cfg, &mut hooks, &mut sink))
        {
            Ok(o) => o,
            Err(e) => {
                sink.line(format!("{e:#}").as_bytes())?;
                supervise::Outcome::not_started(127)
            }
        }
    };
    let status = outcome.exit_code;
    let signalled = matches!(outcome.ending, Ending::Signalled(_));
    if status == 0 {
        let done = RunnerState {
            state: supervise::state::SUCCEEDED.into(),
            attempt: 1,
            last_exit_code: "0".into(),
            ..RunnerState::default()
        };
        s.write_runner_state(&done, KeyProfile::Minimal)?;
        if !s.has_sandbox_result() {
            let contract = if has_product_changes(&env, &s.worktree) {
                ResultContract::implemented()
            } else {
                ResultContract::blocked(classify::reason::MISSING_RESULT_CONTRACT)
            };
            s.write_sandbox_result(&contract)?;
        }
    } else {
        let reason = match &outcome.ending {
            Ending::TimedOut => classify::reason::TIMEOUT.to_string(),
            Ending::Stalled(kind) => classify::agent_stall_reason(*kind).to_string(),
            Ending::Signalled(_) => classify::reason::RUNNER_ABORTED.to_string(),
            _ => {
                let log = fsx::read_if_exists(&s.log)?.unwrap_or_default();
                let from = usize::try_from(start).unwrap_or(0).min(log.len());
                classify::classify_cli_failure(&log[from..])
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("{}-exit-{status}", run.name))
            }
        };
        let done = RunnerState {
            state: supervise::state::FAILED.into(),
            attempt: 1,
            last_exit_code: status.to_string(),
            last_failure_reason: reason.clone(),
            ..RunnerState::default()
        };
        s.write_runner_state(&done, KeyProfile::Minimal)?;
        if !s.has_sandbox_result() {
            s.write_sandbox_result(&ResultContract::blocked(&reason))?;
        }
    }
    s.record_final_git_state(&env)?;
    s.copy_result_to_host()?;
    s.collect_artifacts()?;
    if !signalled {
        s.schedule_reconcile_with(ctx, &env)?;
    }
    s.exit_marker(ctx.stdout, status)?;
    Ok(status)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::launcher::contract::testing;

    #[test]
    fn final_git_state_replaces_old_lines_and_extra_keys_and_quotes_values() {
        let dir = tempfile::tempdir().unwrap();
        let meta = dir.path().join("run.env");
        std::fs::write(
            &meta,
            "SESSION=s\nFINAL_HEAD=old\nWORKTREE_REALPATH=/old\nWORKTREE=/keep\nX=1",
        )
        .unwrap();
        let wt = dir.path().join("not git");
        std::fs::create_dir_all(&wt).unwrap();
        let wt_s = wt.to_string_lossy().into_owned();
        let mut env = Env::new();
        env.set("PATH", "/usr/bin:/bin");
        env.set("LC_ALL", "C.UTF-8");
        let common = CommonInner {
            worktree: wt.clone(),
            run_env: meta.clone(),
            ..testing::common_in(dir.path())
        };
        let s = Session::new("t", common, &env);
        s.record_final_git_state_with(&env, &[("WORKTREE_REALPATH", wt_s.as_bytes())])
            .unwrap();
        let text = std::fs::read_to_string(&meta).unwrap();
        let quoted = acp_core::shellquote::quote_str(&wt_s, s.locale);
        assert_eq!(
            text,
            format!(
                "SESSION=s\nWORKTREE=/keep\nX=1\nWORKTREE_REALPATH={quoted}\nFINAL_HEAD=''\nFINAL_BRANCH=''\n"
            )
        );
        // Without extra keys, only the FINAL_ lines are replaced.
        s.record_final_git_state(&env).unwrap();
        let again = std::fs::read_to_string(&meta).unwrap();
        assert_eq!(again, text);
    }

    #[test]
    fn result_contract_is_raw_and_safe() {
        let c = ResultContract::blocked("bad value; rm -rf /");
        assert_eq!(
            String::from_utf8(c.to_bytes()).unwrap(),
            "OUTCOME=blocked\nACTION=host-comment-blocker\nDETAIL=bad-value--rm--rf-/\n"
        );
        assert_eq!(
            String::from_utf8(ResultContract::implemented().to_bytes()).unwrap(),
            "OUTCOME=implemented\nACTION=host-publish-issue-pr\n"
        );
    }
}
