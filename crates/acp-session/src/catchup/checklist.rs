//! The checklist sync of a recurring (`agent-keep-open`) issue: an unticked
//! `- [ ] item` line is ticked when a merged PR the issue's `Opened PR #N`
//! comments name did the item (word and code-token overlap), or when a
//! session reported every item done (`# Blocker: All checklist items
//! already completed`).
//!
//! F6: each merged PR and each such blocker comment is applied once, and a
//! blocker only ticks items that were there before it. The body keeps a
//! hidden line naming what was applied and the items the last sync saw
//! (`<!-- acp:checklist-sync prs=11,12 blockers=<createdAt> items=<hashes> -->`),
//! so an item a human adds or unticks later is never ticked by an old PR or
//! blocker; a body is only written for a recurring issue.
//! Lines are rewritten one by one: an item's text is never re-read as a
//! template or a pattern (F15), and text with `=` is kept whole (F20).

use std::collections::BTreeSet;

use acp_github::Gh;
use regex::Regex;

/// The label that makes an issue recurring.
pub const RECURRING_LABEL: &str = "agent-keep-open";
/// The heading of a session's "everything is done" blocker.
pub const ALL_DONE_HEADING: &str = "# Blocker: All checklist items already completed";
const MARKER_START: &str = "<!-- acp:checklist-sync ";

/// A PR as the matcher needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrInfo {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub merged: bool,
}

/// The issue as the sync needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssueInfo {
    pub body: String,
    pub labels: Vec<String>,
    /// `(body, createdAt)`.
    pub comments: Vec<(String, String)>,
}

/// What a sync found and what it would write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// `updated`, `noop`, `skipped-not-recurring`, `skipped-no-checklist`.
    pub status: &'static str,
    pub total: usize,
    pub checked: usize,
    pub unchecked: usize,
    pub matched_prs: Vec<u64>,
    /// The new body, when one is to be written.
    pub new_body: Option<String>,
}

/// What earlier syncs applied, read from the body's hidden line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    pub prs: BTreeSet<u64>,
    pub blockers: BTreeSet<String>,
    /// The item keys ([`item_key`]) the last sync saw; `None` without a
    /// hidden line (a body 0.2.0 or a human wrote).
    pub items: Option<BTreeSet<String>>,
}

/// The key an item is remembered by: a hash of its trimmed text.
pub fn item_key(text: &str) -> String {
    format!("{:012x}", fnv(text.trim()) >> 16)
}

fn fnv(text: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in text.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
    }
    h
}

impl Applied {
    pub fn parse(body: &str) -> Self {
        let mut a = Self::default();
        for line in body.lines() {
            let Some(rest) = line.trim().strip_prefix(MARKER_START) else {
                continue;
            };
            for word in rest.trim_end_matches("-->").split_whitespace() {
                if let Some(v) = word.strip_prefix("prs=") {
                    a.prs
                        .extend(v.split(',').filter_map(|n| n.parse::<u64>().ok()));
                } else if let Some(v) = word.strip_prefix("blockers=") {
                    a.blockers
                        .extend(v.split(',').filter(|b| !b.is_empty()).map(str::to_string));
                } else if let Some(v) = word.strip_prefix("items=") {
                    let items = a.items.get_or_insert_with(BTreeSet::new);
                    items.extend(v.split(',').filter(|b| !b.is_empty()).map(str::to_string));
                }
            }
        }
        a
    }

    fn line(&self) -> String {
        let prs: Vec<String> = self.prs.iter().map(u64::to_string).collect();
        let blockers: Vec<&str> = self.blockers.iter().map(String::as_str).collect();
        let items: Vec<&str> = self.items.iter().flatten().map(String::as_str).collect();
        format!(
            "{MARKER_START}prs={} blockers={} items={} -->",
            prs.join(","),
            blockers.join(","),
            items.join(",")
        )
    }
}

/// The id a blocker comment is remembered by: its creation time, else a
/// hash of its text.
fn blocker_id(body: &str, created: &str) -> String {
    if !created.is_empty() && !created.contains([',', ' ']) {
        return created.to_string();
    }
    format!("h{:016x}", fnv(body))
}

/// The PR numbers of every `Opened PR #N` comment, first mention first.
pub fn opened_pr_numbers(comments: &[(String, String)]) -> Vec<u64> {
    let mut seen = Vec::new();
    for (body, _) in comments {
        for n in super::opened_prs(body) {
            if !seen.contains(&n) {
                seen.push(n);
            }
        }
    }
    seen
}

/// Computes the sync of `issue` against `prs` (pure).
pub fn plan(issue: &IssueInfo, prs: &[PrInfo]) -> Outcome {
    let recurring = issue.labels.iter().any(|l| l == RECURRING_LABEL);
    let mut applied = Applied::parse(&issue.body);
    let blocker_re = Regex::new(&format!(r"(?m)^{}\b", regex::escape(ALL_DONE_HEADING))).ok();
    let new_blockers: Vec<String> = issue
        .comments
        .iter()
        .filter(|(b, _)| blocker_re.as_ref().is_some_and(|re| re.is_match(b)))
        .map(|(b, c)| blocker_id(b, c))
        .filter(|id| !applied.blockers.contains(id))
        .collect();
    let new_prs: Vec<&PrInfo> = prs
        .iter()
        .filter(|p| p.merged && !applied.prs.contains(&p.number))
        .collect();
    let matchers: Vec<matching::PrMatcher> = new_prs
        .iter()
        .map(|p| matching::PrMatcher::new(p))
        .collect();
    let Ok(item_re) = Regex::new(r"^(\s*-\s+\[)( |x|X)(\]\s+)(.*)$") else {
        return Outcome::default();
    };
    let tick = recurring;
    let (mut total, mut checked, mut changed) = (0, 0, false);
    let mut matched_prs: Vec<u64> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let lines: Vec<String> = issue
        .body
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
        .collect();
    let mut out = Vec::with_capacity(lines.len());
    for line in &lines {
        let Some(c) = item_re.captures(line) else {
            out.push(line.clone());
            continue;
        };
        total += 1;
        let (head, mark, tail, text) = (&c[1], &c[2], &c[3], &c[4]);
        if mark.eq_ignore_ascii_case("x") {
            checked += 1;
            out.push(line.clone());
            continue;
        }
        seen.insert(item_key(text));
        // A blocker covers the items the previous sync saw (all of them
        // when no sync left its line yet, as 0.2.0 did).
        let covered = applied
            .items
            .as_ref()
            .is_none_or(|items| items.contains(&item_key(text)));
        let by = if !tick {
            None
        } else if !new_blockers.is_empty() && covered {
            Some(None)
        } else {
            matching::best(text, &matchers).map(Some)
        };
        match by {
            Some(pr) => {
                if let Some(n) = pr.filter(|n| !matched_prs.contains(n)) {
                    matched_prs.push(n);
                }
                checked += 1;
                changed = true;
                out.push(format!("{head}x{tail}{text}"));
            }
            None => out.push(line.clone()),
        }
    }
    let status = if !recurring {
        "skipped-not-recurring"
    } else if total == 0 {
        "skipped-no-checklist"
    } else if changed {
        "updated"
    } else {
        "noop"
    };
    let grew = !new_blockers.is_empty() || !new_prs.is_empty();
    let items_changed = applied.items.as_ref() != Some(&seen);
    let new_body = (recurring && total > 0 && (changed || grew || items_changed)).then(|| {
        applied.blockers.extend(new_blockers);
        applied.prs.extend(new_prs.iter().map(|p| p.number));
        applied.items = Some(seen);
        with_marker(&out, &applied)
    });
    Outcome {
        status,
        total,
        checked,
        unchecked: total - checked,
        matched_prs,
        new_body,
    }
}

/// The lines joined with the hidden line replaced, or appended after a
/// blank line.
fn with_marker(lines: &[String], applied: &Applied) -> String {
    let mut out: Vec<String> = Vec::with_capacity(lines.len() + 2);
    let mut placed = false;
    for l in lines {
        if l.trim().starts_with(MARKER_START) {
            if !placed {
                out.push(applied.line());
                placed = true;
            }
        } else {
            out.push(l.clone());
        }
    }
    if !placed {
        while out.last().is_some_and(|l| l.trim().is_empty()) {
            out.pop();
        }
        out.push(String::new());
        out.push(applied.line());
        out.push(String::new());
    }
    out.join("\n")
}

/// Reads the issue (one call, comments included) and the merged PRs not
/// yet applied (a PR that cannot be read is left out, as by the original),
/// plans, and writes the new body unless `dry_run`. A failed read of the
/// issue or a failed write is the error; nothing is written then.
pub fn sync(gh: &Gh, repo: &str, issue_id: u64, dry_run: bool) -> anyhow::Result<Outcome> {
    let thread = gh.issue_thread(repo, issue_id)?;
    let issue = IssueInfo {
        body: thread.body.clone(),
        labels: thread.labels.clone(),
        comments: thread
            .comments
            .iter()
            .map(|c| (c.body.clone(), c.created_at.clone()))
            .collect(),
    };
    let applied = Applied::parse(&issue.body);
    let prs: Vec<PrInfo> = opened_pr_numbers(&issue.comments)
        .into_iter()
        .filter(|n| !applied.prs.contains(n))
        .filter_map(|n| gh.pr(repo, n).ok())
        .map(|p| PrInfo {
            number: p.number,
            title: p.title.clone(),
            body: p.body.clone(),
            merged: !p.merged_at.trim().is_empty() || p.state.eq_ignore_ascii_case("MERGED"),
        })
        .collect();
    let outcome = plan(&issue, &prs);
    if let (Some(body), false) = (&outcome.new_body, dry_run) {
        gh.update_issue_body(repo, issue_id, body)?;
    }
    Ok(outcome)
}

pub mod matching;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn issue(body: &str, comments: &[(&str, &str)]) -> IssueInfo {
        IssueInfo {
            body: body.to_string(),
            labels: vec![RECURRING_LABEL.to_string()],
            comments: comments
                .iter()
                .map(|(b, c)| (b.to_string(), c.to_string()))
                .collect(),
        }
    }

    fn pr(n: u64, title: &str, body: &str) -> PrInfo {
        PrInfo {
            number: n,
            title: title.into(),
            body: body.into(),
            merged: true,
        }
    }

    const BODY: &str = "Checklist:\n- [ ] Add a `completedRatio` field to the summary output.\n\
                        - [ ] Document one example command per output mode in `README.md`.\n";

    #[test]
    fn merged_prs_tick_the_items_they_did_once() {
        let prs = [
            pr(
                11,
                "feat(task-metrics): add completedRatio to summary output",
                "Implements it.",
            ),
            pr(
                12,
                "docs(readme): add example commands per output mode",
                "Adds README examples for each output mode.",
            ),
        ];
        let o = plan(&issue(BODY, &[]), &prs);
        assert_eq!(
            (o.status, o.total, o.checked, o.unchecked),
            ("updated", 2, 2, 0)
        );
        assert_eq!(o.matched_prs, [11, 12]);
        let body = o.new_body.unwrap();
        assert!(
            body.contains("- [x] Add a `completedRatio` field"),
            "{body}"
        );
        assert!(body.contains("<!-- acp:checklist-sync prs=11,12 blockers= items="));
        // A human unticks an item and adds a similar one: the same PRs
        // never tick them again (F6).
        let edited = body.replace("- [x] Add a", "- [ ] Add a")
            + "- [ ] Add a completedRatio field to the summary output\n";
        let again = plan(&issue(&edited, &[]), &prs);
        assert_eq!(
            (again.status, again.checked, again.unchecked),
            ("noop", 1, 2)
        );
        // Only the hidden line changes (the new item is remembered).
        let text = |b: &str| -> Vec<String> {
            b.lines()
                .filter(|l| !l.contains("acp:checklist-sync"))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(text(&again.new_body.unwrap()), text(&edited));
    }

    #[test]
    fn a_blocker_ticks_what_was_there_once() {
        let body = "- [x] a thing\n- [ ] Expose `blockedCount` directly\n";
        let blocker = (
            format!("{ALL_DONE_HEADING}\n\nAll done."),
            "2026-03-28T17:39:37Z".to_string(),
        );
        let c = [(blocker.0.as_str(), blocker.1.as_str())];
        let o = plan(&issue(body, &c), &[]);
        assert_eq!((o.status, o.checked, o.unchecked), ("updated", 2, 0));
        let written = o.new_body.unwrap();
        assert!(written.contains("- [x] Expose `blockedCount` directly"));
        // An item added after the blocker is left alone (F6).
        let added = written + "- [ ] a new item a human added\n";
        let again = plan(&issue(&added, &c), &[]);
        assert_eq!((again.status, again.unchecked), ("noop", 1));
        let again = plan(&issue(&again.new_body.unwrap(), &c), &[]);
        assert_eq!(again.unchecked, 1);
        assert_eq!(again.new_body, None);
    }

    #[test]
    fn a_blocker_posted_after_a_sync_leaves_items_added_later_alone() {
        // The host syncs (everything ticked), then posts the blocker; a
        // human follows its advice and adds an item (F6).
        let first = plan(&issue("- [x] done\n", &[]), &[]);
        assert_eq!((first.status, first.unchecked), ("noop", 0));
        let edited = first.new_body.unwrap() + "- [ ] Brand new improvement\n";
        let c = [(ALL_DONE_HEADING, "2026-03-28T17:39:37Z")];
        let o = plan(&issue(&edited, &c), &[]);
        assert_eq!((o.status, o.checked, o.unchecked), ("noop", 1, 1));
        assert!(o.new_body.unwrap().contains("- [ ] Brand new improvement"));
    }

    #[test]
    fn a_non_recurring_issue_is_never_written() {
        let mut i = issue(BODY, &[(ALL_DONE_HEADING, "t")]);
        i.labels.clear();
        let o = plan(&i, &[]);
        assert_eq!(
            (o.status, o.checked, o.unchecked),
            ("skipped-not-recurring", 0, 2)
        );
        assert_eq!(o.new_body, None);
    }

    #[test]
    fn item_text_is_kept_verbatim() {
        let body =
            "- [ ] Set `KEY=a=b` and {ISSUE_ID} $1 \\1 in `config.yaml`\r\nrest = {BODY}\r\n";
        let c = [(ALL_DONE_HEADING, "t1")];
        let o = plan(&issue(body, &c), &[]);
        let b = o.new_body.unwrap();
        assert!(
            b.starts_with(
                "- [x] Set `KEY=a=b` and {ISSUE_ID} $1 \\1 in `config.yaml`\nrest = {BODY}\n"
            ),
            "{b}"
        );
    }

    #[test]
    fn words_and_code_tokens() {
        assert_eq!(
            matching::words("Add completedRatio to README.md"),
            ["add", "completed", "ratio", "readme"]
        );
        assert_eq!(
            matching::code_tokens("use `--dry-run` and fooBar"),
            ["--dry-run", "foobar"]
        );
    }
}
