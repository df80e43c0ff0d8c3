//! Argument parsing shaped like the original scripts' `while/case` loops:
//! `--flag value` pairs (a missing value is empty), `--help`/`-h` prints the
//! usage and exits 0, an unknown argument prints `Unknown argument: X` and the
//! usage to stderr and exits with the tool's usage code; a missing required
//! option is one line naming it ([`require`]).
//!
//! Also the checks every tool applies to names that end up in paths or
//! `KEY=value` lines ([`plain_name`], [`printable`]) and the one-line form of
//! an error chain ([`error_line`]).

use std::ffi::OsString;

use clap::builder::ValueRange;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::{Invocation, fail};

/// The exit code of a usage error in the binary's own commands (`help`,
/// `version`, `env-file`, `shims`, an unknown word): `EX_USAGE` of
/// sysexits.h. The tools keep their originals' codes.
pub const USAGE_EXIT: i32 = 64;

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

/// The rendered usage of `cmd`. An [`opt`] parses a missing value as empty,
/// but it does take a value: its help shows `--name <name>`, not
/// `--name [<name>]`.
pub fn usage(cmd: &Command) -> String {
    let optional_value = ValueRange::new(0..=1);
    let mut cmd = cmd.clone().mut_args(|a| {
        if !a.is_positional() && a.get_num_args() == Some(optional_value) {
            a.num_args(1)
        } else {
            a
        }
    });
    cmd.render_help().to_string()
}

/// The argument as the user typed it for clap's offending `arg`: clap names
/// `--x=1` as `--x`, the original loops said `Unknown argument: --x=1`.
fn as_typed(args: &[OsString], arg: &str) -> String {
    let with_value = format!("{arg}=");
    args.iter()
        .map(|a| a.to_string_lossy())
        .find(|a| a == arg || a.starts_with(&with_value))
        .map_or_else(|| arg.to_string(), |a| a.into_owned())
}

/// Parses `args` with `cmd`; prints usage or errors like the originals did.
pub fn parse(
    ctx: &mut Invocation<'_>,
    cmd: Command,
    args: &[OsString],
    usage_code: i32,
) -> anyhow::Result<Parsed> {
    let mut cmd = cmd;
    let name = cmd.get_name().to_string();
    let argv = std::iter::once(OsString::from(name)).chain(args.iter().cloned());
    // `_mut`: no copy of the command for the (rare) usage output.
    match cmd.try_get_matches_from_mut(argv) {
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
                    writeln!(ctx.stderr, "Unknown argument: {}", as_typed(args, &arg))?;
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

/// Fails with `code` and one line naming `flag` when `value` is empty (the
/// originals printed their whole usage instead).
pub fn require(value: &str, flag: &str, code: i32) -> anyhow::Result<()> {
    if value.is_empty() {
        return Err(fail(code, format!("{flag} is required (see --help)")));
    }
    Ok(())
}

/// [`require`] for an option that falls back to environment variable `var`.
pub fn require_or_env(value: &str, flag: &str, var: &str, code: i32) -> anyhow::Result<()> {
    if value.is_empty() {
        return Err(fail(
            code,
            format!("{flag} is required (or set {var}; see --help)"),
        ));
    }
    Ok(())
}

/// Checks that `value`, given as `what` (`--session`), has no control
/// characters: a newline in a value a tool prints as `KEY=value` would forge
/// a line for the reader.
pub fn printable(what: &str, value: &str) -> Result<(), String> {
    if value.chars().any(char::is_control) {
        return Err(format!(
            "{what} must not contain control characters: \"{}\"",
            value.escape_debug()
        ));
    }
    Ok(())
}

/// Checks that `value`, given as `what`, names one entry directly inside a
/// directory (a session, a run dir, an item): not `.`, `..` or a path, and
/// [`printable`]. Empty is the caller's business ([`require`]).
pub fn plain_name(what: &str, value: &str) -> Result<(), String> {
    if value.contains('/') || value == "." || value == ".." {
        return Err(format!(
            "{what} must be a plain name, not a path: {}",
            value.escape_debug()
        ));
    }
    printable(what, value)
}

/// An error chain as one line: the messages joined by `: `, a cause left out
/// when the text so far already ends with it (an error that prints its
/// source and also returns it from `source()` is not doubled), newlines
/// turned into spaces.
pub fn error_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || line.ends_with(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line.replace('\n', " ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn run_parse(cmd: Command, args: &[&str]) -> (i32, String, String) {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        let code = {
            let mut ctx = Invocation::new(&mut out, &mut err, crate::Env::default());
            match parse(&mut ctx, cmd, &args, 3) {
                Ok(Parsed::Exit(c)) => c,
                Ok(Parsed::Matches(_)) => 0,
                Err(e) => panic!("{e:#}"),
            }
        };
        (
            code,
            String::from_utf8_lossy(&out).into_owned(),
            String::from_utf8_lossy(&err).into_owned(),
        )
    }

    fn sample() -> Command {
        tool_command("sample", "A sample tool")
            .arg(opt("session").help("Session id"))
            .arg(flag("json").help("JSON output"))
    }

    #[test]
    fn an_option_value_is_shown_as_required_but_parses_as_optional() {
        let text = usage(&sample());
        assert!(text.contains("--session <session>"), "{text}");
        assert!(!text.contains("[<session>]"), "{text}");
        // Parsing is unchanged: a missing value is empty.
        let m = sample()
            .try_get_matches_from(["sample", "--session"])
            .unwrap();
        assert_eq!(get(&m, "session"), "");
    }

    #[test]
    fn an_unknown_argument_is_named_as_typed() {
        let (code, out, err) = run_parse(sample(), &["--x=1"]);
        assert_eq!((code, out.as_str()), (3, ""));
        assert_eq!(err.lines().next(), Some("Unknown argument: --x=1"));
        assert!(err.contains("--session <session>"), "{err}");
        let (code, out, _) = run_parse(sample(), &["--help"]);
        assert_eq!(code, 0);
        assert!(out.contains("--session <session>"), "{out}");
        let (_, _, err) = run_parse(sample(), &["--session", "s", "--y"]);
        assert_eq!(err.lines().next(), Some("Unknown argument: --y"));
    }

    #[test]
    fn a_missing_required_option_is_one_line_naming_it() {
        assert!(require("x", "--session", 1).is_ok());
        let e = require("", "--session", 1).unwrap_err();
        let exit = e.downcast_ref::<crate::ExitError>().unwrap();
        assert_eq!(exit.code, 1);
        assert_eq!(exit.message, "--session is required (see --help)");
        let e = require_or_env("", "--runs-root", "AGENT_PROJECT_RUNS_ROOT", 1).unwrap_err();
        assert!(e.to_string().contains("AGENT_PROJECT_RUNS_ROOT"), "{e}");
        assert_eq!(e.to_string().lines().count(), 1);
    }

    #[test]
    fn names_with_paths_or_control_characters_are_refused() {
        for ok in ["issue-12", "pr review 7", "live:0", "v1.2", "é"] {
            assert_eq!(plain_name("--session", ok), Ok(()), "{ok}");
        }
        for bad in [
            "../x",
            "a/b",
            ".",
            "..",
            "n\nLAUNCH_PID=1",
            "a\rb",
            "t\tb",
            "d\u{7f}",
        ] {
            let e = plain_name("--session", bad).unwrap_err();
            assert!(e.starts_with("--session must"), "{e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
        assert_eq!(printable("name", "pr review/7 x"), Ok(()));
        assert!(printable("name", "n\nX=1").is_err());
    }

    #[test]
    fn error_lines_do_not_repeat_a_cause_the_message_already_shows() {
        let io = std::io::Error::from_raw_os_error(21);
        let e = anyhow::Error::from(crate::envfile::Error::Io {
            path: "d".into(),
            source: io,
        });
        // `{e:#}` repeats the source that the message already contains.
        assert_eq!(error_line(&e), "d: Is a directory (os error 21)");
        let e = anyhow::anyhow!("inner\ncause").context("outer");
        assert_eq!(error_line(&e), "outer: inner cause");
    }
}
