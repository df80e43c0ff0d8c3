//! `agent-project-capture-worker`: print a worker's latest transcript — the
//! live tmux pane when the session exists, else the tail of its run log; and
//! `capture-worker.sh SESSION [LINES]`, the operator wrapper that resolves
//! the profile's runs root first.

use std::ffi::OsString;
use std::path::Path;

use acp_core::cli::{self, Parsed};
use acp_core::tmux::Tmux;
use acp_core::{Invocation, ToolSpec, fail};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[
    ToolSpec {
        name: "agent-project-capture-worker",
        aliases: &["capture-worker"],
        paths: &["tools/bin/agent-project-capture-worker"],
        about: "Print a worker's latest transcript (tmux pane, else its log)",
        command,
        run,
    },
    ToolSpec {
        name: "capture-worker.sh",
        aliases: &[],
        paths: &["tools/bin/capture-worker.sh"],
        about: "Latest transcript of SESSION in the selected profile's runs root",
        command: wrapper::command,
        run: wrapper::run,
    },
];

mod wrapper;

/// The argument parser of `agent-project-capture-worker`.
pub fn command() -> clap::Command {
    cli::tool_command(
        "agent-project-capture-worker",
        "Prints the last lines of a worker's transcript: the visible pane of its tmux \
         session while it runs, otherwise the end of <runs-root>/<session>/<session>.log.",
    )
    .override_usage("agent-project-capture-worker --runs-root <path> --session <id> [--lines <n>]")
    .arg(cli::runs_root_opt())
    .arg(cli::session_opt(
        "Session id (tmux session and run directory name)",
    ))
    .arg(cli::opt("lines").help("How many lines to print [default: 80]"))
}

/// Runs `agent-project-capture-worker`.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let m = match cli::parse(ctx, command(), args, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    let runs_root = cli::get_or_env(&m, "runs-root", ctx, &["AGENT_PROJECT_RUNS_ROOT"]);
    let session = cli::get(&m, "session");
    let lines = if m.contains_id("lines") {
        cli::get(&m, "lines")
    } else {
        "80".to_string()
    };
    cli::require_or_env(&runs_root, "--runs-root", "AGENT_PROJECT_RUNS_ROOT", 1)?;
    cli::require(&session, "--session", 1)?;
    // The session names a directory inside the runs root and a tmux session.
    cli::plain_name("--session", &session).map_err(|m| fail(1, m))?;
    let count = parse_lines(&lines)?;
    capture(ctx, &runs_root, &session, count)
}

/// Prints the transcript of `session`; exit 0, or 1 when there is neither a
/// live session nor a log.
pub fn capture(
    ctx: &mut Invocation<'_>,
    runs_root: &str,
    session: &str,
    count: Count,
) -> anyhow::Result<i32> {
    let tmux = Tmux::new(&ctx.env, None);
    if tmux.has_session(session) {
        let pane = tmux
            .capture_pane(session)
            .map_err(|e| fail(1, cli::error_line(&e)))?;
        ctx.stdout.write_all(tail(&pane, count))?;
        return Ok(0);
    }
    let log = format!("{runs_root}/{session}/{session}.log");
    if Path::new(&log).is_file() {
        let bytes = acp_core::fsx::read(Path::new(&log))?;
        ctx.stdout.write_all(tail(&bytes, count))?;
        return Ok(0);
    }
    Err(fail(
        1,
        format!("no tmux session or log found for {session}"),
    ))
}

/// A `tail -n` line count: the last N lines, or everything from line N on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    Last(usize),
    From(usize),
}

/// Parses `--lines` as `tail -n` does (`N`, `-N`, `+N`).
pub fn parse_lines(text: &str) -> anyhow::Result<Count> {
    let (from, digits) = match text.as_bytes().first() {
        Some(b'+') => (true, &text[1..]),
        Some(b'-') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(fail(1, format!("invalid number of lines: {text:?}")));
    }
    // Counts beyond usize mean "everything", as for tail.
    let n = digits.parse::<usize>().unwrap_or(usize::MAX);
    Ok(if from { Count::From(n) } else { Count::Last(n) })
}

/// The part of `text` that `tail -n` prints.
pub fn tail(text: &[u8], count: Count) -> &[u8] {
    match count {
        Count::Last(n) => acp_core::classify::last_lines(text, n),
        Count::From(n) => {
            let skip = n.saturating_sub(1);
            let mut start = 0;
            for _ in 0..skip {
                match text[start..].iter().position(|b| *b == b'\n') {
                    Some(i) => start += i + 1,
                    None => return &text[text.len()..],
                }
            }
            &text[start..]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_counts_like_coreutils() {
        let t = b"1\n2\n3\n4";
        assert_eq!(tail(t, Count::Last(2)), b"3\n4");
        assert_eq!(tail(t, Count::Last(0)), b"");
        assert_eq!(tail(t, Count::Last(9)), t);
        assert_eq!(tail(t, Count::From(3)), b"3\n4");
        assert_eq!(tail(t, Count::From(0)), t);
        assert_eq!(tail(t, Count::From(9)), b"");
        assert!(matches!(parse_lines("+2"), Ok(Count::From(2))));
        assert!(matches!(parse_lines("-5"), Ok(Count::Last(5))));
        assert!(parse_lines("abc").is_err());
        assert!(parse_lines("").is_err());
        assert!(parse_lines("1 0").is_err());
    }
}
