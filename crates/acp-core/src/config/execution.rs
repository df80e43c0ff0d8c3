//! Provider pools and the execution environment a worker runs with
//! (`flow_provider_pool_state_get`, `flow_selected_provider_pool_env`,
//! `flow_export_execution_env`).

use std::path::PathBuf;

use super::aliases::export_env_aliases;
use super::file::FlowConfig;
use super::settings::{
    env_or_config, provider_pool_order, provider_quota_cooldowns, repo_id, repo_slug, state_root,
};
use crate::Env;
use crate::envfile::{self, Mode};

/// One pool's configuration and cooldown state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolState {
    pub pool_name: String,
    pub valid: bool,
    pub backend: String,
    pub model: String,
    pub provider_key: String,
    pub attempts: String,
    pub next_attempt_epoch: String,
    pub next_attempt_at: String,
    pub ready: bool,
    pub last_reason: String,
    pub updated_at: String,
    pub safe_profile: String,
    pub bypass_profile: String,
    pub claude_model: String,
    pub claude_permission_mode: String,
    pub claude_effort: String,
    pub claude_timeout_seconds: String,
    pub claude_max_attempts: String,
    pub claude_retry_backoff_seconds: String,
    pub openclaw_model: String,
    pub openclaw_thinking: String,
    pub openclaw_timeout_seconds: String,
    pub ollama_model: String,
    pub ollama_base_url: String,
    pub ollama_timeout_seconds: String,
    pub pi_model: String,
    pub pi_thinking: String,
    pub pi_timeout_seconds: String,
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

impl PoolState {
    /// The state as the original's KV lines (`POOL_NAME=` ... `PI_TIMEOUT_SECONDS=`).
    pub fn to_kv(&self) -> String {
        let rows: [(&str, &str); 28] = [
            ("POOL_NAME", &self.pool_name),
            ("VALID", yes_no(self.valid)),
            ("BACKEND", &self.backend),
            ("MODEL", &self.model),
            ("PROVIDER_KEY", &self.provider_key),
            ("ATTEMPTS", &self.attempts),
            ("NEXT_ATTEMPT_EPOCH", &self.next_attempt_epoch),
            ("NEXT_ATTEMPT_AT", &self.next_attempt_at),
            ("READY", yes_no(self.ready)),
            ("LAST_REASON", &self.last_reason),
            ("UPDATED_AT", &self.updated_at),
            ("SAFE_PROFILE", &self.safe_profile),
            ("BYPASS_PROFILE", &self.bypass_profile),
            ("CLAUDE_MODEL", &self.claude_model),
            ("CLAUDE_PERMISSION_MODE", &self.claude_permission_mode),
            ("CLAUDE_EFFORT", &self.claude_effort),
            ("CLAUDE_TIMEOUT_SECONDS", &self.claude_timeout_seconds),
            ("CLAUDE_MAX_ATTEMPTS", &self.claude_max_attempts),
            (
                "CLAUDE_RETRY_BACKOFF_SECONDS",
                &self.claude_retry_backoff_seconds,
            ),
            ("OPENCLAW_MODEL", &self.openclaw_model),
            ("OPENCLAW_THINKING", &self.openclaw_thinking),
            ("OPENCLAW_TIMEOUT_SECONDS", &self.openclaw_timeout_seconds),
            ("OLLAMA_MODEL", &self.ollama_model),
            ("OLLAMA_BASE_URL", &self.ollama_base_url),
            ("OLLAMA_TIMEOUT_SECONDS", &self.ollama_timeout_seconds),
            ("PI_MODEL", &self.pi_model),
            ("PI_THINKING", &self.pi_thinking),
            ("PI_TIMEOUT_SECONDS", &self.pi_timeout_seconds),
        ];
        rows.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
    }
}

/// The pool names of the effective `execution.provider_pool_order`.
pub fn provider_pool_names(env: &Env, cfg: &FlowConfig) -> Vec<String> {
    provider_pool_order(env, cfg)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// `<backend>-<model>` lower-cased, runs outside `a-z0-9._-` turned into
/// one `-`, leading/trailing dashes trimmed, repeated dashes collapsed.
pub fn sanitize_provider_key(raw: &str) -> String {
    let lower = raw.to_lowercase();
    let mut out = String::with_capacity(lower.len());
    for c in lower.chars() {
        let keep = c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-');
        let c = if keep { c } else { '-' };
        if c == '-' && out.ends_with('-') {
            continue;
        }
        out.push(c);
    }
    out.trim_matches('-').to_string()
}

/// `<state root>/retries/providers/<key>.env`.
pub fn provider_state_file(env: &Env, cfg: &FlowConfig, provider_key: &str) -> PathBuf {
    state_root(env, cfg)
        .join("retries/providers")
        .join(format!("{provider_key}.env"))
}

/// The configuration and cooldown state of pool `name` at time `now_epoch`.
/// The cooldown file is read as data (never executed).
pub fn provider_pool_state(env: &Env, cfg: &FlowConfig, name: &str, now_epoch: i64) -> PoolState {
    let get = |rel: &str| {
        cfg.get(&format!("execution.provider_pools.{name}.{rel}"))
            .unwrap_or_default()
    };
    let mut s = PoolState {
        pool_name: name.to_string(),
        backend: get("coding_worker"),
        safe_profile: get("safe_profile"),
        bypass_profile: get("bypass_profile"),
        claude_model: get("claude.model"),
        claude_permission_mode: get("claude.permission_mode"),
        claude_effort: get("claude.effort"),
        claude_timeout_seconds: get("claude.timeout_seconds"),
        claude_max_attempts: get("claude.max_attempts"),
        claude_retry_backoff_seconds: get("claude.retry_backoff_seconds"),
        openclaw_model: get("openclaw.model"),
        openclaw_thinking: get("openclaw.thinking"),
        openclaw_timeout_seconds: get("openclaw.timeout_seconds"),
        ollama_model: get("ollama.model"),
        ollama_base_url: get("ollama.base_url"),
        ollama_timeout_seconds: get("ollama.timeout_seconds"),
        pi_model: get("pi.model"),
        pi_thinking: get("pi.thinking"),
        pi_timeout_seconds: get("pi.timeout_seconds"),
        attempts: "0".to_string(),
        next_attempt_epoch: "0".to_string(),
        ..PoolState::default()
    };
    let all = |v: &[&String]| v.iter().all(|x| !x.is_empty());
    let (valid, model) = match s.backend.as_str() {
        "codex" => (
            all(&[&s.safe_profile, &s.bypass_profile]),
            s.safe_profile.clone(),
        ),
        "claude" => (
            all(&[
                &s.claude_model,
                &s.claude_permission_mode,
                &s.claude_effort,
                &s.claude_timeout_seconds,
                &s.claude_max_attempts,
                &s.claude_retry_backoff_seconds,
            ]),
            s.claude_model.clone(),
        ),
        "openclaw" => (
            all(&[
                &s.openclaw_model,
                &s.openclaw_thinking,
                &s.openclaw_timeout_seconds,
            ]),
            s.openclaw_model.clone(),
        ),
        "ollama" => (!s.ollama_model.is_empty(), s.ollama_model.clone()),
        "pi" => (!s.pi_model.is_empty(), s.pi_model.clone()),
        _ => (false, String::new()),
    };
    s.valid = valid;
    s.model = model;
    if s.valid && !s.model.is_empty() {
        s.provider_key = sanitize_provider_key(&format!("{}-{}", s.backend, s.model));
        let file = provider_state_file(env, cfg, &s.provider_key);
        // An unreadable or garbled cooldown file counts as no cooldown.
        if let Ok(Some(state)) = envfile::EnvFile::load_if_exists(&file, Mode::Lenient) {
            let field =
                |k: &str, d: &str| state.get(k).filter(|v| !v.is_empty()).unwrap_or(d.into());
            s.attempts = field("ATTEMPTS", "0");
            s.next_attempt_epoch = field("NEXT_ATTEMPT_EPOCH", "0");
            s.next_attempt_at = field("NEXT_ATTEMPT_AT", "");
            s.last_reason = field("LAST_REASON", "");
            s.updated_at = field("UPDATED_AT", "");
        }
        let cooling = s.next_attempt_epoch.parse::<i64>().is_ok_and(|e| {
            s.next_attempt_epoch.bytes().all(|b| b.is_ascii_digit()) && e > now_epoch
        });
        s.ready = !cooling;
    } else {
        s.ready = false;
    }
    s
}

/// The pool a worker should use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSelection {
    pub state: PoolState,
    /// Every valid pool is cooling down (the one that recovers first was taken).
    pub exhausted: bool,
    /// `ready` or `all-cooldown`.
    pub reason: &'static str,
}

impl PoolSelection {
    /// The pool state lines plus `POOLS_EXHAUSTED=` and `SELECTION_REASON=`.
    pub fn to_kv(&self) -> String {
        format!(
            "{}POOLS_EXHAUSTED={}\nSELECTION_REASON={}\n",
            self.state.to_kv(),
            yes_no(self.exhausted),
            self.reason
        )
    }
}

/// The first valid ready pool in order; else the valid pool whose cooldown
/// ends first (ties: the earlier one); `None` when pools are disabled or none
/// is valid.
pub fn select_provider_pool(env: &Env, cfg: &FlowConfig, now_epoch: i64) -> Option<PoolSelection> {
    let mut exhausted: Option<(PoolState, Option<u64>)> = None;
    for name in provider_pool_names(env, cfg) {
        let state = provider_pool_state(env, cfg, &name, now_epoch);
        if !state.valid {
            continue;
        }
        if state.ready {
            return Some(PoolSelection {
                state,
                exhausted: false,
                reason: "ready",
            });
        }
        let epoch = state.next_attempt_epoch.parse::<u64>().ok();
        match &exhausted {
            None => exhausted = Some((state, epoch)),
            Some((_, best)) => {
                if let (Some(e), Some(b)) = (epoch, best)
                    && e < *b
                {
                    exhausted = Some((state, epoch));
                }
            }
        }
    }
    exhausted.map(|(state, _)| PoolSelection {
        state,
        exhausted: true,
        reason: "all-cooldown",
    })
}

/// Backend settings exported for workers: `(suffix, yaml key, pool field)`.
const BACKEND_SETTINGS: &[(&str, &str)] = &[
    ("CODEX_PROFILE_SAFE", "execution.safe_profile"),
    ("CODEX_PROFILE_BYPASS", "execution.bypass_profile"),
    ("CLAUDE_MODEL", "execution.claude.model"),
    ("CLAUDE_PERMISSION_MODE", "execution.claude.permission_mode"),
    ("CLAUDE_EFFORT", "execution.claude.effort"),
    ("CLAUDE_TIMEOUT_SECONDS", "execution.claude.timeout_seconds"),
    ("CLAUDE_MAX_ATTEMPTS", "execution.claude.max_attempts"),
    (
        "CLAUDE_RETRY_BACKOFF_SECONDS",
        "execution.claude.retry_backoff_seconds",
    ),
    ("OPENCLAW_MODEL", "execution.openclaw.model"),
    ("OPENCLAW_THINKING", "execution.openclaw.thinking"),
    (
        "OPENCLAW_TIMEOUT_SECONDS",
        "execution.openclaw.timeout_seconds",
    ),
    ("OPENCLAW_STALL_SECONDS", "execution.openclaw.stall_seconds"),
    ("OLLAMA_MODEL", "execution.ollama.model"),
    ("OLLAMA_BASE_URL", "execution.ollama.base_url"),
    ("OLLAMA_TIMEOUT_SECONDS", "execution.ollama.timeout_seconds"),
    ("PI_MODEL", "execution.pi.model"),
    ("PI_THINKING", "execution.pi.thinking"),
    ("PI_TIMEOUT_SECONDS", "execution.pi.timeout_seconds"),
];

fn pool_field(s: &PoolState, suffix: &str) -> String {
    match suffix {
        "CODEX_PROFILE_SAFE" => &s.safe_profile,
        "CODEX_PROFILE_BYPASS" => &s.bypass_profile,
        "CLAUDE_MODEL" => &s.claude_model,
        "CLAUDE_PERMISSION_MODE" => &s.claude_permission_mode,
        "CLAUDE_EFFORT" => &s.claude_effort,
        "CLAUDE_TIMEOUT_SECONDS" => &s.claude_timeout_seconds,
        "CLAUDE_MAX_ATTEMPTS" => &s.claude_max_attempts,
        "CLAUDE_RETRY_BACKOFF_SECONDS" => &s.claude_retry_backoff_seconds,
        "OPENCLAW_MODEL" => &s.openclaw_model,
        "OPENCLAW_THINKING" => &s.openclaw_thinking,
        "OPENCLAW_TIMEOUT_SECONDS" => &s.openclaw_timeout_seconds,
        "OLLAMA_MODEL" => &s.ollama_model,
        "OLLAMA_BASE_URL" => &s.ollama_base_url,
        "OLLAMA_TIMEOUT_SECONDS" => &s.ollama_timeout_seconds,
        "PI_MODEL" => &s.pi_model,
        "PI_THINKING" => &s.pi_thinking,
        "PI_TIMEOUT_SECONDS" => &s.pi_timeout_seconds,
        // A pool has no stall setting; the plain env/YAML value is kept.
        _ => return String::new(),
    }
    .clone()
}

fn set_pair(env: &mut Env, suffix: &str, value: &str) {
    env.set(format!("F_LOSNING_{suffix}"), value);
    env.set(format!("ACP_{suffix}"), value);
}

/// The provider-pool and backend part of `flow_export_execution_env`, applied
/// to `env` (no GitHub auth probing, no alias pass). A config that does not
/// exist leaves `env` untouched. With `ACP_CODING_WORKER` unset and a pool
/// order configured, the selected pool decides the backend and its settings;
/// otherwise each setting is env > YAML (reason `legacy-config`, or
/// `env-override` when `ACP_CODING_WORKER` was set).
pub fn export_execution_settings(env: &mut Env, cfg: &FlowConfig, now_epoch: i64) {
    if !cfg.exists() {
        return;
    }
    let repo_id = repo_id(env, cfg);
    let cooldowns = provider_quota_cooldowns(env, cfg);
    let order = provider_pool_order(env, cfg);
    let explicit_worker = env.non_empty("ACP_CODING_WORKER");
    let selection = if explicit_worker.is_none() && !order.is_empty() {
        select_provider_pool(env, cfg, now_epoch)
    } else {
        None
    };

    let coding_worker;
    let mut settings: Vec<(&str, String)> = Vec::new();
    let (pool_name, backend, model, key, epoch, at, last_reason, exhausted, reason);
    match &selection {
        Some(sel) => {
            let s = &sel.state;
            pool_name = s.pool_name.clone();
            backend = s.backend.clone();
            model = s.model.clone();
            key = s.provider_key.clone();
            epoch = s.next_attempt_epoch.clone();
            at = s.next_attempt_at.clone();
            last_reason = s.last_reason.clone();
            exhausted = yes_no(sel.exhausted);
            reason = sel.reason;
            coding_worker = s.backend.clone();
            for (suffix, _) in BACKEND_SETTINGS {
                settings.push((suffix, pool_field(s, suffix)));
            }
        }
        None => {
            pool_name = String::new();
            backend = String::new();
            model = String::new();
            key = String::new();
            epoch = String::new();
            at = String::new();
            last_reason = String::new();
            exhausted = "no";
            reason = if explicit_worker.is_some() {
                "env-override"
            } else {
                "legacy-config"
            };
            coding_worker = env_or_config(
                env,
                cfg,
                &["ACP_CODING_WORKER"],
                "execution.coding_worker",
                "",
            );
            for (suffix, yaml_key) in BACKEND_SETTINGS {
                let acp = format!("ACP_{suffix}");
                let fl = format!("F_LOSNING_{suffix}");
                let value = env_or_config(env, cfg, &[acp.as_str(), fl.as_str()], yaml_key, "");
                settings.push((suffix, value));
            }
        }
    }

    if !coding_worker.is_empty() {
        env.set("ACP_CODING_WORKER", coding_worker);
    }
    if !repo_id.is_empty() {
        set_pair(env, "REPO_ID", &repo_id);
        set_pair(env, "GITHUB_REPOSITORY_ID", &repo_id);
    }
    if !cooldowns.is_empty() {
        set_pair(env, "PROVIDER_QUOTA_COOLDOWNS", &cooldowns);
    }
    set_pair(env, "PROVIDER_POOL_ORDER", &order);
    set_pair(env, "ACTIVE_PROVIDER_POOL_NAME", &pool_name);
    set_pair(env, "ACTIVE_PROVIDER_BACKEND", &backend);
    set_pair(env, "ACTIVE_PROVIDER_MODEL", &model);
    set_pair(env, "ACTIVE_PROVIDER_KEY", &key);
    set_pair(env, "PROVIDER_POOLS_EXHAUSTED", exhausted);
    set_pair(env, "PROVIDER_POOL_SELECTION_REASON", reason);
    set_pair(env, "PROVIDER_POOL_NEXT_ATTEMPT_EPOCH", &epoch);
    set_pair(env, "PROVIDER_POOL_NEXT_ATTEMPT_AT", &at);
    set_pair(env, "PROVIDER_POOL_LAST_REASON", &last_reason);
    for (suffix, value) in settings {
        if !value.is_empty() {
            set_pair(env, suffix, &value);
        }
    }
}

/// `flow_export_execution_env` on an explicit environment: provider pools
/// and backend settings ([`export_execution_settings`]), then the GitHub
/// CLI auth variables for the repo slug, then the alias pass.
pub fn export_execution_env(env: &mut Env, cfg: &FlowConfig) -> anyhow::Result<()> {
    if !cfg.exists() {
        return Ok(());
    }
    export_execution_settings(env, cfg, crate::time::now_epoch());
    let slug = repo_slug(env, cfg);
    super::github_auth::export_github_cli_auth_env(env, &slug);
    export_env_aliases(env);
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::path::Path;

    const POOLS: &str = r#"
id: demo
execution:
  coding_worker: openclaw
  provider_pool_order: "primary fallback broken"
  provider_pools:
    primary:
      coding_worker: openclaw
      openclaw:
        model: "Primary/Model"
        thinking: adaptive
        timeout_seconds: 321
    fallback:
      coding_worker: claude
      claude:
        model: fallback-sonnet
        permission_mode: dontAsk
        effort: high
        timeout_seconds: 777
        max_attempts: 5
        retry_backoff_seconds: 12
    broken:
      coding_worker: claude
      claude:
        model: half
"#;

    fn world(pools_yaml: &str) -> (tempfile::TempDir, Env, FlowConfig) {
        let t = tempfile::tempdir().unwrap();
        let state = t.path().join("state");
        let text = format!("{pools_yaml}runtime:\n  state_root: {}\n", state.display());
        let path = t.path().join("control-plane.yaml");
        std::fs::write(&path, text).unwrap();
        let cfg = FlowConfig::from_path(&path).unwrap();
        let mut env = Env::new();
        env.set("HOME", t.path());
        (t, env, cfg)
    }

    fn cooldown(t: &Path, key: &str, epoch: i64) {
        let p = t.join(format!("state/retries/providers/{key}.env"));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(
            p,
            format!("ATTEMPTS=2\nNEXT_ATTEMPT_EPOCH={epoch}\nNEXT_ATTEMPT_AT='2099-01-01T00:00:00Z'\nLAST_REASON=provider-quota-limit\n$(touch {}/pwned)\n", t.display()),
        )
        .unwrap();
    }

    #[test]
    fn sanitize_key() {
        assert_eq!(
            sanitize_provider_key("openclaw-primary/model"),
            "openclaw-primary-model"
        );
        assert_eq!(sanitize_provider_key("--Claude  Opus!!--"), "claude-opus");
        assert_eq!(sanitize_provider_key("a..b__c"), "a..b__c");
    }

    #[test]
    fn pool_validity_and_state() {
        let (t, env, cfg) = world(POOLS);
        let p = provider_pool_state(&env, &cfg, "primary", 1000);
        assert!(p.valid && p.ready);
        assert_eq!(p.model, "Primary/Model");
        assert_eq!(p.provider_key, "openclaw-primary-model");
        assert_eq!(p.attempts, "0");
        let b = provider_pool_state(&env, &cfg, "broken", 1000);
        assert!(!b.valid && !b.ready);
        assert_eq!(b.provider_key, "");
        let missing = provider_pool_state(&env, &cfg, "nope", 1000);
        assert!(!missing.valid);
        assert!(
            missing
                .to_kv()
                .starts_with("POOL_NAME=nope\nVALID=no\nBACKEND=\n")
        );

        cooldown(t.path(), "openclaw-primary-model", 5000);
        let p = provider_pool_state(&env, &cfg, "primary", 1000);
        assert!(p.valid && !p.ready);
        assert_eq!(p.attempts, "2");
        assert_eq!(p.next_attempt_at, "2099-01-01T00:00:00Z");
        assert!(
            !t.path().join("pwned").exists(),
            "state files are never executed"
        );
        assert!(provider_pool_state(&env, &cfg, "primary", 6000).ready);
    }

    #[test]
    fn selection_ready_then_all_cooldown() {
        let (t, env, cfg) = world(POOLS);
        let sel = select_provider_pool(&env, &cfg, 1000).unwrap();
        assert_eq!(
            (sel.state.pool_name.as_str(), sel.reason),
            ("primary", "ready")
        );
        cooldown(t.path(), "openclaw-primary-model", 5000);
        let sel = select_provider_pool(&env, &cfg, 1000).unwrap();
        assert_eq!(sel.state.pool_name, "fallback");
        assert!(!sel.exhausted);
        cooldown(t.path(), "claude-fallback-sonnet", 3000);
        let sel = select_provider_pool(&env, &cfg, 1000).unwrap();
        assert_eq!(
            (sel.state.pool_name.as_str(), sel.exhausted, sel.reason),
            ("fallback", true, "all-cooldown")
        );
        assert!(
            sel.to_kv()
                .ends_with("POOLS_EXHAUSTED=yes\nSELECTION_REASON=all-cooldown\n")
        );
    }

    #[test]
    fn execution_env_pool_mode() {
        let (t, mut env, cfg) = world(POOLS);
        cooldown(t.path(), "openclaw-primary-model", 5000);
        env.set("ACP_OPENCLAW_STALL_SECONDS", "99");
        export_execution_settings(&mut env, &cfg, 1000);
        assert_eq!(env.get("ACP_CODING_WORKER").as_deref(), Some("claude"));
        assert_eq!(
            env.get("ACP_ACTIVE_PROVIDER_POOL_NAME").as_deref(),
            Some("fallback")
        );
        assert_eq!(
            env.get("F_LOSNING_ACTIVE_PROVIDER_BACKEND").as_deref(),
            Some("claude")
        );
        assert_eq!(
            env.get("ACP_ACTIVE_PROVIDER_MODEL").as_deref(),
            Some("fallback-sonnet")
        );
        assert_eq!(
            env.get("ACP_ACTIVE_PROVIDER_KEY").as_deref(),
            Some("claude-fallback-sonnet")
        );
        assert_eq!(
            env.get("ACP_PROVIDER_POOLS_EXHAUSTED").as_deref(),
            Some("no")
        );
        assert_eq!(
            env.get("ACP_PROVIDER_POOL_SELECTION_REASON").as_deref(),
            Some("ready")
        );
        assert_eq!(
            env.get("ACP_CLAUDE_MODEL").as_deref(),
            Some("fallback-sonnet")
        );
        assert_eq!(
            env.get("F_LOSNING_CLAUDE_MAX_ATTEMPTS").as_deref(),
            Some("5")
        );
        assert_eq!(
            env.get("ACP_PROVIDER_POOL_ORDER").as_deref(),
            Some("primary fallback broken")
        );
        assert_eq!(
            env.get("ACP_PROVIDER_QUOTA_COOLDOWNS").as_deref(),
            Some("300,900,1800,3600")
        );
        assert_eq!(env.get("ACP_OPENCLAW_STALL_SECONDS").as_deref(), Some("99"));
        assert_eq!(env.get("ACP_REPO_ID"), None);
    }

    #[test]
    fn execution_env_legacy_and_override() {
        let (_t, mut env, cfg) = world(
            "id: a\nrepo:\n  id: 42\nexecution:\n  coding_worker: openclaw\n  openclaw:\n    model: m\n",
        );
        export_execution_settings(&mut env, &cfg, 1000);
        assert_eq!(env.get("ACP_CODING_WORKER").as_deref(), Some("openclaw"));
        assert_eq!(env.get("F_LOSNING_OPENCLAW_MODEL").as_deref(), Some("m"));
        assert_eq!(env.get("ACP_GITHUB_REPOSITORY_ID").as_deref(), Some("42"));
        assert_eq!(
            env.get("ACP_PROVIDER_POOL_SELECTION_REASON").as_deref(),
            Some("legacy-config")
        );
        assert_eq!(
            env.get("ACP_ACTIVE_PROVIDER_POOL_NAME").as_deref(),
            Some("")
        );
        assert_eq!(env.get("ACP_CLAUDE_MODEL"), None);

        let (_t, mut env, cfg) = world(POOLS);
        env.set("ACP_CODING_WORKER", "codex");
        env.set("ACP_CLAUDE_MODEL", "sonnet");
        export_execution_settings(&mut env, &cfg, 1000);
        assert_eq!(env.get("ACP_CODING_WORKER").as_deref(), Some("codex"));
        assert_eq!(env.get("F_LOSNING_CLAUDE_MODEL").as_deref(), Some("sonnet"));
        assert_eq!(
            env.get("ACP_PROVIDER_POOL_SELECTION_REASON").as_deref(),
            Some("env-override")
        );
        assert_eq!(
            env.get("ACP_ACTIVE_PROVIDER_POOL_NAME").as_deref(),
            Some("")
        );
    }

    #[test]
    fn execution_env_missing_config_is_a_no_op() {
        let mut env = Env::new();
        env.set("A", "1");
        let before = env.clone();
        let cfg = FlowConfig::empty(Path::new("/nonexistent/control-plane.yaml"));
        export_execution_env(&mut env, &cfg).unwrap();
        assert_eq!(env, before);
    }
}
