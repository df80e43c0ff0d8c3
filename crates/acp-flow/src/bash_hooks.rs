//! A bash hook file as a [`HeartbeatHooks`]: one long-lived bash per pass
//! sources the file once and then serves calls, so hundreds of hook calls
//! cost a fork each, not a bash start each.
//!
//! The protocol is ours and line based on the server's stdin/stdout:
//! the request is `CALL` (stdout captured alone, stderr passed through) or
//! `CALL2` (stdout and stderr captured together), the function name, the
//! argument count and one argument per line; the server runs the function
//! in a subshell (so its `exit` ends only the subshell) with stdin from
//! /dev/null and its output redirected into a file in a private directory,
//! then answers `DONE <status>`. The function's output never travels on
//! the answer channel, so whatever a hook prints is data, never framing.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::hooks::{HeartbeatHooks, HookContext, HookRun};

/// The hooks the loop cannot run without (spec 3.1), in the original's order.
pub const REQUIRED_HOOKS: &[&str] = &[
    "heartbeat_list_ready_issue_ids",
    "heartbeat_list_open_agent_pr_ids",
    "heartbeat_issue_is_heavy",
    "heartbeat_issue_is_recurring",
    "heartbeat_sync_pr_labels",
    "heartbeat_pr_risk_json",
    "heartbeat_mark_issue_running",
    "heartbeat_issue_launch_failed",
    "heartbeat_start_issue_worker",
    "heartbeat_mark_pr_running",
    "heartbeat_clear_pr_running",
    "heartbeat_start_pr_merge_repair_worker",
    "heartbeat_start_pr_review_worker",
    "heartbeat_start_pr_fix_worker",
    "heartbeat_start_pr_ci_refresh",
    "heartbeat_reconcile_issue",
    "heartbeat_reconcile_pr",
];

/// The resident library's reaper, called once after loading when defined.
pub const RESIDENT_REAPER: &str = "flow_resident_issue_reap_stale_state";

const SERVER: &str = r#"
set -uo pipefail
__acp_dir=$1; hook_file=$2; __acp_extra=$3
repo_slug=$4; runs_root=$5; state_root=$6; issue_prefix=$7; pr_prefix=$8
memory_dir=$9; shared_agent_home=${10}
shift 10
source "$hook_file" >&2 || { __acp_rc=$?; printf 'SOURCE_FAILED %s\n' "$__acp_rc"; exit 1; }
if [[ -n "$__acp_extra" && -f "$__acp_extra" ]]; then
  source "$__acp_extra" >&2 || true
fi
set +e
printf 'READY\n'
compgen -A function
printf 'END\n'
while IFS= read -r __acp_op; do
  case "$__acp_op" in
    CALL|CALL2) ;;
    *) exit 0 ;;
  esac
  IFS= read -r __acp_fn || exit 0
  IFS= read -r __acp_n || exit 0
  __acp_args=()
  for ((__acp_i = 0; __acp_i < __acp_n; __acp_i++)); do
    IFS= read -r __acp_a || exit 0
    __acp_args+=("$__acp_a")
  done
  if [[ "$__acp_op" == CALL2 ]]; then
    ( "$__acp_fn" "${__acp_args[@]}" ) </dev/null >"$__acp_dir/out" 2>&1
  else
    ( "$__acp_fn" "${__acp_args[@]}" ) </dev/null >"$__acp_dir/out"
  fi
  printf 'DONE %s\n' "$?"
done
"#;

/// The bash server of one hook file.
pub struct BashHooks {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    dir: tempfile::TempDir,
    defined: BTreeSet<String>,
}

impl BashHooks {
    /// Starts bash on `ctx.hook_file` (then `extra`, the resident library,
    /// when that file exists). Errors carry exit code 1 with the original's
    /// messages for a missing file or a missing required hook.
    pub fn load(ctx: &HookContext, extra: Option<&Path>, shared_home: &Path) -> Result<Self> {
        let hook = &ctx.hook_file;
        if !hook.is_file() {
            return Err(acp_core::fail(
                1,
                format!("missing hook file: {}", hook.display()),
            ));
        }
        let dir = tempfile::Builder::new()
            .prefix("acp-hooks.")
            .tempdir()
            .context("cannot create the hook server's directory")?;
        let mut cmd = Command::new("bash");
        ctx.env.apply(&mut cmd);
        cmd.current_dir(&ctx.cwd)
            .arg("--noprofile")
            .arg("--norc")
            .arg("-c")
            .arg(SERVER)
            .arg("acp-heartbeat-hooks")
            .arg(dir.path())
            .arg(hook)
            .arg(extra.map(PathBuf::from).unwrap_or_default())
            .arg(&ctx.repo_slug)
            .arg(&ctx.runs_root)
            .arg(&ctx.state_root)
            .arg(&ctx.issue_prefix)
            .arg(&ctx.pr_prefix)
            .arg(ctx.memory_dir.clone().unwrap_or_default())
            .arg(shared_home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().context("cannot start bash for the hook file")?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().context("hook server has no stdout")?;
        let mut me = BashHooks {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            dir,
            defined: BTreeSet::new(),
        };
        me.read_functions(hook)?;
        for name in REQUIRED_HOOKS {
            if !me.defines(name) {
                return Err(acp_core::fail(
                    1,
                    format!("missing required heartbeat hook: {name}"),
                ));
            }
        }
        Ok(me)
    }

    fn read_functions(&mut self, hook: &Path) -> Result<()> {
        let mut line = String::new();
        loop {
            line.clear();
            if self.stdout.read_line(&mut line)? == 0 || line.starts_with("SOURCE_FAILED") {
                return Err(acp_core::fail(
                    1,
                    format!("failed to load hook file: {}", hook.display()),
                ));
            }
            if line.trim_end() == "READY" {
                break;
            }
        }
        loop {
            line.clear();
            if self.stdout.read_line(&mut line)? == 0 {
                bail!("hook server ended while listing functions");
            }
            let name = line.trim_end();
            if name == "END" {
                return Ok(());
            }
            self.defined.insert(name.to_owned());
        }
    }

    /// Whether the sourced files define function `name`.
    pub fn defines(&self, name: &str) -> bool {
        self.defined.contains(name)
    }

    /// Calls function `name` with `args`; `combined` captures stderr with
    /// stdout (the effect hooks), else stderr goes to the pass's stderr.
    pub fn call(&mut self, name: &str, args: &[&str], combined: bool) -> Result<HookRun> {
        if args.iter().any(|a| a.contains(['\n', '\0'])) || name.contains(['\n', '\0']) {
            bail!("hook argument with a newline refused: {name}");
        }
        let mut req = String::from(if combined { "CALL2\n" } else { "CALL\n" });
        req.push_str(&format!("{name}\n{}\n", args.len()));
        for a in args {
            req.push_str(a);
            req.push('\n');
        }
        let stdin = self.stdin.as_mut().context("hook server closed")?;
        stdin
            .write_all(req.as_bytes())
            .and_then(|()| stdin.flush())
            .context("hook server ended")?;
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            bail!("hook server ended during {name}");
        }
        let status = line
            .trim_end()
            .strip_prefix("DONE ")
            .and_then(|s| s.parse::<i32>().ok())
            .with_context(|| format!("hook server answered {:?} to {name}", line.trim_end()))?;
        let out_path = self.dir.path().join("out");
        let bytes = acp_core::fsx::read_if_exists(&out_path)?.unwrap_or_default();
        let mut output = String::from_utf8_lossy(&bytes).into_owned();
        while output.ends_with('\n') {
            output.pop();
        }
        Ok(HookRun { status, output })
    }

    /// An optional hook: `None` when the file does not define it.
    fn call_opt(&mut self, name: &str, args: &[&str], combined: bool) -> Result<Option<HookRun>> {
        if !self.defines(name) {
            return Ok(None);
        }
        self.call(name, args, combined).map(Some)
    }

    fn list(&mut self, name: &str) -> Result<Vec<String>> {
        let Some(run) = self.call_opt(name, &[], false)? else {
            return Ok(Vec::new());
        };
        if !run.succeeded() {
            bail!("{name} failed with status {}", run.status);
        }
        Ok(run
            .output
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect())
    }

    fn word(&mut self, name: &str, id: &str) -> Result<String> {
        let Some(run) = self.call_opt(name, &[id], false)? else {
            return Ok(String::new());
        };
        if !run.succeeded() {
            bail!("{name} {id} failed with status {}", run.status);
        }
        Ok(run.output.trim().to_owned())
    }

    fn yes(&mut self, name: &str, id: &str) -> Result<bool> {
        Ok(self.word(name, id)? == "yes")
    }

    fn effect(&mut self, name: &str, args: &[&str]) -> Result<HookRun> {
        Ok(self
            .call_opt(name, args, true)?
            .unwrap_or_else(|| HookRun::ok("")))
    }

    /// Runs the resident library's reaper when it is defined (output and
    /// status ignored, like the original).
    pub fn reap_stale_resident(&mut self) -> Result<()> {
        self.call_opt(RESIDENT_REAPER, &[], true)?;
        Ok(())
    }
}

impl Drop for BashHooks {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

fn yn(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

impl HeartbeatHooks for BashHooks {
    fn list_ready_issue_ids(&mut self) -> Result<Vec<String>> {
        self.list("heartbeat_list_ready_issue_ids")
    }
    fn list_open_agent_pr_ids(&mut self) -> Result<Vec<String>> {
        self.list("heartbeat_list_open_agent_pr_ids")
    }
    fn list_running_issue_ids(&mut self) -> Result<Vec<String>> {
        self.list("heartbeat_list_running_issue_ids")
    }
    fn list_blocked_recovery_issue_ids(&mut self) -> Result<Vec<String>> {
        self.list("heartbeat_list_blocked_recovery_issue_ids")
    }
    fn list_exclusive_issue_ids(&mut self) -> Result<Vec<String>> {
        self.list("heartbeat_list_exclusive_issue_ids")
    }
    fn list_exclusive_pr_ids(&mut self) -> Result<Vec<String>> {
        self.list("heartbeat_list_exclusive_pr_ids")
    }
    fn issue_is_heavy(&mut self, id: &str) -> Result<bool> {
        self.yes("heartbeat_issue_is_heavy", id)
    }
    fn issue_is_recurring(&mut self, id: &str) -> Result<bool> {
        self.yes("heartbeat_issue_is_recurring", id)
    }
    fn issue_is_scheduled(&mut self, id: &str) -> Result<bool> {
        self.yes("heartbeat_issue_is_scheduled", id)
    }
    fn issue_schedule_interval_seconds(&mut self, id: &str) -> Result<u64> {
        Ok(self
            .word("heartbeat_issue_schedule_interval_seconds", id)?
            .parse()
            .unwrap_or(0))
    }
    fn issue_is_exclusive(&mut self, id: &str) -> Result<bool> {
        self.yes("heartbeat_issue_is_exclusive", id)
    }
    fn pr_is_exclusive(&mut self, pr: &str) -> Result<bool> {
        self.yes("heartbeat_pr_is_exclusive", pr)
    }
    fn pr_risk_json(&mut self, pr: &str) -> Result<serde_json::Value> {
        let text = self.word("heartbeat_pr_risk_json", pr)?;
        Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
    }
    fn sync_pr_labels(&mut self, pr: &str) -> Result<HookRun> {
        self.effect("heartbeat_sync_pr_labels", &[pr])
    }
    fn sync_issue_labels(&mut self, id: &str) -> Result<HookRun> {
        self.effect("heartbeat_sync_issue_labels", &[id])
    }
    fn mark_issue_running(&mut self, id: &str, heavy: bool) -> Result<HookRun> {
        self.effect("heartbeat_mark_issue_running", &[id, yn(heavy)])
    }
    fn issue_launch_failed(&mut self, id: &str, heavy: bool) -> Result<HookRun> {
        self.effect("heartbeat_issue_launch_failed", &[id, yn(heavy)])
    }
    fn mark_pr_running(&mut self, pr: &str) -> Result<HookRun> {
        self.effect("heartbeat_mark_pr_running", &[pr])
    }
    fn clear_pr_running(&mut self, pr: &str) -> Result<HookRun> {
        self.effect("heartbeat_clear_pr_running", &[pr])
    }
    fn start_issue_worker(&mut self, id: &str) -> Result<HookRun> {
        self.effect("heartbeat_start_issue_worker", &[id])
    }
    fn start_pr_review_worker(&mut self, pr: &str) -> Result<HookRun> {
        self.effect("heartbeat_start_pr_review_worker", &[pr])
    }
    fn start_pr_fix_worker(&mut self, pr: &str) -> Result<HookRun> {
        self.effect("heartbeat_start_pr_fix_worker", &[pr])
    }
    fn start_pr_merge_repair_worker(&mut self, pr: &str) -> Result<HookRun> {
        self.effect("heartbeat_start_pr_merge_repair_worker", &[pr])
    }
    fn start_pr_ci_refresh(&mut self, pr: &str) -> Result<HookRun> {
        self.effect("heartbeat_start_pr_ci_refresh", &[pr])
    }
    fn reconcile_issue(&mut self, session: &str) -> Result<HookRun> {
        self.effect("heartbeat_reconcile_issue", &[session])
    }
    fn reconcile_pr(&mut self, session: &str) -> Result<HookRun> {
        self.effect("heartbeat_reconcile_pr", &[session])
    }
    fn invalidate_snapshot_cache(&mut self) -> Result<()> {
        self.call_opt("heartbeat_invalidate_snapshot_cache", &[], true)?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn ctx(dir: &Path, text: &str) -> HookContext {
        let hook = dir.join("hooks.sh");
        std::fs::write(&hook, text).unwrap();
        HookContext {
            hook_file: hook,
            env: acp_core::Env::from_process(),
            cwd: dir.to_path_buf(),
            state_root: dir.join("state"),
            ..HookContext::default()
        }
    }

    fn all_required(extra: &str) -> String {
        let mut s = String::from("set -euo pipefail\n");
        for h in REQUIRED_HOOKS {
            s.push_str(&format!("{h}() {{ :; }}\n"));
        }
        s.push_str(extra);
        s
    }

    #[test]
    fn missing_file_and_missing_hook_name_themselves() {
        let d = tempfile::tempdir().unwrap();
        let mut c = ctx(d.path(), "");
        c.hook_file = d.path().join("nope.sh");
        let e = BashHooks::load(&c, None, d.path()).err().unwrap();
        assert!(e.to_string().contains("missing hook file:"), "{e}");
        let c = ctx(d.path(), "heartbeat_list_ready_issue_ids() { :; }\n");
        let e = BashHooks::load(&c, None, d.path()).err().unwrap();
        assert_eq!(
            e.to_string(),
            "missing required heartbeat hook: heartbeat_list_open_agent_pr_ids"
        );
    }

    #[test]
    fn calls_survive_exit_and_hostile_output() {
        let d = tempfile::tempdir().unwrap();
        let extra = r#"
heartbeat_list_ready_issue_ids() { printf '101\n\n102\n'; }
heartbeat_start_issue_worker() { printf 'DONE 0\nREADY\n'; echo err >&2; exit 7; }
heartbeat_issue_is_heavy() { [[ "$1" == 5 ]] && echo yes || echo no; }
heartbeat_pr_risk_json() { printf '{"number":%s,"agentLane":"fix"}\n' "$1"; }
heartbeat_sync_issue_labels() { read -r x; echo "got:${x:-none}:$state_root"; }
"#;
        let c = ctx(d.path(), &all_required(extra));
        let mut h = BashHooks::load(&c, None, d.path()).unwrap();
        assert_eq!(h.list_ready_issue_ids().unwrap(), ["101", "102"]);
        let run = h.start_issue_worker("101").unwrap();
        assert_eq!(run.status, 7);
        assert_eq!(run.output, "DONE 0\nREADY\nerr");
        assert!(h.issue_is_heavy("5").unwrap());
        assert!(!h.issue_is_heavy("6").unwrap());
        assert_eq!(h.pr_risk_json("9").unwrap()["agentLane"], "fix");
        let run = h.sync_issue_labels("1").unwrap();
        assert_eq!(
            run.output,
            format!("got:none:{}", d.path().join("state").display())
        );
        // optional hooks not defined answer the defaults
        assert!(h.list_exclusive_issue_ids().unwrap().is_empty());
        assert!(!h.issue_is_scheduled("1").unwrap());
        assert!(h.call("x", &["a\nb"], false).is_err());
        // many calls, one bash
        for _ in 0..200 {
            assert!(!h.issue_is_heavy("6").unwrap());
        }
    }
}
