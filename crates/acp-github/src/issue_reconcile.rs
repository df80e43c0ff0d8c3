//! Call shapes of the issue reconciler (`agent-project-reconcile-issue-session`):
//! a blocker comment that is not repeated when the latest comment
//! already says the same. (Closing an issue is `Gh::close_issue`.)

use crate::error::GhError;
use crate::read::{Comment, comments_call};
use crate::transport::Gh;
use crate::write::{Marker, Posted};

/// Whether `comments` already hold `body`: a comment carries `marker`'s
/// tag, or the latest comment's text is `body` (trailing blank space
/// ignored on both sides, as the original compared `$(cat file)`).
pub fn already_said(comments: &[Comment], marker: &Marker, body: &str) -> bool {
    let tag = marker.tag();
    if comments.iter().any(|c| c.body.contains(&tag)) {
        return true;
    }
    comments
        .last()
        .is_some_and(|c| c.body.trim_end() == body.trim_end())
}

impl Gh {
    /// Posts `body` with `marker` ([`Gh::post_comment_once`]) unless the
    /// issue's comments already hold it ([`already_said`]). A comment list
    /// that cannot be read does not stop the post (the marker still guards
    /// a repeat); the list read is shared with the post's own check.
    pub fn post_comment_unless_repeated(
        &self,
        repo: &str,
        number: u64,
        marker: &Marker,
        body: &str,
    ) -> Result<Posted, GhError> {
        if let Some(seen) = self.snapshot_comments(repo, number) {
            if already_said(&seen, marker, body) {
                return Ok(Posted::AlreadyThere);
            }
            return self.post_comment_seen(repo, number, marker, body, Some(seen));
        }
        let list = comments_call(repo, number)?;
        if let Ok(seen) = self.read_json_with(&list, false) {
            let comments: Vec<Comment> =
                serde_json::from_value((*seen).clone()).unwrap_or_default();
            if already_said(&comments, marker, body) {
                return Ok(Posted::AlreadyThere);
            }
        }
        self.post_comment_once(repo, number, marker, body)
    }
}
