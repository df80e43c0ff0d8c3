//! Gathering the planner's [`World`] (spec 1.4.2, 1.5): the hooks' lists
//! and attributes, the session list, pending launches, retry readiness,
//! scheduled / blocked-recovery records, provider cooldown, rotation file
//! and the launch journal.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;

use super::exec::{Pass, value_of};
use super::journal::{self, Hold, Verdict};
use super::state;
use crate::plan::{IssueFacts, PrFacts, ProviderCooldown, SessionFacts, World};

fn numeric(s: &str) -> Option<String> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.to_owned())
}

fn sessions(p: &mut Pass<'_>) -> Vec<SessionFacts> {
    let (ip, pp) = (&p.args.issue_prefix, &p.args.pr_prefix);
    let mut out = Vec::new();
    for name in p.host.list_sessions() {
        let is_issue = name.starts_with(ip.as_str());
        if !is_issue && !name.starts_with(pp.as_str()) {
            continue;
        }
        let issue_id = name.strip_prefix(ip.as_str()).and_then(numeric);
        let pr_id = if is_issue {
            None
        } else {
            name.strip_prefix(pp.as_str()).and_then(numeric)
        };
        let auth_waiting = state::auth_waiting(&p.args.runs_root, &name);
        out.push(SessionFacts {
            name,
            issue_id,
            pr_id,
            is_issue,
            auth_waiting,
        });
    }
    out
}

/// Reviews the launch journal: holds for items still settling, rollback
/// of launches a killed pass left half done.
fn journal_holds(p: &mut Pass<'_>) -> Result<BTreeMap<(String, String), Hold>> {
    let grace = journal::grace(&p.args.env);
    let mut holds = BTreeMap::new();
    for (key, r) in journal::records(&p.args.state_root) {
        let session = if r.kind == "issue" {
            format!("{}{}", p.args.issue_prefix, r.id)
        } else {
            format!("{}{}", p.args.pr_prefix, r.id)
        };
        let started = p.host.has_session(&session) || p.pending_active(&r.kind, &r.id);
        match journal::verdict(&r, started, p.now, grace) {
            Verdict::Hold(h) => {
                holds.insert(key, h);
            }
            Verdict::Drop { rollback } => {
                if p.args.dry_run {
                    continue;
                }
                if rollback && r.kind == "issue" {
                    let heavy = p.hooks.issue_is_heavy(&r.id)?;
                    p.hooks.issue_launch_failed(&r.id, heavy)?;
                } else if rollback {
                    p.hooks.clear_pr_running(&r.id)?;
                }
                acp_core::fsx::remove_file_if_exists(&r.path)?;
            }
        }
    }
    Ok(holds)
}

fn provider(p: &Pass<'_>) -> Option<ProviderCooldown> {
    let out = p.helper("provider-cooldown-state.sh", &["get"]);
    (value_of(&out, "READY") == "no").then(|| ProviderCooldown {
        backend: value_of(&out, "BACKEND"),
        model: value_of(&out, "MODEL"),
        next_attempt_at: value_of(&out, "NEXT_ATTEMPT_AT"),
        last_reason: value_of(&out, "LAST_REASON"),
    })
}

/// The world of this pass, after the reconcile and sync phases.
pub(super) fn world(p: &mut Pass<'_>) -> Result<World> {
    let limits = p.args.limits.clone();
    let mut w = World {
        limits: limits.clone(),
        now: p.now,
        sessions: sessions(p),
        ..World::default()
    };
    let holds = journal_holds(p)?;
    w.ready = p.hooks.list_ready_issue_ids()?;
    let before = w.sessions.len();
    p.cancel_closed(&w.sessions, &w.ready)?;
    if !p.args.dry_run && p.host.list_sessions().len() != before {
        w.sessions = sessions(p);
    }
    if limits.max_blocked_recovery > 0 {
        w.blocked_recovery = p.hooks.list_blocked_recovery_issue_ids()?;
    }
    w.exclusive_issues = p.hooks.list_exclusive_issue_ids()?;
    w.exclusive_prs = p.hooks.list_exclusive_pr_ids()?;
    w.open_prs = p.open_prs()?;
    let dir = p.args.pending_dir();
    for (id, _) in state::pending_files(&dir, "issue") {
        if p.pending_active("issue", &id) {
            w.pending_issues.push(id);
        }
    }
    for (id, _) in state::pending_files(&dir, "pr") {
        if p.pending_active("pr", &id) {
            w.pending_prs.push(id);
        }
    }
    for (kind, id) in holds.keys() {
        let list = if kind == "issue" {
            &mut w.pending_issues
        } else {
            &mut w.pending_prs
        };
        if !list.contains(id) {
            list.push(id.clone());
        }
    }
    issue_facts(p, &mut w, &holds)?;
    pr_facts(p, &mut w, &holds)?;
    w.provider = provider(p);
    p.provider = w.provider.clone();
    let rotation = p.args.state_root.join("recurring/last-launched-issue-id");
    w.last_recurring = std::fs::read_to_string(&rotation)
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    Ok(w)
}

fn issue_facts(
    p: &mut Pass<'_>,
    w: &mut World,
    holds: &BTreeMap<(String, String), Hold>,
) -> Result<()> {
    let session_ids: BTreeSet<String> = w
        .sessions
        .iter()
        .filter_map(|s| s.issue_id.clone())
        .collect();
    let mut wanted: BTreeSet<String> = BTreeSet::new();
    let mut gated: BTreeSet<String> = BTreeSet::new();
    for id in w
        .ready
        .iter()
        .chain(&w.blocked_recovery)
        .chain(w.exclusive_issues.first())
    {
        wanted.insert(id.clone());
        gated.insert(id.clone());
    }
    let counted: BTreeSet<String> = session_ids
        .iter()
        .chain(&w.pending_issues)
        .cloned()
        .collect();
    wanted.extend(counted.iter().cloned());
    let state_root = p.args.state_root.clone();
    for id in wanted {
        let scheduled = p.hooks.issue_is_scheduled(&id)?;
        let mut f = IssueFacts {
            heavy: p.hooks.issue_is_heavy(&id)?,
            recurring: p.hooks.issue_is_recurring(&id)?,
            scheduled,
            interval_seconds: if scheduled {
                p.hooks.issue_schedule_interval_seconds(&id)?
            } else {
                0
            },
            exclusive: counted.contains(&id) && p.hooks.issue_is_exclusive(&id)?,
            retry_ready: gated.contains(&id) && p.retry_ready("issue", &id),
            has_session: session_ids.contains(&id),
            ..IssueFacts::default()
        };
        if w.pending_issues.contains(&id) {
            f.pending_active = true;
            f.pending_counts = match holds.get(&("issue".to_owned(), id.clone())) {
                Some(Hold::Launching) => true,
                Some(Hold::Settling) => false,
                None => !state::controller_idle(&state_root, &id),
            };
        }
        if scheduled {
            let file = state_root
                .join("scheduled-issues")
                .join(format!("{id}.env"));
            f.scheduled_due_epoch = state::epoch_field(&file, "NEXT_DUE_EPOCH");
        }
        let br = state_root
            .join("blocked-recovery-issues")
            .join(format!("{id}.env"));
        f.blocked_recovery_state = br.is_file();
        f.blocked_recovery_due_epoch = state::epoch_field(&br, "NEXT_DUE_EPOCH");
        w.issues.insert(id, f);
    }
    Ok(())
}

fn lane_of(v: &serde_json::Value) -> String {
    match v.get("agentLane") {
        Some(serde_json::Value::String(s)) => s.replace(['\n', '\r'], " "),
        Some(serde_json::Value::Null) | None => "null".into(),
        Some(other) => other.to_string(),
    }
}

fn pr_facts(
    p: &mut Pass<'_>,
    w: &mut World,
    holds: &BTreeMap<(String, String), Hold>,
) -> Result<()> {
    let session_ids: BTreeSet<String> = w.sessions.iter().filter_map(|s| s.pr_id.clone()).collect();
    let mut classified: Vec<String> = w.open_prs.clone();
    classified.extend(w.exclusive_prs.first().cloned());
    let counted: BTreeSet<String> = session_ids.iter().chain(&w.pending_prs).cloned().collect();
    let wanted: BTreeSet<String> = classified.iter().chain(&counted).cloned().collect();
    let cache = p.args.state_root.join("pr-risk-cache");
    for id in wanted {
        let mut f = PrFacts {
            has_session: session_ids.contains(&id),
            pending_active: w.pending_prs.contains(&id),
            pending_counts: w.pending_prs.contains(&id)
                && holds.get(&("pr".to_owned(), id.clone())) != Some(&Hold::Settling),
            exclusive: counted.contains(&id) && p.hooks.pr_is_exclusive(&id)?,
            ..PrFacts::default()
        };
        if classified.contains(&id) {
            let risk = p.hooks.pr_risk_json(&id)?;
            f.lane = lane_of(&risk);
            f.retry_ready = p.retry_ready("pr", &id);
            if !p.args.dry_run {
                let file = cache.join(format!("{id}.json"));
                let _ = acp_core::fsx::atomic_write(&file, format!("{risk}\n").as_bytes());
            }
        }
        w.prs.insert(id, f);
    }
    Ok(())
}
