//! What the heartbeat policy reads and writes in bulk: every open issue and
//! every open PR with the fields the policy decides on, one list call each
//! (gh follows the pages), and the CI refresh of a PR (its failed Actions
//! runs re-run).

use std::rc::Rc;

use serde_json::Value;

use crate::error::{ErrorKind, GhError};
use crate::read::{ISSUE_FIELDS, LIST_LIMIT, check_repo};
use crate::transport::{Gh, args};

/// What the heartbeat asks `gh pr list` for: the fields of a PR view
/// (`crate::read::PR_VIEW_FIELDS`: the conversation comments, which make a
/// PR managed, the review decision, the checks of the head commit and the
/// rest of what the lane oracle reads), so the reconcilers, the publisher
/// and `pr-risk` run in process answer every PR read from this one list.
pub const HEARTBEAT_PR_FIELDS: &str = crate::read::PR_VIEW_FIELDS;

/// What the heartbeat asks `gh issue list` for: the fields of an issue
/// view, comments included, so a reconciler's `Gh::issue` and its marker
/// checks are answered from the list.
pub const HEARTBEAT_ISSUE_FIELDS: &str = crate::read::ISSUE_VIEW_FIELDS;

impl Gh {
    /// Every open issue of `repo` as JSON (an array), in one
    /// `gh issue list -R R --state open --limit 10000 --json <issue fields>,comments`
    /// call; [`Gh::issue`] answers from it.
    pub fn open_issue_list(&self, repo: &str) -> Result<Rc<Value>, GhError> {
        check_repo(repo)?;
        self.read_json(&open_list_argv("issue", repo, HEARTBEAT_ISSUE_FIELDS))
    }

    /// The open-issue list of [`Gh::open_issue_list`] when this process
    /// already read it (no call otherwise).
    pub fn issue_list_if_read(&self, repo: &str) -> Option<Rc<Value>> {
        self.remembered(&open_list_argv("issue", repo, HEARTBEAT_ISSUE_FIELDS))
    }

    /// One issue with its comments as JSON:
    /// `gh issue view N -R R --json <issue fields>,comments` (the call of
    /// [`Gh::issue_thread`], sharing its snapshot entry).
    pub fn issue_view_json(&self, repo: &str, number: u64) -> Result<Rc<Value>, GhError> {
        check_repo(repo)?;
        let argv = args(&["issue", "view", &number.to_string(), "-R", repo, "--json"]);
        let argv = [argv, vec![format!("{ISSUE_FIELDS},comments")]].concat();
        self.read_json(&argv)
    }

    /// Every open PR of `repo` as JSON (an array), in one
    /// `gh pr list -R R --state open --limit 10000 --json <HEARTBEAT_PR_FIELDS>`
    /// call; [`Gh::pr`] answers from it.
    pub fn open_pr_list(&self, repo: &str) -> Result<Rc<Value>, GhError> {
        check_repo(repo)?;
        self.read_json(&open_list_argv("pr", repo, HEARTBEAT_PR_FIELDS))
    }

    /// Forgets every remembered list and view of `repo` (the heartbeat's
    /// "the world changed" signal).
    pub fn forget_repo_reads(&self, repo: &str) {
        self.forget(|k| {
            let list = k.len() > 3 && k[1] == "list" && k[3] == repo;
            let view = k.len() > 4 && k[1] == "view" && k[4] == repo;
            list || view
        });
    }

    /// Forgets every remembered PR list and PR view of `repo` (a branch was
    /// pushed: a PR's head, commits and checks may have changed).
    pub fn forget_pr_reads(&self, repo: &str) {
        self.forget(|k| {
            let list = k.len() > 3 && k[0] == "pr" && k[1] == "list" && k[3] == repo;
            let view = k.len() > 4 && k[0] == "pr" && k[1] == "view" && k[4] == repo;
            list || view
        });
    }

    /// After a push of `branch`: forgets the remembered PR reads of `repo`
    /// ([`Gh::forget_pr_reads`]) unless none of them can hold a PR of that
    /// branch (every remembered PR list and view carries `headRefName` and
    /// none names `branch`): then nothing remembered changed.
    pub fn forget_pr_reads_of_branch(&self, repo: &str, branch: &str) {
        let stale = self.any_read(|k, v| {
            let list = k.len() > 3 && k[0] == "pr" && k[1] == "list" && k[3] == repo;
            let view = k.len() > 4 && k[0] == "pr" && k[1] == "view" && k[4] == repo;
            if !(list || view) {
                return false;
            }
            let items: Vec<&Value> = match v.as_array() {
                Some(a) => a.iter().collect(),
                None => vec![v],
            };
            items
                .iter()
                .any(|i| match i.get("headRefName").and_then(Value::as_str) {
                    Some(h) => h == branch,
                    None => true,
                })
        });
        if stale {
            self.forget_pr_reads(repo);
        }
    }

    /// The ids of the Actions runs behind the failed check runs of commit
    /// `sha` (from each run's `details_url`), in one
    /// `gh api repos/R/commits/SHA/check-runs --paginate` call; sorted,
    /// without repeats.
    pub fn failed_action_run_ids(&self, repo: &str, sha: &str) -> Result<Vec<u64>, GhError> {
        check_repo(repo)?;
        if sha.is_empty() || sha.len() > 64 || !sha.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(GhError::new(
                ErrorKind::Other,
                "gh",
                format!("invalid commit id {sha:?}"),
            ));
        }
        let route = format!("repos/{repo}/commits/{sha}/check-runs");
        let argv = args(&["api", &route, "--paginate"]);
        let out = self.run(&argv)?;
        let mut ids = Vec::new();
        for page in serde_json::Deserializer::from_slice(&out).into_iter::<Value>() {
            let page = page.map_err(|e| {
                GhError::new(ErrorKind::Transport, "gh api check-runs", e.to_string())
            })?;
            let runs = page.get("check_runs").and_then(Value::as_array);
            for run in runs.into_iter().flatten() {
                if run.get("conclusion").and_then(Value::as_str) != Some("failure") {
                    continue;
                }
                let url = run.get("details_url").and_then(Value::as_str).unwrap_or("");
                if let Some(id) = action_run_id(url) {
                    ids.push(id);
                }
            }
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }

    /// Asks GitHub to re-run the failed jobs of Actions run `run_id`
    /// (`gh api repos/R/actions/runs/ID/rerun-failed-jobs --method POST`),
    /// else the whole run (`.../rerun --method POST`). One attempt each.
    pub fn rerun_action_run(&self, repo: &str, run_id: u64) -> Result<(), GhError> {
        check_repo(repo)?;
        let failed = format!("repos/{repo}/actions/runs/{run_id}/rerun-failed-jobs");
        if self
            .run_once(&args(&["api", &failed, "--method", "POST"]))
            .is_ok()
        {
            return Ok(());
        }
        let whole = format!("repos/{repo}/actions/runs/{run_id}/rerun");
        self.run_once(&args(&["api", &whole, "--method", "POST"]))
            .map(|_| ())
    }
}

/// The run id of an Actions URL (`.../actions/runs/<id>[/...]`).
/// `gh <kind> list -R R --state open --limit 10000 --json FIELDS`: the
/// pass's list reads (one argv, so a read and its remembered answer agree).
fn open_list_argv(kind: &str, repo: &str, fields: &str) -> Vec<String> {
    args(&[
        kind, "list", "-R", repo, "--state", "open", "--limit", LIST_LIMIT, "--json", fields,
    ])
}

/// The ids of the Actions runs behind the failed check runs of a PR's
/// `statusCheckRollup` (as `gh pr list|view --json statusCheckRollup`
/// gives it: each check run with its `detailsUrl`), sorted, without
/// repeats; `None` when a failed check run has no `detailsUrl` (then only
/// [`Gh::failed_action_run_ids`] can tell). Status contexts are not check
/// runs and never name an Actions run. Saves the check-runs read of every
/// failing PR the CI refresh lane looks at.
pub fn failed_action_runs_in_rollup(rollup: &Value) -> Option<Vec<u64>> {
    let mut ids = Vec::new();
    for check in rollup.as_array()? {
        let typename = check.get("__typename").and_then(Value::as_str);
        if typename.is_some_and(|t| t != "CheckRun") {
            continue;
        }
        let conclusion = check
            .get("conclusion")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !conclusion.eq_ignore_ascii_case("failure") {
            continue;
        }
        let url = check.get("detailsUrl").and_then(Value::as_str)?;
        ids.extend(action_run_id(url));
    }
    ids.sort_unstable();
    ids.dedup();
    Some(ids)
}

pub fn action_run_id(url: &str) -> Option<u64> {
    let (_, rest) = url.split_once("/actions/runs/")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::{action_run_id, failed_action_runs_in_rollup};
    use serde_json::json;

    #[test]
    fn a_rollup_with_details_urls_names_the_failed_runs_without_a_read() {
        let rollup = json!([
            {"__typename": "CheckRun", "conclusion": "FAILURE",
             "detailsUrl": "https://github.com/o/r/actions/runs/7/job/1"},
            {"__typename": "CheckRun", "conclusion": "FAILURE",
             "detailsUrl": "https://github.com/o/r/actions/runs/7/job/2"},
            {"__typename": "CheckRun", "conclusion": "SUCCESS",
             "detailsUrl": "https://github.com/o/r/actions/runs/9/job/3"},
            {"__typename": "CheckRun", "conclusion": "FAILURE",
             "detailsUrl": "https://ci.example/build/5"},
            {"__typename": "StatusContext", "state": "FAILURE", "targetUrl": "https://x/1"}
        ]);
        assert_eq!(failed_action_runs_in_rollup(&rollup), Some(vec![7]));
        let without = json!([{"__typename": "CheckRun", "conclusion": "FAILURE"}]);
        assert_eq!(failed_action_runs_in_rollup(&without), None);
        assert_eq!(failed_action_runs_in_rollup(&json!(null)), None);
        assert_eq!(failed_action_runs_in_rollup(&json!([])), Some(vec![]));
    }

    #[test]
    fn run_ids_come_from_actions_urls() {
        assert_eq!(
            action_run_id("https://github.com/o/r/actions/runs/123/job/9"),
            Some(123)
        );
        assert_eq!(action_run_id("https://ci.example/build/5"), None);
    }
}
