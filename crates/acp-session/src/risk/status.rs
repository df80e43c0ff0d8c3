//! What the agent's own status comments on a PR say about its current head:
//! an outstanding review blocker, a blocker that is only about CI, a repair
//! summary that changed nothing ("no-op"), a host guard that refused a
//! repair.

use std::sync::LazyLock;

use regex::Regex;

use super::managed::{is_status_comment, re};

/// A PR conversation comment (body and creation time).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrComment {
    pub body: String,
    pub created_at: String,
}

static BLOCKER: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)^## PR final review blocker"));
static REPAIR_SUMMARY: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)^## PR repair (worker summary|summary|update)"));
static HOST_GUARD: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    vec![
        re(r"(?i)(^|\n)## PR repair host guard"),
        re(r"(?i)Host rejected this repair and did not push it"),
    ]
});
static CI_ONLY: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    vec![
        re(r"(?i)required verification is not green"),
        re(
            r#"(?i)GitHub check [`'"]?Quality Lite[`'"]? is currently [`'"]?COMPLETED\s*/\s*FAILURE"#,
        ),
        re(r#"(?i)PR merge state is [`'"]?UNSTABLE[`'"]?"#),
        re(r#"(?i)PR merge state is [`'"]?UNKNOWN[`'"]?"#),
        re(r"(?i)merge-safe state"),
    ]
});
static NAMES_SOURCE_PATH: LazyLock<Regex> =
    LazyLock::new(|| re(r"`(?:apps|packages|openspec|docs|scripts|\.github)/"));
static NO_OP: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"already addressed on the current PR head",
        r"already contains the review fix",
        r"already satisfy those findings",
        r"stale PR review/check metadata",
        r"blocked by the local test environment",
        r"external workspace/node_modules baseline issue",
        r"no source change was needed",
        r"no source change was made",
        r"no branch-local source change was needed",
        r"no (additional )?(repository|repo|branch|source) change was needed",
        r"no code changes? were made",
        r"the reported final-review blocker does not reproduce",
        r"already fixed on the current PR (branch|head)",
        r"blocked by .*worktree.*dependency",
        r"dependency provisioning\s*/\s*module-link state",
        r"this worktree'?s dependency state",
    ]
    .iter()
    .map(|p| re(&format!("(?i){p}")))
    .collect()
});

fn any(patterns: &[Regex], text: &str) -> bool {
    patterns.iter().any(|p| p.is_match(text))
}

/// The verdict of the status comments written since the head commit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusVerdict {
    /// Any status comment at all (makes the PR the agent's).
    pub any: bool,
    /// How many status comments are not older than the head commit.
    pub current_head: usize,
    pub latest_is_ci_only_blocker: bool,
    pub outstanding_blocker: bool,
    pub noop_repair_summary: bool,
    pub outstanding_noop_repair_summary: bool,
}

/// Reads `comments` (oldest first) against the head commit's time
/// (`head_committed_at`, ISO 8601; unknown or unparsable = every comment
/// counts). A comment whose time cannot be read counts as current.
pub fn verdict(comments: &[PrComment], head_committed_at: &str) -> StatusVerdict {
    let head = acp_core::time::parse_iso_epoch(head_committed_at);
    let status: Vec<&PrComment> = comments
        .iter()
        .filter(|c| is_status_comment(&c.body))
        .collect();
    let current: Vec<&PrComment> = status
        .iter()
        .copied()
        .filter(
            |c| match (head, acp_core::time::parse_iso_epoch(&c.created_at)) {
                (Some(h), Some(t)) => t >= h,
                _ => true,
            },
        )
        .collect();
    let latest = current.last().map(|c| c.body.as_str()).unwrap_or("");
    let is_blocker = BLOCKER.is_match(latest);
    let host_guard = any(&HOST_GUARD, latest);
    let ci_only = is_blocker && any(&CI_ONLY, latest) && !NAMES_SOURCE_PATH.is_match(latest);
    let latest_is_repair_summary = REPAIR_SUMMARY.is_match(latest) && !host_guard;
    let last_summary = current
        .iter()
        .rev()
        .find(|c| REPAIR_SUMMARY.is_match(c.body.trim()))
        .map(|c| c.body.as_str())
        .unwrap_or("");
    let noop = !last_summary.is_empty() && any(&NO_OP, last_summary);
    StatusVerdict {
        any: !status.is_empty(),
        current_head: current.len(),
        latest_is_ci_only_blocker: ci_only,
        outstanding_blocker: host_guard || (is_blocker && !ci_only),
        noop_repair_summary: noop,
        outstanding_noop_repair_summary: latest_is_repair_summary && noop,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn c(body: &str, at: &str) -> PrComment {
        PrComment {
            body: body.into(),
            created_at: at.into(),
        }
    }

    #[test]
    fn a_blocker_after_the_head_is_outstanding() {
        let v = verdict(
            &[c(
                "## PR final review blocker\nfix `apps/x.ts`",
                "2026-01-02T00:00:00Z",
            )],
            "2026-01-01T00:00:00Z",
        );
        assert!(v.any && v.outstanding_blocker && !v.latest_is_ci_only_blocker);
        let old = verdict(
            &[c("## PR final review blocker\nx", "2025-12-31T00:00:00Z")],
            "2026-01-01T00:00:00Z",
        );
        assert!(old.any && !old.outstanding_blocker && old.current_head == 0);
    }

    #[test]
    fn a_ci_only_blocker_is_not_outstanding() {
        let v = verdict(
            &[c(
                "## PR final review blocker\nPR merge state is `UNSTABLE`",
                "",
            )],
            "",
        );
        assert!(v.latest_is_ci_only_blocker && !v.outstanding_blocker);
    }

    #[test]
    fn noop_summaries_and_host_guards() {
        let v = verdict(
            &[c("## PR repair summary\nNo source change was needed.", "")],
            "",
        );
        assert!(v.noop_repair_summary && v.outstanding_noop_repair_summary);
        let g = verdict(
            &[c(
                "## PR repair summary\nno code change were made\n## PR repair host guard",
                "",
            )],
            "",
        );
        assert!(g.outstanding_blocker && !g.outstanding_noop_repair_summary);
        let plain = verdict(&[c("thanks", "")], "");
        assert_eq!(plain, StatusVerdict::default());
    }
}
