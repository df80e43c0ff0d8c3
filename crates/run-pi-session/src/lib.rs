//! `agent-project-run-pi-session`: run the Pi coding agent (`pi --print`)
//! once in a tmux session, under a hard timeout and a stall watchdog, and
//! block until it is done.
//!
//! The launcher validates its flags and resolves `pi`, hands the shared
//! launcher a plan and waits. Inside the pane the inner supervisor
//! (`__inner`) empties the sandbox run dir, runs pi under the supervision
//! engine, settles runner.env and the fallback contract, records the final
//! git state, collects artifacts, schedules the delayed reconcile and writes
//! the exit marker.

use std::ffi::OsString;

use acp_core::cli::{self};
use acp_core::config::backends;
use acp_core::{Invocation, ToolSpec, fail};
use std::path::PathBuf;

use acp_session::launcher::contract::{Contract, Inner, Reader, Writer};
use acp_session::launcher::{self, Common, Export, Plan, blocking};

pub mod pi;
pub mod session;

/// The launcher's original name.
pub const NAME: &str = "agent-project-run-pi-session";
const DEFAULT_SANDBOX: &str = ".pi-artifacts";
/// pi's defaults.
pub const DEFAULTS: &backends::Pi = &backends::DEFAULTS.pi;

const BACKEND: launcher::Backend = launcher::Backend {
    tool: NAME,
    default_sandbox_subdir: DEFAULT_SANDBOX,
    records_script: true,
};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: NAME,
    aliases: &["run-pi-session"],
    paths: &["tools/bin/agent-project-run-pi-session"],
    about: "Run the Pi coding agent once in a tmux worker session (blocks until done)",
    command,
    run,
}];

/// The launcher's parser.
pub fn command() -> clap::Command {
    launcher::with_common_args(
        cli::tool_command(
            NAME,
            "Starts a worker session in tmux that runs the Pi coding agent once, \
             non-interactively (`pi --print`), with a hard timeout and a stall watchdog, \
             records the standard run artifacts, and waits until the session has finished. \
             Any provider Pi supports can be chosen with --pi-model provider/id.",
        ),
        DEFAULT_SANDBOX,
    )
    .override_usage(
        "agent-project-run-pi-session --mode safe|bypass --session <id> --worktree <path> \
         --prompt-file <path> --runs-root <path> --adapter-id <id> --task-kind <kind> \
         --task-id <id> [options]",
    )
    .arg(cli::opt("pi-model").help(format!(
        "Model id for pi [env: ACP_PI_MODEL, F_LOSNING_PI_MODEL; default: {}]",
        DEFAULTS.model
    )))
    .arg(cli::opt("pi-thinking").help(format!(
        "Reasoning level: off, minimal, low, medium, high or xhigh \
         [env: ACP_PI_THINKING, F_LOSNING_PI_THINKING; default: {}]",
        DEFAULTS.thinking
    )))
    .arg(cli::opt("pi-timeout-seconds").help(format!(
        "Hard limit in seconds [env: ACP_PI_TIMEOUT_SECONDS, F_LOSNING_PI_TIMEOUT_SECONDS; \
         default: {}]",
        DEFAULTS.timeout_seconds
    )))
    .arg(cli::opt("pi-stall-seconds").help(format!(
        "Stop pi after this long without output, 0 disables \
         [env: ACP_PI_STALL_SECONDS, F_LOSNING_PI_STALL_SECONDS; default: {}]",
        DEFAULTS.stall_seconds
    )))
}

/// The launcher's arguments: the common ones and pi's, each from its flag,
/// else `ACP_PI_*`, else `F_LOSNING_PI_*`, else the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub common: Common,
    pub model: String,
    pub thinking: String,
    pub timeout: String,
    pub stall: String,
    pub retained_repo_root: String,
}

impl Args {
    /// Reads the matches and the environment.
    pub fn new(m: &clap::ArgMatches, env: &acp_core::Env) -> Self {
        let d = DEFAULTS;
        let knob =
            |flag: &str, name: &str, default: &str| cli::given_or_acp(m, flag, env, name, default);
        Self {
            common: Common::from_matches(m, DEFAULT_SANDBOX),
            model: knob("pi-model", "PI_MODEL", d.model),
            thinking: knob("pi-thinking", "PI_THINKING", d.thinking),
            timeout: knob(
                "pi-timeout-seconds",
                "PI_TIMEOUT_SECONDS",
                &d.timeout_seconds.to_string(),
            ),
            stall: knob(
                "pi-stall-seconds",
                "PI_STALL_SECONDS",
                &d.stall_seconds.to_string(),
            ),
            retained_repo_root: env.acp_or("RETAINED_REPO_ROOT", ""),
        }
    }

    /// pi's checks, in the original's order; the inner contract (with `bin`
    /// still empty) when they pass.
    pub fn check(&self) -> anyhow::Result<PiInner> {
        if !pi::THINKING_LEVELS.contains(&self.thinking.as_str()) {
            return Err(fail(
                1,
                "--pi-thinking must be one of: off, minimal, low, medium, high, xhigh",
            ));
        }
        Ok(PiInner {
            bin: PathBuf::new(),
            model: self.model.clone(),
            thinking: self.thinking.clone(),
            timeout_seconds: launcher::positive_int(&self.timeout, "--pi-timeout-seconds")?,
            stall_seconds: launcher::non_negative_int(&self.stall, "--pi-stall-seconds")?,
        })
    }
}

/// pi's part of the launcher -> `__inner` contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PiInner {
    pub bin: PathBuf,
    pub model: String,
    pub thinking: String,
    pub timeout_seconds: u64,
    /// 0: no stall watchdog.
    pub stall_seconds: u64,
}

impl Contract for PiInner {
    fn write(&self, w: &mut Writer) {
        w.path("PI_BIN", &self.bin);
        w.text("PI_MODEL", &self.model);
        w.text("PI_THINKING", &self.thinking);
        w.num("PI_TIMEOUT_SECONDS", self.timeout_seconds);
        w.num("PI_STALL_SECONDS", self.stall_seconds);
    }

    fn read(r: &mut Reader) -> anyhow::Result<Self> {
        Ok(Self {
            bin: r.path("PI_BIN")?,
            model: r.text("PI_MODEL")?,
            thinking: r.text("PI_THINKING")?,
            timeout_seconds: r.num("PI_TIMEOUT_SECONDS")?,
            stall_seconds: r.num("PI_STALL_SECONDS")?,
        })
    }
}

/// Runs the launcher (or, with the hidden first word, its inner supervisor).
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let cmd = command();
    let m = match launcher::parse_or_dispatch(ctx, args, &cmd, inner_run)? {
        Ok(m) => m,
        Err(code) => return Ok(code),
    };
    let a = Args::new(&m, &ctx.env);
    if let Some(code) = a.common.check(ctx, &cmd)? {
        return Ok(code);
    }
    let mut inner = a.check()?;
    let Some(pi_bin) = pi::resolve_pi_bin(ctx) else {
        return Err(fail(
            1,
            "unable to resolve a runnable pi binary (set PI_BIN or put pi on PATH; \
             it is the npm package @mariozechner/pi-coding-agent)",
        ));
    };
    inner.bin = pi_bin;
    let context = a.common.validate()?;
    let bin = inner.bin.as_os_str().to_os_string();
    let mut plan = Plan::new(&BACKEND, &a.common, context);
    plan.run_env_keys = vec![
        ("PI_BIN", bin.clone()),
        ("PI_MODEL", a.model.clone().into()),
        ("PI_THINKING", a.thinking.clone().into()),
        ("PI_TIMEOUT_SECONDS", a.timeout.clone().into()),
        ("PI_STALL_SECONDS", a.stall.clone().into()),
    ];
    plan.exports = vec![
        Export::all("PI_BIN", bin),
        Export::acp("PI_MODEL", a.model.clone()),
        Export::acp("PI_THINKING", a.thinking.clone()),
        Export::acp("PI_TIMEOUT_SECONDS", a.timeout.clone()),
        Export::all("RETAINED_REPO_ROOT", a.retained_repo_root.clone()),
    ];
    plan.set_inner(&inner);
    blocking::launch_and_wait(ctx, &plan)
}

/// The inner supervisor, inside the tmux pane.
fn inner_run(ctx: &mut Invocation<'_>, a: Inner<PiInner>) -> anyhow::Result<i32> {
    let b = a.backend;
    blocking::run_inner(ctx, NAME, a.common, "pi", "pi-exit-1", |s, env, log| {
        let run = session::PiRun {
            pi_bin: b.bin,
            model: b.model,
            thinking: b.thinking,
            prompt_file: s.prompt_file.clone(),
            timeout_secs: b.timeout_seconds,
            stall_secs: b.stall_seconds,
            env: env.clone(),
            worktree: s.worktree.clone(),
            sandbox_run_dir: s.sandbox_run_dir.clone(),
            runner_state_file: s.runner_env.clone(),
            locale: s.locale,
        };
        let r = session::run(&run, log)?;
        Ok(blocking::RunEnd {
            status: r.exit_code,
            signalled: r.signalled,
        })
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use acp_session::launcher::contract::testing::{decode_error, round_trip, with_word};

    #[test]
    fn the_inner_contract_round_trips_and_numbers_are_checked() {
        let b = PiInner {
            bin: PathBuf::from("/home/u/.nvm/versions/node/v22/bin/pi"),
            model: DEFAULTS.model.into(),
            thinking: "xhigh".into(),
            timeout_seconds: 900,
            stall_seconds: 300,
        };
        assert_eq!(round_trip(&b).backend, b);
        // A bad value used to run with 900 s / 300 s.
        let e = decode_error::<PiInner>(&with_word(&b, "PI_STALL_SECONDS", Some("5 min")));
        assert_eq!(
            e,
            "inner supervisor: PI_STALL_SECONDS must be a whole number, not '5 min'"
        );
        let e = decode_error::<PiInner>(&with_word(&b, "PI_TIMEOUT_SECONDS", None));
        assert_eq!(e, "inner supervisor: PI_TIMEOUT_SECONDS is missing");
    }

    #[test]
    fn args_check_in_the_original_order() {
        let env = acp_core::Env::new();
        let args = |extra: &[&str]| {
            let m = command()
                .try_get_matches_from(std::iter::once(NAME).chain(extra.iter().copied()))
                .unwrap();
            Args::new(&m, &env)
        };
        let e = args(&["--pi-thinking", "huge", "--pi-timeout-seconds", "0"])
            .check()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "--pi-thinking must be one of: off, minimal, low, medium, high, xhigh"
        );
        let e = args(&["--pi-timeout-seconds", "0", "--pi-stall-seconds", "x"])
            .check()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "--pi-timeout-seconds must be a positive integer"
        );
        let i = args(&[]).check().unwrap();
        assert_eq!((i.timeout_seconds, i.stall_seconds), (900, 300));
        assert_eq!(
            (i.model.as_str(), i.thinking.as_str()),
            ("openrouter/qwen/qwen3.6-plus:free", "low")
        );
    }
}
