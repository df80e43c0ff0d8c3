//! The supervision engine shared by every session backend: spawn the agent in
//! its own process group, stream its output line by line into the session
//! log, heartbeat, detect silent and stalled runs, time out, forward the
//! supervisor's own TERM/INT/HUP, and end the whole group (TERM, grace, KILL)
//! when the run has to stop.
//!
//! What differs per backend (what counts as progress, what a heartbeat writes,
//! which log lines announce a stall) is a [`Backend`] implementation with
//! default no-op hooks; the loop itself exists once, in [`supervise`].
//!
//! Output handling: one reader thread reads the agent's merged stdout+stderr
//! pipe and hands complete lines to the supervising thread over a bounded
//! channel; that thread appends them to the log through a buffered
//! [`LogSink`] (flushed whenever the stream goes idle) and calls the backend
//! hook. No process is started per line.
//!
//! Using it from a backend (see `crates/run-codex-resilient` for a full one):
//!
//! ```ignore
//! struct Hooks<'r> { st: &'r mut RunnerState, file: &'r Path, locale: QuoteLocale }
//! impl Backend for Hooks<'_> {
//!     fn on_line(&mut self, line: &[u8], _log: &mut LogSink<'_>) -> Result<Signal> {
//!         Ok(if line.starts_with(b"{") { Signal::Progress } else { Signal::Output })
//!     }
//!     fn on_heartbeat(&mut self, t: &Tick, log: &mut LogSink<'_>) -> Result<()> {
//!         self.st.state = state::RUNNING.into();
//!         self.st.write(self.file, KeyProfile::Minimal, self.locale)?;
//!         log.message(&format!("heartbeat elapsed={}s", t.elapsed.as_secs()))
//!     }
//! }
//! let mut log = LogSink::append(&log_path, Some(&mut *ctx.stdout))?;
//! let mut cmd = ctx.command(&agent_bin);   // explicit env + cwd
//! cmd.args(["run", "--json"]);
//! let cfg = Config { heartbeat: Some(secs(30)), silent_stall: Some(secs(300)),
//!                    progress_stall: Some(secs(300)), timeout: Some(secs(3600)),
//!                    ..Config::default() };
//! let outcome = supervise(&mut cmd, &Input::File(prompt), &cfg, &mut hooks, &mut log)?;
//! match outcome.ending { Ending::TimedOut => /* 124 */, Ending::Stalled(k) => ..., _ => ... }
//! ```
//!
//! [`run_group`] is the same without output capture (the child writes where
//! the supervisor writes), for supervisors of supervisors such as an inner
//! script running a runner.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use acp_core::process;

// ---------------------------------------------------------------------------
// runner.env

pub use crate::state::{KeyProfile, RunnerState, runner_state as state};

// ---------------------------------------------------------------------------
// The session log

/// The session log (appended) plus an optional echo stream (the tmux pane,
/// the original's `tee`). Writes are buffered; the engine flushes whenever
/// the agent's stream goes idle and after every runner message. A failing
/// echo (closed pane) is dropped silently; a failing log write is an error.
pub struct LogSink<'a> {
    path: PathBuf,
    file: BufWriter<File>,
    echo: Option<BufWriter<&'a mut dyn Write>>,
}

impl<'a> LogSink<'a> {
    /// Appends to `path` (created if missing), echoing to `echo` when given.
    pub fn append(path: &Path, echo: Option<&'a mut dyn Write>) -> Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("failed to open {}", path.display()))?;
        Ok(Self {
            path: path.to_path_buf(),
            file: BufWriter::with_capacity(64 * 1024, file),
            echo: echo.map(|w| BufWriter::with_capacity(16 * 1024, w)),
        })
    }

    /// Writes `bytes` exactly (no newline added).
    pub fn raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.file
            .write_all(bytes)
            .with_context(|| self.path_err("write"))?;
        if let Some(e) = &mut self.echo
            && e.write_all(bytes).is_err()
        {
            self.echo = None;
        }
        Ok(())
    }

    /// Writes one line (`bytes` + `\n`).
    pub fn line(&mut self, bytes: &[u8]) -> Result<()> {
        self.file
            .write_all(bytes)
            .and_then(|()| self.file.write_all(b"\n"))
            .with_context(|| self.path_err("write"))?;
        if let Some(e) = &mut self.echo
            && e.write_all(bytes)
                .and_then(|()| e.write_all(b"\n"))
                .is_err()
        {
            self.echo = None;
        }
        Ok(())
    }

    /// Writes `[<UTC ts>] <message>` and flushes (empty messages are skipped,
    /// like the original's `log_runner`).
    pub fn message(&mut self, message: &str) -> Result<()> {
        if message.is_empty() {
            return Ok(());
        }
        let text = format!("[{}] {message}", acp_core::time::now_utc_iso());
        self.line(text.as_bytes())?;
        self.flush()
    }

    /// Flushes the log and the echo.
    pub fn flush(&mut self) -> Result<()> {
        self.file.flush().with_context(|| self.path_err("write"))?;
        if let Some(e) = &mut self.echo
            && e.flush().is_err()
        {
            self.echo = None;
        }
        Ok(())
    }

    /// Flushes, then returns the log's current size.
    pub fn position(&mut self) -> Result<u64> {
        self.flush()?;
        Ok(std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0))
    }

    fn path_err(&self, what: &str) -> String {
        format!("failed to {what} {}", self.path.display())
    }
}

impl Drop for LogSink<'_> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

// ---------------------------------------------------------------------------
// Engine types

/// Why a run was declared stalled (defined with the tables that name it).
pub use acp_core::classify::StallKind;

/// How a supervised run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The agent exited by itself.
    Exited,
    /// The engine ended the group after a stall.
    Stalled(StallKind),
    /// The engine ended the group at the overall timeout.
    TimedOut,
    /// The supervisor received this signal and ended the group.
    Signalled(i32),
    /// The backend asked to stop (a terminal pattern), with its reason.
    Stopped(String),
}

/// The typed result of [`supervise`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub ending: Ending,
    /// The code to report: the agent's own (shell-style) code for `Exited`,
    /// `Stalled` and `Stopped` (never 0 for the last two); 124 for
    /// `TimedOut`; 128+sig for `Signalled`.
    pub exit_code: i32,
    /// The agent's own shell-style exit code when it was reaped.
    pub agent_code: Option<i32>,
    /// Number of output lines seen.
    pub lines: u64,
    /// Whether any output line was seen.
    pub output_seen: bool,
    pub elapsed: Duration,
    /// The agent's pid (= its process group id); `None` if never spawned.
    pub pid: Option<u32>,
}

impl Outcome {
    /// The outcome of an agent that never ran (it could not be started, or
    /// its run could not be prepared), reporting `exit_code`.
    pub fn not_started(exit_code: i32) -> Self {
        Self {
            ending: Ending::Exited,
            exit_code,
            agent_code: None,
            lines: 0,
            output_seen: false,
            elapsed: Duration::ZERO,
            pid: None,
        }
    }

    /// True when the agent exited by itself with code 0.
    pub fn succeeded(&self) -> bool {
        self.ending == Ending::Exited && self.exit_code == 0
    }
}

/// What a line (or a poll) tells the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// Output, but not progress.
    Output,
    /// Progress: resets the progress-stall clock.
    Progress,
    /// End the run now (the group is terminated), with this reason.
    Stop(String),
}

/// Timing snapshot handed to hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tick {
    /// Since the agent was spawned.
    pub elapsed: Duration,
    /// Since the last output line (`None` before the first).
    pub since_output: Option<Duration>,
    /// Since the last progress signal (`None` before the first).
    pub since_progress: Option<Duration>,
    /// Lines seen so far.
    pub lines: u64,
}

/// Per-backend behaviour. Every hook has a no-op default, so a backend
/// implements only what it needs, and new hooks can be added without
/// breaking existing backends.
pub trait Backend {
    /// After the agent was spawned.
    fn on_spawn(&mut self, _pid: u32, _log: &mut LogSink<'_>) -> Result<()> {
        Ok(())
    }
    /// For every output line (without its newline), after the engine wrote
    /// it to the log (unless [`Config::log_lines`] is off). Default: every
    /// line is progress.
    fn on_line(&mut self, _line: &[u8], _log: &mut LogSink<'_>) -> Result<Signal> {
        Ok(Signal::Progress)
    }
    /// Called on every engine tick (about every [`Config::poll`]): a place to
    /// poll other progress sources (file sizes, session state).
    fn poll(&mut self, _tick: &Tick, _log: &mut LogSink<'_>) -> Result<Option<Signal>> {
        Ok(None)
    }
    /// Every [`Config::heartbeat`] while the agent runs (not when a stall or
    /// timeout is declared on the same tick).
    fn on_heartbeat(&mut self, _tick: &Tick, _log: &mut LogSink<'_>) -> Result<()> {
        Ok(())
    }
    /// A stall was detected; called before the group is ended.
    fn on_stall(&mut self, _kind: StallKind, _tick: &Tick, _log: &mut LogSink<'_>) -> Result<()> {
        Ok(())
    }
    /// The overall timeout hit; called before the group is ended.
    fn on_timeout(&mut self, _tick: &Tick, _log: &mut LogSink<'_>) -> Result<()> {
        Ok(())
    }
    /// The supervisor received `sig`; called before the group is ended.
    fn on_signal(&mut self, _sig: i32, _tick: &Tick, _log: &mut LogSink<'_>) -> Result<()> {
        Ok(())
    }
    /// The backend asked to stop; called before the group is ended.
    fn on_stop(&mut self, _reason: &str, _tick: &Tick, _log: &mut LogSink<'_>) -> Result<()> {
        Ok(())
    }
}

/// A backend with no hooks (every line is progress).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHooks;
impl Backend for NoHooks {}

/// What the agent reads on stdin.
#[derive(Debug, Clone, Default)]
pub enum Input {
    /// /dev/null.
    #[default]
    Null,
    /// A file opened for reading.
    File(PathBuf),
    /// These bytes, then EOF.
    Bytes(Vec<u8>),
    /// The supervisor's own stdin.
    Inherit,
}

/// Engine settings. `Config::default()` = no stall detection, no timeout,
/// no heartbeat, 2 s grace, 100 ms ticks, lines logged, signals forwarded.
/// A zero heartbeat, stall or timeout counts as `None` (off).
#[derive(Debug, Clone)]
pub struct Config {
    /// Heartbeat interval (`None` = no heartbeats).
    pub heartbeat: Option<Duration>,
    /// Declare a stall when no output at all arrived within this time.
    pub silent_stall: Option<Duration>,
    /// Declare a stall when, after output was seen, no progress signal
    /// arrived within this time (measured from the last progress, or from
    /// the start when there was none).
    pub progress_stall: Option<Duration>,
    /// Overall limit; exit code 124.
    pub timeout: Option<Duration>,
    /// Time between TERM and KILL when ending the group.
    pub grace: Duration,
    /// How often timers, the child and signals are checked.
    pub poll: Duration,
    /// Append every output line to the log before calling `on_line`.
    pub log_lines: bool,
    /// Install the TERM/INT/HUP handler and end the group when one arrives.
    pub forward_signals: bool,
    /// After the agent (the group leader) exited: how long the stream may
    /// stay silent before the rest of its group is ended (TERM, grace,
    /// KILL) and reading stops; also how long to wait for the last output
    /// after the engine ended the group.
    pub drain: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            heartbeat: None,
            silent_stall: None,
            progress_stall: None,
            timeout: None,
            grace: process::DEFAULT_GRACE,
            poll: Duration::from_millis(100),
            log_lines: true,
            forward_signals: true,
            drain: Duration::from_secs(1),
        }
    }
}

impl Config {
    /// This config with zero durations read as "off" (`None`), the way the
    /// original treats a 0 stall or timeout; a zero heartbeat would
    /// otherwise never let the heartbeat clock advance.
    fn effective(&self) -> Self {
        let on = |d: Option<Duration>| d.filter(|d| !d.is_zero());
        Self {
            heartbeat: on(self.heartbeat),
            silent_stall: on(self.silent_stall),
            progress_stall: on(self.progress_stall),
            timeout: on(self.timeout),
            ..self.clone()
        }
    }
}

/// Lines read per batch before the engine checks its timers again.
const MAX_BATCH: usize = 8192;

/// The longest run of output without a newline the engine keeps in memory.
/// A longer run reaches the log unchanged, in pieces of this size, and only
/// its last piece is handed to the backend as the line, so an agent that
/// prints megabytes without a newline cannot exhaust the supervisor's
/// memory.
const MAX_LINE: usize = 8 << 20;

enum Msg {
    /// A complete line, without its newline.
    Line(Vec<u8>),
    /// [`MAX_LINE`] bytes of a line that goes on.
    Chunk(Vec<u8>),
    Eof,
}

fn spawn_reader(pipe: File) -> Result<Receiver<Msg>> {
    let (tx, rx) = mpsc::sync_channel::<Msg>(4096);
    std::thread::Builder::new()
        .name("agent-output".into())
        .spawn(move || {
            let mut reader = BufReader::with_capacity(64 * 1024, pipe);
            let mut buf: Vec<u8> = Vec::with_capacity(256);
            loop {
                let available = match reader.fill_buf() {
                    Ok(b) => b,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                };
                if available.is_empty() {
                    break;
                }
                let msg = match available.iter().position(|b| *b == b'\n') {
                    Some(i) => {
                        buf.extend_from_slice(&available[..i]);
                        reader.consume(i + 1);
                        Some(Msg::Line(std::mem::take(&mut buf)))
                    }
                    None => {
                        let n = available.len();
                        buf.extend_from_slice(available);
                        reader.consume(n);
                        (buf.len() >= MAX_LINE).then(|| Msg::Chunk(std::mem::take(&mut buf)))
                    }
                };
                if let Some(msg) = msg
                    && tx.send(msg).is_err()
                {
                    return;
                }
            }
            // A last line without a newline still counts.
            if !buf.is_empty() && tx.send(Msg::Line(buf)).is_err() {
                return;
            }
            let _ = tx.send(Msg::Eof);
        })
        .context("failed to start the output reader thread")?;
    Ok(rx)
}

fn feed_stdin(child: &mut Child, input: &Input) {
    if let (Input::Bytes(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
        let bytes = bytes.clone();
        // A writer thread, so a large prompt cannot deadlock against output.
        let _ = std::thread::Builder::new()
            .name("agent-input".into())
            .spawn(move || {
                let _ = stdin.write_all(&bytes);
            });
    }
}

fn configure_stdin(cmd: &mut Command, input: &Input) -> Result<()> {
    match input {
        Input::Null => {
            cmd.stdin(Stdio::null());
        }
        Input::Inherit => {
            cmd.stdin(Stdio::inherit());
        }
        Input::Bytes(_) => {
            cmd.stdin(Stdio::piped());
        }
        Input::File(p) => {
            let f = File::open(p).with_context(|| format!("failed to open {}", p.display()))?;
            cmd.stdin(f);
        }
    }
    Ok(())
}

struct Clock {
    start: Instant,
    last_output: Option<Instant>,
    last_progress: Option<Instant>,
    lines: u64,
}

impl Clock {
    fn tick(&self, now: Instant) -> Tick {
        Tick {
            elapsed: now.saturating_duration_since(self.start),
            since_output: self.last_output.map(|t| now.saturating_duration_since(t)),
            since_progress: self.last_progress.map(|t| now.saturating_duration_since(t)),
            lines: self.lines,
        }
    }
}

/// Runs `cmd` under supervision until it exits or has to be ended; see the
/// module docs. `cmd`'s stdout/stderr are replaced by the engine's pipe and
/// its stdin by `input`; its environment and working directory are the
/// caller's business (build it with `Invocation::command`/`Env::apply`).
pub fn supervise(
    cmd: &mut Command,
    input: &Input,
    cfg: &Config,
    backend: &mut dyn Backend,
    log: &mut LogSink<'_>,
) -> Result<Outcome> {
    let start = Instant::now();
    if cfg.forward_signals {
        process::install_termination_handler()?;
        if let Some(sig) = process::termination_signal() {
            return Ok(Outcome {
                ending: Ending::Signalled(sig),
                exit_code: 128 + sig,
                agent_code: None,
                lines: 0,
                output_seen: false,
                elapsed: Duration::ZERO,
                pid: None,
            });
        }
    }
    let (reader, writer) = process::pipe().context("failed to create the output pipe")?;
    let writer_err = writer
        .try_clone()
        .context("failed to duplicate the output pipe")?;
    configure_stdin(cmd, input)?;
    cmd.stdout(writer).stderr(writer_err);
    let spawned = process::spawn_in_group(cmd);
    // Our copies of the write end must be closed so EOF can arrive.
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = spawned?;
    let pid = child.id();
    feed_stdin(&mut child, input);
    let rx = match spawn_reader(reader) {
        Ok(rx) => rx,
        Err(e) => {
            let _ = process::terminate_group(&mut child, cfg.grace);
            return Err(e);
        }
    };
    if let Err(e) = backend.on_spawn(pid, log) {
        let _ = process::terminate_group(&mut child, cfg.grace);
        return Err(e);
    }

    let mut clock = Clock {
        start,
        last_output: None,
        last_progress: None,
        lines: 0,
    };
    match drive(&mut child, &rx, cfg, backend, log, &mut clock) {
        Ok(done) => finish(child, &rx, done, cfg, backend, log, clock),
        Err(e) => {
            // Never leave the agent running behind a failed supervisor.
            let _ = process::terminate_group(&mut child, cfg.grace);
            Err(e)
        }
    }
}

struct Driven {
    ending: Ending,
    status: Option<std::process::ExitStatus>,
    eof: bool,
}

fn drive(
    child: &mut Child,
    rx: &Receiver<Msg>,
    cfg: &Config,
    backend: &mut dyn Backend,
    log: &mut LogSink<'_>,
    clock: &mut Clock,
) -> Result<Driven> {
    let cfg = cfg.effective();
    let mut d = Driver {
        pid: child.id(),
        next_heartbeat: cfg.heartbeat.map(|h| clock.start + h),
        cfg,
        eof: false,
        status: None,
        exited_at: None,
    };
    let ending = loop {
        // 1. Output: block up to one tick for the first line, then drain.
        if d.eof {
            std::thread::sleep(d.cfg.poll.min(Duration::from_millis(50)));
        } else if let Some(stop) = d.pump(rx, backend, log, clock)? {
            break Ending::Stopped(stop);
        }

        // 2. The agent itself.
        let now = Instant::now();
        if d.status.is_none() {
            d.status = child.try_wait().context("failed to poll the agent")?;
            if d.status.is_some() {
                d.exited_at = Some(now);
            }
        }
        if d.drained(clock, now) {
            break Ending::Exited;
        }

        // 3. Our own signals, timeout, stalls, backend polling, heartbeat.
        if let Some(ending) = d.watch(now, backend, log, clock)? {
            break ending;
        }
    };
    Ok(Driven {
        ending,
        status: d.status,
        eof: d.eof,
    })
}

/// The state of one [`drive`] loop.
struct Driver {
    /// The effective configuration.
    cfg: Config,
    pid: u32,
    next_heartbeat: Option<Instant>,
    eof: bool,
    status: Option<std::process::ExitStatus>,
    exited_at: Option<Instant>,
}

impl Driver {
    /// Handles the output that is there (waiting up to one poll for the
    /// first message); the backend's stop reason, if a line asked for one.
    fn pump(
        &mut self,
        rx: &Receiver<Msg>,
        backend: &mut dyn Backend,
        log: &mut LogSink<'_>,
        clock: &mut Clock,
    ) -> Result<Option<String>> {
        let cfg = &self.cfg;
        let mut handled = 0usize;
        let mut stop = None;
        let mut next = match rx.recv_timeout(cfg.poll) {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => Some(Msg::Eof),
        };
        while let Some(msg) = next.take() {
            match msg {
                Msg::Eof => {
                    self.eof = true;
                    break;
                }
                Msg::Line(line) => {
                    stop = handle_line(&line, cfg, backend, log, clock)?;
                    if stop.is_some() {
                        break;
                    }
                }
                Msg::Chunk(bytes) => handle_chunk(&bytes, cfg, log, clock)?,
            }
            handled += 1;
            if handled >= MAX_BATCH {
                break;
            }
            next = match rx.try_recv() {
                Ok(m) => Some(m),
                Err(TryRecvError::Empty) => None,
                Err(TryRecvError::Disconnected) => Some(Msg::Eof),
            };
        }
        if handled < MAX_BATCH {
            log.flush()?;
        }
        Ok(stop)
    }

    /// Whether an exited agent's output is complete: the pipe reached EOF,
    /// or nothing came for the drain time (then children it left in its
    /// group, holding the output open and silent, are ended too).
    fn drained(&self, clock: &Clock, now: Instant) -> bool {
        let Some(done_at) = self.exited_at else {
            return false;
        };
        if self.eof {
            return true;
        }
        let quiet_since = clock.last_output.map_or(done_at, |t| t.max(done_at));
        if now.duration_since(quiet_since) < self.cfg.drain {
            return false;
        }
        if process::group_alive(self.pid) {
            process::signal_group(self.pid, libc::SIGTERM);
            let deadline = Instant::now() + self.cfg.grace;
            while process::group_alive(self.pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            process::signal_group(self.pid, libc::SIGKILL);
        }
        // Whatever still holds the pipe has left the group.
        true
    }

    /// Our own signals, the timeout, and (while the agent runs) stalls, the
    /// backend's poll and the heartbeat; the ending when one decides it.
    fn watch(
        &mut self,
        now: Instant,
        backend: &mut dyn Backend,
        log: &mut LogSink<'_>,
        clock: &mut Clock,
    ) -> Result<Option<Ending>> {
        let cfg = &self.cfg;
        let tick = clock.tick(now);
        if cfg.forward_signals
            && let Some(sig) = process::termination_signal()
        {
            backend.on_signal(sig, &tick, log)?;
            return Ok(Some(Ending::Signalled(sig)));
        }
        // The overall limit also holds while the group outlives its leader
        // and keeps writing (the drain would wait for it forever).
        if cfg.timeout.is_some_and(|t| tick.elapsed >= t) {
            backend.on_timeout(&tick, log)?;
            return Ok(Some(Ending::TimedOut));
        }
        if self.status.is_some() {
            // Exited; waiting for the rest of its output only.
            return Ok(None);
        }
        if let Some(kind) = stalled(cfg, &tick) {
            backend.on_stall(kind, &tick, log)?;
            return Ok(Some(Ending::Stalled(kind)));
        }
        match backend.poll(&tick, log)? {
            Some(Signal::Progress) => clock.last_progress = Some(now),
            Some(Signal::Stop(reason)) => {
                backend.on_stop(&reason, &tick, log)?;
                return Ok(Some(Ending::Stopped(reason)));
            }
            Some(Signal::Output) | None => {}
        }
        if let (Some(at), Some(every)) = (self.next_heartbeat, cfg.heartbeat)
            && now >= at
        {
            backend.on_heartbeat(&tick, log)?;
            let mut next = at + every;
            while next <= now {
                next += every;
            }
            self.next_heartbeat = Some(next);
        }
        Ok(None)
    }
}

fn finish(
    mut child: Child,
    rx: &Receiver<Msg>,
    done: Driven,
    cfg: &Config,
    backend: &mut dyn Backend,
    log: &mut LogSink<'_>,
    mut clock: Clock,
) -> Result<Outcome> {
    let Driven {
        ending,
        mut status,
        eof,
    } = done;
    let pid = child.id();
    if ending != Ending::Exited {
        let first = match ending {
            Ending::Signalled(sig) => sig,
            _ => libc::SIGTERM,
        };
        status = Some(process::terminate_group_with(&mut child, first, cfg.grace)?);
        // Log what the group printed up to its end.
        drain_rest(rx, eof, cfg, backend, log, &mut clock)?;
    }
    log.flush()?;
    let status = match status {
        Some(s) => s,
        None => child.wait().context("failed to wait for the agent")?,
    };
    let agent_code = process::exit_code(status);
    let exit_code = reported_code(&ending, agent_code);
    Ok(Outcome {
        ending,
        exit_code,
        agent_code: Some(agent_code),
        lines: clock.lines,
        output_seen: clock.last_output.is_some(),
        elapsed: clock.start.elapsed(),
        pid: Some(pid),
    })
}

fn handle_line(
    line: &[u8],
    cfg: &Config,
    backend: &mut dyn Backend,
    log: &mut LogSink<'_>,
    clock: &mut Clock,
) -> Result<Option<String>> {
    if cfg.log_lines {
        log.line(line)?;
    }
    let now = Instant::now();
    clock.lines += 1;
    clock.last_output = Some(now);
    match backend.on_line(line, log)? {
        Signal::Output => {}
        Signal::Progress => clock.last_progress = Some(now),
        Signal::Stop(reason) => {
            let tick = clock.tick(now);
            backend.on_stop(&reason, &tick, log)?;
            return Ok(Some(reason));
        }
    }
    Ok(None)
}

/// The code an [`Outcome`] reports: 124 for a timeout, 128+sig when the
/// supervisor was signalled, else the agent's own code, except that an agent
/// the engine ended (stall, terminal pattern) never reports success: one that
/// answers the TERM by exiting 0 reports 1.
fn reported_code(ending: &Ending, agent_code: i32) -> i32 {
    match ending {
        Ending::TimedOut => process::TIMEOUT_EXIT,
        Ending::Signalled(sig) => 128 + sig,
        Ending::Stalled(_) | Ending::Stopped(_) if agent_code == 0 => 1,
        _ => agent_code,
    }
}

/// A piece of an over-long line: logged as it came, counted as output (not
/// as progress), not shown to the backend.
fn handle_chunk(
    bytes: &[u8],
    cfg: &Config,
    log: &mut LogSink<'_>,
    clock: &mut Clock,
) -> Result<()> {
    if cfg.log_lines {
        log.raw(bytes)?;
    }
    clock.last_output = Some(Instant::now());
    Ok(())
}

fn drain_rest(
    rx: &Receiver<Msg>,
    mut eof: bool,
    cfg: &Config,
    backend: &mut dyn Backend,
    log: &mut LogSink<'_>,
    clock: &mut Clock,
) -> Result<()> {
    let deadline = Instant::now() + cfg.drain;
    while !eof {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match rx.recv_timeout(left) {
            Ok(Msg::Line(line)) => {
                if cfg.log_lines {
                    log.line(&line)?;
                }
                clock.lines += 1;
                clock.last_output = Some(Instant::now());
                // Stop requests are moot now; progress does not matter.
                let _ = backend.on_line(&line, log)?;
            }
            Ok(Msg::Chunk(bytes)) => handle_chunk(&bytes, cfg, log, clock)?,
            Ok(Msg::Eof) | Err(RecvTimeoutError::Disconnected) => eof = true,
            Err(RecvTimeoutError::Timeout) => break,
        }
    }
    Ok(())
}

fn stalled(cfg: &Config, tick: &Tick) -> Option<StallKind> {
    if tick.since_output.is_none()
        && let Some(limit) = cfg.silent_stall
    {
        return (tick.elapsed >= limit).then_some(StallKind::NoOutput);
    }
    let limit = cfg.progress_stall?;
    if tick.since_output.is_none() && cfg.silent_stall.is_some() {
        return None;
    }
    let idle = tick.since_progress.unwrap_or(tick.elapsed);
    (idle >= limit).then_some(StallKind::NoProgress)
}

// ---------------------------------------------------------------------------
// Supervision without output capture

/// Runs `cmd` in its own process group with its output inherited (the
/// agent writes where the supervisor writes), ending the group on timeout
/// (124) or on the supervisor's TERM/INT/HUP (128+sig) when
/// `cfg.forward_signals` is on. Heartbeats, stalls and lines do not apply.
pub fn run_group(cmd: &mut Command, input: &Input, cfg: &Config) -> Result<Outcome> {
    let start = Instant::now();
    let cfg = &cfg.effective();
    if cfg.forward_signals {
        process::install_termination_handler()?;
    }
    configure_stdin(cmd, input)?;
    let mut child = process::spawn_in_group(cmd)?;
    let pid = child.id();
    feed_stdin(&mut child, input);
    let mut ending = Ending::Exited;
    let status = loop {
        if let Some(s) = child.try_wait().context("failed to poll the child")? {
            break s;
        }
        if cfg.forward_signals
            && let Some(sig) = process::termination_signal()
        {
            ending = Ending::Signalled(sig);
            break process::terminate_group_with(&mut child, sig, cfg.grace)?;
        }
        if cfg.timeout.is_some_and(|t| start.elapsed() >= t) {
            ending = Ending::TimedOut;
            break process::terminate_group(&mut child, cfg.grace)?;
        }
        std::thread::sleep(cfg.poll.min(Duration::from_millis(50)));
    };
    let agent_code = process::exit_code(status);
    let exit_code = reported_code(&ending, agent_code);
    Ok(Outcome {
        ending,
        exit_code,
        agent_code: Some(agent_code),
        lines: 0,
        output_seen: false,
        elapsed: start.elapsed(),
        pid: Some(pid),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.args(["-c", script]);
        c
    }

    /// Runs `script` under the engine with `hooks` and no input, logging to
    /// a log file in a temp dir that is dropped afterwards.
    fn run_script(script: &str, c: &Config, hooks: &mut impl Backend) -> Outcome {
        let dir = tempfile::tempdir().unwrap();
        let mut log = LogSink::append(&dir.path().join("s.log"), None).unwrap();
        supervise(&mut sh(script), &Input::Null, c, hooks, &mut log).unwrap()
    }

    fn cfg() -> Config {
        Config {
            forward_signals: false,
            poll: Duration::from_millis(20),
            grace: Duration::from_millis(500),
            ..Config::default()
        }
    }

    #[derive(Default)]
    struct Rec {
        lines: Vec<String>,
        heartbeats: u32,
        stalls: Vec<StallKind>,
        timeouts: u32,
        stop_on: Option<String>,
        stops: Vec<String>,
    }

    impl Backend for Rec {
        fn on_line(&mut self, line: &[u8], _log: &mut LogSink<'_>) -> Result<Signal> {
            let l = String::from_utf8_lossy(line).into_owned();
            let stop = self
                .stop_on
                .as_ref()
                .is_some_and(|s| l.contains(s.as_str()));
            self.lines.push(l);
            if stop {
                return Ok(Signal::Stop("pattern".into()));
            }
            Ok(if line.starts_with(b"noise") {
                Signal::Output
            } else {
                Signal::Progress
            })
        }
        fn on_heartbeat(&mut self, t: &Tick, log: &mut LogSink<'_>) -> Result<()> {
            self.heartbeats += 1;
            log.message(&format!("heartbeat elapsed={}s", t.elapsed.as_secs()))
        }
        fn on_stall(&mut self, k: StallKind, _t: &Tick, log: &mut LogSink<'_>) -> Result<()> {
            self.stalls.push(k);
            log.message("stale-run")
        }
        fn on_timeout(&mut self, _t: &Tick, _log: &mut LogSink<'_>) -> Result<()> {
            self.timeouts += 1;
            Ok(())
        }
        fn on_stop(&mut self, r: &str, _t: &Tick, _log: &mut LogSink<'_>) -> Result<()> {
            self.stops.push(r.to_string());
            Ok(())
        }
    }

    #[test]
    fn streams_stdout_and_stderr_in_order_and_reports_exit_code() {
        let dir = tempfile::tempdir().unwrap();
        let logp = dir.path().join("s.log");
        let mut echo = Vec::new();
        let mut rec = Rec::default();
        {
            let mut log = LogSink::append(&logp, Some(&mut echo)).unwrap();
            let out = supervise(
                &mut sh("echo one; echo two >&2; printf 'three'; exit 3"),
                &Input::Null,
                &cfg(),
                &mut rec,
                &mut log,
            )
            .unwrap();
            assert_eq!(out.ending, Ending::Exited);
            assert_eq!(out.exit_code, 3);
            assert_eq!(out.lines, 3);
            assert!(!out.succeeded());
        }
        assert_eq!(std::fs::read_to_string(&logp).unwrap(), "one\ntwo\nthree\n");
        assert_eq!(echo, b"one\ntwo\nthree\n");
        assert_eq!(rec.lines, ["one", "two", "three"]);
    }

    #[test]
    fn feeds_stdin_from_bytes_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let logp = dir.path().join("s.log");
        let prompt = dir.path().join("prompt");
        std::fs::write(&prompt, "from file\n").unwrap();
        let mut log = LogSink::append(&logp, None).unwrap();
        let o1 = supervise(
            &mut sh("cat"),
            &Input::Bytes(b"from bytes\n".to_vec()),
            &cfg(),
            &mut NoHooks,
            &mut log,
        )
        .unwrap();
        let o2 = supervise(
            &mut sh("cat"),
            &Input::File(prompt),
            &cfg(),
            &mut NoHooks,
            &mut log,
        )
        .unwrap();
        assert!(o1.succeeded() && o2.succeeded());
        drop(log);
        assert_eq!(
            std::fs::read_to_string(&logp).unwrap(),
            "from bytes\nfrom file\n"
        );
    }

    #[test]
    fn silent_stall_ends_the_group() {
        let dir = tempfile::tempdir().unwrap();
        let logp = dir.path().join("s.log");
        let mut log = LogSink::append(&logp, None).unwrap();
        let mut rec = Rec::default();
        let c = Config {
            silent_stall: Some(Duration::from_millis(300)),
            progress_stall: Some(Duration::from_millis(300)),
            ..cfg()
        };
        let out = supervise(&mut sh("sleep 30"), &Input::Null, &c, &mut rec, &mut log).unwrap();
        assert_eq!(out.ending, Ending::Stalled(StallKind::NoOutput));
        assert_eq!(out.exit_code, 143);
        assert_eq!(rec.stalls, [StallKind::NoOutput]);
        drop(log);
        assert!(
            std::fs::read_to_string(&logp)
                .unwrap()
                .contains("] stale-run")
        );
    }

    #[test]
    fn an_agent_ended_for_a_stall_never_reports_success() {
        let mut rec = Rec::default();
        let c = Config {
            silent_stall: Some(Duration::from_millis(300)),
            ..cfg()
        };
        // Silent, and answers the engine's TERM by exiting 0.
        let out = run_script(
            "trap 'exit 0' TERM; while :; do sleep 0.05; done",
            &c,
            &mut rec,
        );
        assert_eq!(out.ending, Ending::Stalled(StallKind::NoOutput));
        assert_eq!(out.agent_code, Some(0));
        assert_eq!(out.exit_code, 1);
        assert!(!out.succeeded());
        assert_eq!(reported_code(&Ending::Stopped("x".into()), 0), 1);
        assert_eq!(reported_code(&Ending::Stopped("x".into()), 143), 143);
        assert_eq!(reported_code(&Ending::Exited, 0), 0);
    }

    #[test]
    fn an_endless_line_reaches_the_log_intact_but_is_bounded_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let logp = dir.path().join("s.log");
        let mut log = LogSink::append(&logp, None).unwrap();
        let mut rec = Rec::default();
        // 20 MiB without a newline, then the end of that line, then one more.
        let big = 20 << 20;
        let out = supervise(
            &mut sh(&format!(
                "head -c {big} /dev/zero | tr '\\0' a; echo tail; printf last"
            )),
            &Input::Null,
            &cfg(),
            &mut rec,
            &mut log,
        )
        .unwrap();
        drop(log);
        assert_eq!(out.ending, Ending::Exited);
        let text = std::fs::read(&logp).unwrap();
        assert_eq!(text.len(), big + "tail\nlast\n".len());
        assert!(text[..big].iter().all(|b| *b == b'a'));
        assert!(text.ends_with(b"atail\nlast\n"));
        // The backend saw two lines; the long one only as its last piece.
        assert_eq!(
            rec.lines.len(),
            2,
            "{:?}",
            rec.lines.iter().map(String::len).collect::<Vec<_>>()
        );
        assert!(rec.lines[0].len() <= MAX_LINE + 4 && rec.lines[0].ends_with("atail"));
        assert_eq!(rec.lines[1], "last");
    }

    #[test]
    fn progress_stall_counts_only_progress_signals() {
        let mut rec = Rec::default();
        let c = Config {
            silent_stall: Some(Duration::from_secs(30)),
            progress_stall: Some(Duration::from_millis(400)),
            ..cfg()
        };
        // Noise lines keep coming but are not progress.
        let out = run_script(
            "echo start; while :; do echo noise; sleep 0.05; done",
            &c,
            &mut rec,
        );
        assert_eq!(out.ending, Ending::Stalled(StallKind::NoProgress));
        assert!(out.output_seen);
        assert!(rec.lines.len() > 2);
    }

    #[test]
    fn timeout_returns_124_and_heartbeats_while_running() {
        let dir = tempfile::tempdir().unwrap();
        let logp = dir.path().join("s.log");
        let mut log = LogSink::append(&logp, None).unwrap();
        let mut rec = Rec::default();
        let c = Config {
            timeout: Some(Duration::from_millis(700)),
            heartbeat: Some(Duration::from_millis(200)),
            ..cfg()
        };
        let out = supervise(
            &mut sh("echo hi; sleep 30"),
            &Input::Null,
            &c,
            &mut rec,
            &mut log,
        )
        .unwrap();
        assert_eq!(out.ending, Ending::TimedOut);
        assert_eq!(out.exit_code, 124);
        assert_eq!(out.agent_code, Some(143));
        assert_eq!(rec.timeouts, 1);
        assert!(rec.heartbeats >= 1);
    }

    #[test]
    fn backend_stop_ends_the_run() {
        let mut rec = Rec {
            stop_on: Some("FATAL".into()),
            ..Rec::default()
        };
        let out = run_script("echo ok; echo FATAL; sleep 30", &cfg(), &mut rec);
        assert_eq!(out.ending, Ending::Stopped("pattern".into()));
        assert_eq!(rec.stops, ["pattern"]);
    }

    #[test]
    fn leftover_children_in_the_group_are_ended_after_the_leader_exits() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("left.pid");
        let script = format!(
            "sleep 300 & echo $! > '{}'; echo bye; exit 0",
            pidfile.display()
        );
        let out = run_script(&script, &cfg(), &mut NoHooks);
        assert!(out.succeeded());
        let pid: u32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let gone = match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                Err(_) => true,
                Ok(s) => s
                    .rsplit(')')
                    .next()
                    .is_some_and(|r| r.trim_start().starts_with('Z')),
            };
            if gone {
                break;
            }
            assert!(Instant::now() < deadline, "leftover child {pid} survived");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn exit_does_not_wait_for_a_detached_pipe_holder_forever() {
        // setsid moves the sleeper out of the group while it keeps the pipe.
        let out = run_script("echo done; setsid sleep 5 & exit 0", &cfg(), &mut NoHooks);
        assert!(out.succeeded());
        assert!(out.elapsed < Duration::from_secs(4));
    }

    #[test]
    fn pending_signal_ends_run_group() {
        // run_group with a timeout (signals are process-global, so this
        // test only exercises the timeout path).
        let c = Config {
            timeout: Some(Duration::from_millis(300)),
            ..cfg()
        };
        let out = run_group(&mut sh("sleep 30"), &Input::Null, &c).unwrap();
        assert_eq!(out.ending, Ending::TimedOut);
        assert_eq!(out.exit_code, 124);
        let out = run_group(&mut sh("exit 5"), &Input::Null, &c).unwrap();
        assert_eq!(out.exit_code, 5);
    }

    #[test]
    fn received_signal_ends_the_group_with_128_plus_sig() {
        // The only test that uses the process-global signal flag.
        let dir = tempfile::tempdir().unwrap();
        let mut log = LogSink::append(&dir.path().join("s.log"), None).unwrap();
        let c = Config {
            forward_signals: true,
            ..cfg()
        };
        let t = std::thread::spawn(|| {
            std::thread::sleep(Duration::from_millis(300));
            process::request_termination(libc::SIGTERM);
        });
        let out = supervise(
            &mut sh("echo up; sleep 30"),
            &Input::Null,
            &c,
            &mut NoHooks,
            &mut log,
        );
        t.join().unwrap();
        process::clear_termination_signal();
        let out = out.unwrap();
        assert_eq!(out.ending, Ending::Signalled(libc::SIGTERM));
        assert_eq!(out.exit_code, 143);
    }

    /// Runs `supervise` on a thread; `None` when it has not returned within
    /// `limit` (the engine hung).
    fn supervise_within(script: &'static str, c: Config, limit: Duration) -> Option<Outcome> {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(run_script(script, &c, &mut NoHooks));
        });
        rx.recv_timeout(limit).ok()
    }

    #[test]
    fn timeout_still_ends_a_group_that_keeps_talking_after_the_leader_exited() {
        // The leader exits at once; a child left in its group prints forever.
        let c = Config {
            timeout: Some(Duration::from_millis(700)),
            ..cfg()
        };
        let out = supervise_within(
            "(while :; do echo tick; sleep 0.05; done) & exit 0",
            c,
            Duration::from_secs(20),
        )
        .expect("the engine ignored its timeout once the leader had exited");
        assert_eq!(out.ending, Ending::TimedOut);
        assert_eq!(out.exit_code, 124);
    }

    #[test]
    fn zero_durations_mean_off() {
        let c = Config {
            heartbeat: Some(Duration::ZERO),
            silent_stall: Some(Duration::ZERO),
            progress_stall: Some(Duration::ZERO),
            timeout: Some(Duration::ZERO),
            ..cfg()
        };
        let out = supervise_within("sleep 0.5; echo done", c, Duration::from_secs(20))
            .expect("a zero heartbeat hung the engine");
        assert_eq!(out.ending, Ending::Exited);
        assert!(out.succeeded());
    }
}
