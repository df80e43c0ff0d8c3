//! Comments from a view this process already read, so a marker check
//! before posting needs no second read (issue 8: `gh` calls per session).

use serde_json::Value;

use crate::read::Comment;
use crate::transport::Gh;

/// A view holding this many comments or more may have been cut off (`gh`
/// reads the first page of an item's comments for `--json comments`).
pub const VIEW_COMMENT_CAP: usize = 100;

impl Gh {
    /// The comments of issue or PR `number` of `repo` from a remembered
    /// `gh issue view` / `gh pr view` answer that holds a `comments` array
    /// of fewer than [`VIEW_COMMENT_CAP`] entries (plus what this process
    /// posted since); `None` when there is none (a fake or an older `gh`
    /// that leaves the field out, a view not read yet).
    pub fn snapshot_comments(&self, repo: &str, number: u64) -> Option<Vec<Comment>> {
        let list = self.remembered_view_comments(repo, number)?;
        let items = list.as_array()?;
        if items.len() >= VIEW_COMMENT_CAP {
            return None;
        }
        Some(items.iter().map(view_comment).collect())
    }
}

/// A `gh ... view --json comments` entry (`author.login`, `createdAt`,
/// `url`) as a REST comment.
fn view_comment(v: &Value) -> Comment {
    let text = |key: &str| v.get(key).and_then(Value::as_str).unwrap_or_default();
    Comment {
        id: 0,
        body: text("body").to_string(),
        html_url: text("url").to_string(),
        created_at: text("createdAt").to_string(),
        author: v
            .get("author")
            .and_then(|a| a.get("login"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
    }
}
