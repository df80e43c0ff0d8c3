//! The catch-up passes the heartbeat runs every few minutes, and the
//! GitHub-side bookkeeping tools next to them:
//!
//! - [`terminal_prs`]: merged and closed managed PRs whose worker session was
//!   already cleaned up (labels cleaned, linked issue closed, retry cleared,
//!   a ledger per PR so each is handled once);
//! - [`issue_links`]: issue retries left by a failed host publish whose PR
//!   exists after all;
//! - [`scheduled`]: retries of scheduled issues that already reported a
//!   terminal status;
//! - [`checklist`]: ticking a recurring issue's checklist from merged PRs;
//! - [`follow_up`]: labelling the follow-up issues a session created.
//!
//! A pass given a hook file runs the hooks the file defines through bash
//! (the original's seam); every hook the file does not define has its
//! behaviour here, in Rust (F7).

pub mod checklist;
pub mod follow_up;
pub mod hooks;
pub mod issue_links;
pub mod scheduled;
pub mod terminal_prs;
pub mod tool;

use std::cell::OnceCell;
use std::io::Write;
use std::path::{Path, PathBuf};

use acp_core::envfile::{self, Mode};
use acp_core::shellquote::QuoteLocale;
use acp_core::{Env, fsx};
use acp_github::{Gh, GhError, Issue};
use serde_json::Value;

pub use hooks::{HookFile, HookOutput};

/// The one `Gh` of a process, made on first use (a pass whose hook file
/// answers every read never needs `gh` on the PATH).
pub struct LazyGh {
    env: Env,
    gh: OnceCell<Result<Gh, GhError>>,
}

impl LazyGh {
    pub fn new(env: Env) -> Self {
        Self {
            env,
            gh: OnceCell::new(),
        }
    }

    /// The handle, or why there is none (`gh` not on the PATH).
    pub fn get(&self) -> Result<&Gh, GhError> {
        self.gh
            .get_or_init(|| Gh::new(self.env.clone()))
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// A directory of "done" records, one `<id>.env` per handled item: a
/// record's existence means the item is never handled again.
#[derive(Debug, Clone)]
pub struct Ledger {
    pub dir: PathBuf,
}

impl Ledger {
    /// `<state_root>/<name>`, created.
    pub fn open(state_root: &Path, name: &str) -> anyhow::Result<Self> {
        let dir = state_root.join(name);
        fsx::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    pub fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.env"))
    }

    pub fn has(&self, id: &str) -> bool {
        self.path(id).is_file()
    }

    /// Writes the record of `id` atomically (`%q`-quoted values).
    pub fn write(&self, id: &str, pairs: &[(&str, &str)]) -> anyhow::Result<()> {
        envfile::write_all(&self.path(id), pairs, QuoteLocale::C)
    }
}

/// Forgets the retry record `<state_root>/retries/<kind>/<id>.env`
/// (`kind` = `issues` or `prs`), under the record's update lock, as
/// `retry-state ... clear` does. A missing record is not an error.
pub fn clear_retry(state_root: &Path, kind: &str, id: &str) -> anyhow::Result<()> {
    let path = state_root
        .join("retries")
        .join(kind)
        .join(format!("{id}.env"));
    if !path.exists() {
        return Ok(());
    }
    let _lock = fsx::Lock::beside(&path)?;
    fsx::remove_file_if_exists(&path)
}

/// The `LAST_REASON` of a retry record, parsed as data (a value with `=` or
/// `%q` quoting is read whole, F20); empty when absent or unreadable.
pub fn retry_reason(path: &Path) -> String {
    envfile::EnvFile::load_if_exists(path, Mode::Lenient)
        .ok()
        .flatten()
        .and_then(|f| f.get("LAST_REASON"))
        .map(|r| r.replace('\r', ""))
        .unwrap_or_default()
}

/// The ids of the `*.env` records in `dir`, in name order (a missing
/// directory has none).
pub fn record_ids(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut ids: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .filter_map(|e| {
            let name = e.file_name();
            let name = name.to_str()?;
            let id = name.strip_suffix(".env")?;
            (!id.is_empty()).then(|| id.to_string())
        })
        .collect();
    ids.sort();
    ids
}

/// The issue a PR body links with a closing keyword (`Closes #12`,
/// `fixes #3`, `Resolved #9`; the first one).
pub fn linked_issue(body: &str) -> Option<u64> {
    let re =
        regex::Regex::new(r"(?i)\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s+#(\d+)\b").ok()?;
    re.captures(body)?.get(1)?.as_str().parse().ok()
}

/// Every `Opened PR #N` number in `text`, in order.
pub fn opened_prs(text: &str) -> Vec<u64> {
    let Ok(re) = regex::Regex::new(r"Opened PR #(\d+)") else {
        return Vec::new();
    };
    re.captures_iter(text)
        .filter_map(|c| c.get(1)?.as_str().parse().ok())
        .collect()
}

/// The PR of the newest comment (by creation time; a later comment wins a
/// tie) announcing `Opened PR #N`, the last such line of that comment.
pub fn latest_opened_pr<'a>(comments: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<u64> {
    let mut best: Option<(&str, u64)> = None;
    for (body, created) in comments {
        let Some(&n) = opened_prs(body).last() else {
            continue;
        };
        if best.is_none_or(|(at, _)| created >= at) {
            best = Some((created, n));
        }
    }
    best.map(|(_, n)| n)
}

/// The branch prefixes of `MANAGED_PR_BRANCH_GLOBS` (each glob without its
/// trailing `*`; split on whitespace, never expanded against a directory,
/// F20).
pub fn managed_prefixes(globs: &str) -> Vec<String> {
    globs
        .split_whitespace()
        .map(|g| g.strip_suffix('*').unwrap_or(g).to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// An issue as a pass needs it, from a hook's JSON or from `acp-github`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssueView {
    /// Upper case (`OPEN`, `CLOSED`).
    pub state: String,
    pub labels: Vec<String>,
    pub body: String,
    /// `(body, createdAt)` of each comment, when they were read.
    pub comments: Vec<(String, String)>,
}

impl IssueView {
    /// From the JSON of `flow_github_issue_view_json` (any shape with
    /// `state`, `labels[].name`, `body`, `comments[].{body,createdAt}`).
    pub fn from_json(v: &Value) -> Self {
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let list = |k: &str| {
            v.get(k)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        Self {
            state: s(v, "state").to_uppercase(),
            labels: list("labels").iter().map(|l| s(l, "name")).collect(),
            body: s(v, "body"),
            comments: list("comments")
                .iter()
                .map(|c| (s(c, "body"), s(c, "createdAt")))
                .collect(),
        }
    }

    pub fn from_issue(i: &Issue) -> Self {
        Self {
            state: i.state.to_uppercase(),
            labels: i.labels.clone(),
            body: i.body.clone(),
            comments: Vec::new(),
        }
    }

    pub fn has_label(&self, name: &str) -> bool {
        self.labels.iter().any(|l| l == name)
    }
}

/// What every pass works with: the repository, the state root, the hook
/// file (if any), GitHub, and the writers for stdout and stderr. Errors of
/// our own GitHub calls are reported as one line each and remembered in
/// `failed` (the pass then exits 1).
pub struct Ctx<'a> {
    pub repo: &'a str,
    pub state_root: &'a Path,
    pub hooks: Option<&'a HookFile>,
    pub gh: &'a LazyGh,
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    pub failed: bool,
}

impl Ctx<'_> {
    /// The hook file when it defines `name`. A `flow_github_*` reader or
    /// writer that the file only pulled in from a shell library
    /// (`flow-config-lib.sh`) is not used: `acp-github` does that work
    /// (no auth probe per call, no 100-item windows; F10, F11).
    pub fn hook(&self, name: &str) -> Option<&HookFile> {
        self.hooks
            .filter(|h| h.defines(name))
            .filter(|h| !(name.starts_with("flow_github_") && h.from_library(name)))
    }

    /// Calls hook `name` (which must be defined); its stderr is passed on.
    pub fn call_hook(
        &mut self,
        name: &str,
        args: &[&str],
        vars: &[(&str, &str)],
    ) -> anyhow::Result<HookOutput> {
        let Some(h) = self.hook(name) else {
            anyhow::bail!("{name}: command not found");
        };
        let out = h.call(name, args, vars)?;
        self.err.write_all(&out.stderr)?;
        Ok(out)
    }

    /// The JSON a data hook printed (`None` when it failed, printed
    /// nothing or `{}`).
    pub fn hook_json(&mut self, name: &str, args: &[&str]) -> Option<Value> {
        let out = self.hook(name)?.call(name, args, &[]).ok()?;
        if !out.ok() {
            return None;
        }
        let v: Value = serde_json::from_str(out.stdout.trim()).ok()?;
        (v != Value::Object(Default::default())).then_some(v)
    }

    /// Reports a failure of our own GitHub call: one line on stderr.
    pub fn gh_failed(&mut self, what: &str, e: &dyn std::fmt::Display) {
        self.failed = true;
        let _ = writeln!(self.err, "{what}: {e}");
    }

    /// The issue `n` through the hook file's `flow_github_issue_view_json`
    /// when it has one, else `acp-github` (from a list already read when it
    /// holds the issue). `None` when it cannot be read.
    pub fn issue(&mut self, n: &str, with_comments: bool) -> Option<IssueView> {
        if self.hook("flow_github_issue_view_json").is_some() {
            let repo = self.repo.to_string();
            return self
                .hook_json("flow_github_issue_view_json", &[&repo, n])
                .map(|v| IssueView::from_json(&v));
        }
        let num: u64 = n.parse().ok()?;
        let gh = match self.gh.get() {
            Ok(gh) => gh,
            Err(e) => {
                self.gh_failed("github", &e);
                return None;
            }
        };
        let read = if with_comments {
            gh.issue_thread(self.repo, num).map(|t| {
                let mut v = IssueView::from_issue(&t.issue);
                v.comments = t
                    .comments
                    .iter()
                    .map(|c| (c.body.clone(), c.created_at.clone()))
                    .collect();
                v
            })
        } else {
            gh.issue(self.repo, num).map(|i| IssueView::from_issue(&i))
        };
        match read {
            Ok(v) => Some(v),
            Err(e) if e.kind == acp_github::ErrorKind::NotFound => None,
            Err(e) => {
                self.gh_failed(&format!("issue #{n}"), &e);
                None
            }
        }
    }

    /// Removes those of `labels` that item `n` carries (one delta call, no
    /// call when it carries none of them; F8).
    pub fn remove_labels(
        &mut self,
        item: acp_github::Item,
        n: u64,
        has: &[String],
        labels: &[&str],
    ) -> Result<(), GhError> {
        let present: Vec<&str> = labels
            .iter()
            .copied()
            .filter(|l| has.iter().any(|h| h == l))
            .collect();
        if present.is_empty() {
            return Ok(());
        }
        self.gh
            .get()?
            .edit_labels(self.repo, item, n, &[], &present)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn links_and_opened_prs_are_parsed() {
        assert_eq!(linked_issue("Work.\n\nCloses #12 and fixes #3"), Some(12));
        assert_eq!(linked_issue("resolved #9."), Some(9));
        assert_eq!(linked_issue("see #4"), None);
        assert_eq!(linked_issue("encloses #4"), None);
        let comments = [
            ("Opened PR #5", "2026-01-02T00:00:00Z"),
            ("Opened PR #6 then Opened PR #7", "2026-01-03T00:00:00Z"),
            ("nothing", "2026-01-09T00:00:00Z"),
            ("Opened PR #8", "2026-01-01T00:00:00Z"),
        ];
        assert_eq!(latest_opened_pr(comments), Some(7));
        assert_eq!(latest_opened_pr([("x", "")]), None);
    }

    #[test]
    fn globs_become_prefixes() {
        assert_eq!(
            managed_prefixes("agent/demo/* codex/*  *"),
            ["agent/demo/", "codex/"]
        );
    }

    #[test]
    fn retries_are_cleared_and_reasons_read_whole() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("retries/issues");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("4.env"), "ATTEMPTS=1\nLAST_REASON=a=b\\ c\n").unwrap();
        assert_eq!(retry_reason(&dir.join("4.env")), "a=b c");
        assert_eq!(record_ids(&dir), ["4"]);
        clear_retry(t.path(), "issues", "4").unwrap();
        clear_retry(t.path(), "issues", "4").unwrap();
        assert!(record_ids(&dir).is_empty());
    }
}
