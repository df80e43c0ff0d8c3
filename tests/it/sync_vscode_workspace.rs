//! `sync-vscode-workspace.sh` through its shim: the folders of the anchor
//! and its worktrees, names from their branches, JSON written atomically at
//! paths with spaces, quotes and non-ASCII letters.

use crate::harness::{World, read, run};
use crate::sync_anchor_repo::{ODD, git, origin_and_canonical};

const TOOL: &str = "tools/bin/sync-vscode-workspace.sh";

/// The anchor (a clone on `trunk`) with worktrees on a PR branch, an issue
/// branch, another branch, a detached HEAD and one whose directory is gone;
/// the retained checkout; the environment pointing at them.
fn world(default_branch: Option<&str>) -> (World, std::path::PathBuf) {
    let mut w = World::new();
    let (_, canonical) = origin_and_canonical(&w, ODD);
    let base = w.path(ODD);
    let anchor = base.join("anchor é");
    git(
        &w,
        &w.root(),
        &[
            "clone",
            "-q",
            canonical.to_str().unwrap(),
            anchor.to_str().unwrap(),
        ],
    );
    let origin = git(&w, &canonical, &["remote", "get-url", "origin"]);
    git(&w, &anchor, &["remote", "set-url", "origin", &origin]);
    git(&w, &anchor, &["fetch", "-q", "origin"]);
    git(&w, &anchor, &["remote", "set-head", "origin", "trunk"]);
    let wt = |name: &str, args: &[&str]| {
        let p = base.join("worktrees").join(name);
        let mut all = vec!["worktree", "add", "-q"];
        all.extend_from_slice(args);
        all.push(p.to_str().unwrap());
        all.push("HEAD");
        git(&w, &anchor, &all);
        p
    };
    wt("pr-12-x", &["-b", "agent/pr-12-20260101"]);
    wt("issue \"7\"", &["-b", "agent/alpha-issue-7-fix-it"]);
    wt("misc", &["-b", "topic/misc"]);
    wt("detached", &["--detach"]);
    let gone = wt("gone", &["-b", "gone"]);
    std::fs::remove_dir_all(gone).unwrap();
    std::fs::create_dir_all(base.join("retained")).unwrap();
    let cfg = w.write(
        "profile/control-plane.yaml",
        "id: alpha\nrepo:\n  slug: acme/widget\n",
    );
    w.env("ACP_CONFIG", cfg)
        .env("ACP_AGENT_REPO_ROOT", &anchor)
        .env("ACP_RETAINED_REPO_ROOT", base.join("retained"))
        .env(
            "ACP_VSCODE_WORKSPACE_FILE",
            base.join("ws dir/alpha é.code-workspace"),
        );
    if let Some(b) = default_branch {
        w.env("ACP_DEFAULT_BRANCH", b);
    }
    (w, base)
}

#[test]
fn folders_follow_the_worktrees_and_the_file_is_json() {
    let (w, base) = world(Some("trunk"));
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    let file = base.join("ws dir/alpha é.code-workspace");
    let text = read(&file);
    assert!(
        text.ends_with("}\n") && text.contains("\n  \"folders\": [\n    {\n"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let p = |rel: &str| base.join(rel).to_str().unwrap().to_string();
    let expected = serde_json::json!({
        "folders": [
            {"name": "widget (Main)", "path": p("retained")},
            {"name": "widget (Automation Trunk)", "path": p("anchor é")},
            // In git's order (its administrative directory names).
            {"name": "detached", "path": p("worktrees/detached")},
            {"name": "Issue 7 (issue \"7\")", "path": p("worktrees/issue \"7\"")},
            {"name": "topic/misc (misc)", "path": p("worktrees/misc")},
            {"name": "PR 12 (pr-12-x)", "path": p("worktrees/pr-12-x")},
        ],
        "settings": {"git.autoRepositoryDetection": "subFolders"}
    });
    assert_eq!(json, expected);
    // Written atomically: nothing else in the directory.
    let names: Vec<_> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn without_a_profile_branch_the_remote_head_names_the_automation_folder() {
    let (w, base) = world(None);
    let (code, _, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{err}");
    let text = read(base.join("ws dir/alpha é.code-workspace"));
    assert!(text.contains("\"widget (Automation Trunk)\""), "{text}");
}

#[test]
fn missing_roots_give_an_empty_folder_list_and_a_directory_in_the_way_fails() {
    let mut w = World::new();
    let cfg = w.write("profile/control-plane.yaml", "id: alpha\n");
    let file = w.path("out/ws.code-workspace");
    let (anchor, retained) = (w.path("no-anchor"), w.path("no-retained"));
    w.env("ACP_CONFIG", cfg)
        .env("ACP_AGENT_REPO_ROOT", anchor)
        .env("ACP_RETAINED_REPO_ROOT", retained)
        .env("ACP_VSCODE_WORKSPACE_FILE", &file);
    let (code, _, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&read(&file)).unwrap();
    assert_eq!(json["folders"], serde_json::json!([]));

    std::fs::remove_file(&file).unwrap();
    std::fs::create_dir_all(&file).unwrap();
    let (code, _, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 1);
    assert!(err.contains(file.to_str().unwrap()), "{err}");
}

#[test]
fn a_worktree_path_json_cannot_carry_is_left_out_with_a_warning() {
    use std::os::unix::ffi::OsStringExt;
    let (w, base) = world(Some("trunk"));
    let anchor = base.join("anchor é");
    let odd = base.join(std::ffi::OsString::from_vec(b"wt-\xff".to_vec()));
    let out = w
        .cmd("git")
        .arg("-C")
        .arg(&anchor)
        .args(["worktree", "add", "-q", "-b", "odd-bytes"])
        .arg(&odd)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert!(
        err.contains("left out of the workspace (not UTF-8"),
        "{err}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&read(base.join("ws dir/alpha é.code-workspace"))).unwrap();
    assert_eq!(json["folders"].as_array().unwrap().len(), 6, "{json}");
}
