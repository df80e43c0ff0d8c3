//! `agent-project-run-openclaw-session`: launch an openclaw local agent
//! worker in tmux for one task, supervise it, and leave the standard run
//! artifacts (run.env, runner.env, result.env, the log, collected files).
//!
//! The launcher contract shared by every backend (flags, run.env, inner
//! script, tmux, reconcile, exit marker) lives in `acp_core::launcher`; this
//! crate adds openclaw's flags and files and the session body
//! ([`inner::run_body`]).

pub mod agents;
pub mod contract;
pub mod inner;
pub mod naming;
pub mod progress;
pub mod rules;
pub mod supervisor;
pub mod workspace;

use acp_core::cli;
use acp_core::{Env, ToolSpec};

/// The tool's name (the original file name).
pub const NAME: &str = "agent-project-run-openclaw-session";

/// Defaults of the openclaw knobs.
pub const DEFAULT_MODEL: &str = "openrouter/qwen/qwen3.6-plus-preview:free";
pub const DEFAULT_THINKING: &str = "low";
pub const DEFAULT_TIMEOUT_SECONDS: &str = "900";
pub const DEFAULT_STALL_SECONDS: &str = "180";
pub const DEFAULT_HEARTBEAT_SECONDS: &str = "30";

/// The tools this crate provides (none until the launcher is wired).
pub const TOOLS: &[ToolSpec] = &[];

/// The openclaw-specific options, after env fallbacks.
#[derive(Debug, Clone, Default)]
pub struct OpenclawArgs {
    pub keep_agent: bool,
    pub model: String,
    pub thinking: String,
    pub timeout_seconds: String,
    pub stall_seconds: String,
    pub heartbeat_seconds: String,
    pub overrides: naming::Overrides,
}

/// Adds openclaw's options to a launcher command.
pub fn add_openclaw_args(cmd: clap::Command) -> clap::Command {
    cmd.arg(cli::flag("keep-agent").help("Keep (and reuse) a resident agent instead of a per-session one"))
        .arg(cli::opt("openclaw-model").help("Model id for the agent [env: ACP_OPENCLAW_MODEL]"))
        .arg(cli::opt("openclaw-thinking").help("Thinking level [env: ACP_OPENCLAW_THINKING, default: low]"))
        .arg(cli::opt("openclaw-timeout-seconds").help("Agent turn timeout [env: ACP_OPENCLAW_TIMEOUT_SECONDS, default: 900]"))
        .arg(cli::opt("openclaw-stall-seconds").help("End the run after this long without progress, 0 disables [env: ACP_OPENCLAW_STALL_SECONDS, default: 180]"))
        .arg(cli::opt("openclaw-agent-id").help("Agent id (default: <adapter>-<session>, sanitised)"))
        .arg(cli::opt("openclaw-session-id").help("openclaw session id (default: the agent id)"))
        .arg(cli::opt("openclaw-agent-dir").help("Agent dir (default: <run dir>/openclaw-agent)"))
        .arg(cli::opt("openclaw-state-dir").help("OPENCLAW_STATE_DIR (default: <run dir>/openclaw-state)"))
        .arg(cli::opt("openclaw-config-path").help("OPENCLAW_CONFIG_PATH (default: <run dir>/openclaw-config/openclaw.json)"))
}

fn flag_or_env(
    m: &clap::ArgMatches,
    name: &str,
    env: &Env,
    keys: &[&str],
    default: &str,
) -> String {
    if m.value_source(name) == Some(clap::parser::ValueSource::CommandLine) {
        return cli::get(m, name);
    }
    env.first_or(keys, default)
}

/// Reads openclaw's options (flags over `ACP_*` over `F_LOSNING_*` over defaults).
pub fn openclaw_args(m: &clap::ArgMatches, env: &Env) -> OpenclawArgs {
    OpenclawArgs {
        keep_agent: m.get_flag("keep-agent"),
        model: flag_or_env(
            m,
            "openclaw-model",
            env,
            &["ACP_OPENCLAW_MODEL", "F_LOSNING_OPENCLAW_MODEL"],
            DEFAULT_MODEL,
        ),
        thinking: flag_or_env(
            m,
            "openclaw-thinking",
            env,
            &["ACP_OPENCLAW_THINKING", "F_LOSNING_OPENCLAW_THINKING"],
            DEFAULT_THINKING,
        ),
        timeout_seconds: flag_or_env(
            m,
            "openclaw-timeout-seconds",
            env,
            &[
                "ACP_OPENCLAW_TIMEOUT_SECONDS",
                "F_LOSNING_OPENCLAW_TIMEOUT_SECONDS",
            ],
            DEFAULT_TIMEOUT_SECONDS,
        ),
        stall_seconds: flag_or_env(
            m,
            "openclaw-stall-seconds",
            env,
            &[
                "ACP_OPENCLAW_STALL_SECONDS",
                "F_LOSNING_OPENCLAW_STALL_SECONDS",
            ],
            DEFAULT_STALL_SECONDS,
        ),
        heartbeat_seconds: env.first_or(
            &[
                "ACP_OPENCLAW_PROGRESS_HEARTBEAT_SECONDS",
                "F_LOSNING_OPENCLAW_PROGRESS_HEARTBEAT_SECONDS",
            ],
            DEFAULT_HEARTBEAT_SECONDS,
        ),
        overrides: naming::Overrides {
            agent_id: cli::get(m, "openclaw-agent-id"),
            session_id: cli::get(m, "openclaw-session-id"),
            state_dir: cli::get(m, "openclaw-state-dir"),
            config_path: cli::get(m, "openclaw-config-path"),
            agent_dir: cli::get(m, "openclaw-agent-dir"),
        },
    }
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// The numeric checks, in the original's order and words.
pub fn validate(a: &OpenclawArgs) -> Result<(), &'static str> {
    if !is_digits(&a.timeout_seconds) {
        return Err("--openclaw-timeout-seconds must be numeric");
    }
    if !is_digits(&a.stall_seconds) {
        return Err("--openclaw-stall-seconds must be numeric");
    }
    if !is_digits(&a.heartbeat_seconds) {
        return Err("OpenClaw progress heartbeat seconds must be numeric");
    }
    if a.heartbeat_seconds == "0" {
        return Err("OpenClaw progress heartbeat seconds must be greater than zero");
    }
    Ok(())
}

/// A decimal string of digits as seconds, saturating on overflow.
pub fn seconds(s: &str) -> u64 {
    s.parse::<u64>()
        .unwrap_or(if is_digits(s) { u64::MAX / 4 } else { 0 })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn parse(args: &[&str], env: &Env) -> OpenclawArgs {
        let cmd = add_openclaw_args(cli::tool_command(NAME, "t"));
        let m = cmd
            .try_get_matches_from(std::iter::once(NAME).chain(args.iter().copied()))
            .unwrap();
        openclaw_args(&m, env)
    }

    #[test]
    fn flags_win_over_env_and_defaults_apply() {
        let mut env = Env::new();
        let a = parse(&[], &env);
        assert_eq!(a.model, DEFAULT_MODEL);
        assert_eq!(
            (a.thinking.as_str(), a.timeout_seconds.as_str()),
            ("low", "900")
        );
        assert_eq!(
            (a.stall_seconds.as_str(), a.heartbeat_seconds.as_str()),
            ("180", "30")
        );
        assert!(!a.keep_agent);
        env.set("F_LOSNING_OPENCLAW_MODEL", "f/model");
        env.set("ACP_OPENCLAW_STALL_SECONDS", "7");
        let a = parse(&["--keep-agent", "--openclaw-thinking", "high"], &env);
        assert_eq!(a.model, "f/model");
        assert_eq!(a.stall_seconds, "7");
        assert_eq!(a.thinking, "high");
        assert!(a.keep_agent);
        let a = parse(
            &["--openclaw-stall-seconds", "0", "--openclaw-agent-id", "x"],
            &env,
        );
        assert_eq!(a.stall_seconds, "0");
        assert_eq!(a.overrides.agent_id, "x");
    }

    #[test]
    fn numeric_checks_use_the_original_messages() {
        let ok = OpenclawArgs {
            timeout_seconds: "900".into(),
            stall_seconds: "0".into(),
            heartbeat_seconds: "1".into(),
            ..OpenclawArgs::default()
        };
        assert!(validate(&ok).is_ok());
        let bad = |f: fn(&mut OpenclawArgs)| {
            let mut a = ok.clone();
            f(&mut a);
            validate(&a).unwrap_err()
        };
        assert_eq!(
            bad(|a| a.timeout_seconds = "1.5".into()),
            "--openclaw-timeout-seconds must be numeric"
        );
        assert_eq!(
            bad(|a| a.stall_seconds = String::new()),
            "--openclaw-stall-seconds must be numeric"
        );
        assert_eq!(
            bad(|a| a.heartbeat_seconds = "-1".into()),
            "OpenClaw progress heartbeat seconds must be numeric"
        );
        assert_eq!(
            bad(|a| a.heartbeat_seconds = "0".into()),
            "OpenClaw progress heartbeat seconds must be greater than zero"
        );
        assert_eq!(seconds("12"), 12);
        assert!(seconds("99999999999999999999999") > 1_000_000);
    }
}
