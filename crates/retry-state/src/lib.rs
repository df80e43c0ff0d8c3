//! `agent-project-retry-state` and `retry-state.sh`: read and update the
//! per-issue, per-PR and per-provider retry back-off records under
//! `<state>/retries/`.
//!
//! `agent-project-retry-state --state-root P --kind issue|pr|provider
//! --item-id ID --action get|schedule|clear [--reason T] [--cooldowns CSV]`
//! prints `KIND=`, `ITEM_ID=`, `ATTEMPTS=`, `NEXT_ATTEMPT_EPOCH=`,
//! `NEXT_ATTEMPT_AT=`, `READY=`, `LAST_REASON=`, `UPDATED_AT=`.
//! `retry-state.sh issue|pr ID ACTION [REASON]` resolves the state root and
//! cooldowns from the profile and runs the former through its sibling path.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use acp_core::cli::{self, Parsed};
use acp_core::shellquote::QuoteLocale;
use acp_core::{Invocation, ToolSpec, fail};

pub mod store;
pub mod wrapper;

use store::{Action, Kind, Outcome, Request};

/// Default back-off schedule in seconds.
pub const DEFAULT_COOLDOWNS: &str = "300,900,1800,3600";

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[
    ToolSpec {
        name: "agent-project-retry-state",
        aliases: &["retry-state"],
        paths: &["tools/bin/agent-project-retry-state"],
        about: "Read or update an issue/PR/provider retry back-off record",
        command,
        run,
    },
    ToolSpec {
        name: "retry-state.sh",
        aliases: &[],
        paths: &["tools/bin/retry-state.sh"],
        about: "Retry back-off record of an issue or PR, with the profile's state root and cooldowns",
        command: wrapper::command,
        run: wrapper::run,
    },
];

/// The argument parser of `agent-project-retry-state`.
pub fn command() -> clap::Command {
    cli::tool_command(
        "agent-project-retry-state",
        "Keeps one retry back-off record per issue, PR or provider under \
         <state-root>/retries/<kind>s/<item-id>.env. `schedule` counts a failed attempt and \
         holds the item back for the next cooldown of the list (the last one repeats), \
         `clear` forgets it, `get` only reports. READY=no while the next attempt lies in \
         the future.",
    )
    .override_usage(
        "agent-project-retry-state --state-root <path> --kind issue|pr|provider \
         --item-id <id> --action get|schedule|clear [--reason <text>] [--cooldowns <csv>]",
    )
    .arg(cli::opt("state-root").help("State directory [env: AGENT_PROJECT_STATE_ROOT]"))
    .arg(cli::opt("kind").help("issue, pr or provider"))
    .arg(cli::opt("item-id").help("Issue number, PR number or provider key"))
    .arg(cli::opt("action").help("get, schedule or clear"))
    .arg(cli::opt("reason").help("Why the attempt failed (stored as LAST_REASON)"))
    .arg(cli::opt("cooldowns").help(
        "Comma-separated seconds per attempt [env: AGENT_PROJECT_RETRY_COOLDOWNS; \
         default 300,900,1800,3600]",
    ))
}

fn opt_os(m: &clap::ArgMatches, name: &str) -> OsString {
    m.get_raw(name)
        .and_then(|mut v| v.next())
        .map(OsStr::to_os_string)
        .unwrap_or_default()
}

/// Runs `agent-project-retry-state`.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let cmd = command();
    let m = match cli::parse(ctx, cmd.clone(), args, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    let state_root = cli::get_or_env(&m, "state-root", ctx, &["AGENT_PROJECT_STATE_ROOT"]);
    let kind = cli::get(&m, "kind");
    let item_id = opt_os(&m, "item-id");
    let action = cli::get(&m, "action");
    let reason = opt_os(&m, "reason");
    let cooldowns = if m.value_source("cooldowns") == Some(clap::parser::ValueSource::CommandLine) {
        cli::get(&m, "cooldowns")
    } else {
        ctx.env
            .first_or(&["AGENT_PROJECT_RETRY_COOLDOWNS"], DEFAULT_COOLDOWNS)
    };
    if state_root.is_empty() || kind.is_empty() || item_id.is_empty() || action.is_empty() {
        write!(ctx.stderr, "{}", cli::usage(&cmd))?;
        return Ok(1);
    }
    let kind =
        Kind::parse(&kind).ok_or_else(|| fail(1, "--kind must be issue, pr, or provider"))?;
    let action = Action::parse(&action)
        .ok_or_else(|| fail(1, "--action must be get, schedule, or clear"))?;

    let req = Request {
        state_root: Path::new(&state_root),
        kind,
        item_id: &item_id,
        action,
        reason: &reason,
        cooldowns: &cooldowns,
        now: acp_core::time::now_epoch(),
        locale: QuoteLocale::from_env(&ctx.env),
    };
    let outcome = store::apply(&req)?;
    for w in &outcome.warnings {
        ctx.err_line(format!("agent-project-retry-state: {w}"))?;
    }
    print_outcome(ctx.stdout, kind, &item_id, &outcome)?;
    Ok(0)
}

/// A value as one output line: newlines and carriage returns become spaces
/// so a reason cannot forge further `KEY=` lines.
fn one_line(value: &[u8]) -> Vec<u8> {
    value
        .iter()
        .map(|&b| if b == b'\n' || b == b'\r' { b' ' } else { b })
        .collect()
}

/// Prints the eight `KEY=value` lines of an outcome.
pub fn print_outcome(
    out: &mut dyn Write,
    kind: Kind,
    item_id: &OsStr,
    outcome: &Outcome,
) -> std::io::Result<()> {
    let r = &outcome.record;
    let lines: [(&str, &[u8]); 8] = [
        ("KIND", kind.as_str().as_bytes()),
        ("ITEM_ID", item_id.as_bytes()),
        ("ATTEMPTS", r.attempts.as_bytes()),
        ("NEXT_ATTEMPT_EPOCH", r.next_attempt_epoch.as_bytes()),
        ("NEXT_ATTEMPT_AT", r.next_attempt_at.as_bytes()),
        (
            "READY",
            if outcome.ready {
                b"yes".as_slice()
            } else {
                b"no".as_slice()
            },
        ),
        ("LAST_REASON", r.last_reason.as_bytes()),
        ("UPDATED_AT", r.updated_at.as_bytes()),
    ];
    let mut buf = Vec::new();
    for (key, value) in lines {
        buf.extend_from_slice(key.as_bytes());
        buf.push(b'=');
        buf.extend(one_line(value));
        buf.push(b'\n');
    }
    out.write_all(&buf)
}
