//! Integration tests for `agent-project-capture-worker` (run through its shim).

use crate::harness::{World, run};

const TOOL: &str = "tools/bin/agent-project-capture-worker";

/// Waits (bounded) until the pane of `session` shows `needle`.
fn wait_for_pane(w: &World, session: &str, needle: &str) {
    for _ in 0..100 {
        let out = w
            .tmux()
            .args(["capture-pane", "-p", "-t"])
            .arg(format!("={session}:"))
            .output()
            .unwrap();
        if String::from_utf8_lossy(&out.stdout).contains(needle) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("pane of {session} never showed {needle}");
}

#[test]
fn capture_worker_prefers_the_live_tmux_pane() {
    let w = World::new();
    let s = "cap-live-1";
    // A log exists too: the live pane must win.
    w.write(&format!("runs/{s}/{s}.log"), "from-log\n");
    w.tmux_session(s, "printf 'pane-%s\\n' 1 2 3 4 5; sleep 30");
    wait_for_pane(&w, s, "pane-5");
    let (code, out, err) = run(w.shim(TOOL).args(["--runs-root", "runs", "--session", s]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("pane-1\npane-2\npane-3\npane-4\npane-5\n"),
        "{out:?}"
    );
    assert!(!out.contains("from-log"));

    // --lines counts the pane's rows from the bottom (blank rows included).
    let (code, out, _) =
        run(w
            .shim(TOOL)
            .args(["--runs-root", "runs", "--session", s, "--lines", "+2"]));
    assert_eq!(code, 0);
    assert!(out.starts_with("pane-2\n"), "{out:?}");
}

#[test]
fn capture_worker_falls_back_to_the_log_tail() {
    let mut w = World::new();
    let s = "cap-log-1";
    let log: String = (1..=100).map(|i| format!("log line {i}\n")).collect();
    w.write(&format!("runs/{s}/{s}.log"), &log);
    // Another live session whose name extends this one's must not be captured.
    w.tmux_session(&format!("{s}0"), "sleep 30");
    let (code, out, err) =
        run(w
            .shim(TOOL)
            .args(["--runs-root", "runs", "--session", s, "--lines", "3"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "log line 98\nlog line 99\nlog line 100\n");

    // Default 80 lines, runs root from the environment.
    w.env("AGENT_PROJECT_RUNS_ROOT", "runs");
    let (code, out, _) = run(w.shim(TOOL).args(["--session", s]));
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 80);
    assert!(out.starts_with("log line 21\n"));

    // A last line without newline is still a line.
    w.write(&format!("runs/{s}/{s}.log"), "a\nb\nc");
    let (code, out, _) = run(w.shim(TOOL).args(["--session", s, "--lines", "2"]));
    assert_eq!(code, 0);
    assert_eq!(out, "b\nc");
}

#[test]
fn capture_worker_errors() {
    let w = World::new();
    let (code, out, err) = run(w
        .shim(TOOL)
        .args(["--runs-root", "runs", "--session", "ghost"]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err, "no tmux session or log found for ghost\n");
    let (code, _, err) = run(w.shim(TOOL).args(["--session", "ghost"]));
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "--runs-root is required (or set AGENT_PROJECT_RUNS_ROOT; see --help)\n"
    );
    let (code, _, err) = run(w.shim(TOOL).args(["--runs-root", "runs"]));
    assert_eq!(code, 1);
    assert_eq!(err, "--session is required (see --help)\n");
    // A session is a plain name: nothing outside the runs root is read.
    w.write("outside/outside.log", "outside-the-runs-root\n");
    w.write("runs/.keep", "");
    for bad in ["../outside", "n\nx"] {
        let (code, out, err) = run(w.shim(TOOL).args(["--runs-root", "runs", "--session", bad]));
        assert_eq!((code, out.as_str()), (1, ""), "{bad:?}: {err}");
        assert!(err.starts_with("--session must"), "{err}");
    }
    let (code, _, err) = run(w.shim(TOOL).args(["--runs-root", "r", "--tail"]));
    assert_eq!(code, 1);
    assert!(err.starts_with("Unknown argument: --tail"), "{err}");
    w.write("runs/s/s.log", "x\n");
    let (code, out, err) =
        run(w
            .shim(TOOL)
            .args(["--runs-root", "runs", "--session", "s", "--lines", "ten"]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.contains("ten"), "{err}");
    let (code, out, _) = run(w.shim(TOOL).arg("--help"));
    assert_eq!(code, 0);
    assert!(out.contains("--lines"));
}

const WRAPPER: &str = "tools/bin/capture-worker.sh";

#[test]
fn capture_worker_sh_reads_the_profile_runs_root() {
    let mut w = World::new();
    std::fs::write(w.skill.join("SKILL.md"), "test package\n").unwrap();
    let runs = w.path("p-runs");
    w.write(
        "profiles/solo/control-plane.yaml",
        format!("id: solo\nruntime:\n  runs_root: {}\n", runs.display()),
    );
    let registry = w.path("profiles");
    w.env("ACP_PROFILE_REGISTRY_ROOT", &registry);
    let log: String = (1..=90).map(|i| format!("l{i}\n")).collect();
    w.write("p-runs/w-1/w-1.log", &log);
    // The only profile is selected without ACP_PROJECT_ID; default 80 lines.
    let (code, out, err) = run(w.shim(WRAPPER).arg("w-1"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 80);
    assert!(out.starts_with("l11\n"));
    let (code, out, _) = run(w.shim(WRAPPER).args(["w-1", "2"]));
    assert_eq!(code, 0);
    assert_eq!(out, "l89\nl90\n");
    let (code, _, err) = run(w.shim(WRAPPER).arg("nobody"));
    assert_eq!(code, 1);
    assert_eq!(err, "no tmux session or log found for nobody\n");
    let (code, _, err) = run(&mut w.shim(WRAPPER));
    assert_eq!(code, 1);
    assert!(
        err.contains("usage: capture-worker.sh SESSION [LINES]"),
        "{err}"
    );
}
