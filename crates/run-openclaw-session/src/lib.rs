//! `agent-project-run-openclaw-session`: launch an openclaw local agent
//! worker in tmux for one task, supervise it, and leave the standard run
//! artifacts (run.env, runner.env, result.env, the log, collected files).
//!
//! The launcher contract shared by every backend (flags, run.env, inner
//! script, tmux, reconcile, exit marker) lives in `acp_session::launcher`; this
//! crate adds openclaw's flags and files and the session body
//! ([`inner::run_body`]).

pub mod agents;
pub mod contract;
pub mod inner;
pub mod naming;
pub mod progress;
pub mod supervisor;
pub mod workspace;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use acp_core::cli::{self};
use acp_core::config::backends;
use acp_core::{Env, Invocation, ToolSpec, fail};
use acp_session::launcher::contract::{Contract, Inner, Reader, Writer};
use acp_session::launcher::{self, Backend, Common, Export, Plan};

/// The tool's name (the original file name).
pub const NAME: &str = "agent-project-run-openclaw-session";

/// Defaults of the openclaw knobs.
pub const DEFAULTS: &backends::Openclaw = &backends::DEFAULTS.openclaw;

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: NAME,
    aliases: &["run-openclaw-session"],
    paths: &["tools/bin/agent-project-run-openclaw-session"],
    about: "Launch an openclaw local-agent worker session in tmux",
    command,
    run,
}];

const BACKEND: Backend = Backend {
    tool: NAME,
    default_sandbox_subdir: ".openclaw-artifacts",
    records_script: true,
};

/// The argument parser.
pub fn command() -> clap::Command {
    let cmd = cli::tool_command(
        NAME,
        "Starts an isolated openclaw local agent (or reuses a resident one) for one issue, PR \
         or task in a detached tmux session, supervises it (heartbeats, stall and provider-error \
         detection from its output and its session-state files) and records the run's metadata, \
         log, runner state and result contract under the runs root.",
    )
    .override_usage(
        "agent-project-run-openclaw-session --mode safe|bypass --session <id> --worktree <path> \
         --prompt-file <path> --runs-root <path> --adapter-id <id> --task-kind <kind> \
         --task-id <id> [options]",
    );
    add_openclaw_args(launcher::with_common_args(
        cmd,
        BACKEND.default_sandbox_subdir,
    ))
}

/// Runs the tool: a launch, or (inside tmux) the hidden session body.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let cmd = command();
    let m = match launcher::parse_or_dispatch(ctx, args, &cmd, inner_main)? {
        Ok(m) => m,
        Err(code) => return Ok(code),
    };
    let a = openclaw_args(&m, &ctx.env);
    if let Some(code) = a.common.check(ctx, &cmd)? {
        return Ok(code);
    }
    validate(&a).map_err(|msg| fail(1, msg))?;
    let bin = launcher::resolve_binary(ctx, &[], &["openclaw"], &[])
        .ok_or_else(|| fail(1, "unable to resolve a runnable openclaw binary"))?;
    let context = a.common.validate()?;
    let plan = plan(&ctx.cwd, &a, context, bin);
    launcher::launch(ctx, &plan)
}

/// The launch plan. run.env records the agent's paths as the original
/// spelled them; the worker and the session body get them absolute (the
/// inner script runs in the worktree).
fn plan<'a>(
    cwd: &Path,
    a: &'a OpenclawArgs,
    context: Vec<(String, String)>,
    bin: PathBuf,
) -> Plan<'a> {
    let common = &a.common;
    let layout = launcher::Layout::new(common);
    let given = naming::AgentPaths::resolve(
        &common.adapter_id,
        &common.session,
        &layout.artifact_dir,
        &a.overrides,
    );
    let abs = naming::AgentPaths {
        state_dir: launcher::absolute(cwd, &given.state_dir),
        config_path: launcher::absolute(cwd, &given.config_path),
        agent_dir: launcher::absolute(cwd, &given.agent_dir),
        ..given.clone()
    };
    let os = |p: &Path| p.as_os_str().to_os_string();
    let text = |v: &str| OsString::from(v);
    let keep = if a.keep_agent { "true" } else { "false" };

    let mut plan = Plan::new(&BACKEND, common, context);
    plan.run_env_keys = vec![
        ("OPENCLAW_BIN", os(&bin)),
        ("OPENCLAW_STATE_DIR", os(&given.state_dir)),
        ("OPENCLAW_CONFIG_PATH", os(&given.config_path)),
        ("OPENCLAW_AGENT_DIR", os(&given.agent_dir)),
        ("OPENCLAW_AGENT_ID", text(&given.agent_id)),
        ("OPENCLAW_SESSION_ID", text(&given.session_id)),
        ("OPENCLAW_MODEL", text(&a.model)),
        ("OPENCLAW_THINKING", text(&a.thinking)),
        ("OPENCLAW_TIMEOUT_SECONDS", text(&a.timeout_seconds)),
        ("OPENCLAW_STALL_SECONDS", text(&a.stall_seconds)),
        (
            "OPENCLAW_PROGRESS_HEARTBEAT_SECONDS",
            text(&a.heartbeat_seconds),
        ),
        ("OPENCLAW_KEEP_AGENT", text(keep)),
    ];
    plan.exports = vec![
        Export::all("OPENCLAW_BIN", os(&bin)),
        Export::acp("OPENCLAW_SESSION_ID", abs.session_id.clone()),
        Export::all("RETAINED_REPO_ROOT", a.retained_repo_root.clone()),
    ];
    plan.plain_exports = vec![
        ("OPENCLAW_STATE_DIR", os(&abs.state_dir)),
        ("OPENCLAW_CONFIG_PATH", os(&abs.config_path)),
    ];
    plan.set_inner(&OpenclawInner {
        task_kind: common.task_kind.clone(),
        bin,
        agent: abs,
        model: a.model.clone(),
        thinking: a.thinking.clone(),
        timeout_seconds: seconds(&a.timeout_seconds),
        stall_seconds: seconds(&a.stall_seconds),
        heartbeat_seconds: seconds(&a.heartbeat_seconds),
        timeout_slack_seconds: seconds(&a.timeout_slack_seconds),
        keep_agent: a.keep_agent,
        retained_repo_root: a.retained_repo_root.clone(),
    });
    plan
}

/// Openclaw's part of the launcher -> `__inner` contract (agent paths
/// absolute).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenclawInner {
    pub task_kind: String,
    pub bin: PathBuf,
    pub agent: naming::AgentPaths,
    pub model: String,
    pub thinking: String,
    pub timeout_seconds: u64,
    pub stall_seconds: u64,
    pub heartbeat_seconds: u64,
    pub timeout_slack_seconds: u64,
    pub keep_agent: bool,
    pub retained_repo_root: String,
}

impl Contract for OpenclawInner {
    fn write(&self, w: &mut Writer) {
        w.text("TASK_KIND", &self.task_kind);
        w.path("OPENCLAW_BIN", &self.bin);
        w.text("OPENCLAW_AGENT_ID", &self.agent.agent_id);
        w.text("OPENCLAW_SESSION_ID", &self.agent.session_id);
        w.path("OPENCLAW_STATE_DIR", &self.agent.state_dir);
        w.path("OPENCLAW_CONFIG_PATH", &self.agent.config_path);
        w.path("OPENCLAW_AGENT_DIR", &self.agent.agent_dir);
        w.text("OPENCLAW_MODEL", &self.model);
        w.text("OPENCLAW_THINKING", &self.thinking);
        w.num("OPENCLAW_TIMEOUT_SECONDS", self.timeout_seconds);
        w.num("OPENCLAW_STALL_SECONDS", self.stall_seconds);
        w.num(
            "OPENCLAW_PROGRESS_HEARTBEAT_SECONDS",
            self.heartbeat_seconds,
        );
        w.num("OPENCLAW_TIMEOUT_SLACK_SECONDS", self.timeout_slack_seconds);
        w.flag("OPENCLAW_KEEP_AGENT", self.keep_agent);
        w.text("RETAINED_REPO_ROOT", &self.retained_repo_root);
    }

    fn read(r: &mut Reader) -> anyhow::Result<Self> {
        Ok(Self {
            task_kind: r.text("TASK_KIND")?,
            bin: r.path("OPENCLAW_BIN")?,
            agent: naming::AgentPaths {
                agent_id: r.required_text("OPENCLAW_AGENT_ID")?,
                session_id: r.required_text("OPENCLAW_SESSION_ID")?,
                state_dir: r.path("OPENCLAW_STATE_DIR")?,
                config_path: r.path("OPENCLAW_CONFIG_PATH")?,
                agent_dir: r.path("OPENCLAW_AGENT_DIR")?,
            },
            model: r.text("OPENCLAW_MODEL")?,
            thinking: r.text("OPENCLAW_THINKING")?,
            timeout_seconds: r.num("OPENCLAW_TIMEOUT_SECONDS")?,
            stall_seconds: r.num("OPENCLAW_STALL_SECONDS")?,
            heartbeat_seconds: r.num("OPENCLAW_PROGRESS_HEARTBEAT_SECONDS")?,
            timeout_slack_seconds: r.num("OPENCLAW_TIMEOUT_SLACK_SECONDS")?,
            keep_agent: r.flag("OPENCLAW_KEEP_AGENT")?,
            retained_repo_root: r.text("RETAINED_REPO_ROOT")?,
        })
    }
}

/// The hidden `__inner` entry: the session body, then the common epilogue
/// (final git state, collected files, delayed reconcile, exit marker).
fn inner_main(ctx: &mut Invocation<'_>, a: Inner<OpenclawInner>) -> anyhow::Result<i32> {
    let mut common = launcher::inner::Session::new(NAME, a.common, &ctx.env);
    // Credentials (OPENROUTER_API_KEY...) come from the launcher's private
    // file, which is deleted once read.
    let mut env = ctx.env.clone();
    common.take_secrets(&mut env)?;
    let session = body_session(&common, a.backend);
    let status = match inner::run_body(&session, &env) {
        Ok(r) => r.status,
        Err(e) => {
            // The body could not even run to the end: say why in the log and
            // publish a failed state rather than leaving `running` behind.
            let _ = common.append_log(format!("[openclaw] session failed: {e:#}\n").as_bytes());
            let _ = inner::write_failed_state(
                &session,
                &env,
                1,
                acp_core::classify::reason::OPENCLAW_EXIT_FAILED,
            );
            1
        }
    };
    let _ = common.record_final_git_state(&env);
    let _ = common.collect_artifacts();
    if let Err(e) = common.schedule_reconcile(ctx) {
        let _ = common.append_log(format!("[openclaw] {e:#}\n").as_bytes());
    }
    // The pane may be gone (hangup): the log gets the marker first anyway.
    let _ = common.exit_marker(ctx.stdout, status);
    Ok(status)
}

/// The session body's view: the common session's paths and openclaw's part.
fn body_session(common: &launcher::inner::Session, b: OpenclawInner) -> inner::Session {
    let sandbox_run_dir = common.sandbox_run_dir.clone();
    let sandbox_artifact_dir = sandbox_run_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| sandbox_run_dir.clone());
    inner::Session {
        session: common.session.clone(),
        task_kind: b.task_kind,
        worktree: common.worktree.clone(),
        prompt_file: common.prompt_file.clone(),
        log: common.log.clone(),
        host_run_dir: common.artifact_dir.clone(),
        runner_state_file: common.runner_env.clone(),
        host_result_file: common.host_result.clone(),
        sandbox_artifact_dir,
        sandbox_run_dir,
        retained_root: b.retained_repo_root,
        agent: b.agent,
        openclaw_bin: b.bin,
        model: b.model,
        thinking: b.thinking,
        timeout_seconds: b.timeout_seconds,
        stall_seconds: b.stall_seconds,
        heartbeat_seconds: b.heartbeat_seconds,
        timeout_slack_seconds: b.timeout_slack_seconds,
        keep_agent: b.keep_agent,
    }
}

/// The launcher's arguments: the common ones and openclaw's, after env
/// fallbacks.
#[derive(Debug, Clone, Default)]
pub struct OpenclawArgs {
    pub common: Common,
    pub keep_agent: bool,
    pub model: String,
    pub thinking: String,
    pub timeout_seconds: String,
    pub stall_seconds: String,
    pub heartbeat_seconds: String,
    /// Extra time past the agent's own timeout before it is ended.
    pub timeout_slack_seconds: String,
    pub retained_repo_root: String,
    pub overrides: naming::Overrides,
}

/// Adds openclaw's options to a launcher command.
pub fn add_openclaw_args(cmd: clap::Command) -> clap::Command {
    cmd.arg(cli::flag("keep-agent").help("Keep (and reuse) a resident agent instead of a per-session one"))
        .arg(cli::opt("openclaw-model").help(format!("Model id for the agent [env: ACP_OPENCLAW_MODEL, default: {}]", DEFAULTS.model)))
        .arg(cli::opt("openclaw-thinking").help(format!("Thinking level [env: ACP_OPENCLAW_THINKING, default: {}]", DEFAULTS.thinking)))
        .arg(cli::opt("openclaw-timeout-seconds").help(format!("Agent turn timeout [env: ACP_OPENCLAW_TIMEOUT_SECONDS, default: {}]", DEFAULTS.timeout_seconds)))
        .arg(cli::opt("openclaw-stall-seconds").help(format!("End the run after this long without progress, 0 disables [env: ACP_OPENCLAW_STALL_SECONDS, default: {}]", DEFAULTS.stall_seconds)))
        .arg(cli::opt("openclaw-agent-id").help("Agent id (default: <adapter>-<session>, sanitised)"))
        .arg(cli::opt("openclaw-session-id").help("openclaw session id (default: the agent id)"))
        .arg(cli::opt("openclaw-agent-dir").help("Agent dir (default: <run dir>/openclaw-agent)"))
        .arg(cli::opt("openclaw-state-dir").help("OPENCLAW_STATE_DIR (default: <run dir>/openclaw-state)"))
        .arg(cli::opt("openclaw-config-path").help("OPENCLAW_CONFIG_PATH (default: <run dir>/openclaw-config/openclaw.json)"))
}

/// Reads the launcher's options (flags over `ACP_*` over `F_LOSNING_*`
/// over defaults).
pub fn openclaw_args(m: &clap::ArgMatches, env: &Env) -> OpenclawArgs {
    let d = DEFAULTS;
    OpenclawArgs {
        common: Common::from_matches(m, BACKEND.default_sandbox_subdir),
        keep_agent: m.get_flag("keep-agent"),
        model: cli::given_or_first(
            m,
            "openclaw-model",
            env,
            &["ACP_OPENCLAW_MODEL", "F_LOSNING_OPENCLAW_MODEL"],
            d.model,
        ),
        thinking: cli::given_or_first(
            m,
            "openclaw-thinking",
            env,
            &["ACP_OPENCLAW_THINKING", "F_LOSNING_OPENCLAW_THINKING"],
            d.thinking,
        ),
        timeout_seconds: cli::given_or_first(
            m,
            "openclaw-timeout-seconds",
            env,
            &[
                "ACP_OPENCLAW_TIMEOUT_SECONDS",
                "F_LOSNING_OPENCLAW_TIMEOUT_SECONDS",
            ],
            &d.timeout_seconds.to_string(),
        ),
        stall_seconds: cli::given_or_first(
            m,
            "openclaw-stall-seconds",
            env,
            &[
                "ACP_OPENCLAW_STALL_SECONDS",
                "F_LOSNING_OPENCLAW_STALL_SECONDS",
            ],
            &d.stall_seconds.to_string(),
        ),
        heartbeat_seconds: env.first_or(
            &[
                "ACP_OPENCLAW_PROGRESS_HEARTBEAT_SECONDS",
                "F_LOSNING_OPENCLAW_PROGRESS_HEARTBEAT_SECONDS",
            ],
            &d.progress_heartbeat_seconds.to_string(),
        ),
        timeout_slack_seconds: env.acp_or(
            "OPENCLAW_TIMEOUT_SLACK_SECONDS",
            &d.timeout_slack_seconds.to_string(),
        ),
        retained_repo_root: env.acp_or("RETAINED_REPO_ROOT", ""),
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
    if !is_digits(&a.timeout_slack_seconds) {
        return Err("OpenClaw timeout slack seconds must be numeric");
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
        let m = command()
            .try_get_matches_from(std::iter::once(NAME).chain(args.iter().copied()))
            .unwrap();
        openclaw_args(&m, env)
    }

    #[test]
    fn flags_win_over_env_and_defaults_apply() {
        let mut env = Env::new();
        let a = parse(&[], &env);
        assert_eq!(a.model, DEFAULTS.model);
        assert_eq!(
            (a.thinking.as_str(), a.timeout_seconds.as_str()),
            ("low", "900")
        );
        assert_eq!(
            (a.stall_seconds.as_str(), a.heartbeat_seconds.as_str()),
            ("180", "30")
        );
        assert_eq!(a.timeout_slack_seconds, "15");
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

    fn sample_inner() -> OpenclawInner {
        OpenclawInner {
            task_kind: "issue".into(),
            bin: PathBuf::from("/usr/local/bin/openclaw"),
            agent: naming::AgentPaths {
                agent_id: "demo-s1".into(),
                session_id: "demo-s1".into(),
                state_dir: PathBuf::from("/runs/s1/openclaw-state"),
                config_path: PathBuf::from("/runs/s1/openclaw-config/openclaw.json"),
                agent_dir: PathBuf::from("/runs/s1/openclaw agent"),
            },
            model: DEFAULTS.model.into(),
            thinking: "low".into(),
            timeout_seconds: 900,
            stall_seconds: 0,
            heartbeat_seconds: 30,
            timeout_slack_seconds: u64::MAX / 4,
            keep_agent: true,
            retained_repo_root: String::new(),
        }
    }

    #[test]
    fn the_inner_contract_round_trips() {
        use acp_session::launcher::contract::testing::round_trip;
        let b = sample_inner();
        assert_eq!(round_trip(&b).backend, b);
    }

    #[test]
    fn a_bad_or_missing_inner_value_is_an_error_naming_the_key() {
        use acp_session::launcher::contract::testing::{decode_error, with_word};
        let b = sample_inner();
        // These used to become 0 (no stall watchdog, no slack) or `false`.
        let e = decode_error::<OpenclawInner>(&with_word(&b, "OPENCLAW_STALL_SECONDS", Some("3m")));
        assert_eq!(
            e,
            "inner supervisor: OPENCLAW_STALL_SECONDS must be a whole number, not '3m'"
        );
        let e = decode_error::<OpenclawInner>(&with_word(&b, "OPENCLAW_KEEP_AGENT", Some("1")));
        assert_eq!(
            e,
            "inner supervisor: OPENCLAW_KEEP_AGENT must be true or false, not '1'"
        );
        let e = decode_error::<OpenclawInner>(&with_word(&b, "OPENCLAW_AGENT_ID", None));
        assert_eq!(e, "inner supervisor: OPENCLAW_AGENT_ID is missing");
    }

    #[test]
    fn numeric_checks_use_the_original_messages() {
        let ok = OpenclawArgs {
            timeout_seconds: "900".into(),
            stall_seconds: "0".into(),
            heartbeat_seconds: "1".into(),
            timeout_slack_seconds: "0".into(),
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
        assert_eq!(
            bad(|a| a.timeout_slack_seconds = "x".into()),
            "OpenClaw timeout slack seconds must be numeric"
        );
        assert_eq!(seconds("12"), 12);
        assert!(seconds("99999999999999999999999") > 1_000_000);
    }
}
