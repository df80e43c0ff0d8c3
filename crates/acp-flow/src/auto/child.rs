//! Bounded runs of the wrapper's children (the original's
//! `/opt/homebrew/bin/python3` timeout helper, F5): each child leads its own
//! process group; when its time is up the group gets TERM, then KILL after
//! a grace period, and the status is 124. Output is relayed as it comes.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use acp_core::procid::ProcId;
use acp_core::{fsx, process};
use anyhow::Context;

/// How one bounded child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ended {
    /// Shell-style status; 124 after a timeout.
    pub code: i32,
    /// This process was asked to stop (TERM/INT/HUP) and passed that on
    /// to the child's group.
    pub stopped: bool,
}

/// Which stream a chunk came from.
enum Chunk {
    Out(Vec<u8>),
    Err(Vec<u8>),
}

fn reader<R: Read + Send + 'static>(
    r: Option<R>,
    tx: mpsc::Sender<Chunk>,
    wrap: fn(Vec<u8>) -> Chunk,
) -> Option<std::thread::JoinHandle<()>> {
    let mut r = r?;
    Some(std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx.send(wrap(buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    }))
}

/// Runs `cmd` as the leader of a new process group with stdin from
/// /dev/null, relaying its stdout to `out` and stderr to `err` as they
/// arrive. With `pid_file`, the child's identity (pid and start time) is
/// written there while it runs and removed afterwards. After `timeout`
/// the group gets TERM, `grace`, KILL (status 124); when this process is
/// asked to stop, the group gets that signal the same way.
pub fn run(
    cmd: &mut Command,
    timeout: Duration,
    grace: Duration,
    pid_file: Option<&Path>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Ended> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = process::spawn_in_group(cmd)?;
    let recorded = match pid_file {
        Some(p) => {
            let id = ProcId::of(child.id()).unwrap_or(ProcId {
                pid: child.id(),
                start: String::new(),
            });
            fsx::atomic_write(p, format!("{}\n", id.to_line()).as_bytes()).map(|()| Some(p))
        }
        None => Ok(None),
    };
    let (tx, rx) = mpsc::channel();
    let readers = [
        reader(child.stdout.take(), tx.clone(), Chunk::Out),
        reader(child.stderr.take(), tx, Chunk::Err),
    ];
    let deadline = Instant::now() + timeout;
    let mut forward = |c: Chunk| -> std::io::Result<()> {
        match c {
            Chunk::Out(b) => out.write_all(&b).and_then(|()| out.flush()),
            Chunk::Err(b) => err.write_all(&b),
        }
    };
    let (mut timed_out, mut stopped) = (false, false);
    let status = loop {
        if let Ok(c) = rx.recv_timeout(Duration::from_millis(50)) {
            // A closed stdout of ours must not end the bound on the child.
            let _ = forward(c);
        }
        if let Some(s) = child.try_wait().context("failed to poll child")? {
            break s;
        }
        if let Some(sig) = process::termination_signal() {
            stopped = true;
            break process::terminate_group_with(&mut child, sig, grace)?;
        }
        if Instant::now() >= deadline {
            timed_out = true;
            break process::terminate_group(&mut child, grace)?;
        }
    };
    if timed_out || stopped {
        process::signal_group(child.id(), libc::SIGKILL);
    }
    // The rest of the output: until both pipes close, at most 2 s once the
    // child is gone (something that left its group may hold them open).
    let drained_by = Instant::now() + Duration::from_secs(2);
    while readers.iter().flatten().any(|h| !h.is_finished()) && Instant::now() < drained_by {
        if let Ok(c) = rx.recv_timeout(Duration::from_millis(20)) {
            let _ = forward(c);
        }
    }
    while let Ok(c) = rx.try_recv() {
        let _ = forward(c);
    }
    if let Ok(Some(p)) = recorded {
        let _ = fsx::remove_file_if_exists(p);
    }
    recorded?;
    Ok(Ended {
        code: if timed_out {
            process::TIMEOUT_EXIT
        } else {
            process::exit_code(status)
        },
        stopped,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn relays_output_records_the_child_and_removes_the_record() {
        let t = tempfile::tempdir().unwrap();
        let pid_file = t.path().join("child.pid");
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            "while [ ! -s \"$1\" ]; do sleep 0.01; done; cat \"$1\"; echo oops >&2; exit 3",
            "sh",
        ])
        .arg(&pid_file);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let e = run(
            &mut cmd,
            Duration::from_secs(30),
            Duration::from_secs(1),
            Some(&pid_file),
            &mut out,
            &mut err,
        )
        .unwrap();
        assert_eq!(e.code, 3);
        let recorded = ProcId::parse(&String::from_utf8_lossy(&out)).unwrap();
        assert!(!recorded.start.is_empty() || !cfg!(target_os = "linux"));
        assert_eq!(String::from_utf8_lossy(&err), "oops\n");
        assert!(!pid_file.exists());
    }

    #[test]
    fn a_timeout_ends_the_whole_group_with_124() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 30 & sleep 30; echo never"]);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let e = run(
            &mut cmd,
            Duration::from_millis(200),
            Duration::from_millis(200),
            None,
            &mut out,
            &mut err,
        )
        .unwrap();
        assert_eq!(e.code, 124);
        assert!(out.is_empty());
    }
}
