//! `prepare-worktree.sh` through its shim on a Node, a Cargo, a Python and
//! an empty repository (fake package managers record their argv).

use std::path::{Path, PathBuf};

use crate::harness::{World, run};
use crate::worktree_fixture::{
    ODD, Repos, fake_package_managers, git, kv_path, pm_calls, profile, repos,
};

fn add_worktree(w: &World, r: &Repos, name: &str) -> PathBuf {
    let wt = r.worktrees.join(name);
    std::fs::create_dir_all(&r.worktrees).unwrap();
    git(
        w,
        &r.anchor,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            &format!("agent/{name}"),
            wt.to_str().unwrap(),
            "origin/trunk",
        ],
    );
    wt
}

fn prepare(w: &World, wt: &Path) -> (i32, String, String) {
    let mut cmd = w.shim("tools/bin/prepare-worktree.sh");
    cmd.arg(wt);
    run(&mut cmd)
}

fn world(files: &[(&str, &str)], extra_yaml: &str) -> (World, Repos, PathBuf) {
    let mut w = World::new();
    let r = repos(&w, ODD, files);
    profile(&mut w, &r, extra_yaml);
    let log = fake_package_managers(&mut w);
    w.env("ACP_SYNC_DEPENDENCY_BASELINE_SCRIPT", "/nonexistent");
    (w, r, log)
}

#[test]
fn node_links_node_modules_as_in_0_2_0() {
    let (w, r, log) = world(
        &[
            ("package.json", "{}\n"),
            ("pnpm-lock.yaml", "x\n"),
            ("packages/a/package.json", "{\"name\":\"@d/a\"}\n"),
        ],
        "",
    );
    std::fs::create_dir_all(r.anchor.join("node_modules")).unwrap();
    std::fs::create_dir_all(r.anchor.join("packages/a/node_modules")).unwrap();
    let wt = add_worktree(&w, &r, "n1");
    let (code, out, err) = prepare(&w, &wt);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv_path(&out, "WORKTREE"), wt);
    assert_eq!(
        kv_path(&out, "SANDBOX_ARTIFACT_DIR"),
        wt.join(".openclaw-artifacts")
    );
    assert_eq!(
        std::fs::read_link(wt.join("node_modules")).unwrap(),
        r.anchor.join("node_modules")
    );
    assert!(wt.join("packages/a/node_modules").is_symlink());
    assert!(pm_calls(&log).is_empty());
    assert_eq!(
        git(&w, &wt, &["status", "--porcelain"]),
        "",
        "links and artifacts are excluded"
    );
}

#[test]
fn node_local_install_and_missing_node_modules() {
    // A package that names dependencies (one that names none is complete
    // without node_modules).
    let manifest = "{\"dependencies\": {\"left-pad\": \"1.3.0\"}}\n";
    let (mut w, r, log) = world(&[("package.json", manifest)], "");
    let wt = add_worktree(&w, &r, "n2");
    let (code, _, err) = prepare(&w, &wt);
    assert_eq!(code, 1);
    assert!(
        err.contains("dependency source is missing required node_modules"),
        "{err}"
    );
    w.env("ACP_WORKTREE_LOCAL_INSTALL", "true");
    let (code, _, err) = prepare(&w, &wt);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        pm_calls(&log),
        [format!(
            "pnpm install --frozen-lockfile --prefer-offline|{}",
            wt.display()
        )]
    );
}

#[test]
fn cargo_repos_fetch_in_the_worktree_and_the_baseline_warms_the_canonical_checkout() {
    let (mut w, r, log) = world(
        &[("Cargo.toml", "[package]\n"), ("Cargo.lock", "# lock\n")],
        "",
    );
    w.env("ACP_SYNC_DEPENDENCY_BASELINE_SCRIPT", "");
    let wt = add_worktree(&w, &r, "c1");
    let (code, _, err) = prepare(&w, &wt);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        pm_calls(&log),
        [
            format!("cargo fetch --locked|{}", r.anchor.display()),
            format!("cargo fetch --locked|{}", wt.display())
        ]
    );
    assert!(!wt.join("node_modules").exists());
}

#[test]
fn python_repos_get_their_environment_in_the_worktree() {
    let (w, r, log) = world(&[("uv.lock", "x\n"), ("pyproject.toml", "[project]\n")], "");
    let wt = add_worktree(&w, &r, "p1");
    let (code, _, err) = prepare(&w, &wt);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        pm_calls(&log),
        [format!("uv sync --frozen|{}", wt.display())]
    );

    let (w, r, log) = world(&[("requirements.txt", "requests\n")], "");
    let wt = add_worktree(&w, &r, "p2");
    let (code, _, err) = prepare(&w, &wt);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        pm_calls(&log),
        [
            format!("python3 -m venv .venv|{}", wt.display()),
            format!("python -m pip install -r requirements.txt|{}", wt.display())
        ]
    );
    assert_eq!(
        git(&w, &wt, &["status", "--porcelain"]),
        "",
        ".venv is excluded"
    );
}

#[test]
fn nothing_to_install_and_the_profiles_own_command() {
    let (w, r, log) = world(&[], "");
    let wt = add_worktree(&w, &r, "e1");
    let (code, _, err) = prepare(&w, &wt);
    assert_eq!(code, 0, "{err}");
    assert!(pm_calls(&log).is_empty());

    let (w, r, log) = world(
        &[("package.json", "{}\n")],
        "dependencies:\n  install_command: \"pwd > installed-by-profile\"\n",
    );
    let wt = add_worktree(&w, &r, "e2");
    let (code, _, err) = prepare(&w, &wt);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(wt.join("installed-by-profile")).unwrap(),
        format!("{}\n", wt.display())
    );
    assert!(pm_calls(&log).is_empty(), "detection is replaced");
}

#[test]
fn the_canonical_checkout_and_non_git_dirs_are_refused() {
    let (w, r, _) = world(&[], "");
    let (code, _, err) = prepare(&w, &r.anchor);
    assert_eq!(code, 1);
    assert!(
        err.contains("refusing to prepare canonical checkout"),
        "{err}"
    );
    let plain = w.path("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let (code, _, err) = prepare(&w, &plain);
    assert_eq!(code, 1);
    assert!(err.contains("not a git worktree"), "{err}");
    assert!(!plain.join(".openclaw-artifacts").exists());
}
