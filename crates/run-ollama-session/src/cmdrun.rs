//! Runs one `run_command` child: its own process group, output captured from
//! both pipes, the whole group killed when the time limit passes.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::agent::{MAX_TOOL_OUTPUT, read_capped};

/// The end of a captured command.
#[derive(Debug)]
pub struct Captured {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub timed_out: bool,
}

/// Spawns `cmd` as a new process group, captures its output (each stream
/// capped at [`MAX_TOOL_OUTPUT`]) and ends the group after `limit`.
pub fn run_captured(cmd: &mut Command, limit: Duration) -> std::io::Result<Captured> {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn()?;
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
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if started.elapsed() >= limit {
            timed_out = true;
            kill_group(pgid, "TERM");
            let grace = Instant::now();
            let s = loop {
                if let Some(s) = child.try_wait()? {
                    break Some(s);
                }
                if grace.elapsed() >= Duration::from_secs(2) {
                    break None;
                }
                thread::sleep(Duration::from_millis(50));
            };
            kill_group(pgid, "KILL");
            match s {
                Some(s) => break s,
                None => break child.wait()?,
            }
        }
        thread::sleep(Duration::from_millis(20));
    };
    // Whatever the leader left behind in its group goes too, so that the
    // pipes close and the readers finish.
    kill_group(pgid, "KILL");
    let stdout = out_t.join().unwrap_or_default();
    let stderr = err_t.join().unwrap_or_default();
    Ok(Captured {
        code: acp_core::process::exit_code(status),
        stdout,
        stderr,
        timed_out,
    })
}

/// `kill -SIG -- -PGID` through the system `kill` (no unsafe code here).
fn kill_group(pgid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg("--")
        .arg(format!("-{pgid}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}
