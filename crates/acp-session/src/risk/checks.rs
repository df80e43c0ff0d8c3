//! A PR's status checks: the rollup (check runs and commit status
//! contexts) as pending and failed lists, and the bypass for failures that
//! only the CI provider's billing caused.

use std::sync::LazyLock;

use regex::Regex;

use super::managed::re;

/// One entry of a PR's `statusCheckRollup`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum RollupCheck {
    /// A commit status (`__typename` `StatusContext`): a context and a state.
    Status { context: String, state: String },
    /// A check run: its name (or workflow name), status and conclusion.
    Run {
        name: String,
        status: String,
        conclusion: String,
    },
    /// An entry with no usable type (treated as a check run without data).
    #[default]
    Unknown,
}

/// A check run as the REST API lists it for a commit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckRun {
    pub status: String,
    pub conclusion: String,
    pub annotations_url: String,
    pub annotations_count: u64,
}

impl CheckRun {
    /// Completed with a conclusion other than success or skipped.
    pub fn failed(&self) -> bool {
        self.status.eq_ignore_ascii_case("completed") && !passing(&self.conclusion.to_uppercase())
    }

    /// Whether its annotations are worth reading (it failed and has some).
    pub fn wants_annotations(&self) -> bool {
        self.failed() && !self.annotations_url.is_empty() && self.annotations_count > 0
    }
}

fn passing(conclusion_upper: &str) -> bool {
    conclusion_upper == "SUCCESS" || conclusion_upper == "SKIPPED"
}

/// The rollup as `name:status-x` pending entries and `name:conclusion-y`
/// failures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckSummary {
    pub reported: usize,
    pub pending: Vec<String>,
    pub failures: Vec<String>,
}

impl CheckSummary {
    pub fn of(rollup: &[RollupCheck]) -> Self {
        let mut out = Self {
            reported: rollup.len(),
            ..Self::default()
        };
        for check in rollup {
            let n = Normalized::of(check);
            if n.status != "COMPLETED" {
                let raw = or_unknown(&n.raw_status);
                out.pending.push(format!("{}:{}-{raw}", n.name, n.field));
            } else if !passing(&n.conclusion) {
                let c = or_unknown(&n.conclusion.to_lowercase());
                out.failures.push(format!("{}:conclusion-{c}", n.name));
            }
        }
        out
    }
}

fn or_unknown(s: &str) -> String {
    if s.is_empty() {
        "unknown".into()
    } else {
        s.into()
    }
}

/// A rollup entry in one shape: a status context's state becomes a
/// completed status with a conclusion.
struct Normalized {
    name: String,
    status: String,
    conclusion: String,
    field: &'static str,
    raw_status: String,
}

impl Normalized {
    fn of(check: &RollupCheck) -> Self {
        match check {
            RollupCheck::Status { context, state } => {
                let up = state.to_uppercase();
                let done = matches!(up.as_str(), "SUCCESS" | "FAILURE" | "ERROR");
                Self {
                    name: non_empty(context, "status-context"),
                    status: if done { "COMPLETED".into() } else { up.clone() },
                    conclusion: match up.as_str() {
                        "SUCCESS" => "SUCCESS".into(),
                        "FAILURE" | "ERROR" => "FAILURE".into(),
                        _ => String::new(),
                    },
                    field: "state",
                    raw_status: state.to_lowercase(),
                }
            }
            RollupCheck::Run {
                name,
                status,
                conclusion,
            } => Self {
                name: non_empty(name, "check-run"),
                status: status.to_uppercase(),
                conclusion: conclusion.to_uppercase(),
                field: "status",
                raw_status: status.to_lowercase(),
            },
            RollupCheck::Unknown => Self {
                name: "check-run".into(),
                status: String::new(),
                conclusion: String::new(),
                field: "status",
                raw_status: String::new(),
            },
        }
    }
}

fn non_empty(s: &str, default: &str) -> String {
    if s.is_empty() {
        default.into()
    } else {
        s.into()
    }
}

/// Annotation texts that mean the CI provider refused to run (billing,
/// spending limits), not that the code failed.
static INFRA_ONLY: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"(?i)recent account payments have failed",
        r"(?i)spending limit needs to be increased",
        r"(?i)job was not started because",
        r"(?i)billing\s*&\s*plans",
        r"(?i)exceeded (your )?spending limit",
    ]
    .iter()
    .map(|p| re(p))
    .collect()
});

/// Whether every failure is infrastructure-only: bypass allowed, the
/// rollup has failures, some check run failed, and every annotation of the
/// failed check runs (there is at least one) is a billing or spending-limit
/// message.
pub fn infra_only(
    allowed: bool,
    summary: &CheckSummary,
    failed_runs: usize,
    messages: &[String],
) -> bool {
    allowed
        && !summary.failures.is_empty()
        && failed_runs > 0
        && !messages.is_empty()
        && messages
            .iter()
            .all(|m| INFRA_ONLY.iter().any(|p| p.is_match(m)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn run(name: &str, status: &str, conclusion: &str) -> RollupCheck {
        RollupCheck::Run {
            name: name.into(),
            status: status.into(),
            conclusion: conclusion.into(),
        }
    }

    fn status(context: &str, state: &str) -> RollupCheck {
        RollupCheck::Status {
            context: context.into(),
            state: state.into(),
        }
    }

    #[test]
    fn rollup_entries_become_pending_and_failures() {
        let s = CheckSummary::of(&[
            run("ci", "COMPLETED", "SUCCESS"),
            run("lint", "IN_PROGRESS", ""),
            run("", "COMPLETED", "FAILURE"),
            run("skip", "COMPLETED", "SKIPPED"),
            run("neutral", "completed", "neutral"),
            status("snyk", "SUCCESS"),
            status("deploy", "PENDING"),
            status("", "ERROR"),
            status("x", ""),
            RollupCheck::Unknown,
        ]);
        assert_eq!(s.reported, 10);
        assert_eq!(
            s.pending,
            [
                "lint:status-in_progress",
                "deploy:state-pending",
                "x:state-unknown",
                "check-run:status-unknown"
            ]
        );
        assert_eq!(
            s.failures,
            [
                "check-run:conclusion-failure",
                "neutral:conclusion-neutral",
                "status-context:conclusion-failure"
            ]
        );
    }

    #[test]
    fn only_billing_messages_bypass() {
        let failing = CheckSummary::of(&[run("ci", "COMPLETED", "FAILURE")]);
        let billing =
            vec!["The job was not started because recent account payments have failed".to_string()];
        assert!(infra_only(true, &failing, 1, &billing));
        assert!(!infra_only(false, &failing, 1, &billing));
        assert!(!infra_only(true, &failing, 0, &billing));
        assert!(!infra_only(true, &failing, 1, &[]));
        let mixed = vec![billing[0].clone(), "test x failed".to_string()];
        assert!(!infra_only(true, &failing, 1, &mixed));
        assert!(!infra_only(true, &CheckSummary::default(), 1, &billing));
    }

    #[test]
    fn failed_runs_want_their_annotations() {
        let r = CheckRun {
            status: "completed".into(),
            conclusion: "failure".into(),
            annotations_url: "https://api.github.com/x".into(),
            annotations_count: 2,
        };
        assert!(r.wants_annotations());
        let ok = CheckRun {
            conclusion: "success".into(),
            ..r.clone()
        };
        assert!(!ok.failed());
        let none = CheckRun {
            annotations_count: 0,
            ..r
        };
        assert!(none.failed() && !none.wants_annotations());
    }
}
