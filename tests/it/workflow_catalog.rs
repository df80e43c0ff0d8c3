//! Integration tests for `workflow-catalog` (run through its shim).

use crate::harness::{World, kv, run};
use crate::render_flow_config::{config_world, full_yaml, profile};

const TOOL: &str = "tools/bin/workflow-catalog.sh";

const IDS: [&str; 7] = [
    "issue-implementation",
    "issue-blocked-recovery",
    "issue-scheduled-check",
    "pr-review",
    "pr-fix",
    "pr-merge-repair",
    "follow-up-splitting",
];

fn two_profiles() -> World {
    let w = config_world();
    profile(&w, "alpha", &full_yaml("alpha", &w.path("a")), true);
    profile(&w, "demo", &full_yaml("demo", &w.path("d")), false);
    w
}

#[test]
fn catalog_list_ids_and_profiles_from_the_built_in_catalog() {
    let w = two_profiles();
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Vec<&str>> = out.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 7);
    assert!(
        rows.iter()
            .all(|r| r.len() == 4 && r.iter().all(|f| !f.is_empty()))
    );
    assert_eq!(rows[0][0], "issue-implementation");
    assert_eq!(rows[0][1], "issue");
    assert_eq!(rows[0][2], "tools/bin/start-issue-worker.sh");
    assert_eq!(
        rows[3][..3],
        [
            "pr-review",
            "pull_request",
            "tools/bin/start-pr-review-worker.sh"
        ]
    );
    let (_, listed, _) = run(w.shim(TOOL).arg("list"));
    assert_eq!(listed, out);

    let (code, out, _) = run(w.shim(TOOL).arg("ids"));
    assert_eq!(code, 0);
    assert_eq!(out.lines().collect::<Vec<_>>(), IDS);

    let (code, out, _) = run(w.shim(TOOL).arg("profiles"));
    assert_eq!(code, 0);
    assert_eq!(out, "alpha\ndemo\n");
}

#[test]
fn catalog_context_and_show_report_the_active_profile() {
    let mut w = two_profiles();
    let (code, out, err) = run(w.shim(TOOL).arg("context"));
    assert_eq!(code, 0, "{err}");
    let notes = w.path("profiles/alpha/README.md");
    assert_eq!(
        out,
        format!(
            "ACTIVE_PROFILE=alpha\nPROFILE_SELECTION_MODE=implicit-default\nPROFILE_NOTES={}\n",
            notes.display()
        )
    );

    let (code, out, _) = run(w.shim(TOOL).args(["show", "pr-merge-repair"]));
    assert_eq!(code, 0);
    let keys: Vec<&str> = out.lines().map(|l| l.split('=').next().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "ACTIVE_PROFILE",
            "PROFILE_SELECTION_MODE",
            "ID",
            "KIND",
            "TRIGGER",
            "ENTRYPOINT",
            "SUMMARY"
        ]
    );
    assert_eq!(kv(&out, "ID"), Some("pr-merge-repair"));
    assert_eq!(kv(&out, "KIND"), Some("pull_request"));
    assert_eq!(
        kv(&out, "ENTRYPOINT"),
        Some("tools/bin/start-pr-merge-repair-worker.sh")
    );
    assert!(kv(&out, "SUMMARY").is_some_and(|s| !s.is_empty()));

    w.env("ACP_PROJECT_ID", "demo");
    let (_, out, _) = run(w.shim(TOOL).args(["show", "pr-fix"]));
    assert_eq!(kv(&out, "ACTIVE_PROFILE"), Some("demo"));
    assert_eq!(kv(&out, "PROFILE_SELECTION_MODE"), Some("explicit"));
}

#[test]
fn catalog_json_adds_the_profile_context() {
    let w = two_profiles();
    let (code, out, err) = run(w.shim(TOOL).arg("json"));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("\n  \"control_plane\": \"agent-control-plane\",\n"),
        "{out}"
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["available_profiles"],
        serde_json::json!(["alpha", "demo"])
    );
    assert_eq!(v["active_profile"], "alpha");
    assert_eq!(v["profile_selection_mode"], "implicit-default");
    assert_eq!(
        v["profile_notes"],
        w.path("profiles/alpha/README.md").to_str().unwrap()
    );
    let ids: Vec<&str> = v["workflows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, IDS);
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys.last().unwrap().as_str(), "profile_notes");
}

#[test]
fn catalog_prefers_the_skill_file_and_escapes_like_python() {
    let w = config_world();
    let skill_notes_dir = "profiles/caf\u{e9}";
    w.write(
        &format!("{skill_notes_dir}/control-plane.yaml"),
        "id: cafe\n",
    );
    std::fs::create_dir_all(w.skill.join("assets")).unwrap();
    std::fs::write(
        w.skill.join("assets/workflow-catalog.json"),
        r#"{"workflows": [{"id": "only", "kind": "issue", "trigger": "t", "entrypoint": "e", "summary": "s\u00e9"}], "extra": 1}"#,
    )
    .unwrap();
    let (code, out, err) = run(w.shim(TOOL).arg("ids"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "only\n");
    let (_, out, _) = run(w.shim(TOOL).arg("json"));
    assert!(out.contains("\"summary\": \"s\\u00e9\""), "{out}");
    assert!(out.contains("caf\\u00e9/README.md"), "{out}");
    assert!(
        out.contains("\"available_profiles\": [\n    \"caf\\u00e9\"\n  ]"),
        "{out}"
    );
    assert!(out.contains("\"active_profile\": \"cafe\""), "{out}");
}

#[test]
fn catalog_rejects_unknown_commands_and_ids() {
    let w = two_profiles();
    let (code, out, err) = run(w.shim(TOOL).arg("frobnicate"));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err, "unknown command: frobnicate\n");
    let (code, out, err) = run(w.shim(TOOL).args(["show", "nope"]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err, "unknown workflow id: nope\n");
    let (code, _, err) = run(w.shim(TOOL).arg("show"));
    assert_eq!(code, 1);
    assert_eq!(err, "unknown workflow id: \n");
}

#[test]
fn catalog_bad_inputs_fail_with_the_file_named() {
    let w = config_world();
    std::fs::create_dir_all(w.skill.join("assets")).unwrap();
    let catalog = w.skill.join("assets/workflow-catalog.json");
    std::fs::write(&catalog, "{\"workflows\": [").unwrap();
    let (code, out, err) = run(w.shim(TOOL).arg("ids"));
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.contains(catalog.to_str().unwrap()), "{err}");
    assert!(err.contains("invalid JSON"), "{err}");
    std::fs::remove_file(&catalog).unwrap();

    let cfg = profile(&w, "bad", "repo:\n  slug: x\n root: y\n", false);
    let (code, _, err) = run(w.shim(TOOL).arg("context"));
    assert_ne!(code, 0);
    assert!(
        err.contains(&format!("{}:3:", cfg.display())),
        "the YAML error names file and line: {err}"
    );
}

#[test]
fn catalog_without_profiles_or_registry() {
    let mut w = config_world();
    w.env("ACP_PROFILE_REGISTRY_ROOT", w.path("missing"));
    let (code, out, _) = run(w.shim(TOOL).arg("profiles"));
    assert_eq!((code, out.as_str()), (0, ""));
    let (code, out, _) = run(w.shim(TOOL).arg("json"));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v.get("available_profiles").is_none());
    assert_eq!(v["active_profile"], "default");
    assert_eq!(v["profile_selection_mode"], "single-profile-default");
}
