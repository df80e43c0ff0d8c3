//! Cancelling the session of a closed issue (beyond 0.2.0): a running
//! issue session whose issue is neither labelled running nor ready is
//! checked on GitHub; when the issue is closed, its process group is ended
//! through the [`crate::host::SessionHost`] (the worktree is kept) and the
//! issue gets one comment saying why, with an idempotency marker so a
//! repeated pass never posts it twice.
//!
//! `ACP_HEARTBEAT_CANCEL_CLOSED_ISSUES=0` turns it off. Without a usable
//! `gh` nothing is cancelled.

use anyhow::Result;

use super::exec::Pass;
use crate::plan::SessionFacts;

/// The issue sessions that may belong to a closed issue: not auth-waiting
/// counts too; the hook's running and ready lists rule an issue out.
pub fn candidates(
    sessions: &[SessionFacts],
    running: &[String],
    ready: &[String],
) -> Vec<(String, String)> {
    sessions
        .iter()
        .filter_map(|s| Some((s.name.clone(), s.issue_id.clone()?)))
        .filter(|(_, id)| !running.contains(id) && !ready.contains(id))
        .collect()
}

fn comment(session: &str) -> String {
    format!(
        "The agent session `{session}` working on this issue was stopped because the issue \
         was closed. Its worktree was kept; reopen the issue to have the work picked up again."
    )
}

impl Pass<'_> {
    /// Ends the sessions of closed issues; prints `CANCELLED_SESSION=<s>`
    /// (`WOULD_CANCEL_SESSION=<s>` in a dry run) with the reason.
    pub fn cancel_closed(&mut self, sessions: &[SessionFacts], ready: &[String]) -> Result<()> {
        if self
            .args
            .env
            .get("ACP_HEARTBEAT_CANCEL_CLOSED_ISSUES")
            .as_deref()
            == Some("0")
        {
            return Ok(());
        }
        let running = self.running_issue_ids()?;
        let found = candidates(sessions, &running, ready);
        if found.is_empty() {
            return Ok(());
        }
        let Ok(gh) = acp_github::Gh::new(self.args.env.clone()) else {
            return Ok(());
        };
        let repo = self.args.repo_slug.clone();
        for (session, id) in found {
            let Ok(n) = id.parse::<u64>() else { continue };
            let closed = gh
                .issue(&repo, n)
                .is_ok_and(|i| i.state.eq_ignore_ascii_case("closed"));
            if !closed {
                continue;
            }
            if self.args.dry_run {
                self.would_line(format!("WOULD_CANCEL_SESSION={session}"))?;
                continue;
            }
            self.host.end_session(&session)?;
            let marker = acp_github::Marker::new(&session, "cancelled-issue-closed");
            let posted = gh.post_comment_once(&repo, n, &marker, &comment(&session));
            let note = if posted.is_ok() {
                ""
            } else {
                "\nCOMMENT=failed"
            };
            self.memory(&format!("cancelled issue worker {session}: issue closed"));
            self.block(
                &format!("CANCELLED_SESSION={session}"),
                &format!("REASON=issue-closed{note}"),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_issue_sessions_outside_both_lists_are_candidates() {
        let s = |name: &str, id: Option<&str>| SessionFacts {
            name: name.into(),
            issue_id: id.map(str::to_owned),
            is_issue: id.is_some(),
            ..SessionFacts::default()
        };
        let sessions = [
            s("fl-issue-1", Some("1")),
            s("fl-issue-2", Some("2")),
            s("fl-issue-3", Some("3")),
            s("fl-pr-4", None),
        ];
        let got = candidates(&sessions, &["1".into()], &["2".into()]);
        assert_eq!(got, [("fl-issue-3".to_owned(), "3".to_owned())]);
    }
}
