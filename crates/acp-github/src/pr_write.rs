//! PR host actions of the PR reconciler: who the caller is, who wrote a PR,
//! its remote head, its reviews, an approving review and the merge. The
//! call shapes are the ones the original reconciler used (and its tests'
//! fakes answer), except that a merge never adds `--admin` unless asked
//! (F21) and the reviews are read before merging a PR its own account wrote.

use serde::Deserialize;
use serde_json::Value;

use crate::error::{ErrorKind, GhError, show_call};
use crate::read::check_repo;
use crate::transport::{Gh, args};

/// One review of a PR (`GET repos/R/pulls/N/reviews`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Review {
    #[serde(default)]
    pub state: String,
    #[serde(default, rename = "user", deserialize_with = "user_login")]
    pub author: String,
}

fn user_login<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref()
        .and_then(|u| u.get("login"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string())
}

/// What [`Gh::approve_pr`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approval {
    Approved,
    /// GitHub refused because the caller wrote the PR ("Can not approve
    /// your own pull request").
    OwnPr,
}

impl Gh {
    /// The PR's author: `gh pr view N -R R --json author --jq '.author.login // ""'`,
    /// answered by a remembered view or list of the PR when there is one
    /// (a PR's author never changes).
    pub fn pr_author_login(&self, repo: &str, number: u64) -> Result<String, GhError> {
        check_repo(repo)?;
        if let Some(v) = self.remembered_view_with("pr", repo, number, "author")
            && let Some(login) = v.pointer("/author/login").and_then(Value::as_str)
        {
            return Ok(login.to_string());
        }
        let n = number.to_string();
        let argv = args(&["pr", "view", &n, "-R", repo, "--json", "author"]);
        let argv = [argv, args(&["--jq", ".author.login // \"\""])].concat();
        self.text(&argv, &["author", "login"])
    }

    /// The PR's head commit on GitHub:
    /// `gh pr view N -R R --json headRefOid --jq '.headRefOid // ""'`.
    pub fn pr_head_oid(&self, repo: &str, number: u64) -> Result<String, GhError> {
        check_repo(repo)?;
        let n = number.to_string();
        let argv = args(&["pr", "view", &n, "-R", repo, "--json", "headRefOid"]);
        self.text(
            &[argv, args(&["--jq", ".headRefOid // \"\""])].concat(),
            &["headRefOid"],
        )
    }

    /// Every review of the PR: `gh api repos/R/pulls/N/reviews?per_page=100 --paginate`.
    /// An answer that is not a list of reviews is an error (the caller
    /// then knows of no approval).
    pub fn pr_reviews(&self, repo: &str, number: u64) -> Result<Vec<Review>, GhError> {
        check_repo(repo)?;
        let route = format!("repos/{repo}/pulls/{number}/reviews?per_page=100");
        let argv = args(&["api", &route, "--paginate"]);
        let v = self.read_json(&argv)?;
        Vec::<Review>::deserialize(&*v).map_err(|e| {
            GhError::new(
                ErrorKind::Transport,
                &show_call(&argv),
                format!("unexpected JSON: {e}"),
            )
        })
    }

    /// Whether someone other than `author` approved the PR (the latest
    /// review of each reviewer counts).
    pub fn pr_approved_by_other(
        &self,
        repo: &str,
        number: u64,
        author: &str,
    ) -> Result<bool, GhError> {
        let mut last: Vec<(String, String)> = Vec::new();
        for r in self.pr_reviews(repo, number)? {
            if r.author.is_empty() || r.author.eq_ignore_ascii_case(author) {
                continue;
            }
            // Comments do not change a reviewer's verdict.
            if r.state.eq_ignore_ascii_case("COMMENTED") {
                continue;
            }
            last.retain(|(who, _)| who != &r.author);
            last.push((r.author, r.state));
        }
        Ok(last
            .iter()
            .any(|(_, state)| state.eq_ignore_ascii_case("APPROVED")))
    }

    /// Submits an approving review:
    /// `gh api repos/R/pulls/N/reviews --method POST -f event=APPROVE -f body=B`.
    /// One attempt (a repeat would add a second review).
    pub fn approve_pr(&self, repo: &str, number: u64, body: &str) -> Result<Approval, GhError> {
        check_repo(repo)?;
        let route = format!("repos/{repo}/pulls/{number}/reviews");
        let mut argv = args(&["api", &route, "--method", "POST", "-f", "event=APPROVE"]);
        argv.extend(["-f".to_string(), format!("body={body}")]);
        match self.run_once(&argv) {
            Ok(_) => {
                self.forget_pr(repo, number);
                Ok(Approval::Approved)
            }
            Err(e) if e.detail.contains("Can not approve your own pull request") => {
                Ok(Approval::OwnPr)
            }
            Err(e) => Err(e),
        }
    }

    /// Squash-merges the PR and deletes its branch:
    /// `gh pr merge N -R R --squash --delete-branch`, with `--admin` (which
    /// bypasses branch protection) only when `admin` (F21). One attempt.
    pub fn merge_pr(&self, repo: &str, number: u64, admin: bool) -> Result<(), GhError> {
        check_repo(repo)?;
        let n = number.to_string();
        let mut argv = args(&["pr", "merge", &n, "-R", repo, "--squash", "--delete-branch"]);
        if admin {
            argv.push("--admin".into());
        }
        self.run_once(&argv)?;
        self.forget_pr(repo, number);
        Ok(())
    }

    /// Drops every remembered read of PR `number` and every remembered PR
    /// list of `repo` (its state, review decision or reviews changed).
    fn forget_pr(&self, repo: &str, number: u64) {
        let n = number.to_string();
        self.forget(|k| {
            let list = k.len() > 3 && k[0] == "pr" && k[1] == "list" && k[3] == repo;
            list || (k.len() > 2 && k[0] == "pr" && k[2] == n)
        });
    }

    /// A call whose output is one line of text (a `--jq` answer); when
    /// the answer is the JSON object itself, the value at `path` in it.
    fn text(&self, argv: &[String], path: &[&str]) -> Result<String, GhError> {
        let out = self.run(argv)?;
        let text = String::from_utf8_lossy(&out);
        if let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(&text) {
            let found = path.iter().try_fold(&v, |v, k| v.get(k));
            return Ok(found
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string());
        }
        Ok(text.lines().next().unwrap_or_default().trim().to_string())
    }
}
