//! The shipped heartbeat policy in Rust (spec 3.38): what
//! `hooks/heartbeat-hooks.sh` names.
//!
//! - [`select`]: the decisions over GitHub JSON (agent PRs, ready, blocked,
//!   exclusive, running issues, cadences, blocker reasons), pure.
//! - [`reads`]: one open-issue and one open-PR list per pass, from
//!   `acp-github`'s process snapshot (or a bash caller's cache directory).
//! - [`labels`]: label deltas, the once-per-repository label definitions,
//!   and the idle-PR label sync that is skipped while nothing changed.
//! - [`launch`]: workers started through `agent-project-detached-launch`,
//!   resident routing, CI refresh, reconciles run in process.
//! - [`words`]: the same policy one function at a time, for the hook
//!   file's bash functions (`agent-project-heartbeat-hooks WORD ...`).

pub mod call;
pub mod labels;
pub mod launch;
pub mod memo;
pub mod reads;
pub mod resident;
pub mod select;
pub mod settings;
pub mod words;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::Result;
use serde_json::Value;

use crate::hooks::{HeartbeatHooks, HookContext, HookRun};
pub use reads::Reads;
pub use settings::Settings;

/// The shipped hook file (`hooks/heartbeat-hooks.sh` of every tree): a
/// hook file with exactly these bytes is applied by [`Policy`] in process.
pub const DEFAULT_HOOK_FILE: &str = include_str!("../../../../templates/hooks/heartbeat-hooks.sh");

/// The policy of `ctx.hook_file` when that file is our unchanged
/// `hooks/heartbeat-hooks.sh`; `None` for any other file (the pass then
/// runs the file through bash).
pub fn load(ctx: &HookContext) -> Result<Option<Box<dyn HeartbeatHooks>>> {
    if !is_default_hook_file(&ctx.hook_file) {
        return Ok(None);
    }
    let package = package_root(&ctx.hook_file);
    let mut s = Settings::resolve(&ctx.env, &package, &ctx.cwd)?;
    if !ctx.repo_slug.is_empty() {
        s.repo = ctx.repo_slug.clone();
    }
    if !ctx.state_root.as_os_str().is_empty() && ctx.state_root != s.state_root {
        s.state_root = ctx.state_root.clone();
        if ctx.env.non_empty("ACP_PENDING_LAUNCH_DIR").is_none() {
            s.pending_dir = s.state_root.join("pending-launches");
        }
    }
    Ok(Some(Box::new(Policy::new(s, None, LabelWrites::Deltas))))
}

/// Whether `file` holds exactly the shipped hook file.
pub fn is_default_hook_file(file: &Path) -> bool {
    acp_core::fsx::read_capped(file, 4 << 20).is_ok_and(|b| b == DEFAULT_HOOK_FILE.as_bytes())
}

/// The package directory of a hook file (`<package>/hooks/<file>`).
pub fn package_root(hook_file: &Path) -> PathBuf {
    let dir = acp_core::fsx::parent_dir(hook_file);
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    acp_core::fsx::parent_dir(&dir)
}

/// How label effects reach GitHub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelWrites {
    /// Deltas through `acp-github`, only what the snapshot says is missing
    /// or present (the shipped policy in process).
    Deltas,
    /// The sibling `agent-github-update-labels` with the original's
    /// arguments (the hook file's bash functions: a test's or a user's
    /// script at that path sees the same call as under 0.2.0).
    Sibling,
}

/// The shipped heartbeat policy.
pub struct Policy {
    pub s: Settings,
    pub reads: Reads,
    pub label_writes: LabelWrites,
    /// Routing decided when an issue's running label was (not) set, reused
    /// by its start (F18).
    pub(crate) routed: std::collections::BTreeMap<u64, launch::Route>,
}

/// A decimal id of the hook ABI.
pub fn parse_id(id: &str) -> Result<u64> {
    id.trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("not an issue or PR number: {id:?}"))
}

impl Policy {
    pub fn new(s: Settings, cache_dir: Option<PathBuf>, label_writes: LabelWrites) -> Policy {
        let reads = Reads::new(s.env.clone(), &s.repo, cache_dir);
        Policy {
            s,
            reads,
            label_writes,
            routed: Default::default(),
        }
    }

    /// Runs a package tool (`path args...`) as the original ran it, through
    /// `acp_core::dispatch` (in process when it is our own shim). A tool
    /// that cannot be started answers status 127 with the reason.
    pub fn run_tool(&self, path: &Path, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(path);
        cmd.args(args);
        self.s.env.apply(&mut cmd);
        cmd.envs(extra_env.iter().copied());
        cmd.current_dir(&self.s.cwd);
        match acp_core::dispatch::output(&mut cmd) {
            Ok(out) => out,
            Err(e) => Output {
                status: exit_status(127),
                stdout: Vec::new(),
                stderr: format!("{}: {e:#}\n", path.display()).into_bytes(),
            },
        }
    }

    pub fn tool(&self, name: &str) -> PathBuf {
        self.s.tools_dir.join(name)
    }

    pub fn adapter(&self, name: &str) -> PathBuf {
        self.s.adapter_bin_dir.join(name)
    }

    /// The issue ids (text) the open agent PRs close.
    pub fn linked_issue_ids(&mut self) -> Result<Vec<String>> {
        let prs = self.reads.prs()?;
        Ok(self.s.rules.linked_issue_ids(&prs))
    }

    /// Ready issues (see [`select::ready_issue_ids`]).
    pub fn ready_issue_ids(&mut self) -> Result<Vec<u64>> {
        let linked = self.linked_issue_ids()?;
        let issues = self.reads.issues()?;
        let ready = select::ready_issue_ids(&issues, &linked, self.s.require_ready_label);
        Ok(self.without_queued(ready))
    }

    /// `ids` without the issues a resident controller has queued or claimed
    /// (F18: they are taken care of; picking them again only re-queues).
    pub fn without_queued(&self, ids: Vec<u64>) -> Vec<u64> {
        let queued = resident::queued_issue_ids(&self.s.state_root);
        ids.into_iter()
            .filter(|i| !queued.contains(&i.to_string()))
            .collect()
    }

    /// Blocked issues with a recovery reason.
    pub fn blocked_recovery_issue_ids(&mut self) -> Result<Vec<u64>> {
        let linked = self.linked_issue_ids()?;
        let issues = self.reads.issues()?;
        let mut out = Vec::new();
        for id in select::blocked_candidate_ids(&issues, &linked) {
            let listed = issues
                .as_array()
                .and_then(|a| a.iter().find(|i| select::number(i) == Some(id)));
            if !self.recovery_reason(id, listed)?.is_empty() {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// The recovery reason of blocked issue `id` ("" for none): the retry
    /// record's reason unless a baseline gate holds it, else the newest
    /// blocker comment's. The comment-derived reason is remembered per
    /// issue and `updatedAt` (`listed` = the issue's list entry), so an
    /// unchanged issue needs no view in a later pass.
    pub fn recovery_reason(&mut self, id: u64, listed: Option<&Value>) -> Result<String> {
        let retry = self.retry_reason(id);
        if !retry.is_empty() && retry != "issue-worker-blocked" {
            if self.baseline_blocked(id, &retry) {
                return Ok(String::new());
            }
            return Ok(retry);
        }
        let updated = listed
            .and_then(|l| l.get("updatedAt"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let memo = memo::Memo::new(&self.s.state_root, "blocked-reasons.json");
        let key = format!("{updated}|{retry}");
        if !updated.is_empty()
            && let Some(reason) = memo.get(&id.to_string(), &key)
        {
            return Ok(reason);
        }
        let issue = match self.reads.issue_view(id) {
            Ok(v) => v,
            Err(_) => return Ok(String::new()),
        };
        let reason = reason_of_view(&issue, &retry);
        if !updated.is_empty() {
            // A memory only: a state dir that cannot be written costs a view.
            let _ = memo.put(&id.to_string(), &key, &reason);
        }
        Ok(reason)
    }

    /// `LAST_REASON` of `retry-state.sh issue ID get` ("" when none).
    pub fn retry_reason(&self, id: u64) -> String {
        let n = id.to_string();
        let out = self.run_tool(&self.tool("retry-state.sh"), &["issue", &n, "get"], &[]);
        let text = String::from_utf8_lossy(&out.stdout);
        acp_core::kv::last(&text, "LAST_REASON")
            .unwrap_or("")
            .trim()
            .to_string()
    }

    /// Whether `reason` waits for a new baseline and the retry record's
    /// `BASELINE_HEAD_SHA` is still the default branch's head.
    pub fn baseline_blocked(&self, id: u64, reason: &str) -> bool {
        if !select::reason_requires_baseline_change(reason) {
            return false;
        }
        let file = self.s.state_root.join(format!("retries/issues/{id}.env"));
        let Ok(bytes) = acp_core::fsx::read_capped(&file, 1 << 20) else {
            return false;
        };
        let text = String::from_utf8_lossy(&bytes);
        let Some(recorded) = acp_core::kv::last(&text, "BASELINE_HEAD_SHA")
            .map(str::trim)
            .filter(|s| !s.is_empty())
        else {
            return false;
        };
        let current = self.baseline_head();
        !current.is_empty() && current == recorded
    }

    /// `origin/<default>` (else `<default>`) of the agent repo ("" when
    /// neither resolves).
    pub fn baseline_head(&self) -> String {
        let root = &self.s.agent_repo_root;
        if !root.is_dir() {
            return String::new();
        }
        let b = &self.s.default_branch;
        for rev in [format!("origin/{b}"), b.clone()] {
            let args = ["rev-parse", "--verify", "--quiet", rev.as_str()];
            if let Some(sha) = acp_core::git::capture(&self.s.env, root, &args)
                && !sha.trim().is_empty()
            {
                return sha.trim().to_string();
            }
        }
        String::new()
    }

    /// The issue's JSON (list entry or view); `{}` when GitHub has none.
    pub fn issue_json(&mut self, id: u64) -> Value {
        self.reads
            .issue(id)
            .unwrap_or_else(|_| Value::Object(Default::default()))
    }

    pub fn is_recurring(&mut self, id: u64) -> bool {
        select::has_label(&self.issue_json(id), select::KEEP_OPEN)
    }

    pub fn interval_seconds(&mut self, id: u64) -> u64 {
        select::schedule_interval_seconds(select::body(&self.issue_json(id)))
    }

    pub fn is_exclusive(&mut self, id: u64) -> bool {
        let label = self.s.rules.exclusive_label.clone();
        select::has_label(&self.issue_json(id), &label)
    }

    /// Resident-lane routing applies: a resident-capable backend, resident
    /// workers on, and a recurring or scheduled issue.
    pub fn uses_resident_loop(&mut self, id: u64) -> bool {
        settings::resident_backend_supported(&self.s.coding_worker)
            && self.s.resident_enabled
            && (self.is_recurring(id) || self.interval_seconds(id) > 0)
    }

    /// `bin/issue-resource-class.sh ID` says `IS_E2E=yes`.
    pub fn is_heavy(&self, id: u64) -> bool {
        let out = self.run_tool(
            &self.adapter("issue-resource-class.sh"),
            &[&id.to_string()],
            &[],
        );
        acp_core::kv::last(&String::from_utf8_lossy(&out.stdout), "IS_E2E").map(str::trim)
            == Some("yes")
    }
}

/// The recovery reason from an issue's view JSON (labels and comments).
pub fn reason_of_view(issue: &Value, retry: &str) -> String {
    let labels = select::labels(issue);
    let comments = select::comment_bodies(issue).unwrap_or_default();
    select::comment_recovery_reason(&labels, &comments, retry)
}

/// A tool's stdout and stderr as one hook output.
pub fn hook_run(out: &Output) -> HookRun {
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    HookRun {
        status: acp_core::process::exit_code(out.status),
        output: text,
    }
}

fn exit_status(code: i32) -> std::process::ExitStatus {
    use std::os::unix::process::ExitStatusExt;
    std::process::ExitStatus::from_raw(code.clamp(0, 255) << 8)
}

fn ids(v: Vec<u64>) -> Vec<String> {
    v.into_iter().map(|n| n.to_string()).collect()
}

impl HeartbeatHooks for Policy {
    fn list_ready_issue_ids(&mut self) -> Result<Vec<String>> {
        self.ready_issue_ids().map(ids)
    }

    fn list_open_agent_pr_ids(&mut self) -> Result<Vec<String>> {
        let prs = self.reads.prs()?;
        Ok(ids(self.s.rules.agent_pr_ids(&prs)))
    }

    fn list_running_issue_ids(&mut self) -> Result<Vec<String>> {
        let issues = self.reads.issues()?;
        Ok(ids(select::running_issue_ids(&issues)))
    }

    fn list_blocked_recovery_issue_ids(&mut self) -> Result<Vec<String>> {
        self.blocked_recovery_issue_ids().map(ids)
    }

    fn list_exclusive_issue_ids(&mut self) -> Result<Vec<String>> {
        let linked = self.linked_issue_ids()?;
        let issues = self.reads.issues()?;
        let label = &self.s.rules.exclusive_label;
        Ok(ids(select::exclusive_issue_ids(&issues, &linked, label)))
    }

    fn list_exclusive_pr_ids(&mut self) -> Result<Vec<String>> {
        let prs = self.reads.prs()?;
        Ok(ids(self.s.rules.exclusive_pr_ids(&prs)))
    }

    fn issue_is_heavy(&mut self, id: &str) -> Result<bool> {
        Ok(self.is_heavy(parse_id(id)?))
    }

    fn issue_is_recurring(&mut self, id: &str) -> Result<bool> {
        Ok(self.is_recurring(parse_id(id)?))
    }

    fn issue_is_scheduled(&mut self, id: &str) -> Result<bool> {
        Ok(self.interval_seconds(parse_id(id)?) > 0)
    }

    fn issue_schedule_interval_seconds(&mut self, id: &str) -> Result<u64> {
        Ok(self.interval_seconds(parse_id(id)?))
    }

    fn issue_is_exclusive(&mut self, id: &str) -> Result<bool> {
        Ok(self.is_exclusive(parse_id(id)?))
    }

    fn pr_is_exclusive(&mut self, pr: &str) -> Result<bool> {
        let v = self.reads.pr(parse_id(pr)?)?;
        Ok(select::has_label(&v, &self.s.rules.exclusive_label))
    }

    fn pr_risk_json(&mut self, pr: &str) -> Result<Value> {
        labels::pr_risk_json(self, parse_id(pr)?)
    }

    fn sync_pr_labels(&mut self, pr: &str) -> Result<HookRun> {
        labels::sync_pr_labels(self, parse_id(pr)?)
    }

    fn sync_issue_labels(&mut self, id: &str) -> Result<HookRun> {
        labels::sync_issue_labels(self, parse_id(id)?)
    }

    fn mark_issue_running(&mut self, id: &str, heavy: bool) -> Result<HookRun> {
        labels::mark_issue_running(self, parse_id(id)?, heavy)
    }

    fn issue_launch_failed(&mut self, id: &str, _heavy: bool) -> Result<HookRun> {
        labels::issue_launch_failed(self, parse_id(id)?)
    }

    fn mark_pr_running(&mut self, pr: &str) -> Result<HookRun> {
        labels::mark_pr_running(self, parse_id(pr)?)
    }

    fn clear_pr_running(&mut self, pr: &str) -> Result<HookRun> {
        labels::clear_pr_running(self, parse_id(pr)?)
    }

    fn start_issue_worker(&mut self, id: &str) -> Result<HookRun> {
        launch::start_issue_worker(self, parse_id(id)?)
    }

    fn start_pr_review_worker(&mut self, pr: &str) -> Result<HookRun> {
        launch::start_pr_worker(self, launch::PrWorker::Review, parse_id(pr)?)
    }

    fn start_pr_fix_worker(&mut self, pr: &str) -> Result<HookRun> {
        launch::start_pr_worker(self, launch::PrWorker::Fix, parse_id(pr)?)
    }

    fn start_pr_merge_repair_worker(&mut self, pr: &str) -> Result<HookRun> {
        launch::start_pr_worker(self, launch::PrWorker::MergeRepair, parse_id(pr)?)
    }

    fn start_pr_ci_refresh(&mut self, pr: &str) -> Result<HookRun> {
        launch::start_pr_ci_refresh(self, parse_id(pr)?)
    }

    fn reconcile_issue(&mut self, session: &str) -> Result<HookRun> {
        Ok(launch::reconcile(
            self,
            "reconcile-issue-worker.sh",
            session,
        ))
    }

    fn reconcile_pr(&mut self, session: &str) -> Result<HookRun> {
        Ok(launch::reconcile(self, "reconcile-pr-worker.sh", session))
    }

    fn invalidate_snapshot_cache(&mut self) -> Result<()> {
        self.reads.invalidate();
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_the_unchanged_hook_file_loads_the_rust_policy() {
        let t = tempfile::tempdir().unwrap();
        let hooks = t.path().join("pkg/hooks");
        std::fs::create_dir_all(&hooks).unwrap();
        let file = hooks.join("heartbeat-hooks.sh");
        std::fs::write(&file, DEFAULT_HOOK_FILE).unwrap();
        let mut env = acp_core::Env::new();
        env.set("HOME", t.path());
        env.set("ACP_CONFIG", t.path().join("none.yaml"));
        let ctx = HookContext {
            repo_slug: "o/r".into(),
            state_root: t.path().join("state"),
            hook_file: file.clone(),
            env,
            cwd: t.path().to_path_buf(),
            ..HookContext::default()
        };
        assert!(load(&ctx).unwrap().is_some());
        std::fs::write(&file, format!("{DEFAULT_HOOK_FILE}\n# edited\n")).unwrap();
        assert!(load(&ctx).unwrap().is_none());
        let missing = HookContext {
            hook_file: t.path().join("nope.sh"),
            ..ctx
        };
        assert!(load(&missing).unwrap().is_none());
    }
}
