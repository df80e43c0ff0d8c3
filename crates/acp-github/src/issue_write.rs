//! Issue writes and the reads the catch-up, checklist and follow-up tools
//! need: an issue with its whole comment thread in one call, closing an
//! issue with a comment, replacing an issue body, comments through the
//! numeric repository id when the `owner/name` route is not found, and the
//! login of the authenticated user.

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;

use crate::error::{ErrorKind, GhError, show_call};
use crate::read::{Comment, ISSUE_FIELDS, Issue, check_repo, decode};
use crate::transport::{Gh, args};

/// A comment as `gh issue view --json comments` returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadComment {
    #[serde(default, deserialize_with = "crate::read::text")]
    pub body: String,
    #[serde(default, deserialize_with = "crate::read::text")]
    pub created_at: String,
    #[serde(default, deserialize_with = "crate::read::login")]
    pub author: String,
}

/// An issue and every comment of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct IssueThread {
    #[serde(flatten)]
    pub issue: Issue,
    #[serde(default)]
    pub comments: Vec<ThreadComment>,
}

impl std::ops::Deref for IssueThread {
    type Target = Issue;
    fn deref(&self) -> &Issue {
        &self.issue
    }
}

impl Gh {
    /// An issue with all its comments, in one
    /// `gh issue view N -R R --json <issue fields>,comments` call (gh reads
    /// every page of comments for it).
    pub fn issue_thread(&self, repo: &str, number: u64) -> Result<IssueThread, GhError> {
        check_repo(repo)?;
        let fields = format!("{ISSUE_FIELDS},comments");
        let argv = args(&["issue", "view", &number.to_string(), "-R", repo, "--json"]);
        let argv = [argv, vec![fields]].concat();
        let v = self.read_json(&argv)?;
        decode(&v, &argv)
    }

    /// Closes an issue, with `comment` posted by the same call when given:
    /// `gh issue close N -R R [--comment C]`. Remembered reads of the issue
    /// are dropped.
    pub fn close_issue(
        &self,
        repo: &str,
        number: u64,
        comment: Option<&str>,
    ) -> Result<(), GhError> {
        check_repo(repo)?;
        let mut argv = args(&["issue", "close", &number.to_string(), "-R", repo]);
        if let Some(c) = comment {
            argv.extend(args(&["--comment", c]));
        }
        self.run(&argv)?;
        self.forget_issue(repo, number);
        Ok(())
    }

    /// Replaces an issue's body:
    /// `gh api repos/R/issues/N --method PATCH --input F`, `F` a private
    /// temporary file holding `{"body": ...}` (removed afterwards).
    pub fn update_issue_body(&self, repo: &str, number: u64, body: &str) -> Result<(), GhError> {
        check_repo(repo)?;
        let payload = serde_json::json!({ "body": body }).to_string();
        let file = self.temp_input(payload.as_bytes())?;
        let route = format!("repos/{repo}/issues/{number}");
        let argv = args(&["api", &route, "--method", "PATCH", "--input"]);
        let argv = [argv, vec![file.display().to_string()]].concat();
        let result = self.run(&argv);
        let _ = std::fs::remove_file(&file);
        result?;
        self.forget_issue(repo, number);
        Ok(())
    }

    /// Every comment of an issue; when the `repos/R/...` route answers
    /// "not found" and `repo_id` (the numeric id) is known, the same read
    /// through `gh api repositories/ID/issues/N/comments?per_page=100
    /// --paginate`.
    pub fn comments_or_by_repo_id(
        &self,
        repo: &str,
        repo_id: &str,
        number: u64,
    ) -> Result<Vec<Comment>, GhError> {
        match self.comments(repo, number) {
            Err(e)
                if e.kind == ErrorKind::NotFound
                    && !repo_id.is_empty()
                    && repo_id.bytes().all(|b| b.is_ascii_digit()) =>
            {
                let route = format!("repositories/{repo_id}/issues/{number}/comments?per_page=100");
                let argv = args(&["api", &route, "--paginate"]);
                let v = self.read_json(&argv)?;
                decode(&v, &argv)
            }
            other => other,
        }
    }

    /// Drops every remembered read that holds issue `number` of `repo`.
    fn forget_issue(&self, repo: &str, number: u64) {
        let n = number.to_string();
        self.forget(|k| {
            let list = k.len() > 3 && k[1] == "list" && k[3] == repo;
            let view = k.len() > 4 && k[1] == "view" && k[2] == n && k[4] == repo;
            list || view
        });
    }

    /// A new private file under `$TMPDIR` (or /tmp) holding `bytes`.
    fn temp_input(&self, bytes: &[u8]) -> Result<PathBuf, GhError> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let dir = self
            .env()
            .non_empty("TMPDIR")
            .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
        let io = |p: &PathBuf, e: std::io::Error| {
            GhError::new(ErrorKind::Transport, "gh", format!("{}: {e}", p.display()))
        };
        for n in 0..100u32 {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let p = dir.join(format!(
                "acp-gh-input.{}.{nanos}.{n}.json",
                std::process::id()
            ));
            let opened = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&p);
            match opened {
                Ok(mut f) => {
                    f.write_all(bytes).map_err(|e| io(&p, e))?;
                    return Ok(p);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io(&p, e)),
            }
        }
        Err(io(&dir, std::io::Error::other("no free temporary name")))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use serde_json::json;

    use crate::tests::{REPO, World};

    fn world() -> World {
        World::new(json!({
            "issues": [{"number": 5, "title": "t", "body": "old", "state": "OPEN", "labels": ["x"],
                        "comments": [{"body": "Opened PR #9", "createdAt": "2026-01-01T00:00:00Z",
                                      "author": {"login": "bot"}}]}],
            "login": "me",
        }))
    }

    #[test]
    fn a_thread_is_one_view_call_with_its_comments() {
        let w = world();
        let t = w.gh().issue_thread(REPO, 5).unwrap();
        assert_eq!(t.comments[0].body, "Opened PR #9");
        assert_eq!(t.comments[0].author, "bot");
        assert_eq!(t.labels, ["x"]);
        let calls = w.calls();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0][..5], ["issue", "view", "5", "-R", REPO]);
        assert!(calls[0][6].ends_with(",comments"));
    }

    #[test]
    fn close_with_comment_and_body_update_are_one_call_each() {
        let w = world();
        let gh = w.gh();
        assert_eq!(gh.issue(REPO, 5).unwrap().state, "OPEN");
        gh.close_issue(REPO, 5, Some("done {X} a=b")).unwrap();
        // The remembered view was dropped: the next read sees the close.
        assert_eq!(gh.issue(REPO, 5).unwrap().state, "CLOSED");
        gh.update_issue_body(REPO, 5, "new = {BODY}\n- [x] a")
            .unwrap();
        let calls = w.calls();
        assert_eq!(
            calls[1],
            [
                "issue",
                "close",
                "5",
                "-R",
                REPO,
                "--comment",
                "done {X} a=b"
            ]
        );
        let patch = &calls[3];
        assert_eq!(
            patch[..4],
            ["api", "repos/acme/widgets/issues/5", "--method", "PATCH"]
        );
        assert_eq!(patch[4], "--input");
        assert!(
            !std::path::Path::new(&patch[5]).exists(),
            "temp input removed"
        );
        assert_eq!(w.get()["issues"][0]["body"], "new = {BODY}\n- [x] a");
        assert_eq!(w.comment_bodies(5), ["done {X} a=b"]);
    }

    #[test]
    fn a_failed_body_update_is_an_error_and_leaves_the_body() {
        let w = world();
        w.put("fail_patch", json!(true));
        let e = w.gh().update_issue_body(REPO, 5, "new").unwrap_err();
        assert!(e.to_string().contains("PATCH"), "{e}");
        assert_eq!(w.get()["issues"][0]["body"], "old");
    }

    #[test]
    fn the_user_login_is_read_once() {
        let w = world();
        let gh = w.gh();
        assert_eq!(gh.user_login().unwrap(), "me");
        assert_eq!(gh.user_login().unwrap(), "me");
        assert_eq!(w.calls(), [["api", "user", "--jq", ".login"]]);
    }

    #[test]
    fn comments_fall_back_to_the_repository_id_only_when_not_found() {
        let w = world();
        // A gh whose owner/name route is "not found".
        acp_core::testutil::write_script(
            &w.path("bin/gh"),
            "#!/bin/sh\ncase \"$2\" in\n repos/*) echo 'gh: Not Found (HTTP 404)' >&2; exit 1;;\n \
             repositories/77/*) echo '[{\"body\":\"see #8\",\"user\":{\"login\":\"me\"}}]';;\n \
             *) exit 1;;\nesac\n",
        );
        let gh = w.gh();
        let c = gh.comments_or_by_repo_id(REPO, "77", 5).unwrap();
        assert_eq!(c[0].body, "see #8");
        assert_eq!(c[0].author, "me");
        let e = gh.comments_or_by_repo_id(REPO, "", 6).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::NotFound);
    }
}
