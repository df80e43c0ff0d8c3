//! The inner half of a launcher, run inside the tmux pane by the generated
//! `<session>.sh` (`<exe> <tool> __inner KEY=VALUE...`): the session's paths,
//! sandbox reset, runner state, result contracts, final git state, artifact
//! collection, the delayed reconcile and the exit marker.

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::Context;

use crate::envfile;
use crate::fsx;
use crate::shellquote::{QuoteLocale, quote_str};
use crate::{Env, Invocation, fail};

/// The `KEY=VALUE` words the inner script passes to the supervisor.
#[derive(Debug, Clone, Default)]
pub struct InnerArgs {
    pairs: Vec<(String, String)>,
}

impl InnerArgs {
    /// Parses `KEY=VALUE` words (the value may contain anything).
    pub fn parse(args: &[OsString]) -> anyhow::Result<Self> {
        let mut pairs = Vec::with_capacity(args.len());
        for a in args {
            let a = a.to_string_lossy();
            let Some((k, v)) = a.split_once('=') else {
                anyhow::bail!("not a KEY=VALUE word: {a}");
            };
            pairs.push((k.to_string(), v.to_string()));
        }
        Ok(Self { pairs })
    }

    /// The last value of `key` (empty when absent).
    pub fn get(&self, key: &str) -> String {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// All values of `key`, in order.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// One running session as the inner supervisor sees it (absolute paths).
#[derive(Debug, Clone)]
pub struct Session {
    pub tool: String,
    pub session: String,
    pub mode: String,
    pub worktree: String,
    pub prompt_file: String,
    pub artifact_dir: String,
    pub log: String,
    pub run_env: String,
    pub runner_env: String,
    pub host_result: String,
    pub sandbox_run_dir: String,
    pub sandbox_result: String,
    pub sandbox_subdir: String,
    pub started_at: String,
    pub reconcile_command: String,
    pub collect: Vec<String>,
    pub locale: QuoteLocale,
}

impl Session {
    /// Builds the session from the inner arguments.
    pub fn from_args(tool: &str, a: &InnerArgs, env: &Env) -> anyhow::Result<Self> {
        let s = Self {
            tool: tool.to_string(),
            session: a.get("SESSION"),
            mode: a.get("MODE"),
            worktree: a.get("WORKTREE"),
            prompt_file: a.get("PROMPT_FILE"),
            artifact_dir: a.get("ARTIFACT_DIR"),
            log: a.get("LOG"),
            run_env: a.get("RUN_ENV"),
            runner_env: a.get("RUNNER_ENV"),
            host_result: a.get("HOST_RESULT"),
            sandbox_run_dir: a.get("SANDBOX_RUN_DIR"),
            sandbox_result: format!("{}/result.env", a.get("SANDBOX_RUN_DIR")),
            sandbox_subdir: a.get("SANDBOX_SUBDIR"),
            started_at: a.get("STARTED_AT"),
            reconcile_command: a.get("RECONCILE_COMMAND"),
            collect: a.all("COLLECT"),
            locale: QuoteLocale::from_env(env),
        };
        for (name, v) in [
            ("SESSION", &s.session),
            ("WORKTREE", &s.worktree),
            ("ARTIFACT_DIR", &s.artifact_dir),
            ("LOG", &s.log),
            ("RUN_ENV", &s.run_env),
            ("RUNNER_ENV", &s.runner_env),
            ("SANDBOX_RUN_DIR", &s.sandbox_run_dir),
        ] {
            if v.is_empty() {
                return Err(fail(1, format!("inner supervisor: {name} is missing")));
            }
        }
        Ok(s)
    }

    /// Creates the artifact dir and an empty sandbox run dir (every backend:
    /// a result or comment left by an earlier run of the same session name
    /// must not be read as this run's, bug B18).
    pub fn reset_sandbox(&self) -> anyhow::Result<()> {
        fsx::create_dir_all(Path::new(&self.artifact_dir))?;
        let dir = Path::new(&self.sandbox_run_dir);
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
        fsx::append(Path::new(&self.log), bytes)
    }

    /// Appends `text` to the log and writes it to `out` (the pane), like
    /// the original's `printf ... | tee -a <log>`.
    pub fn tee(&self, out: &mut dyn Write, text: &str) -> anyhow::Result<()> {
        self.append_log(text.as_bytes())?;
        out.write_all(text.as_bytes())?;
        out.flush()?;
        Ok(())
    }

    /// "Record final git state": run.env minus `FINAL_HEAD`/`FINAL_BRANCH`,
    /// then both again from the worktree (`''` when not a repo), atomically.
    pub fn record_final_git_state(&self, env: &Env) -> anyhow::Result<()> {
        let wt = Path::new(&self.worktree);
        let head = crate::git::head(env, wt);
        let branch = crate::git::current_branch(env, wt);
        let path = Path::new(&self.run_env);
        let old = fsx::read_if_exists(path)?.unwrap_or_default();
        let mut out = Vec::with_capacity(old.len() + 128);
        for line in old.split_inclusive(|b| *b == b'\n') {
            if line.starts_with(b"FINAL_HEAD=") || line.starts_with(b"FINAL_BRANCH=") {
                continue;
            }
            out.extend_from_slice(line);
            if !line.ends_with(b"\n") {
                out.push(b'\n');
            }
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
            let from = Path::new(&self.sandbox_run_dir).join(name);
            if from.is_file() {
                fs_err::copy(&from, Path::new(&self.artifact_dir).join(name))?;
            }
        }
        Ok(())
    }

    /// Whether the agent (or an earlier step) left a sandbox result.env.
    pub fn has_sandbox_result(&self) -> bool {
        Path::new(&self.sandbox_result).is_file()
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
        fsx::atomic_write(Path::new(&self.sandbox_result), &contract.to_bytes())
    }

    /// Writes `contract` to the host result.env and copies it to the sandbox.
    pub fn write_host_result(&self, contract: &ResultContract) -> anyhow::Result<()> {
        let bytes = contract.to_bytes();
        fsx::atomic_write(Path::new(&self.host_result), &bytes)?;
        fsx::atomic_write(Path::new(&self.sandbox_result), &bytes)
    }

    /// Writes runner.env atomically (a unique temp name per write, so two
    /// writers can never interleave, bug B7).
    pub fn write_runner_state(&self, keys: RunnerKeys<'_>, st: &RunnerState) -> anyhow::Result<()> {
        write_runner_state(Path::new(&self.runner_env), keys, st, self.locale)
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
    pub fn schedule_reconcile(&self, ctx: &Invocation<'_>) -> anyhow::Result<()> {
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
            .with_context(|| format!("failed to reopen {}", self.log))?;
        let mut cmd = Command::new(&ctx.exe);
        ctx.env.apply(&mut cmd);
        cmd.arg(&self.tool)
            .arg(super::RECONCILE_WORD)
            .arg(format!("SESSION={}", self.session))
            .arg(format!("STARTED_AT={}", self.started_at))
            .arg(format!("COMMAND={}", self.reconcile_command))
            .current_dir(&ctx.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2));
        new_session(&mut cmd);
        cmd.spawn().with_context(|| {
            format!("failed to start the delayed reconcile for {}", self.session)
        })?;
        Ok(())
    }
}

/// Makes the child call `setsid()` before exec, so it is in no process
/// group or session the pane's hangup or a group kill can reach.
#[allow(unsafe_code)]
fn new_session(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the forked child before exec and only calls
    // `setsid`, which is async-signal-safe, allocates nothing and touches no
    // state shared with the parent; the child is not a group leader (no
    // `process_group` is set), so it cannot fail with EPERM, and any failure
    // is reported as a spawn error.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// The delayed-reconcile waiter (`<tool> __reconcile SESSION= STARTED_AT= COMMAND=`).
pub fn reconcile_waiter(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let a = InnerArgs::parse(args)?;
    let session = a.get("SESSION");
    let started_at = a.get("STARTED_AT");
    let command = a.get("COMMAND");
    if session.is_empty() || command.is_empty() {
        return Err(fail(
            64,
            "reconcile waiter: SESSION and COMMAND are required",
        ));
    }
    let tmux = crate::tmux::Tmux::new(&ctx.env, None);
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
    Ok(crate::process::exit_code(status))
}

/// Which runner.env key set a backend writes (spec 1.5).
#[derive(Debug, Clone, Copy)]
pub enum RunnerKeys<'a> {
    /// All ten keys (codex, claude, openclaw) with this `THREAD_ID`.
    Full { thread_id: &'a str },
    /// `RUNNER_STATE, ATTEMPT, RESUME_COUNT, LAST_EXIT_CODE,
    /// LAST_FAILURE_REASON, UPDATED_AT` (opencode, kilo).
    Minimal,
}

/// The values of one runner.env write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunnerState {
    pub state: String,
    pub attempt: u32,
    pub resume_count: u32,
    pub last_exit_code: String,
    pub last_failure_reason: String,
}

impl RunnerState {
    /// `running` for attempt `n` (resume count n-1).
    pub fn running(attempt: u32) -> Self {
        Self {
            state: "running".into(),
            attempt,
            resume_count: attempt.saturating_sub(1),
            ..Self::default()
        }
    }

    /// `succeeded` (or `failed` with `reason`) after attempt `n`.
    pub fn finished(attempt: u32, status: i32, reason: &str) -> Self {
        Self {
            state: if status == 0 { "succeeded" } else { "failed" }.into(),
            attempt,
            resume_count: attempt.saturating_sub(1),
            last_exit_code: status.to_string(),
            last_failure_reason: if status == 0 {
                String::new()
            } else {
                reason.to_string()
            },
        }
    }
}

/// Writes runner.env with `keys`' key set, `%q` values, atomically.
pub fn write_runner_state(
    path: &Path,
    keys: RunnerKeys<'_>,
    st: &RunnerState,
    locale: QuoteLocale,
) -> anyhow::Result<()> {
    let attempt = st.attempt.to_string();
    let resume = st.resume_count.to_string();
    let updated = crate::time::now_utc_iso();
    let pairs: Vec<(&str, &str)> = match keys {
        RunnerKeys::Full { thread_id } => vec![
            ("RUNNER_STATE", &st.state),
            ("THREAD_ID", thread_id),
            ("ATTEMPT", &attempt),
            ("RESUME_COUNT", &resume),
            ("LAST_EXIT_CODE", &st.last_exit_code),
            ("LAST_FAILURE_REASON", &st.last_failure_reason),
            ("LAST_TRIGGER_REASON", ""),
            ("AUTH_WAIT_STARTED_AT", ""),
            ("LAST_AUTH_FINGERPRINT", ""),
            ("UPDATED_AT", &updated),
        ],
        RunnerKeys::Minimal => vec![
            ("RUNNER_STATE", &st.state),
            ("ATTEMPT", &attempt),
            ("RESUME_COUNT", &resume),
            ("LAST_EXIT_CODE", &st.last_exit_code),
            ("LAST_FAILURE_REASON", &st.last_failure_reason),
            ("UPDATED_AT", &updated),
        ],
    };
    envfile::write_all(path, &pairs, locale)
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
        crate::git::capture(env, worktree, args)
            .is_some_and(|out| out.lines().any(|l| !l.is_empty() && !l.ends_with(".md")))
    })
}

/// `%q` of `s` with the session's locale (for log lines that quote values).
pub fn q(s: &str, locale: QuoteLocale) -> String {
    quote_str(s, locale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_args_keep_equals_and_repeats() {
        let a = InnerArgs::parse(&["A=x=y".into(), "C=1".into(), "C=2".into()]).unwrap();
        assert_eq!(a.get("A"), "x=y");
        assert_eq!(a.get("C"), "2");
        assert_eq!(a.all("C"), vec!["1", "2"]);
        assert_eq!(a.get("Z"), "");
        assert!(InnerArgs::parse(&["novalue".into()]).is_err());
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

    #[test]
    fn runner_state_key_sets() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("runner.env");
        let st = RunnerState::finished(2, 124, "timeout");
        write_runner_state(
            &p,
            RunnerKeys::Full {
                thread_id: "claude-print-s",
            },
            &st,
            QuoteLocale::C,
        )
        .unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        let keys: Vec<&str> = text.lines().map(|l| l.split('=').next().unwrap()).collect();
        assert_eq!(keys.len(), 10);
        assert!(text.contains("RUNNER_STATE=failed\n"));
        assert!(text.contains(
            "ATTEMPT=2\nRESUME_COUNT=1\nLAST_EXIT_CODE=124\nLAST_FAILURE_REASON=timeout\n"
        ));
        assert!(text.contains("LAST_TRIGGER_REASON=''\n"));
        write_runner_state(
            &p,
            RunnerKeys::Minimal,
            &RunnerState::running(1),
            QuoteLocale::C,
        )
        .unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text.lines().count(), 6);
        assert!(
            text.starts_with(
                "RUNNER_STATE=running\nATTEMPT=1\nRESUME_COUNT=0\nLAST_EXIT_CODE=''\n"
            )
        );
    }
}
