//! Merged and closed managed PRs whose worker session was already
//! reconciled: each is handled once (a ledger record per PR). A merged PR
//! gets its retry cleared, its linked issue cleaned and closed, its labels
//! cleaned; a closed one its retry cleared and its labels cleaned. Hooks the
//! hook file defines replace the built-in steps one by one.

use std::path::PathBuf;

use acp_github::{Item, State};
use serde_json::Value;

use super::{Ctx, IssueView, Ledger, clear_retry, linked_issue};

/// Ledger directories under the state root.
pub const MERGED_LEDGER: &str = "merged-pr-catchup";
pub const CLOSED_LEDGER: &str = "closed-pr-catchup";

/// The comment a merged PR's linked issue is closed with.
pub fn close_comment(pr: u64) -> String {
    format!("Closed automatically after PR #{pr} merged.")
}

/// Workflow labels a terminal PR no longer needs (the PR reconcile's
/// after-merge / after-close cleanup).
pub const PR_DONE_LABELS: &[&str] = &[
    "agent-running",
    "agent-automerge",
    "agent-repair-queued",
    "agent-fix-needed",
    "agent-manual-fix-override",
    "agent-ci-refresh",
    "agent-ci-bypassed",
    "agent-double-check-1/2",
    "agent-double-check-2/2",
    "agent-human-review",
    "agent-human-approved",
    "agent-blocked",
    "agent-handoff",
    "agent-exclusive",
];

/// Workflow labels a linked issue loses when its PR merged.
pub const ISSUE_DONE_LABELS: &[&str] = &[
    "agent-ready",
    "agent-running",
    "agent-blocked",
    "agent-e2e-heavy",
    "agent-automerge",
    "agent-exclusive",
];

/// What the pass needs besides the context.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// How many of the newest merged / closed PRs are looked at.
    pub limit: usize,
    /// Branch prefixes of managed PRs (from `MANAGED_PR_BRANCH_GLOBS`).
    pub managed_prefixes: Vec<String>,
    /// `$ADAPTER_BIN_DIR`: its `pr-risk.sh` classifies PRs when the hook
    /// file has no `heartbeat_pr_risk_json`.
    pub adapter_bin_dir: Option<PathBuf>,
    /// The environment `pr-risk.sh` runs with.
    pub env: acp_core::Env,
}

/// A terminal PR as the pass needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrRow {
    pub number: u64,
    pub merged_at: String,
    pub created_at: String,
    pub body: String,
    pub head_ref: String,
    pub labels: Vec<String>,
}

impl PrRow {
    fn from_json(v: &Value) -> Option<Self> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let number = match v.get("number")? {
            Value::Number(n) => n.as_u64()?,
            Value::String(s) => s.parse().ok()?,
            _ => return None,
        };
        let labels = v.get("labels").and_then(Value::as_array);
        Some(Self {
            number,
            merged_at: s("mergedAt"),
            created_at: s("createdAt"),
            body: s("body"),
            head_ref: s("headRefName"),
            labels: labels
                .map(|a| {
                    a.iter()
                        .filter_map(|l| l.get("name")?.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
}

/// Whether the PR is the agent's and which issue it closes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Risk {
    pub managed: bool,
    pub linked_issue: String,
}

/// Runs the pass.
pub fn run(cx: &mut Ctx<'_>, s: &Settings) -> anyhow::Result<()> {
    let merged_ledger = Ledger::open(cx.state_root, MERGED_LEDGER)?;
    let closed_ledger = Ledger::open(cx.state_root, CLOSED_LEDGER)?;
    let mut merged = list(cx, State::Merged, s.limit)?;
    let mut closed = list(cx, State::Closed, s.limit)?;
    sort_newest_first(&mut merged, |p| p.merged_at.clone());
    // A PR with a ledger record is done whatever it is: it is not
    // classified again (0.2.0 ran the classifier first, every pass; F11).
    for pr in merged.iter().take(s.limit) {
        if merged_ledger.has(&pr.number.to_string()) {
            continue;
        }
        let Some(risk) = risk(cx, s, pr) else {
            continue;
        };
        if risk.managed {
            handle(cx, &merged_ledger, pr, &risk.linked_issue, true)?;
        }
    }
    sort_newest_first(&mut closed, |p| p.created_at.clone());
    for pr in closed.iter().take(s.limit) {
        if !pr.merged_at.is_empty() || closed_ledger.has(&pr.number.to_string()) {
            continue;
        }
        let Some(risk) = risk(cx, s, pr) else {
            continue;
        };
        if risk.managed {
            handle(cx, &closed_ledger, pr, &risk.linked_issue, false)?;
        }
    }
    Ok(())
}

/// `jq 'sort_by(key) | reverse'`: stable ascending, then reversed.
fn sort_newest_first(prs: &mut [PrRow], key: impl Fn(&PrRow) -> String) {
    prs.sort_by_key(|p| key(p));
    prs.reverse();
}

/// The PRs in `state`: the hook file's `flow_github_pr_list_json` when it
/// has one, else one `gh pr list` call. A failed list fails the pass.
fn list(cx: &mut Ctx<'_>, state: State, limit: usize) -> anyhow::Result<Vec<PrRow>> {
    if let Some(h) = cx.hook("flow_github_pr_list_json") {
        let limit = limit.to_string();
        let out = h.call(
            "flow_github_pr_list_json",
            &[cx.repo, state.as_str(), &limit],
            &[],
        )?;
        cx.err.write_all(&out.stderr)?;
        if !out.ok() {
            anyhow::bail!(
                "flow_github_pr_list_json {} failed (exit {})",
                state.as_str(),
                out.code
            );
        }
        let v: Value = serde_json::from_str(out.stdout.trim()).map_err(|e| {
            anyhow::anyhow!("flow_github_pr_list_json {}: not JSON: {e}", state.as_str())
        })?;
        let items = v.as_array().cloned().unwrap_or_default();
        return Ok(items.iter().filter_map(PrRow::from_json).collect());
    }
    let prs = cx.gh.get()?.prs(cx.repo, state)?;
    Ok(prs
        .iter()
        .map(|p| PrRow {
            number: p.number,
            merged_at: p.merged_at.clone(),
            created_at: p.created_at.clone(),
            body: p.body.clone(),
            head_ref: p.head_ref_name.clone(),
            labels: p.labels.clone(),
        })
        .collect())
}

/// Classifies a PR: the hook file's `heartbeat_pr_risk_json`, else
/// `$ADAPTER_BIN_DIR/pr-risk.sh`, else from the listed PR itself (a managed
/// branch prefix or the `agent-handoff` label; the issue its body closes).
/// `None` when a classifier gave nothing.
fn risk(cx: &mut Ctx<'_>, s: &Settings, pr: &PrRow) -> Option<Risk> {
    let n = pr.number.to_string();
    let json = if cx.hook("heartbeat_pr_risk_json").is_some() {
        let out = cx.hooks?.call("heartbeat_pr_risk_json", &[&n], &[]).ok()?;
        out.stdout
    } else if let Some(script) = s
        .adapter_bin_dir
        .as_ref()
        .map(|d| d.join("pr-risk.sh"))
        .filter(|p| acp_core::fsx::is_executable(p))
    {
        let mut cmd = std::process::Command::new(script);
        cmd.arg(&n);
        s.env.apply(&mut cmd);
        let out = acp_core::process::output(&mut cmd).ok()?;
        String::from_utf8_lossy(&out.stdout).into_owned()
    } else {
        let managed = s
            .managed_prefixes
            .iter()
            .any(|p| pr.head_ref.starts_with(p.as_str()))
            || pr.labels.iter().any(|l| l == "agent-handoff");
        let linked_issue = linked_issue(&pr.body)
            .map(|i| i.to_string())
            .unwrap_or_default();
        return Some(Risk {
            managed,
            linked_issue,
        });
    };
    if json.trim().is_empty() {
        return None;
    }
    let v: Value = serde_json::from_str(json.trim()).unwrap_or(Value::Null);
    let flag = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
    let linked_issue = match v.get("linkedIssueId") {
        Some(Value::Number(x)) => x.to_string(),
        Some(Value::String(x)) => x.clone(),
        _ => String::new(),
    };
    Some(Risk {
        managed: flag("isManagedByAgent") || flag("isAgentBranch"),
        linked_issue,
    })
}

/// Runs a hook the file defines, or the built-in step. `Ok(false)` = the
/// step failed (already reported).
fn step(
    cx: &mut Ctx<'_>,
    name: &str,
    pr: &PrRow,
    builtin: impl FnOnce(&mut Ctx<'_>) -> bool,
) -> anyhow::Result<bool> {
    if cx.hook(name).is_some() {
        let n = pr.number.to_string();
        let out = cx.call_hook(name, &[&n], &[("PR_NUMBER", &n)])?;
        cx.out.write_all(out.stdout.as_bytes())?;
        return Ok(out.ok());
    }
    Ok(builtin(cx))
}

/// Handles one terminal PR unless its ledger record exists.
fn handle(
    cx: &mut Ctx<'_>,
    ledger: &Ledger,
    pr: &PrRow,
    issue: &str,
    merged: bool,
) -> anyhow::Result<()> {
    let n = pr.number.to_string();
    if ledger.has(&n) {
        return Ok(());
    }
    let state_root = cx.state_root.to_path_buf();
    step(cx, "pr_clear_retry", pr, |cx| {
        if let Err(e) = clear_retry(&state_root, "prs", &n) {
            let _ = writeln!(cx.err, "{e:#}");
        }
        true
    })?;
    let (after, failed_key, kept_open) = if merged {
        let Some(kept_open) = close_linked_issue(cx, pr.number, issue)? else {
            writeln!(cx.err, "CATCHUP_FAILED_PR={n}")?;
            return Ok(());
        };
        ("pr_after_merged", "CATCHUP_FAILED_PR", kept_open)
    } else {
        ("pr_after_closed", "CATCHUP_FAILED_CLOSED_PR", false)
    };
    let done = step(cx, after, pr, |cx| after_terminal(cx, pr, issue, kept_open))?;
    if !done {
        writeln!(cx.err, "{failed_key}={n}")?;
        return Ok(());
    }
    if !step(cx, "pr_cleanup_merged_residue", pr, |_| true)? {
        writeln!(cx.err, "CATCHUP_FAILED_RESIDUE={n}")?;
        return Ok(());
    }
    let state = if merged { "merged" } else { "closed" };
    let merged_at = if merged { pr.merged_at.as_str() } else { "" };
    let now = acp_core::time::now_utc_iso();
    ledger.write(
        &n,
        &[
            ("PR_NUMBER", n.as_str()),
            ("ISSUE_ID", issue),
            ("PR_STATE", state),
            ("MERGED_AT", merged_at),
            ("PROCESSED_AT", now.as_str()),
        ],
    )?;
    let key = if merged {
        "CATCHUP_MERGED_PR"
    } else {
        "CATCHUP_CLOSED_PR"
    };
    writeln!(cx.out, "{key}={n}")?;
    Ok(())
}

/// The built-in `pr_after_merged` / `pr_after_closed`: the PR's lane
/// override is dropped and its workflow labels removed; a merged PR's
/// linked issue that stays open (recurring) gets its checklist synced, best
/// effort as in the PR hook. `false` when the label write failed.
fn after_terminal(cx: &mut Ctx<'_>, pr: &PrRow, issue: &str, kept_open: bool) -> bool {
    let n = pr.number;
    let lane = cx
        .state_root
        .join("pr-lane-overrides")
        .join(format!("{n}.env"));
    if let Err(e) = acp_core::fsx::remove_file_if_exists(&lane) {
        let _ = writeln!(cx.err, "{e:#}");
    }
    if let Err(e) = cx.remove_labels(Item::Pr, n, &pr.labels, PR_DONE_LABELS) {
        cx.gh_failed(&format!("PR #{n} labels"), &e);
        return false;
    }
    if let (true, Ok(id), Ok(gh)) = (kept_open, issue.parse::<u64>(), cx.gh.get()) {
        let _ = super::checklist::sync(gh, cx.repo, id, false);
    }
    true
}

/// The merged PR's linked issue: unless it is to stay open, its workflow
/// labels are removed and, when open, it is closed with a comment
/// (`CATCHUP_CLOSED_ISSUE=<id>`). `Some(true)` when the issue is to stay
/// open, `None` when a built-in GitHub write failed (the PR is then tried
/// again on the next pass).
fn close_linked_issue(cx: &mut Ctx<'_>, pr: u64, issue: &str) -> anyhow::Result<Option<bool>> {
    if issue.is_empty() {
        return Ok(Some(false));
    }
    let mut view: Option<IssueView> = None;
    let should_close = if cx.hook("pr_linked_issue_should_close").is_some() {
        let out = cx.call_hook("pr_linked_issue_should_close", &[issue], &[])?;
        if out.ok() {
            out.stdout.trim().to_string()
        } else {
            "yes".to_string()
        }
    } else {
        view = cx.issue(issue, false);
        let keep = view
            .as_ref()
            .is_some_and(|v| v.has_label("agent-keep-open"));
        if keep { "no" } else { "yes" }.to_string()
    };
    if should_close != "yes" {
        return Ok(Some(true));
    }
    if cx.hook("pr_cleanup_linked_issue_session").is_some() {
        let out = cx.call_hook("pr_cleanup_linked_issue_session", &[issue], &[])?;
        cx.out.write_all(out.stdout.as_bytes())?;
    } else {
        if view.is_none() {
            view = cx.issue(issue, false);
        }
        if let (Some(v), Ok(num)) = (view.as_ref(), issue.parse::<u64>())
            && let Err(e) = cx.remove_labels(Item::Issue, num, &v.labels, ISSUE_DONE_LABELS)
        {
            cx.gh_failed(&format!("issue #{issue} labels"), &e);
            return Ok(None);
        }
    }
    let state = cx.issue(issue, false).map(|v| v.state).unwrap_or_default();
    if state != "OPEN" {
        return Ok(Some(false));
    }
    let comment = close_comment(pr);
    if cx.hook("flow_github_issue_close").is_some() {
        let repo = cx.repo.to_string();
        // As the original: a failing close hook is ignored.
        let _ = cx.call_hook("flow_github_issue_close", &[&repo, issue, &comment], &[])?;
    } else {
        let closed = issue
            .parse::<u64>()
            .map_err(|e| anyhow::anyhow!("linked issue {issue:?}: {e}"))
            .and_then(|num| Ok(cx.gh.get()?.close_issue(cx.repo, num, Some(&comment))?));
        if let Err(e) = closed {
            cx.gh_failed(&format!("closing issue #{issue}"), &e);
            return Ok(None);
        }
    }
    writeln!(cx.out, "CATCHUP_CLOSED_ISSUE={issue}")?;
    Ok(Some(false))
}
