//! Integration tests for `profile-adopt.sh` (through its shim), with real
//! git repos: a bare remote and a checkout of it.

use crate::harness::{World, kv, read_existing, run};
use crate::profiles_fixture::{ADOPT, git, one_line, registry, repo_with_remote, scaffold};

#[test]
fn adopt_seeds_the_anchor_and_writes_the_workspace() {
    let w = World::new();
    let (remote, _) = repo_with_remote(&w, "alpha/repo");
    let anchor = w.path("alpha/anchor");
    scaffold(
        &w,
        "alpha",
        &["--agent-repo-root", anchor.to_str().unwrap()],
    );
    let (code, out, err) = run(w.shim(ADOPT).args(["--profile-id", "alpha"]));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(kv(&out, "ANCHOR_SYNC_STATUS"), Some("ok"));
    assert_eq!(kv(&out, "WORKSPACE_SYNC_STATUS"), Some("ok"));
    assert_eq!(kv(&out, "ADOPT_STATUS"), Some("ok"));
    assert_eq!(kv(&out, "CANONICAL_REPO_STATUS"), Some("git"));
    assert_eq!(kv(&out, "AGENT_REPO_STATUS_AFTER"), Some("git"));
    assert_eq!(kv(&out, "PROJECT_LABEL"), Some("alpha"));
    assert_eq!(
        git(&w, &anchor, &["remote", "get-url", "origin"]).trim(),
        remote.to_str().unwrap()
    );
    let agent = w.path("alpha/agent");
    for d in ["runs", "state", "history"] {
        assert!(agent.join(d).is_dir(), "{d}");
    }
    let copy = agent.join("control-plane.yaml");
    assert!(!copy.is_symlink());
    assert_eq!(
        read_existing(&copy),
        read_existing(registry(&w).join("alpha/control-plane.yaml"))
    );
    let ws = read_existing(w.path("alpha/ws.code-workspace"));
    assert!(ws.contains(anchor.to_str().unwrap()), "{ws}");
    assert_eq!(read_existing(agent.join("workspace.code-workspace")), ws);
}

#[test]
fn adopt_without_a_repo_fails_or_warns() {
    let w = World::new();
    scaffold(&w, "alpha", &[]);
    let (code, out, err) = run(w.shim(ADOPT).args(["--profile-id", "alpha"]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err.trim_end(),
        "[profile-adopt] no Git source with remote 'origin' for profile alpha"
    );

    let (code, out, err) = run(w
        .shim(ADOPT)
        .args(["--allow-missing-repo", "--skip-workspace-sync"])
        .env("ACP_PROJECT_ID", "alpha"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "ANCHOR_SYNC_STATUS"), Some("skipped-missing-repo"));
    assert_eq!(kv(&out, "WARNING_COUNT"), Some("1"));
    assert_eq!(kv(&out, "ADOPT_STATUS"), Some("ok-with-warnings"));
    assert_eq!(kv(&out, "WORKSPACE_FILE_STATUS"), Some("missing"));
    assert_eq!(kv(&out, "AGENT_REPO_STATUS_AFTER"), Some("exists"));
}

#[test]
fn adopt_keeps_a_workspace_file_that_is_its_own_copy() {
    // 0.2.0 deleted the workspace file when it lived at
    // <agent root>/workspace.code-workspace, then failed copying it.
    let w = World::new();
    let agent = w.path("alpha/agent");
    let ws = agent.join("workspace.code-workspace");
    scaffold(
        &w,
        "alpha",
        &["--vscode-workspace-file", ws.to_str().unwrap()],
    );
    let (code, out, err) =
        run(w
            .shim(ADOPT)
            .args(["--profile-id", "alpha", "--allow-missing-repo"]));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(kv(&out, "WORKSPACE_FILE_STATUS"), Some("exists"));
    assert!(ws.is_file());
}

#[test]
fn adopt_rejects_bad_ids_missing_profiles_and_failing_smoke() {
    let w = World::new();
    let (code, out, err) = run(w.shim(ADOPT).args(["--profile-id", "../x"]));
    assert_eq!((code, out.as_str()), (1, ""));
    one_line(&err);

    let (code, _, err) = run(w.shim(ADOPT).args(["--profile-id", "nope"]));
    assert_eq!(code, 1);
    assert!(
        err.starts_with("[profile-adopt] missing installed profile config: "),
        "{err}"
    );
    one_line(&err);

    scaffold(&w, "alpha", &[]);
    let yaml = registry(&w).join("alpha/control-plane.yaml");
    let text = read_existing(&yaml).replace("coding_worker: \"openclaw\"", "coding_worker: \"x\"");
    std::fs::write(&yaml, text).unwrap();
    let (code, out, err) =
        run(w
            .shim(ADOPT)
            .args(["--profile-id", "alpha", "--allow-missing-repo"]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(
        err.contains("FAILURE=unsupported coding worker: x"),
        "{err}"
    );
    assert!(!w.path("alpha/agent").exists());
}
