//! Integration tests for `agent-project-archive-run` (run through its shim).

use crate::harness::{World, kv, run};

const TOOL: &str = "tools/bin/agent-project-archive-run";

#[test]
fn archive_run_moves_run_dir_and_removes_file() {
    let w = World::new();
    w.write("runs/s-1/run.env", "SESSION=s-1\n");
    let extra = w.write("wt/result.env", "OUTCOME=implemented\n");
    let (code, out, err) = run(w
        .shim(TOOL)
        .args([
            "--runs-root",
            "runs",
            "--history-root",
            "history",
            "--session",
            "s-1",
            "--remove-file",
        ])
        .arg(&extra));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "SESSION"), Some("s-1"));
    assert_eq!(kv(&out, "RUN_DIR"), Some("runs/s-1"));
    let archived = kv(&out, "ARCHIVED_DIR").unwrap();
    let re = regex::Regex::new(r"^history/s-1-\d{8}-\d{6}$").unwrap();
    assert!(re.is_match(archived), "{archived}");
    assert!(w.path(archived).join("run.env").is_file());
    assert!(!w.path("runs/s-1").exists());
    assert!(!extra.exists());
    assert_eq!(kv(&out, "REMOVED_FILE"), Some(extra.to_str().unwrap()));
    let keys: Vec<&str> = out.lines().map(|l| l.split('=').next().unwrap()).collect();
    assert_eq!(keys, ["SESSION", "RUN_DIR", "ARCHIVED_DIR", "REMOVED_FILE"]);
}

#[test]
fn archive_run_uses_env_roots_and_tolerates_missing_run_dir() {
    let mut w = World::new();
    w.env("AGENT_PROJECT_RUNS_ROOT", "runs")
        .env("AGENT_PROJECT_HISTORY_ROOT", "hist dir");
    let (code, out, err) = run(w.shim(TOOL).args(["--session", "gone"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "ARCHIVED_DIR"), Some(""));
    assert!(w.path("hist dir").is_dir(), "history root is created");
}

#[test]
fn archive_run_never_nests_a_second_archive_of_the_same_second() {
    let w = World::new();
    let mut seen = Vec::new();
    for _ in 0..2 {
        w.write("runs/s-2/run.env", "SESSION=s-2\n");
        let (code, out, _) = run(w.shim(TOOL).args([
            "--runs-root",
            "runs",
            "--history-root",
            "h",
            "--session",
            "s-2",
        ]));
        assert_eq!(code, 0);
        seen.push(kv(&out, "ARCHIVED_DIR").unwrap().to_string());
    }
    assert_ne!(seen[0], seen[1]);
    for d in &seen {
        assert!(w.path(d).join("run.env").is_file(), "{d}");
    }
}

#[test]
fn archive_run_rejects_bad_input() {
    let w = World::new();
    // A missing required option is one line naming it.
    let (code, out, err) = run(w.shim(TOOL).args(["--runs-root", "runs", "--session", "s"]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err,
        "--history-root is required (or set AGENT_PROJECT_HISTORY_ROOT; see --help)\n"
    );
    let (code, _, err) = run(w
        .shim(TOOL)
        .args(["--runs-root", "runs", "--history-root", "h"]));
    assert_eq!(code, 1);
    assert_eq!(err, "--session is required (see --help)\n");
    let (code, _, err) = run(w.shim(TOOL).args(["--bogus", "x"]));
    assert_eq!(code, 1);
    assert!(err.starts_with("Unknown argument: --bogus"), "{err}");
    let (code, _, err) = run(w.shim(TOOL).args(["--bogus=x"]));
    assert_eq!(code, 1);
    assert!(err.starts_with("Unknown argument: --bogus=x\n"), "{err}");
    w.write("outside/keep.txt", "x");
    let (code, _, err) = run(w.shim(TOOL).args([
        "--runs-root",
        "runs",
        "--history-root",
        "h",
        "--session",
        "../outside",
    ]));
    assert_eq!(code, 1);
    assert!(err.contains("--session"), "{err}");
    assert!(w.path("outside/keep.txt").exists());
    let (code, out, _) = run(w.shim(TOOL).arg("--help"));
    assert_eq!(code, 0);
    assert!(out.contains("--history-root"));
}

#[test]
fn archive_run_refuses_values_that_would_forge_output_lines() {
    let w = World::new();
    w.write("runs/s-3/run.env", "SESSION=s-3\n");
    let base = [
        "--runs-root",
        "runs",
        "--history-root",
        "h",
        "--session",
        "s-3",
    ];
    for (flag, value) in [
        ("--session", "s-3\nARCHIVED_DIR=/x"),
        ("--runs-root", "runs\nRUN_DIR=/x"),
        ("--history-root", "h\rx"),
        ("--remove-file", "f\nREMOVED_FILE=/etc/passwd"),
    ] {
        let mut args: Vec<&str> = base.to_vec();
        match args.iter().position(|a| *a == flag) {
            Some(i) => args[i + 1] = value,
            None => args.extend([flag, value]),
        }
        let (code, out, err) = run(w.shim(TOOL).args(&args));
        assert_eq!((code, out.as_str()), (1, ""), "{flag}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with(&format!("{flag} must")), "{err}");
    }
    assert!(w.path("runs/s-3/run.env").is_file(), "nothing was archived");
}
