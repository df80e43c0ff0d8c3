//! `agent-init-worktree` through its shim, with real git.

use crate::harness::{World, run};
use crate::worktree_fixture::{ODD, git, repos};

fn init(w: &World, cwd: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let mut cmd = w.shim("tools/bin/agent-init-worktree");
    cmd.current_dir(cwd).args(args);
    run(&mut cmd)
}

#[test]
fn default_base_is_the_remotes_head_and_the_env_file_is_quoted() {
    let w = World::new();
    let r = repos(&w, ODD, &[]);
    let branch = "agent/it's-a-test";
    let (code, out, err) = init(
        &w,
        &r.anchor,
        &[
            "--branch",
            branch,
            "--allow-unclaimed",
            "--no-bootstrap-deps",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("[agent-init] base_ref=origin/trunk\n"),
        "{out}"
    );
    let wt = r.anchor.parent().unwrap().join("anchor-agent-it-s-a-test");
    assert!(
        out.contains(&format!("[agent-init] worktree_path={}\n", wt.display())),
        "{out}"
    );
    assert_eq!(git(&w, &wt, &["branch", "--show-current"]), branch);
    // Sourcing the env file gives back the exact values (0.2.0 broke on the quote).
    let (code, sourced, err) = run(w
        .cmd("bash")
        .arg("-c")
        .arg("source \"$1\" && printf '%s\\n%s\\n%s\\n' \"$AGENT_TASK_BRANCH\" \"$AGENT_WORKTREE_PATH\" \"$TEST_SEED_NAMESPACE\"")
        .arg("x")
        .arg(wt.join(".agent-session.env")));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        sourced,
        format!("{branch}\n{}\nagent-it-s-a-test\n", wt.display())
    );
}

#[test]
fn protected_unclaimed_and_invalid_branches_are_refused() {
    let w = World::new();
    let r = repos(&w, "r", &[]);
    for (args, needle) in [
        (
            vec!["--branch", "main", "--allow-unclaimed"],
            "protected branch: main",
        ),
        (
            vec!["--branch", "master", "--allow-unclaimed"],
            "protected branch: master",
        ),
        (vec!["--branch", "agent/x"], "--claim is required"),
        (vec!["--allow-unclaimed"], "--branch is required"),
        (
            vec!["--branch", "bad..name", "--allow-unclaimed"],
            "invalid branch name",
        ),
    ] {
        let (code, _, err) = init(&w, &r.anchor, &args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn dry_run_creates_nothing() {
    let w = World::new();
    let r = repos(&w, "r", &[]);
    let target = w.path("planned wt");
    let (code, out, err) = init(
        &w,
        &r.anchor,
        &[
            "--branch",
            "agent/dry",
            "--claim",
            "change:1",
            "--path",
            target.to_str().unwrap(),
            "--dry-run",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Planned commands:"), "{out}");
    assert!(out.contains("agent-claim-task --task change:1"), "{out}");
    assert!(out.contains("export AGENT_TASK_CLAIM=change:1"), "{out}");
    assert!(!target.exists());
    assert!(git(&w, &r.anchor, &["branch", "--list", "agent/dry"]).is_empty());
}

#[test]
fn an_existing_path_and_a_branch_checked_out_elsewhere_fail_cleanly() {
    let w = World::new();
    let r = repos(&w, "r", &[]);
    let taken = w.path("taken");
    std::fs::create_dir_all(&taken).unwrap();
    let (code, _, err) = init(
        &w,
        &r.anchor,
        &[
            "--branch",
            "agent/a",
            "--allow-unclaimed",
            "--no-bootstrap-deps",
            "--path",
            taken.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("Worktree path already exists"), "{err}");

    let first = w.path("first");
    let (code, _, err) = init(
        &w,
        &r.anchor,
        &[
            "--branch",
            "agent/b",
            "--allow-unclaimed",
            "--no-bootstrap-deps",
            "--path",
            first.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let second = w.path("second");
    let (code, _, err) = init(
        &w,
        &r.anchor,
        &[
            "--branch",
            "agent/b",
            "--allow-unclaimed",
            "--no-bootstrap-deps",
            "--path",
            second.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("already checked out at"), "{err}");
    assert!(!second.exists());
}

#[test]
fn bootstrap_and_claim_helpers_run_from_path() {
    let w = World::new();
    let r = repos(&w, "r", &[]);
    let log = w.path("helpers.log");
    for name in ["agent-bootstrap-worktree", "agent-claim-task"] {
        w.fake(
            name,
            &format!("#!/bin/sh\necho \"{name} $*\" >> {}\n", log.display()),
        );
    }
    let target = w.path("wt");
    let (code, out, err) = init(
        &w,
        &r.anchor,
        &[
            "--branch",
            "agent/c",
            "--claim",
            "task-9",
            "--path",
            target.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("[agent-init] claimed task: task-9"), "{out}");
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(
        calls.contains(&format!(
            "agent-bootstrap-worktree --source-root {} --path {}",
            r.anchor.display(),
            target.display()
        )),
        "{calls}"
    );
    assert!(
        calls.contains("agent-claim-task --task task-9 --branch agent/c"),
        "{calls}"
    );
}

#[test]
fn a_path_with_non_utf8_bytes_is_kept_byte_for_byte() {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let w = World::new();
    let r = repos(&w, "r", &[]);
    let mut raw = w.path("wt-").into_os_string().into_vec();
    raw.extend_from_slice(b"\xff\xfe name");
    let target = std::path::PathBuf::from(std::ffi::OsString::from_vec(raw));
    let out = w
        .shim("tools/bin/agent-init-worktree")
        .current_dir(&r.anchor)
        .args([
            "--branch",
            "agent/bytes",
            "--allow-unclaimed",
            "--no-bootstrap-deps",
            "--path",
        ])
        .arg(&target)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut want = b"[agent-init] created worktree: ".to_vec();
    want.extend_from_slice(target.as_os_str().as_bytes());
    assert!(
        out.stdout
            .windows(want.len())
            .any(|win| win == want.as_slice())
    );
    let sourced = w
        .cmd("bash")
        .arg("-c")
        .arg("source \"$1\" && printf '%s' \"$AGENT_WORKTREE_PATH\"")
        .arg("x")
        .arg(target.join(".agent-session.env"))
        .output()
        .unwrap();
    assert_eq!(sourced.stdout, target.as_os_str().as_bytes());
}
