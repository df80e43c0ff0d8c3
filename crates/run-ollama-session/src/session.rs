//! The ollama backend step of the inner session: run the agent
//! (`<our binary> ollama-agent`) under the supervision engine, publish the
//! runner state, and settle the result contract (the agent's own, a blocked
//! contract for a failure, or one inferred from the worktree's git state).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use acp_core::Env;
use acp_core::envfile;
use acp_core::shellquote::QuoteLocale;
use acp_session::supervise::{self, Backend, Config, Ending, Input, LogSink, Tick, state};

/// Extra time the supervisor gives the agent beyond its own deadline before
/// ending its process group (the agent normally stops first and says why).
pub const HARD_LIMIT_MARGIN: Duration = Duration::from_secs(15);
/// How often runner.env's `UPDATED_AT` is refreshed while the agent runs.
pub const HEARTBEAT: Duration = Duration::from_secs(crate::DEFAULTS.heartbeat_seconds);

/// What the backend step needs.
#[derive(Debug, Clone)]
pub struct OllamaRun {
    /// Our own binary (absolute), which runs the agent.
    pub exe: PathBuf,
    /// The worker environment (the inner script's exports).
    pub env: Env,
    pub worktree: PathBuf,
    pub sandbox_run_dir: PathBuf,
    /// The sandbox subdir name (excluded from change detection).
    pub sandbox_subdir: String,
    pub runner_state_file: PathBuf,
    pub timeout_secs: u64,
    pub locale: QuoteLocale,
}

/// The end of the backend step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OllamaResult {
    /// The status for the exit marker and the inner process.
    pub exit_code: i32,
    /// `None` on success.
    pub failure_reason: Option<String>,
    /// The session itself was told to stop (TERM/INT/HUP).
    pub signalled: bool,
}

struct Hooks<'a> {
    runner: &'a Path,
    locale: QuoteLocale,
}

impl Backend for Hooks<'_> {
    fn on_heartbeat(&mut self, _tick: &Tick, _log: &mut LogSink<'_>) -> anyhow::Result<()> {
        write_state(self.runner, state::RUNNING, "", "", self.locale)
    }
}

pub use acp_session::launcher::blocking::{write_blocked, write_state};

/// Writes a result contract atomically, `%q`-quoted.
pub fn write_contract(
    path: &Path,
    pairs: &[(&str, &str)],
    locale: QuoteLocale,
) -> anyhow::Result<()> {
    envfile::write_all(path, pairs, locale)
}

/// Whether the worktree holds product changes: the shared rule (a path not
/// ending in `.md` changed against HEAD, staged, or committed since
/// `origin/main`) or, beyond the original, a new untracked non-`.md` file
/// outside the sandbox subdir (honouring `.gitignore`).
pub fn has_product_changes(env: &Env, worktree: &Path, sandbox_subdir: &str) -> bool {
    if acp_session::launcher::inner::has_product_changes(env, worktree) {
        return true;
    }
    let sandbox_prefix = format!("{}/", sandbox_subdir.trim_end_matches('/'));
    acp_core::git::capture(
        env,
        worktree,
        &["ls-files", "--others", "--exclude-standard"],
    )
    .unwrap_or_default()
    .lines()
    .filter(|p| sandbox_subdir.is_empty() || !p.starts_with(&sandbox_prefix))
    .any(|p| !p.is_empty() && !p.ends_with(".md"))
}

/// Runs the agent and settles runner.env and the sandbox result.env.
pub fn run(r: &OllamaRun, log: &mut LogSink<'_>) -> anyhow::Result<OllamaResult> {
    write_state(&r.runner_state_file, state::RUNNING, "", "", r.locale)?;
    let mut cmd = Command::new(&r.exe);
    r.env.apply(&mut cmd);
    cmd.arg("ollama-agent").current_dir(&r.worktree);
    let cfg = Config {
        heartbeat: Some(HEARTBEAT),
        timeout: Some(Duration::from_secs(r.timeout_secs) + HARD_LIMIT_MARGIN),
        ..Config::default()
    };
    let mut hooks = Hooks {
        runner: &r.runner_state_file,
        locale: r.locale,
    };
    let outcome = supervise::supervise(&mut cmd, &Input::Null, &cfg, &mut hooks, log)?;
    let result_file = r.sandbox_run_dir.join("result.env");
    if outcome.succeeded() {
        write_state(&r.runner_state_file, state::SUCCEEDED, "0", "", r.locale)?;
        if !result_file.exists() {
            if has_product_changes(&r.env, &r.worktree, &r.sandbox_subdir) {
                write_contract(
                    &result_file,
                    &[
                        ("OUTCOME", "implemented"),
                        ("ACTION", "host-publish-issue-pr"),
                    ],
                    r.locale,
                )?;
            } else {
                write_blocked(
                    &result_file,
                    acp_core::classify::reason::MISSING_RESULT_CONTRACT,
                    r.locale,
                )?;
            }
        }
        return Ok(OllamaResult {
            exit_code: 0,
            failure_reason: None,
            signalled: false,
        });
    }
    let code = outcome.exit_code;
    let reason = match outcome.ending {
        Ending::TimedOut => acp_core::classify::reason::TIMEOUT.to_string(),
        Ending::Signalled(_) => acp_core::classify::reason::RUNNER_ABORTED.to_string(),
        _ => format!("agent-exit-{code}"),
    };
    if outcome.ending == Ending::TimedOut {
        log.line(
            format!(
                "[ollama] agent did not stop within {}s, its process group was ended",
                cfg.timeout.map_or(0, |t| t.as_secs())
            )
            .as_bytes(),
        )?;
    }
    write_state(
        &r.runner_state_file,
        state::FAILED,
        &code.to_string(),
        &reason,
        r.locale,
    )?;
    if !result_file.exists() {
        write_blocked(&result_file, &reason, r.locale)?;
    }
    Ok(OllamaResult {
        exit_code: code,
        failure_reason: Some(reason),
        signalled: matches!(outcome.ending, Ending::Signalled(_)),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn git(env: &Env, dir: &Path, args: &[&str]) {
        let mut c = Command::new("git");
        env.apply(&mut c);
        let st = c.arg("-C").arg(dir).args(args).status().unwrap();
        assert!(st.success(), "git {args:?}");
    }

    /// A repo plus a stand-in for our binary that runs `script` as the agent.
    fn setup(script: &str) -> (tempfile::TempDir, OllamaRun, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let exe = root.join("fake-acp");
        acp_core::testutil::write_script(
            &exe,
            &format!("#!/usr/bin/env bash\n[[ $1 == ollama-agent ]] || exit 99\n{script}\n"),
        );
        let wt = root.join("wt");
        std::fs::create_dir_all(&wt).unwrap();
        let mut env = Env::new();
        env.set("PATH", "/usr/bin:/bin");
        env.set("HOME", &root);
        env.set("GIT_CONFIG_NOSYSTEM", "1");
        git(&env, &wt, &["init", "-q", "-b", "main"]);
        git(
            &env,
            &wt,
            &[
                "-c",
                "user.email=a@b",
                "-c",
                "user.name=n",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                "i",
            ],
        );
        let sandbox = wt.join(".ollama-artifacts/s");
        std::fs::create_dir_all(&sandbox).unwrap();
        let log = root.join("s.log");
        let run = OllamaRun {
            exe,
            env,
            worktree: wt,
            sandbox_run_dir: sandbox,
            sandbox_subdir: ".ollama-artifacts".into(),
            runner_state_file: root.join("runner.env"),
            timeout_secs: 60,
            locale: QuoteLocale::C,
        };
        (tmp, run, log)
    }

    fn go(r: &OllamaRun, log: &Path) -> OllamaResult {
        let mut sink = LogSink::append(log, None).unwrap();
        run(r, &mut sink).unwrap()
    }

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap_or_default()
    }

    #[test]
    fn product_change_is_implemented() {
        let (_t, r, log) = setup(
            "echo '[agent] task complete'; echo x > code.rs; echo y > .ollama-artifacts/s/note.txt",
        );
        assert_eq!(
            go(&r, &log),
            OllamaResult {
                exit_code: 0,
                failure_reason: None,
                signalled: false
            }
        );
        assert_eq!(
            read(&r.sandbox_run_dir.join("result.env")),
            "OUTCOME=implemented\nACTION=host-publish-issue-pr\n"
        );
        assert!(read(&r.runner_state_file).starts_with("RUNNER_STATE=succeeded\nATTEMPT=1\n"));
        assert_eq!(read(&log), "[agent] task complete\n");
    }

    #[test]
    fn docs_only_or_sandbox_only_is_blocked() {
        let (_t, r, log) = setup("echo doc > NOTES.md; echo y > .ollama-artifacts/s/other.txt");
        assert_eq!(go(&r, &log).exit_code, 0);
        assert_eq!(
            read(&r.sandbox_run_dir.join("result.env")),
            "OUTCOME=blocked\nACTION=host-comment-blocker\nDETAIL=missing-result-contract\n"
        );
    }

    #[test]
    fn failure_is_recorded_not_dead_code() {
        let (_t, r, log) = setup("echo 'ollama agent: API error: x' >&2; exit 1");
        let res = go(&r, &log);
        assert_eq!(
            (res.exit_code, res.failure_reason.as_deref()),
            (1, Some("agent-exit-1"))
        );
        let runner = read(&r.runner_state_file);
        assert!(
            runner.contains("RUNNER_STATE=failed\n")
                && runner.contains("\nLAST_EXIT_CODE=1\nLAST_FAILURE_REASON=agent-exit-1\n"),
            "{runner}"
        );
        assert!(read(&r.sandbox_run_dir.join("result.env")).ends_with("DETAIL=agent-exit-1\n"));
        assert!(read(&log).contains("ollama agent: API error: x"));
    }

    #[test]
    fn agent_contract_wins() {
        let (_t, r, log) = setup(
            "printf 'OUTCOME=blocked\\nACTION=host-comment-blocker\\nDETAIL=stuck-loop\\n' > .ollama-artifacts/s/result.env; exit 1",
        );
        go(&r, &log);
        assert!(read(&r.sandbox_run_dir.join("result.env")).ends_with("DETAIL=stuck-loop\n"));
    }
}
