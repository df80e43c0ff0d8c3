//! Integration tests for `kick-scheduler.sh` (through its shim): a running
//! heartbeat is known from the pass lock's record or the recorded loop
//! (never from `ps`), a waiting kick from its recorded identity, and the
//! delayed kicker runs the bootstrap script.

use acp_core::procid::ProcId;

use crate::harness::{World, kv, pid_alive, read, run, wait_for, write_script};

const TOOL: &str = "tools/bin/kick-scheduler.sh";

fn world() -> World {
    let mut w = World::new();
    std::fs::create_dir_all(w.path("profiles")).unwrap();
    let bootstrap = write_script(
        &w.path("bootstrap.sh"),
        "#!/usr/bin/env bash\necho \"$ACP_STATE_ROOT\" >\"$(dirname \"$0\")/bootstrap-ran\"\n",
    );
    let (profiles, state) = (w.path("profiles"), w.path("state"));
    w.env("ACP_PROFILE_REGISTRY_ROOT", profiles)
        .env("ACP_STATE_ROOT", state)
        .env("ACP_BOOTSTRAP_SCRIPT", bootstrap);
    w
}

#[test]
fn a_live_pass_lock_holder_or_loop_is_an_active_heartbeat() {
    let w = world();
    let me = ProcId::current();
    w.write(
        "state/heartbeat-loop.lock/pid",
        format!("{}\n", me.to_line()),
    );
    let (code, out, _) = run(w.shim(TOOL).arg("0"));
    assert_eq!(code, 0);
    assert_eq!(kv(&out, "KICK_STATUS"), Some("active-heartbeat"));
    assert_eq!(kv(&out, "PID"), Some(me.pid.to_string().as_str()));
    std::fs::remove_file(w.path("state/heartbeat-loop.lock/pid")).unwrap();
    w.write("state/shared-heartbeat-loop.pid", me.to_line());
    let (_, out, _) = run(w.shim(TOOL).arg("0"));
    assert_eq!(kv(&out, "KICK_STATUS"), Some("active-heartbeat"));
    // A recycled pid (same pid, other start time) is nobody.
    w.write(
        "state/shared-heartbeat-loop.pid",
        format!("{} x{}", me.pid, me.start),
    );
    w.write("bootstrap.sh", "#!/usr/bin/env bash\nexit 0\n");
    let (_, out, _) = run(w.shim(TOOL).arg("0"));
    assert_eq!(kv(&out, "KICK_STATUS"), Some("scheduled"), "{out}");
}

#[test]
fn one_kick_waits_at_a_time() {
    let w = world();
    let (code, out, _) = run(w.shim(TOOL).arg("60"));
    assert_eq!(code, 0);
    assert_eq!(kv(&out, "KICK_STATUS"), Some("scheduled"));
    let pid = kv(&out, "PID").unwrap().to_string();
    let record = read(w.path("state/kick-scheduler/pid"));
    assert!(record.starts_with(&format!("{pid} ")), "{record:?}");
    let (_, again, _) = run(w.shim(TOOL).arg("60"));
    assert_eq!(kv(&again, "KICK_STATUS"), Some("already-pending"));
    assert_eq!(kv(&again, "PID"), Some(pid.as_str()));
    assert!(pid_alive(&pid));
    let _ = std::process::Command::new("kill").arg(&pid).status();
    wait_for("the kicker to end", 30, || !pid_alive(&pid));
}

#[test]
fn the_delayed_kicker_runs_the_bootstrap_and_clears_its_record() {
    let w = world();
    let (code, out, _) = run(w.shim(TOOL).arg("0"));
    assert_eq!(code, 0);
    assert_eq!(kv(&out, "KICK_STATUS"), Some("scheduled"));
    wait_for("the bootstrap", 60, || w.path("bootstrap-ran").exists());
    assert_eq!(
        read(w.path("bootstrap-ran")).trim(),
        w.path("state").to_str().unwrap()
    );
    wait_for("the kick record to go", 60, || {
        !w.path("state/kick-scheduler/pid").exists()
    });
}

#[test]
fn several_profiles_need_an_explicit_choice() {
    let w = world();
    for id in ["alpha", "beta"] {
        w.write(
            &format!("profiles/{id}/control-plane.yaml"),
            format!("id: {id}\n"),
        );
    }
    let (code, _, err) = run(w.shim(TOOL).arg("1"));
    assert_eq!(code, 64);
    assert!(err.contains(
        "explicit profile selection required for kick-scheduler.sh when multiple available profiles exist.\n"
    ));
}
