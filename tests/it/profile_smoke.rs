//! Integration tests for `profile-smoke.sh` (through its shim).

use crate::harness::{World, kv, run};
use crate::profiles_fixture::{SMOKE, git, one_line, registry, scaffold};

fn edit(w: &World, id: &str, from: &str, to: &str) {
    let p = registry(w).join(id).join("control-plane.yaml");
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.contains(from), "{from} not in {}", p.display());
    std::fs::write(&p, text.replacen(from, to, 1)).unwrap();
}

fn failures(out: &str) -> Vec<&str> {
    out.lines()
        .filter_map(|l| l.strip_prefix("FAILURE="))
        .collect()
}

#[test]
fn smoke_passes_all_profiles_and_reports_collisions() {
    let w = World::new();
    scaffold(&w, "alpha", &[]);
    scaffold(&w, "beta", &[]);
    let (code, out, err) = run(&mut w.shim(SMOKE));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.matches("PROFILE_STATUS=ok").count(), 2);
    assert_eq!(out.lines().last(), Some("PROFILE_SMOKE_STATUS=ok"));

    edit(
        &w,
        "beta",
        "issue_prefix: \"beta-issue-\"",
        "issue_prefix: \"alpha-issue-\"",
    );
    let (code, out, _) = run(&mut w.shim(SMOKE));
    assert_eq!(code, 1, "{out}");
    assert_eq!(kv(&out, "DUPLICATE_ISSUE_PREFIX"), Some("alpha-issue-"));
    assert_eq!(
        kv(&out, "DUPLICATE_ISSUE_PREFIX_PROFILES"),
        Some("alpha,beta")
    );
    assert_eq!(out.lines().last(), Some("PROFILE_SMOKE_STATUS=failed"));
}

#[test]
fn smoke_reports_bad_backend_settings() {
    let w = World::new();
    scaffold(&w, "c", &["--coding-worker", "claude"]);
    edit(&w, "c", "timeout_seconds: 900", "timeout_seconds: 0");
    edit(&w, "c", "effort: \"medium\"", "effort: \"huge\"");
    let (code, out, _) = run(w.shim(SMOKE).args(["--profile-id", "c"]));
    assert_eq!(code, 1);
    assert_eq!(
        failures(&out),
        [
            "effective.claude.effort must be one of: low, medium, high, max",
            "effective.claude.timeout_seconds must be a positive integer"
        ]
    );
    assert!(out.contains("PROFILE_ID=c\nPROFILE_STATUS=failed\nFAILURE="));

    scaffold(&w, "u", &[]);
    edit(
        &w,
        "u",
        "coding_worker: \"openclaw\"",
        "coding_worker: \"gpt\"",
    );
    let (code, out, _) = run(w.shim(SMOKE).args(["--profile-id", "u"]));
    assert_eq!(code, 1);
    assert_eq!(failures(&out), ["unsupported coding worker: gpt"]);
}

#[test]
fn smoke_checks_provider_pools_of_every_backend() {
    let w = World::new();
    scaffold(&w, "pool", &[]);
    edit(
        &w,
        "pool",
        "  verification:",
        "  provider_pool_order: \"local cloud bad\"\n  provider_pools:\n    local:\n      coding_worker: \"ollama\"\n      ollama:\n        model: \"qwen\"\n    cloud:\n      coding_worker: \"pi\"\n      pi:\n        model: \"m\"\n        timeout_seconds: 0\n    bad:\n      coding_worker: \"claude\"\n      claude:\n        model: \"s\"\n  verification:",
    );
    let (code, out, _) = run(w.shim(SMOKE).args(["--profile-id", "pool", "--json"]));
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], "failed");
    let f: Vec<&str> = v["profiles"][0]["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert_eq!(
        f,
        [
            "provider_pool.cloud.pi.timeout_seconds must be a positive integer",
            "provider pool bad is invalid",
            "provider_pool.bad.claude.permission_mode missing",
            "provider_pool.bad.claude.effort missing",
            "provider_pool.bad.claude.effort must be one of: low, medium, high, max",
            "provider_pool.bad.claude.timeout_seconds missing",
            "provider_pool.bad.claude.max_attempts missing",
            "provider_pool.bad.claude.retry_backoff_seconds missing",
        ]
    );
}

#[test]
fn smoke_checks_the_profile_not_the_callers_overrides() {
    let w = World::new();
    scaffold(&w, "alpha", &[]);
    let other = registry(&w).join("alpha/control-plane.yaml");
    let (code, out, err) = run(w
        .shim(SMOKE)
        .args(["--profile-id", "alpha"])
        .env("ACP_CODING_WORKER", "bogus")
        .env("ACP_OPENCLAW_TIMEOUT_SECONDS", "x")
        .env("ACP_CONFIG", w.write("elsewhere.yaml", "id: other\n"))
        .env("ACP_PROJECT_ID", "other"));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(kv(&out, "CONFIG_YAML"), Some(other.to_str().unwrap()));
    assert_eq!(kv(&out, "CODING_WORKER"), Some("openclaw"));
}

#[test]
fn smoke_compares_the_slug_with_the_checkouts_origin() {
    let w = World::new();
    let repo = w.git_repo("alpha/repo");
    git(
        &w,
        &repo,
        &["remote", "add", "origin", "git@github.com:right/repo.git"],
    );
    scaffold(&w, "alpha", &[]);
    let (code, out, _) = run(w.shim(SMOKE).args(["--profile-id", "alpha"]));
    assert_eq!(code, 1);
    assert_eq!(
        failures(&out),
        ["repo.slug mismatch: config=acme/alpha origin=right/repo"]
    );
}

#[test]
fn smoke_handles_hostile_input() {
    let w = World::new();
    let (code, out, err) = run(&mut w.shim(SMOKE));
    assert_eq!(
        (code, out.as_str(), err.trim_end()),
        (1, "", "no installed profiles found")
    );

    let (code, out, err) = run(w.shim(SMOKE).args(["--profile-id", "../x"]));
    assert_eq!((code, out.as_str()), (1, ""));
    one_line(&err);

    scaffold(&w, "good", &[]);
    let bad = registry(&w).join("bad/control-plane.yaml");
    std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
    std::fs::write(&bad, "id: bad\nrepo: [unclosed\n").unwrap();
    let (code, out, _) = run(&mut w.shim(SMOKE));
    assert_eq!(code, 1);
    let f = failures(&out);
    assert_eq!(f.len(), 1, "{out}");
    assert!(f[0].starts_with("invalid control-plane.yaml: "), "{out}");
    assert!(out.contains("PROFILE_ID=good\nCONFIG_YAML="), "{out}");

    let (code, out, _) = run(w.shim(SMOKE).args(["--profile-id", "missing"]));
    assert_eq!(code, 1);
    assert!(failures(&out)[0].starts_with("canonical profile missing: "));
}
