//! Integration tests for `sync-shared-agent-home.sh` (run through its shim).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::harness::{World, kv, read, run};

const TOOL: &str = "tools/bin/sync-shared-agent-home.sh";

fn runtime_home(w: &World) -> PathBuf {
    w.home.join(".agent-runtime/runtime-home")
}

fn runtime_skill(w: &World) -> PathBuf {
    runtime_home(w).join("skills/openclaw/agent-control-plane")
}

/// Names in `dir` that start with `.` and contain `acp-stage` (staging
/// directories a publish left behind).
fn stages_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains("acp-stage"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn publishes_the_package_into_the_default_runtime_home() {
    let w = World::new();
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{err}");
    let rt = runtime_home(&w);
    assert_eq!(out, format!("SHARED_AGENT_HOME={}\n", rt.display()));
    let skill = runtime_skill(&w);
    for rel in [
        "SKILL.md",
        "assets/workflow-catalog.json",
        "hooks/heartbeat-hooks.sh",
        "tools/templates/issue-prompt-template.md",
        "tools/bin/render-flow-config.sh",
        "tools/bin/flow-runtime-doctor.sh",
        ".agent-control-plane-tree",
    ] {
        assert!(skill.join(rel).is_file(), "runtime copy lacks {rel}");
    }
    // The package is its own source home: its tools/ is published too.
    assert!(rt.join("tools/bin/sync-shared-agent-home.sh").is_file());
    assert!(acp_core::fsx::is_executable(
        &skill.join("tools/bin/render-flow-config.sh")
    ));
    // The source is left as it was: no skills/ directory made inside it.
    assert!(!w.skill.join("skills").exists());
    assert!(stages_in(&rt.join("skills/openclaw")).is_empty());

    // The published copy works on its own: its shims find their package root.
    let (code, out, err) = run(w
        .cmd("bash")
        .arg(skill.join("tools/bin/render-flow-config.sh")));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "FLOW_SKILL_DIR"), Some(skill.to_str().unwrap()));
}

#[test]
fn a_source_home_is_published_and_cleaned_the_original_way() {
    let w = World::new();
    let src = w.path("source-home");
    let rt = w.path("runtime-home");
    w.write("source-home/tools/bin/shared-tool", "#!/bin/sh\necho ok\n");
    w.write(
        "source-home/skills/openclaw/codex-quota-manager/scripts/auto-switch.sh",
        "#!/bin/sh\n",
    );
    w.write("source-home/.git/objects/aa/obj", "object\n");
    // An older copy of this package under another name, in both homes.
    for home in ["source-home", "runtime-home"] {
        w.write(
            &format!("{home}/skills/openclaw/older-copy/assets/workflow-catalog.json"),
            "{}\n",
        );
        w.write(
            &format!("{home}/skills/openclaw/other-skill/assets/workflow-catalog.json"),
            "{}\n",
        );
        w.write(
            &format!("{home}/skills/openclaw/other-skill/SKILL.md"),
            "# other\n",
        );
        w.write(&format!("{home}/flows/project-adapters/x.yaml"), "x\n");
        w.write(&format!("{home}/flows/profiles/x"), "x\n");
    }
    w.write("runtime-home/tools/bin/stale-tool", "stale\n");
    w.write("skill/profiles/legacy/control-plane.yaml", "id: legacy\n");

    let (code, out, err) = run(w.shim(TOOL).arg(&src).arg(&rt));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "SHARED_AGENT_HOME"), Some(rt.to_str().unwrap()));
    assert_eq!(
        read(rt.join("tools/bin/shared-tool")),
        "#!/bin/sh\necho ok\n"
    );
    assert!(acp_core::fsx::is_executable(
        &rt.join("tools/bin/shared-tool")
    ));
    assert!(
        !rt.join("tools/bin/stale-tool").exists(),
        "--delete semantics"
    );
    assert!(acp_core::fsx::is_executable(&rt.join(
        "skills/openclaw/codex-quota-manager/scripts/auto-switch.sh"
    )));
    for home in [&src, &rt] {
        let skill = home.join("skills/openclaw/agent-control-plane");
        assert!(skill.join("SKILL.md").is_file(), "{}", skill.display());
        assert!(!skill.join("profiles").exists(), "{}", skill.display());
        assert!(!home.join("skills/openclaw/older-copy").exists());
        assert!(home.join("skills/openclaw/other-skill/SKILL.md").is_file());
        assert!(!home.join("flows/project-adapters").exists());
        assert!(!home.join("flows/profiles").exists());
    }
    assert!(src.join(".git/objects/aa/obj").is_file());
    assert!(!rt.join(".git").exists());
    // The package's own profiles/ stays where it is.
    assert!(w.skill.join("profiles/legacy/control-plane.yaml").is_file());
}

#[test]
fn publishing_a_home_onto_itself_changes_nothing() {
    let w = World::new();
    let (code, _, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{err}");
    let rt = runtime_home(&w);
    let skill = runtime_skill(&w);
    let marker = skill.join("SKILL.md");
    let inode = std::fs::metadata(&marker).unwrap().ino();

    // The runtime copy's own sync, runtime home to runtime home (what the
    // original's doctor suggested from a runtime copy, and what every
    // supervisor of an npm install ran): the copy must survive untouched.
    let (code, out, err) = run(w
        .cmd("bash")
        .arg(skill.join("tools/bin/sync-shared-agent-home.sh"))
        .arg(&rt)
        .arg(&rt));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "SHARED_AGENT_HOME"), Some(rt.to_str().unwrap()));
    assert_eq!(std::fs::metadata(&marker).unwrap().ino(), inode);
    assert!(skill.join("tools/bin/render-flow-config.sh").is_file());

    // The same through a path with a symlink in it.
    let link = w.path("rt-link");
    std::os::unix::fs::symlink(&rt, &link).unwrap();
    let (code, _, err) = run(w
        .cmd("bash")
        .arg(skill.join("tools/bin/sync-shared-agent-home.sh"))
        .arg(&link)
        .arg(&rt));
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::metadata(&marker).unwrap().ino(), inode);
}

#[test]
fn a_reader_during_a_publish_sees_the_old_tree_or_the_new_one() {
    let w = World::new();
    let version = w.skill.join("tools/templates/version.txt");
    std::fs::write(&version, "v0").unwrap();
    let (code, _, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{err}");
    let skill = runtime_skill(&w);

    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let stop = Arc::clone(&stop);
        let skill = skill.clone();
        std::thread::spawn(move || {
            let mut reads = 0u64;
            let mut problems = Vec::new();
            while !stop.load(Ordering::Relaxed) || reads == 0 {
                let v = std::fs::read_to_string(skill.join("tools/templates/version.txt"));
                let shim = std::fs::metadata(skill.join("tools/bin/worker-status.sh"));
                match (v, shim) {
                    (Ok(v), Ok(_)) if v.starts_with('v') => {}
                    (v, shim) => problems.push(format!("{v:?} / {:?}", shim.map(|_| ()))),
                }
                reads += 1;
            }
            (reads, problems)
        })
    };
    for n in 1..=6 {
        std::fs::write(&version, format!("v{n}")).unwrap();
        let (code, _, err) = run(&mut w.shim(TOOL));
        assert_eq!(code, 0, "{err}");
    }
    stop.store(true, Ordering::Relaxed);
    let (reads, problems) = reader.join().unwrap();
    assert!(reads > 0);
    assert!(
        problems.is_empty(),
        "a reader saw a half-published tree: {problems:?}"
    );
    assert_eq!(read(skill.join("tools/templates/version.txt")), "v6");
    assert!(stages_in(&runtime_home(&w).join("skills/openclaw")).is_empty());
}

#[test]
fn a_source_skill_under_an_old_name_is_published_not_deleted() {
    let mut w = World::new();
    // The package lives where the clean-up looks for stale copies.
    let old = w.path("home-src/skills/openclaw/old-name");
    std::fs::create_dir_all(old.parent().unwrap()).unwrap();
    let (code, _, err) = run(Command::new("cp").arg("-a").arg(&w.skill).arg(&old));
    assert_eq!(code, 0, "{err}");
    w.env("AGENT_FLOW_SOURCE_ROOT", &old);
    w.env(
        "AGENT_CONTROL_PLANE_DEPRECATED_SKILL_ALIASES",
        "old-name,../..",
    );
    let rt = w.path("rt");
    let (code, _, err) = run(w.shim(TOOL).arg(w.path("home-src")).arg(&rt));
    assert_eq!(code, 0, "{err}");
    assert!(old.join("SKILL.md").is_file(), "the source was deleted");
    assert!(
        rt.join("skills/openclaw/agent-control-plane/SKILL.md")
            .is_file()
    );
    assert!(w.path("home-src").is_dir());
}

#[test]
fn hostile_targets_and_sources_fail_with_one_line_naming_the_path() {
    let w = World::new();
    let file = w.write("not-a-dir", "x");
    let (code, out, err) = run(w.shim(TOOL).arg(&w.skill).arg(&file));
    assert_ne!(code, 0);
    assert_eq!(out, "");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(file.to_str().unwrap()), "{err}");
    assert_eq!(read(&file), "x");

    let fifo = w.path("fifo");
    let (code, _, err) = run(w.cmd("mkfifo").arg(&fifo));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(w.shim(TOOL).arg(&w.skill).arg(&fifo));
    assert_ne!(code, 0);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(fifo.to_str().unwrap()), "{err}");

    let missing = w.path("no-such-home");
    let (code, _, err) = run(w.shim(TOOL).arg(&missing));
    assert_ne!(code, 0);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(missing.to_str().unwrap()), "{err}");

    // The runtime skill copy is a file: refused, left alone.
    let rt = w.path("rt");
    let blocker = w.write("rt/skills/openclaw/agent-control-plane", "file");
    let (code, _, err) = run(w.shim(TOOL).arg(&w.skill).arg(&rt));
    assert_ne!(code, 0);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(blocker.to_str().unwrap()), "{err}");
    assert_eq!(read(&blocker), "file");

    let (code, _, err) = run(w.shim(TOOL).args(["a", "b", "c"]));
    assert_eq!(code, 64, "{err}");
    assert!(
        err.starts_with("Unknown argument: c") || err.contains("unexpected argument"),
        "{err}"
    );
}

#[test]
fn the_readme_install_leaves_a_runtime_home_the_tools_find() {
    let w = World::new();
    let prefix = w.path("prefix");
    std::fs::create_dir_all(prefix.join("bin")).unwrap();
    let bin = prefix.join("bin/agent-control-plane");
    if std::fs::hard_link(crate::harness::bin(), &bin).is_err() {
        std::fs::copy(crate::harness::bin(), &bin).unwrap();
    }
    let share = prefix.join("share/agent-control-plane");
    // The README's install, after `cargo install`: the tree, then the publish.
    let (code, _, err) = run(w
        .cmd(&bin)
        .args(["shims", "--into"])
        .arg(&share)
        .arg("--bin")
        .arg(&bin)
        .env_remove("ACP_BIN_DIR"));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(w
        .cmd(&bin)
        .arg("sync-shared-agent-home.sh")
        .env_remove("ACP_BIN_DIR"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        kv(&out, "SHARED_AGENT_HOME"),
        Some(runtime_home(&w).to_str().unwrap())
    );
    let skill = runtime_skill(&w);
    // The runtime copy's shims run the installed binary with nothing on PATH.
    let (code, out, err) = run(w
        .cmd("bash")
        .arg(skill.join("tools/bin/flow-runtime-doctor.sh"))
        .env_remove("ACP_BIN_DIR")
        .env("PATH", "/usr/bin:/bin"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "FLOW_SKILL_DIR"), Some(skill.to_str().unwrap()));
    assert_eq!(kv(&out, "RUNTIME_CANONICAL_EXISTS"), Some("yes"));
    assert_eq!(kv(&out, "WORKFLOW_CATALOG_EXISTS"), Some("yes"));
    let (code, out, err) = run(w
        .cmd("bash")
        .arg(skill.join("tools/bin/check-skill-contracts.sh"))
        .env_remove("ACP_BIN_DIR"));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(kv(&out, "CHECK_STATUS"), Some("ok"));
}

#[test]
fn two_publishes_at_once_leave_one_whole_copy() {
    let w = World::new();
    let mut children: Vec<std::process::Child> = (0..3)
        .map(|_| w.shim(TOOL).spawn().expect("spawn sync"))
        .collect();
    for child in &mut children {
        assert!(child.wait().unwrap().success());
    }
    let skill = runtime_skill(&w);
    assert!(skill.join("SKILL.md").is_file());
    assert!(skill.join("tools/bin/worker-status.sh").is_file());
    assert!(stages_in(&runtime_home(&w).join("skills/openclaw")).is_empty());
    assert!(stages_in(&runtime_home(&w)).is_empty());
    assert!(
        !runtime_home(&w)
            .join(".agent-control-plane-publish.lock")
            .exists()
    );
}
