//! Codex failure classification: one ordered table of (reason, pattern),
//! first match wins, applied to the last 120 lines the attempt wrote to the
//! log. Kept here until `acp_core::classify` carries the codex table.

use std::sync::OnceLock;

use regex::Regex;

pub const NO_OUTPUT: &str = "no-codex-output-before-stall-threshold";
pub const NO_PROGRESS: &str = "no-codex-progress-before-stall-threshold";
pub const USAGE_LIMIT: &str = "usage-limit";
pub const AUTH_401: &str = "auth-401";
pub const ACCOUNT_BANNED: &str = "account-banned";
pub const AUTH_FAILURE: &str = "auth-failure";
pub const WORKER_EXIT_FAILED: &str = "worker-exit-failed";
pub const RESUME_EXHAUSTED: &str = "resume-attempts-exhausted";
pub const SWITCH_LIMIT: &str = "quota-switch-attempt-limit";
pub const SWITCH_DEFERRED: &str = "quota-switch-deferred";
pub const AUTH_REFRESH_TIMEOUT: &str = "auth-refresh-timeout";
/// New: the overall `--timeout-seconds` limit hit.
pub const TIMEOUT: &str = "timeout";
/// The runner itself was told to stop (TERM/INT/HUP).
pub const ABORTED: &str = "runner-aborted-before-completion";

/// How many trailing lines of an attempt's output are classified.
pub const TAIL_LINES: usize = 120;

const TABLE: &[(&str, &str)] = &[
    (NO_OUTPUT, r"no-codex-output-before-stall-threshold"),
    (NO_PROGRESS, r"no-codex-progress-before-stall-threshold"),
    (
        USAGE_LIMIT,
        r"You've hit your usage limit|You have reached your Codex usage limits|visit https://chatgpt\.com/codex/settings/usage|Upgrade to Pro|rate limit exceeded|quota exceeded|usage cap (reached|exceeded)|usage quota (reached|exceeded)",
    ),
    (
        AUTH_401,
        r"(HTTP[^0-9\n]*)?401([^0-9]|$)|unauthorized|invalid credentials|invalid api key|authentication failed with status 401|received 401",
    ),
    (
        ACCOUNT_BANNED,
        r"account (is )?(banned|suspended|disabled)|access revoked|account revoked|forbidden due to policy|account blocked|policy violation",
    ),
    (
        AUTH_FAILURE,
        r"Authentication required|Please log in|Please login|Please authenticate|login required|run codex login|codex login required|logged out|not logged in|expired session|session expired|token expired|reauthenticate|unauthenticated|auth(entication)? failed|credentials expired",
    ),
];

fn compiled() -> &'static [(&'static str, Option<Regex>)] {
    static C: OnceLock<Vec<(&'static str, Option<Regex>)>> = OnceLock::new();
    C.get_or_init(|| {
        TABLE
            .iter()
            .map(|(reason, pat)| (*reason, Regex::new(&format!("(?im){pat}")).ok()))
            .collect()
    })
}

/// The last [`TAIL_LINES`] lines of `chunk`.
pub fn tail(chunk: &str) -> &str {
    let trimmed = chunk.strip_suffix('\n').unwrap_or(chunk);
    let mut count = 0;
    for (i, b) in trimmed.bytes().enumerate().rev() {
        if b == b'\n' {
            count += 1;
            if count == TAIL_LINES {
                return &trimmed[i + 1..];
            }
        }
    }
    trimmed
}

/// The failure reason for an attempt's output; `worker-exit-failed` when no
/// pattern matches and the exit code is non-zero, `None` when it is zero.
pub fn failure_reason(chunk: &str, exit_code: i32) -> Option<&'static str> {
    let recent = tail(chunk);
    for (reason, re) in compiled() {
        if re.as_ref().is_some_and(|re| re.is_match(recent)) {
            return Some(reason);
        }
    }
    (exit_code != 0).then_some(WORKER_EXIT_FAILED)
}

/// A thread and a turn started, but no item activity and no turn end: the
/// account likely never got going.
pub fn is_startup_stall(chunk: &str) -> bool {
    let recent = tail(chunk);
    recent.contains(r#""type":"thread.started""#)
        && recent.contains(r#""type":"turn.started""#)
        && !recent.contains(r#""type":"item.started""#)
        && !recent.contains(r#""type":"item.completed""#)
        && !recent.contains(r#""type":"turn.completed""#)
}

/// Reasons that send the runner into account rotation / auth wait.
pub fn is_quota_reason(reason: &str) -> bool {
    matches!(reason, USAGE_LIMIT | AUTH_401 | ACCOUNT_BANNED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_order_and_wordings() {
        assert_eq!(
            failure_reason("You've hit your usage limit.", 1),
            Some(USAGE_LIMIT)
        );
        assert_eq!(
            failure_reason("Rate limit exceeded. Usage cap reached.", 1),
            Some(USAGE_LIMIT)
        );
        assert_eq!(
            failure_reason("error: HTTP 401 Unauthorized", 1),
            Some(AUTH_401)
        );
        assert_eq!(failure_reason("status 401", 1), Some(AUTH_401));
        assert_eq!(failure_reason("code 4012", 1), Some(WORKER_EXIT_FAILED));
        assert_eq!(
            failure_reason("Your account is suspended", 1),
            Some(ACCOUNT_BANNED)
        );
        assert_eq!(
            failure_reason("Please authenticate first. Login required.", 1),
            Some(AUTH_FAILURE)
        );
        assert_eq!(failure_reason("all good", 0), None);
        assert_eq!(
            failure_reason(
                "[t] stale-run no-codex-output-before-stall-threshold elapsed=2s\nquota exceeded",
                143
            ),
            Some(NO_OUTPUT)
        );
    }

    #[test]
    fn only_the_last_120_lines_count() {
        let mut chunk = String::from("You've hit your usage limit\n");
        for _ in 0..120 {
            chunk.push_str("noise\n");
        }
        assert_eq!(failure_reason(&chunk, 1), Some(WORKER_EXIT_FAILED));
        let mut chunk = String::from("x\nYou've hit your usage limit\n");
        for _ in 0..119 {
            chunk.push_str("noise\n");
        }
        assert_eq!(failure_reason(&chunk, 1), Some(USAGE_LIMIT));
    }

    #[test]
    fn startup_stall_shape() {
        let a = "{\"type\":\"thread.started\",\"thread_id\":\"t\"}\n{\"type\":\"turn.started\"}\n";
        assert!(is_startup_stall(a));
        let b = format!("{a}{{\"type\":\"item.started\"}}\n");
        assert!(!is_startup_stall(&b));
        assert!(!is_startup_stall("{\"type\":\"turn.started\"}\n"));
    }
}
