use std::path::Path;
use std::process::{Child, Command};

use super::*;

fn write_controller(state: &Path, issue: &str, body: &str) -> PathBuf {
    let file = controller_file(state, issue);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, body).unwrap();
    file
}

fn write_pending(state: &Path, issue: &str, line: &str) -> PathBuf {
    let file = pending_file(state, issue);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, line).unwrap();
    file
}

/// A live process that is no controller.
fn sleeper() -> Child {
    Command::new("sleep").arg("30").spawn().unwrap()
}

#[test]
fn lane_fields_for_every_backend() {
    for backend in [
        "codex", "openclaw", "claude", "ollama", "pi", "opencode", "kilo",
    ] {
        let key = format!("issue-lane-scheduled-1800-{backend}-bypass");
        assert_eq!(
            lane_fields_from_key(&key),
            Some(("scheduled".into(), "1800".into())),
            "{backend}"
        );
    }
    assert_eq!(
        lane_fields_from_key("issue-lane-recurring-general-ollama-safe"),
        Some(("recurring".into(), "general".into()))
    );
    assert_eq!(lane_fields_from_key("issue-lane-x-codex-safe"), None);
    assert_eq!(lane_fields_from_key("issue-441"), None);
    assert_eq!(lane_fields_from_key("issue-lane-a-b-gpt-safe"), None);
}

#[test]
fn pending_states() {
    for s in [
        "starting",
        "launching",
        "waiting-worker",
        "reconciling",
        "adopting-issue",
    ] {
        assert!(counts_as_pending(s), "{s}");
    }
    for s in [
        "idle",
        "sleeping",
        "waiting-due",
        "waiting-open-pr",
        "waiting-provider",
    ] {
        assert!(!counts_as_pending(s), "{s}");
    }
}

#[test]
fn reaps_dead_stopped_and_foreign_controllers_only() {
    let t = tempfile::tempdir().unwrap();
    let s = t.path();
    let me = ProcId::current();
    let mut other = sleeper();
    // Ours and running: kept, with its pending file.
    let live = write_controller(
        s,
        "100",
        &format!(
            "ISSUE_ID=100\nCONTROLLER_PID={}\nCONTROLLER_PID_START={}\nCONTROLLER_STATE=waiting-worker\n",
            me.pid, me.start
        ),
    );
    let live_pending = write_pending(s, "100", &format!("{}\n", me.to_line()));
    // The original's file naming a live pid that is no controller: reaped
    // (its pending file names the same pid).
    let foreign = write_controller(
        s,
        "101",
        &format!(
            "ISSUE_ID=101\nCONTROLLER_PID={}\nCONTROLLER_STATE=waiting-due\n",
            me.pid
        ),
    );
    let foreign_pending = write_pending(s, "101", &format!("{}\n", me.pid));
    // Ours but stopped: reaped; a live launcher's pending file stays.
    let stopped = write_controller(
        s,
        "102",
        &format!(
            "ISSUE_ID='102'\nCONTROLLER_PID={}\nCONTROLLER_PID_START={}\nCONTROLLER_STATE=stopped\n",
            me.pid, me.start
        ),
    );
    let launcher_pending = write_pending(s, "102", &format!("{}\n", other.id()));
    // A recycled pid (start token differs): reaped.
    let recycled = write_controller(
        s,
        "103",
        &format!(
            "ISSUE_ID=103\nCONTROLLER_PID={}\nCONTROLLER_PID_START=1\nCONTROLLER_STATE=idle\n",
            me.pid
        ),
    );
    assert_eq!(reap_stale_state(s).unwrap(), 3);
    assert!(live.exists() && live_pending.exists());
    assert!(!foreign.exists() && !foreign_pending.exists());
    assert!(!stopped.exists() && launcher_pending.exists());
    assert!(!recycled.exists());
    assert_eq!(reap_stale_state(s).unwrap(), 0);
    other.kill().unwrap();
    other.wait().unwrap();
    assert_eq!(reap_stale_state(&s.join("missing")).unwrap(), 0);
}

#[test]
fn finds_the_live_controller_of_a_lane() {
    let t = tempfile::tempdir().unwrap();
    let s = t.path();
    let me = ProcId::current();
    let key = "issue-lane-recurring-general-pi-safe";
    let body = |issue: &str, state: &str, key: &str| {
        format!(
            "ISSUE_ID={issue}\nCONTROLLER_PID={}\nCONTROLLER_PID_START={}\nCONTROLLER_STATE={state}\nACTIVE_RESIDENT_WORKER_KEY={key}\n",
            me.pid, me.start
        )
    };
    write_controller(s, "1", &body("1", "stopped", key));
    write_controller(
        s,
        "2",
        &body("2", "idle", "issue-lane-recurring-general-codex-safe"),
    );
    write_controller(s, "3", &body("3", "starting", key));
    let found = live_controller_for_key(s, key, None).unwrap().unwrap();
    assert_eq!(found.issue_id, "3");
    assert_eq!(found.state, "starting");
    assert_eq!(found.pid_start, me.start);
    assert!(found.lines().starts_with(&format!(
        "ISSUE_ID=3\nCONTROLLER_PID={}\nCONTROLLER_STATE=starting\nCONTROLLER_FILE=",
        me.pid
    )));
    assert!(
        !controller_file(s, "1").exists(),
        "stopped one reaped on the way"
    );
    assert_eq!(live_controller_for_key(s, key, Some(me.pid)).unwrap(), None);
}

#[test]
fn zombies_are_not_alive() {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    // Not waited for yet: once it exits it is a zombie.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !is_zombie(pid) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    if Path::new("/proc/self").exists() {
        assert!(is_zombie(pid));
        let rec = Record {
            pid: Some(pid),
            ..Record::default()
        };
        assert!(!rec.is_alive());
    }
    child.wait().unwrap();
}
