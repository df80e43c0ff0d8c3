//! `bin/audit-issue-routing.sh [MIN_AGE_MINUTES]` (and its front
//! `tools/bin/audit-issue-routing.sh`): lists open issues whose routing
//! labels look stuck, one tab-separated row each: number, reason
//! (`stale-agent-running`: `agent-running` but no open agent PR links it;
//! `blocked-manual-review`: `agent-blocked`), createdAt, updatedAt, labels
//! (comma-separated) and title; only issues at least MIN_AGE_MINUTES (30)
//! old, oldest first. Fields are escaped as `jq @tsv` does, so a title
//! cannot add a column or a row.

use std::ffi::OsString;

use acp_core::config::{self, FlowConfig};
use acp_core::{Invocation, ToolSpec, fail};
use acp_github::{Gh, Issue, RoutedPr, State};
use acp_session::risk::ManagedBranches;
use acp_session::risk::adapter;
use acp_session::risk::managed::closing_issue;

const NAME: &str = "audit-issue-routing.sh";

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: NAME,
    aliases: &["audit-issue-routing"],
    paths: &[
        "bin/audit-issue-routing.sh",
        "tools/bin/audit-issue-routing.sh",
    ],
    about: "List open issues whose agent-running/agent-blocked labels look stuck (TSV)",
    command,
    run,
}];

/// The argument description (one optional positional word).
pub fn command() -> clap::Command {
    acp_core::cli::tool_command(
        NAME,
        "Prints one tab-separated row per open issue of the profile's repository that carries \
         agent-running without an open agent PR linking it (stale-agent-running) or \
         agent-blocked (blocked-manual-review) and is at least MIN_AGE_MINUTES old: number, \
         reason, createdAt, updatedAt, labels, title.",
    )
    .override_usage("audit-issue-routing.sh [MIN_AGE_MINUTES]")
    .arg(clap::Arg::new("MIN_AGE_MINUTES").help("Minimum issue age in minutes (default 30)"))
}

/// Runs `bin/audit-issue-routing.sh` or its `tools/bin` front.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if acp_core::cli::first_is_help(args) {
        write!(ctx.stdout, "{}", acp_core::cli::usage(&command()))?;
        return Ok(0);
    }
    let script = ctx.script_path();
    if adapter::is_tools_front(script.as_deref())
        && let Some(target) = adapter::bin_script(&ctx.env, script.as_deref(), NAME)
        && !adapter::is_our_shim(&target)
    {
        let mut cmd = ctx.command("bash");
        cmd.arg(target).args(args);
        return ctx.relay(&mut cmd);
    }
    let word = args
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "30".to_string());
    let min_age = parse_minutes(&word).ok_or_else(|| {
        fail(
            2,
            format!("audit-issue-routing: MIN_AGE_MINUTES must be a number, got: {word}"),
        )
    })?;
    let cfg = FlowConfig::load(&ctx.env)?;
    let repo = config::repo_slug(&ctx.env, &cfg);
    let managed = ManagedBranches::from_config(&ctx.env, &cfg);
    let gh_failed = |e: acp_github::GhError| fail(1, format!("audit-issue-routing: {e}"));
    let gh = Gh::new(ctx.env.clone()).map_err(gh_failed)?;
    let prs = gh.open_prs_with_comments(&repo).map_err(gh_failed)?;
    let issues = gh.issues(&repo, State::Open, &[]).map_err(gh_failed)?;
    let linked = linked_issue_ids(&managed, &prs);
    let now = acp_core::time::now_epoch();
    for row in rows(&issues, &linked, min_age, now) {
        writeln!(ctx.stdout, "{row}")?;
    }
    Ok(0)
}

/// A JSON number (as `jq --argjson` would take it).
fn parse_minutes(word: &str) -> Option<f64> {
    match serde_json::from_str::<serde_json::Value>(word).ok()? {
        serde_json::Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

/// The issues open agent PRs link: by their managed branch name and by a
/// closing reference in their body (both count).
pub fn linked_issue_ids(managed: &ManagedBranches, prs: &[RoutedPr]) -> Vec<u64> {
    let mut ids: Vec<u64> = prs
        .iter()
        .filter(|p| {
            managed.is_managed(
                &p.head_ref_name,
                &p.labels,
                p.comments.iter().map(|c| c.body.as_str()),
            )
        })
        .flat_map(|p| {
            [
                managed.branch_issue(&p.head_ref_name),
                closing_issue(&p.body),
            ]
        })
        .flatten()
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Why an issue is listed, if it is.
fn reason(issue: &Issue, linked: &[u64]) -> Option<&'static str> {
    let has = |l: &str| issue.labels.iter().any(|x| x == l);
    if has("agent-running") && !linked.contains(&issue.number) {
        Some("stale-agent-running")
    } else if has("agent-blocked") {
        Some("blocked-manual-review")
    } else {
        None
    }
}

/// The report rows, oldest issue first. An issue whose creation time
/// cannot be read is left out (its age is unknown).
pub fn rows(issues: &[Issue], linked: &[u64], min_age_minutes: f64, now: i64) -> Vec<String> {
    let mut listed: Vec<(&Issue, &str)> = issues
        .iter()
        .filter_map(|i| {
            let why = reason(i, linked)?;
            let created = acp_core::time::parse_iso_epoch(&i.created_at)?;
            let age = (now - created) as f64 / 60.0;
            (age >= min_age_minutes).then_some((i, why))
        })
        .collect();
    listed.sort_by(|a, b| {
        (a.0.created_at.as_str(), a.0.number).cmp(&(b.0.created_at.as_str(), b.0.number))
    });
    listed
        .iter()
        .map(|(i, why)| {
            [
                i.number.to_string(),
                why.to_string(),
                i.created_at.clone(),
                i.updated_at.clone(),
                i.labels.join(","),
                i.title.clone(),
            ]
            .iter()
            .map(|f| tsv_field(f))
            .collect::<Vec<_>>()
            .join("\t")
        })
        .collect()
}

/// A field escaped as `jq @tsv` escapes it.
fn tsv_field(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn issue(n: u64, created: &str, labels: &[&str], title: &str) -> Issue {
        Issue {
            number: n,
            title: title.into(),
            created_at: created.into(),
            updated_at: created.into(),
            labels: labels.iter().map(|s| s.to_string()).collect(),
            ..Issue::default()
        }
    }

    #[test]
    fn rows_are_escaped_filtered_and_sorted() {
        let now = acp_core::time::parse_iso_epoch("2026-03-15T12:00:00Z").unwrap();
        let issues = vec![
            issue(3, "2026-03-15T10:00:00Z", &["agent-blocked"], "a\tb\nc"),
            issue(2, "2026-03-15T09:00:00.123Z", &["agent-running"], "r"),
            issue(1, "2026-03-15T09:00:00Z", &["agent-running"], "linked"),
            issue(4, "2026-03-15T11:59:00Z", &["agent-blocked"], "young"),
            issue(5, "bad", &["agent-blocked"], "bad date"),
        ];
        let rows = rows(&issues, &[1], 30.0, now);
        assert_eq!(
            rows,
            [
                "2\tstale-agent-running\t2026-03-15T09:00:00.123Z\t2026-03-15T09:00:00.123Z\tagent-running\tr",
                "3\tblocked-manual-review\t2026-03-15T10:00:00Z\t2026-03-15T10:00:00Z\tagent-blocked\ta\\tb\\nc",
            ]
        );
    }

    #[test]
    fn minutes_are_json_numbers() {
        assert_eq!(parse_minutes("0"), Some(0.0));
        assert_eq!(parse_minutes("1.5"), Some(1.5));
        assert_eq!(parse_minutes("x"), None);
        assert_eq!(parse_minutes("\"5\""), None);
    }
}
