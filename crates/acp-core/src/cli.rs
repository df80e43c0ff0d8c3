//! Argument parsing shaped like the original scripts' `while/case` loops:
//! `--flag value` pairs (a missing value is empty), `--help`/`-h` prints the
//! usage and exits 0, an unknown argument prints `Unknown argument: X` and the
//! usage to stderr and exits with the tool's usage code.

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::Invocation;

/// The outcome of parsing: matches to act on, or an exit code already decided.
pub enum Parsed {
    Matches(ArgMatches),
    Exit(i32),
}

/// A `--name VALUE` option that, like the shell loops, takes the next word
/// whatever it is and becomes empty when no word follows.
pub fn opt(name: &'static str) -> Arg {
    Arg::new(name)
        .long(name)
        .num_args(0..=1)
        .default_missing_value("")
        .allow_hyphen_values(true)
        .action(ArgAction::Set)
}

/// A repeatable `--name VALUE` option.
pub fn opt_multi(name: &'static str) -> Arg {
    opt(name).action(ArgAction::Append)
}

/// A boolean `--name` flag.
pub fn flag(name: &'static str) -> Arg {
    Arg::new(name).long(name).action(ArgAction::SetTrue)
}

/// The `--help`/`-h` flag every tool has.
pub fn help_flag() -> Arg {
    Arg::new("help")
        .long("help")
        .short('h')
        .action(ArgAction::SetTrue)
        .help("Print this usage and exit")
}

/// A new tool command with our own help flag (clap's is replaced so that
/// `--help` goes to stdout with exit 0, as in the originals).
pub fn tool_command(name: &'static str, about: &'static str) -> Command {
    Command::new(name)
        .about(about)
        .disable_help_flag(true)
        .disable_version_flag(true)
        .arg(help_flag())
}

/// Whether the first argument asks for help (`--help` or `-h`): the
/// positional wrappers (`worker-status.sh SESSION`, `retry-state.sh KIND ID
/// ACTION`) take no other option.
pub fn first_is_help(args: &[OsString]) -> bool {
    args.first().is_some_and(|a| a == "--help" || a == "-h")
}

/// `--runs-root <path>`, falling back to `AGENT_PROJECT_RUNS_ROOT`
/// (read it with [`get_or_env`]).
pub fn runs_root_opt() -> Arg {
    opt("runs-root").help("Parent of the run directories [env: AGENT_PROJECT_RUNS_ROOT]")
}

/// `--session <id>`, described by `help`.
pub fn session_opt(help: &'static str) -> Arg {
    opt("session").help(help)
}

/// The rendered usage of `cmd`.
pub fn usage(cmd: &Command) -> String {
    let mut cmd = cmd.clone();
    cmd.render_help().to_string()
}

/// Parses `args` with `cmd`; prints usage or errors like the originals did.
pub fn parse(
    ctx: &mut Invocation<'_>,
    cmd: Command,
    args: &[OsString],
    usage_code: i32,
) -> anyhow::Result<Parsed> {
    let name = cmd.get_name().to_string();
    let argv = std::iter::once(OsString::from(name)).chain(args.iter().cloned());
    match cmd.clone().try_get_matches_from(argv) {
        Ok(m) => {
            if m.get_flag("help") {
                write!(ctx.stdout, "{}", usage(&cmd))?;
                return Ok(Parsed::Exit(0));
            }
            Ok(Parsed::Matches(m))
        }
        Err(e) => {
            if args.iter().any(|a| a == "--help" || a == "-h") {
                write!(ctx.stdout, "{}", usage(&cmd))?;
                return Ok(Parsed::Exit(0));
            }
            let offending = match e.get(ContextKind::InvalidArg) {
                Some(ContextValue::String(s)) => Some(s.clone()),
                _ => None,
            };
            match (e.kind(), offending) {
                (ErrorKind::UnknownArgument, Some(arg)) => {
                    writeln!(ctx.stderr, "Unknown argument: {arg}")?;
                }
                _ => {
                    let text = e.render().to_string();
                    let first = text.lines().next().unwrap_or("invalid arguments");
                    writeln!(ctx.stderr, "{}", first.trim_start_matches("error: "))?;
                }
            }
            write!(ctx.stderr, "{}", usage(&cmd))?;
            Ok(Parsed::Exit(usage_code))
        }
    }
}

/// The string value of option `name` ("" when absent).
pub fn get(m: &ArgMatches, name: &str) -> String {
    m.get_one::<String>(name).cloned().unwrap_or_default()
}

/// Whether option `name` was given on the command line.
pub fn given(m: &ArgMatches, name: &str) -> bool {
    m.contains_id(name) && m.value_source(name) == Some(clap::parser::ValueSource::CommandLine)
}

/// Option `name` when given on the command line (even empty), else `fallback()`.
pub fn given_or(m: &ArgMatches, name: &str, fallback: impl FnOnce() -> String) -> String {
    if given(m, name) {
        get(m, name)
    } else {
        fallback()
    }
}

/// Option `name` when given, else the first non-empty of `keys`, else `default`.
pub fn given_or_first(
    m: &ArgMatches,
    name: &str,
    env: &crate::Env,
    keys: &[&str],
    default: &str,
) -> String {
    given_or(m, name, || env.first_or(keys, default))
}

/// Option `name` when given, else `ACP_<var>` -> `F_LOSNING_<var>` -> `default`.
pub fn given_or_acp(
    m: &ArgMatches,
    name: &str,
    env: &crate::Env,
    var: &str,
    default: &str,
) -> String {
    given_or(m, name, || env.acp_or(var, default))
}

/// The string value of option `name`, or the first non-empty of `env_keys`.
pub fn get_or_env(m: &ArgMatches, name: &str, ctx: &Invocation<'_>, env_keys: &[&str]) -> String {
    given_or(m, name, || {
        ctx.env
            .first_non_empty(env_keys)
            .unwrap_or_else(|| get(m, name))
    })
}

/// All values of a repeatable option, in order.
pub fn get_all(m: &ArgMatches, name: &str) -> Vec<String> {
    m.get_many::<String>(name)
        .map(|v| v.cloned().collect())
        .unwrap_or_default()
}
