//! Integration tests for `record-verification.sh` (run through its shim).

use crate::harness::{World, run};

const TOOL: &str = "tools/bin/record-verification.sh";

fn entries(w: &World, rel: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(w.path(rel))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn record_verification_appends_json_lines_in_key_order() {
    let w = World::new();
    let (code, out, err) = run(w.shim(TOOL).args([
        "--run-dir",
        "sandbox/run 1",
        "--command",
        "cargo test -- --nocapture \"x\"",
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "sandbox/run 1/verification.jsonl\n");
    let (code, _, err) = run(w.shim(TOOL).args([
        "--run-dir",
        "sandbox/run 1",
        "--status",
        "fail",
        "--command",
        "npm test",
        "--note",
        "line1\nline2 \u{e9} $(touch pwned)",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(!w.path("pwned").exists());

    let raw = std::fs::read_to_string(w.path("sandbox/run 1/verification.jsonl")).unwrap();
    let lines: Vec<&str> = raw.lines().collect();
    assert_eq!(lines.len(), 2);
    let ts = regex::Regex::new(
        r#"^\{"timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","status":"pass","command":"cargo test -- --nocapture \\"x\\""\}$"#,
    )
    .unwrap();
    assert!(ts.is_match(lines[0]), "{}", lines[0]);
    assert!(
        lines[1].ends_with(
            r#","status":"fail","command":"npm test","note":"line1\nline2 é $(touch pwned)"}"#
        ),
        "{}",
        lines[1]
    );
    let e = entries(&w, "sandbox/run 1/verification.jsonl");
    assert_eq!(e[1]["note"], "line1\nline2 \u{e9} $(touch pwned)");
}

#[test]
fn record_verification_run_dir_from_env_chain() {
    let mut w = World::new();
    w.env("ACP_RUN_DIR", "")
        .env("F_LOSNING_RUN_DIR", "from-flosning")
        .env("AGENT_PROJECT_RUN_DIR", "from-agent-project");
    let (code, out, err) = run(w.shim(TOOL).args(["--command", "make lint"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "from-flosning/verification.jsonl\n");
    let e = entries(&w, "from-flosning/verification.jsonl");
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["status"], "pass");
    assert!(e[0].get("note").is_none());
    assert!(!w.path("from-agent-project").exists());
}

#[test]
fn record_verification_rejects_bad_input() {
    let w = World::new();
    // No run dir anywhere: one line naming the flag, nothing written.
    let (code, out, err) = run(w.shim(TOOL).args(["--command", "x"]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err,
        "--run-dir is required (or set ACP_RUN_DIR; see --help)\n"
    );
    // No command.
    let (code, _, err) = run(w.shim(TOOL).args(["--run-dir", "r"]));
    assert_eq!(
        (code, err.as_str()),
        (1, "--command is required (see --help)\n")
    );
    assert!(!w.path("r").exists());
    // Status outside pass|fail.
    let (code, out, err) =
        run(w
            .shim(TOOL)
            .args(["--run-dir", "r", "--command", "x", "--status", "skipped"]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err, "Unsupported status: skipped\n");
    assert!(!w.path("r").exists());
    // Unknown flag.
    let (code, _, err) = run(w.shim(TOOL).args(["--run-dir", "r", "--what"]));
    assert_eq!(code, 1);
    assert!(err.starts_with("Unknown argument: --what"), "{err}");
    // A run dir that cannot be created: error names the path.
    w.write("blocker", "file");
    let (code, _, err) = run(w
        .shim(TOOL)
        .args(["--run-dir", "blocker/sub", "--command", "x"]));
    assert_eq!(code, 1);
    assert!(err.contains("blocker/sub"), "{err}");
    let (code, out, _) = run(w.shim(TOOL).arg("-h"));
    assert_eq!(code, 0);
    assert!(out.contains("--note"));
}

#[test]
fn record_verification_stores_non_utf8_bytes_as_u_fffd() {
    use std::os::unix::ffi::OsStrExt;
    let w = World::new();
    let (code, out, err) = run(w.shim(TOOL).args([
        std::ffi::OsStr::new("--run-dir"),
        std::ffi::OsStr::new("r"),
        std::ffi::OsStr::new("--command"),
        std::ffi::OsStr::from_bytes(b"caf\xe9 test"),
        std::ffi::OsStr::new("--note"),
        std::ffi::OsStr::from_bytes(b"n\xff"),
    ]));
    assert_eq!((code, out.as_str()), (0, "r/verification.jsonl\n"), "{err}");
    assert_eq!(err, "");
    let e = entries(&w, "r/verification.jsonl");
    assert_eq!(e[0]["command"], "caf\u{fffd} test");
    assert_eq!(e[0]["note"], "n\u{fffd}");
    // A non-UTF-8 status is an unsupported status, not a UTF-8 error.
    let (code, _, err) = run(w.shim(TOOL).args([
        std::ffi::OsStr::new("--run-dir"),
        std::ffi::OsStr::new("r"),
        std::ffi::OsStr::new("--command"),
        std::ffi::OsStr::new("x"),
        std::ffi::OsStr::new("--status"),
        std::ffi::OsStr::from_bytes(b"p\xe4ss"),
    ]));
    assert_eq!(
        (code, err.as_str()),
        (1, "Unsupported status: p\u{fffd}ss\n")
    );
}

#[test]
fn record_verification_refuses_a_journal_that_is_not_a_regular_file() {
    let w = World::new();
    std::fs::create_dir_all(w.path("r")).unwrap();
    let (code, _, err) = run(w.cmd("mkfifo").arg(w.path("r/verification.jsonl")));
    assert_eq!(code, 0, "{err}");
    // Guarded: a blocking open of the FIFO fails the test instead of hanging it.
    let (code, out, err) = run(w
        .cmd("timeout")
        .arg("60")
        .arg("bash")
        .arg(w.skill.join(TOOL))
        .args(["--run-dir", "r", "--command", "x"]));
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(
        err.contains("r/verification.jsonl") && err.contains("a FIFO"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn record_verification_concurrent_writers_append_whole_lines() {
    let w = World::new();
    let rounds = 40;
    let writer = |tag: &str| {
        w.cmd("sh")
            .arg("-c")
            .arg(r#"i=0; while [ "$i" -lt "$2" ]; do i=$((i+1)); "$0" record-verification.sh --run-dir r --command "$1 $i" --note "$(printf '%0512d' 0)" >/dev/null || exit 1; done"#)
            .arg(crate::harness::bin())
            .arg(tag)
            .arg(rounds.to_string())
            .spawn()
            .unwrap()
    };
    let (mut a, mut b) = (writer("a"), writer("b"));
    assert!(a.wait().unwrap().success());
    assert!(b.wait().unwrap().success());
    let e = entries(&w, "r/verification.jsonl");
    assert_eq!(e.len(), 2 * rounds);
    for tag in ["a", "b"] {
        for i in 1..=rounds {
            let want = format!("{tag} {i}");
            assert!(e.iter().any(|v| v["command"] == want.as_str()), "{want}");
        }
    }
    let left: Vec<_> = std::fs::read_dir(w.path("r"))
        .unwrap()
        .map(|x| x.unwrap().file_name())
        .collect();
    assert_eq!(left, ["verification.jsonl"]);
}
