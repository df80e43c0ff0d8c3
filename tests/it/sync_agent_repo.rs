//! `sync-agent-repo.sh` through its shim: the seed checkout, the profile's
//! default branch (else the remote's HEAD), the errors, and the package's
//! anchor sync run through its path.

use std::path::Path;

use crate::harness::{World, kv, read, run, write_script};
use crate::sync_anchor_repo::{ODD, git, origin_and_canonical};

const TOOL: &str = "tools/bin/sync-agent-repo.sh";

/// A world whose profile (`ACP_CONFIG`) may name a default branch, with the
/// roots under `base` given through the environment (as profile-adopt does).
fn profile(w: &mut World, base: &str, default_branch: Option<&str>) {
    let root = w.path(base);
    let branch_line = default_branch
        .map(|b| format!("  default_branch: {b}\n"))
        .unwrap_or_default();
    let cfg = w.write(
        "profile/control-plane.yaml",
        format!("id: alpha\nrepo:\n  slug: acme/alpha\n{branch_line}"),
    );
    w.env("ACP_CONFIG", cfg)
        .env("ACP_REPO_ROOT", root.join("canonical"))
        .env("ACP_AGENT_REPO_ROOT", root.join("anchor"))
        .env("ACP_RETAINED_REPO_ROOT", root.join("retained"));
}

#[test]
fn the_profile_default_branch_is_passed_to_the_package_anchor_sync() {
    let mut w = World::new();
    let (_, _canonical) = origin_and_canonical(&w, "p");
    profile(&mut w, "p", Some("release"));
    // A stub in place of the package's anchor sync sees the arguments.
    let log = w.path("calls.log");
    write_script(
        &w.skill.join("tools/bin/agent-project-sync-anchor-repo"),
        &format!(
            "#!/usr/bin/env bash\nprintf '%s\\n' \"$@\" > '{}'\necho STUB=1\n",
            log.display()
        ),
    );
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "STUB"), Some("1"));
    let args: Vec<String> = read(&log).lines().map(str::to_string).collect();
    assert_eq!(
        args,
        [
            "--canonical-root",
            w.path("p/canonical").to_str().unwrap(),
            "--anchor-root",
            w.path("p/anchor").to_str().unwrap(),
            "--remote",
            "origin",
            "--default-branch",
            "release"
        ]
    );
}

#[test]
fn without_a_profile_branch_the_remote_head_is_used() {
    let mut w = World::new();
    let (origin, _) = origin_and_canonical(&w, ODD);
    profile(&mut w, ODD, None);
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "DEFAULT_BRANCH"), Some("trunk"));
    assert_eq!(kv(&out, "ORIGIN_URL"), origin.to_str());
    let anchor = w.path(&format!("{ODD}/anchor"));
    assert_eq!(git(&w, &anchor, &["branch", "--show-current"]), "trunk");
    // The anchor is now its own seed.
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "CANONICAL_ROOT"), anchor.to_str());
}

#[test]
fn the_source_repo_is_the_last_seed() {
    let mut w = World::new();
    let (_, canonical) = origin_and_canonical(&w, "src");
    profile(&mut w, "p", Some("trunk"));
    w.env("ACP_SOURCE_REPO_ROOT", &canonical);
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "CANONICAL_ROOT"), canonical.to_str());
    assert!(w.path("p/anchor/README.md").is_file());
}

#[test]
fn no_checkout_or_no_remote_is_one_line_and_exit_1() {
    let mut w = World::new();
    profile(&mut w, "p", Some("trunk"));
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err.trim(),
        format!(
            "[sync-agent-repo] source repo is not a Git checkout: {}",
            w.path("p/retained").display()
        )
    );
    let retained = w.git_repo("p/retained");
    let (code, _, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        format!(
            "[sync-agent-repo] missing remote 'origin' in source repo: {}",
            retained.display()
        )
    );
    w.env("ACP_REMOTE_NAME", "upstream");
    let (_, _, err) = run(&mut w.shim(TOOL));
    assert!(err.contains("missing remote 'upstream'"), "{err}");
    assert!(!Path::new(&w.path("p/anchor")).exists());
}
