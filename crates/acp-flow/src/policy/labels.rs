//! The policy's label effects. Failures never stop a pass (the original
//! ignored them too); what failed is the hook's output.
//!
//! With [`LabelWrites::Deltas`] a write is one `gh issue|pr edit` delta of
//! what the pass's snapshot says is missing or present (nothing at all
//! when the labels are already right), and the label definitions it adds
//! are ensured once per repository (remembered on disk). With
//! [`LabelWrites::Sibling`] the sibling `agent-github-update-labels` gets
//! the original's arguments.

use acp_github::{Item, LabelDef};
use anyhow::Result;
use serde_json::Value;

use super::memo::Memo;
use super::select::{self, BLOCKED, READY, RUNNING};
use super::{LabelWrites, Policy, hook_run, launch};
use crate::hooks::HookRun;

pub const HEAVY: &str = "agent-e2e-heavy";
pub const SCHEDULED: &str = "agent-scheduled";
pub const SCHEDULE_PREFIX: &str = "agent-schedule-";

/// How long an idle PR's synced labels are trusted without a new sync.
pub const PR_SYNC_MAX_AGE_SECONDS: i64 = 1800;

/// The definition the policy creates a label with when the repository
/// lacks it.
pub fn definition(name: &str) -> LabelDef {
    let (color, description) = match name {
        RUNNING => ("1D76DB", "An agent worker owns this item"),
        HEAVY => ("B60205", "Needs the heavy end-to-end worker slot"),
        SCHEDULED => ("5319E7", "Recurring scheduled check issue"),
        _ if name.starts_with(SCHEDULE_PREFIX) => {
            ("0E8A16", "Scheduled recurring cadence for agent checks")
        }
        _ => ("1D76DB", "Managed by agent-control-plane"),
    };
    LabelDef {
        name: name.to_string(),
        color: color.to_string(),
        description: description.to_string(),
    }
}

/// One requested label change, in the original's argument order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change<'a> {
    Add(&'a str),
    Remove(&'a str),
}

/// Writes `changes` to item `n` (whose current labels are `current` when
/// known). Returns what the write said; status is always 0.
pub fn write(
    p: &mut Policy,
    item: Item,
    n: u64,
    current: Option<Vec<String>>,
    changes: &[Change<'_>],
) -> HookRun {
    match p.label_writes {
        LabelWrites::Sibling => {
            let num = n.to_string();
            let mut args = vec!["--repo-slug", p.s.repo.as_str(), "--number", num.as_str()];
            for c in changes {
                match c {
                    Change::Add(l) => args.extend(["--add", l]),
                    Change::Remove(l) => args.extend(["--remove", l]),
                }
            }
            // `bash <tools>/agent-github-update-labels ...`, as the original.
            let path = p
                .tool("agent-github-update-labels")
                .to_string_lossy()
                .into_owned();
            let mut argv = vec![path.as_str()];
            argv.extend(args);
            let mut run = hook_run(&p.run_tool(std::path::Path::new("bash"), &argv, &[]));
            run.status = 0;
            run
        }
        LabelWrites::Deltas => match deltas(p, item, n, current, changes) {
            Ok(()) => HookRun::ok(""),
            Err(e) => HookRun::ok(format!("{e:#}\n")),
        },
    }
}

fn deltas(
    p: &mut Policy,
    item: Item,
    n: u64,
    current: Option<Vec<String>>,
    changes: &[Change<'_>],
) -> Result<()> {
    let adds: Vec<&str> = changes
        .iter()
        .filter_map(|c| match c {
            Change::Add(l) => Some(*l),
            Change::Remove(_) => None,
        })
        .collect();
    let has = |l: &str| current.as_ref().map(|c| c.iter().any(|x| x == l));
    let add: Vec<&str> = adds
        .iter()
        .copied()
        .filter(|l| has(l) != Some(true))
        .collect();
    let remove: Vec<&str> = changes
        .iter()
        .filter_map(|c| match c {
            Change::Remove(l) if !adds.contains(l) && has(l) != Some(false) => Some(*l),
            _ => None,
        })
        .collect();
    if add.is_empty() && remove.is_empty() {
        return Ok(());
    }
    let repo = p.s.repo.clone();
    let state = p.s.state_root.clone();
    let gh = p.reads.gh()?;
    if !add.is_empty() {
        let defs: Vec<LabelDef> = add.iter().map(|l| definition(l)).collect();
        gh.ensure_labels(&repo, &defs, &state)?;
    }
    gh.edit_labels(&repo, item, n, &add, &remove)?;
    Ok(())
}

/// The current labels of open issue `id` from the snapshot (or its view).
fn issue_labels(p: &mut Policy, id: u64) -> Option<Vec<String>> {
    let v = p.reads.issue(id).ok()?;
    v.get("labels")?;
    Some(select::labels(&v).into_iter().map(str::to_string).collect())
}

fn pr_labels(p: &mut Policy, pr: u64) -> Option<Vec<String>> {
    let v = p.reads.pr(pr).ok()?;
    Some(select::labels(&v).into_iter().map(str::to_string).collect())
}

/// `heartbeat_mark_issue_running ID HEAVY`: running (and heavy), not ready,
/// not blocked. An issue whose start will only queue it for a resident
/// controller keeps its labels (F18): nothing owns it yet.
pub fn mark_issue_running(p: &mut Policy, id: u64, heavy: bool) -> Result<HookRun> {
    let route = launch::route(p, id);
    p.routed.insert(id, route.clone());
    if route.only_queues() {
        return Ok(HookRun::ok(""));
    }
    let mut changes = vec![
        Change::Remove(READY),
        Change::Remove(BLOCKED),
        Change::Add(RUNNING),
    ];
    if heavy {
        changes.push(Change::Add(HEAVY));
    }
    let current = if p.label_writes == LabelWrites::Deltas {
        issue_labels(p, id)
    } else {
        None
    };
    Ok(write(p, Item::Issue, id, current, &changes))
}

/// `heartbeat_issue_launch_failed ID`: not running.
pub fn issue_launch_failed(p: &mut Policy, id: u64) -> Result<HookRun> {
    let current = if p.label_writes == LabelWrites::Deltas {
        issue_labels(p, id)
    } else {
        None
    };
    Ok(write(
        p,
        Item::Issue,
        id,
        current,
        &[Change::Remove(RUNNING)],
    ))
}

/// `heartbeat_sync_issue_labels ID` over the issue's JSON: no running,
/// blocked or cadence labels, then the cadence labels of its body.
pub fn sync_issue_labels_of(p: &mut Policy, id: u64, issue: &Value) -> HookRun {
    if issue.as_object().is_none_or(|o| o.is_empty()) {
        return HookRun::ok("");
    }
    let present: Vec<String> = select::labels(issue)
        .into_iter()
        .map(str::to_string)
        .collect();
    let token = select::schedule_token(select::body(issue));
    let cadence = token.as_ref().map(|t| format!("{SCHEDULE_PREFIX}{t}"));
    let mut changes: Vec<Change<'_>> = present
        .iter()
        .filter(|l| l.starts_with(SCHEDULE_PREFIX))
        .map(|l| Change::Remove(l.as_str()))
        .collect();
    changes.extend([
        Change::Remove(RUNNING),
        Change::Remove(BLOCKED),
        Change::Remove(SCHEDULED),
    ]);
    if let Some(c) = &cadence {
        if p.label_writes == LabelWrites::Sibling {
            // The original created both definitions before the update.
            let repo = p.s.repo.clone();
            let state = p.s.state_root.clone();
            if let Ok(gh) = p.reads.gh() {
                let _ = gh.ensure_labels(&repo, &[definition(SCHEDULED), definition(c)], &state);
            }
        }
        changes.extend([Change::Add(SCHEDULED), Change::Add(c.as_str())]);
    }
    let current = (p.label_writes == LabelWrites::Deltas).then(|| present.clone());
    write(p, Item::Issue, id, current, &changes)
}

pub fn sync_issue_labels(p: &mut Policy, id: u64) -> Result<HookRun> {
    let issue = p.issue_json(id);
    Ok(sync_issue_labels_of(p, id, &issue))
}

/// `heartbeat_mark_pr_running PR`.
pub fn mark_pr_running(p: &mut Policy, pr: u64) -> Result<HookRun> {
    let current = (p.label_writes == LabelWrites::Deltas)
        .then(|| pr_labels(p, pr))
        .flatten();
    Ok(write(
        p,
        Item::Pr,
        pr,
        current,
        &[Change::Add(RUNNING), Change::Remove(BLOCKED)],
    ))
}

/// `heartbeat_clear_pr_running PR`.
pub fn clear_pr_running(p: &mut Policy, pr: u64) -> Result<HookRun> {
    let current = (p.label_writes == LabelWrites::Deltas)
        .then(|| pr_labels(p, pr))
        .flatten();
    Ok(write(p, Item::Pr, pr, current, &[Change::Remove(RUNNING)]))
}

/// What an open PR's lane and labels follow from, as one string: head
/// commit, labels, comment count, review decision, checks, lane override.
pub fn pr_sync_key(p: &mut Policy, pr: u64) -> Option<String> {
    let prs = p.reads.prs().ok()?;
    let v = prs
        .as_array()?
        .iter()
        .find(|x| select::number(x) == Some(pr))?;
    let mut labels = select::labels(v);
    labels.sort_unstable();
    let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let mut checks: Vec<String> = v
        .get("statusCheckRollup")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|c| {
                    let f = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("");
                    format!(
                        "{}{}:{}:{}{}",
                        f("name"),
                        f("context"),
                        f("status"),
                        f("conclusion"),
                        f("state")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    checks.sort();
    let comments = select::comment_bodies(v).map_or(0, |c| c.len());
    let lane_file = p.s.state_root.join(format!("pr-lane-overrides/{pr}.env"));
    let lane = std::fs::read_to_string(lane_file).unwrap_or_default();
    Some(format!(
        "head={}|labels={}|comments={comments}|review={}|checks={}|lane={}",
        text("headRefOid"),
        labels.join(","),
        text("reviewDecision"),
        checks.join(","),
        lane.trim()
    ))
}

/// `heartbeat_sync_pr_labels PR`: `bin/sync-pr-labels.sh PR`, skipped
/// while nothing its result depends on changed since the last sync (and
/// the last sync is younger than [`PR_SYNC_MAX_AGE_SECONDS`]).
pub fn sync_pr_labels(p: &mut Policy, pr: u64) -> Result<HookRun> {
    let memo = Memo::new(&p.s.state_root, "pr-label-sync.json");
    let item = pr.to_string();
    let max_age =
        p.s.env
            .non_empty("ACP_PR_LABEL_SYNC_MAX_AGE_SECONDS")
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(PR_SYNC_MAX_AGE_SECONDS);
    let key = pr_sync_key(p, pr);
    if let (Some(key), Some(e)) = (&key, memo.entry(&item))
        && &e.key == key
        && acp_core::time::now_epoch() - e.at < max_age
    {
        return Ok(HookRun::ok(""));
    }
    let out = p.run_tool(&p.adapter("sync-pr-labels.sh"), &[&item], &[]);
    let run = hook_run(&out);
    if run.succeeded()
        && let Some(after) = pr_sync_key(p, pr)
    {
        // A memory only: without it the next pass syncs again.
        let _ = memo.put(&item, &after, "synced");
    }
    Ok(run)
}

/// How long a PR's risk answer is reused while its key is unchanged
/// (`ACP_PR_RISK_CACHE_TTL_SECONDS`, 0.2.0's knob and default).
pub const PR_RISK_TTL_SECONDS: i64 = 300;

/// `heartbeat_pr_risk_json PR`: `bin/pr-risk.sh PR`'s JSON, reused from
/// `<state>/heartbeat-hooks/pr-risk.json` while the PR's key
/// ([`pr_sync_key`]) is unchanged and the answer younger than the TTL.
pub fn pr_risk_json(p: &mut Policy, pr: u64) -> Result<Value> {
    let memo = Memo::new(&p.s.state_root, "pr-risk.json");
    let item = pr.to_string();
    let ttl =
        p.s.env
            .non_empty("ACP_PR_RISK_CACHE_TTL_SECONDS")
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(PR_RISK_TTL_SECONDS);
    let key = pr_sync_key(p, pr);
    if let (Some(key), Some(e)) = (&key, memo.entry(&item))
        && &e.key == key
        && acp_core::time::now_epoch() - e.at < ttl
        && let Ok(v) = serde_json::from_str::<Value>(&e.value)
    {
        return Ok(v);
    }
    let out = p.run_tool(&p.adapter("pr-risk.sh"), &[&item], &[]);
    if !out.status.success() {
        anyhow::bail!(
            "pr-risk.sh {pr} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let v: Value = serde_json::from_slice(&out.stdout)?;
    if let Some(key) = key {
        let _ = memo.put(&item, &key, &v.to_string());
    }
    Ok(v)
}
