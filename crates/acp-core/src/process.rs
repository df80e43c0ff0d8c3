//! Child processes: run with an explicit environment, capture output, and
//! (for the supervision engine) process groups and timeouts.

use std::process::{Command, Output, Stdio};

use anyhow::{Context, Result};

/// Runs `cmd` with stdin from /dev/null and captures its output.
pub fn output(cmd: &mut Command) -> Result<Output> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    cmd.stdin(Stdio::null())
        .output()
        .with_context(|| format!("failed to run {program}"))
}

/// The exit code of a finished process the way a shell reports it
/// (128 + signal number when killed by a signal).
pub fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}
