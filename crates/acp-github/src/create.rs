//! Creating issues and pull requests (publication, follow-up issues), the
//! login of the account `gh` acts as, and an issue read that tolerates
//! answers without a `number` field.
//!
//! Bodies always go through a file (`--body-file`): no body is ever an
//! argument, so its length and content are never a problem. A creation is
//! not idempotent, so only a rate-limited attempt (refused, so nothing was
//! created) is repeated; a server error or a timeout is returned at once
//! and the caller looks for what may have been created.

use std::path::Path;

use crate::error::{ErrorKind, GhError};
use crate::read::check_repo;
use crate::transport::{Gh, args};

/// What a creation printed: the new item's URL (the last non-empty line).
fn last_url(out: &[u8]) -> String {
    String::from_utf8_lossy(out)
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or_default()
        .to_string()
}

/// Refuses a value that `gh` could take for a flag, or that is empty.
fn check_value(what: &str, value: &str) -> Result<(), GhError> {
    if value.is_empty() || value.starts_with('-') || value.contains('\n') {
        return Err(GhError::new(
            ErrorKind::Other,
            "gh",
            format!("{what} {value:?} cannot be passed to gh (empty, a newline or a leading -)"),
        ));
    }
    Ok(())
}

fn check_body_file(body_file: &Path) -> Result<String, GhError> {
    let text = body_file
        .to_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            GhError::new(
                ErrorKind::Other,
                "gh",
                format!("body file {} is not a usable path", body_file.display()),
            )
        })?;
    Ok(text.to_string())
}

impl Gh {
    /// Runs a creation: repeated only while rate limited.
    fn create(&self, argv: &[String]) -> Result<String, GhError> {
        let out = self.retrying(|| match self.run_once(argv) {
            Err(e) if e.kind == ErrorKind::Server => Ok(Err(e)),
            other => other.map(Ok),
        })??;
        Ok(last_url(&out))
    }

    /// `gh pr create -R R --base B --head H --title T --body-file F`:
    /// returns the URL `gh` printed. The PR list remembered by this
    /// handle is dropped, so the next [`Gh::prs`] sees the new PR.
    pub fn create_pr(
        &self,
        repo: &str,
        base: &str,
        head: &str,
        title: &str,
        body_file: &Path,
    ) -> Result<String, GhError> {
        check_repo(repo)?;
        check_value("base branch", base)?;
        check_value("head branch", head)?;
        let file = check_body_file(body_file)?;
        let argv = args(&[
            "pr",
            "create",
            "-R",
            repo,
            "--base",
            base,
            "--head",
            head,
            "--title",
            title,
            "--body-file",
            &file,
        ]);
        let result = self.create(&argv);
        match &result {
            Ok(url) => self.add_created_pr(repo, url),
            Err(_) => self.forget(|k| k.len() > 1 && k[0] == "pr" && k[1] == "list"),
        }
        result
    }

    /// After `gh pr create`: the remembered open PR lists of `repo` gain
    /// the new PR. When one is remembered, the PR is read once
    /// (`gh pr view N -R R --json <PR view fields>`, kept as its view) and
    /// put first (GitHub lists the newest first) into every open list whose
    /// fields that view holds; every other PR list, or all of them when
    /// the URL is not a PR of `repo` or the view fails, is dropped.
    fn add_created_pr(&self, repo: &str, url: &str) {
        let is_pr_list = |k: &[String]| k.len() > 1 && k[0] == "pr" && k[1] == "list";
        let number = url
            .trim()
            .strip_prefix(&format!("https://github.com/{repo}/pull/"))
            .and_then(|n| n.parse::<u64>().ok());
        let open = self.remembered_list_with("pr", repo, "open", "number");
        let view = match (number, open) {
            (Some(n), Some(_)) => self.pr_view_value(repo, n).ok(),
            _ => None,
        };
        match (number, view) {
            (Some(n), Some(v)) => self.splice_into_pr_lists(repo, n, &v),
            _ => self.forget(is_pr_list),
        }
    }

    /// `gh issue create -R R --title T --body-file F`: returns the URL
    /// `gh` printed. Remembered issue lists are dropped.
    pub fn create_issue(
        &self,
        repo: &str,
        title: &str,
        body_file: &Path,
    ) -> Result<String, GhError> {
        check_repo(repo)?;
        let file = check_body_file(body_file)?;
        let argv = args(&[
            "issue",
            "create",
            "-R",
            repo,
            "--title",
            title,
            "--body-file",
            &file,
        ]);
        let result = self.create(&argv);
        self.forget(|k| k.len() > 1 && k[0] == "issue" && k[1] == "list");
        result
    }

    /// `gh api user --jq .login`: the login `gh` acts as, read once per
    /// process. An answer that is the whole user object (a `gh` or fake
    /// that ignores `--jq`) is read for its `login`.
    pub fn user_login(&self) -> Result<String, GhError> {
        let argv = args(&["api", "user", "--jq", ".login"]);
        let out = self.read_text(&argv)?;
        let text = out.trim();
        let login = match serde_json::from_str::<serde_json::Value>(text) {
            Ok(v) if v.is_object() => v["login"].as_str().unwrap_or_default().to_string(),
            _ => text.to_string(),
        };
        if login.is_empty() || login.contains(char::is_whitespace) {
            return Err(GhError::new(
                ErrorKind::Transport,
                "gh api user --jq .login",
                format!("not a login: {login:?}"),
            ));
        }
        Ok(login)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use serde_json::json;

    use crate::State;
    use crate::tests::{REPO, World};

    fn body_file(w: &World, text: &str) -> std::path::PathBuf {
        let p = w.path("body.md");
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn a_pr_is_created_with_its_body_from_a_file_and_the_list_is_read_again() {
        let w = World::new(json!({"prs": [], "next_number": 41}));
        let gh = w.gh();
        assert!(gh.prs(REPO, State::Open).unwrap().is_empty());
        let hostile = "$(touch pwned) `id` \"quoted\" -- --draft";
        let f = body_file(&w, &format!("{hostile}\n\nCloses #7\n"));
        let url = gh
            .create_pr(REPO, "develop", "agent/x-1", hostile, &f)
            .unwrap();
        assert_eq!(url, "https://github.com/acme/widgets/pull/41");
        let calls = w.calls();
        assert_eq!(
            calls[1],
            [
                "pr",
                "create",
                "-R",
                REPO,
                "--base",
                "develop",
                "--head",
                "agent/x-1",
                "--title",
                hostile,
                "--body-file",
                f.to_str().unwrap()
            ]
        );
        let prs = gh.prs(REPO, State::Open).unwrap();
        assert_eq!(prs.len(), 1);
        assert_eq!(prs[0].title, hostile);
        assert!(prs[0].body.starts_with(hostile));
        assert_eq!(prs[0].base_ref_name, "develop");
        assert!(!w.path("pwned").exists());
    }

    #[test]
    fn creations_are_not_repeated_after_a_server_error_but_are_after_a_rate_limit() {
        let w = World::new(json!({"faults": [{"count": 1, "answer": "502"}]}));
        let gh = w.gh();
        let f = body_file(&w, "b");
        let e = gh.create_issue(REPO, "t", &f).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::Server);
        assert_eq!(w.calls().len(), 1);
        w.put("faults", json!([{"count": 1, "answer": "rate"}]));
        w.clear_log();
        let url = gh.create_issue(REPO, "t", &f).unwrap();
        assert_eq!(url, "https://github.com/acme/widgets/issues/900");
        assert_eq!(w.calls().len(), 2);
    }

    #[test]
    fn flag_like_branches_are_refused_before_a_call() {
        let w = World::new(json!({}));
        let gh = w.gh();
        let f = body_file(&w, "b");
        assert!(gh.create_pr(REPO, "main", "--force", "t", &f).is_err());
        assert!(gh.create_pr(REPO, "", "x", "t", &f).is_err());
        assert!(w.calls().is_empty());
    }

    #[test]
    fn the_user_login_and_an_issue_answer_without_a_number() {
        let w = World::new(json!({"viewer": "acp-bot",
            "issues": [{"number": 5, "title": "T", "labels": ["a"]}]}));
        let gh = w.gh();
        assert_eq!(gh.user_login().unwrap(), "acp-bot");
        let i = gh.issue(REPO, 5).unwrap();
        assert_eq!((i.number, i.title.as_str()), (5, "T"));
        assert_eq!(i.labels, ["a"]);
    }
}
