//! What every PR starter derives from GitHub and the lane oracle: the PR's
//! own fields, whether it is the agent's, the checks and files as prompt
//! lists, the repository guidance files, the review stage.

use std::path::Path;

use acp_github::{PrDetail, RollupEntry};
use anyhow::Context;
use serde_json::Value;

use crate::risk::managed::{HANDOFF_LABEL, is_status_comment};

/// The guidance files a worker is pointed at when they exist, relative to
/// the repository root, in this order.
pub const CONTEXT_FILES: &[&str] = &[
    "AGENTS.md",
    "openspec/AGENT_RULES.md",
    "openspec/AGENTS.md",
    "openspec/project.md",
    "openspec/CONVENTIONS.md",
    "docs/TESTING_AND_SEED_POLICY.md",
];

/// Whether the PR is the agent's: its head branch matches one of the
/// whitespace-separated `globs` (shell patterns, never expanded against
/// files), it carries `agent-handoff`, or one of its comments is an agent
/// status comment.
pub fn is_agent_pr(globs: &str, pr: &PrDetail) -> bool {
    super::glob::matches_any(globs, &pr.head_ref_name)
        || pr.labels.iter().any(|l| l == HANDOFF_LABEL)
        || pr.comments.iter().any(|c| is_status_comment(&c.body))
}

/// `- <name>: <status>[ / <conclusion>]` per reported check, or `- none`.
pub fn checks_text(rollup: &[RollupEntry]) -> String {
    if rollup.is_empty() {
        return "- none".into();
    }
    rollup
        .iter()
        .map(|c| {
            let name = [&c.name, &c.context]
                .into_iter()
                .find(|s| !s.is_empty())
                .map_or("unknown-check", String::as_str);
            let status = if c.status.is_empty() {
                "UNKNOWN"
            } else {
                &c.status
            };
            let mut line = format!("- {name}: {status}");
            if !c.conclusion.is_empty() {
                line.push_str(" / ");
                line.push_str(&c.conclusion);
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The guidance files that exist under `repo_root` as backticked bullets,
/// or a line saying there are none.
pub fn context_reads_text(repo_root: &Path) -> String {
    let found: Vec<String> = CONTEXT_FILES
        .iter()
        .map(|rel| repo_root.join(rel))
        .filter(|p| p.is_file())
        .map(|p| format!("- `{}`", p.display()))
        .collect();
    if found.is_empty() {
        return "- None of the usual guidance files (AGENTS.md, openspec/*, \
                docs/TESTING_AND_SEED_POLICY.md) exist in this repository; \
                go by the diff and the code around it."
            .into();
    }
    found.join("\n")
}

/// The sentence telling a reviewer which pass this is.
pub fn review_stage_text(lane: &str) -> &'static str {
    match lane {
        "double-check-1" => {
            "first of two independent agent reviews; a clean result moves the PR on to the \
             second review, it does not merge it"
        }
        "double-check-2" => {
            "second of two independent agent reviews; review from scratch, a clean result \
             lets the host merge the PR"
        }
        _ => "the one agent review before the PR may merge",
    }
}

/// The lane oracle's answer (`pr-risk.sh N`), as the starters read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Risk {
    pub risk: String,
    pub risk_reason: String,
    pub agent_lane: String,
    pub double_check_stage: String,
    pub linked_issue_id: String,
    pub checks_bypassed: String,
    /// `- <path>` per file.
    pub files_text: String,
    /// `- <check>` per failed or pending check, or `- none reported`.
    pub check_failures_text: String,
    /// `- <reason>` per reason the PR may not merge yet, or `- none`.
    pub missing_reasons_text: String,
}

/// A JSON value as `jq -r` prints it (a missing value as `null`).
fn raw(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "null".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// `jq -r '.key // default'`.
fn or(v: Option<&Value>, default: &str) -> String {
    match v {
        None | Some(Value::Null | Value::Bool(false)) => default.into(),
        some => raw(some),
    }
}

/// `- <item>` per array element of the given keys, in order.
fn bullets(json: &Value, keys: &[&str]) -> String {
    keys.iter()
        .filter_map(|k| json.get(*k).and_then(Value::as_array))
        .flatten()
        .map(|v| format!("- {}", raw(Some(v))))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Risk {
    /// Reads the oracle's JSON object.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let json: Value = serde_json::from_str(text.trim())
            .with_context(|| format!("pr-risk.sh printed no JSON object: {}", text.trim()))?;
        anyhow::ensure!(json.is_object(), "pr-risk.sh printed no JSON object");
        let failures = bullets(&json, &["checkFailures", "pendingChecks"]);
        let missing = bullets(&json, &["missingReasons"]);
        Ok(Self {
            risk: raw(json.get("risk")),
            risk_reason: raw(json.get("riskReason")),
            agent_lane: raw(json.get("agentLane")),
            double_check_stage: or(json.get("currentDoubleCheckStage"), "0"),
            linked_issue_id: or(json.get("linkedIssueId"), ""),
            checks_bypassed: or(json.get("checksBypassed"), "false"),
            files_text: bullets(&json, &["files"]),
            check_failures_text: if failures.is_empty() {
                "- none reported".into()
            } else {
                failures
            },
            missing_reasons_text: if missing.is_empty() {
                "- none".into()
            } else {
                missing
            },
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn risk_fields_read_like_jq() {
        let r = Risk::parse(
            r#"{"risk":"high","riskReason":"x","linkedIssueId":415,"files":["a","b"],
                "checkFailures":["ci"],"pendingChecks":null,"missingReasons":[]}"#,
        )
        .unwrap();
        assert_eq!(r.agent_lane, "null");
        assert_eq!(r.linked_issue_id, "415");
        assert_eq!(r.double_check_stage, "0");
        assert_eq!(r.checks_bypassed, "false");
        assert_eq!(r.files_text, "- a\n- b");
        assert_eq!(r.check_failures_text, "- ci");
        assert_eq!(r.missing_reasons_text, "- none");
        assert!(Risk::parse("not json").is_err());
    }

    #[test]
    fn checks_render_name_status_conclusion() {
        let run = RollupEntry {
            name: "build".into(),
            status: "COMPLETED".into(),
            conclusion: "FAILURE".into(),
            ..Default::default()
        };
        let ctx = RollupEntry {
            context: "ci/legacy".into(),
            state: "PENDING".into(),
            ..Default::default()
        };
        assert_eq!(
            checks_text(&[run, ctx, RollupEntry::default()]),
            "- build: COMPLETED / FAILURE\n- ci/legacy: UNKNOWN\n- unknown-check: UNKNOWN"
        );
        assert_eq!(checks_text(&[]), "- none");
    }
}
