//! Integration tests for `scaffold-profile.sh` (through its shim).

use crate::harness::{World, kv, read_existing, run};
use crate::profiles_fixture::{SCAFFOLD, SMOKE, one_line, registry, root_flags, scaffold};

#[test]
fn scaffold_writes_profile_notes_and_templates() {
    let w = World::new();
    let out = scaffold(&w, "alpha-demo", &[]);
    let dir = registry(&w).join("alpha-demo");
    assert_eq!(kv(&out, "PROFILE_ID"), Some("alpha-demo"));
    assert_eq!(
        kv(&out, "PROFILE_YAML"),
        Some(dir.join("control-plane.yaml").to_str().unwrap())
    );
    assert_eq!(kv(&out, "CODING_WORKER"), Some("openclaw"));
    assert_eq!(
        out.lines().filter(|l| l.starts_with("NEXT_STEP=")).count(),
        2
    );
    let yaml = read_existing(dir.join("control-plane.yaml"));
    for line in [
        "  slug: \"acme/alpha-demo\"",
        "  require_ready_label: true",
        "  issue_prefix: \"alpha-demo-issue-\"",
        "  pr_worktree_branch_prefix: \"agent/alpha-demo/pr\"",
        "  coding_worker: \"openclaw\"",
        "    cooldowns: \"300,900,1800,3600\"",
        "  safe_profile: \"alpha_demo_safe\"",
    ] {
        assert!(
            yaml.lines().any(|l| l == line),
            "missing {line:?} in\n{yaml}"
        );
    }
    assert!(read_existing(dir.join("README.md")).starts_with("# alpha-demo Profile Notes\n"));
    assert_eq!(
        read_existing(dir.join("templates/issue-prompt-template.md")),
        read_existing(w.skill.join("tools/templates/issue-prompt-template.md"))
    );

    // The render reads back what was written.
    let (code, r, err) = run(w
        .shim("tools/bin/render-flow-config.sh")
        .env("ACP_PROJECT_ID", "alpha-demo"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        kv(&r, "EFFECTIVE_REPO_ROOT"),
        Some(w.path("alpha-demo/repo").to_str().unwrap())
    );
}

#[test]
fn scaffold_refuses_an_existing_profile_without_force() {
    let w = World::new();
    scaffold(&w, "alpha", &[]);
    let yaml = registry(&w).join("alpha/control-plane.yaml");
    std::fs::write(&yaml, "id: edited\n").unwrap();
    let (code, out, err) =
        run(w
            .shim(SCAFFOLD)
            .args(["--profile-id", "alpha", "--repo-slug", "acme/alpha"]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err.trim_end(),
        format!("profile already exists: {}", yaml.display())
    );
    assert_eq!(read_existing(&yaml), "id: edited\n");
    scaffold(&w, "alpha", &["--force", "--coding-worker", "claude"]);
    assert!(read_existing(&yaml).contains("coding_worker: \"claude\""));
}

#[test]
fn scaffold_rejects_hostile_input_with_one_line() {
    let w = World::new();
    let cases: Vec<Vec<&str>> = vec![
        vec!["--repo-slug", "acme/x"],
        vec!["--profile-id", "x"],
        vec!["--profile-id", "../x", "--repo-slug", "acme/x"],
        vec!["--profile-id", "X", "--repo-slug", "acme/x"],
        vec!["--profile-id", "x", "--repo-slug", "acme/x\"\n  evil: 1"],
        vec!["--profile-id", "x", "--repo-slug", "nope"],
        vec![
            "--profile-id",
            "x",
            "--repo-slug",
            "acme/x",
            "--coding-worker",
            "gpt",
        ],
        vec![
            "--profile-id",
            "x",
            "--repo-slug",
            "acme/x",
            "--claude-effort",
            "huge",
        ],
        vec![
            "--profile-id",
            "x",
            "--repo-slug",
            "acme/x",
            "--claude-timeout-seconds",
            "0",
        ],
        vec![
            "--profile-id",
            "x",
            "--repo-slug",
            "acme/x",
            "--claude-retry-backoff-seconds",
            "-1",
        ],
        vec![
            "--profile-id",
            "x",
            "--repo-slug",
            "acme/x",
            "--repo-root",
            "/a\nb",
        ],
    ];
    for args in cases {
        let (code, out, err) = run(w.shim(SCAFFOLD).args(&args));
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        one_line(&err);
    }
    let (code, _, err) = run(w.shim(SCAFFOLD).args(["--bogus"]));
    assert_eq!(code, 1);
    assert!(err.starts_with("Unknown argument: --bogus"), "{err}");
    assert!(!registry(&w).join("x").exists());
    assert!(!w.root().join("x").exists());
}

#[test]
fn scaffold_quotes_odd_paths_so_they_read_back_unchanged() {
    let w = World::new();
    let odd = w.path("we\"ird \\ path: #x");
    let (code, _, err) = run(w.shim(SCAFFOLD).args([
        "--profile-id",
        "odd",
        "--repo-slug",
        "acme/odd",
        "--repo-root",
        odd.to_str().unwrap(),
        "--openclaw-model",
        "m: \"q\" # not a comment",
    ]));
    assert_eq!(code, 0, "{err}");
    let (code, r, err) = run(w
        .shim("tools/bin/render-flow-config.sh")
        .env("ACP_PROJECT_ID", "odd"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&r, "EFFECTIVE_REPO_ROOT"), Some(odd.to_str().unwrap()));
    assert_eq!(
        kv(&r, "EFFECTIVE_OPENCLAW_MODEL"),
        Some("m: \"q\" # not a comment")
    );
}

#[test]
fn every_backend_scaffolds_and_passes_smoke() {
    let w = World::new();
    for worker in [
        "codex", "openclaw", "claude", "ollama", "pi", "opencode", "kilo",
    ] {
        let id = format!("p-{worker}");
        let (code, _, err) = run(w
            .shim(SCAFFOLD)
            .args(["--profile-id", &id, "--repo-slug", &format!("acme/{id}")])
            .args(root_flags(&w, &id))
            .args(["--coding-worker", worker]));
        assert_eq!(code, 0, "{worker}: {err}");
        let (code, out, err) = run(w.shim(SMOKE).args(["--profile-id", &id]));
        assert_eq!(code, 0, "{worker}: {out}{err}");
        assert_eq!(kv(&out, "CODING_WORKER"), Some(worker));
        let (_, r, _) = run(w
            .shim("tools/bin/render-flow-config.sh")
            .env("ACP_PROJECT_ID", &id));
        assert_eq!(kv(&r, "EFFECTIVE_CODING_WORKER"), Some(worker));
    }
}
