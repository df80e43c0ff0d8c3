//! `heartbeat-recovery-preflight.sh`: the heartbeat's self-test gate
//! (spec 3.3), run by `heartbeat-safe-auto.sh` when
//! `ACP_HEARTBEAT_PREFLIGHT_ONLY=1`. It runs the curated list of package
//! tests from `<package root>/tools/tests/` one by one, each bounded by
//! `F_LOSNING_HEARTBEAT_PREFLIGHT_TEST_TIMEOUT_SECONDS` (or its `ACP_`
//! twin, 120), and stops at the first failure with its status.
//!
//! The original named 42 scripts that had to exist; an installed tree of
//! this port ships no shell tests, so a test of the list that is not
//! present is reported as skipped (one line) instead of failing the gate.
//! `HEARTBEAT_PREFLIGHT_OK` then means "every present test passed".

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use acp_core::{Invocation, ToolSpec};
use acp_flow::auto::child;

const NAME: &str = "heartbeat-recovery-preflight.sh";

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: NAME,
    aliases: &["heartbeat-recovery-preflight"],
    paths: &["tools/bin/heartbeat-recovery-preflight.sh"],
    about: "Run the heartbeat's self-test gate (the package tests that are present)",
    command,
    run,
}];

/// The gate's tests: `(label, file under tools/tests)`, in order.
pub const TESTS: &[(&str, &str)] = &[
    ("codex-recovery", "test-agent-project-codex-recovery.sh"),
    (
        "codex-quota-manager-failure-driven-rotation",
        "test-codex-quota-manager-failure-driven-rotation.sh",
    ),
    ("codex-quota-wrapper", "test-codex-quota-wrapper.sh"),
    (
        "codex-quota-resolvers",
        "test-flow-resolve-codex-quota-tools.sh",
    ),
    (
        "codex-live-thread-persist",
        "test-agent-project-codex-live-thread-persist.sh",
    ),
    (
        "reconcile-failure-reason",
        "test-agent-project-reconcile-failure-reason.sh",
    ),
    (
        "reconcile-pr-updated-branch-noop",
        "test-agent-project-reconcile-pr-updated-branch-noop.sh",
    ),
    (
        "reconcile-pr-guard-blocked-no-commit",
        "test-agent-project-reconcile-pr-guard-blocked-no-commit.sh",
    ),
    (
        "reconcile-pr-blocked-host-recovery",
        "test-agent-project-reconcile-pr-blocked-host-recovery.sh",
    ),
    (
        "branch-verification-guard-targeted-coverage",
        "test-branch-verification-guard-targeted-coverage.sh",
    ),
    (
        "branch-verification-guard-generated-artifacts",
        "test-branch-verification-guard-generated-artifacts.sh",
    ),
    (
        "codex-session-wrapper",
        "test-agent-project-codex-session-wrapper.sh",
    ),
    (
        "openclaw-session-wrapper",
        "test-agent-project-openclaw-session-wrapper.sh",
    ),
    (
        "cleanup-session-orphan-fallback",
        "test-agent-project-cleanup-session-orphan-fallback.sh",
    ),
    (
        "heartbeat-no-tmux-sessions",
        "test-heartbeat-safe-auto-no-tmux-sessions.sh",
    ),
    (
        "heartbeat-static-capacity-without-quota-cache",
        "test-heartbeat-safe-auto-static-capacity-without-quota-cache.sh",
    ),
    (
        "heartbeat-openclaw-skips-codex-quota",
        "test-heartbeat-safe-auto-openclaw-skips-codex-quota.sh",
    ),
    (
        "heartbeat-empty-schedule-label-sync",
        "test-heartbeat-sync-issue-labels-empty-schedule.sh",
    ),
    (
        "heartbeat-open-issue-terminal-sync",
        "test-heartbeat-sync-open-agent-issues-terminal-clears-running.sh",
    ),
    (
        "heartbeat-open-pr-terminal-sync",
        "test-heartbeat-sync-open-agent-prs-terminal-clears-running.sh",
    ),
    (
        "heartbeat-pr-launch-dedup",
        "test-heartbeat-loop-pr-launch-dedup.sh",
    ),
    (
        "heartbeat-auth-wait-capacity",
        "test-heartbeat-loop-auth-wait-does-not-consume-capacity.sh",
    ),
    (
        "heartbeat-blocked-recovery-ready",
        "test-heartbeat-ready-issues-blocked-recovery.sh",
    ),
    (
        "heartbeat-blocked-recovery-lane",
        "test-heartbeat-loop-blocked-recovery-lane.sh",
    ),
    (
        "heartbeat-blocked-recovery-vs-pr-reservation",
        "test-heartbeat-loop-blocked-recovery-vs-pr-reservation.sh",
    ),
    (
        "heartbeat-codex-pr-linked-issue-exclusion",
        "test-heartbeat-codex-pr-linked-issue-exclusion.sh",
    ),
    ("create-follow-up-issue", "test-create-follow-up-issue.sh"),
    (
        "issue-local-workspace-install-policy",
        "test-issue-local-workspace-install-policy.sh",
    ),
    (
        "issue-publish-scope-guard-docs-signal",
        "test-issue-publish-scope-guard-docs-signal.sh",
    ),
    (
        "issue-before-blocked-hook",
        "test-agent-project-reconcile-issue-before-blocked.sh",
    ),
    (
        "start-issue-worker-local-install-routing",
        "test-start-issue-worker-local-install-routing.sh",
    ),
    (
        "start-issue-worker-blocked-context",
        "test-start-issue-worker-blocked-context.sh",
    ),
    (
        "start-pr-fix-worker-host-blocker-context",
        "test-start-pr-fix-worker-host-blocker-context.sh",
    ),
    (
        "run-codex-task-openclaw-routing",
        "test-run-codex-task-openclaw-routing.sh",
    ),
    (
        "pr-risk-local-first-no-checks",
        "test-pr-risk-local-first-no-checks.sh",
    ),
    (
        "pr-risk-fix-label-semantics",
        "test-pr-risk-fix-label-semantics.sh",
    ),
    (
        "sync-pr-labels-fix-lane-uses-repair-queued",
        "test-sync-pr-labels-fix-lane-uses-repair-queued.sh",
    ),
    (
        "audit-broken-worktree-cleanup",
        "test-audit-agent-worktrees-broken-worktree.sh",
    ),
    (
        "audit-active-launch-skip",
        "test-audit-agent-worktrees-active-launch-skips-git-inspection.sh",
    ),
    (
        "audit-pending-launch-owner",
        "test-audit-agent-worktrees-pending-launch-owner.sh",
    ),
    (
        "audit-unreconciled-owner",
        "test-audit-agent-worktrees-unreconciled-owner.sh",
    ),
];

/// The argument parser (no arguments; for `--help`).
pub fn command() -> clap::Command {
    acp_core::cli::tool_command(
        NAME,
        "Runs the heartbeat's self-test gate: each test of its list that is present under \
         <package root>/tools/tests runs bounded by \
         F_LOSNING_HEARTBEAT_PREFLIGHT_TEST_TIMEOUT_SECONDS (120; ACP_ twin too); the first \
         failure ends the gate with its status, a timeout also prints \
         HEARTBEAT_PREFLIGHT_TIMEOUT=<name>. Prints HEARTBEAT_PREFLIGHT_OK when every present \
         test passed; absent tests are reported as skipped.",
    )
    .override_usage(NAME)
}

fn stamp() -> String {
    acp_core::time::now_utc_iso()
}

/// Runs `heartbeat-recovery-preflight.sh`.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if acp_core::cli::first_is_help(args) {
        write!(ctx.stdout, "{}", acp_core::cli::usage(&command()))?;
        return Ok(0);
    }
    // The original's TEST_DIR: `${FLOW_TOOLS_DIR%/bin}/tests`.
    let tools_dir = ctx.script_dir().unwrap_or_else(|| PathBuf::from("."));
    let test_dir = if tools_dir.file_name().is_some_and(|n| n == "bin") {
        tools_dir.with_file_name("tests")
    } else {
        tools_dir.join("tests")
    };
    let timeout = ctx
        .env
        .first_non_empty(&[
            "F_LOSNING_HEARTBEAT_PREFLIGHT_TEST_TIMEOUT_SECONDS",
            "ACP_HEARTBEAT_PREFLIGHT_TEST_TIMEOUT_SECONDS",
        ])
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(Duration::from_secs(120), Duration::from_secs_f64);
    acp_core::process::install_termination_handler()?;
    for (label, file) in TESTS {
        let script = test_dir.join(file);
        if !script.is_file() {
            writeln!(
                ctx.stdout,
                "[{}] heartbeat preflight skip name={label} missing={}",
                stamp(),
                script.display()
            )?;
            continue;
        }
        writeln!(
            ctx.stdout,
            "[{}] heartbeat preflight start name={label}",
            stamp()
        )?;
        let mut cmd = std::process::Command::new("bash");
        cmd.arg(&script);
        ctx.env.apply(&mut cmd);
        cmd.current_dir(&ctx.cwd);
        let ended = child::run(
            &mut cmd,
            timeout,
            acp_core::process::DEFAULT_GRACE,
            None,
            ctx.stdout,
            ctx.stderr,
        )?;
        if ended.code == acp_core::process::TIMEOUT_EXIT {
            writeln!(ctx.stdout, "HEARTBEAT_PREFLIGHT_TIMEOUT={label}")?;
        }
        writeln!(
            ctx.stdout,
            "[{}] heartbeat preflight end name={label} status={}",
            stamp(),
            ended.code
        )?;
        if ended.code != 0 || ended.stopped {
            return Ok(if ended.code == 0 { 1 } else { ended.code });
        }
    }
    writeln!(ctx.stdout, "HEARTBEAT_PREFLIGHT_OK")?;
    Ok(0)
}
