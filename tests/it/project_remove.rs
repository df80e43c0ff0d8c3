//! Integration tests for `project-remove.sh` (through its shim): it deletes
//! what the profile owns and nothing else.

use std::path::Path;

use crate::harness::{World, kv, read, run, write_script};
use crate::profiles_fixture::{REMOVE, one_line, registry, scaffold};

/// A runtimectl stub logging its arguments; returns the command with the
/// stub and a stub launchd uninstaller set.
fn remove_cmd(w: &World) -> std::process::Command {
    let log = w.path("calls.log");
    let ctl = write_script(
        &w.path("stubs/runtimectl.sh"),
        &format!(
            "#!/usr/bin/env bash\nprintf 'ctl %s\\n' \"$*\" >> '{}'\n",
            log.display()
        ),
    );
    let un = write_script(
        &w.path("stubs/uninstall.sh"),
        &format!(
            "#!/usr/bin/env bash\nprintf 'uninstall %s\\n' \"$*\" >> '{}'\nexit 3\n",
            log.display()
        ),
    );
    let mut cmd = w.shim(REMOVE);
    cmd.env("ACP_PROJECT_REMOVE_RUNTIMECTL_SCRIPT", ctl)
        .env("ACP_PROJECT_REMOVE_LAUNCHD_UNINSTALL_SCRIPT", un);
    cmd
}

/// Creates the roots profile `id` names (as adopt would).
fn materialise(w: &World, id: &str) {
    for d in [
        "repo",
        "agent/runs",
        "agent/state",
        "agent/history",
        "worktrees",
        "retained",
    ] {
        std::fs::create_dir_all(w.path(&format!("{id}/{d}"))).unwrap();
    }
    std::fs::write(w.path(&format!("{id}/ws.code-workspace")), "{}\n").unwrap();
}

fn list(out: &str, key: &str) -> Vec<String> {
    kv(out, key)
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn remove_deletes_owned_roots_and_keeps_unmanaged_paths() {
    let w = World::new();
    scaffold(&w, "alpha", &[]);
    materialise(&w, "alpha");
    let (code, out, err) = run(remove_cmd(&w).args(["--profile-id", "alpha"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        read(w.path("calls.log")),
        "ctl stop --profile-id alpha\nuninstall --profile-id alpha\n"
    );
    assert_eq!(kv(&out, "PURGE_PATHS"), Some("0"));
    let p = |r: &str| s(&w.path(&format!("alpha/{r}")));
    assert_eq!(
        list(&out, "REMOVED_PATHS"),
        [
            p("agent/runs"),
            p("agent/state"),
            p("agent/history"),
            p("agent"),
            s(&registry(&w).join("alpha"))
        ]
    );
    assert_eq!(
        list(&out, "SKIPPED_PATHS"),
        [
            p("worktrees"),
            p("retained"),
            p("ws.code-workspace"),
            p("repo")
        ]
    );
    assert!(w.path("alpha/repo").is_dir() && !w.path("alpha/agent").exists());
    assert!(!registry(&w).join("alpha").exists());
}

#[test]
fn purge_never_touches_another_profiles_paths() {
    let w = World::new();
    scaffold(&w, "alpha", &[]);
    materialise(&w, "alpha");
    // beta shares alpha's checkout and keeps its worktrees inside alpha's.
    let shared = w.path("alpha/repo");
    let beta_wt = w.path("alpha/worktrees/beta");
    std::fs::create_dir_all(&beta_wt).unwrap();
    scaffold(
        &w,
        "beta",
        &["--repo-root", &s(&shared), "--worktree-root", &s(&beta_wt)],
    );
    let (code, out, err) =
        run(remove_cmd(&w).args(["--profile-id", "alpha", "--purge-paths", "--skip-stop"]));
    assert_eq!(code, 0, "{err}");
    assert!(!read(w.path("calls.log")).contains("ctl"));
    assert!(shared.is_dir() && beta_wt.is_dir());
    assert!(!w.path("alpha/retained").exists() && !w.path("alpha/ws.code-workspace").exists());
    let skipped = list(&out, "SKIPPED_PATHS");
    assert_eq!(skipped, [s(&w.path("alpha/worktrees")), s(&shared)]);
    assert!(registry(&w).join("beta/control-plane.yaml").is_file());
}

#[test]
fn remove_refuses_roots_that_are_the_platform_home_or_hold_it() {
    let w = World::new();
    let platform = w.home.join(".agent-runtime");
    scaffold(
        &w,
        "alpha",
        &[
            "--agent-root",
            &s(&platform),
            "--worktree-root",
            &s(&w.home),
        ],
    );
    std::fs::create_dir_all(platform.join("runs")).unwrap();
    let victim = w.path("victim");
    std::fs::create_dir_all(&victim).unwrap();
    let (code, out, err) = run(remove_cmd(&w)
        .args(["--profile-id", "alpha", "--purge-paths"])
        .env("ACP_RUNS_ROOT", s(&victim))
        .env("ACP_AGENT_ROOT", s(&victim)));
    assert_eq!(code, 0, "{err}");
    assert!(
        victim.is_dir(),
        "a path from the caller's environment was deleted"
    );
    assert!(platform.join("control-plane").is_dir() && w.root().join("skill").is_dir());
    let skipped = list(&out, "SKIPPED_PATHS");
    assert!(
        skipped.contains(&s(&platform)) && skipped.contains(&s(&w.home)),
        "{out}"
    );
    // The profile's own runs/state (under the refused agent root) went.
    assert!(!platform.join("runs").exists());
}

#[test]
fn remove_rejects_bad_input() {
    let w = World::new();
    let (code, _, err) = run(&mut remove_cmd(&w));
    assert_eq!(code, 64);
    one_line(&err);
    let (code, _, err) = run(remove_cmd(&w).args(["--profile-id", "../profiles"]));
    assert_eq!(code, 64);
    one_line(&err);
    let (code, out, err) = run(remove_cmd(&w).args(["--profile-id", "ghost"]));
    assert_eq!(
        (code, out.as_str(), err.trim_end()),
        (66, "", "profile not installed: ghost")
    );
    let (code, _, err) = run(remove_cmd(&w).args(["--what"]));
    assert_eq!(code, 64);
    assert!(err.starts_with("Unknown argument: --what"));

    let bad = registry(&w).join("bad/control-plane.yaml");
    std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
    std::fs::write(&bad, "runtime: [\n").unwrap();
    let (code, _, err) = run(remove_cmd(&w).args(["--profile-id", "bad"]));
    assert_eq!(code, 1);
    one_line(&err);
    assert!(bad.is_file());
    assert_eq!(read(w.path("calls.log")), "");
}
