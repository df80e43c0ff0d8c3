//! `profile-smoke.sh`: check installed profiles before the scheduler uses them.
//!
//! Each profile is rendered by the sibling `render-flow-config.sh` (with the
//! profile named explicitly and the caller's backend overrides removed, so
//! the profile's own settings are what is checked), then its fields are
//! checked. Passing profiles are compared for colliding session and branch
//! prefixes.

use std::path::{Path, PathBuf};

use acp_core::config::{self, FlowConfig};
use acp_core::{Env, fail};
use serde_json::{Value, json};

use super::{CLAUDE_EFFORTS, CODING_WORKERS, Sibling, github_remote_slug, kv_first, run, text};

/// Variables (with `ACP_` and `F_LOSNING_` in front) the render of a profile
/// must not take from the caller: the backend and pool overrides of a
/// worker's environment.
const STRIPPED_SUFFIXES: &[&str] = &[
    "CODING_WORKER",
    "CODEX_PROFILE_SAFE",
    "CODEX_PROFILE_BYPASS",
    "CLAUDE_MODEL",
    "CLAUDE_PERMISSION_MODE",
    "CLAUDE_EFFORT",
    "CLAUDE_TIMEOUT_SECONDS",
    "CLAUDE_MAX_ATTEMPTS",
    "CLAUDE_RETRY_BACKOFF_SECONDS",
    "OPENCLAW_MODEL",
    "OPENCLAW_THINKING",
    "OPENCLAW_TIMEOUT_SECONDS",
    "PROVIDER_POOL_ORDER",
    "ACTIVE_PROVIDER_POOL_NAME",
    "ACTIVE_PROVIDER_BACKEND",
    "ACTIVE_PROVIDER_MODEL",
    "ACTIVE_PROVIDER_KEY",
    "PROVIDER_POOLS_EXHAUSTED",
    "PROVIDER_POOL_SELECTION_REASON",
    "PROVIDER_POOL_NEXT_ATTEMPT_EPOCH",
    "PROVIDER_POOL_NEXT_ATTEMPT_AT",
    "PROVIDER_POOL_LAST_REASON",
];

/// Config-file pins that would make the render read another profile (F10).
const CONFIG_PINS: &[&str] = &[
    "AGENT_CONTROL_PLANE_CONFIG",
    "ACP_CONFIG",
    "AGENT_PROJECT_CONFIG_PATH",
    "F_LOSNING_FLOW_CONFIG",
];

/// One profile's outcome.
#[derive(Debug, Clone, Default)]
pub struct ProfileResult {
    pub profile_id: String,
    pub config_yaml: PathBuf,
    pub repo_slug: String,
    pub issue_prefix: String,
    pub pr_prefix: String,
    pub issue_branch_prefix: String,
    pub pr_worktree_branch_prefix: String,
    pub coding_worker: String,
    /// The failure messages in the order found (empty: the profile passed).
    pub failures: Vec<String>,
}

impl ProfileResult {
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }

    fn fail(&mut self, message: impl Into<String>) {
        self.failures.push(message.into());
    }

    fn require(&mut self, label: &str, value: &str) -> bool {
        if value.is_empty() {
            self.fail(format!("{label} missing"));
            return false;
        }
        true
    }

    fn positive(&mut self, label: &str, value: &str) {
        if self.require(label, value) && !is_positive(value) {
            self.fail(format!("{label} must be a positive integer"));
        }
    }

    fn non_negative(&mut self, label: &str, value: &str) {
        if self.require(label, value) && !is_digits(value) {
            self.fail(format!("{label} must be a non-negative integer"));
        }
    }

    fn effort(&mut self, label: &str, value: &str) {
        if !CLAUDE_EFFORTS.contains(&value) {
            self.fail(format!("{label} must be one of: low, medium, high, max"));
        }
    }
}

fn is_digits(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())
}

fn is_positive(v: &str) -> bool {
    is_digits(v) && v.bytes().any(|b| b != b'0')
}

/// Prefixes shared by several passing profiles.
#[derive(Debug, Clone)]
pub struct Duplicate {
    /// `ISSUE_PREFIX`, `PR_PREFIX`, `ISSUE_BRANCH_PREFIX` or `PR_WORKTREE_BRANCH_PREFIX`.
    pub field: &'static str,
    pub value: String,
    pub profiles: Vec<String>,
}

/// The whole run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub profiles: Vec<ProfileResult>,
    pub duplicates: Vec<Duplicate>,
}

impl Report {
    /// Whether every profile passed and no prefix collides.
    pub fn ok(&self) -> bool {
        self.duplicates.is_empty() && self.profiles.iter().all(ProfileResult::ok)
    }

    /// The report as `KEY=value` lines, as 0.2.0 printed it.
    pub fn to_kv(&self) -> String {
        let mut out = String::new();
        let mut line = |k: &str, v: &str| {
            out.push_str(k);
            out.push('=');
            out.push_str(v);
            out.push('\n');
        };
        for p in &self.profiles {
            for f in &p.failures {
                line("PROFILE_ID", &p.profile_id);
                line("PROFILE_STATUS", "failed");
                line("FAILURE", f);
            }
            if p.ok() {
                line("PROFILE_ID", &p.profile_id);
                line("CONFIG_YAML", &text(&p.config_yaml));
                line("REPO_SLUG", &p.repo_slug);
                line("ISSUE_PREFIX", &p.issue_prefix);
                line("PR_PREFIX", &p.pr_prefix);
                line("ISSUE_BRANCH_PREFIX", &p.issue_branch_prefix);
                line("PR_WORKTREE_BRANCH_PREFIX", &p.pr_worktree_branch_prefix);
                line("CODING_WORKER", &p.coding_worker);
                line("PROFILE_STATUS", "ok");
            }
        }
        for d in &self.duplicates {
            line(&format!("DUPLICATE_{}", d.field), &d.value);
            line(
                &format!("DUPLICATE_{}_PROFILES", d.field),
                &d.profiles.join(","),
            );
        }
        line(
            "PROFILE_SMOKE_STATUS",
            if self.ok() { "ok" } else { "failed" },
        );
        out
    }

    /// The report as one JSON object.
    pub fn to_json(&self) -> Value {
        let profiles: Vec<Value> = self
            .profiles
            .iter()
            .map(|p| {
                json!({
                    "profile_id": p.profile_id,
                    "status": if p.ok() { "ok" } else { "failed" },
                    "config_yaml": text(&p.config_yaml),
                    "repo_slug": p.repo_slug,
                    "issue_prefix": p.issue_prefix,
                    "pr_prefix": p.pr_prefix,
                    "issue_branch_prefix": p.issue_branch_prefix,
                    "pr_worktree_branch_prefix": p.pr_worktree_branch_prefix,
                    "coding_worker": p.coding_worker,
                    "failures": p.failures,
                })
            })
            .collect();
        let duplicates: Vec<Value> = self
            .duplicates
            .iter()
            .map(|d| json!({"field": d.field, "value": d.value, "profiles": d.profiles}))
            .collect();
        json!({
            "status": if self.ok() { "ok" } else { "failed" },
            "profiles": profiles,
            "duplicates": duplicates,
        })
    }
}

/// Checks `profile_id`, or every installed profile when `None`. Errors: an
/// invalid id, or no profile installed (exit 1).
pub fn smoke(env: &Env, sibling: &Sibling, profile_id: Option<&str>) -> anyhow::Result<Report> {
    let ids = match profile_id {
        Some(id) => {
            if !config::is_valid_profile_id(id) {
                return Err(fail(
                    1,
                    format!("invalid profile id: {}", id.escape_debug()),
                ));
            }
            vec![id.to_string()]
        }
        None => config::profile_ids(env),
    };
    if ids.is_empty() {
        return Err(fail(1, "no installed profiles found"));
    }
    let mut report = Report::default();
    for id in ids {
        report.profiles.push(check_profile(env, sibling, &id)?);
    }
    report.duplicates = duplicates(&report.profiles);
    Ok(report)
}

/// The environment a profile is rendered and resolved in.
fn profile_env(env: &Env, id: &str) -> Env {
    let mut env = env.clone();
    for key in CONFIG_PINS {
        env.remove(key);
    }
    env.remove("CODING_WORKER");
    for suffix in STRIPPED_SUFFIXES {
        env.remove(&format!("ACP_{suffix}"));
        env.remove(&format!("F_LOSNING_{suffix}"));
    }
    env.set("ACP_PROJECT_ID", id);
    env.set("AGENT_PROJECT_ID", id);
    env
}

/// The render's `EFFECTIVE_<name>` value.
struct Rendered(String);

impl Rendered {
    fn get(&self, key: &str) -> String {
        kv_first(&self.0, key).unwrap_or_default().to_string()
    }
    fn eff(&self, name: &str) -> String {
        self.get(&format!("EFFECTIVE_{name}"))
    }
}

fn check_profile(env: &Env, sibling: &Sibling, id: &str) -> anyhow::Result<ProfileResult> {
    let config_yaml = config::profile_dir(env, id).join(config::CONFIG_FILE_NAME);
    let mut r = ProfileResult {
        profile_id: id.to_string(),
        config_yaml: config_yaml.clone(),
        ..ProfileResult::default()
    };
    if !config_yaml.is_file() {
        r.fail(format!(
            "canonical profile missing: {}",
            config_yaml.display()
        ));
        return Ok(r);
    }
    let cfg = match FlowConfig::from_path(&config_yaml) {
        Ok(cfg) => cfg,
        Err(e) => {
            r.fail(format!(
                "invalid control-plane.yaml: {}",
                acp_core::cli::error_line(&e)
            ));
            return Ok(r);
        }
    };
    let penv = profile_env(env, id);
    let out = run(&mut sibling.command(&penv, "render-flow-config.sh"))?;
    if !out.status.success() {
        r.fail("render-flow-config failed");
        return Ok(r);
    }
    let rendered = Rendered(String::from_utf8_lossy(&out.stdout).into_owned());
    check_rendered(&mut r, &penv, &cfg, &rendered);
    Ok(r)
}

fn check_rendered(r: &mut ProfileResult, env: &Env, cfg: &FlowConfig, out: &Rendered) {
    let id = r.profile_id.clone();
    let rendered_id = out.get("PROFILE_ID");
    if rendered_id != id {
        let shown = if rendered_id.is_empty() {
            "<empty>"
        } else {
            &rendered_id
        };
        r.fail(format!("rendered profile id mismatch: {shown}"));
    }
    if !out.get("AVAILABLE_PROFILES").split(',').any(|p| p == id) {
        r.fail("available profiles missing selected profile");
    }
    let yaml_or = |key: &str, default: String| cfg.get(key).unwrap_or(default);
    r.repo_slug = cfg.get("repo.slug").unwrap_or_default();
    r.issue_prefix = yaml_or("session_naming.issue_prefix", format!("{id}-issue-"));
    r.pr_prefix = yaml_or("session_naming.pr_prefix", format!("{id}-pr-"));
    r.issue_branch_prefix = yaml_or(
        "session_naming.issue_branch_prefix",
        format!("agent/{id}/issue"),
    );
    r.pr_worktree_branch_prefix = yaml_or(
        "session_naming.pr_worktree_branch_prefix",
        format!("agent/{id}/pr"),
    );
    // Roots the YAML leaves out resolve to the lib's defaults (0.2.0 failed them).
    let root = |name: &str, resolved: PathBuf| {
        let v = out.eff(name);
        if v.is_empty() { text(&resolved) } else { v }
    };
    let repo_root = root("REPO_ROOT", config::repo_root(env, cfg));
    r.coding_worker = out.eff("CODING_WORKER");
    let slug = r.repo_slug.clone();
    r.require("repo.slug", &slug);
    let worker = r.coding_worker.clone();
    if r.require("effective.coding_worker", &worker) && !CODING_WORKERS.contains(&worker.as_str()) {
        r.fail(format!("unsupported coding worker: {worker}"));
    }
    check_backend(r, cfg, out, &worker);
    check_pools(r, env, cfg, out, &worker);
    if r.issue_prefix == r.pr_prefix {
        r.fail("issue and pr session prefixes must differ");
    }
    if r.issue_branch_prefix == r.pr_worktree_branch_prefix {
        r.fail("issue and pr branch prefixes must differ");
    }
    if let Some(origin) = github_remote_slug(env, Path::new(&repo_root), "origin")
        && origin != slug
    {
        r.fail(format!("repo.slug mismatch: config={slug} origin={origin}"));
    }
}

/// The settings the profile's coding worker needs.
fn check_backend(r: &mut ProfileResult, cfg: &FlowConfig, out: &Rendered, worker: &str) {
    match worker {
        "codex" => {
            r.require(
                "effective.codex_profile_safe",
                &out.eff("CODEX_PROFILE_SAFE"),
            );
            r.require(
                "effective.codex_profile_bypass",
                &out.eff("CODEX_PROFILE_BYPASS"),
            );
        }
        "claude" => {
            r.require("effective.claude.model", &out.eff("CLAUDE_MODEL"));
            r.require(
                "effective.claude.permission_mode",
                &out.eff("CLAUDE_PERMISSION_MODE"),
            );
            let effort = out.eff("CLAUDE_EFFORT");
            r.require("effective.claude.effort", &effort);
            r.effort("effective.claude.effort", &effort);
            r.positive(
                "effective.claude.timeout_seconds",
                &out.eff("CLAUDE_TIMEOUT_SECONDS"),
            );
            r.positive(
                "effective.claude.max_attempts",
                &out.eff("CLAUDE_MAX_ATTEMPTS"),
            );
            r.non_negative(
                "effective.claude.retry_backoff_seconds",
                &out.eff("CLAUDE_RETRY_BACKOFF_SECONDS"),
            );
        }
        "openclaw" => {
            r.require("effective.openclaw.model", &out.eff("OPENCLAW_MODEL"));
            r.require("effective.openclaw.thinking", &out.eff("OPENCLAW_THINKING"));
            r.positive(
                "effective.openclaw.timeout_seconds",
                &out.eff("OPENCLAW_TIMEOUT_SECONDS"),
            );
        }
        // The other backends have launcher defaults for every setting; a
        // timeout the profile does set must still be a number.
        "ollama" | "pi" | "opencode" | "kilo" => {
            let key = format!("execution.{worker}.timeout_seconds");
            if let Some(v) = cfg.get(&key)
                && !is_positive(&v)
            {
                r.fail(format!(
                    "effective.{worker}.timeout_seconds must be a positive integer"
                ));
            }
        }
        _ => {}
    }
}

/// Provider pools, when the profile orders any.
fn check_pools(r: &mut ProfileResult, env: &Env, cfg: &FlowConfig, out: &Rendered, worker: &str) {
    if out.eff("PROVIDER_POOL_ORDER").is_empty() {
        return;
    }
    let backend = out.eff("PROVIDER_POOL_BACKEND");
    for (label, name) in [
        ("effective.provider_pool_name", "PROVIDER_POOL_NAME"),
        ("effective.provider_pool_backend", "PROVIDER_POOL_BACKEND"),
        ("effective.provider_pool_model", "PROVIDER_POOL_MODEL"),
        (
            "effective.provider_pool_selection_reason",
            "PROVIDER_POOL_SELECTION_REASON",
        ),
    ] {
        r.require(label, &out.eff(name));
    }
    if !backend.is_empty() && backend != worker {
        r.fail("effective provider pool backend does not match effective coding worker");
    }
    let now = acp_core::time::now_epoch();
    for name in config::provider_pool_names(env, cfg) {
        let s = config::provider_pool_state(env, cfg, &name, now);
        let label = |field: &str| format!("provider_pool.{name}.{field}");
        if !s.valid {
            r.fail(format!("provider pool {name} is invalid"));
        }
        r.require(&label("coding_worker"), &s.backend);
        r.require(&label("model"), &s.model);
        match s.backend.as_str() {
            "codex" => {
                r.require(&label("safe_profile"), &s.safe_profile);
                r.require(&label("bypass_profile"), &s.bypass_profile);
            }
            "claude" => {
                r.require(&label("claude.model"), &s.claude_model);
                r.require(&label("claude.permission_mode"), &s.claude_permission_mode);
                r.require(&label("claude.effort"), &s.claude_effort);
                r.effort(&label("claude.effort"), &s.claude_effort);
                r.positive(&label("claude.timeout_seconds"), &s.claude_timeout_seconds);
                r.positive(&label("claude.max_attempts"), &s.claude_max_attempts);
                r.non_negative(
                    &label("claude.retry_backoff_seconds"),
                    &s.claude_retry_backoff_seconds,
                );
            }
            "openclaw" => {
                r.require(&label("openclaw.model"), &s.openclaw_model);
                r.require(&label("openclaw.thinking"), &s.openclaw_thinking);
                r.positive(
                    &label("openclaw.timeout_seconds"),
                    &s.openclaw_timeout_seconds,
                );
            }
            // Validity (a model) is checked above; a timeout set must be a number.
            "ollama" | "pi" => {
                let t = if s.backend == "pi" {
                    &s.pi_timeout_seconds
                } else {
                    &s.ollama_timeout_seconds
                };
                if !t.is_empty() && !is_positive(t) {
                    r.fail(format!(
                        "{} must be a positive integer",
                        label(&format!("{}.timeout_seconds", s.backend))
                    ));
                }
            }
            "" => {}
            other => r.fail(format!("{} unsupported: {other}", label("coding_worker"))),
        }
    }
}

/// Values of the four prefixes shared by more than one passing profile,
/// per field, sorted by value.
fn duplicates(profiles: &[ProfileResult]) -> Vec<Duplicate> {
    type Get = fn(&ProfileResult) -> &str;
    let fields: [(&'static str, Get); 4] = [
        ("ISSUE_PREFIX", |p| &p.issue_prefix),
        ("PR_PREFIX", |p| &p.pr_prefix),
        ("ISSUE_BRANCH_PREFIX", |p| &p.issue_branch_prefix),
        ("PR_WORKTREE_BRANCH_PREFIX", |p| {
            &p.pr_worktree_branch_prefix
        }),
    ];
    let mut out = Vec::new();
    for (field, get) in fields {
        let mut groups: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
        for p in profiles.iter().filter(|p| p.ok()) {
            let v = get(p);
            if !v.is_empty() {
                groups.entry(v).or_default().push(p.profile_id.clone());
            }
        }
        for (value, ids) in groups {
            if ids.len() > 1 {
                out.push(Duplicate {
                    field,
                    value: value.to_string(),
                    profiles: ids,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        assert!(is_positive("1") && is_positive("010"));
        assert!(!is_positive("0") && !is_positive("00") && !is_positive("-1") && !is_positive(""));
        assert!(is_digits("0") && !is_digits("1.5"));
    }

    #[test]
    fn duplicates_are_grouped_and_sorted() {
        let p = |id: &str, ip: &str| ProfileResult {
            profile_id: id.into(),
            issue_prefix: ip.into(),
            pr_prefix: format!("{id}-pr-"),
            ..ProfileResult::default()
        };
        let d = duplicates(&[p("a", "x-"), p("b", "x-"), p("c", "c-")]);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].field, "ISSUE_PREFIX");
        assert_eq!(d[0].profiles, ["a", "b"]);
    }
}
