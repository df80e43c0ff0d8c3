//! Shared test bodies for the blocking launchers (`acp_session::launcher::blocking`):
//! `run-ollama-session` and `run-pi-session`. The caller sets up its own
//! agent (a fake server or a fake CLI) and passes the launcher's arguments;
//! the body drives the launcher and checks what both must do alike.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::harness::{World, bash_source_get, kv, pid_alive, read, read_existing, run, wait_until};

/// The launcher's required arguments (absolute runs root `runs`, adapter
/// `demo`).
pub fn launcher_args(
    wt: &Path,
    prompt: &Path,
    w: &World,
    session: &str,
    mode: &str,
    task: (&str, &str),
) -> Vec<String> {
    [
        "--mode",
        mode,
        "--session",
        session,
        "--worktree",
        wt.to_str().unwrap(),
        "--prompt-file",
        prompt.to_str().unwrap(),
        "--runs-root",
        w.path("runs").to_str().unwrap(),
        "--adapter-id",
        "demo",
        "--task-kind",
        task.0,
        "--task-id",
        task.1,
    ]
    .map(String::from)
    .to_vec()
}

/// A shell command that starts two `sleep` children (one in a subshell),
/// appends their pids to `pids`, then sleeps: what a stopped session must
/// leave behind nothing of.
pub fn two_children_command(pids: &Path) -> String {
    format!(
        "sleep 300 & echo $! >> '{p}'; (sleep 300 & echo $! >> '{p}'; wait) & sleep 300",
        p = pids.display()
    )
}

/// Starts the launcher in the background and waits until the agent wrote
/// both child pids; (launcher process, child pids).
fn start_with_children(
    w: &World,
    tool: &str,
    args: &[String],
    pids: &Path,
) -> (std::process::Child, Vec<i32>) {
    let child = w.shim(tool).args(args).spawn().unwrap();
    assert!(
        wait_until(20, || read(pids).lines().count() >= 2),
        "the agent's children never started"
    );
    let started = read(pids)
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    (child, started)
}

fn assert_all_gone(started: &[i32]) {
    assert!(
        wait_until(10, || started.iter().all(|p| !pid_alive(*p))),
        "children survived the session: {started:?}"
    );
}

/// Killing the tmux session leaves none of the agent's children running.
pub fn kill_session_leaves_no_children(
    w: &World,
    tool: &str,
    args: &[String],
    session: &str,
    pids: &Path,
) {
    let (mut launcher, started) = start_with_children(w, tool, args, pids);
    assert!(
        w.tmux()
            .args(["kill-session", "-t", &format!("={session}")])
            .status()
            .unwrap()
            .success()
    );
    let _ = launcher.kill();
    let _ = launcher.wait();
    assert_all_gone(&started);
}

/// TERM to the session's supervisor ends the agent's process group, records
/// the abort (143), lets the launcher return, and does not reconcile.
pub fn term_to_the_supervisor_ends_the_group_and_records_it(
    w: &World,
    tool: &str,
    args: &[String],
    session: &str,
    pids: &Path,
) {
    let marker = w.path("reconciled.txt");
    let mut args = args.to_vec();
    args.extend([
        "--reconcile-command".to_string(),
        format!("touch '{}'", marker.display()),
    ]);
    let (mut launcher, started) = start_with_children(w, tool, &args, pids);
    w.term_session(session);
    assert!(
        launcher.wait().unwrap().success(),
        "the launcher returns once the session is done"
    );
    assert_all_gone(&started);
    let run_dir = w.path(&format!("runs/{session}"));
    let runner = read_existing(run_dir.join("runner.env"));
    assert!(runner.starts_with("RUNNER_STATE=failed\n"), "{runner}");
    assert_eq!(kv(&runner, "LAST_EXIT_CODE"), Some("143"), "{runner}");
    assert_eq!(
        kv(&runner, "LAST_FAILURE_REASON"),
        Some("runner-aborted-before-completion"),
        "{runner}"
    );
    let log = read_existing(run_dir.join(format!("{session}.log")));
    assert!(log.ends_with("\n__CODEX_EXIT__:143\n"), "{log}");
    // A stopped session is not reconciled as if it had finished.
    std::thread::sleep(Duration::from_secs(4));
    assert!(!marker.exists(), "reconcile ran after TERM");
}

/// The reconcile command runs once the session is gone, sees the run's start
/// time under both prefixes and the launcher's credentials, which never
/// reach the run's files.
pub fn reconcile_runs_after_the_session_ends(
    w: &World,
    tool: &str,
    args: &[String],
    session: &str,
) {
    let marker = w.path("reconciled.txt");
    let reconcile = format!(
        "if tmux has-session -t ={session} 2>/dev/null; then s=alive; else s=gone; fi; printf '%s %s %s %s\\n' \"$s\" \"$ACP_EXPECTED_RUN_STARTED_AT\" \"$F_LOSNING_EXPECTED_RUN_STARTED_AT\" \"${{GH_TOKEN:-none}}\" > '{}'",
        marker.display()
    );
    let (code, _, err) = run(w
        .shim(tool)
        .args(args)
        .args(["--reconcile-command", &reconcile])
        .env("GH_TOKEN", "ghp-test-token"));
    assert_eq!(
        code, 0,
        "the launcher must not fail with a reconcile command: {err}"
    );
    // The shell creates the file before printf writes the line: wait for it.
    assert!(
        wait_until(20, || read(&marker).ends_with('\n')),
        "reconcile never ran"
    );
    let run_dir = w.path(&format!("runs/{session}"));
    let started = kv(&read_existing(run_dir.join("run.env")), "STARTED_AT")
        .unwrap()
        .to_string();
    // The reconcile command gets the launcher's credentials (it talks to GitHub).
    assert_eq!(
        read_existing(&marker),
        format!("gone {started} {started} ghp-test-token\n")
    );
    for f in ["run.env", "runner.env", &format!("{session}.sh")] {
        assert!(!read(run_dir.join(f)).contains("ghp-test-token"), "{f}");
    }
}

/// The model name every hostile-values run passes (it must reach the agent
/// verbatim).
pub const HOSTILE_MODEL: &str = "m; touch pwned4 $(touch pwned5)";

/// Hostile context, model and task id never run; they reach `run.env`
/// verbatim (sourceable). `model_flag` is the backend's model flag; the
/// caller checks that [`HOSTILE_MODEL`] reached its agent.
pub fn hostile_values_never_execute(
    w: &World,
    tool: &str,
    args: &[String],
    session: &str,
    wt: &Path,
    model_flag: &str,
) {
    let hostile = "$(touch pwned1) `touch pwned2` 'q' \"d\" ; touch pwned3\nline2";
    let mut args = args.to_vec();
    args.extend(
        [
            "--context",
            &format!("NOTE={hostile}"),
            model_flag,
            HOSTILE_MODEL,
            "--env-prefix",
            "F_LOSNING_",
        ]
        .map(String::from),
    );
    let pos = args.iter().position(|a| a == "--task-id").unwrap();
    args[pos + 1] = "7 $(touch pwned6)".to_string();
    let (code, _, err) = run(w.shim(tool).args(&args));
    assert_eq!(code, 0, "{err}");
    let run_dir = w.path(&format!("runs/{session}"));
    let dirs: [PathBuf; 4] = [w.root(), wt.to_path_buf(), w.home.clone(), run_dir.clone()];
    for n in 1..=6 {
        for dir in &dirs {
            assert!(
                !dir.join(format!("pwned{n}")).exists(),
                "pwned{n} in {}",
                dir.display()
            );
        }
    }
    let run_env = run_dir.join("run.env");
    assert_eq!(bash_source_get(w, &run_env, "NOTE"), hostile);
    assert_eq!(bash_source_get(w, &run_env, "TASK_ID"), "7 $(touch pwned6)");
}
