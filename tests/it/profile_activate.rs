//! Integration tests for `profile-activate` (run through its shim).

use crate::harness::{kv, run};
use crate::render_flow_config::{config_world, full_yaml, profile};

const TOOL: &str = "tools/bin/profile-activate.sh";

#[test]
fn activate_prints_the_resolved_context() {
    let w = config_world();
    let base = w.path("d");
    profile(&w, "demo", &full_yaml("demo", &base), true);
    profile(&w, "alpha", &full_yaml("alpha", &w.path("a")), false);
    let (code, out, err) = run(w.shim(TOOL).args(["--profile-id", "demo"]));
    assert_eq!(code, 0, "{err}");
    let registry = w.path("profiles");
    let b = base.display();
    let expected = [
        ("PROFILE_ID", "demo".to_string()),
        ("PROFILE_REGISTRY_ROOT", registry.display().to_string()),
        (
            "CONFIG_YAML",
            format!("{}/demo/control-plane.yaml", registry.display()),
        ),
        (
            "PROFILE_NOTES",
            format!("{}/demo/README.md", registry.display()),
        ),
        ("AVAILABLE_PROFILES", "alpha,demo".to_string()),
        ("REPO_SLUG", "example/demo".to_string()),
        ("REPO_ROOT", format!("{b}/repo")),
        ("AGENT_ROOT", format!("{b}/runtime/demo")),
        ("AGENT_REPO_ROOT", format!("{b}/anchor")),
        ("WORKTREE_ROOT", format!("{b}/worktrees")),
        ("RUNS_ROOT", format!("{b}/runtime/demo/runs")),
        ("STATE_ROOT", format!("{b}/runtime/demo/state")),
        ("CODING_WORKER", "openclaw".to_string()),
        ("ACTIVE_PROVIDER_POOL_NAME", String::new()),
        (
            "NEXT_STEP",
            format!(
                "eval \"$({} --profile-id demo --exports)\"",
                w.skill.join(TOOL).display()
            ),
        ),
    ];
    let got: Vec<(String, String)> = out
        .lines()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect();
    let want: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn activate_exports_evaluate_back_to_the_same_values() {
    let mut w = config_world();
    let registry = w.path("reg with 'quote' and $(touch pwned)");
    std::fs::create_dir_all(&registry).unwrap();
    w.env("ACP_PROFILE_REGISTRY_ROOT", &registry);
    let id = "odd id;echo hi";
    let cfg = registry.join(id).join("control-plane.yaml");
    std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
    std::fs::write(&cfg, "id: x\nrepo:\n  root: \"/r/with space\"\n").unwrap();

    let (code, out, err) = run(w.shim(TOOL).args(["--exports", "--profile-id", id]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 7);
    assert!(out.lines().all(|l| l.starts_with("export ")), "{out}");
    let script = format!(
        "{out}\nprintf '%s\\n' \"$ACP_PROJECT_ID\" \"$AGENT_PROJECT_ID\" \"$ACP_PROFILE_REGISTRY_ROOT\" \"$ACP_CONFIG\" \"$ACP_PROFILE_NOTES\" \"$ACP_PROFILE_REPO_ROOT\" \"$ACP_PROFILE_AGENT_ROOT\"\n"
    );
    let (code, evaluated, err) = run(w.cmd("bash").arg("-c").arg(&script));
    assert_eq!(code, 0, "{err}");
    assert!(!w.path("pwned").exists(), "exports never run embedded code");
    let lines: Vec<&str> = evaluated.lines().collect();
    assert_eq!(lines[0], id);
    assert_eq!(lines[1], id);
    assert_eq!(lines[2], registry.to_str().unwrap());
    assert_eq!(lines[3], cfg.to_str().unwrap());
    assert_eq!(
        lines[4],
        registry.join(id).join("README.md").to_str().unwrap()
    );
    assert_eq!(lines[5], "/r/with space");
    let agent_root = w.home.join(".agent-runtime/projects").join(id);
    assert_eq!(
        lines[6],
        agent_root.to_str().unwrap(),
        "env id beats YAML id"
    );

    let (code, out, _) = run(w.shim(TOOL).args(["--profile-id", id]));
    assert_eq!(code, 0);
    let next = kv(&out, "NEXT_STEP").unwrap();
    assert!(
        next.ends_with(r#" --profile-id odd\ id\;echo\ hi --exports)""#),
        "{next}"
    );
}

#[test]
fn activate_defaults_and_provider_pools() {
    let w = config_world();
    profile(&w, "plain", "id: plain\n", false);
    let (code, out, err) = run(w.shim(TOOL).args(["--profile-id", "plain"]));
    assert_eq!(code, 0, "{err}");
    let agent_root = w.home.join(".agent-runtime/projects/plain");
    assert_eq!(kv(&out, "AGENT_ROOT"), Some(agent_root.to_str().unwrap()));
    let runs = agent_root.join("runs");
    assert_eq!(kv(&out, "RUNS_ROOT"), Some(runs.to_str().unwrap()));
    let repo = agent_root.join("repo");
    assert_eq!(kv(&out, "REPO_ROOT"), Some(repo.to_str().unwrap()));
    assert_eq!(kv(&out, "AGENT_REPO_ROOT"), Some(repo.to_str().unwrap()));
    assert_eq!(kv(&out, "REPO_SLUG"), Some("example/plain"));
    assert_eq!(kv(&out, "CODING_WORKER"), Some("codex"));

    profile(
        &w,
        "pooled",
        "id: pooled\nexecution:\n  coding_worker: codex\n  provider_pool_order: \"p1 p2\"\n  provider_pools:\n    p1:\n      coding_worker: ollama\n    p2:\n      coding_worker: pi\n      pi:\n        model: small\n",
        false,
    );
    let (code, out, err) = run(w.shim(TOOL).args(["--profile-id", "pooled"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "ACTIVE_PROVIDER_POOL_NAME"), Some("p2"));
    assert_eq!(kv(&out, "CODING_WORKER"), Some("pi"));
}

#[test]
fn activate_unknown_or_path_like_profile_ids_fail() {
    let w = config_world();
    profile(&w, "alpha", "id: alpha\n", false);
    w.write("outside/control-plane.yaml", "id: outside\n");
    for id in ["nope", "../outside", ".", ""] {
        let (code, out, err) = run(w.shim(TOOL).args(["--profile-id", id]));
        assert_eq!((code, out.as_str()), (1, ""), "{id}");
        if id.is_empty() {
            assert!(err.contains("Usage"), "{err}");
        } else {
            assert_eq!(
                err,
                format!("unknown profile id: {id}\nAVAILABLE_PROFILES=alpha\n")
            );
        }
    }
}

#[test]
fn activate_argument_errors_and_help() {
    let w = config_world();
    let (code, out, err) = run(w.shim(TOOL).arg("--exports"));
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.contains("--profile-id"), "{err}");
    let (code, _, err) = run(w.shim(TOOL).args(["--bogus", "x"]));
    assert_eq!(code, 1);
    assert!(err.starts_with("Unknown argument: --bogus\n"), "{err}");
    let (code, out, _) = run(w.shim(TOOL).arg("--help"));
    assert_eq!(code, 0);
    assert!(out.contains("--profile-id"), "{out}");
}

#[test]
fn activate_malformed_yaml_and_missing_registry() {
    let mut w = config_world();
    let cfg = profile(&w, "bad", "id: bad\nexecution: [unclosed\n", false);
    let (code, out, err) = run(w.shim(TOOL).args(["--profile-id", "bad"]));
    assert_ne!(code, 0);
    assert_eq!(out, "");
    assert!(err.contains(&format!("{}:", cfg.display())), "{err}");
    assert!(err.contains("invalid YAML"), "{err}");

    w.env("ACP_PROFILE_REGISTRY_ROOT", w.path("gone"));
    let (code, _, err) = run(w.shim(TOOL).args(["--profile-id", "bad"]));
    assert_eq!(code, 1);
    assert_eq!(err, "unknown profile id: bad\nAVAILABLE_PROFILES=\n");
}
