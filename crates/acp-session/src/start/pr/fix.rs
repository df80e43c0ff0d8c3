//! The extra context of a fix or merge-repair worker: GitHub's mergeable
//! verdict, the review bot's inline findings on the head commit, the last
//! final-review blocker comment, the newest archived host blocker, the
//! paths in conflict (or the host's own merge of the base for a
//! merge-repair), and which changed tests a fix must verify.

use std::path::Path;
use std::sync::LazyLock;

use acp_core::{Env, fsx};
use acp_github::InlineComment;
use acp_github::pr_read::PrComment;
use regex::Regex;

/// The review bot whose inline comments a fix worker is given.
pub const REVIEW_BOT: &str = "chatgpt-codex-connector[bot]";
/// The heading of the agent's final review blocker comment.
pub const FINAL_REVIEW_BLOCKER: &str = "## PR final review blocker";
/// What the merge-repair prompt compares its conflict list with.
pub const NO_CONFLICTS_AFTER_HOST_MERGE: &str = "- none detected after host merge preparation";

fn re(pattern: &str) -> Regex {
    match Regex::new(pattern) {
        Ok(r) => r,
        Err(e) => unreachable!("invalid built-in pattern {pattern}: {e}"),
    }
}

static WHITESPACE: LazyLock<Regex> = LazyLock::new(|| re(r"\s+"));
static BADGE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\*\*<sub><sub>!\[[^\]]+\]\([^)]*\)</sub></sub>\s*"));
static CODE_EXT: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\.[cm]?[jt]sx?$"));
static TEST_SUFFIX: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\.(spec|test)$"));
static TEST_FILE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)(?:^|/)__tests__/|(?:^|/)e2e/|\.(?:spec|test)\.[cm]?[jt]sx?$"));
static WEB_E2E: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)^apps/web/e2e/.+\.(?:spec|test)\.[cm]?[jt]sx?$"));

/// `TRUE`, `FALSE` or `UNKNOWN` for GitHub's `mergeable`.
pub fn mergeable_status(mergeable: Option<bool>) -> &'static str {
    match mergeable {
        Some(true) => "TRUE",
        Some(false) => "FALSE",
        None => "UNKNOWN",
    }
}

/// The review bot's non-empty inline comments on `head_sha`, one line
/// each (`- path:line | body`, whitespace collapsed, the bot's badge
/// dropped), or `- none`.
pub fn review_findings_text(comments: &[InlineComment], head_sha: &str) -> String {
    let lines: Vec<String> = comments
        .iter()
        .filter(|c| c.login == REVIEW_BOT && !c.body.is_empty() && c.commit_id == head_sha)
        .map(|c| {
            let path = if c.path.is_empty() {
                "unknown-path"
            } else {
                &c.path
            };
            let line = c.line.map(|l| format!(":{l}")).unwrap_or_default();
            let body = WHITESPACE.replace_all(&c.body, " ");
            let body = BADGE.replace(&body, "");
            format!("- {path}{line} | {body}")
        })
        .collect();
    if lines.is_empty() {
        "- none".into()
    } else {
        lines.join("\n")
    }
}

/// The body of the last comment starting with the final review blocker
/// heading, or `- none`.
pub fn blocker_summary_text(comments: &[PrComment]) -> String {
    comments
        .iter()
        .rev()
        .find(|c| c.body.starts_with(FINAL_REVIEW_BLOCKER))
        .map_or_else(|| "- none".into(), |c| crate::start::common::chomp(&c.body))
}

/// The newest archived `HISTORY/<session>-*/<artifact>` (by directory name,
/// as `sort -r`), or `- none`.
pub fn latest_history_artifact(history_root: &Path, session: &str, artifact: &str) -> String {
    let prefix = format!("{session}-");
    let mut dirs: Vec<String> = std::fs::read_dir(history_root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with(&prefix))
        .collect();
    dirs.sort_unstable_by(|a, b| b.cmp(a));
    for d in dirs {
        let file = history_root.join(&d).join(artifact);
        if let Ok(bytes) = fsx::read_regular(&file, 1 << 20) {
            return crate::start::common::chomp(&String::from_utf8_lossy(&bytes));
        }
    }
    "- none".into()
}

fn git(env: &Env, wt: &Path, args: &[&str]) -> Option<std::process::Output> {
    acp_core::git::output(env, wt, args).ok()
}

/// The paths both the PR and the base changed since they parted
/// (`git merge-tree <merge-base> HEAD origin/<base>`, "changed in both"),
/// as `- path` lines; `- none detected`, or `- unable to compute
/// merge-base`.
pub fn changed_in_both_text(env: &Env, wt: &Path, base: &str) -> String {
    let upstream = format!("origin/{base}");
    let merge_base = git(env, wt, &["merge-base", "HEAD", &upstream])
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty());
    let Some(merge_base) = merge_base else {
        return "- unable to compute merge-base".into();
    };
    let out = git(env, wt, &["merge-tree", &merge_base, "HEAD", &upstream])
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let mut seen: Vec<String> = Vec::new();
    let mut capture = false;
    for line in out.lines() {
        if line == "changed in both" {
            capture = true;
            continue;
        }
        if capture && line.starts_with("@@ ") {
            capture = false;
        }
        let entry = ["  base   ", "  our    ", "  their  "]
            .iter()
            .find_map(|p| line.strip_prefix(p));
        if let (true, Some(entry)) = (capture, entry) {
            // `<mode> <sha> <path>`: the path may hold spaces.
            if let Some(path) = entry.splitn(3, ' ').nth(2)
                && !seen.iter().any(|s| s == path)
            {
                seen.push(path.to_string());
            }
        }
    }
    if seen.is_empty() {
        return "- none detected".into();
    }
    seen.iter()
        .map(|p| format!("- {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The host's merge of `origin/<base>` into a merge-repair worktree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostMerge {
    /// `clean` or `conflicted`.
    pub status: &'static str,
    pub summary: String,
    /// `- path` per unmerged path, or [`NO_CONFLICTS_AFTER_HOST_MERGE`].
    pub conflict_paths: String,
}

/// `git merge --no-commit --no-ff origin/<base>` in the worktree: clean or
/// left with conflicts for the worker. Any other failure aborts the merge
/// and is an error carrying git's output.
pub fn host_merge(env: &Env, wt: &Path, base: &str) -> Result<HostMerge, String> {
    let upstream = format!("origin/{base}");
    let merged = git(env, wt, &["merge", "--no-commit", "--no-ff", &upstream]);
    let (ok, text) = match &merged {
        Some(o) => {
            let mut t = String::from_utf8_lossy(&o.stdout).into_owned();
            t.push_str(&String::from_utf8_lossy(&o.stderr));
            (o.status.success(), crate::start::common::chomp(&t))
        }
        None => (false, "git could not be run".to_string()),
    };
    let unmerged = || {
        git(env, wt, &["ls-files", "-u"])
            .is_some_and(|o| o.status.success() && !o.stdout.is_empty())
    };
    let status = if ok {
        "clean"
    } else if unmerged() {
        "conflicted"
    } else {
        let merging = git(env, wt, &["rev-parse", "-q", "--verify", "MERGE_HEAD"])
            .is_some_and(|o| o.status.success());
        if merging {
            let _ = git(env, wt, &["merge", "--abort"]);
        }
        return Err(text);
    };
    let summary = if !text.is_empty() {
        text
    } else if ok {
        "- the host merged the base branch without conflicts".into()
    } else {
        "- the host merged the base branch and left conflicts to resolve".into()
    };
    let paths = git(env, wt, &["diff", "--name-only", "--diff-filter=U"])
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let lines: Vec<String> = paths
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| format!("- {l}"))
        .collect();
    Ok(HostMerge {
        status,
        summary,
        conflict_paths: if lines.is_empty() {
            NO_CONFLICTS_AFTER_HOST_MERGE.into()
        } else {
            lines.join("\n")
        },
    })
}

/// The two verification lists of a fix prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// `- <test file> | accepted command anchors: ...` per changed test.
    pub required: String,
    /// `- <web e2e spec> | loopback retry command: `...`` per changed spec.
    pub fallbacks: String,
}

/// What the PR changes against `origin/<base>` (added, copied, modified,
/// renamed files) decides which tests a fix must run, and gives changed
/// web end-to-end specs a loopback Playwright command.
pub fn verification(env: &Env, wt: &Path, base: &str, playwright: &str) -> Verification {
    let range = format!("origin/{base}...HEAD");
    let out = git(
        env,
        wt,
        &["diff", "--name-only", "--diff-filter=ACMR", &range],
    )
    .filter(|o| o.status.success());
    let Some(out) = out else {
        return Verification {
            required: "- could not list the changed files; find the changed tests yourself".into(),
            fallbacks: "- could not list the changed files; no loopback command was prepared"
                .into(),
        };
    };
    let files: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|f| f.replace('\\', "/").trim().to_string())
        .filter(|f| !f.is_empty())
        .collect();
    verification_for(&files, playwright)
}

/// [`verification`] over a list of changed files.
pub fn verification_for(files: &[String], playwright: &str) -> Verification {
    let required: Vec<String> = files
        .iter()
        .filter(|f| TEST_FILE.is_match(f))
        .map(|f| {
            format!(
                "- {f} | accepted command anchors: {}",
                anchors(f).join(", ")
            )
        })
        .collect();
    let playwright = if playwright.trim().is_empty() {
        "pnpm exec playwright test"
    } else {
        playwright
    };
    let fallbacks: Vec<String> = files
        .iter()
        .filter(|f| WEB_E2E.is_match(f) && shell_safe_path(f))
        .map(|f| {
            let spec = f.strip_prefix("apps/web/").unwrap_or(f);
            let command = [
                "E2E_WEB_SERVER_COMMAND=\"pnpm exec next dev --hostname 127.0.0.1 --port 3001\"",
                "E2E_BASE_URL=\"http://127.0.0.1:3001\"",
                "bash scripts/with-test-namespace.sh",
                playwright,
                spec,
                "--project=chromium",
            ]
            .join(" ");
            format!("- {f} | loopback retry command: `{command}`")
        })
        .collect();
    let or_none = |v: Vec<String>| {
        if v.is_empty() {
            "- none".to_string()
        } else {
            v.join("\n")
        }
    };
    Verification {
        required: or_none(required),
        fallbacks: or_none(fallbacks),
    }
}

/// Whether a path can stand in a shell command line unquoted: file names
/// come from the PR, and a name like `$(...)` must never become a command
/// (F4).
fn shell_safe_path(path: &str) -> bool {
    path.chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-/+@,=()[]".contains(c))
        && !path.contains("$(")
}

/// The command words a test run may name to count as covering `file`.
fn anchors(file: &str) -> Vec<String> {
    let strip_ext = |s: &str| CODE_EXT.replace(s, "").into_owned();
    let parts: Vec<&str> = file.split('/').filter(|p| !p.is_empty()).collect();
    let last_two = parts[parts.len().saturating_sub(2)..].join("/");
    let base = |s: &str| s.rsplit('/').next().unwrap_or(s).to_string();
    let without_suffix = TEST_SUFFIX.replace(&strip_ext(file), "").into_owned();
    let mut words: Vec<String> = Vec::new();
    for w in [
        strip_ext(&last_two),
        strip_ext(&base(file)),
        base(&without_suffix),
    ] {
        if !w.is_empty() && !words.contains(&w) {
            words.push(w);
        }
    }
    let mut hints: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
    if file.starts_with("e2e/") || file.contains("/e2e/") {
        hints.push("scoped `playwright` command".into());
    } else if file.starts_with("apps/mobile/") {
        hints.push("scoped `detox` or `maestro` command".into());
    }
    hints
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn findings_keep_the_bots_comments_on_the_head() {
        let c = |login: &str, sha: &str, body: &str, line: Option<u64>| InlineComment {
            login: login.into(),
            commit_id: sha.into(),
            body: body.into(),
            path: "src/a.rs".into(),
            line,
        };
        let all = [
            c(
                REVIEW_BOT,
                "h",
                "**<sub><sub>![P1 Badge](https://x/y)</sub></sub>  Fix\n\nthis",
                Some(3),
            ),
            c(REVIEW_BOT, "old", "stale", None),
            c("human", "h", "mine", None),
            c(REVIEW_BOT, "h", "", None),
            c(REVIEW_BOT, "h", "no line", None),
        ];
        assert_eq!(
            review_findings_text(&all, "h"),
            "- src/a.rs:3 | Fix this\n- src/a.rs | no line"
        );
        assert_eq!(review_findings_text(&all, "zzz"), "- none");
    }

    #[test]
    fn blocker_summary_is_the_last_blocker_comment() {
        let c = |b: &str| PrComment {
            body: b.into(),
            created_at: String::new(),
        };
        let all = [
            c("## PR final review blocker\nold"),
            c("hi"),
            c("## PR final review blocker\nnew\n"),
        ];
        assert_eq!(
            blocker_summary_text(&all),
            "## PR final review blocker\nnew"
        );
        assert_eq!(blocker_summary_text(&[c("x")]), "- none");
    }

    #[test]
    fn verification_lists_tests_and_web_e2e_fallbacks() {
        let files: Vec<String> = [
            "apps/api/src/auth.service.extended.spec.ts",
            "apps/web/e2e/archive/auth/login.spec.ts",
            "apps/web/e2e/$(touch x).spec.ts",
            "apps/mobile/__tests__/App.test.tsx",
            "README.md",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let v = verification_for(&files, "pnpm exec playwright test");
        assert_eq!(
            v.required.lines().next().unwrap(),
            "- apps/api/src/auth.service.extended.spec.ts | accepted command anchors: \
             `src/auth.service.extended.spec`, `auth.service.extended.spec`, `auth.service.extended`"
        );
        assert!(
            v.required.contains("login.spec` , ")
                || v.required.contains("scoped `playwright` command")
        );
        assert!(v.required.contains("scoped `detox` or `maestro` command"));
        assert!(!v.required.contains("README"));
        assert_eq!(v.fallbacks.lines().count(), 1);
        assert!(
            v.fallbacks
                .contains("playwright test e2e/archive/auth/login.spec.ts --project=chromium`")
        );
        let none = verification_for(&["README.md".to_string()], "");
        assert_eq!(
            (none.required.as_str(), none.fallbacks.as_str()),
            ("- none", "- none")
        );
    }
}
