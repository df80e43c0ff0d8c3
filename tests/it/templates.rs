//! The prompt templates in `templates/`: the tokens each one uses (the set
//! the start scripts fill, per the spec), the result contract each one asks
//! the agent for, that the shell lines they give the agent actually work,
//! and that none of their lines is a line of 0.2.0's own templates.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::harness::{World, run};

/// How every template tells the agent to record a passing check.
const RECORD_LINE_PREFIX: &str = r#"bash "$ACP_FLOW_TOOLS_DIR/record-verification.sh" --run-dir "$ACP_RUN_DIR" --status pass --command ""#;

struct Template {
    name: &'static str,
    /// Exactly the `{TOKENS}` the file must use.
    tokens: &'static [&'static str],
    /// Every `OUTCOME` / `ACTION` pair the prompt must offer, and the only
    /// ones it may offer.
    pairs: &'static [(&'static str, &'static str)],
    /// The keys besides OUTCOME and ACTION each result line writes, in order.
    extra_keys: &'static [&'static str],
    /// Strings the host (or 0.2.0's tests and contract checker) matches.
    must_contain: &'static [&'static str],
}

const ISSUE_COMMON: &[&str] = &[
    "$ACP_RESULT_FILE",
    "$ACP_RUN_DIR/issue-comment.md",
    "record-verification.sh",
    "$ACP_FLOW_TOOLS_DIR",
    "`{REPO_SLUG}`",
];

const PR_COMMON: &[&str] = &[
    "$ACP_RESULT_FILE",
    "$ACP_RUN_DIR/pr-comment.md",
    "record-verification.sh",
    "$ACP_FLOW_TOOLS_DIR",
    "`{REPO_SLUG}`",
];

const TEMPLATES: &[Template] = &[
    Template {
        name: "issue-prompt-template.md",
        tokens: &[
            "ISSUE_ID",
            "REPO_SLUG",
            "ISSUE_TITLE",
            "ISSUE_URL",
            "ISSUE_AUTOMERGE",
            "ISSUE_BODY",
            "ISSUE_RECURRING_CONTEXT",
            "ISSUE_BLOCKER_CONTEXT",
            "ISSUE_VERIFICATION_COMMAND_SNIPPET",
        ],
        pairs: &[
            ("implemented", "host-publish-issue-pr"),
            ("blocked", "host-comment-blocker"),
        ],
        extra_keys: &["ISSUE_ID"],
        must_contain: &[
            "Superseded by focused follow-up issues: #",
            "create-follow-up-issue.sh",
            "verification.jsonl",
        ],
    },
    Template {
        name: "scheduled-issue-prompt-template.md",
        tokens: &[
            "ISSUE_ID",
            "REPO_SLUG",
            "ISSUE_TITLE",
            "ISSUE_URL",
            "ISSUE_BODY",
            "ISSUE_BLOCKER_CONTEXT",
            "ISSUE_BASELINE_HEAD_SHA",
        ],
        pairs: &[
            ("reported", "host-comment-scheduled-report"),
            ("reported", "host-comment-scheduled-alert"),
        ],
        extra_keys: &["ISSUE_ID"],
        must_contain: &[
            "## Scheduled check result",
            "Outcome: pass",
            "Outcome: alert",
            "not an implementation cycle",
        ],
    },
    Template {
        name: "pr-review-template.md",
        tokens: &[
            "REPO_SLUG",
            "PR_CONTEXT_READS_TEXT",
            "PR_NUMBER",
            "PR_TITLE",
            "PR_URL",
            "PR_BASE_REF",
            "PR_HEAD_REF",
            "PR_LINKED_ISSUE_ID",
            "PR_RISK",
            "PR_RISK_REASON",
            "PR_AGENT_LANE",
            "PR_DOUBLE_CHECK_STAGE",
            "PR_REVIEW_STAGE_TEXT",
            "PR_MERGE_STATE_STATUS",
            "PR_CHECKS_BYPASSED",
            "PR_CHECKS_TEXT",
            "PR_FILES_TEXT",
            "PR_BODY",
        ],
        pairs: &[
            ("blocked", "host-comment-pr-blocker"),
            (
                "approved-local-review-passed",
                "host-advance-double-check-2",
            ),
            ("approved-local-review-passed", "host-approve-and-merge"),
            ("approved-local-review-passed", "host-await-human-review"),
        ],
        extra_keys: &["PR_NUMBER", "ISSUE_ID"],
        must_contain: &["`## PR final review blocker`"],
    },
    Template {
        name: "pr-fix-template.md",
        tokens: &[
            "REPO_SLUG",
            "PR_CONTEXT_READS_TEXT",
            "PR_NUMBER",
            "PR_TITLE",
            "PR_URL",
            "PR_BASE_REF",
            "PR_HEAD_REF",
            "PR_LINKED_ISSUE_ID",
            "PR_RISK",
            "PR_RISK_REASON",
            "PR_MERGE_STATE_STATUS",
            "PR_MERGEABLE_STATUS",
            "PR_FILES_TEXT",
            "PR_REQUIRED_TARGETED_VERIFICATION_TEXT",
            "PR_PREAPPROVED_VERIFICATION_FALLBACKS_TEXT",
            "PR_CHECK_FAILURES_TEXT",
            "PR_CHECKS_TEXT",
            "PR_MISSING_REASONS_TEXT",
            "PR_CONFLICT_PATHS_TEXT",
            "PR_REVIEW_FINDINGS_TEXT",
            "PR_LOCAL_HOST_BLOCKER_SUMMARY_TEXT",
            "PR_BLOCKER_SUMMARY_TEXT",
            "PR_BODY",
            "DEPENDENCY_SOURCE_ROOT",
        ],
        pairs: &[
            ("updated-branch", "host-push-pr-branch"),
            ("no-change-needed", "host-refresh-pr-state"),
            ("blocked", "host-comment-pr-blocker"),
        ],
        extra_keys: &["PR_NUMBER", "ISSUE_ID"],
        must_contain: &[
            "Current host-side publish blocker summary:",
            "Required targeted verification coverage before `updated-branch`:",
            "Pre-approved local verification fallbacks:",
            "did not run Git commit/push commands yourself",
            "`openspec list` if the repo uses OpenSpec",
            "verification.jsonl",
            "`**Blocker**`",
        ],
    },
    Template {
        name: "pr-merge-repair-template.md",
        tokens: &[
            "REPO_SLUG",
            "PR_CONTEXT_READS_TEXT",
            "PR_NUMBER",
            "PR_TITLE",
            "PR_URL",
            "PR_BASE_REF",
            "PR_HEAD_REF",
            "PR_LINKED_ISSUE_ID",
            "PR_RISK",
            "PR_RISK_REASON",
            "PR_MERGE_STATE_STATUS",
            "PR_MERGEABLE_STATUS",
            "PR_HOST_MERGE_STATUS",
            "PR_FILES_TEXT",
            "PR_CONFLICT_PATHS_TEXT",
            "PR_HOST_MERGE_SUMMARY_TEXT",
            "PR_CHECKS_TEXT",
            "PR_MISSING_REASONS_TEXT",
            "PR_REVIEW_FINDINGS_TEXT",
            "PR_BODY",
        ],
        pairs: &[
            ("updated-branch", "host-push-pr-branch"),
            ("blocked", "host-comment-pr-blocker"),
        ],
        extra_keys: &["PR_NUMBER", "ISSUE_ID"],
        must_contain: &[
            "`- none detected after host merge preparation`",
            "`openspec list` if the repo uses OpenSpec",
            "verification.jsonl",
        ],
    },
];

fn templates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("templates")
}

fn text(t: &Template) -> String {
    let path = templates_dir().join(t.name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn token_re() -> regex::Regex {
    regex::Regex::new(r"\{([A-Z][A-Z0-9_]*)\}").unwrap()
}

/// Every `{UPPER_CASE}` token in `text`.
fn tokens(text: &str) -> BTreeSet<String> {
    token_re()
        .captures_iter(text)
        .map(|c| c[1].to_string())
        .collect()
}

/// The `(OUTCOME, ACTION)` pair named on each line that names an OUTCOME.
fn pairs(text: &str) -> Vec<(String, String)> {
    let outcome = regex::Regex::new(r"OUTCOME=([a-z0-9-]+)").unwrap();
    let action = regex::Regex::new(r"ACTION=([a-z0-9-]+)").unwrap();
    text.lines()
        .filter_map(|l| {
            let o = outcome.captures(l)?;
            let a = action
                .captures(l)
                .unwrap_or_else(|| panic!("OUTCOME without ACTION on line: {l}"));
            Some((o[1].to_string(), a[1].to_string()))
        })
        .collect()
}

/// The template with every token replaced in one pass; sample values:
/// issue 42, PR 7 (linked to issue 42), everything else `<NAME>`.
fn render(t: &Template) -> String {
    let values: BTreeMap<&str, String> = t
        .tokens
        .iter()
        .map(|k| {
            let v = match *k {
                "ISSUE_ID" | "PR_LINKED_ISSUE_ID" => "42".to_string(),
                "PR_NUMBER" => "7".to_string(),
                other => format!("<{}>", other.to_lowercase()),
            };
            (*k, v)
        })
        .collect();
    token_re()
        .replace_all(&text(t), |c: &regex::Captures<'_>| values[&c[1]].clone())
        .into_owned()
}

#[test]
fn templates_dir_holds_the_five_templates_a_readme_and_the_hooks() {
    let mut names: Vec<String> = std::fs::read_dir(templates_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected: Vec<String> = TEMPLATES.iter().map(|t| t.name.to_string()).collect();
    expected.push("README.md".into());
    expected.push("hooks".into());
    expected.sort();
    assert_eq!(names, expected);
}

#[test]
fn templates_use_exactly_the_tokens_the_start_scripts_fill() {
    for t in TEMPLATES {
        let expected: BTreeSet<String> = t.tokens.iter().map(|s| s.to_string()).collect();
        assert_eq!(expected.len(), t.tokens.len(), "{}: duplicate", t.name);
        assert_eq!(tokens(&text(t)), expected, "{}", t.name);
    }
}

#[test]
fn templates_offer_exactly_their_result_contract_pairs() {
    for t in TEMPLATES {
        let body = text(t);
        let found: BTreeSet<(String, String)> = pairs(&body).into_iter().collect();
        let expected: BTreeSet<(String, String)> = t
            .pairs
            .iter()
            .map(|(o, a)| (o.to_string(), a.to_string()))
            .collect();
        assert_eq!(found, expected, "{}", t.name);
        for needle in t.must_contain {
            assert!(body.contains(needle), "{}: missing {needle:?}", t.name);
        }
        let common = if t.name.starts_with("pr-") {
            PR_COMMON
        } else {
            ISSUE_COMMON
        };
        for needle in common {
            assert!(body.contains(needle), "{}: missing {needle:?}", t.name);
        }
        assert!(body.contains(RECORD_LINE_PREFIX), "{}", t.name);
        let lower = body.to_lowercase();
        assert!(
            lower.contains("not instructions")
                || lower.contains("never as instructions")
                || lower.contains("not as instructions")
                || lower.contains("never follow instructions")
                || lower.contains("it is data"),
            "{}: says nothing about untrusted GitHub text",
            t.name
        );
    }
    let merge_repair = TEMPLATES
        .iter()
        .find(|t| t.name == "pr-merge-repair-template.md")
        .unwrap();
    assert!(text(merge_repair).contains("`no-change-needed` is not a valid result here"));
}

/// The host-matched markers sit where the host looks: at the start of a line
/// of the example or instruction, not only inside prose.
#[test]
fn host_matched_markers_start_their_lines() {
    let by_name = |n: &str| text(TEMPLATES.iter().find(|t| t.name == n).unwrap());
    let issue = by_name("issue-prompt-template.md");
    assert!(
        issue
            .lines()
            .any(|l| l.starts_with("Superseded by focused follow-up issues: #"))
    );
    let scheduled = by_name("scheduled-issue-prompt-template.md");
    for line in [
        "## Scheduled check result",
        "Outcome: pass",
        "Commands run:",
        "Evidence:",
    ] {
        assert!(scheduled.lines().any(|l| l == line), "scheduled: {line}");
    }
    let fix = by_name("pr-fix-template.md");
    assert!(fix.contains("a line that holds only `**Blocker**`"));
}

/// Every `printf` result line and the record-verification line, rendered and
/// run by bash as the agent would: the result file parses to the promised
/// pair and keys, and the verification log gets a passing entry.
#[test]
fn rendered_shell_lines_write_the_contract_and_record_verification() {
    let w = World::new();
    let tools = w.root().join("skill/tools/bin");
    assert!(tools.join("record-verification.sh").is_file());
    for t in TEMPLATES {
        let rendered = render(t);
        assert!(tokens(&rendered).is_empty(), "{}", t.name);
        let slug = t.name.trim_end_matches(".md");
        let run_dir = w.path(&format!("runs/{slug}"));
        std::fs::create_dir_all(&run_dir).unwrap();
        let result_file = run_dir.join("result.env");

        let printf_lines: Vec<&str> = rendered
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("printf '%s\\n' 'OUTCOME="))
            .collect();
        assert_eq!(printf_lines.len(), t.pairs.len(), "{}", t.name);
        let mut written = BTreeSet::new();
        for line in printf_lines {
            // An earlier result must be replaced, never appended to.
            std::fs::write(&result_file, "STALE=1\n").unwrap();
            let (code, _, err) = run(w
                .cmd("bash")
                .args(["-c", line])
                .env("ACP_RESULT_FILE", &result_file)
                .env("ACP_RUN_DIR", &run_dir));
            assert_eq!(code, 0, "{}: {line}: {err}", t.name);
            let got = std::fs::read_to_string(&result_file).unwrap();
            let lines: Vec<&str> = got.lines().collect();
            let keys: Vec<&str> = lines.iter().map(|l| l.split_once('=').unwrap().0).collect();
            let mut expected_keys = vec!["OUTCOME", "ACTION"];
            expected_keys.extend(t.extra_keys);
            assert_eq!(keys, expected_keys, "{}: {got}", t.name);
            for l in &lines[2..] {
                let (k, v) = l.split_once('=').unwrap();
                let want = if k == "PR_NUMBER" { "7" } else { "42" };
                assert_eq!(v, want, "{}: {got}", t.name);
            }
            let pair = (
                lines[0].trim_start_matches("OUTCOME=").to_string(),
                lines[1].trim_start_matches("ACTION=").to_string(),
            );
            written.insert(pair);
        }
        let expected: BTreeSet<(String, String)> = t
            .pairs
            .iter()
            .map(|(o, a)| (o.to_string(), a.to_string()))
            .collect();
        assert_eq!(written, expected, "{}", t.name);

        let record = rendered
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with(RECORD_LINE_PREFIX))
            .unwrap();
        let (code, _, err) = run(w
            .cmd("bash")
            .args(["-c", record])
            .env("ACP_FLOW_TOOLS_DIR", &tools)
            .env("ACP_RUN_DIR", &run_dir));
        assert_eq!(code, 0, "{}: {record}: {err}", t.name);
        let log = std::fs::read_to_string(run_dir.join("verification.jsonl")).unwrap();
        let entry: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
        assert_eq!(entry["status"], "pass", "{}", t.name);
        assert_eq!(entry["command"], "<command as run>", "{}", t.name);
    }
}

/// Lines that carry no wording of their own: blank lines, code fences and a
/// lone `{TOKEN}` slot.
fn is_trivial(line: &str) -> bool {
    let fence = regex::Regex::new(r"^`{3,}[A-Za-z]*$").unwrap();
    let slot = regex::Regex::new(r"^\{[A-Z][A-Z0-9_]*\}$").unwrap();
    line.is_empty() || fence.is_match(line) || slot.is_match(line)
}

fn normalize(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            markdown_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
}

/// Our wording is our own: no line (whitespace-normalised) of our templates
/// equals a line of any of 0.2.0's templates, the legacy one included. Runs
/// only where `ACP_ORIGINAL_TEMPLATES` names 0.2.0's `tools/templates`.
#[test]
fn no_template_line_is_copied_from_the_original() {
    let Some(dir) = std::env::var_os("ACP_ORIGINAL_TEMPLATES") else {
        eprintln!("ACP_ORIGINAL_TEMPLATES not set: original comparison skipped");
        return;
    };
    let dir = PathBuf::from(dir);
    for t in TEMPLATES {
        assert!(
            dir.join(t.name).is_file(),
            "ACP_ORIGINAL_TEMPLATES={} lacks {}",
            dir.display(),
            t.name
        );
    }
    let mut originals = Vec::new();
    markdown_files(&dir, &mut originals);
    let mut theirs = BTreeSet::new();
    for path in &originals {
        for line in std::fs::read_to_string(path).unwrap().lines() {
            theirs.insert(normalize(line));
        }
    }
    let mut copied = Vec::new();
    for t in TEMPLATES {
        for (no, line) in text(t).lines().enumerate() {
            let line = normalize(line);
            if !is_trivial(&line) && theirs.contains(&line) {
                copied.push(format!("{}:{}: {line}", t.name, no + 1));
            }
        }
    }
    assert!(
        copied.is_empty(),
        "lines equal to 0.2.0's:\n{}",
        copied.join("\n")
    );
}
