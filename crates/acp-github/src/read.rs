//! Snapshot reads: many issues or PRs in one call with every field callers
//! need, comments through paginated REST; a repeated read of the same thing
//! in one process is answered from the snapshot.

use serde::{Deserialize, Deserializer};
use std::rc::Rc;

use serde_json::Value;

use crate::error::{ErrorKind, GhError};
use crate::transport::{Gh, args};

/// What `gh issue list` / `gh issue view` are asked for.
pub const ISSUE_FIELDS: &str = "number,title,body,state,url,labels,author,createdAt,updatedAt";
/// What `gh issue view` is asked for: the list fields and the comments, so
/// a marker check before a comment needs no second read
/// ([`Gh::snapshot_comments`]).
pub const ISSUE_VIEW_FIELDS: &str =
    "number,title,body,state,url,labels,author,createdAt,updatedAt,comments";
/// What `gh pr list` / `gh pr view` are asked for.
pub const PR_FIELDS: &str = "number,title,body,state,url,labels,author,createdAt,updatedAt,\
headRefName,headRefOid,baseRefName,isDraft,mergedAt";
/// What `gh pr view` is asked for: the list fields, the comments (see
/// [`ISSUE_VIEW_FIELDS`]) and what the lane oracle reads
/// (`crate::pr_read::PR_DETAIL_FIELDS`), so one view answers the
/// reconciler and the `pr-risk` it runs in process.
pub const PR_VIEW_FIELDS: &str = "number,title,body,state,url,labels,author,createdAt,updatedAt,\
headRefName,headRefOid,baseRefName,isDraft,mergedAt,comments,files,mergeStateStatus,\
reviewDecision,reviewRequests,statusCheckRollup,commits,reviews";
/// `--limit` of list calls: large enough that nothing is cut off (F10).
pub const LIST_LIMIT: &str = "10000";

/// Which items a list call returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Open,
    Closed,
    /// PRs only.
    Merged,
    All,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Open => "open",
            State::Closed => "closed",
            State::Merged => "merged",
            State::All => "all",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Issue {
    /// Filled with the number asked for when a view's answer has none
    /// (older `gh`, trimmed fakes).
    #[serde(default)]
    pub number: u64,
    #[serde(default, deserialize_with = "text")]
    pub title: String,
    #[serde(default, deserialize_with = "text")]
    pub body: String,
    #[serde(default, deserialize_with = "text")]
    pub state: String,
    #[serde(default, deserialize_with = "text")]
    pub url: String,
    #[serde(default, deserialize_with = "label_names")]
    pub labels: Vec<String>,
    #[serde(default, deserialize_with = "login")]
    pub author: String,
    #[serde(default, deserialize_with = "text")]
    pub created_at: String,
    #[serde(default, deserialize_with = "text")]
    pub updated_at: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pr {
    /// The fields a PR shares with an issue (read through `Deref`).
    #[serde(flatten)]
    pub item: Issue,
    #[serde(default, deserialize_with = "text")]
    pub head_ref_name: String,
    #[serde(default, deserialize_with = "text")]
    pub head_ref_oid: String,
    #[serde(default, deserialize_with = "text")]
    pub base_ref_name: String,
    #[serde(default)]
    pub is_draft: bool,
    #[serde(default, deserialize_with = "text")]
    pub merged_at: String,
}

impl std::ops::Deref for Pr {
    type Target = Issue;
    fn deref(&self) -> &Issue {
        &self.item
    }
}

/// An issue or PR comment as the REST API returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Comment {
    #[serde(default)]
    pub id: u64,
    #[serde(default, deserialize_with = "text")]
    pub body: String,
    #[serde(default, deserialize_with = "text")]
    pub html_url: String,
    #[serde(default, deserialize_with = "text")]
    pub created_at: String,
    #[serde(default, deserialize_with = "login", rename = "user")]
    pub author: String,
}

/// A string field that may be `null`.
pub(crate) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// `[{"name": ...}]` (or plain names) as a list of names.
fn label_names<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let v = Option::<Vec<Value>>::deserialize(d)?.unwrap_or_default();
    Ok(v.iter()
        .filter_map(|l| match l {
            Value::String(s) => Some(s.clone()),
            other => other.get("name")?.as_str().map(str::to_string),
        })
        .collect())
}

/// `{"login": ...}` as the login.
pub(crate) fn login<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref()
        .and_then(|a| a.get("login"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string())
}

/// Refuses a repository that is not `owner/name` (so it can never be taken
/// for a flag or a path outside `repos/`).
pub fn check_repo(repo: &str) -> Result<(), GhError> {
    let ok_part = |p: &str| {
        !p.is_empty()
            && !p.starts_with(['-', '.'])
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    match repo.split_once('/') {
        Some((owner, name)) if ok_part(owner) && ok_part(name) => Ok(()),
        _ => Err(GhError::new(
            ErrorKind::Other,
            "gh",
            format!("invalid repository {repo:?} (expected owner/name)"),
        )),
    }
}

pub(crate) fn decode<T: for<'de> Deserialize<'de>>(
    v: &Value,
    argv: &[String],
) -> Result<T, GhError> {
    T::deserialize(v).map_err(|e| {
        let call = crate::error::show_call(argv);
        GhError::new(ErrorKind::Transport, &call, format!("unexpected JSON: {e}"))
    })
}

impl Gh {
    /// Issues of `repo` in `state` carrying all of `labels`, in one
    /// `gh issue list` call; answered (and filtered by `labels`) from a
    /// remembered list of that state with at least these fields when this
    /// process read one (the heartbeat's).
    pub fn issues(&self, repo: &str, state: State, labels: &[&str]) -> Result<Vec<Issue>, GhError> {
        check_repo(repo)?;
        if let Some(v) = self.remembered_list_with("issue", repo, state.as_str(), ISSUE_FIELDS) {
            let all: Vec<Issue> = decode(&v, &[])?;
            return Ok(all
                .into_iter()
                .filter(|i| {
                    labels
                        .iter()
                        .all(|l| i.labels.iter().any(|h| h.eq_ignore_ascii_case(l)))
                })
                .collect());
        }
        let mut argv = args(&["issue", "list", "-R", repo, "--state", state.as_str()]);
        argv.extend(args(&["--limit", LIST_LIMIT, "--json", ISSUE_FIELDS]));
        for l in labels {
            argv.extend(args(&["--label", l]));
        }
        let v = self.read_json(&argv)?;
        decode(&v, &argv)
    }

    /// PRs of `repo` in `state`, in one `gh pr list` call.
    /// Answered from a remembered list of that state with at least these
    /// fields when this process read one (the heartbeat's).
    pub fn prs(&self, repo: &str, state: State) -> Result<Vec<Pr>, GhError> {
        check_repo(repo)?;
        if let Some(v) = self.remembered_list_with("pr", repo, state.as_str(), PR_FIELDS) {
            return decode(&v, &[]);
        }
        let mut argv = args(&["pr", "list", "-R", repo, "--state", state.as_str()]);
        argv.extend(args(&["--limit", LIST_LIMIT, "--json", PR_FIELDS]));
        let v = self.read_json(&argv)?;
        decode(&v, &argv)
    }

    /// One issue: from a list this process already read, else one
    /// `gh issue view` call.
    pub fn issue(&self, repo: &str, number: u64) -> Result<Issue, GhError> {
        check_repo(repo)?;
        if let Some(v) = self.snapshot_item(&["issue", "list"], repo, number) {
            return decode(&v, &[]);
        }
        let n = number.to_string();
        let argv = args(&["issue", "view", &n, "-R", repo, "--json", ISSUE_VIEW_FIELDS]);
        let v = self.read_json(&argv)?;
        let mut issue: Issue = decode(&v, &argv)?;
        if issue.number == 0 {
            issue.number = number;
        }
        Ok(issue)
    }

    /// One PR: from a list this process already read, else one
    /// `gh pr view` call.
    pub fn pr(&self, repo: &str, number: u64) -> Result<Pr, GhError> {
        check_repo(repo)?;
        if let Some(v) = self.snapshot_item(&["pr", "list"], repo, number) {
            return decode(&v, &[]);
        }
        let n = number.to_string();
        let argv = args(&["pr", "view", &n, "-R", repo, "--json", PR_VIEW_FIELDS]);
        let v = self.read_json(&argv)?;
        let mut pr: Pr = decode(&v, &argv)?;
        if pr.number == 0 {
            pr.item.number = number;
        }
        Ok(pr)
    }

    /// One PR as JSON: `gh pr view N -R R --json <PR view fields>` (the
    /// call of [`Gh::pr`] without the list lookup), an object or an error.
    pub(crate) fn pr_view_value(&self, repo: &str, number: u64) -> Result<Rc<Value>, GhError> {
        let n = number.to_string();
        let argv = args(&["pr", "view", &n, "-R", repo, "--json", PR_VIEW_FIELDS]);
        let v = self.read_json(&argv)?;
        if v.get("number").and_then(Value::as_u64) != Some(number) {
            self.forget(|k| k == argv.as_slice());
            return Err(GhError::new(
                ErrorKind::Transport,
                &crate::error::show_call(&argv),
                "not the PR asked for",
            ));
        }
        Ok(v)
    }

    /// All comments of an issue or PR (every page).
    pub fn comments(&self, repo: &str, number: u64) -> Result<Vec<Comment>, GhError> {
        let argv = comments_call(repo, number)?;
        let v = self.read_json(&argv)?;
        decode(&v, &argv)
    }

    /// The names of the repository's label definitions.
    pub fn label_names(&self, repo: &str) -> Result<Vec<String>, GhError> {
        check_repo(repo)?;
        let argv = args(&["label", "list", "-R", repo, "--limit", LIST_LIMIT]);
        let argv = [argv, args(&["--json", "name"])].concat();
        let v = self.read_json(&argv)?;
        let labels: Vec<Value> = decode(&v, &argv)?;
        Ok(labels
            .iter()
            .filter_map(|l| l.get("name")?.as_str().map(str::to_string))
            .collect())
    }
}

/// `gh api repos/R/issues/N/comments?per_page=100 --paginate`.
pub(crate) fn comments_call(repo: &str, number: u64) -> Result<Vec<String>, GhError> {
    check_repo(repo)?;
    let route = format!("repos/{repo}/issues/{number}/comments?per_page=100");
    Ok(args(&["api", &route, "--paginate"]))
}
