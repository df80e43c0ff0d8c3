//! PR reads of the PR worker starters (`start-pr-fix-worker.sh`): the
//! REST view of a pull request (its head commit and GitHub's `mergeable`
//! verdict) and the inline review comments with the file and line they
//! are attached to.
//!
//! The inline comments use the same call as [`Gh::pr_review_comments`],
//! so a process that already ran the lane oracle in process answers them
//! from its snapshot.

use serde::Deserialize;
use serde_json::Value;

use crate::error::{ErrorKind, GhError, show_call};
use crate::pr_read::{PR_DETAIL_FIELDS, PrDetail};
use crate::read::check_repo;
use crate::transport::{Gh, args};

/// What `gh api repos/R/pulls/N` says about a PR's head and mergeability.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullHead {
    /// `.head.sha` (empty when missing).
    pub sha: String,
    /// `.mergeable`: `None` while GitHub has not computed it.
    pub mergeable: Option<bool>,
}

/// One inline review comment with where it points.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InlineComment {
    pub login: String,
    pub commit_id: String,
    pub body: String,
    pub path: String,
    /// `.line` (`None` when null, e.g. an outdated comment).
    pub line: Option<u64>,
}

fn text(v: &Value, pointer: &str) -> String {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

impl Gh {
    /// The PR as [`Gh::pr_detail`] reads it (the same `gh pr view` call),
    /// kept in this process's snapshot so the lane oracle run in process
    /// afterwards answers from it instead of a second call.
    pub fn pr_detail_shared(&self, repo: &str, number: u64) -> Result<PrDetail, GhError> {
        check_repo(repo)?;
        let n = number.to_string();
        let argv = args(&["pr", "view", &n, "-R", repo, "--json", PR_DETAIL_FIELDS]);
        let v = match self.remembered_view_with("pr", repo, number, PR_DETAIL_FIELDS) {
            Some(v) => v,
            None => self.read_json(&argv)?,
        };
        if !v.is_object() {
            return Err(GhError::new(
                ErrorKind::Transport,
                &show_call(&argv),
                "not a JSON object",
            ));
        }
        PrDetail::deserialize(&*v).map_err(|e| {
            GhError::new(
                ErrorKind::Transport,
                &show_call(&argv),
                format!("unexpected JSON: {e}"),
            )
        })
    }

    /// `gh api repos/R/pulls/N`: the head commit and `mergeable`.
    pub fn pull_head(&self, repo: &str, number: u64) -> Result<PullHead, GhError> {
        check_repo(repo)?;
        let route = format!("repos/{repo}/pulls/{number}");
        let argv = args(&["api", &route]);
        let v = self.read_json(&argv)?;
        if !v.is_object() {
            return Err(GhError::new(
                ErrorKind::Transport,
                &show_call(&argv),
                "not a JSON object",
            ));
        }
        Ok(PullHead {
            sha: text(&v, "/head/sha"),
            mergeable: v.get("mergeable").and_then(Value::as_bool),
        })
    }

    /// The PR's inline review comments with path and line:
    /// `gh api repos/R/pulls/N/comments --paginate`, one attempt (the
    /// caller treats a failure as "none known").
    pub fn pr_inline_comments(
        &self,
        repo: &str,
        number: u64,
    ) -> Result<Vec<InlineComment>, GhError> {
        check_repo(repo)?;
        let route = format!("repos/{repo}/pulls/{number}/comments");
        let argv = args(&["api", &route, "--paginate"]);
        let v = self.read_json_with(&argv, false)?;
        let Some(items) = v.as_array() else {
            return Err(GhError::new(
                ErrorKind::Transport,
                &show_call(&argv),
                "not a JSON array",
            ));
        };
        Ok(items
            .iter()
            .filter(|c| c.is_object())
            .map(|c| InlineComment {
                login: text(c, "/user/login"),
                commit_id: text(c, "/commit_id"),
                body: text(c, "/body"),
                path: text(c, "/path"),
                line: c.get("line").and_then(Value::as_u64),
            })
            .collect())
    }
}
