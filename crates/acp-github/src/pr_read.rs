//! PR reads of the risk and routing tools: one PR with everything the lane
//! oracle needs (files, checks, comments, commits) in one `gh pr view`, the
//! inline review comments, the head commit's check runs and a failed
//! check run's annotations, and open PRs with their comments.
//!
//! The three REST reads that only refine the oracle's answer
//! ([`Gh::pr_review_comments`], [`Gh::check_runs`],
//! [`Gh::check_run_annotations`]) make one attempt: a caller that treats
//! their failure as "nothing known" must not wait out a rate limit.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::error::{ErrorKind, GhError, show_call};
use crate::read::{LIST_LIMIT, check_repo};
use crate::transport::{Gh, args, parse_pages};

/// What [`Gh::pr_detail`] asks `gh pr view` for.
pub const PR_DETAIL_FIELDS: &str = "number,title,url,body,isDraft,headRefName,headRefOid,\
baseRefName,labels,files,mergeStateStatus,reviewDecision,reviewRequests,statusCheckRollup,\
comments,commits,reviews";

/// The start of the detail of an error whose call succeeded but printed
/// something that is not the JSON asked for ([`GhError::is_unparsable`]).
const UNPARSABLE: &str = "unparsable answer: ";

impl GhError {
    /// Whether `gh` ran and succeeded but its answer was not the JSON asked
    /// for (so far only [`Gh::pr_detail`] tells this case apart).
    pub fn is_unparsable(&self) -> bool {
        self.kind == ErrorKind::Transport && self.detail.starts_with(UNPARSABLE)
    }

    /// The parser's message of an unparsable answer.
    pub fn unparsable_reason(&self) -> &str {
        self.detail.strip_prefix(UNPARSABLE).unwrap_or(&self.detail)
    }
}

/// What [`Gh::issue_summary`] asks `gh issue view` for.
pub const ISSUE_SUMMARY_FIELDS: &str = "number,title,body,labels";

/// What [`Gh::open_prs_with_comments`] asks `gh pr list` for.
pub const PR_ROUTING_FIELDS: &str = "number,headRefName,body,labels,comments";

/// One PR as the lane oracle reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrDetail {
    #[serde(default)]
    pub number: Option<u64>,
    #[serde(default, deserialize_with = "text")]
    pub title: String,
    #[serde(default, deserialize_with = "text")]
    pub url: String,
    #[serde(default, deserialize_with = "text")]
    pub body: String,
    #[serde(default, deserialize_with = "flag")]
    pub is_draft: bool,
    #[serde(default, deserialize_with = "text")]
    pub head_ref_name: String,
    #[serde(default, deserialize_with = "text")]
    pub head_ref_oid: String,
    #[serde(default, deserialize_with = "text")]
    pub base_ref_name: String,
    #[serde(default, deserialize_with = "names")]
    pub labels: Vec<String>,
    /// Changed file paths.
    #[serde(default, deserialize_with = "paths")]
    pub files: Vec<String>,
    #[serde(default, deserialize_with = "text")]
    pub merge_state_status: String,
    #[serde(default, deserialize_with = "text")]
    pub review_decision: String,
    /// How many reviews are requested.
    #[serde(default, deserialize_with = "count")]
    pub review_requests: usize,
    #[serde(default, deserialize_with = "list")]
    pub status_check_rollup: Vec<RollupEntry>,
    #[serde(default, deserialize_with = "list")]
    pub comments: Vec<PrComment>,
    #[serde(default, deserialize_with = "list")]
    pub commits: Vec<PrCommit>,
    /// The logins of the PR's reviews (`gh pr view --json reviews`);
    /// `None` when the answer did not carry the field at all.
    #[serde(default, rename = "reviews", deserialize_with = "review_authors")]
    pub review_authors: Option<Vec<String>>,
}

impl PrDetail {
    /// The commit time of the head commit: the commit whose id is
    /// `headRefOid` (the last commit when the head id is unknown); empty
    /// when the commits were not read or do not include the head.
    pub fn head_committed_at(&self) -> String {
        let head = if self.head_ref_oid.is_empty() {
            self.commits.last()
        } else {
            self.commits
                .iter()
                .rev()
                .find(|c| c.oid == self.head_ref_oid)
        };
        head.map(|c| c.committed_date.clone()).unwrap_or_default()
    }
}

/// One entry of `statusCheckRollup`: a check run (`name`, `workflowName`,
/// `status`, `conclusion`) or a commit status (`__typename`
/// `StatusContext`, `context`, `state`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollupEntry {
    #[serde(default, rename = "__typename", deserialize_with = "text")]
    pub typename: String,
    #[serde(default, deserialize_with = "text")]
    pub name: String,
    #[serde(default, deserialize_with = "text")]
    pub workflow_name: String,
    #[serde(default, deserialize_with = "text")]
    pub status: String,
    #[serde(default, deserialize_with = "text")]
    pub conclusion: String,
    #[serde(default, deserialize_with = "text")]
    pub context: String,
    #[serde(default, deserialize_with = "text")]
    pub state: String,
    /// When the check run started and completed, and its page: a re-run
    /// of the same check changes them (a cache of the commit's check runs
    /// keys on them).
    #[serde(default, deserialize_with = "text")]
    pub started_at: String,
    #[serde(default, deserialize_with = "text")]
    pub completed_at: String,
    #[serde(default, deserialize_with = "text")]
    pub details_url: String,
}

impl RollupEntry {
    pub fn is_status_context(&self) -> bool {
        self.typename == "StatusContext"
    }
}

/// A PR conversation comment as `gh pr view --json comments` gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrComment {
    #[serde(default, deserialize_with = "text")]
    pub body: String,
    #[serde(default, deserialize_with = "text")]
    pub created_at: String,
}

/// A commit of the PR (`gh pr view --json commits`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrCommit {
    #[serde(default, deserialize_with = "text")]
    pub oid: String,
    #[serde(default, deserialize_with = "text")]
    pub committed_date: String,
}

/// An inline review comment (`pulls/N/comments`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ReviewComment {
    #[serde(default, rename = "user", deserialize_with = "login")]
    pub login: String,
    #[serde(default, deserialize_with = "text")]
    pub commit_id: String,
    #[serde(default, deserialize_with = "text")]
    pub body: String,
    #[serde(default, deserialize_with = "text")]
    pub html_url: String,
}

/// A check run of a commit (`commits/SHA/check-runs`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckRun {
    pub name: String,
    pub status: String,
    pub conclusion: String,
    pub annotations_url: String,
    pub annotations_count: u64,
}

/// A check run as the REST API gives it.
fn check_run(r: &Value) -> CheckRun {
    CheckRun {
        name: s(r, "name"),
        status: s(r, "status"),
        conclusion: s(r, "conclusion"),
        annotations_url: r
            .pointer("/output/annotations_url")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        annotations_count: r
            .pointer("/output/annotations_count")
            .and_then(Value::as_u64)
            .unwrap_or(0),
    }
}

/// An issue's title, body and labels (every field optional, so an answer
/// carrying only some of them still reads).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct IssueSummary {
    #[serde(default, deserialize_with = "text")]
    pub title: String,
    #[serde(default, deserialize_with = "text")]
    pub body: String,
    #[serde(default, deserialize_with = "names")]
    pub labels: Vec<String>,
}

/// An open PR as the routing audit reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutedPr {
    #[serde(default)]
    pub number: Option<u64>,
    #[serde(default, deserialize_with = "text")]
    pub head_ref_name: String,
    #[serde(default, deserialize_with = "text")]
    pub body: String,
    #[serde(default, deserialize_with = "names")]
    pub labels: Vec<String>,
    #[serde(default, deserialize_with = "list")]
    pub comments: Vec<PrComment>,
}

fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    })
}

fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(matches!(Value::deserialize(d)?, Value::Bool(true)))
}

fn count<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    Ok(Value::deserialize(d)?.as_array().map_or(0, Vec::len))
}

/// An array of objects; entries that do not decode are left out, a
/// missing or null list is empty.
fn list<'de, D: Deserializer<'de>, T: for<'a> Deserialize<'a>>(d: D) -> Result<Vec<T>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(v.as_array()
        .map(|a| a.iter().filter_map(|x| T::deserialize(x).ok()).collect())
        .unwrap_or_default())
}

fn review_authors<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(v.as_array().map(|a| {
        a.iter()
            .filter_map(|r| r.get("author")?.get("login")?.as_str().map(str::to_string))
            .collect()
    }))
}

fn field_list(v: &Value, field: &str) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.get(field)?.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn names<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(field_list(&Value::deserialize(d)?, "name"))
}

fn paths<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(field_list(&Value::deserialize(d)?, "path"))
}

fn login<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(v.get("login")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string())
}

fn s(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn not_json(argv: &[String], what: &str) -> GhError {
    GhError::new(
        ErrorKind::Transport,
        &show_call(argv),
        format!("not {what}"),
    )
}

/// A commit id usable in a route: hex (or at least plain letters and
/// digits), nothing that could change the route.
fn check_sha(sha: &str) -> Result<(), GhError> {
    if sha.is_empty() || sha.len() > 64 || !sha.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(GhError::new(
            ErrorKind::Other,
            "gh",
            format!("invalid commit id {sha:?}"),
        ));
    }
    Ok(())
}

/// An annotations URL as GitHub gives it in a check run: an https URL of
/// a check run's annotations, one word.
fn check_annotations_url(url: &str) -> Result<(), GhError> {
    let ok = url.starts_with("https://")
        && url.contains("/check-runs/")
        && url.ends_with("/annotations")
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok {
        return Err(GhError::new(
            ErrorKind::Other,
            "gh",
            format!("not a check-run annotations URL: {url:?}"),
        ));
    }
    Ok(())
}

impl Gh {
    /// One PR with every field the lane oracle reads, in one
    /// `gh pr view N -R R --json ...` call.
    pub fn pr_detail(&self, repo: &str, number: u64) -> Result<PrDetail, GhError> {
        check_repo(repo)?;
        let n = number.to_string();
        let argv = args(&["pr", "view", &n, "-R", repo, "--json", PR_DETAIL_FIELDS]);
        // A view this process (or its caller, in process) already read with
        // every field the oracle needs answers without a call.
        if let Some(v) = self.remembered_view_with("pr", repo, number, PR_DETAIL_FIELDS) {
            return PrDetail::deserialize(&*v).map_err(|e| {
                GhError::new(
                    ErrorKind::Transport,
                    &show_call(&argv),
                    format!("{UNPARSABLE}{e}"),
                )
            });
        }
        let out = self.run(&argv)?;
        let unparsable = |why: String| {
            GhError::new(
                ErrorKind::Transport,
                &show_call(&argv),
                format!("{UNPARSABLE}{why}"),
            )
        };
        let v = parse_pages(&out).map_err(|e| unparsable(e.to_string()))?;
        if !v.is_object() {
            return Err(unparsable("not a JSON object".into()));
        }
        PrDetail::deserialize(&v).map_err(|e| unparsable(e.to_string()))
    }

    /// The PR's inline review comments (every page), one attempt.
    pub fn pr_review_comments(
        &self,
        repo: &str,
        number: u64,
    ) -> Result<Vec<ReviewComment>, GhError> {
        check_repo(repo)?;
        let route = format!("repos/{repo}/pulls/{number}/comments");
        let argv = args(&["api", &route, "--paginate"]);
        let v = self.read_json_with(&argv, false)?;
        let Some(items) = v.as_array() else {
            return Err(not_json(&argv, "a JSON array"));
        };
        Ok(items
            .iter()
            .filter_map(|c| ReviewComment::deserialize(c).ok())
            .collect())
    }

    /// The check runs of commit `sha` (every page), one attempt; a second
    /// read of the same commit in this process is answered from the
    /// snapshot.
    pub fn check_runs(&self, repo: &str, sha: &str) -> Result<Vec<CheckRun>, GhError> {
        check_repo(repo)?;
        check_sha(sha)?;
        let route = format!("repos/{repo}/commits/{sha}/check-runs");
        let argv = args(&["api", &route, "--paginate"]);
        let raw = match self.remembered(&argv) {
            Some(v) => v.as_array().cloned().unwrap_or_default(),
            None => {
                let out = self.run_once(&argv)?;
                let mut raw = Vec::new();
                // `--paginate` prints one object per page.
                for page in serde_json::Deserializer::from_slice(&out).into_iter::<Value>() {
                    let page = page.map_err(|e| not_json(&argv, &format!("JSON: {e}")))?;
                    let Some(items) = page.get("check_runs").and_then(Value::as_array) else {
                        return Err(not_json(&argv, "a check-runs page"));
                    };
                    raw.extend(items.iter().cloned());
                }
                self.remember(&argv, Value::Array(raw.clone()));
                raw
            }
        };
        Ok(raw.iter().map(check_run).collect())
    }

    /// The messages (trimmed, empty ones left out) of a check run's
    /// annotations, from the URL the check run gives; one attempt.
    pub fn check_run_annotations(&self, url: &str) -> Result<Vec<String>, GhError> {
        check_annotations_url(url)?;
        let argv = args(&["api", url]);
        let v = self.read_json_with(&argv, false)?;
        let Some(items) = v.as_array() else {
            return Err(not_json(&argv, "a JSON array"));
        };
        Ok(items
            .iter()
            .map(|a| s(a, "message").trim().to_string())
            .filter(|m| !m.is_empty())
            .collect())
    }

    /// An issue's title, body and labels: from an issue list this process
    /// already read, else one `gh issue view N -R R --json number,title,body,labels`.
    pub fn issue_summary(&self, repo: &str, number: u64) -> Result<IssueSummary, GhError> {
        check_repo(repo)?;
        if let Some(v) = self.snapshot_item(&["issue", "list"], repo, number) {
            return IssueSummary::deserialize(&v).map_err(|e| {
                GhError::new(
                    ErrorKind::Transport,
                    "gh issue list",
                    format!("unexpected JSON: {e}"),
                )
            });
        }
        let n = number.to_string();
        let argv = args(&[
            "issue",
            "view",
            &n,
            "-R",
            repo,
            "--json",
            ISSUE_SUMMARY_FIELDS,
        ]);
        let v = self.read_json(&argv)?;
        if !v.is_object() {
            return Err(not_json(&argv, "a JSON object"));
        }
        IssueSummary::deserialize(&*v).map_err(|e| {
            GhError::new(
                ErrorKind::Transport,
                &show_call(&argv),
                format!("unexpected JSON: {e}"),
            )
        })
    }

    /// Every open PR with its head branch, body, labels and comments, in
    /// one `gh pr list` call (no 100-item window, F10).
    pub fn open_prs_with_comments(&self, repo: &str) -> Result<Vec<RoutedPr>, GhError> {
        check_repo(repo)?;
        let argv = args(&[
            "pr", "list", "-R", repo, "--state", "open", "--limit", LIST_LIMIT,
        ]);
        let argv = [argv, args(&["--json", PR_ROUTING_FIELDS])].concat();
        let v = self.read_json(&argv)?;
        let Some(items) = v.as_array() else {
            return Err(not_json(&argv, "a JSON array"));
        };
        items
            .iter()
            .map(|p| {
                RoutedPr::deserialize(p).map_err(|e| {
                    GhError::new(
                        ErrorKind::Transport,
                        &show_call(&argv),
                        format!("unexpected JSON: {e}"),
                    )
                })
            })
            .collect()
    }
}
