//! Runs one `run_command` child: its own process group, output captured from
//! both pipes, the whole group ended when the time limit passes or when the
//! agent itself is asked to stop (TERM/INT/HUP), so no command outlives the
//! agent.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use acp_core::process;

use crate::agent::MAX_TOOL_OUTPUT;

/// Grace between TERM and KILL for a command's group.
const GRACE: Duration = Duration::from_secs(1);

/// How long the pipes may take to drain once the command's group is gone.
/// A process that left the group (`setsid`, a daemon) can hold them open for
/// ever; its output after that is not waited for.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// Output read so far from one pipe (at most [`MAX_TOOL_OUTPUT`] bytes).
type Sink = Arc<Mutex<Vec<u8>>>;

/// Reads `r` to its end on a thread, keeping the first `MAX_TOOL_OUTPUT`
/// bytes in the returned sink and discarding the rest (so the writer never
/// blocks on a full pipe).
fn drain(r: Option<impl Read + Send + 'static>) -> (Sink, thread::JoinHandle<()>) {
    let sink: Sink = Arc::default();
    let kept = Arc::clone(&sink);
    let handle = thread::spawn(move || {
        let Some(mut r) = r else { return };
        let mut chunk = [0u8; 8192];
        loop {
            match r.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let mut kept = kept.lock().unwrap_or_else(PoisonError::into_inner);
                    let room = MAX_TOOL_OUTPUT.saturating_sub(kept.len());
                    kept.extend_from_slice(&chunk[..n.min(room)]);
                }
            }
        }
    });
    (sink, handle)
}

fn take(sink: &Sink) -> Vec<u8> {
    std::mem::take(&mut *sink.lock().unwrap_or_else(PoisonError::into_inner))
}

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
    let (out_sink, out_t) = drain(out);
    let (err_sink, err_t) = drain(err);
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
    // pipes close and the readers finish; a reader still blocked after
    // DRAIN_GRACE (a process outside the group holds the pipe) is left
    // behind with what it has read so far.
    process::signal_group(pgid, libc::SIGKILL);
    let drained_by = Instant::now() + DRAIN_GRACE;
    while !(out_t.is_finished() && err_t.is_finished()) && Instant::now() < drained_by {
        thread::sleep(Duration::from_millis(10));
    }
    let stdout = take(&out_sink);
    let stderr = take(&err_sink);
    Ok(Captured {
        code: process::exit_code(status),
        stdout,
        stderr,
        timed_out,
        interrupted,
    })
}
