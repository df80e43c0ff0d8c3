//! The capacity limits `heartbeat-safe-auto.sh` hands the heartbeat loop
//! (spec 1.4.1): the static maxima from the environment, scaled down by the
//! number of usable codex accounts in the codex-quota manager's cache.
//!
//! [`derive`] is pure apart from reading the cache file: it returns the
//! `KEY=value` lines the wrapper prints and the effective numbers.

use std::path::PathBuf;

use acp_core::Env;

/// The static maxima and knobs, as read from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Static {
    pub max_workers: i64,
    pub max_heavy_workers: i64,
    pub max_pr_workers: i64,
    pub max_recurring_workers: i64,
    pub max_scheduled_workers: i64,
    pub max_scheduled_heavy_workers: i64,
    pub max_blocked_recovery_workers: i64,
    pub blocked_recovery_cooldown_seconds: i64,
    pub max_open_agent_prs_for_recurring: i64,
    pub max_launches_per_heartbeat: i64,
}

/// Numeric setting `ACP_<name>` / `F_LOSNING_<name>`, else `default`; a
/// value that is not a whole number counts as the default.
fn number(env: &Env, name: &str, default: i64) -> i64 {
    env.acp_or(name, "")
        .trim()
        .parse::<i64>()
        .unwrap_or(default)
}

impl Static {
    /// The maxima from `ACP_*` (or `F_LOSNING_*`) variables, with the
    /// original's defaults (20 workers, 1 heavy, 12 PR, 6 recurring, ...).
    pub fn from_env(env: &Env) -> Self {
        let max_workers = number(env, "MAX_CONCURRENT_WORKERS", 20);
        Self {
            max_workers,
            max_heavy_workers: number(env, "MAX_CONCURRENT_E2E_WORKERS", 1),
            max_pr_workers: number(env, "MAX_CONCURRENT_PR_WORKERS", 12),
            max_recurring_workers: number(env, "MAX_RECURRING_ISSUE_WORKERS", 6),
            max_scheduled_workers: number(env, "MAX_CONCURRENT_SCHEDULED_ISSUE_WORKERS", 2),
            max_scheduled_heavy_workers: number(env, "MAX_CONCURRENT_SCHEDULED_HEAVY_WORKERS", 1),
            max_blocked_recovery_workers: number(
                env,
                "MAX_CONCURRENT_BLOCKED_RECOVERY_ISSUE_WORKERS",
                1,
            ),
            blocked_recovery_cooldown_seconds: number(
                env,
                "BLOCKED_RECOVERY_COOLDOWN_SECONDS",
                900,
            ),
            max_open_agent_prs_for_recurring: number(env, "MAX_OPEN_AGENT_PRS_FOR_RECURRING", 12),
            max_launches_per_heartbeat: number(env, "MAX_LAUNCHES_PER_HEARTBEAT", max_workers),
        }
    }
}

/// What decides whether and how the limits follow the quota cache.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaInputs {
    pub coding_worker: String,
    pub dynamic_enabled: bool,
    pub rotation_strategy: String,
    pub cache_file: PathBuf,
    /// `None` when the setting is not a whole number (no staleness check).
    pub cache_max_age_seconds: Option<i64>,
    /// Percent of the 5-hour window below which an account is healthy.
    pub primary_threshold: f64,
    /// Percent of the weekly window below which an account is usable.
    pub weekly_threshold: f64,
}

impl QuotaInputs {
    /// The knobs from the environment: `ACP_CODING_WORKER` (codex),
    /// `ACP_DYNAMIC_CONCURRENCY_ENABLED` (1), `ACP_CODEX_QUOTA_ROTATION_STRATEGY`
    /// (failure-driven), `CODEX_QUOTA_MANAGER_FULL_CACHE_FILE` (else
    /// `${XDG_CACHE_HOME:-~/.cache}/codex-quota-manager/codex-full-quota.json`),
    /// `CODEX_QUOTA_CACHE_MAX_AGE_SECONDS` (900), the two thresholds (70, 90).
    pub fn from_env(env: &Env) -> Self {
        let cache_dir = env
            .path("XDG_CACHE_HOME")
            .unwrap_or_else(|| env.home().join(".cache"))
            .join("codex-quota-manager");
        let cache_file = env
            .path("CODEX_QUOTA_MANAGER_FULL_CACHE_FILE")
            .unwrap_or_else(|| cache_dir.join("codex-full-quota.json"));
        let max_age = env
            .first_non_empty(&[
                "CODEX_QUOTA_CACHE_MAX_AGE_SECONDS",
                "ACP_CODEX_QUOTA_CACHE_MAX_AGE_SECONDS",
                "F_LOSNING_CODEX_QUOTA_CACHE_MAX_AGE_SECONDS",
            ])
            .unwrap_or_else(|| "900".into());
        let threshold = |name: &str, default: f64| {
            env.acp_or(name, "")
                .trim()
                .parse::<f64>()
                .unwrap_or(default)
        };
        Self {
            coding_worker: env.first_or(&["ACP_CODING_WORKER"], "codex"),
            dynamic_enabled: env.acp_or("DYNAMIC_CONCURRENCY_ENABLED", "1") != "0",
            rotation_strategy: env.acp_or("CODEX_QUOTA_ROTATION_STRATEGY", "failure-driven"),
            cache_file,
            cache_max_age_seconds: (!max_age.is_empty()
                && max_age.bytes().all(|b| b.is_ascii_digit()))
            .then(|| max_age.parse::<i64>().ok())
            .flatten(),
            primary_threshold: threshold("CODEX_QUOTA_THRESHOLD", 70.0),
            weekly_threshold: threshold("CODEX_QUOTA_WEEKLY_THRESHOLD", 90.0),
        }
    }
}

/// The derived limits and the lines that explain them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    pub max_workers: i64,
    pub max_pr_workers: i64,
    pub max_recurring_workers: i64,
    pub max_launches_per_heartbeat: i64,
    /// Empty unless the cache was counted.
    pub healthy_pools: String,
    pub rotation_pools: String,
    pub effective_pools: String,
    /// `KEY=value` lines in the original's order, ending with the four
    /// `EFFECTIVE_MAX_*` lines.
    pub lines: Vec<String>,
}

impl Effective {
    fn static_of(s: &Static) -> Self {
        Self {
            max_workers: s.max_workers,
            max_pr_workers: s.max_pr_workers,
            max_recurring_workers: s.max_recurring_workers,
            max_launches_per_heartbeat: s.max_launches_per_heartbeat,
            healthy_pools: String::new(),
            rotation_pools: String::new(),
            effective_pools: String::new(),
            lines: Vec::new(),
        }
    }

    fn line(&mut self, key: &str, value: impl std::fmt::Display) {
        self.lines.push(format!("{key}={value}"));
    }

    fn finish(mut self) -> Self {
        let (w, p, r, l) = (
            self.max_workers,
            self.max_pr_workers,
            self.max_recurring_workers,
            self.max_launches_per_heartbeat,
        );
        self.line("EFFECTIVE_MAX_CONCURRENT_WORKERS", w);
        self.line("EFFECTIVE_MAX_CONCURRENT_PR_WORKERS", p);
        self.line("EFFECTIVE_MAX_RECURRING_ISSUE_WORKERS", r);
        self.line("EFFECTIVE_MAX_LAUNCHES_PER_HEARTBEAT", l);
        self
    }
}

/// Healthy and rotation pool counts of a quota cache (a JSON array of
/// accounts). `None` when the text is not such an array.
///
/// An account's pool is the first non-empty of `label`, `trackedLabel`,
/// `email`, `accountId` (accounts without one are skipped); pools are
/// counted once. Healthy: limit not reached, 5-hour use below `primary`,
/// weekly use below `weekly` (a missing percentage counts as 100).
/// Rotation: limit not reached, weekly use below `weekly`, plan not `free`.
pub fn count_pools(json: &[u8], primary: f64, weekly: f64) -> Option<(usize, usize)> {
    use serde_json::Value;
    let accounts: Vec<Value> = serde_json::from_slice(json).ok()?;
    let mut healthy = std::collections::BTreeSet::new();
    let mut rotation = std::collections::BTreeSet::new();
    for a in &accounts {
        let key = ["label", "trackedLabel", "email", "accountId"]
            .iter()
            .find_map(|k| match a.get(*k) {
                Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            });
        let Some(key) = key else { continue };
        let rate = a.pointer("/usage/rate_limit");
        let reached = rate
            .and_then(|r| r.get("limit_reached"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let percent = |window: &str| {
            rate.and_then(|r| r.pointer(&format!("/{window}/used_percent")))
                .and_then(Value::as_f64)
                .unwrap_or(100.0)
        };
        let plan = a.get("planType").and_then(Value::as_str).unwrap_or("");
        let weekly_ok = percent("secondary_window") < weekly;
        if !reached && weekly_ok && percent("primary_window") < primary {
            healthy.insert(key.clone());
        }
        if !reached && weekly_ok && plan != "free" {
            rotation.insert(key);
        }
    }
    Some((healthy.len(), rotation.len()))
}

/// Workers, PR workers and recurring workers for a number of usable pools.
pub fn targets_for_pools(effective_pools: i64) -> (i64, i64, i64) {
    match effective_pools {
        p if p <= 0 => (0, 0, 0),
        p if p >= 12 => (18, 10, 5),
        p if p >= 10 => (16, 9, 5),
        p if p >= 8 => (14, 8, 4),
        p if p >= 6 => (12, 7, 4),
        p if p >= 4 => (10, 6, 3),
        3 => (8, 4, 3),
        _ => (6, 3, 2),
    }
}

/// The effective limits: static for non-codex workers, with dynamic
/// concurrency off, or without a fresh, readable cache; else scaled by the
/// usable pools (healthy ones plus half of the extra rotation ones), each
/// capped by its static maximum and by the worker target.
/// `cache_age_seconds` is the cache file's age (`None` when unknown).
pub fn derive(s: &Static, q: &QuotaInputs, cache_age_seconds: Option<i64>) -> Effective {
    let mut e = Effective::static_of(s);
    if q.coding_worker != "codex" {
        e.line("CODING_WORKER", &q.coding_worker);
        e.line("DYNAMIC_CONCURRENCY_QUOTA_MODE", "non-codex-bypass");
        return e.finish();
    }
    if !q.dynamic_enabled {
        e.line("DYNAMIC_CONCURRENCY_ENABLED", 0);
        return e.finish();
    }
    e.line("CODEX_QUOTA_ROTATION_STRATEGY", &q.rotation_strategy);
    let text = acp_core::fsx::read_capped(&q.cache_file, 64 << 20)
        .ok()
        .filter(|t| !t.is_empty());
    let Some(text) = text else {
        e.line("DYNAMIC_CONCURRENCY_QUOTA_MODE", "failure-driven-static");
        return e.finish();
    };
    if let (Some(max), Some(age)) = (q.cache_max_age_seconds, cache_age_seconds)
        && age > max
    {
        e.line("DYNAMIC_CONCURRENCY_QUOTA_MODE", "failure-driven-static");
        e.line("DYNAMIC_CONCURRENCY_QUOTA_CACHE_STALE", "yes");
        e.line("DYNAMIC_CONCURRENCY_QUOTA_CACHE_AGE_SECONDS", age);
        return e.finish();
    }
    let Some((healthy, rotation)) = count_pools(&text, q.primary_threshold, q.weekly_threshold)
    else {
        e.line("DYNAMIC_CONCURRENCY_QUOTA_MODE", "failure-driven-static");
        return e.finish();
    };
    let (healthy, rotation) = (
        i64::try_from(healthy).unwrap_or(i64::MAX),
        i64::try_from(rotation).unwrap_or(i64::MAX),
    );
    let effective = if rotation > healthy {
        healthy + (rotation - healthy) / 2
    } else {
        healthy
    };
    let (mut workers, mut prs, mut recurring) = targets_for_pools(effective);
    workers = workers.min(s.max_workers);
    prs = prs.min(s.max_pr_workers).min(workers);
    recurring = recurring.min(s.max_recurring_workers).min(workers);
    e.max_workers = workers;
    e.max_pr_workers = prs;
    e.max_recurring_workers = recurring;
    e.max_launches_per_heartbeat = workers;
    e.healthy_pools = healthy.to_string();
    e.rotation_pools = rotation.to_string();
    e.effective_pools = effective.to_string();
    e.line("DYNAMIC_CONCURRENCY_ENABLED", 1);
    e.line("DYNAMIC_CONCURRENCY_QUOTA_MODE", "failure-driven-dynamic");
    e.line("HEALTHY_QUOTA_POOLS", healthy);
    e.line("ROTATION_QUOTA_POOLS", rotation);
    e.line("EFFECTIVE_QUOTA_POOLS", effective);
    e.finish()
}

/// The age in seconds of `path` now (never negative), `None` when it
/// cannot be read.
pub fn file_age_seconds(path: &std::path::Path, now: i64) -> Option<i64> {
    acp_core::fsx::mtime_epoch(path).map(|m| (now - m).max(0))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn account(id: &str, plan: &str, reached: bool, primary: f64, weekly: f64) -> String {
        format!(
            r#"{{"accountId":"{id}","planType":"{plan}","usage":{{"rate_limit":{{"limit_reached":{reached},"primary_window":{{"used_percent":{primary}}},"secondary_window":{{"used_percent":{weekly}}}}}}}}}"#
        )
    }

    fn world(accounts: &[String]) -> (tempfile::TempDir, QuotaInputs) {
        let t = tempfile::tempdir().unwrap();
        let file = t.path().join("codex-full-quota.json");
        std::fs::write(&file, format!("[{}]", accounts.join(","))).unwrap();
        let mut env = Env::new();
        env.set("CODEX_QUOTA_MANAGER_FULL_CACHE_FILE", &file);
        (t, QuotaInputs::from_env(&env))
    }

    fn defaults() -> Static {
        Static::from_env(&Env::new())
    }

    #[test]
    fn static_defaults_and_twins() {
        let s = defaults();
        assert_eq!(
            (s.max_workers, s.max_pr_workers, s.max_recurring_workers),
            (20, 12, 6)
        );
        assert_eq!(s.max_launches_per_heartbeat, 20);
        let mut env = Env::new();
        env.set("F_LOSNING_MAX_CONCURRENT_WORKERS", "9");
        env.set("ACP_MAX_CONCURRENT_PR_WORKERS", "4");
        let s = Static::from_env(&env);
        assert_eq!(
            (
                s.max_workers,
                s.max_pr_workers,
                s.max_launches_per_heartbeat
            ),
            (9, 4, 9)
        );
    }

    #[test]
    fn three_healthy_pools_give_eight_workers() {
        let (_t, q) = world(&[
            account("a", "plus", false, 12.0, 18.0),
            account("b", "plus", false, 22.0, 15.0),
            account("c", "plus", false, 31.0, 21.0),
        ]);
        let e = derive(&defaults(), &q, Some(1));
        assert_eq!(
            (e.max_workers, e.max_pr_workers, e.max_recurring_workers),
            (8, 4, 3)
        );
        assert!(e.lines.contains(&"HEALTHY_QUOTA_POOLS=3".to_string()));
        assert_eq!(
            e.lines.last().unwrap(),
            "EFFECTIVE_MAX_LAUNCHES_PER_HEARTBEAT=8"
        );
    }

    #[test]
    fn warm_pools_count_half_and_free_plans_do_not_rotate() {
        let (_t, q) = world(&[
            account("a", "plus", false, 10.0, 10.0),
            account("b", "plus", false, 80.0, 10.0),
            account("c", "plus", false, 85.0, 10.0),
            account("d", "free", false, 85.0, 10.0),
            account("e", "plus", true, 1.0, 1.0),
        ]);
        let e = derive(&defaults(), &q, None);
        assert_eq!(
            (
                e.healthy_pools.as_str(),
                e.rotation_pools.as_str(),
                e.effective_pools.as_str()
            ),
            ("1", "3", "2")
        );
        assert_eq!(e.max_workers, 6);
    }

    #[test]
    fn zero_pools_stop_everything_and_caps_apply() {
        let (_t, q) = world(&[account("a", "plus", true, 1.0, 1.0)]);
        let e = derive(&defaults(), &q, None);
        assert_eq!(
            (
                e.max_workers,
                e.max_pr_workers,
                e.max_launches_per_heartbeat
            ),
            (0, 0, 0)
        );
        let many: Vec<String> = (0..12)
            .map(|i| account(&format!("a{i}"), "plus", false, 1.0, 1.0))
            .collect();
        let (_t, q) = world(&many);
        let mut s = defaults();
        s.max_pr_workers = 3;
        let e = derive(&s, &q, None);
        assert_eq!(
            (e.max_workers, e.max_pr_workers, e.max_recurring_workers),
            (18, 3, 5)
        );
    }

    #[test]
    fn static_fallbacks() {
        let (_t, mut q) = world(&[account("a", "plus", false, 1.0, 1.0)]);
        let e = derive(&defaults(), &q, Some(901));
        assert!(
            e.lines
                .contains(&"DYNAMIC_CONCURRENCY_QUOTA_CACHE_STALE=yes".to_string())
        );
        assert_eq!(e.max_workers, 20);
        q.cache_file = q.cache_file.with_file_name("missing.json");
        let e = derive(&defaults(), &q, None);
        assert_eq!(
            e.lines[1],
            "DYNAMIC_CONCURRENCY_QUOTA_MODE=failure-driven-static"
        );
        q.coding_worker = "openclaw".into();
        let e = derive(&defaults(), &q, None);
        assert_eq!(e.lines[0], "CODING_WORKER=openclaw");
        assert_eq!(
            e.lines[1],
            "DYNAMIC_CONCURRENCY_QUOTA_MODE=non-codex-bypass"
        );
        q.coding_worker = "codex".into();
        q.dynamic_enabled = false;
        assert_eq!(
            derive(&defaults(), &q, None).lines[0],
            "DYNAMIC_CONCURRENCY_ENABLED=0"
        );
    }

    #[test]
    fn pools_are_keyed_by_label_first() {
        let json = br#"[{"label":"x","accountId":"1","usage":{"rate_limit":{"primary_window":{"used_percent":1},"secondary_window":{"used_percent":1}}}},
            {"label":"x","accountId":"2","usage":{"rate_limit":{"primary_window":{"used_percent":1},"secondary_window":{"used_percent":1}}}},
            {"email":"","accountId":"3"}]"#;
        assert_eq!(count_pools(json, 70.0, 90.0), Some((1, 1)));
        assert_eq!(count_pools(b"{}", 70.0, 90.0), None);
    }
}
