//! `flow-runtime-doctor.sh`: whether the package, its runtime copy and the
//! selected profile are in place, and what to do next when they are not.

use std::path::{Path, PathBuf};

use acp_core::Env;
use acp_core::config::{self, FlowConfig, SelectionMode};
use acp_core::shellquote::{QuoteLocale, quote_str};
use anyhow::Result;

use super::publish::skill_dir_in;

/// The doctor's findings, as ordered `KEY=value` rows.
#[derive(Debug, Clone)]
pub struct Report {
    pub rows: Vec<(&'static str, String)>,
}

impl Report {
    /// The value of `key` (the first row with it).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.rows
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether everything is in place (`DOCTOR_STATUS=ok`).
    pub fn ok(&self) -> bool {
        self.get("DOCTOR_STATUS") == Some("ok")
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

fn text(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Examines the installation as the tool at `script_path` sees it (`env`
/// with the `ACP_`/`F_LOSNING_` aliases exported).
pub fn examine(env: &Env, script_path: Option<&Path>) -> Result<Report> {
    let skill = config::skill_root(env, script_path)?;
    let shared = config::shared_agent_home(env, &skill);
    let canonical = config::canonical_skill_name(env);
    let compat = config::compat_skill_alias(env);
    let runtime = config::runtime_home(env);
    let alias_dir = |home: &Path| -> String {
        compat
            .as_deref()
            .map(|a| text(&skill_dir_in(home, a)))
            .unwrap_or_default()
    };
    let exists = |p: &str| yes_no(!p.is_empty() && std::fs::symlink_metadata(p).is_ok());
    let source_canonical = text(&skill_dir_in(&shared, &canonical));
    let source_compat = alias_dir(&shared);
    let runtime_canonical = text(&skill_dir_in(&runtime, &canonical));
    let runtime_compat = alias_dir(&runtime);
    let catalog = text(&skill.join("assets/workflow-catalog.json"));
    let config_yaml = config::config_path(env);
    let cfg = FlowConfig::from_path(&config_yaml)?;
    let profile_id = config::adapter_id(env, &cfg);
    let profiles = config::profile_ids(env).join(",");
    let mode = config::selection_mode(env);
    let notes = config::profile_notes_path(&config_yaml);

    let is_canonical_checkout = skill.file_name().is_some_and(|n| n == canonical.as_str());
    // A package that is its own source home is ready whatever its
    // directory is called (the original went by the name alone).
    let own_source = shared == skill && config::is_skill_root(&skill);
    let source_ready = is_canonical_checkout || own_source || exists(&source_canonical) == "yes";
    let runtime_ready = exists(&runtime_canonical) == "yes";
    let profile_exists = config_yaml.is_file();
    let ok = source_ready && runtime_ready && profile_exists;

    let mut rows: Vec<(&'static str, String)> = vec![
        ("CONTROL_PLANE_NAME", canonical.clone()),
        ("COMPAT_SKILL_ALIAS", compat.clone().unwrap_or_default()),
        ("FLOW_SKILL_DIR", text(&skill)),
        ("PROFILE_REGISTRY_ROOT", text(&config::registry_root(env))),
        ("CONFIG_YAML", text(&config_yaml)),
        ("PROFILE_ID", profile_id.clone()),
        ("PROFILE_SELECTION_MODE", mode.as_str().to_string()),
    ];
    if mode == SelectionMode::ImplicitDefault {
        rows.push(("PROFILE_SELECTION_HINT", config::SELECTION_HINT.to_string()));
    }
    rows.extend([
        ("PROFILE_NOTES", text(&notes)),
        ("PROFILE_NOTES_EXISTS", yes_no(notes.is_file())),
        ("PROFILE_EXISTS", yes_no(profile_exists)),
        ("AVAILABLE_PROFILES", profiles.clone()),
        ("INSTALLED_PROFILES", profiles),
        ("SHARED_AGENT_HOME", text(&shared)),
        ("SOURCE_CANONICAL_SKILL_DIR", source_canonical.clone()),
        ("SOURCE_CANONICAL_EXISTS", exists(&source_canonical)),
        (
            "ACTIVE_CHECKOUT_IS_CANONICAL",
            yes_no(is_canonical_checkout),
        ),
        ("SOURCE_READY", yes_no(source_ready)),
        ("SOURCE_COMPAT_SKILL_DIR", source_compat.clone()),
        ("SOURCE_COMPAT_EXISTS", exists(&source_compat)),
        ("RUNTIME_HOME", text(&runtime)),
        ("RUNTIME_CANONICAL_SKILL_DIR", runtime_canonical.clone()),
        ("RUNTIME_CANONICAL_EXISTS", yes_no(runtime_ready)),
        ("RUNTIME_COMPAT_SKILL_DIR", runtime_compat.clone()),
        ("RUNTIME_COMPAT_EXISTS", exists(&runtime_compat)),
        ("WORKFLOW_CATALOG", catalog.clone()),
        ("WORKFLOW_CATALOG_EXISTS", exists(&catalog)),
        (
            "DOCTOR_STATUS",
            if ok { "ok" } else { "needs-sync" }.to_string(),
        ),
    ]);
    if mode == SelectionMode::ImplicitDefault {
        rows.push((
            "PROFILE_SELECTION_NEXT_STEP",
            format!(
                "ACP_PROJECT_ID=<id> bash {}/tools/bin/render-flow-config.sh",
                skill.display()
            ),
        ));
    }
    if !ok {
        let step = Step {
            skill: &skill,
            shared: &shared,
            runtime: &runtime,
            profile_id: &profile_id,
        };
        rows.push(("NEXT_STEP", step.next(source_ready, runtime_ready)));
    }
    Ok(Report { rows })
}

/// What the doctor suggests when something is missing.
struct Step<'a> {
    skill: &'a PathBuf,
    shared: &'a PathBuf,
    runtime: &'a PathBuf,
    profile_id: &'a str,
}

impl Step<'_> {
    /// Publishing when the package or its runtime copy is missing and the
    /// source is not the runtime home itself (that sync would do nothing);
    /// otherwise creating the missing profile.
    fn next(&self, source_ready: bool, runtime_ready: bool) -> String {
        let q = |p: &Path| quote_str(&text(p), QuoteLocale::C);
        let same_home = acp_core::fsx::canonical_or_given(self.shared)
            == acp_core::fsx::canonical_or_given(self.runtime);
        if (!source_ready || !runtime_ready) && !same_home {
            let sync = self.skill.join("tools/bin/sync-shared-agent-home.sh");
            return format!("bash {} {} {}", q(&sync), q(self.shared), q(self.runtime));
        }
        let init = self.skill.join("tools/bin/project-init.sh");
        format!(
            "bash {} --profile-id {} --repo-slug <owner/repo>",
            q(&init),
            quote_str(self.profile_id, QuoteLocale::C)
        )
    }
}
