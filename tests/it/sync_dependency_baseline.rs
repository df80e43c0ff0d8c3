//! `sync-dependency-baseline.sh` through its shim on a Node, a Cargo, a
//! Python and an empty repository.

use crate::harness::{World, kv, run};
use crate::worktree_fixture::{Repos, fake_package_managers, pm_calls, profile, repos};

fn world(files: &[(&str, &str)]) -> (World, Repos, std::path::PathBuf) {
    let mut w = World::new();
    let r = repos(&w, "r", files);
    profile(&mut w, &r, "");
    let log = fake_package_managers(&mut w);
    (w, r, log)
}

fn sync(w: &World, args: &[&str]) -> (i32, String, String) {
    run(w.shim("tools/bin/sync-dependency-baseline.sh").args(args))
}

#[test]
fn node_installs_builds_records_and_then_is_ready() {
    let (w, r, log) = world(&[
        ("package.json", "{}\n"),
        ("pnpm-lock.yaml", "lock\n"),
        ("packages/a/package.json", "{\"name\":\"@demo/a\"}\n"),
    ]);
    let (code, out, err) = sync(&w, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "DEPENDENCY_BASELINE"), Some("updated"));
    assert_eq!(kv(&out, "REPO_ROOT"), Some(r.anchor.to_str().unwrap()));
    assert_eq!(kv(&out, "BASELINE_KIND"), Some("node"));
    let hash = kv(&out, "HASH").unwrap().to_string();
    assert_eq!(hash.len(), 64);
    let a = r.anchor.display();
    assert_eq!(
        pm_calls(&log),
        [
            format!("pnpm install --frozen-lockfile --prefer-offline|{a}"),
            format!("pnpm --filter @demo/a build|{a}")
        ]
    );
    let recorded =
        std::fs::read_to_string(w.path("agent/state/dependency-baseline.sha256")).unwrap();
    assert_eq!(recorded, format!("{hash}\n"));
    let (code, out, _) = sync(&w, &[]);
    assert_eq!(code, 0);
    assert_eq!(kv(&out, "DEPENDENCY_BASELINE"), Some("ready"));
    assert_eq!(kv(&out, "HASH"), Some(hash.as_str()));
    assert_eq!(pm_calls(&log).len(), 2, "nothing installed twice");
    let (_, out, _) = sync(&w, &["--force"]);
    assert_eq!(kv(&out, "DEPENDENCY_BASELINE"), Some("updated"));
}

#[test]
fn cargo_fills_the_cache_python_and_empty_repos_install_nothing_here() {
    let (w, r, log) = world(&[("Cargo.toml", "[package]\n"), ("Cargo.lock", "#\n")]);
    let (code, out, err) = sync(&w, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "BASELINE_KIND"), Some("cargo"));
    assert_eq!(
        pm_calls(&log),
        [format!("cargo fetch --locked|{}", r.anchor.display())]
    );

    let (w, _, log) = world(&[("requirements.txt", "x\n")]);
    let (code, out, err) = sync(&w, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "BASELINE_KIND"), Some("pip"));
    assert!(pm_calls(&log).is_empty());

    let (w, _, log) = world(&[]);
    let (code, out, err) = sync(&w, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "BASELINE_KIND"), Some("none"));
    assert_eq!(kv(&out, "DEPENDENCY_BASELINE"), Some("updated"));
    let (_, out, _) = sync(&w, &[]);
    assert_eq!(kv(&out, "DEPENDENCY_BASELINE"), Some("ready"));
    assert!(pm_calls(&log).is_empty());
}

#[test]
fn a_missing_package_manager_or_checkout_fails_with_exit_1() {
    let (mut w, _, _) = world(&[("package.json", "{}\n")]);
    w.env("ACP_PACKAGE_MANAGER_BIN", "no-such-pm");
    let (code, _, err) = sync(&w, &[]);
    assert_eq!(code, 1);
    assert!(err.contains("missing package manager: no-such-pm"), "{err}");
    w.env("ACP_REPO_ROOT", w.path("nowhere"));
    let (code, _, err) = sync(&w, &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("canonical checkout is not a Git repo"),
        "{err}"
    );
}

#[test]
fn a_node_hash_recorded_by_0_2_0_stays_valid() {
    // 0.2.0: sha256 over `shasum -a 256 <files>` lines and `git rev-parse HEAD`.
    let (w, r, _) = world(&[
        ("package.json", "{}\n"),
        ("pnpm-lock.yaml", "lock\n"),
        (".npmrc", "x=1\n"),
    ]);
    let (code, legacy, err) = run(w.cmd("bash").current_dir(&r.anchor).arg("-c").arg(
        "{ sha256sum package.json pnpm-lock.yaml .npmrc; git rev-parse HEAD; } | sha256sum | cut -d' ' -f1",
    ));
    assert_eq!(code, 0, "{err}");
    std::fs::create_dir_all(r.anchor.join("node_modules")).unwrap();
    std::fs::create_dir_all(w.path("agent/state")).unwrap();
    std::fs::write(w.path("agent/state/dependency-baseline.sha256"), &legacy).unwrap();
    let (code, out, err) = sync(&w, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "HASH"), Some(legacy.trim()));
    assert_eq!(kv(&out, "DEPENDENCY_BASELINE"), Some("ready"));
}
