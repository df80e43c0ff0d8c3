//! `bin/pr-risk.sh PR_NUMBER` (and its front `tools/bin/pr-risk.sh`): the
//! lane oracle. Reads the PR from GitHub and prints one JSON object (no
//! trailing newline): risk tier, merge eligibility and the reasons against
//! it, and the agent lane (`automerge`, `fix`, `pending`, `human-review`,
//! `double-check-1|2`, `ci-refresh`, `merge-repair`, `blocked`, `ignore`).
//!
//! GitHub: one `gh pr view` with every field, the inline review comments,
//! and only when a check failed the head commit's check runs and their
//! annotations (for the billing-failure bypass). The refining reads are
//! best effort, as in the original: when they fail (rate limits) the PR is
//! judged on what `gh pr view` said.

mod runs_cache;

use std::ffi::OsString;
use std::path::PathBuf;

use acp_core::config::{self, FlowConfig};
use acp_core::{Env, Invocation, ToolSpec, envfile, fail};
use acp_github::{Gh, PrDetail};
use acp_session::risk::adapter;
use acp_session::risk::checks::{CheckRun, CheckSummary, RollupCheck};
use acp_session::risk::classify::{REVIEW_BOT, ReviewComment};
use acp_session::risk::status::PrComment;
use acp_session::risk::{Evidence, ManagedBranches, Policy, PrFacts, assess};

const NAME: &str = "pr-risk.sh";
const USAGE: &str = "pr-risk.sh PR_NUMBER";

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: NAME,
    aliases: &["pr-risk"],
    paths: &["bin/pr-risk.sh", "tools/bin/pr-risk.sh"],
    about: "Classify a PR: risk tier, merge eligibility and agent lane (JSON)",
    command,
    run,
}];

/// The argument description (one positional word, as the original).
pub fn command() -> clap::Command {
    acp_core::cli::tool_command(
        NAME,
        "Prints one JSON object describing PR_NUMBER of the profile's repository: risk tier \
         and reason, linked issue, checks (pending, failed, bypassed), the reasons it may \
         not merge yet (missingReasons), eligibleForAutoMerge and agentLane. Environment: \
         ACP_ALLOW_INFRA_CI_BYPASS (1), ACP_LOCAL_FIRST_PR_POLICY (1); the lane override of \
         <state>/pr-lane-overrides/<n>.env is read (never executed).",
    )
    .override_usage(USAGE)
    .arg(clap::Arg::new("PR_NUMBER").help("The pull request number"))
}

/// One call, resolved from the environment and the profile.
#[derive(Debug, Clone)]
pub struct Args {
    pub pr_number: u64,
    pub repo: String,
    pub policy: Policy,
    /// Where the check runs of head commits are kept (`runs_cache`).
    pub runs_cache: PathBuf,
}

impl Args {
    /// `number` must be a positive integer (exit 1 otherwise, before any
    /// call); repository, managed branches, state root and the two policy
    /// switches come from the environment and the profile.
    pub fn resolve(env: &Env, number: &str) -> anyhow::Result<Self> {
        let pr_number = parse_number(number).ok_or_else(|| {
            fail(
                1,
                format!("pr-risk: PR_NUMBER must be a positive integer, got: {number}"),
            )
        })?;
        let cfg = FlowConfig::load(env)?;
        let state_root = config::state_root(env, &cfg);
        let switch = |key: &str| env.non_empty(key).is_none_or(|v| v != "0");
        Ok(Self {
            pr_number,
            repo: config::repo_slug(env, &cfg),
            policy: Policy {
                managed: ManagedBranches::from_config(env, &cfg),
                allow_infra_ci_bypass: switch("ACP_ALLOW_INFRA_CI_BYPASS"),
                local_first: switch("ACP_LOCAL_FIRST_PR_POLICY"),
                lane_override: lane_override(&state_root, pr_number),
            },
            runs_cache: runs_cache::dir(&state_root),
        })
    }
}

/// `^[1-9][0-9]*$` as a number.
fn parse_number(word: &str) -> Option<u64> {
    let digits = !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit());
    (digits && !word.starts_with('0'))
        .then(|| word.parse().ok())
        .flatten()
}

/// `PR_LANE_OVERRIDE` of `<state>/pr-lane-overrides/<n>.env`, read as data
/// (the original sourced the file, F1); a missing or unreadable file is no
/// override.
fn lane_override(state_root: &std::path::Path, pr: u64) -> String {
    let file: PathBuf = state_root
        .join("pr-lane-overrides")
        .join(format!("{pr}.env"));
    envfile::read_lenient(&file)
        .ok()
        .and_then(|m| m.get("PR_LANE_OVERRIDE").cloned())
        .map(|v| v.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Runs `bin/pr-risk.sh` or its `tools/bin` front.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if acp_core::cli::first_is_help(args) {
        write!(ctx.stdout, "{}", acp_core::cli::usage(&command()))?;
        return Ok(0);
    }
    let first = args.first().map(|a| a.to_string_lossy().into_owned());
    let script = ctx.script_path();
    if adapter::is_tools_front(script.as_deref()) {
        let Some(number) = first.filter(|n| !n.is_empty()) else {
            return Err(fail(1, format!("{NAME}: usage: {USAGE}")));
        };
        if let Some(target) = adapter::bin_script(&ctx.env, script.as_deref(), NAME)
            && !adapter::is_our_shim(&target)
        {
            let mut cmd = ctx.command("bash");
            cmd.arg(target).arg(&number);
            return ctx.relay(&mut cmd);
        }
        return classify(ctx, &number);
    }
    let Some(number) = first else {
        return Err(fail(1, format!("{NAME}: usage: {USAGE}")));
    };
    classify(ctx, &number)
}

/// Reads the PR and prints the oracle's JSON object.
fn classify(ctx: &mut Invocation<'_>, number: &str) -> anyhow::Result<i32> {
    let a = Args::resolve(&ctx.env, number)?;
    let gh = Gh::new(ctx.env.clone()).map_err(|e| gh_failed(&a, &e))?;
    let pr = match gh.pr_detail(&a.repo, a.pr_number) {
        Ok(pr) => pr,
        // As the original: an answer that does not parse is an ignored PR
        // (exit 0), so a caller's pass goes on.
        Err(e) if e.is_unparsable() => {
            let why = e.unparsable_reason();
            writeln!(ctx.stderr, "pr-risk: failed to parse the PR JSON: {why}")?;
            let out =
                serde_json::json!({"agentLane": "ignore", "error": format!("parse-error: {why}")});
            ctx.stdout.write_all(out.to_string().as_bytes())?;
            return Ok(0);
        }
        Err(e) => return Err(gh_failed(&a, &e)),
    };
    let facts = facts(&pr);
    let evidence = evidence(&gh, &a, &pr, &facts);
    let out = assess(&facts, &evidence, &a.policy);
    ctx.stdout
        .write_all(serde_json::to_string(&out.json)?.as_bytes())?;
    Ok(0)
}

fn gh_failed(a: &Args, e: &acp_github::GhError) -> anyhow::Error {
    fail(
        1,
        format!(
            "pr-risk: gh pr view failed for PR {} (repo: {}): {e}",
            a.pr_number, a.repo
        ),
    )
}

/// The oracle's view of what `gh pr view` returned.
fn facts(pr: &PrDetail) -> PrFacts {
    PrFacts {
        number: pr.number,
        title: pr.title.clone(),
        url: pr.url.clone(),
        body: pr.body.clone(),
        is_draft: pr.is_draft,
        head_ref_name: pr.head_ref_name.clone(),
        head_ref_oid: pr.head_ref_oid.clone(),
        base_ref_name: pr.base_ref_name.clone(),
        labels: pr.labels.clone(),
        files: pr.files.clone(),
        merge_state_status: pr.merge_state_status.clone(),
        review_requests: pr.review_requests,
        rollup: pr
            .status_check_rollup
            .iter()
            .map(|c| {
                if c.is_status_context() {
                    RollupCheck::Status {
                        context: c.context.clone(),
                        state: c.state.clone(),
                    }
                } else {
                    let name = if c.name.is_empty() {
                        &c.workflow_name
                    } else {
                        &c.name
                    };
                    RollupCheck::Run {
                        name: name.clone(),
                        status: c.status.clone(),
                        conclusion: c.conclusion.clone(),
                    }
                }
            })
            .collect(),
        comments: pr
            .comments
            .iter()
            .map(|c| PrComment {
                body: c.body.clone(),
                created_at: c.created_at.clone(),
            })
            .collect(),
    }
}

/// Whether the review bot may have left inline comments: every inline
/// comment belongs to a review, so when the view lists the PR's reviews and
/// none is the bot's, `pulls/N/comments` cannot change the lane and is not
/// read. A view without the `reviews` field (an older fake, a partial
/// answer) reads them as before.
fn may_have_bot_review_comments(pr: &PrDetail) -> bool {
    let bot = REVIEW_BOT.trim_end_matches("[bot]");
    match &pr.review_authors {
        None => true,
        Some(authors) => authors.iter().any(|l| l.trim_end_matches("[bot]") == bot),
    }
}

/// The refining reads, each best effort. Check runs and annotations are
/// only read when a rollup check failed and the bypass is allowed (they
/// cannot change the answer otherwise).
fn evidence(gh: &Gh, a: &Args, pr: &PrDetail, facts: &PrFacts) -> Evidence {
    let review_comments = if may_have_bot_review_comments(pr) {
        gh.pr_review_comments(&a.repo, a.pr_number)
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let review_comments = review_comments
        .into_iter()
        .map(|c| ReviewComment {
            login: c.login,
            commit_id: c.commit_id,
            body: c.body,
            html_url: c.html_url,
        })
        .collect();
    let failing = !CheckSummary::of(&facts.rollup).failures.is_empty();
    let (check_runs, annotation_messages) =
        if failing && a.policy.allow_infra_ci_bypass && !pr.head_ref_oid.is_empty() {
            head_check_runs(gh, a, pr)
        } else {
            (Vec::new(), Vec::new())
        };
    Evidence {
        head_committed_at: pr.head_committed_at(),
        review_comments,
        check_runs,
        annotation_messages,
    }
}

/// The head commit's check runs and the annotation messages of its
/// failed runs: from the on-disk cache while the rollup is unchanged, else
/// read (and kept when every run completed and every read succeeded).
fn head_check_runs(gh: &Gh, a: &Args, pr: &PrDetail) -> (Vec<CheckRun>, Vec<String>) {
    let sha = &pr.head_ref_oid;
    let key = format!("{:?}", pr.status_check_rollup);
    if let Some(kept) = runs_cache::load(&a.runs_cache, &a.repo, sha, &key) {
        return kept;
    }
    let Ok(read) = gh.check_runs(&a.repo, sha) else {
        return (Vec::new(), Vec::new());
    };
    let mut complete = true;
    let mut runs = Vec::new();
    let mut messages = Vec::new();
    for r in read {
        let run = CheckRun {
            status: r.status,
            conclusion: r.conclusion,
            annotations_url: r.annotations_url,
            annotations_count: r.annotations_count,
        };
        complete &= run.status.eq_ignore_ascii_case("completed");
        if run.wants_annotations() {
            match gh.check_run_annotations(&run.annotations_url) {
                Ok(m) => messages.extend(m),
                Err(_) => complete = false,
            }
        }
        runs.push(run);
    }
    if complete {
        runs_cache::store(&a.runs_cache, &a.repo, sha, &key, &runs, &messages);
    }
    (runs, messages)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn pr_numbers_are_positive_integers() {
        assert_eq!(parse_number("501"), Some(501));
        for bad in ["", "0", "012", "-1", "1x", "1 2", "99999999999999999999999"] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_lane_override_is_read_not_sourced() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("pr-lane-overrides");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("5.env"),
            "PR_LANE_OVERRIDE=double-check-2\nX=$(touch pwned)\n",
        )
        .unwrap();
        assert_eq!(lane_override(t.path(), 5), "double-check-2");
        assert_eq!(lane_override(t.path(), 6), "");
        assert!(!t.path().join("pwned").exists());
    }
}
