//! Runs one `run_command` child: its own process group, output captured from
//! both pipes, the whole group ended when the time limit passes or when the
//! agent itself is asked to stop (TERM/INT/HUP), so no command outlives the
//! agent.

use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use acp_core::process;

use crate::agent::{MAX_TOOL_OUTPUT, read_capped};

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

/// Spawns `cmd` as a new process group, captures its output (each stream
/// capped at [`MAX_TOOL_OUTPUT`]) and ends the group after `limit`.
pub fn run_captured(cmd: &mut Command, limit: Duration) -> anyhow::Result<Captured> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = process::spawn_in_group(cmd)?;
    let pgid = child.id();
    let out = child.stdout.take();
    let err = child.stderr.take();
    let out_t = thread::spawn(move || {
        out.map(|o| read_capped(o, MAX_TOOL_OUTPUT))
            .unwrap_or_default()
    });
    let err_t = thread::spawn(move || {
        err.map(|e| read_capped(e, MAX_TOOL_OUTPUT))
            .unwrap_or_default()
    });
    let started = Instant::now();
    let mut timed_out = false;
    let mut interrupted = None;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if let Some(sig) = process::termination_signal() {
            interrupted = Some(sig);
            break process::terminate_group(&mut child, GRACE)?;
        }
        if started.elapsed() >= limit {
            timed_out = true;
            break process::terminate_group(&mut child, GRACE)?;
        }
        thread::sleep(Duration::from_millis(20));
    };
    // Whatever the command left behind in its group goes too, so that the
    // pipes close and the readers finish.
    process::signal_group(pgid, libc::SIGKILL);
    let stdout = out_t.join().unwrap_or_default();
    let stderr = err_t.join().unwrap_or_default();
    Ok(Captured {
        code: process::exit_code(status),
        stdout,
        stderr,
        timed_out,
        interrupted,
    })
}
