//! Integration tests for `render-flow-config` (run through its shim).

use std::path::{Path, PathBuf};

use crate::harness::{World, kv, run};

const TOOL: &str = "tools/bin/render-flow-config.sh";

/// A world whose shim tree is a skill root, with a profile registry at
/// `<root>/profiles` selected through `ACP_PROFILE_REGISTRY_ROOT`.
pub(crate) fn config_world() -> World {
    let mut w = World::new();
    std::fs::write(w.skill.join("SKILL.md"), "# test skill\n").unwrap();
    let registry = w.path("profiles");
    std::fs::create_dir_all(&registry).unwrap();
    w.env("ACP_PROFILE_REGISTRY_ROOT", &registry);
    w
}

/// Writes `<root>/profiles/<id>/control-plane.yaml` (and a README when asked).
pub(crate) fn profile(w: &World, id: &str, yaml: &str, readme: bool) -> PathBuf {
    let p = w.write(&format!("profiles/{id}/control-plane.yaml"), yaml);
    if readme {
        w.write(&format!("profiles/{id}/README.md"), "# notes\n");
    }
    p
}

/// A profile YAML with runtime paths under `base`.
pub(crate) fn full_yaml(id: &str, base: &Path) -> String {
    let b = base.display();
    format!(
        r#"schema_version: "1"
id: "{id}"
repo:
  slug: "example/{id}"
  root: "{b}/repo"
runtime:
  orchestrator_agent_root: "{b}/runtime/{id}"
  agent_repo_root: "{b}/anchor"
  worktree_root: "{b}/worktrees"
  runs_root: "{b}/runtime/{id}/runs"
  state_root: "{b}/runtime/{id}/state"
  retained_repo_root: "{b}/retained"
  vscode_workspace_file: "{b}/{id}.code-workspace"
execution:
  coding_worker: "openclaw"
  safe_profile: "{id}_safe"
  bypass_profile: "{id}_bypass"
  claude:
    model: "sonnet"
    permission_mode: "acceptEdits"
    timeout_seconds: 900
  openclaw:
    model: "vendor/model:free"
    thinking: low
    timeout_seconds: 600
queue:
  labels:
    - "agent-ready"
"#
    )
}

fn keys(out: &str) -> Vec<&str> {
    out.lines().map(|l| l.split('=').next().unwrap()).collect()
}

#[test]
fn render_env_overrides_win_and_implicit_default_is_reported() {
    let mut w = config_world();
    let base = w.path("alpha-base");
    profile(&w, "alpha", &full_yaml("alpha", &base), true);
    profile(&w, "demo", &full_yaml("demo", &w.path("demo-base")), false);
    w.env("ACP_AGENT_REPO_ROOT", "/tmp/agent repo")
        .env("ACP_CODING_WORKER", "codex")
        .env("ACP_CLAUDE_MODEL", "opus")
        .env("ACP_CLAUDE_MAX_ATTEMPTS", "5")
        .env("F_LOSNING_OPENCLAW_MODEL", "override/model");
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{err}");
    let registry = w.path("profiles");
    let skill = w.skill.to_str().unwrap().to_string();
    assert_eq!(kv(&out, "FLOW_SKILL_DIR"), Some(skill.as_str()));
    assert_eq!(
        kv(&out, "PROFILE_REGISTRY_ROOT"),
        Some(registry.to_str().unwrap())
    );
    let cfg = registry.join("alpha/control-plane.yaml");
    assert_eq!(kv(&out, "CONFIG_YAML"), Some(cfg.to_str().unwrap()));
    assert_eq!(kv(&out, "PROFILE_ID"), Some("alpha"));
    assert_eq!(kv(&out, "PROFILE_SELECTION_MODE"), Some("implicit-default"));
    assert_eq!(
        kv(&out, "PROFILE_SELECTION_HINT"),
        Some(
            "Set ACP_PROJECT_ID=<id> or AGENT_PROJECT_ID=<id> when multiple available profiles exist."
        )
    );
    assert_eq!(kv(&out, "AVAILABLE_PROFILES"), Some("alpha,demo"));
    assert_eq!(kv(&out, "INSTALLED_PROFILES"), Some("alpha,demo"));
    let notes = registry.join("alpha/README.md");
    assert_eq!(kv(&out, "PROFILE_NOTES"), Some(notes.to_str().unwrap()));
    assert_eq!(kv(&out, "PROFILE_NOTES_EXISTS"), Some("yes"));
    assert_eq!(
        kv(&out, "EFFECTIVE_AGENT_REPO_ROOT"),
        Some("/tmp/agent repo")
    );
    let repo = format!("{}/repo", base.display());
    assert_eq!(kv(&out, "EFFECTIVE_REPO_ROOT"), Some(repo.as_str()));
    assert_eq!(kv(&out, "EFFECTIVE_CODING_WORKER"), Some("codex"));
    assert_eq!(kv(&out, "EFFECTIVE_CLAUDE_MODEL"), Some("opus"));
    assert_eq!(kv(&out, "EFFECTIVE_CLAUDE_MAX_ATTEMPTS"), Some("5"));
    assert_eq!(
        kv(&out, "EFFECTIVE_CLAUDE_PERMISSION_MODE"),
        Some("acceptEdits")
    );
    assert_eq!(kv(&out, "EFFECTIVE_CLAUDE_TIMEOUT_SECONDS"), Some("900"));
    assert_eq!(kv(&out, "EFFECTIVE_CLAUDE_EFFORT"), Some(""));
    assert_eq!(kv(&out, "EFFECTIVE_OPENCLAW_MODEL"), Some("override/model"));
    assert_eq!(kv(&out, "EFFECTIVE_CODEX_PROFILE_SAFE"), Some("alpha_safe"));
    assert_eq!(
        kv(&out, "EFFECTIVE_PROVIDER_QUOTA_COOLDOWNS"),
        Some("300,900,1800,3600")
    );
    assert_eq!(
        kv(&out, "EFFECTIVE_PROVIDER_POOL_SELECTION_REASON"),
        Some("env-override")
    );
    assert_eq!(
        keys(&out),
        [
            "FLOW_SKILL_DIR",
            "PROFILE_REGISTRY_ROOT",
            "CONFIG_YAML",
            "PROFILE_ID",
            "PROFILE_SELECTION_MODE",
            "PROFILE_SELECTION_HINT",
            "AVAILABLE_PROFILES",
            "INSTALLED_PROFILES",
            "PROFILE_NOTES",
            "PROFILE_NOTES_EXISTS",
            "EFFECTIVE_REPO_ROOT",
            "EFFECTIVE_AGENT_REPO_ROOT",
            "EFFECTIVE_WORKTREE_ROOT",
            "EFFECTIVE_RUNS_ROOT",
            "EFFECTIVE_STATE_ROOT",
            "EFFECTIVE_RETAINED_REPO_ROOT",
            "EFFECTIVE_VSCODE_WORKSPACE_FILE",
            "EFFECTIVE_CODING_WORKER",
            "EFFECTIVE_PROVIDER_QUOTA_COOLDOWNS",
            "EFFECTIVE_PROVIDER_POOL_ORDER",
            "EFFECTIVE_PROVIDER_POOL_NAME",
            "EFFECTIVE_PROVIDER_POOL_BACKEND",
            "EFFECTIVE_PROVIDER_POOL_MODEL",
            "EFFECTIVE_PROVIDER_POOL_KEY",
            "EFFECTIVE_PROVIDER_POOLS_EXHAUSTED",
            "EFFECTIVE_PROVIDER_POOL_SELECTION_REASON",
            "EFFECTIVE_PROVIDER_POOL_NEXT_ATTEMPT_EPOCH",
            "EFFECTIVE_PROVIDER_POOL_NEXT_ATTEMPT_AT",
            "EFFECTIVE_PROVIDER_POOL_LAST_REASON",
            "EFFECTIVE_CODEX_PROFILE_SAFE",
            "EFFECTIVE_CODEX_PROFILE_BYPASS",
            "EFFECTIVE_CLAUDE_MODEL",
            "EFFECTIVE_CLAUDE_PERMISSION_MODE",
            "EFFECTIVE_CLAUDE_EFFORT",
            "EFFECTIVE_CLAUDE_TIMEOUT_SECONDS",
            "EFFECTIVE_CLAUDE_MAX_ATTEMPTS",
            "EFFECTIVE_CLAUDE_RETRY_BACKOFF_SECONDS",
            "EFFECTIVE_OPENCLAW_MODEL",
            "EFFECTIVE_OPENCLAW_THINKING",
            "EFFECTIVE_OPENCLAW_TIMEOUT_SECONDS",
        ]
    );
}

#[test]
fn render_explicit_profile_prints_raw_yaml_values_without_defaults() {
    let mut w = config_world();
    profile(&w, "alpha", &full_yaml("alpha", &w.path("a")), false);
    profile(
        &w,
        "demo",
        "id: demo\nexecution:\n  coding_worker: claude\n  openclaw:\n    model: \"\"\n",
        false,
    );
    w.env("AGENT_PROJECT_ID", "alpha")
        .env("ACP_PROJECT_ID", "demo");
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "PROFILE_ID"), Some("demo"));
    assert_eq!(kv(&out, "PROFILE_SELECTION_MODE"), Some("explicit"));
    assert_eq!(kv(&out, "PROFILE_SELECTION_HINT"), None);
    assert_eq!(kv(&out, "PROFILE_NOTES_EXISTS"), Some("no"));
    assert_eq!(kv(&out, "EFFECTIVE_CODING_WORKER"), Some("claude"));
    assert_eq!(kv(&out, "EFFECTIVE_RUNS_ROOT"), Some(""), "no lib default");
    assert_eq!(kv(&out, "EFFECTIVE_OPENCLAW_MODEL"), Some(""));
    assert_eq!(
        kv(&out, "EFFECTIVE_PROVIDER_POOL_SELECTION_REASON"),
        Some("legacy-config")
    );
}

const POOLS_YAML: &str = r#"id: "demo"
runtime:
  state_root: "STATE"
execution:
  coding_worker: "openclaw"
  provider_quota:
    cooldowns: "300,900"
  provider_pool_order: "primary fallback"
  provider_pools:
    primary:
      coding_worker: "openclaw"
      openclaw:
        model: "primary/model"
        thinking: "adaptive"
        timeout_seconds: 321
    fallback:
      coding_worker: "claude"
      claude:
        model: "fallback-sonnet"
        permission_mode: "dontAsk"
        effort: "high"
        timeout_seconds: 777
        max_attempts: 5
        retry_backoff_seconds: 12
"#;

#[test]
fn render_selects_the_ready_provider_pool_and_never_runs_state_files() {
    let mut w = config_world();
    let state = w.path("state");
    profile(
        &w,
        "demo",
        &POOLS_YAML.replace("STATE", state.to_str().unwrap()),
        true,
    );
    w.env("ACP_PROJECT_ID", "demo");

    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "EFFECTIVE_PROVIDER_POOL_NAME"), Some("primary"));
    assert_eq!(kv(&out, "EFFECTIVE_CODING_WORKER"), Some("openclaw"));

    let marker = w.path("pwned");
    w.write(
        "state/retries/providers/openclaw-primary-model.env",
        format!(
            "ATTEMPTS=1\nNEXT_ATTEMPT_EPOCH=4102444800\nNEXT_ATTEMPT_AT=2100-01-01T00:00:00Z\nLAST_REASON=$(touch {})\n",
            marker.display()
        ),
    );
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{err}");
    assert!(!marker.exists(), "a cooldown file is data, not code");
    assert_eq!(
        kv(&out, "EFFECTIVE_PROVIDER_POOL_ORDER"),
        Some("primary fallback")
    );
    assert_eq!(kv(&out, "EFFECTIVE_PROVIDER_POOL_NAME"), Some("fallback"));
    assert_eq!(kv(&out, "EFFECTIVE_PROVIDER_POOL_BACKEND"), Some("claude"));
    assert_eq!(
        kv(&out, "EFFECTIVE_PROVIDER_POOL_MODEL"),
        Some("fallback-sonnet")
    );
    assert_eq!(
        kv(&out, "EFFECTIVE_PROVIDER_POOL_KEY"),
        Some("claude-fallback-sonnet")
    );
    assert_eq!(kv(&out, "EFFECTIVE_PROVIDER_POOLS_EXHAUSTED"), Some("no"));
    assert_eq!(
        kv(&out, "EFFECTIVE_PROVIDER_POOL_SELECTION_REASON"),
        Some("ready")
    );
    assert_eq!(kv(&out, "EFFECTIVE_CODING_WORKER"), Some("claude"));
    assert_eq!(kv(&out, "EFFECTIVE_CLAUDE_MODEL"), Some("fallback-sonnet"));
    assert_eq!(kv(&out, "EFFECTIVE_CLAUDE_MAX_ATTEMPTS"), Some("5"));
    assert_eq!(
        kv(&out, "EFFECTIVE_PROVIDER_QUOTA_COOLDOWNS"),
        Some("300,900")
    );

    w.write(
        "state/retries/providers/claude-fallback-sonnet.env",
        "ATTEMPTS=3\nNEXT_ATTEMPT_EPOCH=4102400000\nNEXT_ATTEMPT_AT='2099-12-31T12:00:00Z'\nLAST_REASON=provider-quota-limit\n",
    );
    let (code, out, _) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0);
    assert_eq!(kv(&out, "EFFECTIVE_PROVIDER_POOL_NAME"), Some("fallback"));
    assert_eq!(kv(&out, "EFFECTIVE_PROVIDER_POOLS_EXHAUSTED"), Some("yes"));
    assert_eq!(
        kv(&out, "EFFECTIVE_PROVIDER_POOL_SELECTION_REASON"),
        Some("all-cooldown")
    );
    assert_eq!(
        kv(&out, "EFFECTIVE_PROVIDER_POOL_NEXT_ATTEMPT_EPOCH"),
        Some("4102400000")
    );
    assert_eq!(
        kv(&out, "EFFECTIVE_PROVIDER_POOL_NEXT_ATTEMPT_AT"),
        Some("2099-12-31T12:00:00Z")
    );
    assert_eq!(
        kv(&out, "EFFECTIVE_PROVIDER_POOL_LAST_REASON"),
        Some("provider-quota-limit")
    );
}

#[test]
fn render_malformed_yaml_fails_naming_file_and_line() {
    let mut w = config_world();
    let cfg = profile(
        &w,
        "broken",
        "id: broken\nrepo:\n  slug: \"a/b\n  root: /x\n",
        false,
    );
    w.env("ACP_PROJECT_ID", "broken");
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_ne!(code, 0);
    assert_eq!(out, "");
    assert_eq!(err.lines().count(), 1, "{err}");
    let re = regex::Regex::new(&format!(
        r"{}:\d+:\d+: invalid YAML",
        regex::escape(cfg.to_str().unwrap())
    ))
    .unwrap();
    assert!(re.is_match(&err), "{err}");
}

#[test]
fn render_missing_registry_uses_the_default_profile_path() {
    let mut w = config_world();
    w.env("ACP_PROFILE_REGISTRY_ROOT", w.path("no such registry"));
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{err}");
    let expected = w.path("no such registry/default/control-plane.yaml");
    assert_eq!(kv(&out, "CONFIG_YAML"), Some(expected.to_str().unwrap()));
    assert_eq!(kv(&out, "PROFILE_ID"), Some("default"));
    assert_eq!(
        kv(&out, "PROFILE_SELECTION_MODE"),
        Some("single-profile-default")
    );
    assert_eq!(kv(&out, "AVAILABLE_PROFILES"), Some(""));
    assert_eq!(kv(&out, "PROFILE_NOTES_EXISTS"), Some("no"));
    assert_eq!(kv(&out, "EFFECTIVE_CODING_WORKER"), Some(""));
}

#[test]
fn render_without_a_skill_root_fails() {
    let w = World::new();
    w.strip_package_root();
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert!(
        err.contains("unable to resolve agent control plane root"),
        "{err}"
    );
}

#[test]
fn render_hostile_values_are_printed_as_text_and_never_run() {
    let mut w = config_world();
    let marker = w.path("pwned");
    let yaml = format!(
        "id: \"odd id\"\nrepo:\n  root: \"$(touch {m}) `touch {m}` 'q' \\\"dq\\\"\"\nruntime:\n  runs_root: |\n    /first\n    EFFECTIVE_CODING_WORKER=evil\nexecution:\n  coding_worker: codex # trailing comment\n",
        m = marker.display()
    );
    profile(&w, "odd id", &yaml, false);
    w.env("ACP_PROJECT_ID", "odd id");
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{err}");
    assert!(!marker.exists());
    assert_eq!(kv(&out, "PROFILE_ID"), Some("odd id"));
    let root = format!("$(touch {m}) `touch {m}` 'q' \"dq\"", m = marker.display());
    assert_eq!(kv(&out, "EFFECTIVE_REPO_ROOT"), Some(root.as_str()));
    assert_eq!(
        kv(&out, "EFFECTIVE_RUNS_ROOT"),
        Some(""),
        "multi-line values are absent"
    );
    assert_eq!(kv(&out, "EFFECTIVE_CODING_WORKER"), Some("codex"));
    assert_eq!(out.lines().count(), 39);
}

#[test]
fn render_explicit_config_file_and_alias_twins() {
    let mut w = config_world();
    profile(&w, "alpha", &full_yaml("alpha", &w.path("a")), false);
    let other = w.write(
        "elsewhere/my.yaml",
        "id: custom\nrepo:\n  root: /from/explicit\n",
    );
    w.env("ACP_CONFIG", &other)
        .env("F_LOSNING_RETAINED_REPO_ROOT", "/twin/retained")
        .env("ACP_PROVIDER_POOL_ORDER", "");
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "CONFIG_YAML"), Some(other.to_str().unwrap()));
    assert_eq!(kv(&out, "PROFILE_ID"), Some("custom"));
    assert_eq!(kv(&out, "EFFECTIVE_REPO_ROOT"), Some("/from/explicit"));
    assert_eq!(
        kv(&out, "EFFECTIVE_RETAINED_REPO_ROOT"),
        Some("/twin/retained")
    );
    let notes = w.path("elsewhere/README.md");
    assert_eq!(kv(&out, "PROFILE_NOTES"), Some(notes.to_str().unwrap()));
}

#[test]
fn render_help_prints_usage() {
    let w = config_world();
    let (code, out, _) = run(w.shim(TOOL).arg("--help"));
    assert_eq!(code, 0);
    assert!(out.contains("render-flow-config.sh"), "{out}");
}
