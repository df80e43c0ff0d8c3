//! The controller's knobs: the original's profile settings, plus the bounds
//! this port puts on every wait (F13), all overridable by environment (the
//! tests shrink them).

use std::time::Duration;

use acp_core::Env;
use acp_core::config::{FlowConfig, env_or_config};

/// Everything that decides how long the controller waits and how often.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `issue_reuse_enabled` (truthy: 1, true, yes, on).
    pub enabled: bool,
    /// Raw `issue_controller_max_immediate_cycles` (the original only
    /// honours `^[1-9][0-9]*$`).
    pub max_immediate_cycles: Option<u64>,
    /// `controller_poll_seconds` (anything but a positive integer: 60).
    pub poll_seconds: u64,
    /// `issue_controller_idle_timeout_seconds` (0: no waiting for a lease).
    pub idle_timeout_seconds: u64,
    /// Polls for the worker's tmux session to appear, and the pause between.
    pub session_appear_attempts: u32,
    pub session_appear_pause: Duration,
    /// Pause between checks that the worker's session still runs.
    pub worker_poll: Duration,
    /// Longest wait for one worker session to end (F13; reason `worker-timeout`).
    pub worker_timeout_seconds: u64,
    /// Reconcile calls per cycle and the pause after a `RUNNING` answer.
    pub reconcile_attempts: u32,
    pub reconcile_pause: Duration,
    /// Longest provider-cooldown wait per launch (F13; then `provider-unavailable`).
    pub provider_max_wait_seconds: u64,
    /// Back-to-back cycles of one scheduled issue before the controller
    /// stops and leaves the next due time to the heartbeat (F13).
    pub max_scheduled_cycles: u64,
    /// Loop iterations of one controller process (F13; `max-iterations`).
    pub max_iterations: u64,
    /// Longest run of one heartbeat hook function.
    pub hook_timeout: Duration,
    /// Pause in `starting` before looking for another live controller of
    /// the lane, so two controllers started together see each other (the
    /// younger one yields).
    pub lane_settle: Duration,
}

/// Truthiness of the resident library (`1`, `true`/`TRUE`, `yes`/`YES`, `on`/`ON`).
pub fn is_truthy(value: &str) -> bool {
    matches!(value, "1" | "true" | "TRUE" | "yes" | "YES" | "on" | "ON")
}

fn positive(text: &str) -> Option<u64> {
    let t = text.trim();
    (!t.is_empty() && !t.starts_with('0') && t.bytes().all(|b| b.is_ascii_digit()))
        .then(|| t.parse().ok())
        .flatten()
}

fn seconds(text: &str) -> Option<Duration> {
    let v: f64 = text.trim().parse().ok()?;
    (v.is_finite() && v >= 0.0).then(|| Duration::from_secs_f64(v))
}

impl Settings {
    /// Env (`ACP_*`, then `F_LOSNING_*`) beats `execution.resident_workers.*`
    /// beats the default.
    pub fn resolve(env: &Env, cfg: &FlowConfig) -> Settings {
        let knob = |name: &str, yaml: &str, default: &str| {
            let acp = format!("ACP_RESIDENT_ISSUE_{name}");
            let legacy = format!("F_LOSNING_RESIDENT_ISSUE_{name}");
            let key = format!("execution.resident_workers.{yaml}");
            env_or_config(env, cfg, &[acp.as_str(), legacy.as_str()], &key, default)
        };
        let tune = |name: &str| env.non_empty(&format!("ACP_RESIDENT_ISSUE_CONTROLLER_{name}"));
        let tune_secs = |name: &str, default: f64| {
            tune(name)
                .and_then(|v| seconds(&v))
                .unwrap_or_else(|| Duration::from_secs_f64(default))
        };
        let tune_int =
            |name: &str, default: u64| tune(name).and_then(|v| positive(&v)).unwrap_or(default);
        let idle = knob(
            "CONTROLLER_IDLE_TIMEOUT_SECONDS",
            "issue_controller_idle_timeout_seconds",
            "600",
        );
        Settings {
            enabled: is_truthy(&knob("WORKERS_ENABLED", "issue_reuse_enabled", "1")),
            max_immediate_cycles: positive(&knob(
                "CONTROLLER_MAX_IMMEDIATE_CYCLES",
                "issue_controller_max_immediate_cycles",
                "2",
            )),
            poll_seconds: positive(&knob(
                "CONTROLLER_POLL_SECONDS",
                "controller_poll_seconds",
                "60",
            ))
            .unwrap_or(60),
            idle_timeout_seconds: idle.trim().parse().unwrap_or(0),
            session_appear_attempts: tune_int("SESSION_APPEAR_ATTEMPTS", 100) as u32,
            session_appear_pause: tune_secs("SESSION_APPEAR_POLL_SECONDS", 0.1),
            worker_poll: tune_secs("WORKER_POLL_SECONDS", 2.0),
            worker_timeout_seconds: tune_int("WORKER_TIMEOUT_SECONDS", 86_400),
            reconcile_attempts: tune_int("RECONCILE_ATTEMPTS", 20) as u32,
            reconcile_pause: tune_secs("RECONCILE_RETRY_SECONDS", 1.0),
            provider_max_wait_seconds: tune_int("PROVIDER_MAX_WAIT_SECONDS", 7_200),
            max_scheduled_cycles: tune_int("MAX_SCHEDULED_CYCLES", 48),
            max_iterations: tune_int("MAX_ITERATIONS", 1_000),
            hook_timeout: tune_secs("HOOK_TIMEOUT_SECONDS", 300.0),
            lane_settle: tune_secs("LANE_SETTLE_SECONDS", 0.3),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let t = tempfile::tempdir().unwrap();
        let cfg = FlowConfig::empty(&t.path().join("none.yaml"));
        let s = Settings::resolve(&Env::new(), &cfg);
        assert!(s.enabled);
        assert_eq!(s.max_immediate_cycles, Some(2));
        assert_eq!(s.poll_seconds, 60);
        assert_eq!(s.idle_timeout_seconds, 600);
        assert_eq!(s.reconcile_attempts, 20);
        let mut env = Env::new();
        env.set("ACP_RESIDENT_ISSUE_WORKERS_ENABLED", "0");
        env.set("F_LOSNING_RESIDENT_ISSUE_CONTROLLER_POLL_SECONDS", "abc");
        env.set("ACP_RESIDENT_ISSUE_CONTROLLER_MAX_IMMEDIATE_CYCLES", "0");
        env.set("ACP_RESIDENT_ISSUE_CONTROLLER_WORKER_POLL_SECONDS", "0.05");
        let s = Settings::resolve(&env, &cfg);
        assert!(!s.enabled);
        assert_eq!(s.poll_seconds, 60);
        assert_eq!(s.max_immediate_cycles, None);
        assert_eq!(s.worker_poll, Duration::from_millis(50));
    }
}
