//! The three catch-up passes after the loop (spec 1.2 step 13), at most
//! once per `ACP_CATCHUP_INTERVAL_SECONDS`, stamped in
//! `STATE/last-catchup-timestamp` (epoch seconds, no newline). Each runs
//! bounded by `ACP_CATCHUP_TIMEOUT_SECONDS`; a failure is only reported.

use std::path::{Path, PathBuf};

use super::{GRACE, Io, Settings, bash, child, stamp};

/// `STATE/last-catchup-timestamp`.
pub fn stamp_file(state_root: &Path) -> PathBuf {
    state_root.join("last-catchup-timestamp")
}

/// The epoch of the last catch-up (0 when never, or unreadable).
pub fn last_run(state_root: &Path) -> i64 {
    acp_core::fsx::read_capped(&stamp_file(state_root), 4096)
        .ok()
        .and_then(|b| String::from_utf8_lossy(&b).trim().parse::<i64>().ok())
        .unwrap_or(0)
}

/// `(label, tool, timeout key)` of each pass, in order.
const PASSES: [(&str, &str, &str); 3] = [
    (
        "merged-pr catchup",
        "agent-project-catch-up-merged-prs",
        "CATCHUP_TIMEOUT",
    ),
    (
        "linked-pr issue catchup",
        "agent-project-catch-up-issue-pr-links",
        "LINKED_ISSUE_CATCHUP_TIMEOUT",
    ),
    (
        "scheduled-issue retry catchup",
        "agent-project-catch-up-scheduled-issue-retries",
        "SCHEDULED_ISSUE_CATCHUP_TIMEOUT",
    ),
];

/// Runs the passes when the last run is at least the interval ago (then
/// stamps now), else prints the `catchup skipped` line.
pub fn run_throttled(s: &Settings, io: &mut Io<'_>) -> anyhow::Result<()> {
    let now = acp_core::time::now_epoch();
    let age = now - last_run(&s.roots.state);
    if age < s.catchup_interval {
        return io.line(format_args!(
            "[{}] catchup skipped (age={age}s, interval={}s)",
            stamp(),
            s.catchup_interval
        ));
    }
    for (label, tool, timeout_key) in PASSES {
        if acp_core::process::termination_signal().is_some() {
            return Ok(());
        }
        io.line(format_args!("[{}] {label} start", stamp()))?;
        let mut cmd = bash(s, &s.tools_dir.join(tool));
        for prefix in ["ACP_", "F_LOSNING_"] {
            cmd.env(format!("{prefix}RUNS_ROOT"), &s.roots.runs);
        }
        cmd.arg("--repo-slug")
            .arg(&s.repo_slug)
            .arg("--state-root")
            .arg(&s.roots.state)
            .arg("--hook-file")
            .arg(&s.hook_file)
            .args(["--limit", "100"]);
        let ended = child::run(&mut cmd, s.timeouts.catchup, GRACE, None, io.out, io.err)?;
        if ended.code == acp_core::process::TIMEOUT_EXIT {
            io.line(format_args!("{timeout_key}=yes"))?;
        }
        io.line(format_args!(
            "[{}] {label} end status={}",
            stamp(),
            ended.code
        ))?;
    }
    acp_core::fsx::atomic_write(&stamp_file(&s.roots.state), now.to_string().as_bytes())
}
