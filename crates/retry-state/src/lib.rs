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
use std::path::PathBuf;

use acp_core::cli::{self, Parsed};
use acp_core::shellquote::QuoteLocale;
use acp_core::{Env, Invocation, ToolSpec, fail};

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
    let os = || clap::builder::OsStringValueParser::new();
    cli::tool_command(
        "agent-project-retry-state",
        "Keeps one retry back-off record per issue, PR or provider under \
         <state-root>/retries/<kind>s/<item-id>.env. `schedule` counts a failed attempt and \
         holds the item back for the next cooldown of the list (the last one repeats), \
         `clear` forgets it, `get` only reports. READY=no while the next attempt lies in \
         the future. `schedule` and `clear` of one item are serialised (a lock beside the \
         record), so concurrent callers count every attempt.",
    )
    .override_usage(
        "agent-project-retry-state --state-root <path> --kind issue|pr|provider \
         --item-id <id> --action get|schedule|clear [--reason <text>] [--cooldowns <csv>] \
         [--until <epoch>]",
    )
    .arg(
        cli::opt("state-root")
            .value_parser(os())
            .help("State directory [env: AGENT_PROJECT_STATE_ROOT]"),
    )
    .arg(cli::opt("kind").help("issue, pr or provider"))
    .arg(
        cli::opt("item-id")
            .value_parser(os())
            .help("Issue number, PR number or provider key"),
    )
    .arg(cli::opt("action").help("get, schedule or clear"))
    .arg(
        cli::opt("reason")
            .value_parser(os())
            .help("Why the attempt failed (stored as LAST_REASON)"),
    )
    .arg(cli::opt("until").help(
        "schedule: hold the item back until this epoch (when it lies ahead) instead of \
         the attempt's cooldown, e.g. when a provider said when its quota resets",
    ))
    .arg(cli::opt("cooldowns").help(
        "Comma-separated seconds per attempt [env: AGENT_PROJECT_RETRY_COOLDOWNS; \
         default 300,900,1800,3600]",
    ))
}

/// What one call of `agent-project-retry-state` is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub state_root: PathBuf,
    pub kind: Kind,
    pub item_id: OsString,
    pub action: Action,
    pub reason: OsString,
    /// The raw cooldown list (only `schedule` parses it).
    pub cooldowns: String,
    /// `--until EPOCH` (empty or not a number: none).
    pub until: Option<i64>,
}

impl Args {
    /// Flag, else `AGENT_PROJECT_*` variable, else default. A missing
    /// required flag is one line naming it, and a bad kind or action the
    /// original's message; all exit 1.
    pub fn from_matches(m: &clap::ArgMatches, env: &Env) -> anyhow::Result<Self> {
        let os = |name: &str| m.get_one::<OsString>(name).cloned().unwrap_or_default();
        let state_root = if cli::given(m, "state-root") {
            os("state-root")
        } else {
            env.first_non_empty(&["AGENT_PROJECT_STATE_ROOT"])
                .map(OsString::from)
                .unwrap_or_default()
        };
        let kind = cli::get(m, "kind");
        let item_id = os("item-id");
        let action = cli::get(m, "action");
        for (missing, flag) in [
            (state_root.is_empty(), "--state-root"),
            (kind.is_empty(), "--kind"),
            (item_id.is_empty(), "--item-id"),
            (action.is_empty(), "--action"),
        ] {
            if missing {
                let hint = if flag == "--state-root" {
                    "or set AGENT_PROJECT_STATE_ROOT; see --help"
                } else {
                    "see --help"
                };
                return Err(fail(1, format!("{flag} is required ({hint})")));
            }
        }
        Ok(Self {
            state_root: PathBuf::from(state_root),
            kind: Kind::parse(&kind)
                .ok_or_else(|| fail(1, "--kind must be issue, pr, or provider"))?,
            item_id,
            action: Action::parse(&action)
                .ok_or_else(|| fail(1, "--action must be get, schedule, or clear"))?,
            reason: os("reason"),
            cooldowns: cli::given_or(m, "cooldowns", || {
                env.first_or(&["AGENT_PROJECT_RETRY_COOLDOWNS"], DEFAULT_COOLDOWNS)
            }),
            until: cli::get(m, "until").trim().parse::<i64>().ok(),
        })
    }

    /// The store request for this call at `now`.
    pub fn request(&self, now: i64, locale: QuoteLocale) -> Request<'_> {
        Request {
            state_root: &self.state_root,
            kind: self.kind,
            item_id: &self.item_id,
            action: self.action,
            reason: &self.reason,
            cooldowns: &self.cooldowns,
            until: self.until,
            now,
            locale,
        }
    }
}

/// Runs `agent-project-retry-state`.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let m = match cli::parse(ctx, command(), args, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    let args = Args::from_matches(&m, &ctx.env)?;
    let locale = QuoteLocale::from_env(&ctx.env);
    let outcome = store::apply(&args.request(acp_core::time::now_epoch(), locale))?;
    for w in &outcome.warnings {
        ctx.err_line(format!("agent-project-retry-state: {w}"))?;
    }
    print_outcome(ctx.stdout, args.kind, &args.item_id, &outcome)?;
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
