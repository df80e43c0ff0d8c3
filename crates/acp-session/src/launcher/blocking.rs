//! The blocking start: for launchers whose caller expects them to return
//! only once the worker is done, and to print nothing meanwhile (ollama, pi).
//!
//! [`launch_and_wait`] runs the ordinary [`launch`](super::launch) with its
//! stdout lines thrown away, then waits on the tmux channel
//! [`done_channel`]. The inner supervisor ends its run with [`finish`] and
//! then [`signal_done`], which releases the waiting launcher. The wait also
//! ends shortly after the tmux session disappears without a signal, so a
//! supervisor that dies early never leaves its caller hanging.

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use super::contract::CommonInner;
use super::{Plan, inner};
use crate::supervise::{KeyProfile, LogSink, RunnerState};
use acp_core::envfile;
use acp_core::shellquote::QuoteLocale;
use acp_core::tmux::Tmux;
use acp_core::{Env, Invocation};

/// How long the wait goes on after the session is found gone without a
/// done signal (the signal may still be on its way).
const GONE_GRACE: Duration = Duration::from_secs(2);
/// How often the wait checks whether the session still exists.
const SESSION_CHECK_EVERY: Duration = Duration::from_millis(500);
/// How often the wait looks at the `tmux wait-for` child.
const POLL: Duration = Duration::from_millis(50);

/// The tmux `wait-for` channel that tells the launcher of `session` that the
/// run is over: `<session>-done`.
pub fn done_channel(session: &str) -> String {
    format!("{session}-done")
}

/// Releases whoever waits on `session`'s done channel (`tmux wait-for -S`).
/// The inner supervisor calls it as its very last step; false when tmux
/// could not be run or refused.
pub fn signal_done(env: &Env, session: &str) -> bool {
    Tmux::new(env, None).signal(&done_channel(session))
}

/// Starts the session like [`launch`](super::launch) but keeps its stdout
/// lines to itself (stderr still goes to the caller), then blocks in
/// [`wait_done`]. A non-zero launch code is returned at once, without
/// waiting; otherwise the result is 0 once the wait is over.
pub fn launch_and_wait(ctx: &mut Invocation<'_>, plan: &Plan<'_>) -> anyhow::Result<i32> {
    let mut discard = std::io::sink();
    let code = super::launch(&mut ctx.with_stdout(&mut discard), plan)?;
    if code != 0 {
        return Ok(code);
    }
    wait_done(ctx, &plan.common.session)?;
    Ok(0)
}

/// Waits for `session`'s done channel with a `tmux wait-for` child. Every
/// [`SESSION_CHECK_EVERY`] the session's existence is checked; once it has
/// been gone for [`GONE_GRACE`] without a signal, the child is killed and
/// the wait ends as if signalled. Errors only when tmux cannot be started.
pub fn wait_done(ctx: &Invocation<'_>, session: &str) -> anyhow::Result<()> {
    let tmux = Tmux::new(&ctx.env, None);
    let mut waiter: Child = tmux.spawn_wait_for(&done_channel(session))?;
    let mut gone_since: Option<Instant> = None;
    let mut last_check: Option<Instant> = None;
    loop {
        if waiter
            .try_wait()
            .map_err(|e| anyhow::anyhow!("tmux wait-for: {e}"))?
            .is_some()
        {
            return Ok(());
        }
        if last_check.is_none_or(|t| t.elapsed() >= SESSION_CHECK_EVERY) {
            last_check = Some(Instant::now());
            if tmux.has_session(session) {
                gone_since = None;
            } else if gone_since.get_or_insert_with(Instant::now).elapsed() >= GONE_GRACE {
                let _ = waiter.kill();
                let _ = waiter.wait();
                return Ok(());
            }
        }
        std::thread::sleep(POLL);
    }
}

/// The closing steps a blocking launcher's inner supervisor runs after the
/// agent has ended with `status`: record the final git state, collect the
/// `--collect-file` artifacts, copy the sandbox result.env to the run dir,
/// schedule the delayed reconcile when `reconcile` is true (in `env`, the
/// worker's environment with its credentials), then write the exit marker.
///
/// A failing step is noted in the session log and does not stop the later
/// ones, so the exit marker is always written. Returns `status`, or the
/// first step's error once the marker is out.
pub fn finish(
    ctx: &mut Invocation<'_>,
    s: &inner::Session,
    status: i32,
    reconcile: bool,
    env: &Env,
) -> anyhow::Result<i32> {
    let steps: [(&str, anyhow::Result<()>); 4] = [
        (
            "record the final git state",
            s.record_final_git_state(&ctx.env),
        ),
        ("collect artifacts", s.collect_artifacts()),
        (
            "copy result.env to the run dir",
            s.copy_result_to_host().map(|_| ()),
        ),
        (
            "schedule the reconcile command",
            if reconcile {
                s.schedule_reconcile_with(ctx, env)
            } else {
                Ok(())
            },
        ),
    ];
    let mut first: Option<anyhow::Error> = None;
    for (what, r) in steps {
        if let Err(e) = r {
            let _ = s.append_log(format!("[session] failed to {what}: {e:#}\n").as_bytes());
            first.get_or_insert(e);
        }
    }
    s.exit_marker(ctx.stdout, status)?;
    match first {
        Some(e) => Err(e),
        None => Ok(status),
    }
}

/// How a blocking backend's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunEnd {
    /// The status for the exit marker.
    pub status: i32,
    /// The session was told to stop (TERM/INT/HUP): no reconcile follows.
    pub signalled: bool,
}

/// Publishes runner.env for a blocking backend (the eight keys without a
/// thread id), atomically and `%q`-quoted.
pub fn write_state(
    path: &Path,
    runner_state: &str,
    exit_code: &str,
    reason: &str,
    locale: QuoteLocale,
) -> anyhow::Result<()> {
    RunnerState {
        state: runner_state.to_string(),
        attempt: 1,
        last_exit_code: exit_code.to_string(),
        last_failure_reason: reason.to_string(),
        ..RunnerState::default()
    }
    .write(path, KeyProfile::NoThread, locale)
}

/// Writes the blocked contract for `detail` (`OUTCOME=blocked`,
/// `ACTION=host-comment-blocker`, `DETAIL`), atomically and `%q`-quoted, so
/// a detail such as `ollama-api-error: <message>` survives intact.
pub fn write_blocked(path: &Path, detail: &str, locale: QuoteLocale) -> anyhow::Result<()> {
    envfile::write_all(
        path,
        &[
            ("OUTCOME", "blocked"),
            ("ACTION", "host-comment-blocker"),
            ("DETAIL", detail),
        ],
        locale,
    )
}

/// The inner side of a blocking backend, from the inner script's arguments
/// to the done signal:
///
/// 1. loads the session and its credentials (from the launcher's private
///    file, read once and deleted; a failure is logged, not fatal);
/// 2. empties the sandbox run dir and runs `body` with the session log
///    (teed to stdout) and the worker's environment;
/// 3. if `body` fails, logs `[<tag>] <error>`, records runner.env `failed`
///    with exit 1 and `failure_reason`, and writes a blocked contract unless
///    the agent left one;
/// 4. [`finish`]es (git state, artifacts, result copy, reconcile unless
///    signalled, exit marker) and always signals done, so the launcher is
///    released whatever happened.
pub fn run_inner(
    ctx: &mut Invocation<'_>,
    tool: &str,
    common: CommonInner,
    tag: &str,
    failure_reason: &str,
    body: impl FnOnce(&inner::Session, &Env, &mut LogSink<'_>) -> anyhow::Result<RunEnd>,
) -> anyhow::Result<i32> {
    let mut s = inner::Session::new(tool, common, &ctx.env);
    let mut env = ctx.env.clone();
    if let Err(e) = s.take_secrets(&mut env) {
        let _ = s.append_log(format!("[session] credentials not loaded: {e:#}\n").as_bytes());
    }
    let result = run_body(ctx, &s, &env, tag, failure_reason, body)
        .and_then(|end| finish(ctx, &s, end.status, !end.signalled, &env));
    signal_done(&ctx.env, &s.session);
    result
}

fn run_body(
    ctx: &mut Invocation<'_>,
    s: &inner::Session,
    env: &Env,
    tag: &str,
    failure_reason: &str,
    body: impl FnOnce(&inner::Session, &Env, &mut LogSink<'_>) -> anyhow::Result<RunEnd>,
) -> anyhow::Result<RunEnd> {
    let mut log = LogSink::append(&s.log, Some(&mut *ctx.stdout))?;
    match s.reset_sandbox().and_then(|()| body(s, env, &mut log)) {
        Ok(end) => Ok(end),
        Err(e) => {
            log.line(format!("[{tag}] {e:#}").as_bytes())?;
            log.flush()?;
            write_state(
                &s.runner_env,
                crate::supervise::state::FAILED,
                "1",
                failure_reason,
                s.locale,
            )?;
            if !s.has_sandbox_result() {
                write_blocked(&s.sandbox_result, failure_reason, s.locale)?;
            }
            Ok(RunEnd {
                status: 1,
                signalled: false,
            })
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::launcher::{Backend, Common};

    use std::path::Path;

    /// A fake `tmux` first on PATH: it appends its argv (one line per call)
    /// to `<dir>/tmux.log`; `has-session` fails (no session), `new-session`
    /// fails with 3 when `FAKE_NEW_FAILS` is set, `wait-for -S` exits with
    /// `FAKE_SIGNAL_RC` (default 0), and a plain `wait-for` returns at once
    /// unless `FAKE_WAIT_HANGS` is set.
    fn fake_tmux(dir: &Path) -> Env {
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let tmux = bin.join("tmux");
        acp_core::testutil::write_script(
            &tmux,
            r#"#!/usr/bin/env bash
echo "$*" >> "$FAKE_TMUX_LOG"
case "$1" in
  has-session) exit 1 ;;
  new-session) if [ -n "${FAKE_NEW_FAILS:-}" ]; then echo 'no server here' >&2; exit 3; fi ;;
  wait-for)
    if [ "$2" = -S ]; then exit "${FAKE_SIGNAL_RC:-0}"; fi
    if [ -n "${FAKE_WAIT_HANGS:-}" ]; then exec sleep 60; fi ;;
esac
exit 0
"#,
        );
        let mut env = Env::new();
        env.set("PATH", format!("{}:/usr/bin:/bin", bin.display()));
        env.set("FAKE_TMUX_LOG", dir.join("tmux.log"));
        env
    }

    fn tmux_calls(dir: &Path) -> Vec<String> {
        std::fs::read_to_string(dir.join("tmux.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    const BACKEND: Backend = Backend {
        tool: "agent-project-run-test-session",
        default_sandbox_subdir: ".test-artifacts",
        records_script: true,
    };

    fn common(dir: &Path) -> Common {
        let wt = dir.join("wt");
        std::fs::create_dir_all(&wt).unwrap();
        let prompt = dir.join("prompt.md");
        std::fs::write(&prompt, "do it\n").unwrap();
        Common {
            mode: "safe".into(),
            session: "fix-7".into(),
            worktree: wt.to_string_lossy().into_owned(),
            prompt_file: prompt.to_string_lossy().into_owned(),
            runs_root: dir.join("runs").to_string_lossy().into_owned(),
            adapter_id: "demo".into(),
            task_kind: "issue".into(),
            task_id: "7".into(),
            sandbox_subdir: BACKEND.default_sandbox_subdir.into(),
            ..Default::default()
        }
    }

    #[test]
    fn done_channel_is_the_session_name_with_done_suffix() {
        assert_eq!(done_channel("fix-7"), "fix-7-done");
        assert_eq!(done_channel("a.b_c"), "a.b_c-done");
    }

    #[test]
    fn signal_done_sends_the_channel_and_reports_failure() {
        let dir = tempfile::tempdir().unwrap();
        let mut env = fake_tmux(dir.path());
        assert!(signal_done(&env, "fix-7"));
        env.set("FAKE_SIGNAL_RC", "1");
        assert!(!signal_done(&env, "fix-7"));
        assert_eq!(
            tmux_calls(dir.path()),
            vec!["wait-for -S fix-7-done", "wait-for -S fix-7-done"]
        );
    }

    #[test]
    fn launch_and_wait_hides_the_launch_lines_then_waits_on_the_channel() {
        let dir = tempfile::tempdir().unwrap();
        let env = fake_tmux(dir.path());
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut ctx = Invocation::new(&mut out, &mut err, env);
        ctx.cwd = dir.path().to_path_buf();
        let c = common(dir.path());
        let plan = Plan::new(&BACKEND, &c, Vec::new());
        assert_eq!(launch_and_wait(&mut ctx, &plan).unwrap(), 0);
        drop(ctx);
        assert!(out.is_empty(), "stdout: {}", String::from_utf8_lossy(&out));
        assert!(err.is_empty(), "stderr: {}", String::from_utf8_lossy(&err));
        let calls = tmux_calls(dir.path());
        let new_at = calls
            .iter()
            .position(|l| l.starts_with("new-session -d -s fix-7 "))
            .expect("new-session");
        let wait_at = calls
            .iter()
            .position(|l| l == "wait-for fix-7-done")
            .expect("wait-for");
        assert!(new_at < wait_at, "{calls:?}");
        assert!(dir.path().join("runs/fix-7/run.env").is_file());
    }

    #[test]
    fn a_failed_launch_returns_its_code_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let mut env = fake_tmux(dir.path());
        env.set("FAKE_NEW_FAILS", "1");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut ctx = Invocation::new(&mut out, &mut err, env);
        ctx.cwd = dir.path().to_path_buf();
        let c = common(dir.path());
        let plan = Plan::new(&BACKEND, &c, Vec::new());
        assert_eq!(launch_and_wait(&mut ctx, &plan).unwrap(), 3);
        drop(ctx);
        assert!(out.is_empty());
        assert_eq!(String::from_utf8_lossy(&err), "no server here\n");
        let calls = tmux_calls(dir.path());
        assert!(
            !calls.iter().any(|l| l.starts_with("wait-for")),
            "{calls:?}"
        );
    }

    #[test]
    fn the_wait_ends_when_the_session_is_gone_without_a_signal() {
        let dir = tempfile::tempdir().unwrap();
        let mut env = fake_tmux(dir.path());
        env.set("FAKE_WAIT_HANGS", "1");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let ctx = Invocation::new(&mut out, &mut err, env);
        wait_done(&ctx, "fix-7").unwrap();
        let calls = tmux_calls(dir.path());
        assert!(
            calls.iter().any(|l| l == "wait-for fix-7-done"),
            "{calls:?}"
        );
        assert!(
            calls
                .iter()
                .filter(|l| *l == "has-session -t =fix-7")
                .count()
                >= 2,
            "{calls:?}"
        );
    }

    fn session(dir: &Path, run_env: &Path) -> inner::Session {
        let mut env = Env::new();
        env.set("PATH", "/usr/bin:/bin");
        let common = CommonInner {
            run_env: run_env.to_path_buf(),
            collect: vec!["notes.md".into()],
            ..crate::launcher::contract::testing::common_in(dir)
        };
        let s = inner::Session::new("t", common, &env);
        std::fs::create_dir_all(&s.artifact_dir).unwrap();
        std::fs::create_dir_all(&s.sandbox_run_dir).unwrap();
        std::fs::write(&s.sandbox_result, "OUTCOME=implemented\n").unwrap();
        std::fs::write(s.sandbox_run_dir.join("notes.md"), "n\n").unwrap();
        s
    }

    #[test]
    fn finish_runs_every_step_and_ends_with_the_marker() {
        let dir = tempfile::tempdir().unwrap();
        let run_env = dir.path().join("art/run.env");
        let s = session(dir.path(), &run_env);
        std::fs::write(&run_env, "SESSION=s\n").unwrap();
        let mut env = Env::new();
        env.set("PATH", "/usr/bin:/bin");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut ctx = Invocation::new(&mut out, &mut err, env.clone());
        assert_eq!(finish(&mut ctx, &s, 7, false, &env).unwrap(), 7);
        drop(ctx);
        assert_eq!(String::from_utf8_lossy(&out), "\n__CODEX_EXIT__:7\n");
        assert_eq!(
            std::fs::read_to_string(&s.log).unwrap(),
            "\n__CODEX_EXIT__:7\n"
        );
        assert_eq!(
            std::fs::read_to_string(&s.host_result).unwrap(),
            "OUTCOME=implemented\n"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("art/notes.md")).unwrap(),
            "n\n"
        );
        let meta = std::fs::read_to_string(&run_env).unwrap();
        assert!(meta.starts_with("SESSION=s\nFINAL_HEAD="), "{meta}");
        assert!(meta.contains("\nFINAL_BRANCH="), "{meta}");
    }

    #[test]
    fn a_failed_step_is_logged_and_the_later_ones_and_the_marker_still_run() {
        let dir = tempfile::tempdir().unwrap();
        // run.env is a directory: recording the final git state fails.
        let run_env = dir.path().join("art/run.env");
        let s = session(dir.path(), &run_env);
        std::fs::create_dir_all(&run_env).unwrap();
        let mut env = Env::new();
        env.set("PATH", "/usr/bin:/bin");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut ctx = Invocation::new(&mut out, &mut err, env.clone());
        let e = finish(&mut ctx, &s, 0, false, &env).unwrap_err();
        drop(ctx);
        assert!(
            format!("{e:#}").contains("art/run.env"),
            "error must name the path: {e:#}"
        );
        assert_eq!(String::from_utf8_lossy(&out), "\n__CODEX_EXIT__:0\n");
        let log = std::fs::read_to_string(&s.log).unwrap();
        assert!(
            log.starts_with("[session] failed to record the final git state: "),
            "{log}"
        );
        assert!(log.ends_with("\n__CODEX_EXIT__:0\n"), "{log}");
        assert!(&s.host_result.is_file());
        assert!(dir.path().join("art/notes.md").is_file());
    }
}
