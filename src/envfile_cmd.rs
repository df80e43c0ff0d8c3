//! `agent-control-plane env-file get|set|dump`: read and write state files
//! safely from users' scripts and hooks instead of `source`-ing them.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use acp_core::cli::{self, Parsed};
use acp_core::envfile::{self, EnvFile, Mode};
use acp_core::shellquote::QuoteLocale;
use acp_core::{Invocation, fail};
use clap::{Arg, Command};

pub fn command() -> Command {
    cli::tool_command(
        "env-file",
        "Read and write KEY=value state files without executing them",
    )
    .override_usage(
        "agent-control-plane env-file get FILE KEY\n       \
             agent-control-plane env-file set FILE KEY VALUE\n       \
             agent-control-plane env-file dump FILE [--json]",
    )
    .after_help(
        "get   print KEY's value, byte for byte, no newline added (exit 1 when absent)\n\
             set   replace or append KEY atomically, quoted as bash printf %q\n\
             dump  print every KEY=value (%q) or, with --json, one JSON object\n\
             Malformed or missing files exit 2 with file:line.",
    )
    .arg(Arg::new("action").value_parser(["get", "set", "dump"]))
    .arg(Arg::new("file").value_parser(clap::value_parser!(PathBuf)))
    .arg(Arg::new("key"))
    .arg(Arg::new("value").value_parser(clap::value_parser!(OsString)))
    .arg(cli::flag("json"))
}

pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let m = match cli::parse(ctx, command(), args, 2)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(c) => return Ok(c),
    };
    let usage = |what: &str| {
        fail(
            2,
            format!("env-file: {what} (see agent-control-plane env-file --help)"),
        )
    };
    let action = m
        .get_one::<String>("action")
        .ok_or_else(|| usage("missing action"))?;
    let file = m
        .get_one::<PathBuf>("file")
        .ok_or_else(|| usage("missing FILE"))?;
    let load =
        |file: &PathBuf| EnvFile::load_with(file, Mode::Strict).map_err(|e| fail(2, e.to_string()));
    match action.as_str() {
        "get" => {
            let key = m
                .get_one::<String>("key")
                .ok_or_else(|| usage("missing KEY"))?;
            let env = load(file)?;
            match env.get_os(key) {
                Some(v) => {
                    ctx.stdout.write_all(v.as_bytes())?;
                    Ok(0)
                }
                None => Ok(1),
            }
        }
        "set" => {
            let key = m
                .get_one::<String>("key")
                .ok_or_else(|| usage("missing KEY"))?;
            let value = m
                .get_one::<OsString>("value")
                .ok_or_else(|| usage("missing VALUE"))?;
            if !envfile::valid_key(key) {
                return Err(fail(
                    2,
                    format!("env-file: invalid key {key:?}: must match [A-Za-z_][A-Za-z0-9_]*"),
                ));
            }
            let locale = QuoteLocale::from_env(&ctx.env);
            envfile::set(file, key, value, locale).map_err(|e| fail(2, format!("{e:#}")))?;
            Ok(0)
        }
        _ => {
            let env = load(file)?;
            if m.get_flag("json") {
                let mut obj = serde_json::Map::new();
                for e in &env.entries {
                    obj.insert(e.key.clone(), e.value.to_string_lossy().into_owned().into());
                }
                writeln!(ctx.stdout, "{}", serde_json::Value::Object(obj))?;
            } else {
                let locale = QuoteLocale::from_env(&ctx.env);
                for (k, v) in env.to_map() {
                    ctx.stdout
                        .write_all(&envfile::format_assignment(&k, v.as_bytes(), locale))?;
                }
            }
            Ok(0)
        }
    }
}
