//! The default PR policy, in-process: what the shipped
//! `hooks/pr-reconcile-hooks.sh` does, used when `--hook-file` is that file
//! unchanged. Label changes are one delta per transition through acp-github
//! (kept in the run's outbox when GitHub refuses), lane overrides are
//! written atomically, and the sibling tools (retry-state.sh,
//! kick-scheduler.sh, cleanup-worktree.sh, agent-cleanup-worktree,
//! sync-recurring-issue-checklist.sh, the adapter's pr-risk.sh and
//! sync-pr-labels.sh) run from the hook file's tree as they did.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use acp_core::shellquote::QuoteLocale;
use acp_core::{Env, envfile, fsx, git};
use acp_github::{Action, Delivery, Item};

use crate::engine::{Args, Flow};
use crate::hookenv::profile_values;
use crate::hooks::Called;

/// Labels every lane transition takes off a merged or closed PR (the same
/// set the catch-up pass takes off).
pub use acp_session::catchup::terminal_prs::PR_DONE_LABELS as DONE_LABELS;
const ADVANCE_REMOVE: &[&str] = &[
    "agent-running",
    "agent-automerge",
    "agent-repair-queued",
    "agent-fix-needed",
    "agent-manual-fix-override",
    "agent-ci-refresh",
    "agent-human-review",
    "agent-human-approved",
    "agent-double-check-1/2",
    "agent-double-check-2/2",
];
const UPDATED_REMOVE: &[&str] = &[
    "agent-running",
    "agent-blocked",
    "agent-repair-queued",
    "agent-fix-needed",
    "agent-manual-fix-override",
    "agent-ci-refresh",
    "agent-double-check-1/2",
    "agent-double-check-2/2",
    "agent-human-approved",
];
const BLOCKED_REMOVE: &[&str] = &[
    "agent-running",
    "agent-blocked",
    "agent-automerge",
    "agent-ci-refresh",
    "agent-ci-bypassed",
    "agent-double-check-1/2",
    "agent-double-check-2/2",
    "agent-human-review",
    "agent-human-approved",
    "agent-fix-needed",
    "agent-manual-fix-override",
];
const SUCCEEDED_REMOVE: &[&str] = &[
    "agent-running",
    "agent-repair-queued",
    "agent-fix-needed",
    "agent-manual-fix-override",
    "agent-ci-refresh",
    "agent-double-check-1/2",
    "agent-double-check-2/2",
];
const FAILED_REMOVE: &[&str] = &[
    "agent-running",
    "agent-blocked",
    "agent-repair-queued",
    "agent-fix-needed",
    "agent-manual-fix-override",
    "agent-ci-refresh",
    "agent-double-check-1/2",
    "agent-double-check-2/2",
];
const ISSUE_REMOVE: &[&str] = &[
    "agent-ready",
    "agent-running",
    "agent-blocked",
    "agent-e2e-heavy",
    "agent-automerge",
    "agent-exclusive",
];

/// The shipped policy's settings: the hook file's tree and the profile.
#[derive(Debug, Clone)]
pub struct Policy {
    pub tools_dir: PathBuf,
    pub adapter_bin: PathBuf,
    pub profile_id: String,
    pub repo_slug: String,
    pub runs_root: PathBuf,
    pub state_root: PathBuf,
    pub agent_repo_root: PathBuf,
    pub issue_prefix: String,
    pub branch_prefix: String,
}

impl Policy {
    pub fn load(env: &Env, hook_file: &Path, a: &Args) -> anyhow::Result<Self> {
        let skill = fsx::parent_dir(&fsx::parent_dir(hook_file));
        let v = profile_values(env)?;
        let get = |k: &str| {
            v.iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        Ok(Self {
            tools_dir: skill.join("tools/bin"),
            adapter_bin: skill.join("bin"),
            profile_id: get("PROFILE_ID"),
            // The PR being reconciled (the shipped hooks used the profile's
            // slug, which reconcile-pr-worker.sh also passes as --repo-slug).
            repo_slug: a.repo_slug.clone(),
            runs_root: PathBuf::from(get("RUNS_ROOT")),
            state_root: PathBuf::from(get("STATE_ROOT")),
            agent_repo_root: PathBuf::from(get("AGENT_REPO_ROOT")),
            issue_prefix: get("ISSUE_SESSION_PREFIX"),
            branch_prefix: get("PR_WORKTREE_BRANCH_PREFIX"),
        })
    }

    fn override_file(&self, pr: &str) -> PathBuf {
        self.state_root
            .join("pr-lane-overrides")
            .join(format!("{pr}.env"))
    }

    /// Runs `dir/name args` (quietly); whether it succeeded.
    fn tool(&self, env: &Env, path: &Path, args: &[&str], extra: &[(&str, &str)]) -> bool {
        if !path.is_file() {
            return false;
        }
        let mut cmd = Command::new("bash");
        cmd.arg(path)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        env.apply(&mut cmd);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        acp_core::dispatch::output(&mut cmd).is_ok_and(|o| o.status.success())
    }

    /// The adapter's pr-risk.sh answer for `pr`, as JSON.
    fn risk(&self, env: &Env, pr: &str) -> Option<serde_json::Value> {
        let mut cmd = Command::new("bash");
        cmd.arg(self.adapter_bin.join("pr-risk.sh"))
            .arg(pr)
            .stdin(Stdio::null())
            .stderr(Stdio::null());
        env.apply(&mut cmd);
        let out = acp_core::dispatch::output(&mut cmd)
            .ok()
            .filter(|o| o.status.success())?;
        serde_json::from_slice(&out.stdout).ok()
    }

    fn lane(&self, env: &Env, pr: &str) -> String {
        self.risk(env, pr)
            .and_then(|r| {
                r.get("agentLane")
                    .and_then(|l| l.as_str().map(str::to_string))
            })
            .unwrap_or_default()
    }

    fn kick(&self, env: &Env, delay: &str) {
        let id = self.profile_id.as_str();
        let extra = [("ACP_PROJECT_ID", id), ("AGENT_PROJECT_ID", id)];
        self.tool(
            env,
            &self.tools_dir.join("kick-scheduler.sh"),
            &[delay],
            &extra,
        );
    }

    fn sync_pr_labels(&self, env: &Env, pr: &str) {
        self.tool(env, &self.adapter_bin.join("sync-pr-labels.sh"), &[pr], &[]);
    }

    /// Our `sync-pr-labels.sh` for `pr`, told to remove `remove` in the
    /// same label write as its lane labels (one `gh pr edit` instead of
    /// two); `true` when it synced. `false` (nothing of `remove` written)
    /// when the adapter's file is not ours, the PR is not an agent's or the
    /// sync failed: the caller then writes `remove` itself.
    fn sync_pr_labels_removing(&self, env: &Env, pr: &str, remove: &[&str]) -> bool {
        let script = self.adapter_bin.join("sync-pr-labels.sh");
        if remove.is_empty() || !acp_session::risk::adapter::is_our_shim(&script) {
            return false;
        }
        let mut cmd = Command::new("bash");
        cmd.arg(&script)
            .arg(pr)
            .stdin(Stdio::null())
            .stderr(Stdio::null());
        env.apply(&mut cmd);
        cmd.env(acp_session::risk::SYNC_ALSO_REMOVE_ENV, remove.join(","));
        acp_core::dispatch::output(&mut cmd).is_ok_and(|o| {
            o.status.success()
                && String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .any(|l| l == "SYNC_STATUS=ok")
        })
    }

    fn set_override(&self, pr: &str, lane: &str) -> anyhow::Result<()> {
        let pairs = [
            ("PR_LANE_OVERRIDE", lane.to_string()),
            ("UPDATED_AT", acp_core::time::now_utc_iso()),
        ];
        fsx::create_dir_all(&self.state_root.join("pr-lane-overrides"))?;
        envfile::write_all(&self.override_file(pr), &pairs, QuoteLocale::C)
    }

    fn clear_override(&self, pr: &str) {
        let _ = fsx::remove_file_if_exists(&self.override_file(pr));
    }
}

/// One hook of the shipped policy.
pub fn call(f: &mut Flow<'_, '_>, name: &str, args: &[&str]) -> Called {
    let Some(p) = f.policy.clone() else {
        return Called {
            ok: true,
            stdout: crate::hooks::default_answer(name).into(),
            stderr: Vec::new(),
        };
    };
    let arg = |i: usize| args.get(i).copied().unwrap_or_default().to_string();
    let env = f.env.clone();
    let mut stdout = String::new();
    let ok = match name {
        "pr_schedule_retry" => retry(f, &p, &["schedule", &arg(0)]),
        "pr_clear_retry" => retry(f, &p, &["clear"]),
        "pr_linked_issue_should_close" => {
            stdout = if keep_open(f, &p, &arg(0)) {
                "no"
            } else {
                "yes"
            }
            .into();
            true
        }
        "pr_cleanup_linked_issue_session" => cleanup_linked_issue(f, &p, &arg(0)),
        "pr_cleanup_merged_residue" => merged_residue(f, &p, &arg(0)),
        "pr_after_merged" | "pr_after_closed" => {
            p.clear_override(&arg(0));
            labels(f, &p, &arg(0), &[], DONE_LABELS);
            if name == "pr_after_merged" {
                refresh_checklist(f, &p, &arg(0));
            }
            p.kick(&env, "5");
            true
        }
        "pr_automerge_allowed" => {
            let risk = p.risk(&env, &arg(0)).unwrap_or_default();
            let lane = risk
                .get("agentLane")
                .and_then(|l| l.as_str())
                .unwrap_or_default();
            let eligible = risk
                .get("eligibleForAutoMerge")
                .and_then(serde_json::Value::as_bool)
                == Some(true);
            stdout = if matches!(lane, "automerge" | "double-check-2") || eligible {
                "yes"
            } else {
                "no"
            }
            .into();
            true
        }
        "pr_review_pass_action" => {
            stdout = match p.lane(&env, &arg(0)).as_str() {
                "double-check-1" => "advance-double-check-2",
                "human-review" => "wait-human",
                _ => "merge",
            }
            .into();
            true
        }
        "pr_after_double_check_advanced" => advance(f, &p, &arg(0), &arg(1)),
        "pr_after_updated_branch" => lane_done(f, &p, &arg(0), UPDATED_REMOVE, &[]),
        "pr_after_blocked" => lane_done(f, &p, &arg(0), BLOCKED_REMOVE, &["agent-repair-queued"]),
        "pr_after_succeeded" => lane_done(f, &p, &arg(0), SUCCEEDED_REMOVE, &[]),
        "pr_after_failed" => lane_done(f, &p, &arg(0), FAILED_REMOVE, &[]),
        "pr_after_reconciled" => {
            p.kick(&env, "2");
            true
        }
        _ => true,
    };
    Called {
        ok,
        stdout,
        stderr: Vec::new(),
    }
}

fn retry(f: &Flow<'_, '_>, p: &Policy, words: &[&str]) -> bool {
    let pr = f.env.get_or_empty("PR_NUMBER");
    let mut all = vec!["pr", pr.as_str()];
    all.extend_from_slice(words);
    p.tool(&f.env, &p.tools_dir.join("retry-state.sh"), &all, &[]);
    true
}

fn lane_done(f: &mut Flow<'_, '_>, p: &Policy, pr: &str, remove: &[&str], add: &[&str]) -> bool {
    p.clear_override(pr);
    // Nothing to add: the lane labels and these removals go in one write.
    if add.is_empty() && p.sync_pr_labels_removing(&f.env, pr, remove) {
        return true;
    }
    labels(f, p, pr, add, remove);
    p.sync_pr_labels(&f.env, pr);
    true
}

fn advance(f: &mut Flow<'_, '_>, p: &Policy, pr: &str, stage: &str) -> bool {
    if stage != "2" {
        f.warn(format!("unsupported double-check stage: {stage}"));
        return false;
    }
    if let Err(e) = p.set_override(pr, "double-check-2") {
        f.warn(format!("{e:#}"));
        return false;
    }
    labels(f, p, pr, &["agent-double-check-2/2"], ADVANCE_REMOVE);
    p.sync_pr_labels(&f.env, pr);
    p.kick(&f.env, "5");
    true
}

/// One label delta on PR (or issue) `n`: only labels it has are removed,
/// only labels it lacks are added; a refused write waits in the outbox.
fn delta(f: &mut Flow<'_, '_>, repo: &str, item: Item, n: u64, add: &[&str], remove: &[&str]) {
    let current = match item {
        Item::Pr => f.gh().and_then(|g| g.pr(repo, n)).map(|p| p.labels.clone()),
        Item::Issue => f.gh().and_then(|g| g.issue(repo, n)).map(|i| i.labels),
    }
    .unwrap_or_default();
    let has = |l: &&str| current.iter().any(|c| c == l);
    let add: Vec<String> = add
        .iter()
        .filter(|l| !has(l))
        .map(|s| s.to_string())
        .collect();
    let remove: Vec<String> = remove
        .iter()
        .filter(|l| has(l))
        .map(|s| s.to_string())
        .collect();
    if add.is_empty() && remove.is_empty() {
        return;
    }
    let action = Action::Labels {
        repo: repo.to_string(),
        item,
        number: n,
        add,
        remove,
    };
    let delivered = match f.gh() {
        Ok(g) => f.outbox.deliver(g, &action),
        Err(e) => f.outbox.push(&action).map(|p| Delivery::Queued(p, e)),
    };
    match delivered {
        Ok(Delivery::Done) => {}
        Ok(Delivery::Queued(path, e)) => f.warn(format!("{e} (kept in {})", path.display())),
        Err(e) => f.warn(format!("{e:#}")),
    }
}

fn labels(f: &mut Flow<'_, '_>, p: &Policy, pr: &str, add: &[&str], remove: &[&str]) {
    if let Ok(n) = pr.parse::<u64>() {
        delta(f, &p.repo_slug, Item::Pr, n, add, remove);
    }
}

fn keep_open(f: &mut Flow<'_, '_>, p: &Policy, issue: &str) -> bool {
    let Ok(n) = issue.parse::<u64>() else {
        return false;
    };
    f.gh()
        .and_then(|g| g.issue(&p.repo_slug, n))
        .is_ok_and(|i| i.labels.iter().any(|l| l == "agent-keep-open"))
}

fn cleanup_linked_issue(f: &mut Flow<'_, '_>, p: &Policy, issue: &str) -> bool {
    let Ok(n) = issue.parse::<u64>() else {
        return true;
    };
    delta(f, &p.repo_slug.clone(), Item::Issue, n, &[], ISSUE_REMOVE);
    let session = format!("{}{issue}", p.issue_prefix);
    let meta = p.runs_root.join(&session).join("run.env");
    if meta.is_file() {
        let worktree = crate::engine::env_pairs(&meta)
            .map(|pairs| crate::engine::pair(&pairs, "WORKTREE"))
            .unwrap_or_default();
        p.tool(
            &f.env,
            &p.tools_dir.join("cleanup-worktree.sh"),
            &[&worktree, &session],
            &[],
        );
    }
    true
}

fn merged_residue(f: &mut Flow<'_, '_>, p: &Policy, pr: &str) -> bool {
    let repo = p.agent_repo_root.clone();
    if !repo.is_dir() {
        return true;
    }
    let env = f.env.clone();
    let _ = git::output(&env, &repo, ["fetch", "--prune", "origin"]);
    let pattern = format!("refs/heads/{}-{pr}-*", p.branch_prefix);
    let branches = git::capture(
        &env,
        &repo,
        &["for-each-ref", "--format=%(refname:short)", &pattern],
    )
    .unwrap_or_default();
    let tool = p.tools_dir.join("agent-cleanup-worktree");
    for b in branches.lines().filter(|b| !b.is_empty()) {
        let mut cmd = Command::new(&tool);
        cmd.args(["--branch", b, "--remote", "", "--allow-unmerged"])
            .current_dir(&repo)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        env.apply(&mut cmd);
        let _ = cmd.status();
    }
    let head = pr
        .parse::<u64>()
        .ok()
        .and_then(|n| f.gh().and_then(|g| g.pr(&p.repo_slug, n)).ok())
        .map(|v| v.head_ref_name.clone())
        .unwrap_or_default();
    if !head.is_empty() {
        let _ = git::output(
            &env,
            &repo,
            ["branch", "-r", "-d", &format!("origin/{head}")],
        );
    }
    let _ = git::output(&env, &repo, ["fetch", "--prune", "origin"]);
    true
}

fn refresh_checklist(f: &mut Flow<'_, '_>, p: &Policy, pr: &str) {
    let Some(risk) = p.risk(&f.env, pr) else {
        return;
    };
    let linked = match risk.get("linkedIssueId") {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => return,
    };
    if linked.is_empty() || !keep_open(f, p, &linked) {
        return;
    }
    let args = [
        "--repo-slug",
        p.repo_slug.as_str(),
        "--issue-id",
        linked.as_str(),
    ];
    p.tool(
        &f.env,
        &p.tools_dir.join("sync-recurring-issue-checklist.sh"),
        &args,
        &[],
    );
}
