//! Integration tests for `provider-cooldown-state.sh` (run through its shim).

use std::path::PathBuf;

use crate::harness::{World, kv, run};

const TOOL: &str = "tools/bin/provider-cooldown-state.sh";
const MODEL: &str = "openrouter/stepfun/step-3.5-flash:free";
const KEY: &str = "openclaw-openrouter-stepfun-step-3.5-flash-free";

fn iso_epoch(s: &str) -> i64 {
    acp_core::time::parse_iso_epoch(s).unwrap()
}

/// A world whose profile config is `execution_yaml` (indented under
/// `execution:`), with the state root inside the world.
fn world_with(execution_yaml: &str) -> World {
    let mut w = World::new();
    let state = w.path("state");
    let config = w.write(
        "profile/control-plane.yaml",
        format!(
            "id: \"quota-demo\"\nruntime:\n  orchestrator_agent_root: \"{}\"\n  state_root: \"{}\"\n\
             execution:\n{execution_yaml}",
            w.path("agent").display(),
            state.display()
        ),
    );
    w.env("AGENT_CONTROL_PLANE_CONFIG", &config);
    w
}

fn openclaw_world() -> World {
    world_with(&format!(
        "  coding_worker: \"openclaw\"\n  provider_quota:\n    cooldowns: \"5,10\"\n  openclaw:\n    \
         model: \"{MODEL}\"\n    thinking: \"adaptive\"\n    timeout_seconds: 900\n"
    ))
}

fn codex_world() -> World {
    world_with(
        "  coding_worker: \"codex\"\n  provider_quota:\n    cooldowns: \"5,10\"\n  \
         safe_profile: \"f_losning_safe\"\n  bypass_profile: \"f_losning_bypass\"\n",
    )
}

fn provider_file(w: &World, key: &str) -> PathBuf {
    w.path(&format!("state/retries/providers/{key}.env"))
}

#[test]
fn provider_cooldown_get_schedule_clear_for_the_configured_worker() {
    let w = openclaw_world();
    let (code, out, err) = run(w.shim(TOOL).arg("get"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "BACKEND"), Some("openclaw"));
    assert_eq!(kv(&out, "MODEL"), Some(MODEL));
    assert_eq!(kv(&out, "LABEL"), Some(""));
    assert_eq!(kv(&out, "PROVIDER_KEY"), Some(KEY));
    assert_eq!(kv(&out, "KIND"), Some("provider"));
    assert_eq!(kv(&out, "ITEM_ID"), Some(KEY));
    assert_eq!(kv(&out, "ATTEMPTS"), Some("0"));
    assert_eq!(kv(&out, "READY"), Some("yes"));
    let keys: Vec<&str> = out.lines().map(|l| l.split('=').next().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "BACKEND",
            "MODEL",
            "LABEL",
            "PROVIDER_KEY",
            "KIND",
            "ITEM_ID",
            "ATTEMPTS",
            "NEXT_ATTEMPT_EPOCH",
            "NEXT_ATTEMPT_AT",
            "READY",
            "LAST_REASON",
            "UPDATED_AT"
        ]
    );

    let (code, out, err) = run(w.shim(TOOL).args(["schedule", "provider-quota-limit"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "PROVIDER_KEY"), Some(KEY));
    assert_eq!(kv(&out, "ATTEMPTS"), Some("1"));
    assert_eq!(kv(&out, "READY"), Some("no"));
    assert_eq!(kv(&out, "LAST_REASON"), Some("provider-quota-limit"));
    let next: i64 = kv(&out, "NEXT_ATTEMPT_EPOCH").unwrap().parse().unwrap();
    assert_eq!(
        next - iso_epoch(kv(&out, "UPDATED_AT").unwrap()),
        5,
        "profile cooldowns"
    );
    assert!(provider_file(&w, KEY).is_file());

    let (code, out, _) = run(w.shim(TOOL).args(["schedule", "provider-quota-limit"]));
    assert_eq!(code, 0);
    let next: i64 = kv(&out, "NEXT_ATTEMPT_EPOCH").unwrap().parse().unwrap();
    assert_eq!(next - iso_epoch(kv(&out, "UPDATED_AT").unwrap()), 10);

    let (code, out, err) = run(w.shim(TOOL).arg("clear"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "ATTEMPTS"), Some("0"));
    assert_eq!(kv(&out, "READY"), Some("yes"));
    assert!(!provider_file(&w, KEY).exists());
}

#[test]
fn provider_cooldown_codex_key_is_scoped_to_the_active_account_label() {
    let w = codex_world();
    w.fake(
        "codex-quota",
        r#"#!/usr/bin/env bash
if [[ "$1" == codex && "$2" == list && "$3" == --json ]]; then
  echo '{"activeInfo":{"trackedLabel":"mihanh1","activeLabel":"mihanh1"},"accounts":[{"label":"mihanh1"},{"label":"mihanh"}]}'
  exit 0
fi
exit 1
"#,
    );
    let (code, out, err) = run(w.shim(TOOL).args(["schedule", "provider-quota-limit"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "BACKEND"), Some("codex"));
    assert_eq!(kv(&out, "MODEL"), Some("f_losning_safe"));
    assert_eq!(kv(&out, "LABEL"), Some("mihanh1"));
    assert_eq!(
        kv(&out, "PROVIDER_KEY"),
        Some("codex-f_losning_safe-mihanh1")
    );
    assert!(provider_file(&w, "codex-f_losning_safe-mihanh1").is_file());
    assert!(!provider_file(&w, "codex-f_losning_safe").exists());
}

#[test]
fn provider_cooldown_codex_label_from_env_skips_the_quota_tool() {
    let mut w = codex_world();
    let marker = w.path("quota-called");
    w.fake(
        "codex-quota",
        &format!("#!/usr/bin/env bash\ntouch {marker:?}\necho '{{\"activeInfo\":{{\"activeLabel\":\"other\"}}}}'\n"),
    );
    w.env("ACP_CODEX_QUOTA_LABEL", "Team Account");
    let (code, out, err) = run(w.shim(TOOL).arg("get"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "LABEL"), Some("Team Account"));
    assert_eq!(
        kv(&out, "PROVIDER_KEY"),
        Some("codex-f_losning_safe-team-account")
    );
    assert!(!marker.exists(), "codex-quota must not run");
    w.env("ACP_ACTIVE_PROVIDER_LABEL", "pool-label");
    let (_, out, _) = run(w.shim(TOOL).arg("get"));
    assert_eq!(kv(&out, "LABEL"), Some("pool-label"));
}

#[test]
fn provider_cooldown_codex_without_a_usable_quota_tool_has_no_label() {
    let w = codex_world();
    // Broken JSON from the quota tool: no label, key without suffix.
    w.fake(
        "codex-quota",
        "#!/usr/bin/env bash\necho 'not json'\nexit 3\n",
    );
    let (code, out, err) = run(w.shim(TOOL).arg("get"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "LABEL"), Some(""));
    assert_eq!(kv(&out, "PROVIDER_KEY"), Some("codex-f_losning_safe"));
}

#[test]
fn provider_cooldown_prefers_the_runtime_worker_context() {
    let mut w = world_with(
        "  coding_worker: \"openclaw\"\n  provider_quota:\n    cooldowns: \"5,10\"\n  openclaw:\n    \
         model: \"primary/model\"\n    thinking: \"adaptive\"\n    timeout_seconds: 900\n",
    );
    w.env("CODING_WORKER", "claude")
        .env("CLAUDE_MODEL", "fallback-sonnet");
    let (code, out, err) = run(w.shim(TOOL).arg("get"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "BACKEND"), Some("claude"));
    assert_eq!(kv(&out, "MODEL"), Some("fallback-sonnet"));
    assert_eq!(kv(&out, "PROVIDER_KEY"), Some("claude-fallback-sonnet"));
}

#[test]
fn provider_cooldown_explicit_backend_and_model_and_env_cooldowns() {
    let mut w = openclaw_world();
    w.env("ACP_PROVIDER_QUOTA_COOLDOWNS", "33");
    let (code, out, err) =
        run(w
            .shim(TOOL)
            .args(["ollama", "Llama 3/8B", "schedule", "quota hit"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "BACKEND"), Some("ollama"));
    assert_eq!(kv(&out, "MODEL"), Some("Llama 3/8B"));
    assert_eq!(kv(&out, "PROVIDER_KEY"), Some("ollama-llama-3-8b"));
    assert_eq!(kv(&out, "LAST_REASON"), Some("quota hit"));
    let next: i64 = kv(&out, "NEXT_ATTEMPT_EPOCH").unwrap().parse().unwrap();
    assert_eq!(next - iso_epoch(kv(&out, "UPDATED_AT").unwrap()), 33);
    // Three arguments: backend, model, action.
    let (code, out, _) = run(w.shim(TOOL).args(["ollama", "Llama 3/8B", "get"]));
    assert_eq!(code, 0);
    assert_eq!(kv(&out, "ATTEMPTS"), Some("1"));
    assert_eq!(kv(&out, "READY"), Some("no"));
}

#[test]
fn provider_cooldown_follows_the_provider_pool_selection() {
    let w = world_with(
        "  coding_worker: \"openclaw\"\n  provider_pool_order: \"primary fallback\"\n  \
         provider_pools:\n    primary:\n      coding_worker: openclaw\n      openclaw:\n        \
         model: \"Primary/Model\"\n        thinking: adaptive\n        timeout_seconds: 321\n    \
         fallback:\n      coding_worker: claude\n      claude:\n        model: fallback-sonnet\n        \
         permission_mode: dontAsk\n        effort: high\n        timeout_seconds: 777\n        \
         max_attempts: 5\n        retry_backoff_seconds: 12\n",
    );
    let (code, out, err) = run(w.shim(TOOL).arg("get"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "BACKEND"), Some("openclaw"));
    assert_eq!(kv(&out, "MODEL"), Some("Primary/Model"));
    assert_eq!(kv(&out, "PROVIDER_KEY"), Some("openclaw-primary-model"));
    let (code, _, err) = run(w.shim(TOOL).args(["schedule", "provider-quota-limit"]));
    assert_eq!(code, 0, "{err}");
    // The primary pool is cooling down: the fallback pool is now active.
    let (code, out, err) = run(w.shim(TOOL).arg("get"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "BACKEND"), Some("claude"));
    assert_eq!(kv(&out, "MODEL"), Some("fallback-sonnet"));
    assert_eq!(kv(&out, "READY"), Some("yes"));
}

#[test]
fn provider_cooldown_runs_the_sibling_retry_state_through_its_path() {
    let mut w = openclaw_world();
    let log = w.path("stub.log");
    std::fs::write(
        w.skill.join("tools/bin/agent-project-retry-state"),
        format!(
            "#!/usr/bin/env bash\nprintf '%s\\n' \"$@\" > {log:?}\n\
             printf 'ENV_STATE=%s\\nENV_COOLDOWNS=%s\\n' \"$ACP_STATE_ROOT\" \"$ACP_PROVIDER_QUOTA_COOLDOWNS\" >> {log:?}\n\
             echo 'KIND=provider'\necho 'READY=no'\nprintf '\\n\\n'\nexit \"${{STUB_EXIT:-0}}\"\n"
        ),
    )
    .unwrap();
    let (code, out, err) = run(w.shim(TOOL).args(["schedule", "why"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        format!(
            "BACKEND=openclaw\nMODEL={MODEL}\nLABEL=\nPROVIDER_KEY={KEY}\nKIND=provider\nREADY=no\n"
        )
    );
    let logged = std::fs::read_to_string(&log).unwrap();
    let state = w.path("state").display().to_string();
    assert_eq!(
        logged,
        format!(
            "--state-root\n{state}\n--kind\nprovider\n--item-id\n{KEY}\n--action\nschedule\n\
             --reason\nwhy\n--cooldowns\n5,10\nENV_STATE={state}\nENV_COOLDOWNS=5,10\n"
        )
    );
    // A failing retry-state: its exit code, no stdout.
    w.env("STUB_EXIT", "4");
    let (code, out, _) = run(w.shim(TOOL).arg("get"));
    assert_eq!((code, out.as_str()), (4, ""));
}

#[test]
fn provider_cooldown_hostile_models_stay_inside_the_providers_dir() {
    let w = openclaw_world();
    let (code, out, err) = run(w.shim(TOOL).args([
        "openclaw",
        "../../../escape $(touch pwned)",
        "schedule",
        "r",
    ]));
    assert_eq!(code, 0, "{err}");
    let key = kv(&out, "PROVIDER_KEY").unwrap();
    assert_eq!(key, "openclaw-..-..-..-escape-touch-pwned");
    assert!(provider_file(&w, key).is_file());
    assert!(!w.path("pwned").exists());
    let entries = std::fs::read_dir(w.path("state/retries/providers"))
        .unwrap()
        .count();
    assert_eq!(entries, 1);

    // A key that sanitises to `..` is refused.
    let (code, out, err) = run(w.shim(TOOL).args(["..", "/", "schedule", "r"]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!w.path("state/retries/providers.env").exists());
}

#[test]
fn provider_cooldown_usage_and_missing_provider_errors() {
    let w = openclaw_world();
    for args in [vec![], vec!["a", "b", "c", "d", "e"]] {
        let (code, out, err) = run(w.shim(TOOL).args(&args));
        assert_eq!((code, out.as_str()), (1, ""), "{args:?}");
        assert!(err.contains("Usage"), "{err}");
    }
    let (code, out, err) = run(w.shim(TOOL).arg("bump"));
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.contains("Usage"), "{err}");
    let (code, out, _) = run(w.shim(TOOL).arg("--help"));
    assert_eq!(code, 0);
    assert!(out.contains("Usage"), "{out}");

    let (code, _, err) = run(w.shim(TOOL).args(["mystery", "", "get"]));
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "provider model/profile is required for backend mystery\n"
    );

    // No config, no env: no backend.
    let mut bare = World::new();
    let (missing, st) = (bare.path("missing.yaml"), bare.path("state"));
    bare.env("AGENT_CONTROL_PLANE_CONFIG", missing)
        .env("ACP_STATE_ROOT", st);
    let (code, out, err) = run(bare.shim(TOOL).arg("get"));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err, "provider backend is required\n");
    assert!(!bare.path("state").exists());
}

#[test]
fn provider_cooldown_reads_hand_written_state_without_running_it() {
    let w = openclaw_world();
    std::fs::create_dir_all(w.path("state/retries/providers")).unwrap();
    std::fs::write(
        provider_file(&w, KEY),
        "ATTEMPTS=3\nNEXT_ATTEMPT_EPOCH=99999999999\nLAST_REASON=$(touch pwned)\n",
    )
    .unwrap();
    let (code, out, err) = run(w.shim(TOOL).arg("get"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "ATTEMPTS"), Some("3"));
    assert_eq!(kv(&out, "READY"), Some("no"));
    assert_eq!(kv(&out, "LAST_REASON"), Some("$(touch pwned)"));
    assert!(!w.path("pwned").exists());
}

#[test]
fn provider_cooldown_concurrent_schedules_count_every_attempt() {
    let w = openclaw_world();
    let rounds = 25;
    let scheduler = || {
        // The shim, run as callers run it, in a shell loop.
        let shim = w.skill.join(TOOL);
        let mut cmd = w.cmd("sh");
        cmd.arg("-c")
            .arg(r#"i=0; while [ "$i" -lt "$1" ]; do i=$((i+1)); bash "$0" schedule quota >/dev/null || exit 1; done"#)
            .arg(&shim)
            .arg(rounds.to_string());
        cmd.spawn().unwrap()
    };
    let (mut a, mut b) = (scheduler(), scheduler());
    assert!(a.wait().unwrap().success());
    assert!(b.wait().unwrap().success());
    let (code, out, err) = run(w.shim(TOOL).arg("get"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        kv(&out, "ATTEMPTS"),
        Some((2 * rounds).to_string().as_str())
    );
}
