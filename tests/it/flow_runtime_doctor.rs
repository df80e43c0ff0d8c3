//! Integration tests for `flow-runtime-doctor.sh` (run through its shim).

use crate::harness::{World, kv, run};

const TOOL: &str = "tools/bin/flow-runtime-doctor.sh";

const KEYS: &[&str] = &[
    "CONTROL_PLANE_NAME",
    "COMPAT_SKILL_ALIAS",
    "FLOW_SKILL_DIR",
    "PROFILE_REGISTRY_ROOT",
    "CONFIG_YAML",
    "PROFILE_ID",
    "PROFILE_SELECTION_MODE",
    "PROFILE_NOTES",
    "PROFILE_NOTES_EXISTS",
    "PROFILE_EXISTS",
    "AVAILABLE_PROFILES",
    "INSTALLED_PROFILES",
    "SHARED_AGENT_HOME",
    "SOURCE_CANONICAL_SKILL_DIR",
    "SOURCE_CANONICAL_EXISTS",
    "ACTIVE_CHECKOUT_IS_CANONICAL",
    "SOURCE_READY",
    "SOURCE_COMPAT_SKILL_DIR",
    "SOURCE_COMPAT_EXISTS",
    "RUNTIME_HOME",
    "RUNTIME_CANONICAL_SKILL_DIR",
    "RUNTIME_CANONICAL_EXISTS",
    "RUNTIME_COMPAT_SKILL_DIR",
    "RUNTIME_COMPAT_EXISTS",
    "WORKFLOW_CATALOG",
    "WORKFLOW_CATALOG_EXISTS",
    "DOCTOR_STATUS",
];

fn keys(out: &str) -> Vec<&str> {
    out.lines().map(|l| l.split('=').next().unwrap()).collect()
}

fn profile(w: &World, id: &str) {
    w.write(
        &format!("home/.agent-runtime/control-plane/profiles/{id}/control-plane.yaml"),
        format!("id: {id}\nrepo:\n  slug: example/{id}\n"),
    );
    w.write(
        &format!("home/.agent-runtime/control-plane/profiles/{id}/README.md"),
        "notes\n",
    );
}

#[test]
fn a_fresh_tree_needs_a_profile_and_a_runtime_copy() {
    let w = World::new();
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{err}");
    let mut want: Vec<&str> = KEYS.to_vec();
    want.push("NEXT_STEP");
    assert_eq!(keys(&out), want);
    assert_eq!(kv(&out, "FLOW_SKILL_DIR"), Some(w.skill.to_str().unwrap()));
    assert_eq!(kv(&out, "PROFILE_ID"), Some("default"));
    assert_eq!(kv(&out, "PROFILE_EXISTS"), Some("no"));
    assert_eq!(kv(&out, "RUNTIME_CANONICAL_EXISTS"), Some("no"));
    assert_eq!(kv(&out, "DOCTOR_STATUS"), Some("needs-sync"));
    // The package is its own source home: the suggested sync publishes it.
    let next = kv(&out, "NEXT_STEP").unwrap();
    assert!(
        next.starts_with(&format!(
            "bash {}/tools/bin/sync-shared-agent-home.sh {} ",
            w.skill.display(),
            w.skill.display()
        )),
        "{next}"
    );
}

#[test]
fn ok_once_published_with_a_profile_and_from_the_runtime_copy_no_self_sync() {
    let w = World::new();
    let (code, _, err) = run(&mut w.shim("tools/bin/sync-shared-agent-home.sh"));
    assert_eq!(code, 0, "{err}");
    profile(&w, "alpha");
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{err}");
    assert_eq!(keys(&out), KEYS);
    assert_eq!(kv(&out, "DOCTOR_STATUS"), Some("ok"));
    assert_eq!(kv(&out, "PROFILE_ID"), Some("alpha"));
    assert_eq!(kv(&out, "PROFILE_NOTES_EXISTS"), Some("yes"));

    // From the runtime copy with the profile gone: the next step is a
    // profile, not a sync of the runtime home onto itself.
    std::fs::remove_dir_all(w.home.join(".agent-runtime/control-plane/profiles/alpha")).unwrap();
    let runtime_skill = w
        .home
        .join(".agent-runtime/runtime-home/skills/openclaw/agent-control-plane");
    let (code, out, err) = run(w.cmd("bash").arg(runtime_skill.join(TOOL)));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "ACTIVE_CHECKOUT_IS_CANONICAL"), Some("yes"));
    assert_eq!(kv(&out, "DOCTOR_STATUS"), Some("needs-sync"));
    let next = kv(&out, "NEXT_STEP").unwrap();
    assert!(!next.contains("sync-shared-agent-home"), "{next}");
    assert!(
        next.contains("project-init.sh --profile-id default"),
        "{next}"
    );
}

#[test]
fn several_profiles_report_the_implicit_selection_and_its_next_step() {
    let w = World::new();
    profile(&w, "alpha");
    profile(&w, "demo");
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "PROFILE_ID"), Some("alpha"));
    assert_eq!(kv(&out, "PROFILE_SELECTION_MODE"), Some("implicit-default"));
    assert!(kv(&out, "PROFILE_SELECTION_HINT").is_some());
    assert_eq!(kv(&out, "AVAILABLE_PROFILES"), Some("alpha,demo"));
    assert_eq!(
        kv(&out, "PROFILE_SELECTION_NEXT_STEP"),
        Some(
            format!(
                "ACP_PROJECT_ID=<id> bash {}/tools/bin/render-flow-config.sh",
                w.skill.display()
            )
            .as_str()
        )
    );
}

#[test]
fn json_carries_the_same_keys_and_values() {
    let w = World::new();
    profile(&w, "alpha");
    let (code, kv_out, _) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0);
    let (code, json_out, err) = run(w.shim(TOOL).arg("--json"));
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json_out).unwrap();
    let obj = v.as_object().unwrap();
    let from_kv: Vec<(String, String)> = kv_out
        .lines()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect();
    let from_json: Vec<(String, String)> = obj
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    assert_eq!(from_json, from_kv);
}

#[test]
fn a_fifo_for_a_profile_config_is_no_profile_and_does_not_hang() {
    let w = World::new();
    let dir = w.home.join(".agent-runtime/control-plane/profiles/default");
    std::fs::create_dir_all(&dir).unwrap();
    let (code, _, err) = run(w.cmd("mkfifo").arg(dir.join("control-plane.yaml")));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(w.shim(TOOL).arg("ignored-argument"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "PROFILE_EXISTS"), Some("no"));
    assert_eq!(kv(&out, "INSTALLED_PROFILES"), Some(""));
}

#[test]
fn no_package_root_is_one_line_and_exit_1() {
    let w = World::new();
    w.strip_package_root();
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("unable to resolve agent control plane root"),
        "{err}"
    );
}
