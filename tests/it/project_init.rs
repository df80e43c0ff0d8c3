//! Integration tests for `project-init.sh` (through its shim).

use crate::harness::{World, kv, read, run, write_script};
use crate::profiles_fixture::{INIT, git, one_line, root_flags};

/// A stub step that logs `<name> <args>` to `calls.log` and exits `code`.
fn stub(w: &World, name: &str, code: i32) -> std::path::PathBuf {
    let log = w.path("calls.log");
    write_script(
        &w.path(&format!("stubs/{name}.sh")),
        &format!(
            "#!/usr/bin/env bash\nprintf '%s %s\\n' {name} \"$*\" >> '{}'\necho {name}-stdout\necho {name}-stderr >&2\nexit {code}\n",
            log.display()
        ),
    )
}

#[test]
fn init_runs_the_steps_in_order_with_their_flags() {
    let w = World::new();
    let (code, out, err) = run(w
        .shim(INIT)
        .args([
            "--profile-id",
            "demo",
            "--repo-slug",
            "owner/demo",
            "--coding-worker",
            "claude",
            "--claude-model",
            "sonnet",
            "--allow-missing-repo",
            "--skip-anchor-sync",
            "--force",
            "--source-home",
            "/src",
            "--runtime-home",
            "/rt",
        ])
        .env("ACP_PROJECT_INIT_SCAFFOLD_SCRIPT", stub(&w, "scaffold", 0))
        .env("ACP_PROJECT_INIT_SMOKE_SCRIPT", stub(&w, "smoke", 0))
        .env("ACP_PROJECT_INIT_ADOPT_SCRIPT", stub(&w, "adopt", 0))
        .env("ACP_PROJECT_INIT_SYNC_SCRIPT", stub(&w, "sync", 0)));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        read(w.path("calls.log")),
        "scaffold --profile-id demo --repo-slug owner/demo --coding-worker claude --claude-model sonnet --force\n\
         smoke --profile-id demo\n\
         adopt --profile-id demo --skip-anchor-sync --allow-missing-repo\n\
         sync /src /rt\n"
    );
    assert!(!out.contains("-stdout"), "{out}");
    assert_eq!(
        err,
        "scaffold-stderr\nsmoke-stderr\nadopt-stderr\nsync-stderr\n"
    );
    assert_eq!(kv(&out, "PROJECT_INIT_STATUS"), Some("ok"));
    assert_eq!(kv(&out, "RUNTIME_SYNC_STATUS"), Some("ok"));
    assert_eq!(kv(&out, "RUNTIME_HOME"), Some("/rt"));
}

#[test]
fn init_stops_at_the_first_failing_step_with_its_code() {
    let w = World::new();
    let (code, out, err) = run(w
        .shim(INIT)
        .args(["--profile-id", "demo", "--repo-slug", "owner/demo"])
        .env("ACP_PROJECT_INIT_SCAFFOLD_SCRIPT", stub(&w, "scaffold", 0))
        .env("ACP_PROJECT_INIT_SMOKE_SCRIPT", stub(&w, "smoke", 7))
        .env("ACP_PROJECT_INIT_ADOPT_SCRIPT", stub(&w, "adopt", 0)));
    assert_eq!((code, out.as_str()), (7, ""));
    assert_eq!(err, "scaffold-stderr\nsmoke-stderr\n");
    assert!(!read(w.path("calls.log")).contains("adopt"));
}

#[test]
fn init_for_real_with_a_custom_profile_home() {
    let w = World::new();
    let repo = w.git_repo("demo/repo");
    git(
        &w,
        &repo,
        &[
            "remote",
            "add",
            "origin",
            "https://github.com/owner/demo.git",
        ],
    );
    let home = w.path("my-profiles");
    let (code, out, err) = run(w
        .shim(INIT)
        .args([
            "--profile-id",
            "demo",
            "--repo-slug",
            "owner/demo",
            "--skip-sync",
        ])
        .args([
            "--profile-home",
            home.to_str().unwrap(),
            "--skip-anchor-sync",
        ])
        .args(root_flags(&w, "demo")));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(kv(&out, "RUNTIME_SYNC_STATUS"), Some("skipped"));
    assert_eq!(
        kv(&out, "PROFILE_REGISTRY_ROOT"),
        Some(home.to_str().unwrap())
    );
    assert!(home.join("demo/control-plane.yaml").is_file());
    assert!(w.path("demo/agent/control-plane.yaml").is_file());
    assert_eq!(
        kv(&out, "RUNTIME_HOME"),
        Some(w.home.join(".agent-runtime/runtime-home").to_str().unwrap())
    );
}

#[test]
fn init_rejects_missing_flags_and_a_wrong_slug() {
    let w = World::new();
    for args in [
        vec!["--repo-slug", "o/r"],
        vec!["--profile-id", "x"],
        vec![],
    ] {
        let (code, out, err) = run(w.shim(INIT).args(&args));
        assert_eq!((code, out.as_str()), (64, ""), "{args:?}");
        one_line(&err);
    }
    let (code, _, err) = run(w.shim(INIT).args(["--nope"]));
    assert_eq!(code, 64);
    assert!(err.starts_with("Unknown argument: --nope"));

    let repo = w.git_repo("repo");
    git(
        &w,
        &repo,
        &[
            "remote",
            "add",
            "origin",
            "https://github.com/right/repo.git",
        ],
    );
    let (code, _, err) = run(w.shim(INIT).args([
        "--profile-id",
        "m",
        "--repo-slug",
        "wrong/repo",
        "--repo-root",
        repo.to_str().unwrap(),
    ]));
    assert_eq!(code, 1);
    assert_eq!(
        err.trim_end(),
        format!(
            "project-init repo slug mismatch: config=wrong/repo origin=right/repo repo_root={}",
            repo.display()
        )
    );

    let (code, out, err) = run(w
        .shim(INIT)
        .args(["--profile-id", "../x", "--repo-slug", "o/r"]));
    assert_eq!((code, out.as_str()), (1, ""));
    one_line(&err);
}
