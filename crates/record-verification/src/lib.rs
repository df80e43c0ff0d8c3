//! `record-verification.sh`: append one verification entry (a JSON line with
//! `timestamp`, `status`, `command` and an optional `note`) to
//! `<run dir>/verification.jsonl` and print the file's path.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use acp_core::cli::{self, Parsed};
use acp_core::{Env, Invocation, ToolSpec, fail, fsx};

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

/// The argument parser. Values are taken as raw bytes: text that is not
/// UTF-8 is stored with U+FFFD in its place, a run directory is used as given.
pub fn command() -> clap::Command {
    let os = || clap::builder::OsStringValueParser::new();
    cli::tool_command(
        "record-verification.sh",
        "Records that a check ran for the current worker run: appends one JSON line \
         {\"timestamp\",\"status\",\"command\"[,\"note\"]} to verification.jsonl in the run \
         directory (the worker's sandbox run dir unless --run-dir is given) and prints \
         the file's path. Bytes of --command and --note that are not UTF-8 are stored as \
         U+FFFD. Concurrent calls append whole lines; a verification.jsonl that is not a \
         regular file is refused.",
    )
    .override_usage(
        "record-verification.sh --command <shell command> [--status pass|fail] \
         [--run-dir <path>] [--note <text>]",
    )
    .arg(
        cli::opt("command")
            .value_parser(os())
            .help("The command that was run (required)"),
    )
    .arg(
        cli::opt("status")
            .value_parser(os())
            .help("pass or fail [default: pass]"),
    )
    .arg(cli::opt("run-dir").value_parser(os()).help(
        "Where verification.jsonl lives [env: ACP_RUN_DIR, F_LOSNING_RUN_DIR, AGENT_PROJECT_RUN_DIR]",
    ))
    .arg(cli::opt("note").value_parser(os()).help("Optional free text"))
}

/// Whether a verification passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
        }
    }
}

/// One call's arguments, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub run_dir: PathBuf,
    /// The command as stored (invalid UTF-8 replaced by U+FFFD).
    pub command: String,
    pub status: Status,
    /// Empty when not given.
    pub note: String,
}

impl Args {
    /// Flags, else the run-dir variables ([`RUN_DIR_ENV`]); a missing
    /// `--command` or run dir is one line naming the flag, a status other
    /// than pass|fail the original's message; all exit 1.
    pub fn from_matches(m: &clap::ArgMatches, env: &Env) -> anyhow::Result<Self> {
        let os = |name: &str| m.get_one::<OsString>(name).cloned().unwrap_or_default();
        let run_dir = if cli::given(m, "run-dir") {
            os("run-dir")
        } else {
            RUN_DIR_ENV
                .iter()
                .filter_map(|k| env.get_os(k))
                .find(|v| !v.is_empty())
                .map(OsStr::to_os_string)
                .unwrap_or_default()
        };
        let command = os("command");
        if command.is_empty() {
            return Err(fail(1, "--command is required (see --help)"));
        }
        if run_dir.is_empty() {
            return Err(fail(
                1,
                "--run-dir is required (or set ACP_RUN_DIR; see --help)",
            ));
        }
        let status = match cli::given(m, "status").then(|| os("status")) {
            None => Status::Pass,
            Some(s) if s == "pass" => Status::Pass,
            Some(s) if s == "fail" => Status::Fail,
            Some(s) => {
                return Err(fail(
                    1,
                    format!("Unsupported status: {}", s.to_string_lossy()),
                ));
            }
        };
        Ok(Self {
            run_dir: PathBuf::from(run_dir),
            command: command.to_string_lossy().into_owned(),
            status,
            note: os("note").to_string_lossy().into_owned(),
        })
    }

    /// The JSON line to append (newline included), keys in the original's order.
    pub fn entry_line(&self, timestamp: String) -> anyhow::Result<Vec<u8>> {
        let mut entry = serde_json::Map::new();
        entry.insert("timestamp".into(), timestamp.into());
        entry.insert("status".into(), self.status.as_str().into());
        entry.insert("command".into(), self.command.clone().into());
        if !self.note.is_empty() {
            entry.insert("note".into(), self.note.clone().into());
        }
        let mut line = serde_json::to_vec(&serde_json::Value::Object(entry))?;
        line.push(b'\n');
        Ok(line)
    }
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let m = match cli::parse(ctx, command(), args, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    let args = Args::from_matches(&m, &ctx.env)?;
    fsx::create_dir_all(&args.run_dir)?;
    let file = join_normalized(args.run_dir.as_os_str().as_bytes(), b"verification.jsonl");
    let file = Path::new(OsStr::from_bytes(&file));
    let line = args.entry_line(acp_core::time::now_utc_iso_millis())?;
    {
        // One whole line per writer, whatever the file system does with
        // concurrent appends.
        let _lock = fsx::Lock::beside(file)?;
        fsx::append_regular(file, &line)?;
    }
    let mut shown = file.as_os_str().as_bytes().to_vec();
    shown.push(b'\n');
    ctx.stdout.write_all(&shown)?;
    Ok(0)
}

/// `dir/name` normalised lexically the way Node's `path.join` printed it:
/// repeated slashes collapsed, `.` segments dropped, `..` folded where it can.
fn join_normalized(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let joined = [dir, b"/", name].concat();
    let absolute = joined.starts_with(b"/");
    let mut parts: Vec<&[u8]> = Vec::new();
    for seg in joined.split(|&b| b == b'/') {
        match seg {
            b"" | b"." => {}
            b".." => match parts.last() {
                Some(&last) if last != b".." => {
                    parts.pop();
                }
                _ if absolute => {}
                _ => parts.push(b".."),
            },
            s => parts.push(s),
        }
    }
    let body = parts.join(&b'/');
    match (absolute, body.is_empty()) {
        (true, _) => [b"/".as_slice(), &body].concat(),
        (false, true) => b".".to_vec(),
        (false, false) => body,
    }
}

#[cfg(test)]
mod tests {
    use super::join_normalized;

    #[test]
    fn joins_like_node_path_join() {
        let j = |d: &str, n: &str| String::from_utf8(join_normalized(d.as_bytes(), n.as_bytes()));
        assert_eq!(j("runs//s/", "v.jsonl").as_deref(), Ok("runs/s/v.jsonl"));
        assert_eq!(j("./a/./b", "v").as_deref(), Ok("a/b/v"));
        assert_eq!(j("/a/../../b", "v").as_deref(), Ok("/b/v"));
        assert_eq!(j("../x/..", "v").as_deref(), Ok("../v"));
        assert_eq!(j("/", "v").as_deref(), Ok("/v"));
        assert_eq!(j("dir with space", "v").as_deref(), Ok("dir with space/v"));
        assert_eq!(join_normalized(b"caf\xe9//x", b"v"), b"caf\xe9/x/v");
    }
}
