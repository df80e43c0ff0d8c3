//! `record-verification.sh`: append one verification entry (a JSON line with
//! `timestamp`, `status`, `command` and an optional `note`) to
//! `<run dir>/verification.jsonl` and print the file's path.

use std::ffi::OsString;
use std::path::Path;

use acp_core::cli::{self, Parsed};
use acp_core::{Invocation, ToolSpec, fail, fsx};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "record-verification.sh",
    aliases: &["record-verification"],
    paths: &["tools/bin/record-verification.sh"],
    about: "Append a verification entry to the run's verification.jsonl",
    command,
    run,
}];

/// The run-directory variables, first non-empty wins.
const RUN_DIR_ENV: &[&str] = &["ACP_RUN_DIR", "F_LOSNING_RUN_DIR", "AGENT_PROJECT_RUN_DIR"];

/// The argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "record-verification.sh",
        "Records that a check ran for the current worker run: appends one JSON line \
         {\"timestamp\",\"status\",\"command\"[,\"note\"]} to verification.jsonl in the run \
         directory (the worker's sandbox run dir unless --run-dir is given) and prints \
         the file's path.",
    )
    .override_usage(
        "record-verification.sh --command <shell command> [--status pass|fail] \
         [--run-dir <path>] [--note <text>]",
    )
    .arg(cli::opt("command").help("The command that was run (required)"))
    .arg(cli::opt("status").help("pass or fail [default: pass]"))
    .arg(cli::opt("run-dir").help(
        "Where verification.jsonl lives [env: ACP_RUN_DIR, F_LOSNING_RUN_DIR, AGENT_PROJECT_RUN_DIR]",
    ))
    .arg(cli::opt("note").help("Optional free text"))
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let cmd = command();
    let m = match cli::parse(ctx, cmd.clone(), args, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    let run_dir = cli::get_or_env(&m, "run-dir", ctx, RUN_DIR_ENV);
    let command_text = cli::get(&m, "command");
    let status = if m.contains_id("status") {
        cli::get(&m, "status")
    } else {
        "pass".to_string()
    };
    let note = cli::get(&m, "note");
    if run_dir.is_empty() || command_text.is_empty() {
        write!(ctx.stderr, "{}", cli::usage(&cmd))?;
        return Ok(1);
    }
    if status != "pass" && status != "fail" {
        return Err(fail(1, format!("Unsupported status: {status}")));
    }

    fsx::create_dir_all(Path::new(&run_dir))?;
    let file = join_normalized(&run_dir, "verification.jsonl");
    let mut entry = serde_json::Map::new();
    entry.insert(
        "timestamp".into(),
        acp_core::time::now_utc_iso_millis().into(),
    );
    entry.insert("status".into(), status.into());
    entry.insert("command".into(), command_text.into());
    if !note.is_empty() {
        entry.insert("note".into(), note.into());
    }
    let mut line = serde_json::to_vec(&serde_json::Value::Object(entry))?;
    line.push(b'\n');
    fsx::append(Path::new(&file), &line)?;
    writeln!(ctx.stdout, "{file}")?;
    Ok(0)
}

/// `dir/name` normalised lexically the way Node's `path.join` printed it:
/// repeated slashes collapsed, `.` segments dropped, `..` folded where it can.
fn join_normalized(dir: &str, name: &str) -> String {
    let joined = format!("{dir}/{name}");
    let absolute = joined.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in joined.split('/') {
        match seg {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if absolute => {}
                _ => parts.push(".."),
            },
            s => parts.push(s),
        }
    }
    let body = parts.join("/");
    match (absolute, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_string(),
        (false, false) => body,
    }
}

#[cfg(test)]
mod tests {
    use super::join_normalized;

    #[test]
    fn joins_like_node_path_join() {
        assert_eq!(join_normalized("runs//s/", "v.jsonl"), "runs/s/v.jsonl");
        assert_eq!(join_normalized("./a/./b", "v"), "a/b/v");
        assert_eq!(join_normalized("/a/../../b", "v"), "/b/v");
        assert_eq!(join_normalized("../x/..", "v"), "../v");
        assert_eq!(join_normalized("/", "v"), "/v");
        assert_eq!(join_normalized("dir with space", "v"), "dir with space/v");
    }
}
