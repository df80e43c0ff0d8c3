//! The publication, step by step: metadata, the issue, an open PR for the
//! branch or a new one (worktree recovery, guards, push, create), then the
//! issue comment and the result lines.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use acp_core::{Invocation, fail, fsx, git};
use acp_github::{Gh, State};
use acp_session::publish::{
    body, check_branch, meta::RunMeta, meta::archived_run_dir, recover::Recovery,
};

use crate::{Args, package_tool, package_tool_is_executable};

/// Largest worker-written `pr-body.md` used.
const BODY_CAP: u64 = 1 << 20;

/// What the issue says about itself.
pub(crate) struct IssueInfo {
    pub number: u64,
    pub title: String,
    pub url: String,
    pub keep_open: bool,
}

/// The whole publication; returns the exit code.
pub(crate) fn publish(ctx: &mut Invocation<'_>, a: &Args) -> anyhow::Result<i32> {
    let meta = load_meta(ctx, a)?;
    let gh = Gh::new(ctx.env.clone()).map_err(|e| fail(1, e.to_string()))?;
    let issue = read_issue(&gh, a, &meta)?;
    let open = gh
        .prs(&a.repo_slug, State::Open)
        .map_err(|e| fail(1, format!("cannot list the open PRs: {e}")))?;
    let (status, number, url) = match open.iter().find(|p| p.head_ref_name == meta.branch) {
        Some(pr) => ("existing-pr", pr.number, body::one_line(&pr.url)),
        None => match publish_new(ctx, a, &meta, &issue, &gh)? {
            Some((n, u)) => ("created-pr", n, u),
            None => return Ok(0),
        },
    };
    crate::comment::ensure(ctx, &gh, a, &meta, &issue, number, &url)?;
    ctx.out_kv("PUBLISH_STATUS", status)?;
    ctx.out_kv("ISSUE_ID", &meta.issue_id)?;
    ctx.out_kv("ISSUE_URL", &issue.url)?;
    ctx.out_kv("PR_NUMBER", number)?;
    ctx.out_kv("PR_URL", &url)?;
    ctx.out_kv("BRANCH", &meta.branch)?;
    Ok(0)
}

/// The session's run.env: the one worker-status names, else the newest
/// archived run's; it must name the issue and a usable branch.
fn load_meta(ctx: &mut Invocation<'_>, a: &Args) -> anyhow::Result<RunMeta> {
    let mut cmd = package_tool(ctx, "agent-project-worker-status");
    cmd.arg("--runs-root")
        .arg(&a.runs_root)
        .args(["--session", &a.session]);
    let out = acp_core::dispatch::output(&mut cmd)?;
    ctx.stderr.write_all(&out.stderr)?;
    let code = acp_core::process::exit_code(out.status);
    if code != 0 {
        return Err(fail(code, ""));
    }
    // worker-status repeats the run's files before naming them: a
    // `META_FILE=` line inside run.env must not redirect us, so the run's
    // own path wins, else the last line (the one worker-status wrote).
    let stdout = String::from_utf8_lossy(&out.stdout);
    let own = a.runs_root.join(&a.session).join("run.env");
    let named: Vec<PathBuf> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("META_FILE="))
        .map(PathBuf::from)
        .collect();
    let named = named
        .iter()
        .find(|p| **p == own)
        .or(named.last())
        .cloned()
        .filter(|p| p.is_file());
    let found = match named {
        Some(p) => Some((p, false)),
        None => archived_run_dir(&a.history_root, &a.session)
            .map(|d| d.join("run.env"))
            .filter(|p| p.is_file())
            .map(|p| (p, true)),
    };
    let Some((file, archived)) = found else {
        return Err(fail(
            1,
            format!("missing metadata for session {}", a.session),
        ));
    };
    let meta = RunMeta::load(&file, archived)?;
    if meta.issue_id.is_empty() || meta.branch.is_empty() {
        return Err(fail(
            1,
            format!("session {} is missing ISSUE_ID or BRANCH", a.session),
        ));
    }
    if meta.issue_id.parse::<u64>().is_err() {
        let id = meta.issue_id.escape_debug();
        return Err(fail(
            1,
            format!("session {}: ISSUE_ID {id} is not a number", a.session),
        ));
    }
    check_branch(&meta.branch).map_err(|e| fail(1, format!("session {}: {e}", a.session)))?;
    Ok(meta)
}

fn read_issue(gh: &Gh, a: &Args, meta: &RunMeta) -> anyhow::Result<IssueInfo> {
    let number: u64 = meta.issue_id.parse()?;
    let issue = gh
        .issue(&a.repo_slug, number)
        .map_err(|e| fail(1, format!("cannot read issue #{number}: {e}")))?;
    let title = match issue.title.is_empty() {
        true => format!("Issue #{number}"),
        false => issue.title.clone(),
    };
    let url = match issue.url.is_empty() {
        true => body::one_line(&meta.issue_url),
        false => body::one_line(&issue.url),
    };
    let keep_open = !a.keep_open_label.is_empty() && issue.labels.contains(&a.keep_open_label);
    Ok(IssueInfo {
        number,
        title,
        url,
        keep_open,
    })
}

/// Recovers the worktree, checks it, runs the guards, pushes and creates
/// the PR. `None` after a dry run (its lines are printed).
fn publish_new(
    ctx: &mut Invocation<'_>,
    a: &Args,
    meta: &RunMeta,
    issue: &IssueInfo,
    gh: &Gh,
) -> anyhow::Result<Option<(u64, String)>> {
    let env = ctx.env.clone();
    let rec = Recovery {
        repo_root: &a.repo_root,
        worktree_root: &a.worktree_root,
        remote: &a.remote,
        meta,
    };
    let Some(wt) = rec.find(&env, &mut *ctx.stderr)? else {
        return Err(fail(
            1,
            format!(
                "session {} is missing a publishable worktree (branch {} not found locally or on remote {})",
                a.session, meta.branch, a.remote
            ),
        ));
    };
    rec.align(&env, &wt, &a.base_branch, &mut *ctx.stderr)?;
    let base_ref = format!("{}/{}", a.remote, a.base_branch);
    let head = git::head(&env, &wt);
    let range = format!("refs/remotes/{base_ref}..HEAD");
    let ahead = git::capture(
        &env,
        &wt,
        &["rev-list", "--count", "--end-of-options", &range],
    )
    .ok_or_else(|| {
        fail(
            1,
            format!(
                "cannot count the commits of {} over {base_ref} in {}",
                meta.branch,
                wt.display()
            ),
        )
    })?;
    if ahead == "0" {
        return Err(fail(
            1,
            format!(
                "branch {} has no commits ahead of {base_ref}; nothing to publish",
                meta.branch
            ),
        ));
    }
    run_guards(ctx, a, &wt, &base_ref, meta)?;
    let title = git::capture(&env, &wt, &["log", "-1", "--pretty=%s"]).unwrap_or_default();
    let body_file = write_body(a, meta, issue, &head)?;
    if a.dry_run {
        let kept = body_file
            .keep()
            .map_err(|e| anyhow::anyhow!("cannot keep the PR body file: {e}"))?;
        ctx.out_kv("PUBLISH_STATUS", "would-create-pr")?;
        ctx.out_kv("ISSUE_ID", &meta.issue_id)?;
        ctx.out_kv("ISSUE_URL", &issue.url)?;
        ctx.out_kv("BRANCH", &meta.branch)?;
        ctx.out_kv("PR_TITLE", title.replace(char::is_control, " "))?;
        ctx.out_kv("PR_BODY_FILE", kept.1.display())?;
        return Ok(None);
    }
    push(ctx, &wt, a, meta)?;
    create(gh, a, meta, &title, body_file.path()).map(Some)
}

/// Scope guard (told the repository through `ACP_REPO_SLUG`), localization
/// guard (when installed) and verification guard, in this order; the first refusal ends the publication with its
/// exit code (its report already relayed).
fn run_guards(
    ctx: &mut Invocation<'_>,
    a: &Args,
    wt: &Path,
    base_ref: &str,
    meta: &RunMeta,
) -> anyhow::Result<()> {
    let (issue_id, run_dir) = (meta.issue_id.as_str(), meta.run_dir.as_path());
    let wt_s = wt.as_os_str();
    let mut scope = package_tool(ctx, "issue-publish-scope-guard.sh");
    // The guard reads the issue of the repository being published to.
    scope.env("ACP_REPO_SLUG", &a.repo_slug);
    scope
        .arg("--worktree")
        .arg(wt_s)
        .args(["--base-ref", base_ref, "--issue-id", issue_id]);
    let mut guards = vec![scope];
    if package_tool_is_executable(ctx, "issue-publish-localization-guard.sh") {
        let mut l = package_tool(ctx, "issue-publish-localization-guard.sh");
        l.arg("--worktree").arg(wt_s).args(["--base-ref", base_ref]);
        guards.push(l);
    }
    let mut verify = package_tool(ctx, "branch-verification-guard.sh");
    verify
        .arg("--worktree")
        .arg(wt_s)
        .args(["--base-ref", base_ref]);
    verify.arg("--run-dir").arg(run_dir);
    guards.push(verify);
    for mut g in guards {
        let code = ctx.relay(&mut g)?;
        if code != 0 {
            return Err(fail(code, ""));
        }
    }
    Ok(())
}

/// The PR body in a temporary file: the worker's `pr-body.md` when it has
/// text, else a generated one; then the closing keyword rule.
fn write_body(
    a: &Args,
    meta: &RunMeta,
    issue: &IssueInfo,
    head: &str,
) -> anyhow::Result<tempfile::NamedTempFile> {
    let worker = meta.run_dir.join("pr-body.md");
    let text = match fsx::read_capped_if_exists(&worker, BODY_CAP)? {
        Some(bytes) if !bytes.is_empty() => String::from_utf8_lossy(&bytes).into_owned(),
        _ => body::generated(&meta.issue_id, &issue.title, &a.session, head),
    };
    let text = body::finalize(&text, &meta.issue_id, issue.keep_open)?;
    let mut f = tempfile::Builder::new()
        .prefix("acp-pr-body-")
        .suffix(".md")
        .tempfile()
        .map_err(|e| anyhow::anyhow!("cannot create a temporary PR body file: {e}"))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.flush())
        .map_err(|e| anyhow::anyhow!("{}: {e}", f.path().display()))?;
    Ok(f)
}

/// Whether `<remote>/<branch>` (fetched by the recovery step just before)
/// already is the worktree's HEAD and the branch tracks it: then a push
/// would only say "Everything up-to-date" (the reconciler pushes the
/// branch before it publishes), and it costs a round trip to the remote.
fn already_pushed(ctx: &Invocation<'_>, wt: &Path, a: &Args, meta: &RunMeta) -> bool {
    let env = &ctx.env;
    let tracking = format!("refs/remotes/{}/{}", a.remote, meta.branch);
    let remote_head = git::capture(
        env,
        wt,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &format!("{tracking}^{{commit}}"),
        ],
    );
    let upstream = git::capture(
        env,
        wt,
        &[
            "for-each-ref",
            "--format=%(upstream)",
            &format!("refs/heads/{}", meta.branch),
        ],
    );
    let head = git::head(env, wt);
    !head.is_empty()
        && remote_head.as_deref() == Some(head.as_str())
        && upstream.as_deref() == Some(tracking.as_str())
}

/// `git push -u <remote> <branch>` from the worktree, its output relayed;
/// nothing when the remote branch already is HEAD ([`already_pushed`]).
fn push(ctx: &mut Invocation<'_>, wt: &Path, a: &Args, meta: &RunMeta) -> anyhow::Result<()> {
    if already_pushed(ctx, wt, a, meta) {
        return Ok(());
    }
    let out = git::output(
        &ctx.env,
        wt,
        [
            "push",
            "-u",
            "--end-of-options",
            a.remote.as_str(),
            meta.branch.as_str(),
        ],
    )?;
    ctx.stdout.write_all(&out.stdout)?;
    ctx.stderr.write_all(&out.stderr)?;
    if !out.status.success() {
        return Err(fail(
            1,
            format!(
                "git push of {} to {} failed; no PR was created",
                meta.branch, a.remote
            ),
        ));
    }
    Ok(())
}

/// The number of PR `url` (`https://<host>/<repo>/pull/<N>`, what
/// `gh pr create` prints), when it is one of `repo`.
fn created_number(url: &str, repo: &str) -> Option<u64> {
    let url = url.trim();
    let (rest, n) = url.rsplit_once("/pull/")?;
    if !rest.ends_with(&format!("/{repo}"))
        || n.is_empty()
        || !n.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    n.parse().ok().filter(|n| *n > 0)
}

/// Creates the PR; its number comes from the URL `gh` printed, else the
/// PR is found by its branch (also when the creation reported a failure: a
/// PR that was made anyway is used).
fn create(
    gh: &Gh,
    a: &Args,
    meta: &RunMeta,
    title: &str,
    body: &Path,
) -> anyhow::Result<(u64, String)> {
    let created = gh.create_pr(&a.repo_slug, &a.base_branch, &meta.branch, title, body);
    if let Ok(url) = &created
        && let Some(n) = created_number(url, &a.repo_slug)
    {
        return Ok((n, body::one_line(url)));
    }
    let open = gh.prs(&a.repo_slug, State::Open);
    if let Ok(prs) = &open
        && let Some(pr) = prs.iter().find(|p| p.head_ref_name == meta.branch)
    {
        return Ok((pr.number, body::one_line(&pr.url)));
    }
    Err(match (created, open) {
        (Err(e), _) => fail(
            1,
            format!("PR creation for branch {} failed: {e}", meta.branch),
        ),
        (Ok(url), Err(e)) => fail(
            1,
            format!("PR creation returned {url}, but the open PRs cannot be listed: {e}"),
        ),
        (Ok(url), Ok(_)) => fail(
            1,
            format!(
                "PR creation returned {url}, but no open PR was found for branch {}",
                meta.branch
            ),
        ),
    })
}

#[cfg(test)]
mod created_tests {
    #[test]
    fn the_created_number_comes_from_a_pull_url_of_the_repo() {
        let n = |u: &str| super::created_number(u, "acme/w");
        assert_eq!(n("https://github.com/acme/w/pull/12\n"), Some(12));
        assert_eq!(n("https://github.com/other/w/pull/12"), None);
        assert_eq!(n("https://github.com/acme/w/pull/12x"), None);
        assert_eq!(n("https://github.com/acme/w/issues/12"), None);
        assert_eq!(n("created"), None);
    }
}
