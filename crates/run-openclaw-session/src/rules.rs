//! The openclaw failure rules as one ordered table.
//!
//! Each rule names a failure reason, the pattern that recognises it in the
//! agent's output, whether seeing it while the agent runs ends the run at
//! once (the provider will not recover by waiting), and whether a resident
//! agent is reset and retried once when it is the reason a run failed.
//! The first rule whose pattern matches wins.

use std::sync::OnceLock;

use regex::{Regex, RegexBuilder};

pub const VERSION_MISMATCH: &str = "openclaw-version-mismatch";
pub const AUTH_FAILURE: &str = "auth-failure";
pub const PROVIDER_QUOTA: &str = "provider-quota-limit";
pub const MODEL_UNAVAILABLE: &str = "model-unavailable";
pub const CONTEXT_LENGTH: &str = "context-length-exceeded";
pub const NO_OUTPUT_STALL: &str = "no-agent-output-before-stall-threshold";
pub const NO_PROGRESS_STALL: &str = "no-agent-progress-before-stall-threshold";
pub const TIMEOUT: &str = "timeout";
pub const EXIT_FAILED: &str = "openclaw-exit-failed";
pub const CONFIG_SYNC_FAILED: &str = "openclaw-config-sync-failed";

/// One row of the table.
#[derive(Debug)]
pub struct Rule {
    pub reason: &'static str,
    /// Case-insensitive, matched line by line (`.` never crosses a newline).
    pub pattern: &'static str,
    /// Seeing the pattern in live output kills the agent's process group.
    pub terminal: bool,
    /// A resident (`--keep-agent`) agent is rebuilt from scratch and the run
    /// retried once when this is why it failed.
    pub resident_reset_retry: bool,
}

/// The table, in priority order. Compared with 0.2.0 the patterns are
/// anchored on word boundaries: a bare `429` inside `PR #4291` or an issue
/// number is not a quota error, and `timeout` must be a word of its own.
pub const RULES: &[Rule] = &[
    Rule {
        reason: VERSION_MISMATCH,
        pattern: r"Config was last written by a newer OpenClaw",
        terminal: true,
        resident_reset_retry: true,
    },
    Rule {
        reason: AUTH_FAILURE,
        pattern: r"invalid api key|authentication failed|\bunauthorized\b|provider api key|login required|please authenticate|api_key_invalid",
        terminal: true,
        resident_reset_retry: false,
    },
    Rule {
        reason: PROVIDER_QUOTA,
        pattern: r"rate limit exceeded|quota exceeded|usage limit|insufficient credits|payment required|too many requests|(?:^|[^#\w])429\b",
        terminal: true,
        resident_reset_retry: false,
    },
    Rule {
        reason: MODEL_UNAVAILABLE,
        pattern: r"model not found|model .* not available|unsupported model|invalid model",
        terminal: true,
        resident_reset_retry: false,
    },
    Rule {
        reason: CONTEXT_LENGTH,
        pattern: r"context length exceeded|token limit|maximum context|too many tokens",
        terminal: true,
        resident_reset_retry: false,
    },
    Rule {
        reason: NO_OUTPUT_STALL,
        pattern: r"no-agent-output-before-stall-threshold",
        terminal: false,
        resident_reset_retry: false,
    },
    Rule {
        reason: NO_PROGRESS_STALL,
        pattern: r"no-agent-progress-before-stall-threshold",
        terminal: false,
        resident_reset_retry: false,
    },
    Rule {
        reason: TIMEOUT,
        pattern: r"\btimeout\b|timed out|ETIMEDOUT|ECONNREFUSED",
        terminal: false,
        resident_reset_retry: false,
    },
];

fn compiled() -> &'static [(usize, Regex)] {
    static CELL: OnceLock<Vec<(usize, Regex)>> = OnceLock::new();
    CELL.get_or_init(|| {
        RULES
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                RegexBuilder::new(r.pattern)
                    .case_insensitive(true)
                    .multi_line(true)
                    .build()
                    .ok()
                    .map(|re| (i, re))
            })
            .collect()
    })
}

/// The first rule matching `text`, if any.
pub fn matching_rule(text: &str) -> Option<&'static Rule> {
    compiled()
        .iter()
        .find(|(_, re)| re.is_match(text))
        .map(|(i, _)| &RULES[*i])
}

/// The failure reason for a failed run whose output is `text`.
pub fn classify(text: &str) -> &'static str {
    matching_rule(text).map_or(EXIT_FAILED, |r| r.reason)
}

/// The terminal rule matching live output `text`, if any.
pub fn terminal_match(text: &str) -> Option<&'static Rule> {
    compiled()
        .iter()
        .filter(|(i, _)| RULES[*i].terminal)
        .find(|(_, re)| re.is_match(text))
        .map(|(i, _)| &RULES[*i])
}

/// Whether a resident agent that failed for `reason` is reset and retried.
pub fn resets_resident(reason: &str) -> bool {
    RULES
        .iter()
        .any(|r| r.reason == reason && r.resident_reset_retry)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles() {
        assert_eq!(compiled().len(), RULES.len());
    }

    #[test]
    fn first_matching_rule_wins() {
        let log =
            "Config was last written by a newer OpenClaw (2026.3.23-2)\n429 too many requests\n";
        assert_eq!(classify(log), VERSION_MISMATCH);
        assert_eq!(classify("HTTP 401 Unauthorized\n429\n"), AUTH_FAILURE);
        assert_eq!(
            classify("429 Provider returned error x is temporarily rate-limited upstream."),
            PROVIDER_QUOTA
        );
        assert_eq!(classify("Error: Model not found: x/y"), MODEL_UNAVAILABLE);
        assert_eq!(
            classify("the model foo is not available now"),
            MODEL_UNAVAILABLE
        );
        assert_eq!(classify("Maximum context reached"), CONTEXT_LENGTH);
        assert_eq!(
            classify("[openclaw] stale-run no-agent-output-before-stall-threshold elapsed=2s"),
            NO_OUTPUT_STALL
        );
        assert_eq!(
            classify(
                "[openclaw] stale-run no-agent-progress-before-stall-threshold elapsed=3s idle=2s"
            ),
            NO_PROGRESS_STALL
        );
        assert_eq!(classify("request timed out"), TIMEOUT);
        assert_eq!(classify("connect ECONNREFUSED 127.0.0.1"), TIMEOUT);
        assert_eq!(classify("something else broke"), EXIT_FAILED);
        assert_eq!(classify(""), EXIT_FAILED);
    }

    #[test]
    fn numbers_and_words_that_merely_contain_a_pattern_do_not_match() {
        assert_eq!(classify("opened PR #4291 for review"), EXIT_FAILED);
        assert_eq!(classify("see PR #429"), EXIT_FAILED);
        assert_eq!(classify("issue 14290 fixed"), EXIT_FAILED);
        assert_eq!(classify("setTimeoutHandler renamed"), EXIT_FAILED);
        assert_eq!(classify("status: 429"), PROVIDER_QUOTA);
        assert_eq!(classify("(429) slow down"), PROVIDER_QUOTA);
    }

    #[test]
    fn only_provider_errors_are_terminal() {
        assert!(terminal_match("RATE LIMIT EXCEEDED").is_some());
        assert!(terminal_match("no-agent-output-before-stall-threshold").is_none());
        assert!(terminal_match("timed out").is_none());
        assert!(resets_resident(VERSION_MISMATCH));
        assert!(!resets_resident(AUTH_FAILURE));
        assert!(!resets_resident(EXIT_FAILED));
    }
}
