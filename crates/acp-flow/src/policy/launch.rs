//! Starting workers and reconciles.
//!
//! Workers are started as the original's hooks started them: the sibling
//! `agent-project-detached-launch --pending-key <kind>-<id> <name>
//! <tools>/<start script> <id>`. A recurring or scheduled issue goes to a
//! resident lane: queued for the lane's live controller, for a pending
//! launch of the same lane, or for an idle controller; only when none
//! exists is a resident loop started. A start that only queues prints
//! `LAUNCH_MODE=resident-lease` / `resident-pending-lane` and no
//! `LAUNCH_PID` (nothing was started; the pass must not count it, F12).

use anyhow::Result;

use super::resident::{self, Queued};
use super::{Policy, hook_run};
use crate::hooks::HookRun;

/// Where a resident-capable issue's start goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A live controller of its lane (`controller_issue` = what it owns).
    LiveLane { controller_issue: String },
    /// A pending launch of another issue of its lane (or of itself).
    PendingLane { issue: String },
    /// An idle controller with room in the queue.
    IdleController,
    /// A new resident loop.
    ResidentLoop,
    /// A plain worker (`start-issue-worker.sh`).
    Worker,
}

impl Route {
    /// Whether the start only queues the issue (no process of its own).
    pub fn only_queues(&self) -> bool {
        matches!(
            self,
            Route::LiveLane { .. } | Route::PendingLane { .. } | Route::IdleController
        )
    }
}

/// The lane key of issue `id`.
pub fn worker_key(p: &mut Policy, id: u64) -> String {
    let interval = p.interval_seconds(id);
    p.s.lane_key(interval)
}

/// The issue of another live pending launch in `id`'s lane (or `id`'s own).
pub fn pending_lane_issue(p: &mut Policy, id: u64) -> Option<String> {
    let key = worker_key(p, id);
    for other in resident::pending_issue_ids(&p.s.pending_dir) {
        let Ok(n) = other.parse::<u64>() else {
            continue;
        };
        if p.uses_resident_loop(n) && worker_key(p, n) == key {
            return Some(other);
        }
    }
    None
}

/// Whether an idle controller would take a queued issue: more idle live
/// controllers than queued issues.
pub fn idle_controller_has_room(p: &Policy) -> bool {
    let idle = resident::idle_controller_count(&p.s.state_root);
    idle > 0 && resident::queue_count(&p.s.state_root) < idle
}

/// Decides where issue `id`'s start goes (reads only).
pub fn route(p: &mut Policy, id: u64) -> Route {
    if !p.uses_resident_loop(id) {
        return Route::Worker;
    }
    let key = worker_key(p, id);
    if let Some(c) = resident::live_controller_for_key(&p.s.state_root, &key) {
        return Route::LiveLane {
            controller_issue: c.issue_id,
        };
    }
    if let Some(issue) = pending_lane_issue(p, id) {
        return Route::PendingLane { issue };
    }
    if idle_controller_has_room(p) {
        return Route::IdleController;
    }
    Route::ResidentLoop
}

fn detached(p: &Policy, pending_key: &str, name: &str, script: &str, id: u64) -> HookRun {
    let script = p.tool(script).to_string_lossy().into_owned();
    let n = id.to_string();
    let args = [
        "--pending-key",
        pending_key,
        name,
        script.as_str(),
        n.as_str(),
    ];
    hook_run(&p.run_tool(&p.tool("agent-project-detached-launch"), &args, &[]))
}

/// `heartbeat_start_issue_worker ID`.
pub fn start_issue_worker(p: &mut Policy, id: u64) -> Result<HookRun> {
    let planned = p.routed.remove(&id);
    let route = match planned {
        Some(r) => r,
        None => route(p, id),
    };
    let (state, ids) = (p.s.state_root.clone(), id.to_string());
    let key = format!("issue-{id}");
    Ok(match route {
        Route::Worker => detached(p, &key, &key, "start-issue-worker.sh", id),
        Route::ResidentLoop => detached(p, &key, &key, "start-resident-issue-loop.sh", id),
        Route::LiveLane { controller_issue } if controller_issue == ids => HookRun::ok(format!(
            "QUEUE_STATUS=controller-already-active\nISSUE_ID={id}\nLAUNCH_MODE=resident-lease\n"
        )),
        Route::LiveLane { .. } => {
            let q = resident::enqueue(&state, &ids, "heartbeat-live-lane")?;
            HookRun::ok(format!("{}LAUNCH_MODE=resident-lease\n", queued(q, id)))
        }
        Route::PendingLane { issue } => {
            let mut out = String::new();
            if issue != ids {
                let q = resident::enqueue(&state, &ids, "heartbeat-pending-lane")?;
                out.push_str(&queued(q, id));
            }
            out.push_str("LAUNCH_MODE=resident-pending-lane\n");
            HookRun::ok(out)
        }
        Route::IdleController => {
            let q = resident::enqueue(&state, &ids, "heartbeat")?;
            HookRun::ok(format!("{}LAUNCH_MODE=resident-lease\n", queued(q, id)))
        }
    })
}

fn queued(q: Queued, id: u64) -> String {
    let status = match q {
        Queued::Enqueued => "enqueued",
        Queued::Exists => "exists",
    };
    format!("QUEUE_STATUS={status}\nISSUE_ID={id}\n")
}

/// The PR workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrWorker {
    Review,
    Fix,
    MergeRepair,
}

/// `heartbeat_start_pr_{review,fix,merge_repair}_worker PR`.
pub fn start_pr_worker(p: &mut Policy, kind: PrWorker, pr: u64) -> Result<HookRun> {
    let (name, script) = match kind {
        PrWorker::Review => ("pr-review", "start-pr-review-worker.sh"),
        PrWorker::Fix => ("pr-fix", "start-pr-fix-worker.sh"),
        PrWorker::MergeRepair => ("pr-merge-repair", "start-pr-merge-repair-worker.sh"),
    };
    Ok(detached(
        p,
        &format!("pr-{pr}"),
        &format!("{name}-{pr}"),
        script,
        pr,
    ))
}

/// `heartbeat_start_pr_ci_refresh PR`: re-runs the failed Actions runs of
/// the PR's head commit and schedules the PR's retry (`ci-refresh-rerun`).
pub fn start_pr_ci_refresh(p: &mut Policy, pr: u64) -> Result<HookRun> {
    let repo = p.s.repo.clone();
    let listed = p.reads.pr(pr)?;
    let mut head = listed
        .get("headRefOid")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
        .to_string();
    if head.is_empty() {
        head = p.reads.gh()?.pr_head_oid(&repo, pr)?;
    }
    // The listed rollup names the failed runs when it carries their
    // details URLs (it does on GitHub): no check-runs read then.
    let from_rollup = listed
        .get("statusCheckRollup")
        .and_then(acp_github::heartbeat::failed_action_runs_in_rollup);
    let runs = match from_rollup {
        Some(runs) => runs,
        None => p.reads.gh()?.failed_action_run_ids(&repo, &head)?,
    };
    if runs.is_empty() {
        return Ok(HookRun::ok("CI_REFRESH_STATUS=no-failed-runs\n"));
    }
    let mut reruns = 0;
    for id in runs {
        if p.reads.gh()?.rerun_action_run(&repo, id).is_ok() {
            reruns += 1;
        }
    }
    let n = pr.to_string();
    let retry = p.tool("retry-state.sh");
    let _ = p.run_tool(&retry, &["pr", &n, "schedule", "ci-refresh-rerun"], &[]);
    Ok(HookRun::ok(format!(
        "CI_REFRESH_STATUS=rerun-requested\nPR_NUMBER={pr}\nHEAD_SHA={head}\nRERUN_COUNT={reruns}\n"
    )))
}

/// `heartbeat_reconcile_{issue,pr} SESSION`: the sibling wrapper, in
/// process when it is ours (it then shares the pass's GitHub snapshot).
pub fn reconcile(p: &mut Policy, wrapper: &str, session: &str) -> HookRun {
    // The pass's two lists first (one call each, shared with the reconciler
    // run in process): its issue and PR reads, marker checks, the
    // publisher's PR lookup and pr-risk are answered from them. Its label
    // and comment writes update them; a push or a new PR drops the PR list.
    // A failed read only means the reconciler reads for itself.
    let _ = p.reads.issues();
    let _ = p.reads.prs();
    hook_run(&p.run_tool(&p.tool(wrapper), &[session], &[]))
}
