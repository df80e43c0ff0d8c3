//! The launcher side of the one-shot agent CLIs (crush/opencode, kilo) as
//! data: a [`Spec`] names the tool, its three `--<agent>-*` options and their
//! `ACP_*` variables, how to find the binary, and how to shape the agent's
//! argv; [`command`], [`run`] and [`run_inner`] do the rest with the shared
//! launcher ([`super::launch`]) and one-shot runner ([`super::inner::run_one_shot`]).

use std::ffi::OsString;
use std::path::PathBuf;

use crate::launcher::contract::{Contract, Inner, Reader, Writer};
use crate::launcher::inner::{OneShot, Session, run_one_shot};
use crate::launcher::{self, Backend, Common, InnerFn, Plan};
use crate::supervise::Input;
use acp_core::cli::{self};
use acp_core::config::backends;
use acp_core::{Invocation, fail};

/// What one run of the agent CLI gets: its argv and its stdin.
pub struct Argv {
    pub args: Vec<OsString>,
    pub input: Input,
}

/// One one-shot backend, as data.
pub struct Spec {
    pub backend: Backend,
    /// Long description for `--help`.
    pub about: &'static str,
    pub usage: &'static str,
    /// Option names (without `--`): model, hard timeout, silent stall.
    pub model_flag: &'static str,
    pub timeout_flag: &'static str,
    pub stall_flag: &'static str,
    /// Variable names (without `ACP_`), also the run.env / inner keys.
    pub model_key: &'static str,
    pub timeout_key: &'static str,
    pub stall_key: &'static str,
    /// The binary's run.env / inner key (`KILO_BIN`).
    pub bin_key: &'static str,
    /// What the model option's help calls the agent (`provider/model for kilo`).
    pub model_help_agent: &'static str,
    /// The model, timeout, stall and heartbeat defaults
    /// (`&backends::DEFAULTS.kilo`).
    pub defaults: &'static backends::OneShot,
    /// Binary lookup: configured variables, names on PATH, fixed fallbacks.
    pub bin_vars: &'static [&'static str],
    pub bin_names: &'static [&'static str],
    pub bin_fallbacks: &'static [&'static str],
    /// The error when no binary is found.
    pub missing_bin: &'static str,
    /// Reason prefix (`kilo` gives `kilo-exit-<n>`).
    pub name: &'static str,
    /// `None`: every line is progress; `Some(f)`: only lines where `f` holds.
    pub progress: Option<fn(&[u8]) -> bool>,
    /// The agent's argv and stdin for a session and model.
    pub argv: fn(&Session, &str) -> Argv,
}

/// The argument parser.
pub fn command(spec: &Spec) -> clap::Command {
    let d = spec.defaults;
    let cmd = cli::tool_command(spec.backend.tool, spec.about).override_usage(spec.usage);
    launcher::with_common_args(cmd, spec.backend.default_sandbox_subdir)
        .arg(cli::opt(spec.model_flag).help(format!(
            "provider/model for {} [env: ACP_{}; default {}]",
            spec.model_help_agent, spec.model_key, d.model
        )))
        .arg(cli::opt(spec.timeout_flag).help(format!(
            "Hard limit for the run [env: ACP_{}; default {}]",
            spec.timeout_key, d.timeout_seconds
        )))
        .arg(cli::opt(spec.stall_flag).help(format!(
            "End a run that prints nothing for this long; 0 = off [env: ACP_{}; default {}]",
            spec.stall_key, d.stall_seconds
        )))
}

/// The one-shot launcher's arguments: the common ones and the agent's
/// three options, each from its flag, else `ACP_<KEY>`, else
/// `F_LOSNING_<KEY>`, else the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub common: Common,
    pub model: String,
    pub timeout: String,
    pub stall: String,
}

impl Args {
    /// Reads the matches and the environment.
    pub fn new(spec: &Spec, m: &clap::ArgMatches, env: &acp_core::Env) -> Self {
        let d = spec.defaults;
        let knob =
            |flag: &str, key: &str, default: &str| cli::given_or_acp(m, flag, env, key, default);
        Self {
            common: Common::from_matches(m, spec.backend.default_sandbox_subdir),
            model: knob(spec.model_flag, spec.model_key, d.model),
            timeout: knob(
                spec.timeout_flag,
                spec.timeout_key,
                &d.timeout_seconds.to_string(),
            ),
            stall: knob(
                spec.stall_flag,
                spec.stall_key,
                &d.stall_seconds.to_string(),
            ),
        }
    }
}

/// What the inner half of a one-shot backend gets besides the common part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneShotInner {
    pub bin: PathBuf,
    pub model: String,
    pub timeout_seconds: u64,
    /// 0: no stall watchdog.
    pub stall_seconds: u64,
}

impl Contract for OneShotInner {
    fn write(&self, w: &mut Writer) {
        w.path("AGENT_BIN", &self.bin);
        w.text("AGENT_MODEL", &self.model);
        w.num("AGENT_TIMEOUT_SECONDS", self.timeout_seconds);
        w.num("AGENT_STALL_SECONDS", self.stall_seconds);
    }

    fn read(r: &mut Reader) -> anyhow::Result<Self> {
        Ok(Self {
            bin: r.path("AGENT_BIN")?,
            model: r.text("AGENT_MODEL")?,
            timeout_seconds: r.num("AGENT_TIMEOUT_SECONDS")?,
            stall_seconds: r.num("AGENT_STALL_SECONDS")?,
        })
    }
}

/// Runs the tool: the hidden inner entry point (`inner`, which calls
/// [`run_inner`] with the same spec), or the launcher.
pub fn run(
    spec: &Spec,
    ctx: &mut Invocation<'_>,
    args: &[OsString],
    inner: InnerFn<OneShotInner>,
) -> anyhow::Result<i32> {
    let cmd = command(spec);
    let m = match launcher::parse_or_dispatch(ctx, args, &cmd, inner)? {
        Ok(m) => m,
        Err(code) => return Ok(code),
    };
    let a = Args::new(spec, &m, &ctx.env);
    if let Some(code) = a.common.check(ctx, &cmd)? {
        return Ok(code);
    }
    let timeout = launcher::positive_int(&a.timeout, &format!("--{}", spec.timeout_flag))?;
    let stall = launcher::non_negative_int(&a.stall, &format!("--{}", spec.stall_flag))?;
    let bin = launcher::resolve_binary(ctx, spec.bin_vars, spec.bin_names, spec.bin_fallbacks)
        .ok_or_else(|| fail(1, spec.missing_bin))?;
    let context = a.common.validate()?;
    let mut plan = Plan::new(&spec.backend, &a.common, context);
    plan.run_env_keys = vec![
        (spec.bin_key, bin.clone().into_os_string()),
        (spec.model_key, a.model.clone().into()),
        (spec.timeout_key, a.timeout.clone().into()),
    ];
    plan.set_inner(&OneShotInner {
        bin,
        model: a.model.clone(),
        timeout_seconds: timeout,
        stall_seconds: stall,
    });
    launcher::launch(ctx, &plan)
}

/// The inner half: one supervised run of the agent inside the tmux pane.
pub fn run_inner(
    spec: &Spec,
    ctx: &mut Invocation<'_>,
    a: Inner<OneShotInner>,
) -> anyhow::Result<i32> {
    let mut s = Session::new(spec.backend.tool, a.common, &ctx.env);
    let b = a.backend;
    let Argv { args, input } = (spec.argv)(&s, &b.model);
    let run = OneShot {
        name: spec.name,
        bin: &b.bin,
        args,
        input,
        timeout: b.timeout_seconds,
        stall: b.stall_seconds,
        heartbeat: spec.defaults.heartbeat_seconds,
        progress: spec.progress,
    };
    run_one_shot(ctx, &mut s, run)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::launcher::contract::testing::*;
    use std::os::unix::ffi::OsStringExt;

    #[test]
    fn the_inner_contract_round_trips_and_numbers_are_checked() {
        let b = OneShotInner {
            bin: PathBuf::from(OsString::from_vec(b"/opt/k\xffilo".to_vec())),
            model: "anthropic/claude-sonnet-4".into(),
            timeout_seconds: 900,
            stall_seconds: 0,
        };
        assert_eq!(round_trip(&b).backend, b);
        let e = decode_error::<OneShotInner>(&with_word(&b, "AGENT_TIMEOUT_SECONDS", Some("15m")));
        assert_eq!(
            e,
            "inner supervisor: AGENT_TIMEOUT_SECONDS must be a whole number, not '15m'"
        );
        let e = decode_error::<OneShotInner>(&with_word(&b, "AGENT_STALL_SECONDS", None));
        assert_eq!(e, "inner supervisor: AGENT_STALL_SECONDS is missing");
    }
}
