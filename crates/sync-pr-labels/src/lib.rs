//! `bin/sync-pr-labels.sh PR_NUMBER` (and its front
//! `tools/bin/sync-pr-labels.sh`): brings an agent PR's labels in line with
//! the lane `bin/pr-risk.sh` gives it, copies `agent-exclusive` from the
//! linked issue, and takes `agent-ready` / `agent-running` off that issue.
//!
//! The label changes are deltas (F8): handed to the package's
//! `tools/bin/agent-github-update-labels` as `--add` / `--remove` words when
//! that file is a user's replacement or a test's stub, else applied through
//! `acp-github` as one `gh pr edit --add-label= --remove-label=` call that
//! only names the labels that actually change. Label definitions are
//! created once per repository (remembered under the state root), not
//! re-edited on every call (F11).

mod labels;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use acp_core::config::{self, FlowConfig};
use acp_core::{Env, Invocation, ToolSpec, fail};
use acp_github::{ErrorKind, Gh, Item};
use acp_session::risk::adapter;
use serde_json::Value;

pub use labels::{Delta, Op, RiskView, definitions, plan};

const NAME: &str = "sync-pr-labels.sh";
const USAGE: &str = "sync-pr-labels.sh PR_NUMBER";
const UPDATE_LABELS: &str = "agent-github-update-labels";

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: NAME,
    aliases: &["sync-pr-labels"],
    paths: &["bin/sync-pr-labels.sh", "tools/bin/sync-pr-labels.sh"],
    about: "Set an agent PR's lane labels from pr-risk.sh (label deltas)",
    command,
    run,
}];

/// The argument description (one positional word, as the original).
pub fn command() -> clap::Command {
    acp_core::cli::tool_command(
        NAME,
        "Runs bin/pr-risk.sh PR_NUMBER and, for an agent PR, adds and removes the lane labels \
         (agent-automerge, agent-repair-queued, agent-ci-refresh, agent-ci-bypassed, \
         agent-double-check-1/2 and 2/2, agent-human-review, agent-exclusive), then takes \
         agent-ready and agent-running off the linked issue. Prints PR_NUMBER, SYNC_STATUS, \
         RISK, AGENT_LANE, LINKED_ISSUE_ID, IS_BLOCKED, MANUAL_FIX_OVERRIDE.",
    )
    .override_usage(USAGE)
    .arg(clap::Arg::new("PR_NUMBER").help("The pull request number"))
}

/// Runs `bin/sync-pr-labels.sh` or its `tools/bin` front.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if acp_core::cli::first_is_help(args) {
        write!(ctx.stdout, "{}", acp_core::cli::usage(&command()))?;
        return Ok(0);
    }
    let Some(number) = args
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
    else {
        return Err(fail(1, format!("{NAME}: usage: {USAGE}")));
    };
    let script = ctx.script_path();
    let bin_dir = if adapter::is_tools_front(script.as_deref()) {
        match adapter::bin_script(&ctx.env, script.as_deref(), NAME) {
            Some(target) if !adapter::is_our_shim(&target) => {
                let mut cmd = ctx.command("bash");
                cmd.arg(target).arg(&number);
                return ctx.relay(&mut cmd);
            }
            Some(target) => target.parent().map(Path::to_path_buf),
            None => None,
        }
    } else {
        script
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
    };
    let a = Args::resolve(&ctx.env, &number, bin_dir)?;
    sync(ctx, &a)
}

/// One call, resolved.
#[derive(Debug, Clone)]
pub struct Args {
    pub pr_number: u64,
    pub repo: String,
    pub state_root: PathBuf,
    /// The package's `bin/` (where `pr-risk.sh` is), when known.
    pub bin_dir: Option<PathBuf>,
}

impl Args {
    pub fn resolve(env: &Env, number: &str, bin_dir: Option<PathBuf>) -> anyhow::Result<Self> {
        let pr_number = number
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0 && !number.starts_with(['0', '+']))
            .ok_or_else(|| {
                fail(
                    1,
                    format!("sync-pr-labels: PR_NUMBER must be a positive integer, got: {number}"),
                )
            })?;
        let cfg = FlowConfig::load(env)?;
        Ok(Self {
            pr_number,
            repo: config::repo_slug(env, &cfg),
            state_root: config::state_root(env, &cfg),
            bin_dir,
        })
    }

    /// `<bin>/../tools/bin/<name>`, when that file exists.
    fn package_tool(&self, name: &str) -> Option<PathBuf> {
        let p = self.bin_dir.as_ref()?.join("../tools/bin").join(name);
        p.is_file().then_some(p)
    }
}

fn sync(ctx: &mut Invocation<'_>, a: &Args) -> anyhow::Result<i32> {
    let gh = Gh::new(ctx.env.clone()).map_err(|e| fail(1, format!("sync-pr-labels: {e}")))?;
    if a.state_root.is_dir()
        && let Err(e) = gh.ensure_labels(&a.repo, &definitions(), &a.state_root)
    {
        let line = acp_core::cli::error_line(&e);
        writeln!(
            ctx.stderr,
            "sync-pr-labels: warning: label definitions not ensured: {line}"
        )?;
    }
    let risk = match pr_risk(ctx, a)? {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let view = RiskView::of(&risk);
    if !view.managed {
        ctx.out_kv("PR_NUMBER", a.pr_number)?;
        ctx.out_kv("SYNC_STATUS", "ignored-non-agent-branch")?;
        return Ok(0);
    }
    let issue_read = view
        .linked_issue
        .parse::<u64>()
        .ok()
        .map(|id| gh.issue_summary(&a.repo, id));
    // An issue that does not exist gets no cleanup write.
    let issue_missing = matches!(&issue_read, Some(Err(e)) if e.kind == ErrorKind::NotFound);
    let issue = issue_read.and_then(Result::ok);
    let exclusive = issue
        .as_ref()
        .is_some_and(|i| i.labels.iter().any(|l| l == "agent-exclusive"));
    let mut delta = plan(&view, exclusive);
    // Removals a caller (the PR reconciler) folds into this write.
    let also: Vec<String> = ctx
        .env
        .get(acp_session::risk::SYNC_ALSO_REMOVE_ENV)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let also: Vec<&str> = also.iter().map(String::as_str).collect();
    delta.remove_unless_added(&also);
    let writer = match a.package_tool(UPDATE_LABELS) {
        Some(p) if !adapter::is_our_shim(&p) => Writer::Tool(p),
        _ => Writer::Github(&gh),
    };
    let pr = a.pr_number.to_string();
    let code = writer.apply(ctx, a, Item::Pr, &pr, &delta, view.labels.as_deref())?;
    if code != 0 {
        return Ok(code);
    }
    if !view.linked_issue.is_empty() && !issue_missing {
        // As the original: a failed cleanup of the issue does not fail the sync.
        let cleanup = Delta::removing(&["agent-ready", "agent-running"]);
        let current = issue.as_ref().map(|i| i.labels.as_slice());
        if let Err(e) = writer.apply(ctx, a, Item::Issue, &view.linked_issue, &cleanup, current) {
            let line = acp_core::cli::error_line(&e);
            let id = &view.linked_issue;
            writeln!(ctx.stderr, "sync-pr-labels: warning: issue {id}: {line}")?;
        }
    }
    ctx.out_kv("PR_NUMBER", a.pr_number)?;
    ctx.out_kv("SYNC_STATUS", "ok")?;
    ctx.out_kv("RISK", one_line(&view.risk))?;
    ctx.out_kv("AGENT_LANE", one_line(&view.lane))?;
    ctx.out_kv("LINKED_ISSUE_ID", one_line(&view.linked_issue))?;
    ctx.out_kv("IS_BLOCKED", one_line(&view.blocked))?;
    ctx.out_kv("MANUAL_FIX_OVERRIDE", one_line(&view.manual_fix_override))?;
    Ok(0)
}

/// A value printed on a `KEY=value` line: control characters (which could
/// forge further lines) become `_`.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '_' } else { c })
        .collect()
}

/// Runs `<bin>/pr-risk.sh N` (the file there, so a stub or replacement
/// runs; our own tool when there is none) and parses its JSON object. Its
/// stderr is passed on; a failure ends the sync with its exit code.
fn pr_risk(ctx: &mut Invocation<'_>, a: &Args) -> anyhow::Result<Result<Value, i32>> {
    let script = a
        .bin_dir
        .as_ref()
        .map(|d| d.join("pr-risk.sh"))
        .filter(|p| p.is_file());
    let mut cmd = match script {
        Some(p) => {
            let mut c = ctx.command("bash");
            c.arg(p);
            c
        }
        None => {
            let mut c = ctx.command(&ctx.exe);
            c.arg("pr-risk.sh");
            c
        }
    };
    cmd.arg(a.pr_number.to_string());
    let out = acp_core::dispatch::output(&mut cmd)?;
    ctx.stderr.write_all(&out.stderr)?;
    let code = acp_core::process::exit_code(out.status);
    if code != 0 {
        return Ok(Err(code));
    }
    match serde_json::from_slice::<Value>(&out.stdout) {
        Ok(v) if v.is_object() => Ok(Ok(v)),
        _ => Err(fail(
            1,
            format!(
                "sync-pr-labels: pr-risk.sh {} printed no JSON object",
                a.pr_number
            ),
        )),
    }
}

/// Where label deltas go.
enum Writer<'g> {
    /// A replacement `agent-github-update-labels` script.
    Tool(PathBuf),
    /// `gh issue|pr edit` through acp-github.
    Github(&'g Gh),
}

impl Writer<'_> {
    /// Applies `delta` to item `number`; returns the exit code to end with
    /// (0 = done). `current` (the item's labels, when known) trims the delta
    /// to what actually changes.
    fn apply(
        &self,
        ctx: &mut Invocation<'_>,
        a: &Args,
        item: Item,
        number: &str,
        delta: &Delta,
        current: Option<&[String]>,
    ) -> anyhow::Result<i32> {
        match self {
            Writer::Tool(path) => {
                let mut cmd = ctx.command("bash");
                cmd.arg(path)
                    .args(["--repo-slug", &a.repo, "--number", number])
                    .args(delta.words());
                let out = acp_core::dispatch::output(&mut cmd)?;
                ctx.stderr.write_all(&out.stderr)?;
                Ok(acp_core::process::exit_code(out.status))
            }
            Writer::Github(gh) => {
                let n: u64 = number.parse().map_err(|_| {
                    fail(
                        1,
                        format!("sync-pr-labels: not an issue or PR number: {number}"),
                    )
                })?;
                let (add, remove) = delta.effective(current);
                let add: Vec<&str> = add.iter().map(String::as_str).collect();
                let remove: Vec<&str> = remove.iter().map(String::as_str).collect();
                gh.edit_labels(&a.repo, item, n, &add, &remove)
                    .map_err(|e| {
                        fail(
                            1,
                            format!("sync-pr-labels: cannot update the labels of #{n}: {e}"),
                        )
                    })?;
                Ok(0)
            }
        }
    }
}
