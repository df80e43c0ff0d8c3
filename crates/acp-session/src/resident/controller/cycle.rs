//! The controller's loop (spec 3.9): one iteration looks at the issue as
//! GitHub has it now (F17), yields to a live controller of the same lane,
//! waits for a due time or provider capacity, runs one worker cycle
//! (start, wait for its tmux session, reconcile) and decides whether to go
//! on, adopt another issue, wait for a lease or stop. Every wait is bounded
//! (F13).

use std::io::Write;
use std::process::Output;
use std::time::Duration;

use acp_core::{dispatch, time};

use super::live_controller_for_key;
use super::machine::{Controller, Interrupted, Setup, become_subreaper, without_provider_vars};
use crate::resident::lane::{backend_supported, is_plain_id};
use crate::resident::queue;

/// What an iteration decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Continue,
    Stop,
}

/// What the controller needs of an issue.
#[derive(Debug, Clone, Default)]
struct IssueView {
    open: bool,
    keep_open: bool,
    blocked: bool,
    interval: u64,
}

/// The first `KEY=` line's value in tool output (the original's `awk ... exit`).
fn first_kv<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_default()
}

fn merged(out: &Output) -> String {
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    text
}

impl Controller<'_> {
    /// The issue as GitHub has it now (a fresh read each time: F17); an
    /// issue that cannot be read counts as not open.
    fn issue_view(&self, issue_id: &str) -> IssueView {
        let read = || -> Option<acp_github::Issue> {
            let number: u64 = issue_id.parse().ok()?;
            let gh = acp_github::Gh::new(self.s.env.clone()).ok()?;
            // The process may share reads between handles: a controller
            // lives for hours, so nothing read before counts now.
            gh.forget(|_| true);
            gh.issue(&self.s.repo_slug, number).ok()
        };
        let Some(issue) = read() else {
            return IssueView::default();
        };
        let has = |l: &str| issue.labels.iter().any(|n| n == l);
        IssueView {
            open: issue.state == "OPEN",
            keep_open: has("agent-keep-open"),
            blocked: has("agent-blocked"),
            interval: crate::schedule::interval_seconds(&issue.body),
        }
    }

    fn open_agent_pr_ids(&self) -> Vec<String> {
        self.hooks
            .open_agent_pr_issue_ids(&self.s.env)
            .unwrap_or_default()
    }

    fn has_open_agent_pr(&self, issue_id: &str) -> bool {
        self.open_agent_pr_ids().iter().any(|i| i == issue_id)
    }

    fn is_recurring(&self, issue_id: &str) -> bool {
        self.hooks
            .yes_no(&self.s.env, "heartbeat_issue_is_recurring", issue_id)
            .unwrap_or_else(|| self.issue_view(issue_id).keep_open)
    }

    fn is_scheduled(&self, issue_id: &str) -> bool {
        self.hooks
            .yes_no(&self.s.env, "heartbeat_issue_is_scheduled", issue_id)
            .unwrap_or_else(|| self.issue_view(issue_id).interval > 0)
    }

    /// The first ready recurring, unscheduled issue other than the current
    /// one that no open agent PR works on.
    fn select_next_recurring(&self) -> Option<String> {
        let ready = self.hooks.ready_issue_ids(&self.s.env);
        if ready.is_empty() {
            return None;
        }
        let with_prs = self.open_agent_pr_ids();
        ready.into_iter().find(|id| {
            is_plain_id(id)
                && *id != self.issue_id
                && !with_prs.contains(id)
                && self.is_recurring(id)
                && !self.is_scheduled(id)
        })
    }

    /// Takes a queued lease, else picks the next ready recurring issue, and
    /// switches to it (`controller_adopt_next_recurring_issue`).
    fn adopt_next(&mut self) -> anyhow::Result<bool> {
        let claim = queue::claim_next(&self.s.state_root, &self.session, &self.issue_id)?;
        let next = match &claim {
            Some(c) => Some(c.issue_id.clone()),
            None => self.select_next_recurring(),
        };
        let Some(next) = next else {
            return Ok(false);
        };
        self.adopt(&next)?;
        if let Some(c) = claim {
            queue::release(&c.claim_file)?;
        }
        self.write_state("adopting-issue", Some("adopted-next-recurring-issue"))?;
        Ok(true)
    }

    /// Polls for a lease until the idle timeout (`controller_wait_for_leased_issue`).
    fn wait_for_lease(&mut self) -> anyhow::Result<bool> {
        let timeout = i64::try_from(self.s.settings.idle_timeout_seconds).unwrap_or(i64::MAX);
        if timeout <= 0 {
            return Ok(false);
        }
        let started = *self.idle_wait_started.get_or_insert_with(time::now_epoch);
        loop {
            if self.adopt_next()? {
                return Ok(true);
            }
            if time::now_epoch() - started >= timeout {
                self.reason = "idle-timeout".into();
                return Ok(false);
            }
            self.write_state("idle", None)?;
            self.nap(Duration::from_secs(self.s.settings.poll_seconds))?;
        }
    }

    /// Adopt another issue, else wait for a lease, else stop with `reason`.
    fn adopt_or_wait(&mut self, reason: &str) -> anyhow::Result<Next> {
        if self.adopt_next()? {
            return Ok(Next::Continue);
        }
        self.reason = reason.to_string();
        if self.wait_for_lease()? {
            return Ok(Next::Continue);
        }
        Ok(Next::Stop)
    }

    /// Whether this controller is older than a peer (start token, then pid).
    fn older_than(&self, pid: u32, start: &str) -> bool {
        match (self.me.start.parse::<u64>(), start.parse::<u64>()) {
            (Ok(a), Ok(b)) if a != b => a < b,
            _ => self.me.pid < pid,
        }
    }

    /// Another live controller works this lane: queue this issue for it
    /// and stop (`controller_yield_to_live_lane_peer`). Of two controllers
    /// starting together, the younger yields.
    fn yield_to_live_lane_peer(&mut self) -> anyhow::Result<bool> {
        if self.worker_key.is_empty() {
            return Ok(false);
        }
        self.nap(self.s.settings.lane_settle)?;
        let root = self.s.state_root.clone();
        let Some(peer) = live_controller_for_key(&root, &self.worker_key, Some(self.me.pid))?
        else {
            return Ok(false);
        };
        if peer.state == "starting" && self.older_than(peer.pid, &peer.pid_start) {
            return Ok(false);
        }
        if !peer.issue_id.is_empty() && peer.issue_id != self.issue_id {
            if let Err(e) = queue::enqueue(&root, &self.issue_id, "resident-live-lane") {
                writeln!(self.err, "start-resident-issue-loop.sh: {e:#}")?;
            }
            let state = if peer.state.is_empty() {
                "running"
            } else {
                &peer.state
            };
            self.reason = format!("live-lane-controller-{}-{state}", peer.issue_id);
        } else {
            self.reason = "duplicate-live-lane-controller".into();
        }
        Ok(true)
    }

    /// `provider-cooldown-state.sh get` without the provider variables
    /// (`READY=yes` when there is no such tool or it says nothing).
    fn provider_state(&mut self) -> String {
        let script = self.s.tools_dir.join("provider-cooldown-state.sh");
        if !acp_core::fsx::is_executable(&script) {
            return "READY=yes\n".into();
        }
        let mut cmd = std::process::Command::new(&script);
        without_provider_vars(&self.s.env).apply(&mut cmd);
        cmd.current_dir(&self.s.cwd).arg("get");
        let text = dispatch::output(&mut cmd)
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        if text.trim().is_empty() {
            "READY=yes\n".into()
        } else {
            text
        }
    }

    /// Waits while the provider is cooling down (`waiting-provider`, at
    /// most the poll interval at a time, at most the provider wait bound in
    /// all); false when it will not become ready.
    fn wait_for_provider_capacity(&mut self) -> anyhow::Result<bool> {
        self.provider_waited = false;
        let mut started: Option<i64> = None;
        loop {
            let st = self.provider_state();
            if first_kv(&st, "READY") == "yes" {
                if let Some(s) = started {
                    let done = time::now_epoch();
                    if done >= s {
                        self.last_wait = u64::try_from(done - s).unwrap_or(0);
                        self.wait_total += self.last_wait;
                        self.wait_completed_at = time::epoch_to_utc_iso(done);
                    }
                }
                self.next_wake = None;
                return Ok(true);
            }
            let epoch: i64 = match first_kv(&st, "NEXT_ATTEMPT_EPOCH").parse() {
                Ok(e) if e > 0 => e,
                _ => return Ok(false),
            };
            let now = time::now_epoch();
            let since = *started.get_or_insert_with(|| {
                self.wait_count += 1;
                self.wait_started_at = time::epoch_to_utc_iso(now);
                now
            });
            if now - since >= i64::try_from(self.s.settings.provider_max_wait_seconds).unwrap_or(0)
            {
                return Ok(false);
            }
            self.provider_waited = true;
            self.next_wake = Some((epoch, first_kv(&st, "NEXT_ATTEMPT_AT").to_string()));
            self.write_state("waiting-provider", Some("provider-cooldown"))?;
            let poll = i64::try_from(self.s.settings.poll_seconds).unwrap_or(60);
            let remaining = epoch - now;
            let secs = if remaining > 0 && remaining < poll {
                remaining
            } else {
                poll
            };
            self.nap(Duration::from_secs(u64::try_from(secs.max(1)).unwrap_or(1)))?;
        }
    }

    /// Sleeps (`waiting-due`) until `target`.
    fn sleep_until_due(&mut self, target: i64) -> anyhow::Result<()> {
        loop {
            let now = time::now_epoch();
            if target <= now {
                return Ok(());
            }
            let poll = i64::try_from(self.s.settings.poll_seconds).unwrap_or(60);
            let secs = (target - now).min(poll);
            self.write_state("waiting-due", None)?;
            self.nap(Duration::from_secs(u64::try_from(secs).unwrap_or(1)))?;
        }
    }
}

impl Controller<'_> {
    fn mark_issue_running(&self) {
        let env = &self.s.env;
        let heavy = self
            .hooks
            .yes_no(env, "heartbeat_issue_is_heavy", &self.issue_id)
            .unwrap_or(false);
        let heavy = if heavy { "yes" } else { "no" };
        self.hooks.notify(
            env,
            "heartbeat_mark_issue_running",
            &[&self.issue_id, heavy],
        );
    }

    /// `start-issue-worker.sh <id> <mode>`; whether it succeeded.
    fn start_worker(&mut self) -> anyhow::Result<bool> {
        let mut cmd = self.s.tool_command(&self.s.env, "start-issue-worker.sh");
        cmd.args([&self.issue_id, &self.s.mode]);
        match dispatch::output(&mut cmd) {
            Ok(out) => {
                self.err.write_all(&out.stderr)?;
                Ok(out.status.success())
            }
            Err(e) => {
                writeln!(self.err, "start-resident-issue-loop.sh: {e:#}")?;
                Ok(false)
            }
        }
    }

    /// Waits for the worker's tmux session to appear and to end, then
    /// reconciles it until a terminal status. `Err(reason)` when the cycle
    /// failed.
    fn wait_for_worker_cycle(&mut self) -> anyhow::Result<Result<(), String>> {
        let tmux = acp_core::tmux::Tmux::new(&self.s.env, None);
        let settings = self.s.settings.clone();
        let mut seen = false;
        for _ in 0..settings.session_appear_attempts.max(1) {
            if tmux.has_session(&self.session) {
                seen = true;
                break;
            }
            self.nap(settings.session_appear_pause)?;
        }
        if !seen {
            return Ok(Err("launch-no-session".into()));
        }
        self.write_state("waiting-worker", None)?;
        let started = time::now_epoch();
        let limit = i64::try_from(settings.worker_timeout_seconds).unwrap_or(i64::MAX);
        while tmux.has_session(&self.session) {
            if time::now_epoch() - started >= limit {
                return Ok(Err("worker-timeout".into()));
            }
            self.nap(settings.worker_poll)?;
        }
        self.write_state("reconciling", None)?;
        for _ in 0..settings.reconcile_attempts {
            let mut cmd = self
                .s
                .tool_command(&self.s.env, "reconcile-issue-worker.sh");
            cmd.arg(&self.session);
            let out = dispatch::output(&mut cmd)?;
            let text = merged(&out);
            if !out.status.success() {
                writeln!(self.err, "{}", text.trim_end())?;
                return Ok(Err("reconcile-failed".into()));
            }
            match first_kv(&text, "STATUS") {
                "SUCCEEDED" | "FAILED" | "" => return Ok(Ok(())),
                "RUNNING" => {
                    self.write_state("reconciling", Some("worker-still-finalizing"))?;
                    self.nap(settings.reconcile_pause)?;
                }
                other => {
                    writeln!(self.err, "{}", text.trim_end())?;
                    return Ok(Err(format!("reconcile-non-terminal-{other}")));
                }
            }
        }
        Ok(Err("reconcile-timeout".into()))
    }

    /// `LAST_FAILURE_REASON` of the lane's metadata (parsed, never sourced).
    fn last_failure_reason(&self) -> String {
        acp_core::envfile::read_lenient(&self.meta_file())
            .ok()
            .and_then(|m| m.get("LAST_FAILURE_REASON").cloned())
            .map(|v| v.to_string_lossy().trim().to_string())
            .unwrap_or_default()
    }
}

impl Controller<'_> {
    /// One pass of the loop, up to launching.
    fn iterate(&mut self) -> anyhow::Result<Next> {
        let issue = self.issue_view(&self.issue_id.clone());
        if !issue.open {
            return self.adopt_or_wait("issue-closed");
        }
        let scheduled = issue.interval > 0;
        self.refresh_execution_context();
        self.refresh_lane(issue.interval);
        self.track_provider_selection("provider-selection");
        self.write_state("starting", None)?;
        if self.yield_to_live_lane_peer()? {
            return Ok(Next::Stop);
        }
        if !issue.keep_open && !scheduled {
            return self.adopt_or_wait("resident-ineligible");
        }
        if self.has_open_agent_pr(&self.issue_id) {
            if self.adopt_next()? {
                return Ok(Next::Continue);
            }
            self.reason = "open-agent-pr".into();
            if self.wait_for_lease()? {
                return Ok(Next::Continue);
            }
            self.write_state("waiting-open-pr", None)?;
            return Ok(Next::Stop);
        }
        if scheduled && let Some((due, _)) = self.next_wake.clone() {
            self.sleep_until_due(due)?;
        }
        self.next_wake = None;
        if !self.wait_for_provider_capacity()? {
            self.reason = "provider-unavailable".into();
            return Ok(Next::Stop);
        }
        if self.provider_waited {
            self.reason = "provider-ready".into();
            return Ok(Next::Continue);
        }
        self.launch_cycle(issue.interval)
    }

    /// Launch, wait, reconcile, and decide what comes next.
    fn launch_cycle(&mut self, interval: u64) -> anyhow::Result<Next> {
        self.write_state("launching", None)?;
        self.mark_issue_running();
        if !self.start_worker()? {
            self.hooks.notify(
                &self.s.env,
                "heartbeat_issue_launch_failed",
                &[&self.issue_id],
            );
            self.reason = "launch-failed".into();
            return Ok(Next::Stop);
        }
        self.mark_provider_launched();
        if let Err(reason) = self.wait_for_worker_cycle()? {
            self.reason = reason;
            return Ok(Next::Stop);
        }
        self.loop_count += 1;
        if self.last_failure_reason() == "provider-quota-limit" {
            self.refresh_execution_context();
            self.refresh_lane(interval);
            self.track_provider_selection("provider-failover");
            if !self.wait_for_provider_capacity()? {
                self.reason = "provider-unavailable".into();
                return Ok(Next::Stop);
            }
            self.reason = "provider-failover".into();
            return Ok(Next::Continue);
        }
        let issue = self.issue_view(&self.issue_id.clone());
        if !issue.open {
            return self.adopt_or_wait("issue-closed");
        }
        if issue.blocked {
            return self.adopt_or_wait("issue-blocked");
        }
        if self.has_open_agent_pr(&self.issue_id) {
            return self.adopt_or_wait("open-agent-pr");
        }
        if interval > 0 {
            return self.after_scheduled_cycle(interval);
        }
        if self
            .s
            .settings
            .max_immediate_cycles
            .is_some_and(|m| self.loop_count >= m)
        {
            return self.adopt_or_wait("max-immediate-cycles");
        }
        self.write_state("idle", None)?;
        Ok(Next::Continue)
    }

    /// Records the next due time and sleeps until it (`sleeping`, no
    /// pending-launch file); after the scheduled-cycle bound the controller
    /// stops and the heartbeat starts the next one when due (F13).
    fn after_scheduled_cycle(&mut self, interval: u64) -> anyhow::Result<Next> {
        self.record_scheduled_next_due(interval)?;
        self.write_state("sleeping", None)?;
        self.scheduled_cycles += 1;
        if self.scheduled_cycles >= self.s.settings.max_scheduled_cycles {
            self.reason = "max-scheduled-cycles".into();
            return Ok(Next::Stop);
        }
        if let Some((due, _)) = self.next_wake.clone() {
            let wait = due - time::now_epoch();
            if wait > 0 {
                self.nap(Duration::from_secs(u64::try_from(wait).unwrap_or(0)))?;
            }
        }
        Ok(Next::Continue)
    }

    fn run_loop(&mut self) -> anyhow::Result<()> {
        let mut warned = false;
        for _ in 0..self.s.settings.max_iterations {
            let next = self.iterate()?;
            if self.hooks.unsourced.get() && !warned {
                warned = true;
                writeln!(
                    self.err,
                    "start-resident-issue-loop.sh: {} could not be sourced; its hooks are not asked",
                    self.hooks.file.display()
                )?;
            }
            if next == Next::Stop {
                return Ok(());
            }
        }
        self.reason = "max-iterations".into();
        Ok(())
    }
}

/// The whole controller: the plain worker when the lane cannot be
/// resident, else the loop, and `stopped` at the end whatever happened.
pub fn run(setup: Setup, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<i32> {
    for dir in [
        setup.state_root.join("scheduled-issues"),
        setup.pending_dir.clone(),
    ] {
        acp_core::fsx::create_dir_all(&dir)?;
    }
    let mut c = Controller::new(setup, err);
    c.refresh_execution_context();
    if !backend_supported(&c.coding_worker) || !c.s.settings.enabled {
        let mut cmd = c.s.tool_command(&c.s.env, "start-issue-worker.sh");
        cmd.args([&c.issue_id, &c.s.mode]);
        let o = dispatch::output(&mut cmd)?;
        out.write_all(&o.stdout)?;
        c.err.write_all(&o.stderr)?;
        return Ok(acp_core::process::exit_code(o.status));
    }
    if c.s.reap_orphans {
        become_subreaper();
    }
    let result = c.run_loop();
    let failure = match result {
        Ok(()) => None,
        Err(e) if e.is::<Interrupted>() => {
            c.reason = "interrupted".into();
            None
        }
        Err(e) => Some(e),
    };
    if c.reason.is_empty() {
        c.reason = "terminated".into();
    }
    let reason = c.reason.clone();
    c.write_state("stopped", Some(&reason))?;
    match failure {
        Some(e) => Err(e),
        None => Ok(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_kv_takes_the_first_line() {
        assert_eq!(
            first_kv("A=1\nSTATUS=RUNNING\nSTATUS=FAILED\n", "STATUS"),
            "RUNNING"
        );
        assert_eq!(first_kv("STATUSX=1\n", "STATUS"), "");
    }
}
