//! Integration tests for `audit-retained-layout.sh` (through its shim).

use crate::agent_cleanup_worktree::{add_worktree, odd_name};
use crate::harness::{World, run};

const TOOL: &str = "tools/bin/audit-retained-layout.sh";

#[test]
fn lists_every_worktree_with_class_branch_head_and_dirt() {
    let mut w = World::new();
    let retained = w.git_repo("retained");
    w.env("ACP_PROJECT_ID", "alpha");
    w.env("F_LOSNING_RETAINED_REPO_ROOT", &retained);
    let legacy = w.path("alpha-main-clean");
    add_worktree(&w, &retained, &legacy, "clean", false);
    let manual = w.root().join(odd_name("manual"));
    add_worktree(&w, &retained, &manual, "feature/odd", false);
    std::fs::write(manual.join("a.txt"), "x").unwrap();
    std::fs::write(manual.join("b c.txt"), "x").unwrap();

    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{err}");
    let head = w
        .cmd("git")
        .arg("-C")
        .arg(&retained)
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
    let expected_start = format!(
        "RETAINED_ROOT={r}\nRETAINED_WORKTREE_COUNT=3\n\n[worktree]\npath={r}\nclass=retained-main\nbranch=main\nhead={head}\ndirty_paths=0\n\n[worktree]\npath={l}\nclass=legacy-automation\nbranch=clean\nhead={head}\ndirty_paths=0\n\n[worktree]\npath=",
        r = retained.display(),
        l = legacy.display()
    );
    assert!(out.starts_with(&expected_start), "{out}");
    assert!(
        out.contains("class=retained-manual\nbranch=feature/odd\n"),
        "{out}"
    );
    assert!(out.ends_with("dirty_paths=2\n"), "{out}");
}
