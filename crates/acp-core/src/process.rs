//! Child processes: run with an explicit environment, capture output, and
//! (for the supervision engine) process groups, whole-group termination,
//! timeouts and the supervisor's own termination signals.
//!
//! Every agent runs as the leader of its own process group so that ending it
//! reaches its children and grandchildren too (`kill(-pgid, sig)`), not just
//! the direct child.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

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

/// A pipe (read end, write end), both close-on-exec.
pub fn pipe() -> std::io::Result<(std::fs::File, std::fs::File)> {
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe(2) writes two new file descriptors into the two-element
    // array we pass; on success we take sole ownership of each exactly once
    // (OwnedFd closes them), and fcntl only changes their descriptor flags.
    // (pipe + fcntl rather than pipe2, which macOS lacks.)
    #[allow(unsafe_code)]
    let (r, w) = unsafe {
        if libc::pipe(fds.as_mut_ptr()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let owned = (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]));
        for fd in fds {
            if libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        owned
    };
    Ok((std::fs::File::from(r), std::fs::File::from(w)))
}

/// Exit code used for a timed-out child (as `timeout(1)`).
pub const TIMEOUT_EXIT: i32 = 124;

/// The default grace period between TERM and KILL.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(2);

/// Spawns `cmd` as the leader of a new process group (its pgid is its pid).
pub fn spawn_in_group(cmd: &mut Command) -> Result<Child> {
    use std::os::unix::process::CommandExt;
    let program = cmd.get_program().to_string_lossy().into_owned();
    cmd.process_group(0)
        .spawn()
        .with_context(|| format!("failed to run {program}"))
}

/// Makes `cmd`'s child call `setsid()` before exec: a new session and
/// process group, no controlling terminal, out of reach of the caller's job
/// control, of a pane's hangup and of signals sent to the caller's group.
/// For children that must outlive their caller (detached launches, the
/// delayed reconcile). Not with [`spawn_in_group`] (a group leader cannot
/// call `setsid`).
#[allow(unsafe_code)]
pub fn new_session(cmd: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the forked child before exec and only calls
    // `setsid`, which is async-signal-safe, allocates nothing and touches no
    // state shared with the parent. The forked child is not a process-group
    // leader unless `process_group` was set, which this function's contract
    // excludes; any failure is reported as a spawn error.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

/// Sends `sig` to every process of group `pgid`; false when no such group
/// exists (or `pgid` is not a valid group id).
pub fn signal_group(pgid: u32, sig: i32) -> bool {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return false;
    };
    if pgid <= 1 {
        return false;
    }
    // SAFETY: kill(2) with a negative pid only sends a signal to that process
    // group; it touches no memory of ours. pgid > 1 excludes "every process"
    // (-1) and our own group (0).
    #[allow(unsafe_code)]
    let rc = unsafe { libc::kill(-pgid, sig) };
    rc == 0
}

/// Sends `sig` to one process; false when it does not exist.
pub fn signal_pid(pid: u32, sig: i32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 1 {
        return false;
    }
    // SAFETY: kill(2) on a single positive pid; no memory is involved.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::kill(pid, sig) };
    rc == 0
}

/// Whether any process (zombies included) is still in group `pgid`.
pub fn group_alive(pgid: u32) -> bool {
    signal_group(pgid, 0)
}

/// Ends the whole process group led by `child`: TERM to the group, up to
/// `grace` for every member to go, then KILL to the group. Reaps the leader
/// and returns its status.
pub fn terminate_group(child: &mut Child, grace: Duration) -> Result<ExitStatus> {
    terminate_group_with(child, libc::SIGTERM, grace)
}

/// [`terminate_group`] with a first signal other than TERM (e.g. the HUP or
/// INT the supervisor itself received).
pub fn terminate_group_with(child: &mut Child, first: i32, grace: Duration) -> Result<ExitStatus> {
    let pgid = child.id();
    let mut status = child.try_wait().context("failed to poll child")?;
    signal_group(pgid, first);
    if first != libc::SIGTERM && first != libc::SIGKILL {
        // HUP/INT may be ignored by agents that only handle TERM.
        signal_group(pgid, libc::SIGCONT);
    }
    let deadline = Instant::now() + grace;
    loop {
        if status.is_none() {
            status = child.try_wait().context("failed to poll child")?;
        }
        if status.is_some() && !group_alive(pgid) {
            break;
        }
        if Instant::now() >= deadline {
            signal_group(pgid, libc::SIGKILL);
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    match status {
        Some(s) => Ok(s),
        None => child.wait().context("failed to wait for child"),
    }
}

/// The result of [`run_with_timeout`] and its variants.
#[derive(Debug, Clone)]
pub struct TimedOutput {
    /// Shell-style exit code; [`TIMEOUT_EXIT`] when the timeout hit.
    pub code: i32,
    pub timed_out: bool,
    /// Ended early because this process received TERM/INT/HUP (only with
    /// [`run_stoppable`]); `code` is then the command's own.
    pub stopped: bool,
    /// stdout followed by stderr, as produced.
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Runs `cmd` in its own process group with stdin from /dev/null, capturing
/// stdout and stderr. After `timeout` the group is ended (TERM, `grace`,
/// KILL) and the code is 124.
pub fn run_with_timeout(
    cmd: &mut Command,
    timeout: Duration,
    grace: Duration,
) -> Result<TimedOutput> {
    run_bounded(cmd, &Bounds::new(timeout, grace))
}

/// [`run_with_timeout`] with stdout and stderr merged into one pipe (the
/// shape of `$(cmd 2>&1)`, interleaving preserved); the text is in `stdout`.
pub fn run_with_timeout_merged(
    cmd: &mut Command,
    timeout: Duration,
    grace: Duration,
) -> Result<TimedOutput> {
    run_bounded(
        cmd,
        &Bounds {
            merged: true,
            ..Bounds::new(timeout, grace)
        },
    )
}

/// [`run_with_timeout`] (or, with `merged`, [`run_with_timeout_merged`])
/// that also ends the command's group as soon as this process is asked to
/// stop ([`termination_signal`], forwarding that signal), so a supervisor's
/// helper command never outlives it.
pub fn run_stoppable(
    cmd: &mut Command,
    timeout: Duration,
    grace: Duration,
    merged: bool,
) -> Result<TimedOutput> {
    run_bounded(
        cmd,
        &Bounds {
            merged,
            stoppable: true,
            ..Bounds::new(timeout, grace)
        },
    )
}

/// How [`run_bounded`] runs a command.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// After this the group is ended (TERM, `grace`, KILL), code 124.
    pub timeout: Duration,
    pub grace: Duration,
    /// stdout and stderr share one pipe (the text is in `stdout`).
    pub merged: bool,
    /// End the group as soon as this process is asked to stop, forwarding
    /// the signal it received.
    pub stoppable: bool,
    /// Bytes kept per stream; the rest is read and dropped, so the command
    /// never blocks on a full pipe.
    pub max_output: usize,
    /// Also kill what the command left running in its group when it exited
    /// by itself (after a timeout or a stop the group is always killed).
    pub kill_leftovers: bool,
}

impl Bounds {
    /// Separate streams, not stoppable, output kept whole.
    pub fn new(timeout: Duration, grace: Duration) -> Self {
        Self {
            timeout,
            grace,
            merged: false,
            stoppable: false,
            max_output: usize::MAX,
            kill_leftovers: false,
        }
    }
}

/// How long the pipes may take to drain once the command's group is gone.
/// A process that left the group (`setsid`, a daemon) can hold them open
/// for ever; its output after that is not waited for.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// A polling pause that starts short and doubles up to 20 ms: most commands
/// polled here (`gh`, `git`, sibling tools) end within a few milliseconds,
/// and a fixed 20 ms pause made each of them cost at least that much.
struct Backoff(Duration);

impl Backoff {
    fn new() -> Self {
        Self(Duration::from_micros(500))
    }

    fn sleep(&mut self) {
        std::thread::sleep(self.0);
        self.0 = (self.0 * 2).min(Duration::from_millis(20));
    }
}

/// Runs `cmd` in its own process group with stdin from /dev/null as `b`
/// says. After a timeout or a stop, whatever the command left in its group
/// is killed so the pipes close; a reader still blocked [`DRAIN_GRACE`]
/// after the command ended is left behind with what it read so far.
pub fn run_bounded(cmd: &mut Command, b: &Bounds) -> Result<TimedOutput> {
    cmd.stdin(Stdio::null());
    let (mut child, out, err) = if b.merged {
        let (reader, writer) = pipe().context("failed to create a pipe")?;
        let writer2 = writer.try_clone().context("failed to duplicate a pipe")?;
        cmd.stdout(writer).stderr(writer2);
        let spawned = spawn_in_group(cmd);
        // Drop our copies of the write end so EOF can arrive.
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        (spawned?, Drain::start(Some(reader), b.max_output), None)
    } else {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = spawn_in_group(cmd)?;
        let out = Drain::start(child.stdout.take(), b.max_output);
        let err = Drain::start(child.stderr.take(), b.max_output);
        (child, out, Some(err))
    };
    let deadline = Instant::now() + b.timeout;
    let mut timed_out = false;
    let mut stopped = false;
    let mut pause = Backoff::new();
    let status = loop {
        if let Some(s) = child.try_wait().context("failed to poll child")? {
            break s;
        }
        if b.stoppable
            && let Some(sig) = termination_signal()
        {
            stopped = true;
            break terminate_group_with(&mut child, sig, b.grace)?;
        }
        if Instant::now() >= deadline {
            timed_out = true;
            break terminate_group(&mut child, b.grace)?;
        }
        pause.sleep();
    };
    if timed_out || stopped || b.kill_leftovers {
        // Escaped members may still hold the pipes open.
        signal_group(child.id(), libc::SIGKILL);
    }
    let drained_by = Instant::now() + DRAIN_GRACE;
    let mut pause = Backoff::new();
    while !(out.finished() && err.as_ref().is_none_or(Drain::finished))
        && Instant::now() < drained_by
    {
        pause.sleep();
    }
    Ok(TimedOutput {
        code: if timed_out {
            TIMEOUT_EXIT
        } else {
            exit_code(status)
        },
        timed_out,
        stopped,
        stdout: out.take(),
        stderr: err.map(Drain::take).unwrap_or_default(),
    })
}

/// A reader thread keeping the first `max` bytes of a pipe.
struct Drain {
    kept: Arc<Mutex<Vec<u8>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drain {
    fn start<R: Read + Send + 'static>(r: Option<R>, max: usize) -> Self {
        let kept = Arc::<Mutex<Vec<u8>>>::default();
        let sink = Arc::clone(&kept);
        let thread = r.map(|mut r| {
            std::thread::spawn(move || {
                let mut chunk = [0u8; 8192];
                loop {
                    match r.read(&mut chunk) {
                        Ok(0) => break,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(_) => break,
                        Ok(n) => {
                            let mut kept = sink.lock().unwrap_or_else(PoisonError::into_inner);
                            let room = max.saturating_sub(kept.len());
                            kept.extend_from_slice(&chunk[..n.min(room)]);
                        }
                    }
                }
            })
        });
        Self { kept, thread }
    }

    fn finished(&self) -> bool {
        self.thread
            .as_ref()
            .is_none_or(std::thread::JoinHandle::is_finished)
    }

    /// What was read so far.
    fn take(self) -> Vec<u8> {
        std::mem::take(&mut *self.kept.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

// ---------------------------------------------------------------------------
// Termination signals of the supervisor itself.

static PENDING_SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn record_signal(sig: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    PENDING_SIGNAL.store(sig, Ordering::SeqCst);
}

/// The signals a supervisor turns into "end the agent group and stop".
pub const TERMINATION_SIGNALS: [i32; 3] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP];

/// Installs a handler for TERM, INT and HUP that only records the signal, so
/// a supervisor polling [`termination_signal`] can end its agent's group
/// instead of dying and orphaning it. Idempotent.
pub fn install_termination_handler() -> Result<()> {
    for sig in TERMINATION_SIGNALS {
        // SAFETY: `sa` is zero-initialised (a valid sigaction), its handler
        // is an `extern "C" fn(c_int)` that performs one atomic store (an
        // async-signal-safe operation), and sigaction only reads `sa`.
        #[allow(unsafe_code)]
        let rc = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = record_signal as *const () as libc::sighandler_t;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("failed to install a handler for signal {sig}"));
        }
    }
    Ok(())
}

/// The last termination signal received since the handler was installed
/// (sticky: once asked to stop, every later check also sees it).
pub fn termination_signal() -> Option<i32> {
    match PENDING_SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// Records `sig` as if it had been received (for embedding and tests).
pub fn request_termination(sig: i32) {
    PENDING_SIGNAL.store(sig, Ordering::SeqCst);
}

/// Clears a recorded termination signal.
pub fn clear_termination_signal() {
    PENDING_SIGNAL.store(0, Ordering::SeqCst);
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn pid_gone(pid: u32) -> bool {
        // A zombie nobody reaps counts as gone.
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(s) => s
                .rsplit(')')
                .next()
                .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        }
    }

    #[test]
    fn new_session_makes_the_child_lead_its_own_session() {
        // Field 6 of /proc/PID/stat is the session id; the shell prints its
        // pid and its session id.
        let out = new_session(Command::new("sh").args([
            "-c",
            "read -r _ _ _ _ _ sid _ < /proc/$$/stat; echo \"$$ $sid\"",
        ]))
        .output()
        .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let words: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(words.len(), 2, "{text}");
        assert_eq!(words[0], words[1], "the child leads its session: {text}");
        let ours = std::fs::read_to_string("/proc/self/stat").unwrap();
        let our_sid = ours.rsplit(')').next().unwrap().split_whitespace().nth(3);
        assert_ne!(our_sid, Some(words[1]));
    }

    #[test]
    fn exit_code_reports_signals_like_a_shell() {
        let st = Command::new("sh")
            .args(["-c", "kill -TERM $$"])
            .status()
            .unwrap();
        assert_eq!(exit_code(st), 143);
        let st = Command::new("sh").args(["-c", "exit 7"]).status().unwrap();
        assert_eq!(exit_code(st), 7);
    }

    #[test]
    fn terminate_group_ends_grandchildren() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("gc.pid");
        let script = format!("sleep 300 & echo $! > '{}'; wait", pidfile.display());
        let mut cmd = Command::new("sh");
        cmd.args(["-c", &script]);
        let mut child = spawn_in_group(&mut cmd).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !pidfile.exists() || std::fs::read_to_string(&pidfile).unwrap().trim().is_empty() {
            assert!(Instant::now() < deadline, "grandchild never started");
            std::thread::sleep(Duration::from_millis(20));
        }
        let gc: u32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let st = terminate_group(&mut child, Duration::from_secs(2)).unwrap();
        assert_eq!(exit_code(st), 143);
        let deadline = Instant::now() + Duration::from_secs(5);
        while !pid_gone(gc) {
            assert!(Instant::now() < deadline, "grandchild {gc} survived");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn terminate_group_kills_what_ignores_term() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "trap '' TERM; while :; do sleep 0.05; done"]);
        let mut child = spawn_in_group(&mut cmd).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let st = terminate_group(&mut child, Duration::from_millis(300)).unwrap();
        assert_eq!(exit_code(st), 137);
    }

    #[test]
    fn run_with_timeout_returns_124_and_partial_output() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo started; sleep 30; echo never"]);
        let out =
            run_with_timeout(&mut cmd, Duration::from_millis(300), Duration::from_secs(1)).unwrap();
        assert!(out.timed_out);
        assert_eq!(out.code, 124);
        assert_eq!(out.stdout, b"started\n");
    }

    #[test]
    fn run_with_timeout_passes_exit_code_and_streams() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo out; echo err >&2; exit 10"]);
        let out = run_with_timeout(&mut cmd, Duration::from_secs(30), DEFAULT_GRACE).unwrap();
        assert!(!out.timed_out);
        assert_eq!(out.code, 10);
        assert_eq!(
            (out.stdout.as_slice(), out.stderr.as_slice()),
            (&b"out\n"[..], &b"err\n"[..])
        );
    }

    #[test]
    fn merged_output_keeps_interleaving() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo a; echo b >&2; echo c; exit 3"]);
        let out =
            run_with_timeout_merged(&mut cmd, Duration::from_secs(30), DEFAULT_GRACE).unwrap();
        assert_eq!(out.code, 3);
        assert_eq!(out.stdout, b"a\nb\nc\n");
    }

    #[test]
    fn a_process_that_left_the_group_does_not_hold_the_result() {
        // The detached sleeper keeps stdout open for 30 s; the result comes
        // with what was printed, shortly after the command itself ended.
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "setsid sleep 30 & echo $! >&2; echo hi"]);
        let started = Instant::now();
        let out = run_with_timeout(&mut cmd, Duration::from_secs(60), DEFAULT_GRACE).unwrap();
        let elapsed = started.elapsed();
        if let Ok(pid) = String::from_utf8_lossy(&out.stderr).trim().parse::<i32>() {
            // SAFETY: plain kill(2) of the sleeper this test started.
            #[allow(unsafe_code)]
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        assert!(elapsed < Duration::from_secs(20), "waited for the sleeper");
        assert_eq!((out.code, out.stdout.as_slice()), (0, b"hi\n".as_slice()));
        assert!(!out.timed_out && !out.stopped);
    }

    #[test]
    fn output_is_capped_without_blocking_the_writer() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "head -c 1000000 /dev/zero; echo done >&2"]);
        let out = run_bounded(
            &mut cmd,
            &Bounds {
                max_output: 10,
                kill_leftovers: true,
                ..Bounds::new(Duration::from_secs(30), DEFAULT_GRACE)
            },
        )
        .unwrap();
        assert_eq!(out.code, 0);
        assert_eq!(out.stdout, vec![0u8; 10]);
        assert_eq!(out.stderr, b"done\n");
    }

    #[test]
    fn signal_group_refuses_special_ids() {
        assert!(!signal_group(0, 0));
        assert!(!signal_group(1, 0));
        assert!(!signal_pid(0, 0));
    }
}
