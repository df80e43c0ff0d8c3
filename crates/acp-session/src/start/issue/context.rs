//! The text a start of an issue worker derives from the issue (spec 3.5
//! steps 3, 8, 9): schedule, slug, missing OpenSpec paths, the recurring
//! and blocker context, the verification suggestions, the resident and
//! guardrail addenda, and the blocker comments of the early stops.
//!
//! Everything here only builds text. Issue titles, bodies and comments are
//! data: nothing in them is run (F4), and rendering is one pass (F15).

use std::collections::BTreeMap;
use std::path::Path;

use regex::Regex;

fn re(p: &str) -> Regex {
    // The patterns are constants of this file, covered by its tests.
    #[allow(clippy::expect_used)]
    Regex::new(p).expect("constant pattern")
}

/// The worktree slug of a title: lower case, runs of other characters
/// than `a-z0-9` become `-`, trimmed, at most 48 characters, `issue` when
/// nothing is left.
pub fn issue_slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out: String = out.trim_end_matches('-').chars().take(48).collect();
    if out.is_empty() { "issue".into() } else { out }
}

/// `openspec/changes/...` paths the body names that do not exist under
/// `repo_root`, once each, in order.
pub fn missing_openspec_paths(body: &str, repo_root: &Path) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for m in re(r"openspec/changes/[A-Za-z0-9._/-]+").find_iter(body) {
        let p = m.as_str().to_string();
        if !seen.contains(&p) {
            seen.push(p);
        }
    }
    seen.retain(|p| !repo_root.join(p).exists());
    seen
}

/// The blocker comment of a body naming missing OpenSpec paths; its first
/// line is what the reconcile and the heartbeat recognise.
pub fn missing_openspec_comment(issue_id: &str, missing: &[String]) -> String {
    let list: Vec<String> = missing.iter().map(|p| format!("- {p}")).collect();
    format!(
        "{}\n\nThe issue points at change packages that the clean baseline checkout used by automation does not contain:\n{}\n\nWithout them a worker would have to guess the scope and the requirements. To unblock, point the issue at specs that exist, or restore the missing change packages, then queue the issue again.",
        missing_openspec_heading(issue_id),
        list.join("\n")
    )
}

/// The first line of [`missing_openspec_comment`].
pub fn missing_openspec_heading(issue_id: &str) -> String {
    format!("Blocked on missing referenced OpenSpec paths for issue #{issue_id}.")
}

/// The heading of the completed-checklist blocker.
pub const CHECKLIST_DONE_HEADING: &str = "# Blocker: All checklist items already completed";

/// The blocker comment of a recurring issue whose checklist is all ticked;
/// `matched` is the sync's `CHECKLIST_MATCHED_PR_NUMBERS` (`11,12`).
pub fn checklist_done_comment(issue_id: &str, matched: &str) -> String {
    let mut text = format!(
        "{CHECKLIST_DONE_HEADING}\n\nEvery checklist item of issue #{issue_id} is already ticked on the current baseline, so this run stopped before starting a worker.\n\n- the issue body was compared with the merged PR history just before this decision\n- another cycle would find nothing listed left to do\n\nNext step: add new unchecked items to the issue body, then queue the issue again."
    );
    let prs: Vec<String> = matched
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| format!("#{p}"))
        .collect();
    if !prs.is_empty() {
        text.push_str(&format!("\n\nRecently matched PRs: {}", prs.join(", ")));
    }
    text
}

/// `Opened PR #N` numbers of the comments, once each, the last five,
/// newest first.
pub fn recent_opened_prs(comments: &[String]) -> Vec<u64> {
    let pat = re(r"Opened PR #(\d+)");
    let mut all: Vec<u64> = Vec::new();
    for c in comments {
        for m in pat.captures_iter(c) {
            if let Ok(n) = m[1].parse::<u64>()
                && n > 0
                && !all.contains(&n)
            {
                all.push(n);
            }
        }
    }
    let start = all.len().saturating_sub(5);
    all[start..].iter().rev().copied().collect()
}

/// A PR named by the recurring context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrLine {
    pub number: u64,
    pub title: String,
    pub url: String,
    /// `open`, `draft`, `merged`, `closed`, or `unknown` (unreadable).
    pub state: String,
}

impl PrLine {
    fn line(&self) -> String {
        let url = if self.url.is_empty() {
            String::new()
        } else {
            format!(" {}", self.url)
        };
        format!("- #{} ({}): {}{url}", self.number, self.state, self.title)
    }

    fn active(&self) -> bool {
        self.state == "open" || self.state == "draft"
    }
}

/// Up to three notes from the latest comments that report a cycle
/// (`Completed`, `Blocked on`, `# Blocker:`, `Host-side publish blocked`
/// or `failed` at the start of a line): their first six non-empty lines
/// joined by ` | `, at most 420 characters.
pub fn cycle_notes(comments: &[String]) -> Vec<String> {
    let pat = re(
        r"(?im)^(?:Completed|Blocked on|# Blocker:|Host-side publish blocked|Host-side publish failed)",
    );
    let mut notes = Vec::new();
    for c in comments.iter().rev() {
        let body = c.trim();
        if body.is_empty() || !pat.is_match(body) {
            continue;
        }
        let lines: Vec<&str> = body
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .take(6)
            .collect();
        let summary = lines.join(" | ");
        let note = if summary.chars().count() > 420 {
            format!("{}...", summary.chars().take(417).collect::<String>())
        } else {
            summary
        };
        notes.push(note);
        if notes.len() >= 3 {
            break;
        }
    }
    notes
}

/// `{ISSUE_RECURRING_CONTEXT}` of an `agent-keep-open` issue.
pub fn recurring_context(prs: &[PrLine], notes: &[String]) -> String {
    let mut lines: Vec<String> = [
        "",
        "## Recurring Issue Guardrails",
        "This issue carries `agent-keep-open`: it comes back cycle after cycle.",
        "- Pick one concrete target (a module, a screen, a flow) before you edit, and keep this cycle to it.",
        "- Leave alone what an open or draft PR of this issue already covers, and what the latest completed cycles below did, unless you are fixing a regression they caused.",
        "- When no small target without overlap is left, finish as blocked (the blocker contract) instead of forcing another PR.",
        "- Prefer the recent cycle notes below over repeating broad web research; look outside only when the baseline or a linked advisory has changed.",
        "- Start your final output with a `Target:` line and a `Why now:` line, before the list of changed files.",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (active, done): (Vec<&PrLine>, Vec<&PrLine>) = prs.iter().partition(|p| p.active());
    if !active.is_empty() {
        lines.push(String::new());
        lines.push("### Open PRs of this issue (do not overlap them)".into());
        lines.extend(active.iter().map(|p| p.line()));
    }
    if !done.is_empty() {
        lines.push(String::new());
        lines.push("### Recently finished cycles".into());
        lines.extend(done.iter().map(|p| p.line()));
    }
    if !notes.is_empty() {
        lines.push(String::new());
        lines.push("### Recent cycle notes from issue comments".into());
        lines.extend(notes.iter().map(|n| format!("- {n}")));
    }
    format!("{}\n", lines.join("\n"))
}

/// `KEY=value` lines of `retry-state.sh ... get` (raw values).
pub fn parse_kv(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}

/// The failure reason a blocker comment names or implies.
pub fn reason_from_comment(body: &str) -> String {
    let lower = body.to_ascii_lowercase();
    if let Some(i) = lower.find("failure reason:") {
        let tail = &body[i + "failure reason:".len()..];
        if let Some(q) = tail.split('`').nth(1)
            && !q.trim().is_empty()
        {
            return q.trim().to_string();
        }
    }
    let line = |h: &str| body.lines().any(|l| l.eq_ignore_ascii_case(h));
    if line("# Blocker: Verification requirements were not satisfied") {
        return "verification-guard-blocked".into();
    }
    if line("# Blocker: Localization requirements were not satisfied") {
        return "localization-guard-blocked".into();
    }
    if line("# Blocker: All checklist items already completed")
        || line("# Blocker: Worker produced no publishable delta")
    {
        return "no-publishable-commits".into();
    }
    if lower.contains("scope guard") {
        return "scope-guard-blocked".into();
    }
    if line("# Blocker: Provider quota is currently exhausted") {
        return "provider-quota-limit".into();
    }
    String::new()
}

/// Whether a comment is a blocker the next cycle must know about.
fn is_blocker_comment(body: &str) -> bool {
    let lower = body.to_ascii_lowercase();
    [
        "host-side publish blocked for session",
        "host-side publish failed for session",
        "blocked on missing referenced openspec paths for issue",
        "superseded by focused follow-up issues:",
        "why it was blocked:",
    ]
    .iter()
    .any(|s| lower.contains(s))
        || lower.starts_with("# blocker:")
}

fn follow_up_hint(issue_number: &str) -> String {
    format!(
        "`bash \"$ACP_FLOW_TOOLS_DIR/create-follow-up-issue.sh\" --parent {issue_number} --title \"...\" --body-file /tmp/follow-up.md`"
    )
}

/// `{ISSUE_BLOCKER_CONTEXT}`: empty unless the issue is `agent-blocked`;
/// then the recorded reason (or the one the latest blocker comment
/// implies), the attempts, advice for that reason, and the comment itself
/// (at most 1600 characters).
pub fn blocker_context(
    labels: &[String],
    comments: &[String],
    retry: &BTreeMap<String, String>,
    issue_number: &str,
) -> String {
    if !labels.iter().any(|l| l == "agent-blocked") {
        return String::new();
    }
    let get = |k: &str| {
        retry
            .get(k)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let attempts: i64 = leading_int(&get("ATTEMPTS"));
    let recorded = get("LAST_REASON");
    let next_at = get("NEXT_ATTEMPT_AT");
    let comment = comments.iter().rev().find(|c| is_blocker_comment(c));
    let reason = if !recorded.is_empty() && recorded != "issue-worker-blocked" {
        recorded
    } else {
        let inferred = comment.map(|c| reason_from_comment(c)).unwrap_or_default();
        if inferred.is_empty() {
            recorded
        } else {
            inferred
        }
    };
    let mut lines: Vec<String> = vec![
        String::new(),
        "## Prior Blocker Context".into(),
        "This issue is being retried after an `agent-blocked` stop.".into(),
    ];
    let Some(comment) = comment.filter(|c| !c.is_empty()) else {
        lines.push("- Deal with that blocker first; do not repeat the same broad approach.".into());
        push_reason_lines(&mut lines, &reason, attempts);
        if reason == "scope-guard-blocked" && attempts >= 2 {
            lines.push("- The scope guard has stopped this issue more than once: do not try another wide patch across many areas.".into());
            lines.push(format!("- Ship one slice that fits the scope guard, or split the rest into focused follow-up issues with {} and supersede the umbrella issue.", follow_up_hint(issue_number)));
        }
        return lines.join("\n");
    };
    lines.push(
        "- Resolve the blocker quoted below before another implementation or publish cycle.".into(),
    );
    push_reason_lines(&mut lines, &reason, attempts);
    if !next_at.is_empty() {
        lines.push(format!("- The previous retry was scheduled for {next_at}."));
    }
    match reason.as_str() {
        "scope-guard-blocked" => {
            lines.push("- Treat this as a scope problem first: narrow the change to one safe slice, or split the issue into focused follow-up issues.".into());
            if attempts >= 2 {
                lines.push(format!("- The scope guard has fired several times, so do not retry the same umbrella patch: open follow-up issues for the remaining slices with {}, then supersede the umbrella if they cover all of it.", follow_up_hint(issue_number)));
            }
        }
        "verification-guard-blocked" => lines.push("- Add the missing verification or shrink the touched surface before attempting another publish cycle.".into()),
        "localization-guard-blocked" => lines.push("- Move the remaining user-facing strings behind translation keys before another publish cycle.".into()),
        _ => {}
    }
    lines.push(String::new());
    lines.push(clip_comment(comment.trim()));
    lines.join("\n")
}

fn push_reason_lines(lines: &mut Vec<String>, reason: &str, attempts: i64) {
    if !reason.is_empty() {
        lines.push(format!("- Last recorded blocker: `{reason}`."));
    }
    if attempts > 0 {
        lines.push(format!("- Blocked retries so far: {attempts}."));
    }
}

/// The leading decimal integer of `s` (`parseInt`), 0 when none.
fn leading_int(s: &str) -> i64 {
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or(0)
}

fn clip_comment(body: &str) -> String {
    if body.chars().count() > 1600 {
        let head: String = body.chars().take(1600).collect();
        format!("{}\n\n[truncated]", head.trim_end())
    } else {
        body.to_string()
    }
}

/// A value as one single-quoted shell word (nothing in it expands when the
/// agent runs the line).
fn shell_word(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `{ISSUE_VERIFICATION_COMMAND_SNIPPET}`: the backticked commands of the
/// first 40 body lines that are bullets asking to run something, each
/// followed by its `record-verification.sh` line; else generic guidance.
/// Only text: the host never runs these (F4).
pub fn verification_snippet(body: &str, repo_root: &Path) -> String {
    let wants =
        re(r"(?i)(?:\bRun\b|\balso run\b|\bafter code changes\b|\bevery completed cycle\b)");
    let bullet = re(r"^\s*-\s+");
    let tick = re(r"`([^`]+)`");
    let mut cmds: Vec<String> = Vec::new();
    let add = |c: &str, cmds: &mut Vec<String>| {
        let c = c.trim();
        if !c.is_empty() && !cmds.iter().any(|x| x == c) {
            cmds.push(c.to_string());
        }
    };
    for line in body.split('\n').map(|l| l.trim_end_matches('\r')).take(40) {
        if bullet.is_match(line) && wants.is_match(line) {
            for m in tick.captures_iter(line) {
                add(&m[1], &mut cmds);
            }
        }
    }
    if cmds.is_empty() && has_smoke_script(repo_root) {
        add(
            "# If this cycle touches smoke runners, CLI entry points or operator commands, also run the repository's smoke command.",
            &mut cmds,
        );
    }
    if cmds.is_empty() {
        for c in GENERIC_GUIDANCE {
            add(c, &mut cmds);
        }
    }
    cmds.iter()
        .map(|c| {
            if c.starts_with('#') {
                c.clone()
            } else {
                format!(
                    "{c}\nbash \"$ACP_FLOW_TOOLS_DIR/record-verification.sh\" --run-dir \"$ACP_RUN_DIR\" --status pass --command {}",
                    shell_word(c)
                )
            }
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

const GENERIC_GUIDANCE: &[&str] = &[
    "# Pick the narrowest relevant local verification for the files you touch.",
    "# Do not default to repo-wide pnpm test unless the issue text asks for it.",
    "# For example (adapt the package names and targets):",
    "# pnpm --filter @<repo>/api test -- --runInBand <target-spec>",
    "# pnpm --filter @<repo>/api typecheck",
    "# pnpm --filter @<repo>/web test -- --run <target-spec>",
    "# pnpm --filter @<repo>/web typecheck",
    "# pnpm --filter @<repo>/<package> test -- --run <target-spec>",
    "# pnpm --filter @<repo>/<package> typecheck",
    "# Record every command that passes with record-verification.sh, as shown above.",
];

fn has_smoke_script(repo_root: &Path) -> bool {
    if repo_root.as_os_str().is_empty() {
        return false;
    }
    let Ok(Some(bytes)) =
        acp_core::fsx::read_capped_if_exists(&repo_root.join("package.json"), 4 << 20)
    else {
        return false;
    };
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("scripts")?.get("smoke").cloned())
        .is_some_and(|s| !s.is_null() && s != serde_json::Value::Bool(false) && s != "")
}

/// The "Resident Worker Context" addendum of a resident run.
pub fn resident_context(task_count: u64, reused: bool) -> String {
    format!(
        "\n## Resident Worker Context\n\n- This issue runs in a resident lane: one warm worktree serves the lane's recurring and scheduled issues one after another.\n- Resident task count for this lane: {task_count}.\n- Worktree reused from a prior cycle: {}.\n- Saved context can spare you a full re-read, but check the current state of the repository before you edit: it may have moved since.\n- Keep to one focused slice; having context at hand is no reason to widen the scope.",
        if reused { "yes" } else { "no" }
    )
}

/// The fixed "Host Quality Guardrails" addendum of every issue prompt.
pub const QUALITY_GUARDRAILS: &str = "\n## Host Quality Guardrails\n\n- Run `git status --short` before you commit and drop unrelated generated files and local bootstrap leftovers, so the commit holds only the intended code, tests and docs.\n- Keep `.agent-session.env`, `.openclaw*` and incidental lockfile changes out of commits unless the issue is about dependency manifests or package tooling.\n- If you changed CLI or operator-facing commands (flags, argument parsing, help or usage text, entry-point scripts), add or update a regression test and record at least one direct invocation of the changed path before committing.";

/// The rendered template with its addenda: trailing whitespace trimmed, a
/// blank line, the resident context (when given) and the guardrails, one
/// final newline.
pub fn with_addenda(rendered: &str, resident: Option<&str>) -> String {
    let parts: Vec<&str> = [resident.unwrap_or(""), QUALITY_GUARDRAILS]
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    format!("{}\n\n{}\n", rendered.trim_end(), parts.join("\n\n"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(
            issue_slug("Fix the $(touch x) `bug`!"),
            "fix-the-touch-x-bug"
        );
        assert_eq!(issue_slug("???"), "issue");
        assert_eq!(issue_slug(&"a".repeat(60)).len(), 48);
    }

    #[test]
    fn snippet_lists_bullet_commands_and_quotes_them_for_the_shell() {
        let body = "- Run `npm test` and `npm run smoke`\n- mention `ignored`\n- Run `echo $(touch x) 'q'`";
        let s = verification_snippet(body, Path::new(""));
        assert!(
            s.starts_with("npm test\nbash \"$ACP_FLOW_TOOLS_DIR/record-verification.sh\""),
            "{s}"
        );
        assert!(s.contains("--command 'npm run smoke'"), "{s}");
        assert!(s.contains(r"--command 'echo $(touch x) '\''q'\'''"), "{s}");
        assert!(!s.contains("ignored"));
        let g = verification_snippet("nothing", Path::new(""));
        assert!(g.contains("Pick the narrowest relevant local verification"));
        assert!(!g.lines().any(|l| l == "pnpm test"));
    }

    #[test]
    fn blocker_context_infers_a_generic_reason_from_the_comment() {
        let labels = vec!["agent-blocked".to_string()];
        let comments = vec![
            "unrelated".to_string(),
            "# Blocker: Verification requirements were not satisfied\n\nmore".to_string(),
        ];
        let retry = parse_kv("ATTEMPTS=2\nLAST_REASON=issue-worker-blocked\n");
        let c = blocker_context(&labels, &comments, &retry, "7");
        assert!(
            c.contains("Last recorded blocker: `verification-guard-blocked`."),
            "{c}"
        );
        assert!(c.contains("Blocked retries so far: 2."));
        assert!(c.ends_with("more"));
        assert!(blocker_context(&[], &comments, &retry, "7").is_empty());
    }

    #[test]
    fn recurring_context_sections() {
        let prs = vec![
            PrLine {
                number: 3,
                title: "t3".into(),
                url: "u3".into(),
                state: "open".into(),
            },
            PrLine {
                number: 2,
                title: "t2".into(),
                url: String::new(),
                state: "merged".into(),
            },
        ];
        let notes = cycle_notes(&["Completed one\n\nx".into(), "chatter".into()]);
        let c = recurring_context(&prs, &notes);
        assert!(c.contains("- #3 (open): t3 u3\n"), "{c}");
        assert!(c.contains("- #2 (merged): t2\n"), "{c}");
        assert!(c.contains("### Recent cycle notes from issue comments\n- Completed one | x\n"));
        assert_eq!(
            recent_opened_prs(&["Opened PR #1, Opened PR #2".into(), "Opened PR #1".into()]),
            vec![2, 1]
        );
    }

    #[test]
    fn checklist_comment() {
        let c = checklist_done_comment("42", "11,12");
        assert!(c.starts_with(CHECKLIST_DONE_HEADING));
        assert!(c.ends_with("\n\nRecently matched PRs: #11, #12"));
    }
}
