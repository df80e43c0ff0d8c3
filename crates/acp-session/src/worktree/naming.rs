//! Names of task branches and worktree directories (spec 3.6): issue
//! branches `<prefix>-<issue>-<slug>-<stamp>` in `issue-<issue>-<stamp>`,
//! PR branches `<prefix>-<pr>-<stamp>` in `pr-<pr>-<stamp>`.
//!
//! Slugs come from issue titles and are data: whatever the input, the
//! result holds only `[a-z0-9-]` and never starts or ends with `-`.

/// A slug for an issue branch: ASCII lower case, every run of other
/// characters (spaces, punctuation, non-ASCII letters) one `-`, trimmed;
/// `task` when nothing is left.
pub fn issue_slug(input: &str) -> String {
    let slug = collapse(input, |c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if slug.is_empty() {
        "task".to_string()
    } else {
        slug
    }
}

/// Lower-cases ASCII, turns every run of characters `keep` refuses into one
/// `-`, and trims dashes at both ends.
fn collapse(input: &str, keep: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars().map(|c| c.to_ascii_lowercase()) {
        if keep(c) {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// The slug `agent-init-worktree` derives from a branch name for the
/// default worktree directory: lower case, characters outside
/// `[a-z0-9._-]` (including `/`) become `-`, dashes collapsed and trimmed.
/// May be empty.
pub fn branch_slug(branch: &str) -> String {
    let mapped: String = branch
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    collapse(&mapped, |c| c != '-')
}

/// The test-seed namespace of a branch slug: `[a-z0-9-]` only, at most 24
/// characters, `agent-local` when empty.
pub fn namespace(slug: &str) -> String {
    let ns: String = collapse(slug, |c| c.is_ascii_lowercase() || c.is_ascii_digit())
        .chars()
        .take(24)
        .collect();
    if ns.is_empty() {
        "agent-local".to_string()
    } else {
        ns
    }
}

/// `<prefix>-<issue>-<slug>-<stamp>` with the slug made by [`issue_slug`].
pub fn issue_branch(prefix: &str, issue: &str, slug_input: &str, stamp: &str) -> String {
    format!("{prefix}-{issue}-{}-{stamp}", issue_slug(slug_input))
}

/// `issue-<issue>-<stamp>`.
pub fn issue_dir_name(issue: &str, stamp: &str) -> String {
    format!("issue-{issue}-{stamp}")
}

/// `<prefix>-<pr>-<stamp>`.
pub fn pr_branch(prefix: &str, pr: &str, stamp: &str) -> String {
    format!("{prefix}-{pr}-{stamp}")
}

/// `pr-<pr>-<stamp>`.
pub fn pr_dir_name(pr: &str, stamp: &str) -> String {
    format!("pr-{pr}-{stamp}")
}

/// The local-time stamp of names: `YYYYmmdd-HHMMSS`.
pub fn stamp_now() -> String {
    acp_core::time::now_local("%Y%m%d-%H%M%S", None)
}

/// Checks an issue or PR number, a stamp or a similar word that becomes part
/// of a branch and a directory name: non-empty, `[A-Za-z0-9._-]` only, not
/// starting with `-` or `.`. The error names `what`.
pub fn check_word(what: &str, value: &str) -> Result<(), String> {
    let ok = !value.is_empty()
        && !value.starts_with(['-', '.'])
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} must be letters, digits, '.', '_' or '-' (not starting with '-' or '.'): {value:?}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_slugs() {
        assert_eq!(issue_slug("Fix the Login Bug!"), "fix-the-login-bug");
        assert_eq!(issue_slug("  --Ünïcode  café--  "), "n-code-caf");
        assert_eq!(issue_slug("$(rm -rf /); `x`"), "rm-rf-x");
        assert_eq!(issue_slug("../../etc/passwd"), "etc-passwd");
        assert_eq!(issue_slug("日本語"), "task");
        assert_eq!(issue_slug(""), "task");
        assert_eq!(issue_slug("a\nb\tc"), "a-b-c");
    }

    #[test]
    fn branch_slugs_and_namespaces() {
        assert_eq!(
            branch_slug("agent/Demo/issue-7_x.y"),
            "agent-demo-issue-7_x.y"
        );
        assert_eq!(branch_slug("//--"), "");
        assert_eq!(
            namespace("agent-demo-issue-7_x.y-20260101-000000"),
            "agent-demo-issue-7-x-y-2"
        );
        assert_eq!(namespace("..."), "agent-local");
    }

    #[test]
    fn names() {
        assert_eq!(
            issue_branch("agent/demo/issue", "12", "Hello World", "20260101-010203"),
            "agent/demo/issue-12-hello-world-20260101-010203"
        );
        assert_eq!(issue_dir_name("12", "s"), "issue-12-s");
        assert_eq!(pr_branch("agent/demo/pr", "7", "s"), "agent/demo/pr-7-s");
        assert_eq!(pr_dir_name("7", "s"), "pr-7-s");
        assert_eq!(stamp_now().len(), 15);
    }

    #[test]
    fn words() {
        assert!(check_word("issue", "123").is_ok());
        assert!(check_word("stamp", "20260101-000000").is_ok());
        for bad in ["", "-1", ".x", "1/2", "a b", "1\n2", "é"] {
            assert!(check_word("issue", bad).is_err(), "{bad:?}");
        }
    }
}
