//! The launcher side of the one-shot agent CLIs (crush/opencode, kilo) as
//! data: a [`Spec`] names the tool, its three `--<agent>-*` options and their
//! `ACP_*` variables, how to find the binary, and how to shape the agent's
//! argv; [`command`], [`run`] and [`run_inner`] do the rest with the shared
//! launcher ([`super::launch`]) and one-shot runner ([`super::inner::run_one_shot`]).

use std::ffi::OsString;

use crate::launcher::inner::{InnerArgs, OneShot, Session, run_one_shot};
use crate::launcher::{self, Backend, Common, Plan};
use crate::supervise::Input;
use acp_core::cli::{self};
use acp_core::{Invocation, fail};

/// What one run of the agent CLI gets: its argv and its stdin.
pub struct Argv {
    pub args: Vec<String>,
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
    pub default_model: &'static str,
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

const DEFAULT_TIMEOUT: &str = "900";
const DEFAULT_STALL: &str = "0";

/// The argument parser.
pub fn command(spec: &Spec) -> clap::Command {
    let cmd = cli::tool_command(spec.backend.tool, spec.about).override_usage(spec.usage);
    launcher::with_common_args(cmd, spec.backend.default_sandbox_subdir)
        .arg(cli::opt(spec.model_flag).help(format!(
            "provider/model for {} [env: ACP_{}; default {}]",
            spec.model_help_agent, spec.model_key, spec.default_model
        )))
        .arg(cli::opt(spec.timeout_flag).help(format!(
            "Hard limit for the run [env: ACP_{}; default {DEFAULT_TIMEOUT}]",
            spec.timeout_key
        )))
        .arg(cli::opt(spec.stall_flag).help(format!(
            "End a run that prints nothing for this long; 0 = off [env: ACP_{}; default {DEFAULT_STALL}]",
            spec.stall_key
        )))
}

/// Runs the tool: the hidden inner entry point (`inner`, which calls
/// [`run_inner`] with the same spec), or the launcher.
pub fn run(
    spec: &Spec,
    ctx: &mut Invocation<'_>,
    args: &[OsString],
    inner: fn(&mut Invocation<'_>, InnerArgs) -> anyhow::Result<i32>,
) -> anyhow::Result<i32> {
    let cmd = command(spec);
    let m = match launcher::parse_or_dispatch(ctx, args, &cmd, inner)? {
        Ok(m) => m,
        Err(code) => return Ok(code),
    };
    let backend = &spec.backend;
    let common = Common::from_matches(&m, backend.default_sandbox_subdir);
    let model = cli::given_or_acp(
        &m,
        spec.model_flag,
        &ctx.env,
        spec.model_key,
        spec.default_model,
    );
    let timeout = cli::given_or_acp(
        &m,
        spec.timeout_flag,
        &ctx.env,
        spec.timeout_key,
        DEFAULT_TIMEOUT,
    );
    let stall = cli::given_or_acp(&m, spec.stall_flag, &ctx.env, spec.stall_key, DEFAULT_STALL);
    if let Some(code) = common.check(ctx, &cmd)? {
        return Ok(code);
    }
    launcher::positive_int(&timeout, &format!("--{}", spec.timeout_flag))?;
    launcher::non_negative_int(&stall, &format!("--{}", spec.stall_flag))?;
    let bin = launcher::resolve_binary(ctx, spec.bin_vars, spec.bin_names, spec.bin_fallbacks)
        .ok_or_else(|| fail(1, spec.missing_bin))?;
    let context = common.validate()?;
    let mut plan = Plan::new(backend, &common, context);
    plan.run_env_keys = vec![
        (spec.bin_key, bin.clone()),
        (spec.model_key, model.clone()),
        (spec.timeout_key, timeout.clone()),
    ];
    plan.inner = vec![
        (spec.bin_key, bin),
        (spec.model_key, model),
        (spec.timeout_key, timeout),
        (spec.stall_key, stall),
    ];
    launcher::launch(ctx, &plan)
}

/// The inner half: one supervised run of the agent inside the tmux pane.
pub fn run_inner(spec: &Spec, ctx: &mut Invocation<'_>, a: InnerArgs) -> anyhow::Result<i32> {
    let mut s = Session::from_args(spec.backend.tool, &a, &ctx.env)?;
    let bin = a.get(spec.bin_key);
    let Argv { args, input } = (spec.argv)(&s, &a.get(spec.model_key));
    let run = OneShot {
        name: spec.name,
        bin: &bin,
        args,
        input,
        timeout: a.get(spec.timeout_key).parse().unwrap_or(900),
        stall: a.get(spec.stall_key).parse().unwrap_or(0),
        progress: spec.progress,
    };
    run_one_shot(ctx, &mut s, run)
}
