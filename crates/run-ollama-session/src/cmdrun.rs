//! Runs one `run_command` child: its own process group, output captured from
//! both pipes, the whole group ended when the time limit passes or when the
//! agent itself is asked to stop (TERM/INT/HUP), so no command outlives the
//! agent.

use std::process::Command;
use std::time::Duration;

use acp_core::process;

use crate::agent::MAX_TOOL_OUTPUT;

/// Grace between TERM and KILL for a command's group.
const GRACE: Duration = Duration::from_secs(1);

/// The end of a captured command.
#[derive(Debug)]
pub struct Captured {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub timed_out: bool,
    /// The agent received this termination signal while the command ran.
    pub interrupted: Option<i32>,
}

/// Runs `cmd` as a new process group with [`process::run_bounded`]: each
/// stream capped at [`MAX_TOOL_OUTPUT`], the group ended after `limit` or
/// when the agent is asked to stop, and whatever the command left in its
/// group killed when it ends.
pub fn run_captured(cmd: &mut Command, limit: Duration) -> anyhow::Result<Captured> {
    let out = process::run_bounded(
        cmd,
        &process::Bounds {
            stoppable: true,
            max_output: MAX_TOOL_OUTPUT,
            kill_leftovers: true,
            ..process::Bounds::new(limit, GRACE)
        },
    )?;
    Ok(Captured {
        code: out.code,
        interrupted: if out.stopped {
            process::termination_signal()
        } else {
            None
        },
        timed_out: out.timed_out,
        stdout: out.stdout,
        stderr: out.stderr,
    })
}
