//! Integration tests for `ensure-runtime-sync.sh` (run through its shim).

use std::path::PathBuf;

use crate::harness::{World, bash_source_get, kv, read, run};

const TOOL: &str = "tools/bin/ensure-runtime-sync.sh";

/// A world with a stub sync tool (ACP_RUNTIME_SYNC_SCRIPT) that logs its
/// arguments and creates the runtime skill copy; returns (world, log).
fn stub_world() -> (World, PathBuf) {
    let mut w = World::new();
    let log = w.path("sync.log");
    let stub = crate::harness::write_script(
        &w.path("stub-sync.sh"),
        &format!(
            "#!/usr/bin/env bash\nset -euo pipefail\nprintf '%s|%s\\n' \"$1\" \"$2\" >>'{}'\n\
             mkdir -p \"$2/skills/openclaw/agent-control-plane\"\necho noise\n",
            log.display()
        ),
    );
    w.env("ACP_RUNTIME_SYNC_SCRIPT", &stub);
    (w, log)
}

#[test]
fn syncs_only_when_the_source_changed() {
    let (w, log) = stub_world();
    let src = w.path("src");
    w.write("src/tools/bin/example.sh", "one\n");
    w.write(
        "src/skills/openclaw/agent-control-plane/tools/bin/x.sh",
        "two\n",
    );
    w.write("src/skills/openclaw/agent-control-plane/SKILL.md", "# s\n");
    let rt = w.path("rt");
    let ensure = || {
        run(w
            .shim(TOOL)
            .arg("--source-home")
            .arg(&src)
            .arg("--runtime-home")
            .arg(&rt))
    };

    let (code, out, err) = ensure();
    assert_eq!(code, 0, "{err}");
    let keys: Vec<&str> = out.lines().map(|l| l.split('=').next().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "SYNC_STATUS",
            "SOURCE_HOME",
            "SOURCE_SKILL_DIR",
            "RUNTIME_HOME",
            "RUNTIME_SKILL_DIR",
            "SOURCE_FINGERPRINT",
            "STAMP_FILE"
        ]
    );
    assert_eq!(kv(&out, "SYNC_STATUS"), Some("updated"));
    assert_eq!(
        kv(&out, "SOURCE_SKILL_DIR"),
        Some(
            src.join("skills/openclaw/agent-control-plane")
                .to_str()
                .unwrap()
        )
    );
    assert_eq!(read(&log), format!("{}|{}\n", src.display(), rt.display()));
    let stamp = rt.join(".agent-control-plane-runtime-sync.env");
    let fp = kv(&out, "SOURCE_FINGERPRINT").unwrap().to_string();
    assert_eq!(fp.len(), 64);
    assert_eq!(bash_source_get(&w, &stamp, "SOURCE_FINGERPRINT"), fp);
    assert_eq!(bash_source_get(&w, &stamp, "SYNC_STATUS"), "updated");

    let (code, out, err) = ensure();
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "SYNC_STATUS"), Some("unchanged"));
    assert_eq!(read(&log).lines().count(), 1);

    w.write(
        "src/skills/openclaw/agent-control-plane/tools/bin/x.sh",
        "two and more\n",
    );
    let (code, out, _) = ensure();
    assert_eq!(code, 0);
    assert_eq!(kv(&out, "SYNC_STATUS"), Some("updated"));
    assert_eq!(read(&log).lines().count(), 2);

    let (code, out, _) = run(w
        .shim(TOOL)
        .arg("--source-home")
        .arg(&src)
        .arg("--runtime-home")
        .arg(&rt)
        .args(["--force", "--quiet"]));
    assert_eq!(code, 0);
    assert_eq!(out, "");
    assert_eq!(read(&log).lines().count(), 3);
}

#[test]
fn the_default_sync_is_the_real_publish_and_a_runtime_copy_finds_its_source() {
    let w = World::new();
    // Source: the package itself (its shim's tree), runtime home given.
    let rt_dir = w.path("runtime home with 'quote'");
    let (code, out, err) = run(w.shim(TOOL).arg("--runtime-home").arg(&rt_dir));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "SYNC_STATUS"), Some("updated"));
    assert_eq!(kv(&out, "SOURCE_HOME"), Some(w.skill.to_str().unwrap()));
    let runtime_skill = rt_dir.join("skills/openclaw/agent-control-plane");
    assert!(
        runtime_skill
            .join("tools/bin/ensure-runtime-sync.sh")
            .is_file()
    );

    // Run from the runtime copy without flags: the stamp names the source
    // (read back exactly, quotes and spaces included), so the copy is
    // compared with its source instead of with itself.
    let (code, out, err) = run(w
        .cmd("bash")
        .arg(runtime_skill.join("tools/bin/ensure-runtime-sync.sh"))
        .arg("--runtime-home")
        .arg(&rt_dir));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "SYNC_STATUS"), Some("unchanged"));
    assert_eq!(kv(&out, "SOURCE_HOME"), Some(w.skill.to_str().unwrap()));

    // Forced from the runtime copy: publishes again, and the copy is whole.
    let (code, out, err) = run(w
        .cmd("bash")
        .arg(runtime_skill.join("tools/bin/ensure-runtime-sync.sh"))
        .arg("--runtime-home")
        .arg(&rt_dir)
        .arg("--force"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "SYNC_STATUS"), Some("updated"));
    assert!(runtime_skill.join("SKILL.md").is_file());
    assert!(
        runtime_skill
            .join("tools/bin/ensure-runtime-sync.sh")
            .is_file()
    );
}

#[test]
fn a_failing_sync_fails_the_run_with_its_code_and_writes_no_stamp() {
    let mut w = World::new();
    let stub = crate::harness::write_script(
        &w.path("bad-sync.sh"),
        "#!/usr/bin/env bash\necho 'sync broke' >&2\nexit 9\n",
    );
    w.env("ACP_RUNTIME_SYNC_SCRIPT", &stub);
    let rt = w.path("rt");
    let (code, out, err) = run(w.shim(TOOL).arg("--runtime-home").arg(&rt));
    assert_eq!(code, 9);
    assert_eq!(out, "");
    assert_eq!(err, "sync broke\n");
    assert!(!rt.join(".agent-control-plane-runtime-sync.env").exists());
}

#[test]
fn hostile_input_fails_with_one_line_naming_the_path() {
    let (w, log) = stub_world();
    let rt = w.path("rt");
    std::fs::create_dir_all(&rt).unwrap();
    let stamp = rt.join(".agent-control-plane-runtime-sync.env");
    let (code, _, err) = run(w.cmd("mkfifo").arg(&stamp));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(w.shim(TOOL).arg("--runtime-home").arg(&rt));
    assert_ne!(code, 0);
    assert_eq!(out, "");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(stamp.to_str().unwrap()), "{err}");
    assert!(!log.exists(), "synced despite the broken stamp");

    let file = w.write("a-file", "x");
    let (code, _, err) = run(w.shim(TOOL).arg("--runtime-home").arg(&file));
    assert_ne!(code, 0);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(file.to_str().unwrap()), "{err}");

    let (code, _, err) = run(w.shim(TOOL).arg("--runtime-home"));
    assert_eq!(code, 64);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--runtime-home"), "{err}");

    let missing = w.path("no-source");
    let (code, _, err) = run(w
        .shim(TOOL)
        .arg("--source-home")
        .arg(&missing)
        .arg("--runtime-home")
        .arg(w.path("rt2")));
    assert_ne!(code, 0);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(missing.to_str().unwrap()), "{err}");

    let (code, _, err) = run(w.shim(TOOL).arg("--bogus"));
    assert_eq!(code, 64);
    assert!(err.starts_with("Unknown argument: --bogus\n"), "{err}");
}
