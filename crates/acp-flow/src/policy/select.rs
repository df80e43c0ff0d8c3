//! The policy's decisions over GitHub JSON, as pure functions: which open
//! PRs are the agents', which issues they close, which issues are ready,
//! blocked, exclusive or running, an issue's cadence, and the recovery
//! reason a blocker comment names. The JSON is what `gh` (or a test's fake,
//! or a user's hook) gave: every field may be missing.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

pub const RUNNING: &str = "agent-running";
pub const BLOCKED: &str = "agent-blocked";
pub const READY: &str = "agent-ready";
pub const KEEP_OPEN: &str = "agent-keep-open";

fn re(p: &str) -> Regex {
    match Regex::new(p) {
        Ok(r) => r,
        Err(e) => unreachable!("invalid built-in pattern {p}: {e}"),
    }
}

/// The label names of an issue or PR (`[{"name": ..}]` or plain names).
pub fn labels(item: &Value) -> Vec<&str> {
    item.get("labels")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|l| l.as_str().or_else(|| l.get("name")?.as_str()))
                .collect()
        })
        .unwrap_or_default()
}

pub fn has_label(item: &Value, name: &str) -> bool {
    labels(item).contains(&name)
}

/// The item's number (a JSON number or a numeric string).
pub fn number(item: &Value) -> Option<u64> {
    match item.get("number")? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn text<'a>(item: &'a Value, key: &str) -> &'a str {
    item.get(key).and_then(Value::as_str).unwrap_or("")
}

pub fn body(item: &Value) -> &str {
    text(item, "body")
}

/// The bodies of an item's comments; `None` when the JSON has no
/// `comments` array (a list read without them).
pub fn comment_bodies(item: &Value) -> Option<Vec<&str>> {
    let list = item.get("comments")?.as_array()?;
    Some(
        list.iter()
            .map(|c| c.as_str().unwrap_or_else(|| text(c, "body")))
            .collect(),
    )
}

/// The items of a list answer, oldest first (`createdAt`, then number; a
/// missing `createdAt` sorts first), as the original's `sort_by`.
pub fn oldest_first(list: &Value) -> Vec<&Value> {
    let mut items: Vec<&Value> = list
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    items.sort_by(|a, b| (text(a, "createdAt"), number(a)).cmp(&(text(b, "createdAt"), number(b))));
    items
}

/// Which open PRs are the agents' and which issues they close.
#[derive(Debug, Clone)]
pub struct AgentPrRules {
    /// Managed branch prefixes (`agent/<id>/`, `codex/`, ...).
    pub prefixes: Vec<String>,
    pub handoff_label: String,
    pub exclusive_label: String,
    /// The branch -> issue capture (a named group `id`).
    pub issue_branch: Regex,
}

/// `^(?:p1|p2)/issue-(?<id>[0-9]+)(?:-|$)` for the prefixes (each without
/// its trailing `/`), `agent/<adapter id>` when there are none.
pub fn issue_branch_pattern(prefixes: &[String], adapter_id: &str) -> String {
    let mut alts: Vec<String> = prefixes
        .iter()
        .map(|p| regex::escape(p.trim_end_matches('/')))
        .filter(|p| !p.is_empty())
        .collect();
    if alts.is_empty() {
        alts.push(regex::escape(&format!("agent/{adapter_id}")));
    }
    format!("^(?:{})/issue-(?<id>[0-9]+)(?:-|$)", alts.join("|"))
}

static STATUS_COMMENT: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)\A## PR (final review blocker|repair worker summary|repair summary|repair update)")
});
static CLOSING: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s+#([0-9]+)\b"));

impl AgentPrRules {
    /// A PR on a managed branch, with the handoff label, or with an agent
    /// status comment.
    pub fn is_agent_pr(&self, pr: &Value) -> bool {
        let head = text(pr, "headRefName");
        self.prefixes.iter().any(|p| head.starts_with(p.as_str()))
            || has_label(pr, &self.handoff_label)
            || comment_bodies(pr)
                .unwrap_or_default()
                .iter()
                .any(|b| STATUS_COMMENT.is_match(b))
    }

    /// The issue ids (as text) the open agent PRs are linked to: from the
    /// branch name and the first closing keyword of the body; sorted, no
    /// repeats (the original's JSON array).
    pub fn linked_issue_ids(&self, prs: &Value) -> Vec<String> {
        let mut ids = Vec::new();
        for pr in prs.as_array().into_iter().flatten() {
            if !self.is_agent_pr(pr) {
                continue;
            }
            if let Some(c) = self.issue_branch.captures(text(pr, "headRefName"))
                && let Some(id) = c.name("id")
            {
                ids.push(id.as_str().to_string());
            }
            if let Some(c) = CLOSING.captures(body(pr)) {
                ids.push(c[1].to_string());
            }
        }
        ids.sort();
        ids.dedup();
        ids
    }

    /// Open agent PR numbers, oldest first.
    pub fn agent_pr_ids(&self, prs: &Value) -> Vec<u64> {
        oldest_by_created(prs)
            .into_iter()
            .filter(|p| self.is_agent_pr(p))
            .filter_map(number)
            .collect()
    }

    /// Open agent PRs carrying the exclusive label, oldest first.
    pub fn exclusive_pr_ids(&self, prs: &Value) -> Vec<u64> {
        oldest_by_created(prs)
            .into_iter()
            .filter(|p| self.is_agent_pr(p) && has_label(p, &self.exclusive_label))
            .filter_map(number)
            .collect()
    }
}

/// PRs sorted by `createdAt` only (stable), as the original's PR lists.
fn oldest_by_created(list: &Value) -> Vec<&Value> {
    let mut items: Vec<&Value> = list
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    items.sort_by(|a, b| text(a, "createdAt").cmp(text(b, "createdAt")));
    items
}

fn linked(item: &Value, linked_ids: &[String]) -> bool {
    number(item).is_some_and(|n| linked_ids.iter().any(|l| l == &n.to_string()))
}

/// Ready issues: open, not running, not blocked, not linked to an open
/// agent PR; with `require_ready` (profile `queue.require_ready_label`)
/// only those labelled `agent-ready` (F2).
pub fn ready_issue_ids(issues: &Value, linked_ids: &[String], require_ready: bool) -> Vec<u64> {
    oldest_first(issues)
        .into_iter()
        .filter(|i| !has_label(i, RUNNING) && !has_label(i, BLOCKED) && !linked(i, linked_ids))
        .filter(|i| !require_ready || has_label(i, READY))
        .filter_map(number)
        .collect()
}

/// Blocked-recovery candidates before their reason is known: blocked, not
/// running, not linked.
pub fn blocked_candidate_ids(issues: &Value, linked_ids: &[String]) -> Vec<u64> {
    oldest_first(issues)
        .into_iter()
        .filter(|i| has_label(i, BLOCKED) && !has_label(i, RUNNING) && !linked(i, linked_ids))
        .filter_map(number)
        .collect()
}

/// Exclusive issues: the exclusive label, not running, not blocked, not
/// linked.
pub fn exclusive_issue_ids(issues: &Value, linked_ids: &[String], label: &str) -> Vec<u64> {
    oldest_first(issues)
        .into_iter()
        .filter(|i| {
            has_label(i, label)
                && !has_label(i, RUNNING)
                && !has_label(i, BLOCKED)
                && !linked(i, linked_ids)
        })
        .filter_map(number)
        .collect()
}

/// Issues labelled `agent-running`.
pub fn running_issue_ids(issues: &Value) -> Vec<u64> {
    oldest_first(issues)
        .into_iter()
        .filter(|i| has_label(i, RUNNING))
        .filter_map(number)
        .collect()
}

/// The cadence line of an issue body (`Agent schedule: every 30m`): one
/// parser, `acp_session::schedule`.
pub use acp_session::schedule::{interval_seconds as schedule_interval_seconds, schedule_token};

static BLOCKER_COMMENT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)Host-side publish blocked for session|Host-side publish failed for session|Blocked on missing referenced OpenSpec paths for issue|Superseded by focused follow-up issues:|Why it was blocked:|\A# Blocker:",
    )
});

/// Reasons a blocker comment's text maps to, first match wins.
static REASONS: LazyLock<Vec<(Regex, &'static str)>> =
    LazyLock::new(|| {
        [
        (
            r"(?i)provider quota is currently exhausted|provider-side rate limit|quota window",
            "provider-quota-limit",
        ),
        (
            r"(?i)no publishable delta|no commits ahead of `?origin/main`?",
            "no-publishable-delta",
        ),
        (r"(?i)scope guard", "scope-guard-blocked"),
        (r"(?i)verification guard", "verification-guard-blocked"),
        (
            r"(?im)localization guard|^# Blocker: Localization requirements were not satisfied$",
            "localization-guard-blocked",
        ),
        (r"(?i)missing referenced OpenSpec paths", "missing-openspec-paths"),
        (
            r"(?i)superseded by focused follow-up issues",
            "superseded-by-follow-ups",
        ),
        (r"(?im)^# Blocker:", "comment-blocked-recovery"),
    ]
    .into_iter()
    .map(|(p, r)| (re(p), r))
    .collect()
    });

static FAILURE_REASON: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)Failure reason:\s*[\r\n]+-\s*`([^`]+)`"));

/// The recovery reason of a blocked issue from its newest blocker comment
/// (`labels` and `comments` of the issue); `retry_reason` when the comment
/// names none; "" when the issue is not blocked or has no blocker comment.
pub fn comment_recovery_reason(labels: &[&str], comments: &[&str], retry_reason: &str) -> String {
    if !labels.contains(&BLOCKED) {
        return String::new();
    }
    let Some(comment) = comments.iter().rev().find(|b| BLOCKER_COMMENT.is_match(b)) else {
        return String::new();
    };
    if let Some(c) = FAILURE_REASON.captures(comment) {
        return c[1].to_string();
    }
    if let Some((_, reason)) = REASONS.iter().find(|(r, _)| r.is_match(comment)) {
        return (*reason).to_string();
    }
    retry_reason.trim().to_string()
}

/// Reasons that only a newer baseline (default branch head) can clear.
pub fn reason_requires_baseline_change(reason: &str) -> bool {
    matches!(
        reason,
        "verification-guard-blocked" | "no-publishable-commits" | "no-publishable-delta"
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> AgentPrRules {
        let prefixes = vec!["agent/acp/".to_string(), "codex/".to_string()];
        AgentPrRules {
            issue_branch: Regex::new(&issue_branch_pattern(&prefixes, "acp")).unwrap(),
            prefixes,
            handoff_label: "agent-handoff".into(),
            exclusive_label: "agent-exclusive".into(),
        }
    }

    #[test]
    fn agent_prs_and_their_issues() {
        let prs = json!([
            {"number": 9, "createdAt": "2", "headRefName": "agent/acp/issue-501-slice", "body": "Fixes #7 and closes #8"},
            {"number": 8, "createdAt": "1", "headRefName": "human/x", "labels": [{"name": "agent-handoff"}, {"name": "agent-exclusive"}]},
            {"number": 7, "createdAt": "0", "headRefName": "human/y", "comments": [{"body": "## PR repair update\nx"}]},
            {"number": 6, "createdAt": "0", "headRefName": "human/z", "body": "closes #3"}
        ]);
        let r = rules();
        assert_eq!(r.linked_issue_ids(&prs), ["501", "7"]);
        assert_eq!(r.agent_pr_ids(&prs), [7, 8, 9]);
        assert_eq!(r.exclusive_pr_ids(&prs), [8]);
    }

    #[test]
    fn ready_lists_follow_labels_links_and_the_ready_switch() {
        let issues = json!([
            {"number": 3, "createdAt": "b", "labels": [{"name": "agent-ready"}]},
            {"number": 2, "createdAt": "a", "labels": []},
            {"number": 4, "createdAt": "c", "labels": [{"name": "agent-blocked"}]},
            {"number": 5, "createdAt": "d", "labels": [{"name": "agent-running"}]},
            {"number": 6, "createdAt": "e", "labels": []}
        ]);
        let linked = vec!["6".to_string()];
        assert_eq!(ready_issue_ids(&issues, &linked, false), [2, 3]);
        assert_eq!(ready_issue_ids(&issues, &linked, true), [3]);
        assert_eq!(blocked_candidate_ids(&issues, &linked), [4]);
        assert_eq!(running_issue_ids(&issues), [5]);
    }

    #[test]
    fn cadence_lines() {
        assert_eq!(schedule_token("x\nSchedule: every 1H\n"), Some("1h".into()));
        assert_eq!(schedule_interval_seconds("Agent schedule: 30m"), 1800);
        assert_eq!(schedule_interval_seconds("No recurring schedule here."), 0);
        assert_eq!(schedule_token("Cadence: 2d"), Some("2d".into()));
    }

    #[test]
    fn blocker_comments_name_reasons() {
        let b = ["agent-blocked"];
        let failure = "# Blocker: x\n\nFailure reason:\n- `claude-exit-failed`\n";
        assert_eq!(
            comment_recovery_reason(&b, &[failure], ""),
            "claude-exit-failed"
        );
        let guard = "# Blocker: Verification guard prevented publish\n\nWhy it was blocked:\n- verification guard";
        assert_eq!(
            comment_recovery_reason(&b, &[guard], ""),
            "verification-guard-blocked"
        );
        assert_eq!(comment_recovery_reason(&b, &["hello"], "x"), "");
        assert_eq!(comment_recovery_reason(&[], &[guard], ""), "");
        assert_eq!(
            comment_recovery_reason(&b, &["Why it was blocked: odd"], "issue-worker-blocked"),
            "issue-worker-blocked"
        );
    }
}
