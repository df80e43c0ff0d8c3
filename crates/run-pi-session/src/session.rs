//! The pi backend step of the inner session: run `pi --print` under the
//! supervision engine (hard timeout, stall watchdog, whole-group ending),
//! publish the runner state, and write the fallback result contract when pi
//! wrote none.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use acp_core::Env;
use acp_core::shellquote::QuoteLocale;
use acp_session::supervise::{self, Config, Input, LogSink, state};

use crate::pi::{PiBackend, pi_args};

/// How often runner.env's `UPDATED_AT` is refreshed while pi runs.
pub const HEARTBEAT: Duration = Duration::from_secs(crate::DEFAULTS.heartbeat_seconds);

/// What the backend step needs.
#[derive(Debug, Clone)]
pub struct PiRun {
    pub pi_bin: PathBuf,
    pub model: String,
    pub thinking: String,
    pub prompt_file: PathBuf,
    pub timeout_secs: u64,
    /// 0 disables the stall watchdog.
    pub stall_secs: u64,
    /// The worker environment (the inner script's exports).
    pub env: Env,
    pub worktree: PathBuf,
    pub sandbox_run_dir: PathBuf,
    pub runner_state_file: PathBuf,
    pub locale: QuoteLocale,
}

/// The end of the backend step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PiResult {
    pub exit_code: i32,
    pub failure_reason: Option<String>,
    /// The session itself was told to stop (TERM/INT/HUP).
    pub signalled: bool,
}

pub use acp_session::launcher::blocking::{write_blocked, write_state};

/// Runs pi once and settles runner.env and the sandbox result.env.
pub fn run(r: &PiRun, log: &mut LogSink<'_>) -> anyhow::Result<PiResult> {
    write_state(&r.runner_state_file, state::RUNNING, "", "", r.locale)?;
    let mut cmd = Command::new(&r.pi_bin);
    r.env.apply(&mut cmd);
    cmd.args(pi_args(&r.model, &r.thinking, &r.prompt_file))
        .current_dir(&r.worktree);
    let stall = (r.stall_secs > 0).then(|| Duration::from_secs(r.stall_secs));
    let cfg = Config {
        timeout: Some(Duration::from_secs(r.timeout_secs)),
        heartbeat: Some(HEARTBEAT),
        silent_stall: stall,
        progress_stall: stall,
        ..Config::default()
    };
    let mut backend = PiBackend::new(r.timeout_secs, r.stall_secs);
    backend.heartbeat_state = Some((r.runner_state_file.clone(), r.locale));
    let outcome = supervise::supervise(&mut cmd, &Input::Null, &cfg, &mut backend, log)?;
    let (code, reason) = backend.verdict(&outcome);
    let result_file = r.sandbox_run_dir.join("result.env");
    match &reason {
        None => {
            if !result_file.exists() {
                write_blocked(
                    &result_file,
                    acp_core::classify::reason::MISSING_RESULT_CONTRACT,
                    r.locale,
                )?;
            }
            write_state(&r.runner_state_file, state::SUCCEEDED, "0", "", r.locale)?;
        }
        Some(reason) => {
            if !result_file.exists() {
                write_blocked(&result_file, reason, r.locale)?;
            }
            write_state(
                &r.runner_state_file,
                state::FAILED,
                &code.to_string(),
                reason,
                r.locale,
            )?;
        }
    }
    Ok(PiResult {
        exit_code: code,
        failure_reason: reason,
        signalled: matches!(outcome.ending, supervise::Ending::Signalled(_)),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    struct Fixture {
        _tmp: tempfile::TempDir,
        run: PiRun,
        log: PathBuf,
    }

    fn fixture(script: &str, timeout: u64, stall: u64) -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let pi = root.join("pi");
        acp_core::testutil::write_script(&pi, &format!("#!/usr/bin/env bash\n{script}\n"));
        let wt = root.join("wt");
        let sandbox = wt.join(".pi-artifacts/s");
        std::fs::create_dir_all(&sandbox).unwrap();
        let prompt = root.join("prompt.md");
        std::fs::write(&prompt, "do it").unwrap();
        let mut env = Env::new();
        env.set("PATH", "/usr/bin:/bin");
        env.set("ARGS_OUT", root.join("args.txt"));
        Fixture {
            log: root.join("s.log"),
            run: PiRun {
                pi_bin: pi,
                model: "m/x:free".into(),
                thinking: "low".into(),
                prompt_file: prompt,
                timeout_secs: timeout,
                stall_secs: stall,
                env,
                worktree: wt,
                sandbox_run_dir: sandbox,
                runner_state_file: root.join("runner.env"),
                locale: QuoteLocale::C,
            },
            _tmp: tmp,
        }
    }

    fn go(f: &Fixture) -> PiResult {
        let mut log = LogSink::append(&f.log, None).unwrap();
        run(&f.run, &mut log).unwrap()
    }

    fn read(p: &std::path::Path) -> String {
        std::fs::read_to_string(p).unwrap_or_default()
    }

    #[test]
    fn success_without_contract_writes_the_fallback() {
        let f = fixture(
            r#"printf '%s\n' "$@" > "$ARGS_OUT"; pwd >> "$ARGS_OUT"; echo working"#,
            30,
            5,
        );
        let r = go(&f);
        assert_eq!(
            r,
            PiResult {
                exit_code: 0,
                failure_reason: None,
                signalled: false
            }
        );
        let args = read(&f.run.env.path("ARGS_OUT").unwrap());
        let prompt = f.run.prompt_file.display();
        let wt = f.run.worktree.display();
        assert_eq!(
            args,
            format!("--print\n--no-session\n--model\nm/x:free\n--thinking\nlow\n@{prompt}\n{wt}\n")
        );
        assert_eq!(
            read(&f.run.sandbox_run_dir.join("result.env")),
            "OUTCOME=blocked\nACTION=host-comment-blocker\nDETAIL=missing-result-contract\n"
        );
        let runner = read(&f.run.runner_state_file);
        assert!(runner.starts_with("RUNNER_STATE=succeeded\nATTEMPT=1\nRESUME_COUNT=0\nLAST_EXIT_CODE=0\nLAST_FAILURE_REASON=''\nLAST_TRIGGER_REASON=''\nAUTH_WAIT_STARTED_AT=''\nUPDATED_AT="), "{runner}");
        assert_eq!(read(&f.log), "working\n", "each line once");
    }

    #[test]
    fn own_contract_is_kept() {
        let f = fixture(
            r#"printf 'OUTCOME=implemented\nACTION=host-publish-issue-pr\n' > "$PWD/.pi-artifacts/s/result.env""#,
            30,
            5,
        );
        assert_eq!(go(&f).exit_code, 0);
        assert_eq!(
            read(&f.run.sandbox_run_dir.join("result.env")),
            "OUTCOME=implemented\nACTION=host-publish-issue-pr\n"
        );
    }

    #[test]
    fn failures_are_classified() {
        let f = fixture("echo 'Error: 429 Too Many Requests' >&2; exit 3", 30, 5);
        let r = go(&f);
        assert_eq!(
            (r.exit_code, r.failure_reason.as_deref()),
            (3, Some("provider-quota-limit"))
        );
        assert!(
            read(&f.run.runner_state_file).contains("\nLAST_FAILURE_REASON=provider-quota-limit\n")
        );
        assert!(
            read(&f.run.sandbox_run_dir.join("result.env"))
                .ends_with("DETAIL=provider-quota-limit\n")
        );

        let f = fixture(
            "echo 'HTTP 401 Unauthorized: invalid api key'; exit 1",
            30,
            5,
        );
        assert_eq!(go(&f).failure_reason.as_deref(), Some("auth-failure"));

        let f = fixture("echo 'something broke at line 429: x'; exit 7", 30, 5);
        let r = go(&f);
        assert_eq!(
            (r.exit_code, r.failure_reason.as_deref()),
            (7, Some("pi-exit-7"))
        );
    }

    #[test]
    fn timeout_ends_the_group_with_124() {
        let f = fixture(
            r#"echo start; (sleep 30; echo orphan > "$ARGS_OUT") & while :; do echo tick; sleep 0.2; done"#,
            1,
            0,
        );
        let r = go(&f);
        assert_eq!(
            (r.exit_code, r.failure_reason.as_deref()),
            (124, Some("timeout"))
        );
        assert!(read(&f.log).contains("[pi] timed out after 1 seconds"));
        assert!(read(&f.run.runner_state_file).contains("\nLAST_EXIT_CODE=124\n"));
        assert!(read(&f.run.sandbox_run_dir.join("result.env")).ends_with("DETAIL=timeout\n"));
    }

    #[test]
    fn silent_and_stalled_runs_are_stopped() {
        let f = fixture("sleep 30", 60, 1);
        let r = go(&f);
        assert_eq!(
            (r.exit_code, r.failure_reason.as_deref()),
            (124, Some("no-agent-output-before-stall-threshold"))
        );
        assert!(read(&f.log).contains("[pi] no output for 1 seconds"));

        let f = fixture("echo hello; sleep 30", 60, 1);
        let r = go(&f);
        assert_eq!(
            r.failure_reason.as_deref(),
            Some("no-agent-progress-before-stall-threshold")
        );
    }
}
