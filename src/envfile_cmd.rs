//! `agent-control-plane env-file get|set|dump`: read and write state files
//! safely from users' scripts and hooks instead of `source`-ing them.
//!
//! The words after the action are taken by position, literally: a KEY or
//! VALUE may start with `-` (`set F N -1`). Only `dump` has an option.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use acp_core::envfile::{self, EnvFile, Mode};
use acp_core::shellquote::QuoteLocale;
use acp_core::{Invocation, fail};
use clap::{Arg, Command};

const USAGE: &str = "agent-control-plane env-file get FILE KEY\n       \
                     agent-control-plane env-file set FILE KEY VALUE\n       \
                     agent-control-plane env-file dump FILE [--json]";

/// Exit code of a usage error (an invalid key included), as for every
/// built-in command of the binary.
const EXIT_USAGE: i32 = acp_core::cli::USAGE_EXIT;
/// Exit code of a file that is missing, malformed, not a regular file, or
/// cannot be read or written.
const EXIT_FILE: i32 = 2;
/// Exit code of `get` for an absent key, and of a failed write to stdout.
const EXIT_ABSENT_OR_STDOUT: i32 = 1;

/// The description shown by `env-file --help`.
pub fn command() -> Command {
    acp_core::cli::tool_command(
        "env-file",
        "Read and write KEY=value state files without executing them",
    )
    .override_usage(USAGE)
    .arg(Arg::new("action").help("get, set or dump"))
    .arg(Arg::new("FILE").help("The state file (KEY=value lines as bash printf %q writes them)"))
    .arg(Arg::new("KEY").help("A shell variable name: [A-Za-z_][A-Za-z0-9_]*"))
    .arg(Arg::new("VALUE").help("The new value, taken literally (it may start with '-')"))
    .arg(
        acp_core::cli::flag("json")
            .help("dump only: print one JSON object instead of KEY=value lines"),
    )
    .after_help(
        "Actions:\n  \
         get   print KEY's value, byte for byte, no newline added\n  \
         set   replace or append KEY (quoted as bash printf %q), atomically and under the\n        \
               file's lock, so concurrent setters lose nothing\n  \
         dump  print every KEY=value (%q, sorted by key) or, with --json, one JSON object\n        \
               in file order; JSON strings are UTF-8, so each invalid UTF-8 sequence of a\n        \
               value becomes U+FFFD (use get for the exact bytes)\n\n\
         KEY and VALUE are taken literally, even when they start with '-'.\n\
         FILE must be a regular file (at most 16 MiB); set creates it when missing.\n\n\
         Exit codes:\n  \
         0  done\n  \
         1  get: KEY is not in FILE; or writing to stdout failed (one line on stderr)\n  \
         2  FILE missing, malformed (file:line), not a regular file, too large, or not\n     \
            writable\n  \
         64 usage error, invalid KEY",
    )
}

/// What was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Action {
    Get {
        file: PathBuf,
        key: String,
    },
    Set {
        file: PathBuf,
        key: String,
        value: OsString,
    },
    Dump {
        file: PathBuf,
        json: bool,
    },
}

/// The arguments of one call: an action, or a request for help.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Args {
    Help,
    Run(Action),
}

fn usage_error(what: impl std::fmt::Display) -> anyhow::Error {
    fail(
        EXIT_USAGE,
        format!("env-file: {what} (see agent-control-plane env-file --help)"),
    )
}

fn is_help(word: &OsStr) -> bool {
    word == "--help" || word == "-h"
}

/// A KEY argument, which must be a valid shell variable name.
fn key_arg(word: &OsStr) -> anyhow::Result<String> {
    let key = word.to_string_lossy();
    if word == "--json" {
        return Err(usage_error("--json applies only to dump"));
    }
    if !envfile::valid_key(&key) {
        return Err(fail(
            EXIT_USAGE,
            format!("env-file: invalid key {key:?}: must match [A-Za-z_][A-Za-z0-9_]*"),
        ));
    }
    Ok(key.into_owned())
}

/// A FILE argument of `get`/`set` (`--json` there is a misplaced option).
fn file_arg(word: &OsStr) -> anyhow::Result<PathBuf> {
    if word == "--json" {
        return Err(usage_error("--json applies only to dump"));
    }
    Ok(PathBuf::from(word))
}

/// Refuses words beyond what the action takes.
fn no_extra(extra: &[OsString]) -> anyhow::Result<()> {
    match extra.first() {
        None => Ok(()),
        Some(w) if w == "--json" => Err(usage_error("--json applies only to dump")),
        Some(w) => Err(usage_error(format_args!(
            "unexpected extra argument {:?}",
            w.to_string_lossy()
        ))),
    }
}

/// Turns the words after `env-file` into [`Args`].
fn parse_args(args: &[OsString]) -> anyhow::Result<Args> {
    if args.iter().take(2).any(|a| is_help(a)) {
        return Ok(Args::Help);
    }
    let Some((action, rest)) = args.split_first() else {
        return Err(usage_error("missing action"));
    };
    let missing = |what: &str| usage_error(format_args!("missing {what}"));
    let action = match action.to_str() {
        Some("get") => {
            let [file, key, extra @ ..] = rest else {
                return Err(missing(if rest.is_empty() { "FILE" } else { "KEY" }));
            };
            let (file, key) = (file_arg(file)?, key_arg(key)?);
            no_extra(extra)?;
            Action::Get { file, key }
        }
        Some("set") => {
            let [file, key, value, extra @ ..] = rest else {
                return Err(missing(["FILE", "KEY", "VALUE"][rest.len().min(2)]));
            };
            let (file, key) = (file_arg(file)?, key_arg(key)?);
            no_extra(extra)?;
            Action::Set {
                file,
                key,
                value: value.clone(),
            }
        }
        Some("dump") => {
            let json = rest.iter().any(|w| w == "--json");
            let mut words = rest.iter().filter(|w| *w != "--json");
            let file = words.next().ok_or_else(|| missing("FILE"))?;
            no_extra(&words.cloned().collect::<Vec<_>>())?;
            Action::Dump {
                file: PathBuf::from(file),
                json,
            }
        }
        _ => {
            return Err(usage_error(format_args!(
                "unknown action {:?}, expected get, set or dump",
                action.to_string_lossy()
            )));
        }
    };
    Ok(Args::Run(action))
}

/// Runs `env-file`.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let action = match parse_args(args)? {
        Args::Help => {
            let text = command().render_help().to_string();
            return to_stdout(ctx, text.as_bytes()).map(|()| 0);
        }
        Args::Run(action) => action,
    };
    let locale = QuoteLocale::from_env(&ctx.env);
    let load = |file: &PathBuf| {
        EnvFile::load_with(file, Mode::Strict).map_err(|e| fail(EXIT_FILE, e.to_string()))
    };
    match action {
        Action::Get { file, key } => match load(&file)?.get_os(&key) {
            Some(v) => to_stdout(ctx, v.as_bytes()).map(|()| 0),
            None => Ok(EXIT_ABSENT_OR_STDOUT),
        },
        Action::Set { file, key, value } => {
            envfile::set(&file, &key, &value, locale).map_err(|e| {
                fail(
                    EXIT_FILE,
                    format!("env-file: {}", acp_core::cli::error_line(&e)),
                )
            })?;
            Ok(0)
        }
        Action::Dump { file, json } => {
            let env = load(&file)?;
            let text = if json {
                dump_json(&env)
            } else {
                env.to_map()
                    .iter()
                    .flat_map(|(k, v)| envfile::format_assignment(k, v.as_bytes(), locale))
                    .collect()
            };
            to_stdout(ctx, &text).map(|()| 0)
        }
    }
}

/// One JSON object of every key in file order (the last value of a key
/// repeated); invalid UTF-8 sequences in values become U+FFFD.
fn dump_json(env: &EnvFile) -> Vec<u8> {
    let mut obj = serde_json::Map::new();
    for e in &env.entries {
        obj.insert(e.key.clone(), e.value.to_string_lossy().into_owned().into());
    }
    let mut text = serde_json::Value::Object(obj).to_string().into_bytes();
    text.push(b'\n');
    text
}

/// Writes `bytes` to stdout and flushes it: a failure (a full disk, a
/// closed terminal) is exit 1 with one line; a closed pipe stays the quiet
/// end it is everywhere.
fn to_stdout(ctx: &mut Invocation<'_>, bytes: &[u8]) -> anyhow::Result<()> {
    match ctx
        .stdout
        .write_all(bytes)
        .and_then(|()| ctx.stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(e.into()),
        Err(e) => Err(fail(
            EXIT_ABSENT_OR_STDOUT,
            format!("env-file: failed to write to stdout: {e}"),
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn words(w: &[&str]) -> Vec<OsString> {
        w.iter().map(OsString::from).collect()
    }

    fn parsed(w: &[&str]) -> Result<Args, String> {
        parse_args(&words(w)).map_err(|e| e.to_string())
    }

    #[test]
    fn positional_words_are_literal() {
        assert_eq!(
            parsed(&["set", "f", "K", "-1"]),
            Ok(Args::Run(Action::Set {
                file: "f".into(),
                key: "K".into(),
                value: "-1".into()
            }))
        );
        assert_eq!(
            parsed(&["set", "f", "K", "--json"]).map(|_| ()),
            Ok(()),
            "a VALUE of --json is a value"
        );
        assert_eq!(
            parsed(&["dump", "--json", "f"]),
            Ok(Args::Run(Action::Dump {
                file: "f".into(),
                json: true
            }))
        );
        assert_eq!(parsed(&["get", "--help"]), Ok(Args::Help));
    }

    #[test]
    fn misuse_is_refused() {
        for (w, msg) in [
            (&["get", "f", ""][..], "invalid key \"\""),
            (&["get", "f", "-1"], "invalid key \"-1\""),
            (&["get", "f", "A", "B"], "unexpected extra argument \"B\""),
            (&["get", "f", "A", "--json"], "--json applies only to dump"),
            (&["get", "f", "--json"], "--json applies only to dump"),
            (
                &["set", "f", "A", "1", "2"],
                "unexpected extra argument \"2\"",
            ),
            (
                &["set", "f", "A", "1", "--json"],
                "--json applies only to dump",
            ),
            (&["set", "f", "A"], "missing VALUE"),
            (&["set", "f"], "missing KEY"),
            (&["dump", "f", "g"], "unexpected extra argument \"g\""),
            (&["dump", "--json"], "missing FILE"),
            (&["frob", "f"], "unknown action \"frob\""),
            (&[], "missing action"),
        ] {
            let err = parsed(w).err().unwrap_or_default();
            assert!(err.contains(msg), "{w:?}: {err}");
        }
    }
}
