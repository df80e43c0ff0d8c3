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

fn bare_setup(state: &Path) -> Setup {
    let cfg = acp_core::config::FlowConfig::empty(&state.join("none.yaml"));
    Setup {
        env: acp_core::Env::new(),
        settings: Settings::resolve(&acp_core::Env::new(), &cfg),
        cfg,
        exe: PathBuf::from("/nonexistent/agent-control-plane"),
        cwd: state.to_path_buf(),
        tools_dir: state.join("tools/bin"),
        hook_file: state.join("hooks/heartbeat-hooks.sh"),
        repo_slug: "example/demo".into(),
        issue_prefix: "demo-issue-".into(),
        state_root: state.to_path_buf(),
        pending_dir: state.join("pending-launches"),
        issue_id: "440".into(),
        mode: "safe".into(),
        reap_orphans: false,
    }
}

#[test]
fn state_writes_keep_the_pending_launch_file_in_step() {
    let t = tempfile::tempdir().unwrap();
    let s = t.path();
    let mut err = Vec::new();
    let mut c = machine::Controller::new(bare_setup(s), &mut err);
    let pending = pending_file(s, "440");
    for (state, held) in [
        ("starting", true),
        ("sleeping", false),
        ("launching", true),
        ("waiting-provider", false),
        ("reconciling", true),
        ("stopped", false),
    ] {
        c.write_state(state, Some("why")).unwrap();
        assert_eq!(pending.exists(), held, "{state}");
        if held {
            let line = std::fs::read_to_string(&pending).unwrap();
            assert_eq!(ProcId::parse(&line), Some(ProcId::current()));
        }
        let rec = Record::load(&controller_file(s, "440")).unwrap().unwrap();
        assert_eq!(rec.state, state);
        assert_eq!(rec.pid, Some(std::process::id()));
        assert!(state == "stopped" || rec.is_alive());
    }
    // An empty reason keeps the last one.
    c.write_state("idle", Some("")).unwrap();
    let text = std::fs::read_to_string(controller_file(s, "440")).unwrap();
    assert!(text.contains("\nCONTROLLER_REASON=why\n"), "{text}");
    // Adopting another issue removes the old issue's files.
    c.write_state("starting", None).unwrap();
    c.adopt("441").unwrap();
    assert!(!pending.exists() && !controller_file(s, "440").exists());
    c.write_state("adopting-issue", None).unwrap();
    assert!(pending_file(s, "441").exists());
    assert_eq!(c.session, "demo-issue-441");
}

#[test]
fn provider_switches_and_failovers_are_counted() {
    let t = tempfile::tempdir().unwrap();
    let mut err = Vec::new();
    let mut c = machine::Controller::new(bare_setup(t.path()), &mut err);
    let p = |backend: &str, model: &str| machine::Provider {
        pool: String::new(),
        backend: backend.into(),
        model: model.into(),
        key: format!("{backend}-{model}"),
    };
    c.active = p("openclaw", "m1");
    c.track_provider_selection("provider-selection");
    assert_eq!((c.switch_count, c.failover_count), (0, 0));
    c.mark_provider_launched();
    c.active = p("claude", "m2");
    c.track_provider_selection("provider-failover");
    assert_eq!((c.switch_count, c.failover_count), (1, 1));
    assert_eq!(c.from.backend, "openclaw");
    assert_eq!(c.to.backend, "claude");
    c.track_provider_selection("provider-selection");
    assert_eq!(c.switch_count, 1);
    c.active = p("codex", "m3");
    c.track_provider_selection("provider-selection");
    assert_eq!((c.switch_count, c.failover_count), (2, 1));
    assert_eq!(c.switch_reason, "provider-selection");
}
