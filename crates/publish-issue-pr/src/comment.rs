//! The issue's `Opened PR #<n>: <url>` comment: posted once.
//!
//! It counts as posted when a comment carries our marker for this PR, or
//! when a comment by the account we post as already holds the PR's URL
//! (comments posted before the marker existed). A post that fails is kept
//! in the run's outbox and replayed later; the PR exists either way, so the
//! publication still succeeds.

use acp_core::{Invocation, fail};
use acp_github::{Action, Comment, Delivery, Gh, Marker, Outbox};
use acp_session::publish::{body, meta::RunMeta};

use crate::Args;
use crate::flow::IssueInfo;

/// Makes sure the issue links the PR (or, in a dry run, says it would).
pub(crate) fn ensure(
    ctx: &mut Invocation<'_>,
    gh: &Gh,
    a: &Args,
    meta: &RunMeta,
    issue: &IssueInfo,
    pr_number: u64,
    pr_url: &str,
) -> anyhow::Result<()> {
    let action = format!("opened-pr-{pr_number}");
    let marker = Marker::new(&a.session, &action);
    // The issue's view (read already) holds its comments; else one read.
    let seen = gh
        .snapshot_comments(&a.repo_slug, issue.number)
        .map_or_else(|| gh.comments(&a.repo_slug, issue.number), Ok);
    let comments = match seen {
        Ok(c) => c,
        Err(e) if a.dry_run => {
            return Err(fail(1, format!("cannot read the issue's comments: {e}")));
        }
        // The post itself reads them again and keeps the marker rule.
        Err(_) => Vec::new(),
    };
    if already_linked(ctx, gh, &comments, &marker, pr_url) {
        return Ok(());
    }
    let text = body::pr_comment(pr_number, pr_url, &meta.issue_id, &issue.title, &a.session);
    if a.dry_run {
        ctx.out_kv("COMMENT_ACTION", "would-create")?;
        ctx.out_kv("COMMENT_BODY", body::one_line(&text))?;
        return Ok(());
    }
    let post = Action::Comment {
        repo: a.repo_slug.clone(),
        number: issue.number,
        session: a.session.clone(),
        action,
        body: text,
    };
    if let Delivery::Queued(path, e) = Outbox::new(&meta.run_dir).deliver(gh, &post)? {
        ctx.err_line(format!(
            "the PR comment on issue #{} was not posted ({e}); it waits in {}",
            issue.number,
            path.display()
        ))?;
    }
    Ok(())
}

fn already_linked(
    ctx: &Invocation<'_>,
    gh: &Gh,
    comments: &[Comment],
    marker: &Marker,
    pr_url: &str,
) -> bool {
    let tag = marker.tag();
    if comments.iter().any(|c| c.body.contains(&tag)) {
        return true;
    }
    let with_url: Vec<&Comment> = comments
        .iter()
        .filter(|c| c.body.contains(pr_url))
        .collect();
    if with_url.is_empty() || pr_url.is_empty() {
        return false;
    }
    let actor = ctx
        .env
        .non_empty("GITHUB_ACTOR")
        .or_else(|| gh.user_login().ok())
        .or_else(|| ctx.env.non_empty("USER"))
        .unwrap_or_default();
    with_url
        .iter()
        .any(|c| !actor.is_empty() && c.author == actor)
}
