//! Integration tests for `agent-project-detached-launch` (run through its shim).

use std::path::{Path, PathBuf};

use crate::harness::{World, kv, run};

const TOOL: &str = "tools/bin/agent-project-detached-launch";

/// A world whose shim tree is a package root, with explicit state roots.
fn world() -> World {
    let mut w = World::new();
    std::fs::write(w.skill.join("SKILL.md"), "test package\n").unwrap();
    let state = w.path("state");
    w.env("ACP_STATE_ROOT", &state);
    w
}

/// Waits (bounded) for a file the child writes, returns its text.
fn wait_file(p: &Path) -> String {
    for _ in 0..100 {
        if let Ok(t) = std::fs::read_to_string(p)
            && t.ends_with('\n')
        {
            return t;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{} never written", p.display());
}

/// A child script that records its cwd, session id, pid and stdin.
fn probe(w: &World) -> PathBuf {
    w.write(
        "bin/probe.sh",
        "#!/usr/bin/env bash\n\
         read -r _ _ _ _ _ sid _ < /proc/$$/stat\n\
         echo probe-stdout\n\
         echo probe-stderr >&2\n\
         printf '%s\\n%s\\n%s\\n%s\\n' \"$(pwd -P)\" \"$sid\" \"$$\" \"$(readlink /proc/$$/fd/0)\" > \"$1.tmp\"\n\
         mv \"$1.tmp\" \"$1\"\n",
    );
    let p = w.path("bin/probe.sh");
    let st = w.cmd("chmod").arg("+x").arg(&p).status().unwrap();
    assert!(st.success());
    p
}

#[test]
fn detached_launch_runs_from_the_stable_cwd_in_a_new_session() {
    let mut w = world();
    let repo = w.path("agent-repo");
    std::fs::create_dir_all(&repo).unwrap();
    w.env("ACP_AGENT_REPO_ROOT", &repo);
    let probe = probe(&w);
    let report = w.path("report.txt");
    let (code, out, err) = run(w.shim(TOOL).arg("pr review/7 x").arg(&probe).arg(&report));
    assert_eq!(code, 0, "{err}");
    let keys: Vec<&str> = out.lines().map(|l| l.split('=').next().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "LAUNCH_MODE",
            "LAUNCH_NAME",
            "LAUNCH_PID",
            "LAUNCH_LOG",
            "LAUNCH_CWD"
        ]
    );
    assert_eq!(kv(&out, "LAUNCH_MODE"), Some("detached"));
    assert_eq!(kv(&out, "LAUNCH_NAME"), Some("pr review/7 x"));
    assert_eq!(kv(&out, "LAUNCH_CWD"), Some(repo.to_str().unwrap()));
    let pid = kv(&out, "LAUNCH_PID").unwrap();

    let lines: Vec<String> = wait_file(&report).lines().map(String::from).collect();
    assert_eq!(lines[0], repo.to_str().unwrap(), "child cwd");
    assert_ne!(lines[0], w.root().to_str().unwrap());
    assert_eq!(lines[1], lines[2], "the child leads its own session");
    assert_eq!(lines[2], pid);
    assert_eq!(lines[3], "/dev/null");

    let log = kv(&out, "LAUNCH_LOG").unwrap();
    let re = regex::Regex::new(&format!(
        "^{}/launcher-logs/\\d{{8}}T\\d{{6}}Z-pr_review_7_x\\.log$",
        regex::escape(w.path("state").to_str().unwrap())
    ))
    .unwrap();
    assert!(re.is_match(log), "{log}");
    // The probe wrote both lines before its report, so the log has them.
    let text = std::fs::read_to_string(log).unwrap();
    assert!(text.contains("probe-stdout"), "{text}");
    assert!(text.contains("probe-stderr"), "{text}");
}

#[test]
fn detached_launch_writes_the_pending_file_and_does_not_wait() {
    let mut w = world();
    let pending = w.path("pending dir");
    let root = w.root();
    w.env("ACP_PENDING_LAUNCH_DIR", &pending)
        .env("ACP_LAUNCH_CWD", &root);
    w.write("bin/slow.sh", "#!/usr/bin/env bash\nexec sleep 60\n");
    let st = w
        .cmd("chmod")
        .arg("+x")
        .arg(w.path("bin/slow.sh"))
        .status()
        .unwrap();
    assert!(st.success());
    // A relative program path is the caller's (the world root is the cwd).
    let (code, out, err) =
        run(w
            .shim(TOOL)
            .args(["--pending-key", "issue-42", "issue-42", "./bin/slow.sh"]));
    assert_eq!(code, 0, "{err}");
    let pid: i32 = kv(&out, "LAUNCH_PID").unwrap().parse().unwrap();
    let file = pending.join("issue-42.pid");
    assert_eq!(
        kv(&out, "LAUNCH_PENDING_FILE"),
        Some(file.to_str().unwrap())
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), format!("{pid}\n"));
    // The launcher returned while the child still runs.
    assert!(PathBuf::from(format!("/proc/{pid}")).exists());
    let killed = w.cmd("kill").arg(pid.to_string()).status().unwrap();
    assert!(killed.success());
}

#[test]
fn detached_launch_falls_back_through_the_cwd_chain() {
    let mut w = world();
    let missing = w.path("no-such-repo");
    w.env("ACP_REPO_ROOT", &missing);
    let probe = probe(&w);
    let report = w.path("r2.txt");
    let (code, out, err) = run(w.shim(TOOL).arg("$(touch pwned)").arg(&probe).arg(&report));
    assert_eq!(code, 0, "{err}");
    // agent repo root and repo root are missing: the state root is next.
    let state = w.path("state");
    assert_eq!(kv(&out, "LAUNCH_CWD"), Some(state.to_str().unwrap()));
    assert_eq!(wait_file(&report).lines().next(), state.to_str());
    assert!(
        kv(&out, "LAUNCH_LOG")
            .unwrap()
            .ends_with("-touch_pwned.log")
    );
    assert!(!w.path("pwned").exists());
    assert!(!w.path("state/pwned").exists());
}

#[test]
fn detached_launch_rejects_bad_input() {
    let mut w = world();
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.contains("Usage"), "{err}");
    let (code, _, _) = run(w.shim(TOOL).arg("only-name"));
    assert_eq!(code, 1);
    let (code, _, _) = run(w.shim(TOOL).args(["", "true"]));
    assert_eq!(code, 1);
    let (code, _, _) = run(w.shim(TOOL).args(["--pending-key"]));
    assert_eq!(code, 1);
    let (code, out, _) = run(w.shim(TOOL).arg("--help"));
    assert_eq!(code, 0);
    assert!(out.contains("--pending-key"));

    // A pending key that is a path is refused before anything starts.
    let (code, out, err) = run(w
        .shim(TOOL)
        .args(["--pending-key", "../escape", "n", "touch"])
        .arg(w.path("ran")));
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.contains("--pending-key"), "{err}");
    assert!(!w.path("ran").exists());

    // A command that cannot be started: exit 1, no stdout keys.
    let (code, out, err) = run(w.shim(TOOL).args(["n", "no-such-command-xyz"]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.contains("no-such-command-xyz"), "{err}");

    // An explicit launch cwd that is not a directory.
    let nowhere = w.path("nowhere");
    w.env("ACP_LAUNCH_CWD", &nowhere);
    let (code, out, err) = run(w.shim(TOOL).args(["n", "true"]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err,
        "could not determine a stable working directory for detached launch\n"
    );
}

#[test]
fn detached_launch_checks_the_pending_file_before_starting_the_child() {
    let mut w = world();
    let pending = w.path("pending");
    w.env("ACP_PENDING_LAUNCH_DIR", &pending);
    // A directory where the pid file goes: the pid could never be recorded.
    std::fs::create_dir_all(pending.join("issue-7.pid")).unwrap();
    let ran = w.path("ran");
    let (code, out, err) = run(w
        .shim(TOOL)
        .args(["--pending-key", "issue-7", "issue-7", "touch"])
        .arg(&ran));
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("issue-7.pid"), "{err}");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!ran.exists(), "the child was started");
}

#[test]
fn detached_launch_refuses_names_that_would_forge_output_lines() {
    let mut w = world();
    w.env("ACP_PENDING_LAUNCH_DIR", w.path("pending"));
    let ran = w.path("ran");
    for args in [
        vec!["n\nLAUNCH_PID=1", "touch"],
        vec!["n\rx", "touch"],
        vec!["--pending-key", "k\nLAUNCH_PENDING_FILE=x", "n", "touch"],
    ] {
        let (code, out, err) = run(w.shim(TOOL).args(&args).arg(&ran));
        assert_eq!((code, out.as_str()), (1, ""), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("control characters"), "{err}");
    }
    // A launch cwd from the environment is printed as well.
    let odd = w.path("odd\nLAUNCH_PID=1");
    std::fs::create_dir_all(&odd).unwrap();
    w.env("ACP_LAUNCH_CWD", &odd);
    let (code, out, err) = run(w.shim(TOOL).args(["n", "touch"]).arg(&ran));
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(err.contains("working directory"), "{err}");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!ran.exists(), "the child was started");
}
