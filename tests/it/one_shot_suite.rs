//! Shared test bodies for the one-shot backends (`acp_session::launcher::one_shot`):
//! `run-kilo-session` and `run-opencode-session` differ only in data, so each
//! behaviour is written once here and run by both modules with their
//! [`OneShotBackend`] (so `cargo test kilo` selects kilo's cases and a failure
//! names the backend).

use std::path::Path;

use acp_core::config::backends;

use crate::harness::{World, base_args, env_keys, kv, pid_alive, read, run, wait_until};

/// What tells one one-shot backend from the other, as seen from outside.
pub struct OneShotBackend {
    /// The shim path under the package root.
    pub tool: &'static str,
    /// Session-name stem: sessions are `acp-<tag>-<case>`.
    pub tag: &'static str,
    /// Flag stem: `--<flag>-model`, `--<flag>-timeout-seconds`, `--<flag>-stall-seconds`.
    pub flag: &'static str,
    /// Variable stem: `<ENV>_MODEL` in `run.env`, `ACP_<ENV>_MODEL`, `F_LOSNING_<ENV>_...`.
    pub env: &'static str,
    /// The CLI's program name; the fake records its argv in `<bin>-args.log`.
    pub bin: &'static str,
    /// Whether the fake also records its stdin in `<bin>-stdin.log`.
    pub records_stdin: bool,
    /// The `run.env` key naming the resolved binary.
    pub bin_var: &'static str,
    /// The sandbox folder under the worktree.
    pub sandbox: &'static str,
    /// A plain non-zero exit N fails with `<exit_reason>-exit-N`.
    pub exit_reason: &'static str,
    /// Words the help must show besides the three flags.
    pub help_words: &'static [&'static str],
    /// The start of the error when no binary can be found.
    pub missing_bin: &'static str,
    /// A shell line with which the CLI shows it has started (made progress).
    pub started: &'static str,
    /// What [`Self::started`] prints that the log then contains.
    pub started_marker: &'static str,
    /// A shell line the CLI prints when it finishes a turn.
    pub finished: &'static str,
    /// The CLI's own ways of failing, beyond the shared ones:
    /// (shell body, expected failure reason).
    pub failures: &'static [(&'static str, &'static str)],
    /// The argv the CLI gets in safe mode with the default model, one word a
    /// line, given the worktree.
    pub safe_argv: fn(&Path) -> String,
    /// The backend's row of the defaults table.
    pub defaults: &'static backends::OneShot,
}

const REPORTED: &str = "OUTCOME=reported\nACTION=host-comment-report\n";
const IMPLEMENTED: &str = "OUTCOME=implemented\nACTION=host-publish-issue-pr\n";
const MISSING_CONTRACT: &str =
    "OUTCOME=blocked\nACTION=host-comment-blocker\nDETAIL=missing-result-contract\n";

impl OneShotBackend {
    /// Installs a fake CLI that records argv (and stdin), then runs `body`.
    pub fn fake(&self, w: &World, body: &str) {
        let bin = self.bin;
        let stdin = if self.records_stdin {
            format!("cat >\"$ACP_HOST_RUN_DIR/{bin}-stdin.log\"\n")
        } else {
            String::new()
        };
        w.fake(
            bin,
            &format!(
                "#!/usr/bin/env bash\nset -euo pipefail\nprintf '%s\\n' \"$@\" >\"$ACP_HOST_RUN_DIR/{bin}-args.log\"\n{stdin}{body}\n"
            ),
        );
    }

    /// `acp-<tag>-<case>`.
    pub fn session(&self, case: &str) -> String {
        format!("acp-{}-{case}", self.tag)
    }

    fn flag(&self, knob: &str) -> String {
        format!("--{}-{knob}", self.flag)
    }

    /// Starts session `case` with the base arguments plus `extra`; returns
    /// the session name.
    fn launch(&self, w: &World, wt: &Path, prompt: &Path, case: &str, extra: &[String]) -> String {
        let session = self.session(case);
        let mut args = base_args(&session, wt, prompt);
        args.extend_from_slice(extra);
        let (code, _, err) = run(w.shim(self.tool).args(&args));
        assert_eq!(code, 0, "{session}: {err}");
        session
    }

    /// A body that starts a long `sleep` child (pid in `child.pid`), shows it
    /// started, then waits.
    fn with_child(&self) -> String {
        format!(
            "sleep 300 & echo $! >\"$ACP_HOST_RUN_DIR/child.pid\"\n{}\nwait",
            self.started
        )
    }

    fn args_log(&self, run_dir: &Path) -> String {
        read(run_dir.join(format!("{}-args.log", self.bin)))
    }
}

fn strings<const N: usize>(a: [&str; N]) -> Vec<String> {
    a.map(String::from).to_vec()
}

/// A failed run: the runner state, its reason, and the blocked result.
fn assert_blocked(run_dir: &Path, exit: u32, reason: &str, what: &str) {
    let runner = read(run_dir.join("runner.env"));
    assert!(
        runner.contains("RUNNER_STATE=failed\n")
            && runner.contains(&format!(
                "LAST_EXIT_CODE={exit}\nLAST_FAILURE_REASON={reason}\n"
            )),
        "{what}: {runner}"
    );
    assert_eq!(
        read(run_dir.join("result.env")),
        format!("OUTCOME=blocked\nACTION=host-comment-blocker\nDETAIL={reason}\n"),
        "{what}"
    );
}

/// A stalled run: failed with `reason`, which is also the result's detail.
fn assert_stalled(run_dir: &Path, reason: &str) {
    let runner = read(run_dir.join("runner.env"));
    assert!(
        runner.contains("RUNNER_STATE=failed\n")
            && runner.contains(&format!("LAST_FAILURE_REASON={reason}\n")),
        "{runner}"
    );
    assert!(read(run_dir.join("result.env")).contains(&format!("DETAIL={reason}\n")));
}

/// The launch prints the session summary, and the run records its metadata,
/// argv, result contract and runner state.
pub fn reports_and_records_the_launch(b: &OneShotBackend) {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    b.fake(
        &w,
        &format!(
            "{}\nprintf 'OUTCOME=reported\\nACTION=host-comment-report\\n' >\"$ACP_RESULT_FILE\"\n{}",
            b.started, b.finished
        ),
    );
    let session = b.session("ok");
    let (code, out, err) = run(w.shim(b.tool).args(base_args(&session, &wt, &prompt)));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        env_keys(&out),
        ["SESSION", "TASK_KIND", "TASK_ID", "WORKTREE", "OUTPUT"]
    );
    assert!(!out.contains("SCRIPT=") && !out.contains("META="), "{out}");
    let output = format!("runs/{session}/{session}.log");
    assert_eq!(kv(&out, "OUTPUT"), Some(output.as_str()));
    let log = w.wait_done(&session);
    assert!(log.contains(b.started_marker), "{log}");
    assert!(log.ends_with("\n__CODEX_EXIT__:0\n"), "{log}");
    let run_dir = w.path(&format!("runs/{session}"));
    assert_eq!(b.args_log(&run_dir), (b.safe_argv)(&wt));
    assert_eq!(read(run_dir.join("result.env")), REPORTED);
    let run_env = read(run_dir.join("run.env"));
    assert!(!run_env.contains("SCRIPT="), "{run_env}");
    let (env, d) = (b.env, b.defaults);
    assert!(
        run_env.contains(&format!("\n{}=", b.bin_var))
            && run_env.contains(&format!(
                "\n{env}_MODEL={}\n{env}_TIMEOUT_SECONDS={}\n",
                d.model, d.timeout_seconds
            )),
        "{run_env}"
    );
    assert!(
        run_env.contains("\nSANDBOX_RUN_DIR=")
            && run_env.contains(&format!("{}/{session}\n", b.sandbox)),
        "{run_env}"
    );
    let runner = read(run_dir.join("runner.env"));
    assert_eq!(
        env_keys(&runner),
        [
            "RUNNER_STATE",
            "ATTEMPT",
            "RESUME_COUNT",
            "LAST_EXIT_CODE",
            "LAST_FAILURE_REASON",
            "UPDATED_AT"
        ]
    );
    assert!(runner.starts_with("RUNNER_STATE=succeeded\n"), "{runner}");
}

/// The hard timeout fails the run with 124 and kills the agent's children.
pub fn timeout_kills_the_agent_group(b: &OneShotBackend) {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    b.fake(&w, &b.with_child());
    let session = b.launch(
        &w,
        &wt,
        &prompt,
        "slow",
        &[b.flag("timeout-seconds"), "1".into()],
    );
    let log = w.wait_done(&session);
    let run_dir = w.path(&format!("runs/{session}"));
    assert!(log.ends_with("\n__CODEX_EXIT__:124\n"), "{log}");
    assert_blocked(&run_dir, 124, "timeout", &session);
    let child = read(run_dir.join("child.pid"));
    assert!(!child.trim().is_empty());
    assert!(
        wait_until(5, || !pid_alive(&child)),
        "sleep child {child} survived the timeout"
    );
}

/// An agent that never prints ends as a no-output stall.
pub fn silent_agent_ends_as_no_output_stall(b: &OneShotBackend) {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    b.fake(&w, "sleep 60");
    let session = b.launch(
        &w,
        &wt,
        &prompt,
        "quiet",
        &[b.flag("stall-seconds"), "1".into()],
    );
    w.wait_done(&session);
    assert_stalled(
        &w.path(&format!("runs/{session}")),
        "no-agent-output-before-stall-threshold",
    );
}

/// An agent that printed a plain line and then went quiet ends as a
/// progress stall.
pub fn output_then_silence_ends_as_progress_stall(b: &OneShotBackend) {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    b.fake(&w, "echo 'thinking...'\nsleep 60");
    let session = b.launch(
        &w,
        &wt,
        &prompt,
        "stall",
        &[b.flag("stall-seconds"), "1".into()],
    );
    let log = w.wait_done(&session);
    assert!(log.contains("thinking...\n"), "{log}");
    assert_stalled(
        &w.path(&format!("runs/{session}")),
        "no-agent-progress-before-stall-threshold",
    );
}

/// A plain non-zero exit keeps the backend's exit reason, even when the
/// output mentions a number that looks like an HTTP status.
pub fn plain_failure_keeps_the_exit_reason(b: &OneShotBackend) {
    for (case, body, exit) in [
        ("fail", "exit 2", 2),
        (
            "fail401",
            "echo 'edited handler at line 401: done'\nexit 7",
            7,
        ),
    ] {
        let w = World::new();
        let (wt, prompt) = w.worktree_and_prompt();
        b.fake(&w, body);
        let session = b.launch(&w, &wt, &prompt, case, &[]);
        let log = w.wait_done(&session);
        assert!(
            log.ends_with(&format!("\n__CODEX_EXIT__:{exit}\n")),
            "{log}"
        );
        let reason = format!("{}-exit-{exit}", b.exit_reason);
        assert_blocked(&w.path(&format!("runs/{session}")), exit, &reason, &session);
    }
}

/// Quota and auth errors are classified, and a result left by an earlier
/// run of the same session does not count.
pub fn provider_failures_are_classified(b: &OneShotBackend) {
    const SHARED: [(&str, &str); 2] = [
        (
            "echo 'ERROR: provider returned status 429: Too Many Requests' >&2\nexit 1",
            "provider-quota-limit",
        ),
        (
            "echo 'Error: 401 Unauthorized: invalid api key' >&2; exit 1",
            "auth-failure",
        ),
    ];
    for (i, (body, reason)) in SHARED.iter().chain(b.failures).enumerate() {
        let w = World::new();
        let (wt, prompt) = w.worktree_and_prompt();
        let session = b.session(&format!("fail{i}"));
        w.write(
            &format!("wt/{}/{session}/result.env", b.sandbox),
            IMPLEMENTED,
        );
        b.fake(&w, body);
        b.launch(&w, &wt, &prompt, &format!("fail{i}"), &[]);
        let log = w.wait_done(&session);
        assert!(log.ends_with("\n__CODEX_EXIT__:1\n"), "{session}: {log}");
        assert_blocked(
            &w.path(&format!("runs/{session}")),
            1,
            reason,
            &format!("{session} ({body})"),
        );
    }
}

/// TERM to a running session kills the agent's children, records the abort,
/// and does not reconcile.
pub fn term_while_running_leaves_no_children_and_no_reconcile(b: &OneShotBackend) {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    b.fake(&w, &b.with_child());
    let reconciled = w.path("reconciled");
    let session = b.launch(
        &w,
        &wt,
        &prompt,
        "term",
        &[
            "--reconcile-command".into(),
            format!("touch '{}'", reconciled.display()),
        ],
    );
    let run_dir = w.path(&format!("runs/{session}"));
    assert!(
        wait_until(15, || read(run_dir.join(format!("{session}.log")))
            .contains(b.started_marker)),
        "fake {} never started",
        b.bin
    );
    let child = read(run_dir.join("child.pid"));
    assert!(pid_alive(&child));
    w.term_session(&session);
    let log = w.wait_done(&session);
    assert!(
        wait_until(10, || !pid_alive(&child)),
        "sleep child {child} survived TERM"
    );
    let runner = read(run_dir.join("runner.env"));
    assert!(runner.contains("RUNNER_STATE=failed\n"), "{runner}");
    assert!(
        runner.contains("LAST_FAILURE_REASON=runner-aborted-before-completion\n"),
        "{runner}"
    );
    assert!(log.ends_with("\n__CODEX_EXIT__:143\n"), "{log}");
    // A stopped session is not reconciled as if it had finished.
    std::thread::sleep(std::time::Duration::from_secs(4));
    assert!(!reconciled.exists(), "reconcile ran after TERM");
}

/// The reconcile command waits for the session to end and sees the run's
/// start time under both prefixes.
pub fn reconcile_runs_only_after_the_session_ends(b: &OneShotBackend) {
    let w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    let release = w.path("release");
    let reconciled = w.path("reconciled");
    b.fake(
        &w,
        &format!(
            "{}\nwhile [[ ! -e '{}' ]]; do sleep 0.1; done\n{}",
            b.started,
            release.display(),
            b.finished
        ),
    );
    let session = b.launch(
        &w,
        &wt,
        &prompt,
        "rec",
        &[
            "--reconcile-command".into(),
            format!(
                "printf '%s %s\\n' \"$ACP_EXPECTED_RUN_STARTED_AT\" \"$F_LOSNING_EXPECTED_RUN_STARTED_AT\" > '{}'",
                reconciled.display()
            ),
        ],
    );
    let run_dir = w.path(&format!("runs/{session}"));
    // While the agent runs (and the session lives) nothing reconciles.
    assert!(wait_until(10, || read(
        run_dir.join(format!("{session}.log"))
    )
    .contains(b.started_marker)));
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert!(w.has_session(&session));
    assert!(
        !reconciled.exists(),
        "reconcile ran while the session was alive"
    );
    std::fs::write(&release, "").unwrap();
    let log = w.wait_done(&session);
    assert!(log.contains("\n__CODEX_EXIT__:0\n"), "{log}");
    assert!(
        wait_until(15, || reconciled.exists()),
        "reconcile never ran"
    );
    let started = kv(&read(run_dir.join("run.env")), "STARTED_AT")
        .unwrap()
        .to_string();
    assert!(
        wait_until(5, || read(&reconciled) == format!("{started} {started}\n")),
        "{}",
        read(&reconciled)
    );
}

/// Only the requested artifacts are copied from the sandbox, whether the
/// agent wrote its result or it was inferred from git.
pub fn collects_requested_artifacts_only(b: &OneShotBackend) {
    for (case, artifact, outcome, want) in [
        (
            "art",
            "pr-comment.md",
            "printf 'OUTCOME=reported\\nACTION=host-comment-report\\n' >\"$ACP_RESULT_FILE\"",
            REPORTED,
        ),
        (
            "art-git",
            "issue-comment.md",
            "echo 'fn main() {}' > main.rs\ngit add main.rs",
            IMPLEMENTED,
        ),
    ] {
        let w = World::new();
        let (wt, prompt) = w.worktree_and_prompt();
        b.fake(
            &w,
            &format!(
                "printf 'summary\\n' >\"$ACP_RUN_DIR/{artifact}\"\nprintf 'other\\n' >\"$ACP_RUN_DIR/other.txt\"\n{outcome}\n{}",
                b.finished
            ),
        );
        let session = b.launch(
            &w,
            &wt,
            &prompt,
            case,
            &strings(["--collect-file", artifact, "--collect-file", "missing.md"]),
        );
        w.wait_done(&session);
        let run_dir = w.path(&format!("runs/{session}"));
        assert_eq!(read(run_dir.join(artifact)), "summary\n", "{session}");
        assert!(!run_dir.join("other.txt").exists(), "{session}");
        assert!(!run_dir.join("missing.md").exists(), "{session}");
        assert_eq!(read(run_dir.join("result.env")), want, "{session}");
        // The sandbox lives under the worktree.
        assert_eq!(
            read(wt.join(format!("{}/{session}/{artifact}", b.sandbox))),
            "summary\n"
        );
    }
}

/// Without a result contract the outcome follows the worktree's git state.
pub fn result_is_inferred_from_git_state(b: &OneShotBackend) {
    for (case, body, want) in [
        (
            "staged",
            "echo 'fn main() {}' > main.rs\ngit add main.rs",
            IMPLEMENTED,
        ),
        (
            "edit",
            "echo 'fn main() {}' > lib.rs\ngit add lib.rs\ngit commit -qm lib\necho '// x' >> lib.rs",
            IMPLEMENTED,
        ),
        (
            "docs",
            "echo notes > NOTES.md\ngit add NOTES.md",
            MISSING_CONTRACT,
        ),
        ("none", "true", MISSING_CONTRACT),
    ] {
        let w = World::new();
        let (wt, prompt) = w.worktree_and_prompt();
        b.fake(&w, &format!("{body}\n{}", b.finished));
        let session = b.launch(&w, &wt, &prompt, case, &[]);
        let log = w.wait_done(&session);
        assert!(log.ends_with("\n__CODEX_EXIT__:0\n"), "{session}: {log}");
        let run_dir = w.path(&format!("runs/{session}"));
        assert_eq!(read(run_dir.join("result.env")), want, "{session}");
        assert!(
            read(run_dir.join("runner.env")).starts_with("RUNNER_STATE=succeeded\n"),
            "{session}"
        );
        let run_env = read(run_dir.join("run.env"));
        assert!(run_env.contains("\nFINAL_BRANCH=feature\n"), "{run_env}");
    }
}

/// Model and timeout come from `ACP_*` and legacy `F_LOSNING_*` variables;
/// a flag beats them and is checked.
pub fn settings_come_from_acp_and_legacy_variables(b: &OneShotBackend) {
    let mut w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    let env = b.env;
    w.env(&format!("ACP_{env}_MODEL"), "env/model");
    w.env(&format!("F_LOSNING_{env}_TIMEOUT_SECONDS"), "77");
    b.fake(&w, "true");
    let session = b.launch(&w, &wt, &prompt, "envs", &[]);
    w.wait_done(&session);
    let run_dir = w.path(&format!("runs/{session}"));
    let run_env = read(run_dir.join("run.env"));
    assert!(
        run_env.contains(&format!(
            "\n{env}_MODEL=env/model\n{env}_TIMEOUT_SECONDS=77\n"
        )),
        "{run_env}"
    );
    assert!(b.args_log(&run_dir).contains("\n--model\nenv/model\n"));
    // A flag beats the variable.
    for (knob, value, want) in [
        ("timeout-seconds", "0", "must be a positive integer"),
        ("stall-seconds", "x", "must be numeric"),
    ] {
        let flag = b.flag(knob);
        let (code, _, err) = run(w
            .shim(b.tool)
            .args(base_args(&session, &wt, &prompt))
            .args([&flag, value]));
        assert_eq!((code, err), (1, format!("{flag} {want}\n")));
    }
}

/// Help, usage, bad flags and values, and a missing binary: all refused
/// before anything is written.
pub fn help_and_bad_input(b: &OneShotBackend) {
    let mut w = World::new();
    for help in ["-h", "--help"] {
        let (code, out, _) = run(w.shim(b.tool).arg(help));
        assert_eq!(code, 0, "{help}");
        let flags = ["model", "timeout-seconds", "stall-seconds"].map(|k| b.flag(k));
        for want in b
            .help_words
            .iter()
            .copied()
            .chain(flags.iter().map(|f| f.as_str()))
        {
            assert!(out.contains(want), "{help} {want}: {out}");
        }
    }
    let (code, _, err) = run(&mut w.shim(b.tool));
    assert_eq!(code, 1);
    assert!(err.contains("Usage"), "{err}");
    let (wt, prompt) = w.worktree_and_prompt();
    b.fake(&w, "exit 0");
    let base = base_args(&b.session("bad"), &wt, &prompt);
    let timeout = b.flag("timeout-seconds");
    for (extra, want) in [
        (
            ["--mode", "fast"],
            "--mode must be safe or bypass\n".to_string(),
        ),
        (["--context", "="], "Invalid context key: \n".into()),
        (
            ["--context", "bad key=1"],
            "Invalid context key: bad key\n".into(),
        ),
        (
            [timeout.as_str(), "abc"],
            format!("{timeout} must be a positive integer\n"),
        ),
    ] {
        let (code, _, err) = run(w.shim(b.tool).args(&base).args(extra));
        assert_eq!((code, err), (1, want), "{extra:?}");
    }
    let (code, _, err) = run(w
        .shim(b.tool)
        .args(&base)
        .args(["--collect-file", "../../etc/passwd"]));
    assert_eq!(code, 1, "{err}");
    assert!(!w.path("runs").exists());
    // No binary anywhere: the binary check fails.
    std::fs::remove_file(w.fake_bin.join(b.bin)).unwrap();
    w.env("PATH", format!("{}:/usr/bin:/bin", w.fake_bin.display()));
    let (code, _, err) = run(w.shim(b.tool).args(&base));
    assert_eq!(code, 1);
    assert!(err.contains(b.missing_bin), "{err}");
    assert!(!w.path("runs").exists());
}

/// The worker's environment comes from the launcher (not a tmux server that
/// was already running), with the session's names under every prefix.
pub fn worker_env_comes_from_the_launcher_not_the_tmux_server(b: &OneShotBackend) {
    let mut w = World::new();
    let (wt, prompt) = w.worktree_and_prompt();
    // A tmux server already running with its own value of the knob.
    let out = w
        .tmux()
        .env("ACP_PROBE", "from-server")
        .args(["new-session", "-d", "-s", "keepalive", "sleep 120"])
        .output()
        .unwrap();
    assert!(out.status.success());
    w.env("ACP_PROBE", "from-launcher");
    b.fake(
        &w,
        r#"for v in ACP_PROBE MY_SESSION MY_RUN_DIR MY_NOTE ACP_NOTE F_LOSNING_NOTE AGENT_PROJECT_RESULT_FILE F_LOSNING_HOST_RUN_DIR; do
  printf '%s=%s\n' "$v" "${!v:-<unset>}"
done >"$ACP_HOST_RUN_DIR/env-seen""#,
    );
    let session = b.launch(
        &w,
        &wt,
        &prompt,
        "env",
        &strings(["--env-prefix", "MY_", "--context", "NOTE=x y"]),
    );
    w.wait_done(&session);
    let run_dir = w.path(&format!("runs/{session}"));
    let sandbox = wt.join(format!("{}/{session}", b.sandbox));
    assert_eq!(
        read(run_dir.join("env-seen")),
        format!(
            "ACP_PROBE=from-launcher\nMY_SESSION={session}\nMY_RUN_DIR={}\nMY_NOTE=x y\nACP_NOTE=x y\nF_LOSNING_NOTE=x y\nAGENT_PROJECT_RESULT_FILE={}/result.env\nF_LOSNING_HOST_RUN_DIR={}\n",
            sandbox.display(),
            sandbox.display(),
            run_dir.display()
        )
    );
}

/// Worktree and runs-root paths with spaces and quotes work end to end.
pub fn paths_with_spaces_and_quotes_work(b: &OneShotBackend) {
    let w = World::new();
    let (_, prompt) = w.worktree_and_prompt();
    let wt = w.worktree(&w.path("repo"), "it's a wt", "spaced");
    b.fake(&w, "pwd >\"$ACP_HOST_RUN_DIR/cwd\"");
    let session = b.session("space");
    let mut args = base_args(&session, &wt, &prompt);
    args[9] = "runs dir".into();
    let (code, _, err) = run(w.shim(b.tool).args(&args));
    assert_eq!(code, 0, "{err}");
    let run_dir = w.path(&format!("runs dir/{session}"));
    assert!(wait_until(30, || run_dir.join("result.env").exists()));
    assert!(wait_until(10, || read(
        run_dir.join(format!("{session}.log"))
    )
    .contains("__CODEX_EXIT__:0")));
    assert_eq!(read(run_dir.join("cwd")).trim(), wt.to_str().unwrap());
    let parsed = acp_core::envfile::EnvFile::load(&run_dir.join("run.env")).unwrap();
    assert_eq!(parsed.get("WORKTREE").unwrap(), wt.to_str().unwrap());
    assert_eq!(
        parsed.get("OUTPUT_FILE").unwrap(),
        format!("runs dir/{session}/{session}.log")
    );
    assert_eq!(parsed.get("FINAL_BRANCH").unwrap(), "spaced");
}

/// Every shared body as a one-line `#[test]` of the same name, run with
/// `$backend`: a backend module calls this inside `mod shared`, so its cases
/// are `<module>::shared::<body>` (selected by `cargo test kilo`, named in a
/// failure).
macro_rules! one_shot_tests {
    ($backend:path) => {
        $crate::one_shot_suite::one_shot_tests!(@ $backend;
            reports_and_records_the_launch,
            timeout_kills_the_agent_group,
            silent_agent_ends_as_no_output_stall,
            output_then_silence_ends_as_progress_stall,
            plain_failure_keeps_the_exit_reason,
            provider_failures_are_classified,
            term_while_running_leaves_no_children_and_no_reconcile,
            reconcile_runs_only_after_the_session_ends,
            collects_requested_artifacts_only,
            result_is_inferred_from_git_state,
            settings_come_from_acp_and_legacy_variables,
            help_and_bad_input,
            worker_env_comes_from_the_launcher_not_the_tmux_server,
            paths_with_spaces_and_quotes_work,
        );
    };
    (@ $backend:path; $($body:ident),* $(,)?) => {
        $(
            #[test]
            fn $body() {
                $crate::one_shot_suite::$body(&$backend);
            }
        )*
    };
}
pub(crate) use one_shot_tests;
