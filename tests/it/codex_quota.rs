//! Integration tests for `codex-quota` (run through its shim).

use std::path::{Path, PathBuf};

use crate::harness::{World, run, write_script};

const TOOL: &str = "tools/bin/codex-quota";

/// A fake node that logs its argv (one per line) and the env it cares about,
/// prints a marker, and exits with `$FAKE_NODE_EXIT` (default 0).
const FAKE_NODE: &str = r#"#!/usr/bin/env bash
log="${NODE_LOG:?}"
printf '%s\n' "$@" >"$log"
printf 'NVM_DIR=%s\n' "${NVM_DIR:-}" >"$log.env"
echo "fake-node-ran"
exit "${FAKE_NODE_EXIT:-0}"
"#;

fn vendored_entry(w: &World) -> PathBuf {
    w.write(
        "skill/tools/vendor/codex-quota/codex-quota.js",
        "// stand-in for the vendored tool\n",
    )
}

fn script(path: &Path, body: &str) -> PathBuf {
    write_script(path, body)
}

/// A PATH directory that has the few programs the shim needs but no node.
fn nodeless_path(w: &World) -> String {
    let dir = w.path("nodeless-bin");
    std::fs::create_dir_all(&dir).unwrap();
    for prog in ["dirname", "basename", "bash", "env"] {
        let target = ["/usr/bin", "/bin"]
            .iter()
            .map(|d| Path::new(d).join(prog))
            .find(|p| p.exists())
            .unwrap();
        std::os::unix::fs::symlink(target, dir.join(prog)).unwrap();
    }
    dir.display().to_string()
}

fn logged_args(w: &World) -> Vec<String> {
    std::fs::read_to_string(w.path("node.log"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn codex_quota_passes_entry_and_arguments_to_the_configured_node() {
    let mut w = World::new();
    let entry = vendored_entry(&w);
    let node = script(&w.path("custom/node"), FAKE_NODE);
    w.env("NODE_LOG", w.path("node.log"))
        .env("ACP_CODEX_QUOTA_NODE_BIN", &node)
        .env("F_LOSNING_CODEX_QUOTA_NODE_BIN", "/nonexistent/node");
    let (code, out, err) = run(w.shim(TOOL).args(["codex", "list", "--json"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "fake-node-ran\n");
    let args = logged_args(&w);
    assert_eq!(
        Path::new(&args[0]).canonicalize().unwrap(),
        entry.canonicalize().unwrap()
    );
    assert_eq!(
        args[0],
        w.skill
            .join("tools/bin/../vendor/codex-quota/codex-quota.js")
            .display()
            .to_string(),
        "entry spelled relative to the wrapper's own directory"
    );
    assert_eq!(&args[1..], ["codex", "list", "--json"]);
}

#[test]
fn codex_quota_keeps_awkward_arguments_intact_and_passes_help_through() {
    let mut w = World::new();
    vendored_entry(&w);
    w.fake("node", FAKE_NODE);
    w.env("NODE_LOG", w.path("node.log"));
    let (code, _, err) = run(w.shim(TOOL).args([
        "--help",
        "two words",
        "it's \"quoted\"",
        "$(touch pwned)",
        "-x",
    ]));
    assert_eq!(code, 0, "{err}");
    let args = logged_args(&w);
    assert_eq!(
        &args[1..],
        [
            "--help",
            "two words",
            "it's \"quoted\"",
            "$(touch pwned)",
            "-x"
        ]
    );
    assert!(!w.path("pwned").exists());
}

#[test]
fn codex_quota_uses_the_legacy_variable_then_path() {
    let mut w = World::new();
    vendored_entry(&w);
    let legacy = script(&w.path("legacy/node"), FAKE_NODE);
    w.env("NODE_LOG", w.path("node.log"))
        .env("F_LOSNING_CODEX_QUOTA_NODE_BIN", &legacy)
        .env("ACP_CODEX_QUOTA_NODE_BIN", "");
    let (code, out, err) = run(w.shim(TOOL).arg("codex"));
    assert_eq!((code, out.as_str()), (0, "fake-node-ran\n"), "{err}");

    // Without either variable, node comes from PATH (the fake bin dir is first).
    let mut w2 = World::new();
    vendored_entry(&w2);
    w2.fake("node", FAKE_NODE);
    w2.env("NODE_LOG", w2.path("node.log"));
    let (code, out, err) = run(w2.shim(TOOL).arg("codex"));
    assert_eq!((code, out.as_str()), (0, "fake-node-ran\n"), "{err}");
    assert_eq!(logged_args(&w2)[1], "codex");
}

#[test]
fn codex_quota_returns_the_quota_tool_exit_status() {
    let mut w = World::new();
    vendored_entry(&w);
    w.fake("node", FAKE_NODE);
    w.env("NODE_LOG", w.path("node.log"))
        .env("FAKE_NODE_EXIT", "7");
    let (code, out, _) = run(w.shim(TOOL).args(["codex", "switch"]));
    assert_eq!(code, 7);
    assert_eq!(out, "fake-node-ran\n");
}

#[test]
fn codex_quota_finds_node_through_nvm() {
    let mut w = World::new();
    vendored_entry(&w);
    let nvm_dir = w.path("my nvm");
    script(&nvm_dir.join("versions/node/v20/bin/node"), FAKE_NODE);
    w.write(
        "my nvm/nvm.sh",
        "export PATH=\"$NVM_DIR/versions/node/v20/bin:$PATH\"\necho 'nvm chatter'\n",
    );
    let path = nodeless_path(&w);
    w.env("NODE_LOG", w.path("node.log"))
        .env("PATH", &path)
        .env("NVM_DIR", &nvm_dir);
    let (code, out, err) = run(w.shim(TOOL).args(["codex", "list"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "fake-node-ran\n", "nvm.sh output must not leak");
    assert_eq!(&logged_args(&w)[1..], ["codex", "list"]);
    let env_log = std::fs::read_to_string(w.path("node.log.env")).unwrap();
    assert_eq!(env_log, format!("NVM_DIR={}\n", nvm_dir.display()));
}

#[test]
fn codex_quota_default_nvm_dir_is_under_home() {
    let mut w = World::new();
    vendored_entry(&w);
    let nvm_dir = w.home.join(".nvm");
    script(&nvm_dir.join("bin/node"), FAKE_NODE);
    w.write("home/.nvm/nvm.sh", "export PATH=\"$NVM_DIR/bin:$PATH\"\n");
    let path = nodeless_path(&w);
    w.env("NODE_LOG", w.path("node.log")).env("PATH", &path);
    let (code, out, err) = run(w.shim(TOOL).arg("codex"));
    assert_eq!((code, out.as_str()), (0, "fake-node-ran\n"), "{err}");
}

#[test]
fn codex_quota_without_node_fails_with_one_line() {
    let mut w = World::new();
    vendored_entry(&w);
    let path = nodeless_path(&w);
    // An empty nvm.sh does not count.
    w.write("home/.nvm/nvm.sh", "");
    w.env("PATH", &path);
    let (code, out, err) = run(w.shim(TOOL).args(["codex", "list"]));
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert_eq!(
        err,
        "node is required to run the bundled codex-quota tool\n"
    );
}

#[test]
fn codex_quota_without_the_vendored_entry_fails_with_its_path() {
    let mut w = World::new();
    w.fake("node", FAKE_NODE);
    w.env("NODE_LOG", w.path("node.log"));
    let (code, out, err) = run(w.shim(TOOL).arg("codex"));
    assert_eq!((code, out.as_str()), (1, ""));
    let expected = w
        .skill
        .join("tools/bin/../vendor/codex-quota/codex-quota.js");
    assert_eq!(
        err,
        format!(
            "bundled codex-quota entrypoint not found: {}\n",
            expected.display()
        )
    );
    assert!(!w.path("node.log").exists(), "node must not run");
}

#[test]
fn codex_quota_reports_an_unusable_node_binary() {
    let mut w = World::new();
    vendored_entry(&w);
    w.env("ACP_CODEX_QUOTA_NODE_BIN", w.path("no/such/node"));
    let (code, _, err) = run(w.shim(TOOL).arg("codex"));
    assert_eq!(code, 127, "{err}");
    assert!(err.contains("no/such/node"), "{err}");
    let not_exec = w.write("plain-node", "not a program");
    w.env("ACP_CODEX_QUOTA_NODE_BIN", &not_exec);
    let (code, _, err) = run(w.shim(TOOL).arg("codex"));
    assert_eq!(code, 126, "{err}");
}

#[test]
fn codex_quota_help_describes_the_wrapper_only_when_the_tool_is_absent() {
    let mut w = World::new();
    w.fake("node", FAKE_NODE);
    w.env("NODE_LOG", w.path("node.log"));
    let (code, out, err) = run(w.shim(TOOL).arg("--help"));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("codex-quota"), "{out}");
    assert!(!w.path("node.log").exists());
    // With the vendored tool present, --help is the tool's own.
    vendored_entry(&w);
    let (code, out, _) = run(w.shim(TOOL).arg("--help"));
    assert_eq!((code, out.as_str()), (0, "fake-node-ran\n"));
    assert_eq!(logged_args(&w)[1], "--help");
}
