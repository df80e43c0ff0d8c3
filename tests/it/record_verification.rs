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
    // No run dir anywhere: usage, nothing written.
    let (code, out, err) = run(w.shim(TOOL).args(["--command", "x"]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.contains("Usage"), "{err}");
    // No command.
    let (code, _, err) = run(w.shim(TOOL).args(["--run-dir", "r"]));
    assert_eq!(code, 1);
    assert!(err.contains("Usage"), "{err}");
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
