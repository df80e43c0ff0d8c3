//! Process identity: a pid alone is reused by the kernel, so a process this
//! profile started is recorded as its pid *and* its start time, and is only
//! signalled while both still match (spec F16: no `ps` matching by name).

use std::path::Path;
use std::process::Command;

/// A process as recorded when it was started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcId {
    pub pid: u32,
    /// Opaque start-time token ("" when it could not be read).
    pub start: String,
}

/// The start-time token of a live `pid`: on Linux field 22 of
/// `/proc/<pid>/stat` (clock ticks since boot), elsewhere `ps -o lstart=`.
/// `None` when the process does not exist.
pub fn start_token(pid: u32) -> Option<String> {
    if pid <= 1 {
        return None;
    }
    let stat = Path::new("/proc").join(pid.to_string()).join("stat");
    if let Ok(text) = std::fs::read_to_string(&stat) {
        // The command name (field 2) may hold spaces and parentheses: the
        // fields after it start after the last ')'.
        let rest = text.rsplit_once(')').map(|(_, r)| r)?;
        // rest starts with " <state> ..." = field 3; field 22 is index 19.
        return rest.split_whitespace().nth(19).map(str::to_owned);
    }
    if Path::new("/proc/self/stat").exists() {
        return None; // a /proc system without this pid: it is gone
    }
    let out = Command::new("ps")
        .args(["-o", "lstart=", "-p", &pid.to_string()])
        .output()
        .ok()?;
    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (out.status.success() && !token.is_empty()).then_some(token)
}

impl ProcId {
    /// The identity of the live process `pid`, `None` if there is none.
    pub fn of(pid: u32) -> Option<ProcId> {
        start_token(pid).map(|start| ProcId { pid, start })
    }

    /// The identity of this process.
    pub fn current() -> ProcId {
        let pid = std::process::id();
        ProcId {
            pid,
            start: start_token(pid).unwrap_or_default(),
        }
    }

    /// Whether the recorded process is still the one running under its pid
    /// (a record without a start token only checks that the pid exists).
    pub fn is_alive(&self) -> bool {
        match start_token(self.pid) {
            Some(now) => self.start.is_empty() || now == self.start,
            None => false,
        }
    }

    /// `PID START` on one line, as stored in pid files this port writes.
    pub fn to_line(&self) -> String {
        if self.start.is_empty() {
            self.pid.to_string()
        } else {
            format!("{} {}", self.pid, self.start)
        }
    }

    /// Parses [`ProcId::to_line`] output, or a bare pid (the original's pid
    /// files), whose start token is then empty.
    pub fn parse(text: &str) -> Option<ProcId> {
        let mut words = text.split_whitespace();
        let pid = words.next()?.parse::<u32>().ok()?;
        let start = words.collect::<Vec<_>>().join(" ");
        Some(ProcId { pid, start })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_process_is_alive_and_round_trips() {
        let me = ProcId::current();
        assert!(me.is_alive());
        let parsed = ProcId::parse(&me.to_line());
        assert_eq!(parsed.as_ref(), Some(&me));
    }

    #[test]
    fn a_changed_start_token_is_not_alive() {
        let mut me = ProcId::current();
        if me.start.is_empty() {
            return;
        }
        me.start.push_str("-other");
        assert!(!me.is_alive());
    }

    #[test]
    fn bare_pid_files_parse() {
        assert_eq!(
            ProcId::parse("123\n"),
            Some(ProcId {
                pid: 123,
                start: String::new()
            })
        );
        assert_eq!(ProcId::parse("x"), None);
    }
}
