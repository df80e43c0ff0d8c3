//! Failure reasons of issue runs: normalisation, runtime signatures of a
//! session log, the reason a blocker comment states, the reason a publish
//! failure names. The patterns match text written by agents and tools, so
//! they stay as the original matched them.

use std::path::{Path, PathBuf};

use regex::{Regex, RegexBuilder};

/// The reason a provider quota hit is reported under.
pub const PROVIDER_QUOTA_LIMIT: &str = "provider-quota-limit";
/// The reason of a blocker whose cause is unknown.
pub const ISSUE_WORKER_BLOCKED: &str = "issue-worker-blocked";

/// codex's quota and account-switch reasons become `provider-quota-limit`;
/// other backends keep their reason.
pub fn normalize_failure_reason(reason: &str, coding_worker: &str) -> String {
    let quota = matches!(
        reason,
        "usage-limit" | "quota-switch-deferred" | "quota-switch-attempt-limit"
    );
    if quota && coding_worker == "codex" {
        PROVIDER_QUOTA_LIMIT.to_string()
    } else {
        reason.to_string()
    }
}

/// The session log of a run: `<run dir>/<session>.log`, else the last
/// `*.log` in the run dir by name.
pub fn session_log(run_dir: &Path, session: &str) -> Option<PathBuf> {
    let own = run_dir.join(format!("{session}.log"));
    if own.is_file() {
        return Some(own);
    }
    let mut logs: Vec<PathBuf> = std::fs::read_dir(run_dir)
        .ok()?
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    logs.sort();
    logs.pop()
}

/// When the provider's quota comes back, as the session's log (its last
/// 256 KiB) states it (`try again at 3:05 PM`, `resets in 2h 13m`, ...;
/// [`acp_core::classify::reset`]); `None` when it says nothing usable.
/// Times of day are read in the zone `tz` names (`TZ`), else the system's.
pub fn quota_reset_epoch(run_dir: &Path, session: &str, now: i64, tz: Option<&str>) -> Option<i64> {
    let log = session_log(run_dir, session)?;
    let bytes = acp_core::fsx::read_capped(&log, 64 << 20).ok()?;
    let tail = &bytes[bytes.len().saturating_sub(256 << 10)..];
    acp_core::classify::reset::reset_epoch_local(&String::from_utf8_lossy(tail), now, tz)
}

fn re(pattern: &str) -> Regex {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .multi_line(true)
        .build()
        .unwrap_or_else(|_| Regex::new("$^").unwrap_or_else(|_| unreachable!()))
}

/// The runtime failure a session log shows (stall markers of the
/// supervisors, sandbox errors), in the original's order.
pub fn runtime_failure_in_log(log: &str) -> Option<&'static str> {
    const STALLS: [&str; 4] = [
        "no-codex-output-before-stall-threshold",
        "no-codex-progress-before-stall-threshold",
        "no-agent-output-before-stall-threshold",
        "no-agent-progress-before-stall-threshold",
    ];
    let lower = log.to_ascii_lowercase();
    if let Some(stall) = STALLS.iter().find(|s| lower.contains(*s)) {
        return Some(stall);
    }
    let env = re(
        r"Ignoring invalid cwd .* No such file or directory|/tmp is absolute|Custom tool call output is missing",
    );
    env.is_match(log).then_some("worker-environment-blocked")
}

/// The failure a publish attempt's output names, if it is one the host
/// turns into a blocker comment.
pub fn publish_blocker(output: &str) -> Option<&'static str> {
    const TABLE: [(&str, &str); 4] = [
        ("Scope guard blocked issue", "scope-guard-blocked"),
        (
            "Verification guard blocked branch publication.",
            "verification-guard-blocked",
        ),
        (
            "Localization guard blocked branch publication.",
            "localization-guard-blocked",
        ),
        ("has no commits ahead of", "no-publishable-commits"),
    ];
    TABLE
        .iter()
        .find(|(needle, _)| output.contains(needle))
        .map(|(_, reason)| *reason)
}

/// Phrasings of a worker saying the required verification did not pass.
const VERIFICATION_PHRASES: &[&str] = &[
    r"required (?:issue-contract )?verification does not currently pass",
    r"Because the required `pnpm typecheck` did not pass",
    r"- BLOCKED `pnpm typecheck`",
    r"pnpm typecheck(?:`)? fails in unrelated existing file",
    r"Blocked on required root verification",
    r"required root (?:verification command|`pnpm test`)",
    r"pnpm test` is currently failing outside this",
    r"The required root test command failed",
    r"did not commit because the issue contract requires verification to pass",
];

/// Phrasings of a worker whose sandbox or local services failed it.
const ENVIRONMENT_PHRASES: &[&str] = &[
    r"I’m blocked on the environment, not the issue scope",
    r"Every local execution path I need for this cycle is failing immediately with `aborted`",
    r"outside this session['’]s writable sandbox",
    r"could not write to the host-required `\$ACP_RUN_DIR`",
    r"cannot access local infrastructure from this sandbox",
    r"sandbox socket connection errors",
    r"connect EPERM 127\.0\.0\.1:6379",
    r"local Postgres/Redis services",
    r"worker can(?:not|'t) connect to the local test Postgres and Redis services",
];

fn any(body: &str, patterns: &[&str]) -> bool {
    patterns.iter().any(|p| re(p).is_match(body))
}

/// The reason a blocked run is retried under: `current` unless it is empty
/// or the generic `issue-worker-blocked`; then what the blocker comment
/// says (an explicit ``Failure reason:`` bullet, a host heading, or a
/// worker's own phrasing), else `issue-worker-blocked`.
pub fn blocked_reason(current: &str, comment: &str) -> String {
    if !current.is_empty() && current != ISSUE_WORKER_BLOCKED {
        return current.to_string();
    }
    reason_in_comment(comment)
        .unwrap_or(ISSUE_WORKER_BLOCKED)
        .to_string()
}

fn reason_in_comment(body: &str) -> Option<&str> {
    if let Some(c) = re(r"Failure reason:\s*[\r\n]+-\s*`([^`]+)`").captures(body) {
        return c.get(1).map(|m| m.as_str());
    }
    let heading = |h: &str| re(&format!("^# Blocker: {h}$")).is_match(body);
    if heading("Verification requirements were not satisfied") {
        return Some("verification-guard-blocked");
    }
    if heading("Localization requirements were not satisfied") {
        return Some("localization-guard-blocked");
    }
    if any(body, VERIFICATION_PHRASES) {
        return Some("verification-guard-blocked");
    }
    if heading("(?:All checklist items already completed|Worker produced no publishable delta)") {
        return Some("no-publishable-commits");
    }
    if heading("Change scope was too broad") {
        return Some("scope-guard-blocked");
    }
    if heading("Provider quota is currently exhausted") {
        return Some(PROVIDER_QUOTA_LIMIT);
    }
    network_or_environment(body).or_else(|| heading(".*").then_some(ISSUE_WORKER_BLOCKED))
}

fn network_or_environment(body: &str) -> Option<&'static str> {
    let network = re(r"blocked on external network access").is_match(body);
    let ran = any(body, &[r"What I ran:", r"`pnpm audit`", r"`gh issue view`"]);
    let evidence = any(
        body,
        &[
            r"failed with `ENOTFOUND`",
            r"Exact failure:",
            r"registry\.npmjs\.org",
            r"api\.github\.com",
        ],
    );
    if network && ran && evidence {
        return Some("worker-preflight-network-blocked");
    }
    let other_network = [
        r"could not perform a safe offline bump",
        r"failed to reach `api\.github\.com`",
        r"failed with `ENOTFOUND`",
    ];
    if network || any(body, &other_network) {
        return Some("external-network-access-blocked");
    }
    any(body, ENVIRONMENT_PHRASES).then_some("worker-environment-blocked")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::unwrap_used)]
    fn quota_reset_from_the_session_log() {
        let t = tempfile::tempdir().unwrap();
        let now = 1_773_144_000; // 2026-03-10T12:00:00Z
        assert_eq!(quota_reset_epoch(t.path(), "s", now, Some("UTC")), None);
        std::fs::write(
            t.path().join("s.log"),
            "working\nError: 429 usage limit reached. Try again at 3:05 PM.\n",
        )
        .unwrap();
        assert_eq!(
            quota_reset_epoch(t.path(), "s", now, Some("UTC")),
            Some(now + 3 * 3600 + 300)
        );
    }

    #[test]
    fn codex_quota_reasons_are_normalised_only_for_codex() {
        assert_eq!(
            normalize_failure_reason("usage-limit", "codex"),
            PROVIDER_QUOTA_LIMIT
        );
        assert_eq!(
            normalize_failure_reason("usage-limit", "claude"),
            "usage-limit"
        );
        assert_eq!(normalize_failure_reason("x", "codex"), "x");
    }

    #[test]
    fn comments_name_their_reason() {
        let cases = [
            (
                "Failure reason:\n- `auth-refresh-timeout`\n",
                "auth-refresh-timeout",
            ),
            (
                "# Blocker: Change scope was too broad\n",
                "scope-guard-blocked",
            ),
            (
                "x\n# Blocker: Worker produced no publishable delta\n",
                "no-publishable-commits",
            ),
            ("- BLOCKED `pnpm typecheck`", "verification-guard-blocked"),
            (
                "Blocked on external network access.\n`pnpm audit` failed with `ENOTFOUND`",
                "worker-preflight-network-blocked",
            ),
            (
                "Blocked on external network access while refreshing.",
                "external-network-access-blocked",
            ),
            (
                "failed with `connect EPERM 127.0.0.1:6379`",
                "worker-environment-blocked",
            ),
            ("# Blocker: Something new\n", ISSUE_WORKER_BLOCKED),
            ("just text", ISSUE_WORKER_BLOCKED),
        ];
        for (body, want) in cases {
            assert_eq!(blocked_reason("", body), want, "{body}");
        }
        assert_eq!(
            blocked_reason(
                "scope-guard-blocked",
                "# Blocker: Change scope was too broad"
            ),
            "scope-guard-blocked"
        );
    }

    #[test]
    fn logs_and_publish_output_name_their_failure() {
        assert_eq!(
            runtime_failure_in_log("[openclaw] stale-run no-agent-progress-before-stall-threshold"),
            Some("no-agent-progress-before-stall-threshold")
        );
        assert_eq!(
            runtime_failure_in_log("/tmp is absolute: Os"),
            Some("worker-environment-blocked")
        );
        assert_eq!(runtime_failure_in_log("fine"), None);
        assert_eq!(
            publish_blocker("branch x has no commits ahead of origin/main"),
            Some("no-publishable-commits")
        );
        assert_eq!(publish_blocker("boom"), None);
    }
}
