//! `render-flow-config.sh`: print the selected profile's effective
//! configuration as `KEY=value` lines (skill root, registry, config file,
//! profile selection, then every `EFFECTIVE_*` setting).
//!
//! The `EFFECTIVE_*` values are raw (no lib defaults for paths): an `ACP_*`
//! variable wins, else the YAML value. Provider pools are evaluated from the
//! selected profile, so the `EFFECTIVE_PROVIDER_POOL_*` lines name the pool a
//! worker would get (see docs/compatibility.md).

use std::ffi::OsString;
use std::fmt::Write as _;

use acp_core::config::{self, FlowConfig};
use acp_core::{Env, Invocation, ToolSpec, cli};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "render-flow-config.sh",
    aliases: &["render-flow-config"],
    paths: &["tools/bin/render-flow-config.sh"],
    about: "Print the selected profile's effective configuration",
    command,
    run,
}];

/// The argument parser (the tool takes no arguments; `--help` prints this).
pub fn command() -> clap::Command {
    cli::tool_command(
        "render-flow-config.sh",
        "Prints the effective configuration of the selected profile as KEY=value lines. \
         The profile comes from ACP_PROJECT_ID or AGENT_PROJECT_ID, else the registry's \
         default; ACP_* variables override the profile's YAML values.",
    )
    .override_usage("render-flow-config.sh")
}

/// `(line key, env variable, YAML key)` of the `EFFECTIVE_*` lines, in order.
/// An empty YAML key means the value only comes from the environment.
const EFFECTIVE: &[(&str, &str, &str)] = &[
    ("REPO_ROOT", "ACP_REPO_ROOT", "repo.root"),
    (
        "AGENT_REPO_ROOT",
        "ACP_AGENT_REPO_ROOT",
        "runtime.agent_repo_root",
    ),
    (
        "WORKTREE_ROOT",
        "ACP_WORKTREE_ROOT",
        "runtime.worktree_root",
    ),
    ("RUNS_ROOT", "ACP_RUNS_ROOT", "runtime.runs_root"),
    ("STATE_ROOT", "ACP_STATE_ROOT", "runtime.state_root"),
    (
        "RETAINED_REPO_ROOT",
        "ACP_RETAINED_REPO_ROOT",
        "runtime.retained_repo_root",
    ),
    (
        "VSCODE_WORKSPACE_FILE",
        "ACP_VSCODE_WORKSPACE_FILE",
        "runtime.vscode_workspace_file",
    ),
    (
        "CODING_WORKER",
        "ACP_CODING_WORKER",
        "execution.coding_worker",
    ),
    (
        "PROVIDER_QUOTA_COOLDOWNS",
        "ACP_PROVIDER_QUOTA_COOLDOWNS",
        "execution.provider_quota.cooldowns",
    ),
    (
        "PROVIDER_POOL_ORDER",
        "ACP_PROVIDER_POOL_ORDER",
        "execution.provider_pool_order",
    ),
    ("PROVIDER_POOL_NAME", "ACP_ACTIVE_PROVIDER_POOL_NAME", ""),
    ("PROVIDER_POOL_BACKEND", "ACP_ACTIVE_PROVIDER_BACKEND", ""),
    ("PROVIDER_POOL_MODEL", "ACP_ACTIVE_PROVIDER_MODEL", ""),
    ("PROVIDER_POOL_KEY", "ACP_ACTIVE_PROVIDER_KEY", ""),
    (
        "PROVIDER_POOLS_EXHAUSTED",
        "ACP_PROVIDER_POOLS_EXHAUSTED",
        "",
    ),
    (
        "PROVIDER_POOL_SELECTION_REASON",
        "ACP_PROVIDER_POOL_SELECTION_REASON",
        "",
    ),
    (
        "PROVIDER_POOL_NEXT_ATTEMPT_EPOCH",
        "ACP_PROVIDER_POOL_NEXT_ATTEMPT_EPOCH",
        "",
    ),
    (
        "PROVIDER_POOL_NEXT_ATTEMPT_AT",
        "ACP_PROVIDER_POOL_NEXT_ATTEMPT_AT",
        "",
    ),
    (
        "PROVIDER_POOL_LAST_REASON",
        "ACP_PROVIDER_POOL_LAST_REASON",
        "",
    ),
    (
        "CODEX_PROFILE_SAFE",
        "ACP_CODEX_PROFILE_SAFE",
        "execution.safe_profile",
    ),
    (
        "CODEX_PROFILE_BYPASS",
        "ACP_CODEX_PROFILE_BYPASS",
        "execution.bypass_profile",
    ),
    ("CLAUDE_MODEL", "ACP_CLAUDE_MODEL", "execution.claude.model"),
    (
        "CLAUDE_PERMISSION_MODE",
        "ACP_CLAUDE_PERMISSION_MODE",
        "execution.claude.permission_mode",
    ),
    (
        "CLAUDE_EFFORT",
        "ACP_CLAUDE_EFFORT",
        "execution.claude.effort",
    ),
    (
        "CLAUDE_TIMEOUT_SECONDS",
        "ACP_CLAUDE_TIMEOUT_SECONDS",
        "execution.claude.timeout_seconds",
    ),
    (
        "CLAUDE_MAX_ATTEMPTS",
        "ACP_CLAUDE_MAX_ATTEMPTS",
        "execution.claude.max_attempts",
    ),
    (
        "CLAUDE_RETRY_BACKOFF_SECONDS",
        "ACP_CLAUDE_RETRY_BACKOFF_SECONDS",
        "execution.claude.retry_backoff_seconds",
    ),
    (
        "OPENCLAW_MODEL",
        "ACP_OPENCLAW_MODEL",
        "execution.openclaw.model",
    ),
    (
        "OPENCLAW_THINKING",
        "ACP_OPENCLAW_THINKING",
        "execution.openclaw.thinking",
    ),
    (
        "OPENCLAW_TIMEOUT_SECONDS",
        "ACP_OPENCLAW_TIMEOUT_SECONDS",
        "execution.openclaw.timeout_seconds",
    ),
];

/// The rendered lines for `env` (already alias-mirrored) and a script path.
fn render(env: &Env, script_path: Option<&std::path::Path>) -> anyhow::Result<String> {
    let skill = config::skill_root(env, script_path)?;
    let registry = config::registry_root(env);
    let config_path = config::config_path(env);
    let cfg = FlowConfig::from_path(&config_path)?;

    // The worker's view: provider pools and backend settings of this profile.
    let mut env = env.clone();
    config::export_execution_settings(&mut env, &cfg, acp_core::time::now_epoch());

    let profiles = config::profile_ids(&env).join(",");
    let profile_id = config::adapter_id(&env, &cfg);
    let mode = config::selection_mode(&env);
    let notes = cfg.notes_path();

    let mut out = String::new();
    let mut line = |k: &str, v: &str| {
        let _ = writeln!(out, "{k}={v}");
    };
    line("FLOW_SKILL_DIR", &skill.to_string_lossy());
    line("PROFILE_REGISTRY_ROOT", &registry.to_string_lossy());
    line("CONFIG_YAML", &config_path.to_string_lossy());
    line("PROFILE_ID", &profile_id);
    line("PROFILE_SELECTION_MODE", mode.as_str());
    if mode == config::SelectionMode::ImplicitDefault {
        line("PROFILE_SELECTION_HINT", config::SELECTION_HINT);
    }
    line("AVAILABLE_PROFILES", &profiles);
    line("INSTALLED_PROFILES", &profiles);
    line("PROFILE_NOTES", &notes.to_string_lossy());
    line(
        "PROFILE_NOTES_EXISTS",
        if notes.is_file() { "yes" } else { "no" },
    );
    for (name, var, key) in EFFECTIVE {
        let value = env
            .non_empty(var)
            .or_else(|| (!key.is_empty()).then(|| cfg.get(key)).flatten())
            .unwrap_or_default();
        line(&format!("EFFECTIVE_{name}"), &value);
    }
    Ok(out)
}

/// Runs the tool. Arguments other than `--help`/`-h` are ignored, as before.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        write!(ctx.stdout, "{}", cli::usage(&command()))?;
        return Ok(0);
    }
    let mut env = ctx.env.clone();
    config::export_env_aliases(&mut env);
    let text = render(&env, ctx.script_path().as_deref())?;
    ctx.stdout.write_all(text.as_bytes())?;
    Ok(0)
}
