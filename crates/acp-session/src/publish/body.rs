//! The PR body and the host's comment on the issue.
//!
//! Issue titles and bodies are text: they are written into files and JSON
//! fields, never into a command line or a shell.

use regex::Regex;

fn closing_pattern(issue_id: &str) -> anyhow::Result<Regex> {
    let p = format!(
        r"(?i)(?-u:\b)(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s+#{}(?-u:\b)",
        regex::escape(issue_id)
    );
    Regex::new(&p).map_err(|e| anyhow::anyhow!("bad closing pattern: {e}"))
}

/// The body published when the worker wrote no `pr-body.md`.
pub fn generated(issue_id: &str, issue_title: &str, session: &str, head: &str) -> String {
    format!(
        "## Summary\n\n\
         - Resolves the work of #{issue_id}: {issue_title}\n\
         - Published by the host for session `{session}`\n\
         - Head commit: `{head}`\n\n\
         ## Verification\n\n\
         - The issue worker ran its checks in its own sandboxed worktree.\n\
         - The run artifacts of `{session}` hold the full command output.\n"
    )
}

/// The final body: with `keep_open`, every closing keyword aimed at the
/// issue (`Closes #N`, `fixed #N`, ...) becomes `Related to #N`; otherwise
/// `Closes #N` is appended unless such a keyword is already there.
pub fn finalize(body: &str, issue_id: &str, keep_open: bool) -> anyhow::Result<String> {
    let closing = closing_pattern(issue_id)?;
    if keep_open {
        let related = format!("Related to #{issue_id}");
        return Ok(closing
            .replace_all(body, regex::NoExpand(&related))
            .into_owned());
    }
    if closing.is_match(body) {
        return Ok(body.to_string());
    }
    Ok(format!("{body}\nCloses #{issue_id}\n"))
}

/// The comment linking the issue to its PR. Its first line (`Opened PR
/// #<n>: <url>`) is what other tools read back.
pub fn pr_comment(
    pr_number: u64,
    pr_url: &str,
    issue_id: &str,
    title: &str,
    session: &str,
) -> String {
    format!(
        "Opened PR #{pr_number}: {pr_url}\n\n- Issue: #{issue_id} ({title})\n- Session: `{session}`"
    )
}

/// Text on one line (newlines, other control characters and runs of
/// spaces become one space), as `COMMENT_BODY=` shows a comment: a value
/// printed as `KEY=value` can never forge a second line.
pub fn one_line(text: &str) -> String {
    text.split(|c: char| c == ' ' || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn closing_keywords_are_added_or_neutralised() {
        assert_eq!(finalize("x\n", "7", false).unwrap(), "x\n\nCloses #7\n");
        assert_eq!(finalize("Fixes #7\n", "7", false).unwrap(), "Fixes #7\n");
        assert_eq!(
            finalize("Fixes #70\n", "7", false).unwrap(),
            "Fixes #70\n\nCloses #7\n"
        );
        assert_eq!(
            finalize("closes #7 and RESOLVED #7, fix #8", "7", true).unwrap(),
            "Related to #7 and Related to #7, fix #8"
        );
        let hostile = "$(rm -rf /) `id` $1 ${x}";
        assert!(finalize(hostile, "7", true).unwrap().starts_with(hostile));
    }

    #[test]
    fn comment_and_its_one_line_form() {
        let c = pr_comment(12, "https://x/pull/12", "7", "T  $(x)", "s-1");
        assert!(c.starts_with("Opened PR #12: https://x/pull/12\n"));
        assert_eq!(
            one_line(&c),
            "Opened PR #12: https://x/pull/12 - Issue: #7 (T $(x)) - Session: `s-1`"
        );
    }
}
