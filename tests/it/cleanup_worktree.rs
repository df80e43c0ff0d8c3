//! Integration tests for `cleanup-worktree.sh` (through its shim) with a
//! stub `agent-project-cleanup-session` next to it.

use crate::harness::{World, run, write_script};

const TOOL: &str = "tools/bin/cleanup-worktree.sh";

fn profile(w: &mut World) {
    w.write(
        "profiles/demo/control-plane.yaml",
        format!(
            "id: demo\nruntime:\n  agent_repo_root: {r}/anchor\n  worktree_root: {r}/wt root\n  runs_root: {r}/runs\n  history_root: {r}/history\nsession_naming:\n  issue_prefix: d-i-\n  pr_prefix: d-p-\n",
            r = w.root().display()
        ),
    );
    w.env("ACP_PROFILE_REGISTRY_ROOT", w.path("profiles"));
    w.env("ACP_PROJECT_ID", "demo");
}

fn stub(w: &World, status: i32) {
    let log = w.path("calls.log");
    write_script(
        &w.skill.join("tools/bin/agent-project-cleanup-session"),
        &format!(
            "#!/usr/bin/env bash\n{{ printf 'ROOT=%s\\n' \"$AGENT_PROJECT_WORKTREE_ROOT\"; printf '[%s]' \"$@\"; echo; }} >> '{}'\necho noise\necho oops >&2\nexit {status}\n",
            log.display()
        ),
    );
}

#[test]
fn passes_the_profile_and_the_mode_on() {
    let mut w = World::new();
    profile(&mut w);
    stub(&w, 0);
    let (code, out, err) = run(w.shim(TOOL).args(["/x/my wt", "d-p-42"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "", "stdout of the cleanup is discarded");
    assert!(err.contains("oops"), "{err}");
    let r = w.root().display().to_string();
    let log = std::fs::read_to_string(w.path("calls.log")).unwrap();
    assert_eq!(
        log,
        format!(
            "ROOT={r}/wt root\n[--repo-root][{r}/anchor][--runs-root][{r}/runs][--history-root][{r}/history][--worktree][/x/my wt][--mode][pr][--session][d-p-42]\n"
        )
    );
    let (code, _, _) = run(w.shim(TOOL).args(["/x/w", "d-i-7"]));
    assert_eq!(code, 0);
    let (code, _, _) = run(w.shim(TOOL).arg("/x/w"));
    assert_eq!(code, 0);
    let log = std::fs::read_to_string(w.path("calls.log")).unwrap();
    assert!(log.contains("[--mode][issue][--session][d-i-7]"), "{log}");
    assert!(log.trim_end().ends_with("[--mode][generic]"), "{log}");
}

#[test]
fn a_failing_cleanup_fails_the_tool() {
    let mut w = World::new();
    profile(&mut w);
    stub(&w, 3);
    let (code, _, _) = run(w.shim(TOOL).args(["/x/w", "d-i-1"]));
    assert_eq!(code, 3);
}
