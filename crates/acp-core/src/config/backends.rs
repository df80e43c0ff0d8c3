//! Defaults of the agent backends' settings, in one table.
//!
//! `run-codex-task.sh` passes every backend setting to the launcher as a
//! flag, falling back to these values when neither an `ACP_*` /
//! `F_LOSNING_*` variable nor the profile sets it; each launcher
//! (`agent-project-run-<backend>-session`, `agent-project-run-codex-resilient`)
//! falls back to the same values when it is started directly. The values are
//! the v0.2.0 originals' (`${ACP_X:-${F_LOSNING_X:-default}}`).
//!
//! Durations are whole seconds; `0` means "off" where a field says so.
//! A field without an `ACP_*` variable is not a knob but a fixed interval
//! of our supervisor (the `heartbeat_seconds` of the backends whose
//! originals had none); it lives here so that no backend spells it.

/// codex: the router's profiles, the launcher's, and the resilient runner's knobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codex {
    /// Codex profile the router passes for safe mode (`--safe-profile`;
    /// `ACP_CODEX_PROFILE_SAFE`, `execution.safe_profile`).
    pub safe_profile: &'static str,
    /// Codex profile the router passes for bypass mode (`--bypass-profile`).
    pub bypass_profile: &'static str,
    /// Profile the launcher and the resilient runner use when started
    /// without `--safe-profile` / `--bypass-profile`.
    pub launcher_profile: &'static str,
    /// Resumes of one thread after a failure (`ACP_CODEX_MAX_RESUME_ATTEMPTS`).
    pub max_resume_attempts: u32,
    /// Wait for a fresh login after an auth failure (`ACP_CODEX_AUTH_REFRESH_TIMEOUT_SECONDS`).
    pub auth_refresh_timeout_seconds: u64,
    /// Poll interval of that wait (`ACP_CODEX_AUTH_REFRESH_POLL_SECONDS`).
    pub auth_refresh_poll_seconds: u64,
    /// Silence that ends an attempt (`ACP_CODEX_STALL_SECONDS`).
    pub stall_seconds: u64,
    /// Hard limit of the run; 0 = none (`ACP_CODEX_TIMEOUT_SECONDS`).
    pub timeout_seconds: u64,
    /// Account switches after a quota failure (`ACP_CODEX_MAX_AUTOSWITCH_ATTEMPTS`).
    pub max_autoswitch_attempts: u32,
    /// Whether a quota failure switches accounts at all
    /// (`ACP_CODEX_QUOTA_AUTOSWITCH_ENABLED`; `0` turns it off).
    pub quota_autoswitch_enabled: bool,
    /// Heartbeat interval while codex shows progress (`ACP_CODEX_PROGRESS_HEARTBEAT_SECONDS`).
    pub progress_heartbeat_seconds: u64,
    /// Usage percentage that triggers a switch (`ACP_CODEX_QUOTA_THRESHOLD`).
    pub quota_threshold: u32,
    /// Weekly usage percentage that triggers a switch (`ACP_CODEX_QUOTA_WEEKLY_THRESHOLD`).
    pub quota_weekly_threshold: u32,
    /// Limit of one quota-manager call (`ACP_CODEX_QUOTA_TIMEOUT_SECONDS`).
    pub quota_timeout_seconds: u64,
}

/// claude (`agent-project-run-claude-session`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claude {
    pub model: &'static str,
    /// Permission mode in safe mode (and the launcher's default).
    pub permission_mode: &'static str,
    /// Permission mode the router passes in bypass mode.
    pub bypass_permission_mode: &'static str,
    pub effort: &'static str,
    /// Limit of one attempt.
    pub timeout_seconds: u64,
    pub max_attempts: u32,
    pub retry_backoff_seconds: u64,
    /// Silence that ends an attempt; 0 = off.
    pub stall_seconds: u64,
    /// runner.env refresh while an attempt runs.
    pub heartbeat_seconds: u64,
}

impl Claude {
    /// The permission mode the router passes for `mode` (`safe` or `bypass`).
    pub fn permission_mode_for(&self, mode: &str) -> &'static str {
        if mode == "bypass" {
            self.bypass_permission_mode
        } else {
            self.permission_mode
        }
    }
}

/// openclaw (`agent-project-run-openclaw-session`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Openclaw {
    pub model: &'static str,
    pub thinking: &'static str,
    pub timeout_seconds: u64,
    pub stall_seconds: u64,
    pub progress_heartbeat_seconds: u64,
    /// Time past the agent's own timeout before it is ended
    /// (`ACP_OPENCLAW_TIMEOUT_SLACK_SECONDS`).
    pub timeout_slack_seconds: u64,
}

/// ollama (`agent-project-run-ollama-session` and its `ollama-agent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ollama {
    pub model: &'static str,
    pub base_url: &'static str,
    pub timeout_seconds: u64,
    /// runner.env refresh while the agent runs.
    pub heartbeat_seconds: u64,
}

/// pi (`agent-project-run-pi-session`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pi {
    pub model: &'static str,
    pub thinking: &'static str,
    pub timeout_seconds: u64,
    /// Silence that ends the run; 0 = off.
    pub stall_seconds: u64,
    /// runner.env refresh while the agent runs.
    pub heartbeat_seconds: u64,
}

/// The one-shot CLIs: opencode (crush) and kilo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OneShot {
    pub model: &'static str,
    pub timeout_seconds: u64,
    /// Silence that ends the run; 0 = off.
    pub stall_seconds: u64,
    /// runner.env refresh while the agent runs.
    pub heartbeat_seconds: u64,
}

/// Every backend's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backends {
    pub codex: Codex,
    pub claude: Claude,
    pub openclaw: Openclaw,
    pub ollama: Ollama,
    pub pi: Pi,
    pub opencode: OneShot,
    pub kilo: OneShot,
}

/// The hard limit every backend but codex starts with.
const TIMEOUT_SECONDS: u64 = 900;

/// How often our supervisor refreshes runner.env for the backends without
/// a heartbeat knob (the knobs of codex and openclaw default to the same).
const HEARTBEAT_SECONDS: u64 = 30;

/// The backend defaults.
pub const DEFAULTS: Backends = Backends {
    codex: Codex {
        safe_profile: "f_losning_safe_auto",
        bypass_profile: "f_losning_yolo",
        launcher_profile: "default",
        max_resume_attempts: 6,
        auth_refresh_timeout_seconds: 900,
        auth_refresh_poll_seconds: 10,
        stall_seconds: 300,
        timeout_seconds: 0,
        max_autoswitch_attempts: 1,
        quota_autoswitch_enabled: true,
        progress_heartbeat_seconds: HEARTBEAT_SECONDS,
        quota_threshold: 70,
        quota_weekly_threshold: 90,
        quota_timeout_seconds: 45,
    },
    claude: Claude {
        model: "sonnet",
        permission_mode: "acceptEdits",
        bypass_permission_mode: "bypassPermissions",
        effort: "medium",
        timeout_seconds: TIMEOUT_SECONDS,
        max_attempts: 3,
        retry_backoff_seconds: 30,
        stall_seconds: 0,
        heartbeat_seconds: HEARTBEAT_SECONDS,
    },
    openclaw: Openclaw {
        model: "openrouter/qwen/qwen3.6-plus-preview:free",
        thinking: "low",
        timeout_seconds: TIMEOUT_SECONDS,
        stall_seconds: 180,
        progress_heartbeat_seconds: HEARTBEAT_SECONDS,
        timeout_slack_seconds: 15,
    },
    ollama: Ollama {
        model: "qwen2.5-coder:7b",
        base_url: "http://localhost:11434",
        timeout_seconds: TIMEOUT_SECONDS,
        heartbeat_seconds: HEARTBEAT_SECONDS,
    },
    pi: Pi {
        model: "openrouter/qwen/qwen3.6-plus:free",
        thinking: "low",
        timeout_seconds: TIMEOUT_SECONDS,
        stall_seconds: 300,
        heartbeat_seconds: HEARTBEAT_SECONDS,
    },
    opencode: OneShot {
        model: "anthropic/claude-sonnet-4-20250514",
        timeout_seconds: TIMEOUT_SECONDS,
        stall_seconds: 0,
        heartbeat_seconds: HEARTBEAT_SECONDS,
    },
    kilo: OneShot {
        model: "anthropic/claude-sonnet-4-20250514",
        timeout_seconds: TIMEOUT_SECONDS,
        stall_seconds: 0,
        heartbeat_seconds: HEARTBEAT_SECONDS,
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claude_permission_follows_the_mode() {
        let c = DEFAULTS.claude;
        assert_eq!(c.permission_mode_for("safe"), "acceptEdits");
        assert_eq!(c.permission_mode_for("bypass"), "bypassPermissions");
        assert_eq!(c.permission_mode_for(""), "acceptEdits");
    }
}
