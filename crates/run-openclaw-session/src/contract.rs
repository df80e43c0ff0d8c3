//! The result contract when the agent did not write one, and the comment
//! artifact synthesized from openclaw's JSON payloads.
//!
//! Everything here reads only this run's part of the session log (the log
//! is appended across runs of the same session; an older run's words must
//! not decide this one's outcome).

use std::path::Path;

use regex::{Regex, RegexBuilder};

/// A contract to write into result.env (real newlines, values from a safe
/// charset so the file stays sourceable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    pub lines: Vec<(String, String)>,
}

impl Contract {
    fn of(pairs: &[(&str, &str)]) -> Self {
        Self {
            lines: pairs
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
        }
    }

    pub fn blocked() -> Self {
        Self::of(&[("OUTCOME", "blocked"), ("ACTION", "host-comment-blocker")])
    }

    pub fn blocked_with(detail: &str) -> Self {
        Self::of(&[
            ("OUTCOME", "blocked"),
            ("ACTION", "host-comment-blocker"),
            ("DETAIL", detail),
        ])
    }

    pub fn implemented() -> Self {
        Self::of(&[
            ("OUTCOME", "implemented"),
            ("ACTION", "host-publish-issue-pr"),
        ])
    }

    pub fn no_changes_needed() -> Self {
        Self::of(&[
            ("OUTCOME", "reported"),
            ("ACTION", "host-comment-scheduled-report"),
            ("DETAIL", "no-changes-needed"),
        ])
    }

    /// `KEY=value\n` lines.
    pub fn render(&self) -> String {
        self.lines
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.lines
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn re(pattern: &str) -> Option<Regex> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .multi_line(true)
        .build()
        .ok()
}

/// Whether `pattern` (case-insensitive, per line) matches `text`.
fn matches(pattern: &str, text: &str) -> bool {
    re(pattern).is_some_and(|r| r.is_match(text))
}

/// The contract the agent stated in a `Result file written: OUTCOME=...,
/// ACTION=...` line (the last such line wins; OUTCOME and ACTION required,
/// DETAIL and ISSUE_ID optional; values limited to `[A-Za-z0-9._/-]`).
pub fn recover_stated_contract(log: &str) -> Option<Contract> {
    let line_re = re(r"Result file written:[ \t]*([^\r\n]+)")?;
    let line = line_re
        .captures_iter(log)
        .last()
        .and_then(|c| c.get(1))?
        .as_str();
    let mut lines = Vec::new();
    for key in ["OUTCOME", "ACTION", "DETAIL", "ISSUE_ID"] {
        let field = Regex::new(&format!("{key}=([A-Za-z0-9._/-]+)")).ok()?;
        if let Some(v) = field.captures(line).and_then(|c| c.get(1)) {
            lines.push((key.to_string(), v.as_str().to_string()));
        }
    }
    let has = |k: &str| lines.iter().any(|(key, _)| key == k);
    (has("OUTCOME") && has("ACTION")).then_some(Contract { lines })
}

/// Inputs of [`infer`].
#[derive(Debug)]
pub struct Evidence<'a> {
    /// This run's part of the session log.
    pub log: &'a str,
    /// Whether git shows product changes (see [`has_product_changes`]).
    pub product_changes: bool,
    /// The sandbox verification.jsonl, when present.
    pub verification: Option<&'a str>,
}

/// What inference decided, and a note for the log when it has one.
#[derive(Debug, PartialEq, Eq)]
pub struct Inferred {
    pub contract: Contract,
    pub note: Option<&'static str>,
}

/// The rules, in order: an empty-command tool failure blocks; a stated
/// contract is recovered; no product changes and a "nothing to do" remark
/// is a no-change report; product changes are implemented (with or without
/// a passing verification log); an explicit blocker line blocks; a mention of
/// a PR or of having implemented it is implemented; anything else blocks.
pub fn infer(e: &Evidence<'_>) -> Inferred {
    let plain = |contract| Inferred {
        contract,
        note: None,
    };
    if e.log
        .contains("[tools] exec failed: Provide a command to start.")
    {
        return plain(Contract::blocked_with("worker-tool-exec-empty-command"));
    }
    if let Some(c) = recover_stated_contract(e.log) {
        return plain(c);
    }
    if !e.product_changes
        && matches(
            r"already done|no changes needed|up to date|nothing to do|no changes",
            e.log,
        )
    {
        return plain(Contract::no_changes_needed());
    }
    if e.product_changes {
        match e.verification {
            Some(v) if v.contains(r#""status":"pass""#) => return plain(Contract::implemented()),
            Some(_) => {}
            None => {
                return Inferred {
                    contract: Contract::implemented(),
                    note: Some(
                        "[infer] product changes detected without verification.jsonl — marking implemented for host recovery",
                    ),
                };
            }
        }
    }
    if matches(
        r"^(OUTCOME=blocked|I am blocked|This issue is blocked|Cannot proceed with implementation|Unable to complete the task)",
        e.log,
    ) {
        return plain(Contract::blocked());
    }
    if matches(r"created PR|opened PR|PR #|pull request|implemented", e.log) {
        return plain(Contract::implemented());
    }
    plain(Contract::blocked())
}

/// Whether a changed path is product code (not openclaw bookkeeping, the
/// session env file, or Markdown).
pub fn is_product_path(path: &str) -> bool {
    !(path.contains(".openclaw-artifacts/")
        || path.contains(".openclaw/")
        || path.ends_with(".agent-session.env")
        || path.ends_with(".md"))
}

/// Product changes in the worktree: unstaged or staged changes against HEAD,
/// or commits since `origin/main`, touching a product path. A non-git
/// directory has none.
pub fn has_product_changes(env: &acp_core::Env, worktree: &Path) -> bool {
    let diffs: [&[&str]; 3] = [
        &["diff", "--name-only", "HEAD"],
        &["diff", "--cached", "--name-only"],
        &["diff", "--name-only", "origin/main..HEAD"],
    ];
    diffs.iter().any(|args| {
        acp_core::git::capture(env, worktree, args)
            .is_some_and(|out| out.lines().any(|l| !l.is_empty() && is_product_path(l)))
    })
}

/// The comment text from the last JSON object in `log` that has a
/// `payloads` list with non-blank `text` entries: those texts, right-trimmed,
/// joined by blank lines, with one trailing newline.
pub fn comment_from_payloads(log: &str) -> Option<String> {
    let mut message = None;
    let mut idx = 0;
    while let Some(rel) = log[idx..].find('{') {
        let start = idx + rel;
        let mut stream =
            serde_json::Deserializer::from_str(&log[start..]).into_iter::<serde_json::Value>();
        match stream.next() {
            Some(Ok(value)) => {
                idx = start + stream.byte_offset().max(1);
                let Some(payloads) = value.get("payloads").and_then(|p| p.as_array()) else {
                    continue;
                };
                let parts: Vec<&str> = payloads
                    .iter()
                    .filter_map(|item| item.get("text").and_then(|t| t.as_str()))
                    .filter(|t| !t.trim().is_empty())
                    .map(str::trim_end)
                    .collect();
                if !parts.is_empty() {
                    let joined = parts.join("\n\n");
                    let trimmed = joined.trim();
                    if !trimmed.is_empty() {
                        message = Some(format!("{trimmed}\n"));
                    }
                }
            }
            _ => idx = start + 1,
        }
        if idx >= log.len() {
            break;
        }
    }
    message
}

/// Which comment file a task kind's host comment goes to.
pub fn comment_file_for(task_kind: &str) -> Option<&'static str> {
    match task_kind {
        "issue" | "task" => Some("issue-comment.md"),
        "pr" => Some("pr-comment.md"),
        _ => None,
    }
}

/// Whether result.env text asks the host to post a comment.
pub fn wants_host_comment(result_env: &str) -> bool {
    result_env
        .lines()
        .any(|l| l.starts_with("ACTION=host-comment-"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn ev(log: &str, product_changes: bool, verification: Option<&'static str>) -> Contract {
        infer(&Evidence {
            log,
            product_changes,
            verification,
        })
        .contract
    }

    #[test]
    fn stated_contract_is_recovered_from_json_text() {
        let log = r#"{
  "payloads": [
    {
      "text": "**Review: PASS**\n\nResult file written: OUTCOME=approved-local-review-passed, ACTION=host-approve-and-merge"
    }
  ]
}
"#;
        let c = recover_stated_contract(log).unwrap();
        assert_eq!(
            c.render(),
            "OUTCOME=approved-local-review-passed\nACTION=host-approve-and-merge\n"
        );
        assert_eq!(ev(log, true, None), c);
    }

    #[test]
    fn stated_contract_takes_the_last_line_and_needs_outcome_and_action() {
        let log = "Result file written: OUTCOME=a ACTION=b\nresult FILE WRITTEN: OUTCOME=c ACTION=d DETAIL=x/y ISSUE_ID=12 EXTRA=$(boom)\n";
        assert_eq!(
            recover_stated_contract(log).unwrap().render(),
            "OUTCOME=c\nACTION=d\nDETAIL=x/y\nISSUE_ID=12\n"
        );
        assert!(recover_stated_contract("Result file written: OUTCOME=only\n").is_none());
        assert!(
            recover_stated_contract("Result file written: OUTCOME=$(x) ACTION=;rm\n").is_none()
        );
    }

    #[test]
    fn inference_rules_apply_in_order() {
        assert_eq!(
            ev(
                "[tools] exec failed: Provide a command to start.\nimplemented",
                true,
                None
            )
            .get("DETAIL"),
            Some("worker-tool-exec-empty-command")
        );
        assert_eq!(
            ev("Everything is up to date.", false, None),
            Contract::no_changes_needed()
        );
        assert_eq!(
            ev(
                "Everything is up to date.",
                true,
                Some(r#"{"status":"pass"}"#)
            ),
            Contract::implemented()
        );
        let with_note = infer(&Evidence {
            log: "",
            product_changes: true,
            verification: None,
        });
        assert_eq!(with_note.contract, Contract::implemented());
        assert!(
            with_note
                .note
                .unwrap()
                .starts_with("[infer] product changes detected")
        );
        assert_eq!(
            ev(
                "I am blocked by x\nimplemented",
                true,
                Some(r#"{"status":"fail"}"#)
            ),
            Contract::blocked()
        );
        assert_eq!(
            ev("well\ncannot proceed with implementation\n", false, None),
            Contract::blocked()
        );
        assert_eq!(ev("opened PR #12", false, None), Contract::implemented());
        assert_eq!(
            ev("BLOCKED: worktree is misaligned", false, None),
            Contract::blocked()
        );
        assert_eq!(ev("", false, None), Contract::blocked());
    }

    #[test]
    fn product_paths_exclude_bookkeeping() {
        assert!(is_product_path("src/main.rs"));
        assert!(!is_product_path("docs/x.md"));
        assert!(!is_product_path(".openclaw/workspace-state.json"));
        assert!(!is_product_path("a/.openclaw-artifacts/s/result.env"));
        assert!(!is_product_path(".agent-session.env"));
    }

    #[test]
    fn comment_comes_from_the_last_payload_object() {
        let log = "noise {not json}\n{\"payloads\":[{\"text\":\"first\"}]}\nmore {\"a\":1}\n{\n  \"payloads\": [\n    {\"text\": \"Synthesized comment body  \"},\n    {\"text\": \"   \"},\n    {\"text\": \"second part\"},\n    \"bad\"\n  ]\n}\ntrailing {";
        assert_eq!(
            comment_from_payloads(log).unwrap(),
            "Synthesized comment body\n\nsecond part\n"
        );
        assert!(comment_from_payloads("{\"payloads\":[]}").is_none());
        assert!(comment_from_payloads("no json here").is_none());
        assert!(comment_from_payloads("{\"payloads\":[{\"text\":\"  \"}]}").is_none());
        assert_eq!(
            comment_from_payloads("{\"x\":{\"payloads\":[{\"text\":\"nested\"}]}}"),
            None,
            "only top-level objects that parse whole are considered first"
        );
    }

    #[test]
    fn comment_targets_follow_task_kind() {
        assert_eq!(comment_file_for("issue"), Some("issue-comment.md"));
        assert_eq!(comment_file_for("task"), Some("issue-comment.md"));
        assert_eq!(comment_file_for("pr"), Some("pr-comment.md"));
        assert_eq!(comment_file_for("other"), None);
        assert!(wants_host_comment(
            "OUTCOME=x\nACTION=host-comment-blocker\n"
        ));
        assert!(!wants_host_comment("ACTION=host-publish-issue-pr\n"));
    }
}
