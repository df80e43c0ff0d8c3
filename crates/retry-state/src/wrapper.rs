//! `retry-state.sh issue|pr ID get|schedule|clear [reason]`: the profile-aware
//! front of `agent-project-retry-state`. It resolves the agent root, state
//! root and `execution.retry.cooldowns` from the selected profile and runs
//! `<package root>/tools/bin/agent-project-retry-state` through its path
//! with `ACP_AGENT_ROOT`, `ACP_STATE_ROOT` and `ACP_RETRY_COOLDOWNS` set.

use std::ffi::OsString;
use std::path::PathBuf;

use acp_core::config::{self, FlowConfig};
use acp_core::{Invocation, fail};

const USAGE: &str = "retry-state.sh issue|pr ID get|schedule|clear [reason]";

/// The argument description (positional, checked by position like the original).
pub fn command() -> clap::Command {
    acp_core::cli::tool_command(
        "retry-state.sh",
        "Reads or updates the retry back-off record of an issue or PR using the selected \
         profile's state root and retry cooldowns (execution.retry.cooldowns, \
         ACP_RETRY_COOLDOWNS). Prints the lines of agent-project-retry-state.",
    )
    .override_usage(USAGE)
    .arg(
        clap::Arg::new("args")
            .num_args(0..)
            .value_names(["KIND", "ID", "ACTION", "REASON"])
            .help("issue|pr, the item id, get|schedule|clear, and an optional reason"),
    )
}

/// What one call of `retry-state.sh` resolved: its words and the profile's
/// settings.
#[derive(Debug, Clone)]
pub struct Args {
    pub kind: OsString,
    pub item_id: OsString,
    pub action: OsString,
    pub reason: OsString,
    pub agent_root: PathBuf,
    pub state_root: PathBuf,
    pub cooldowns: String,
    pub skill_root: PathBuf,
}

impl Args {
    /// The positional words (`KIND ID ACTION [REASON]`, extra words
    /// ignored as by the original) and the selected profile's roots and
    /// cooldowns (environment > `control-plane.yaml` > defaults).
    pub fn resolve(ctx: &Invocation<'_>, words: &[OsString]) -> anyhow::Result<Self> {
        let given = |i: usize| words.get(i).filter(|a| !a.is_empty()).cloned();
        let (Some(kind), Some(item_id), Some(action)) = (given(0), given(1), given(2)) else {
            return Err(fail(1, format!("retry-state.sh: usage: {USAGE}")));
        };
        let cfg = FlowConfig::load(&ctx.env)?;
        Ok(Self {
            kind,
            item_id,
            action,
            reason: words.get(3).cloned().unwrap_or_default(),
            agent_root: config::agent_root(&ctx.env, &cfg),
            state_root: config::state_root(&ctx.env, &cfg),
            cooldowns: config::retry_cooldowns(&ctx.env, &cfg),
            skill_root: config::skill_root(&ctx.env, ctx.script_path().as_deref())?,
        })
    }
}

/// Runs `retry-state.sh`.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if acp_core::cli::first_is_help(args) {
        write!(ctx.stdout, "{}", command().render_help())?;
        return Ok(0);
    }
    let a = Args::resolve(ctx, args)?;
    let mut env = ctx.env.clone();
    env.set("ACP_AGENT_ROOT", a.agent_root.as_os_str());
    env.set("ACP_STATE_ROOT", a.state_root.as_os_str());
    env.set("ACP_RETRY_COOLDOWNS", a.cooldowns.as_str());
    let mut cmd = ctx.package_tool_command(&env, &a.skill_root, "agent-project-retry-state");
    cmd.arg("--state-root")
        .arg(&a.state_root)
        .arg("--kind")
        .arg(&a.kind)
        .arg("--item-id")
        .arg(&a.item_id)
        .arg("--action")
        .arg(&a.action)
        .arg("--reason")
        .arg(&a.reason)
        .args(["--cooldowns", &a.cooldowns]);
    ctx.relay(&mut cmd)
}
