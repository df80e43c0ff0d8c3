//! `new-worktree.sh` through its shim: the profile's default branch, the
//! anchor siblings, the whole open + prepare chain with real git.

use crate::harness::{World, kv, run};
use crate::worktree_fixture::{ODD, git, kv_path, profile, repos, stub_anchor_siblings};

#[test]
fn issue_branches_start_from_the_profiles_default_branch() {
    let mut w = World::new();
    let r = repos(&w, ODD, &[]);
    // A second branch on origin that origin/HEAD does not name: the profile picks it.
    git(&w, &r.anchor, &["checkout", "-q", "-b", "develop"]);
    std::fs::write(r.anchor.join("dev.txt"), "d\n").unwrap();
    git(&w, &r.anchor, &["add", "dev.txt"]);
    git(&w, &r.anchor, &["commit", "-q", "-m", "dev"]);
    git(&w, &r.anchor, &["push", "-q", "origin", "develop"]);
    let develop = git(&w, &r.anchor, &["rev-parse", "HEAD"]);
    git(&w, &r.anchor, &["checkout", "-q", "trunk"]);
    profile(&mut w, &r, "  default_branch: \"develop\"\n");
    let siblings = stub_anchor_siblings(&w);

    let (code, out, err) = run(w
        .shim("tools/bin/new-worktree.sh")
        .args(["12", "Add the thing"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "BASE_REF"), Some("origin/develop"));
    let branch = kv(&out, "BRANCH").unwrap();
    assert!(
        branch.starts_with("agent/demo/issue-12-add-the-thing-"),
        "{branch}"
    );
    let wt = kv_path(&out, "WORKTREE");
    assert!(wt.starts_with(&r.worktrees), "{}", wt.display());
    assert_eq!(git(&w, &wt, &["rev-parse", "HEAD"]), develop);
    assert!(wt.join(".openclaw-artifacts").is_dir(), "prepared");
    assert!(!out.contains("SHOULD_NOT_BE_PRINTED"), "{out}");
    let calls = std::fs::read_to_string(siblings).unwrap();
    assert_eq!(
        calls,
        format!(
            "sync-agent-repo.sh {a}\nsync-vscode-workspace.sh {a}\n",
            a = r.anchor.display()
        )
    );
}

#[test]
fn without_a_configured_branch_the_remotes_head_is_used() {
    let mut w = World::new();
    let r = repos(&w, "r", &[]);
    profile(&mut w, &r, "");
    stub_anchor_siblings(&w);
    let (code, out, err) = run(w.shim("tools/bin/new-worktree.sh").arg("3"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "BASE_REF"), Some("origin/trunk"));
    assert!(
        kv(&out, "BRANCH")
            .unwrap()
            .starts_with("agent/demo/issue-3-task-")
    );
}

#[test]
fn several_profiles_without_a_choice_exit_64_and_a_missing_id_exits_1() {
    let mut w = World::new();
    let r = repos(&w, "r", &[]);
    profile(&mut w, &r, "");
    w.write("profiles/other/control-plane.yaml", "id: other\n");
    w.env("ACP_PROJECT_ID", "");
    let (code, _, err) = run(w.shim("tools/bin/new-worktree.sh").arg("3"));
    assert_eq!(code, 64, "{err}");
    assert!(
        err.contains("explicit profile selection required for new-worktree.sh"),
        "{err}"
    );
    w.env("ACP_PROJECT_ID", "demo");
    let (code, _, err) = run(&mut w.shim("tools/bin/new-worktree.sh"));
    assert_eq!(code, 1, "{err}");
}
