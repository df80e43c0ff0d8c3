//! The worktree, prompt and launch steps of an issue start (spec 3.5
//! steps 10-11): reuse of a resident lane's worktree with its fallback to a
//! new one, the lane alias and metadata, `prompt.md`, and the runner.

use std::path::{Path, PathBuf};

use acp_core::{Invocation, dispatch, fsx};

use super::{IssueData, Resident, Start, context};
use crate::resident::lane;
use crate::start::common::{self, Run};

/// The worktree a run got.
#[derive(Debug, Clone, Default)]
pub(crate) struct Opened {
    /// The path the worker gets: the lane alias on resident runs.
    pub(crate) worktree: String,
    pub(crate) branch: String,
    pub(crate) baseline: String,
}

/// The value of the first `KEY=` line of `text` (everything after the `=`).
fn first_value(text: &str, key: &str) -> String {
    let prefix = format!("{key}=");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_default()
        .to_string()
}

impl Start {
    /// Reuses the resident lane's worktree when the lane allows it (else, or
    /// when the reuse fails, opens a new one), links the lane alias,
    /// records the baseline commit and the lane metadata.
    pub(super) fn open_worktree(
        &self,
        ctx: &mut Invocation<'_>,
        r: &mut Resident,
        slug: &str,
        local_install: bool,
    ) -> anyhow::Result<Opened> {
        let mut reused_out: Option<String> = None;
        if r.enabled {
            r.task_count = 1;
            r.reused = false;
            let meta = lane::Metadata::read(&r.meta).ok().flatten();
            let now = acp_core::time::now_epoch();
            if let (Some(m), Ok(())) = (&meta, lane::can_reuse(meta.as_ref(), &self.settings, now))
            {
                r.task_count = m.task_count() + 1;
                r.reused = true;
                r.finished_at = m.get("LAST_FINISHED_AT");
                self.openclaw_cycle(r);
                let mut cmd =
                    self.layout
                        .sibling_command("reuse-issue-worktree.sh", Run::Direct, &self.env);
                cmd.arg(m.get("WORKTREE")).args([&self.issue_id, slug]);
                let out = dispatch::output(&mut cmd)?;
                let text = format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                if out.status.success() {
                    reused_out = Some(text);
                } else {
                    let reason = text.split_whitespace().collect::<Vec<_>>().join(" ");
                    writeln!(
                        ctx.stderr,
                        "RESIDENT_REUSE_FALLBACK=issue-{} reason={reason}",
                        self.issue_id
                    )?;
                    r.task_count = 1;
                    r.reused = false;
                    r.finished_at.clear();
                }
            }
            self.openclaw_cycle(r);
        }
        let text = match reused_out {
            Some(t) => t,
            None => self.new_worktree(ctx, slug, local_install)?,
        };
        let mut worktree = first_value(&text, "WORKTREE");
        let branch = first_value(&text, "BRANCH");
        if worktree.is_empty() {
            anyhow::bail!("the worktree tool printed no WORKTREE= line");
        }
        if r.enabled
            && Path::new(&worktree).is_dir()
            && let Some((alias, real)) = lane::replace_alias(&r.dir, Path::new(&worktree))?
        {
            worktree = alias.to_string_lossy().into_owned();
            r.realpath = real.to_string_lossy().into_owned();
        }
        let baseline =
            acp_core::git::capture(&self.env, Path::new(&worktree), &["rev-parse", "HEAD"])
                .filter(|s| !s.is_empty())
                .ok_or_else(|| anyhow::anyhow!("{worktree}: git rev-parse HEAD failed"))?;
        if r.enabled {
            self.record_lane(r, &worktree, &branch)?;
        }
        Ok(Opened {
            worktree,
            branch,
            baseline,
        })
    }

    /// A new conversation per cycle for openclaw lanes.
    fn openclaw_cycle(&self, r: &mut Resident) {
        if self.coding_worker == "openclaw" {
            r.oc_session_id =
                lane::openclaw_session_id(&self.adapter_id, &self.issue_id, r.task_count);
        }
    }

    /// `new-worktree.sh ID SLUG` (with `ACP_WORKTREE_LOCAL_INSTALL=true` when
    /// the issue asks for a local install); its stderr is passed on.
    fn new_worktree(
        &self,
        ctx: &mut Invocation<'_>,
        slug: &str,
        local_install: bool,
    ) -> anyhow::Result<String> {
        let mut env = self.env.clone();
        if local_install {
            env.set("ACP_WORKTREE_LOCAL_INSTALL", "true");
            env.set("F_LOSNING_WORKTREE_LOCAL_INSTALL", "true");
        }
        let mut cmd = self
            .layout
            .sibling_command("new-worktree.sh", Run::Direct, &env);
        cmd.args([&self.issue_id, slug]);
        let out = dispatch::output(&mut cmd)?;
        ctx.stderr.write_all(&out.stderr)?;
        if !out.status.success() {
            let code = acp_core::process::exit_code(out.status);
            return Err(acp_core::fail(
                if code == 0 { 1 } else { code },
                format!(
                    "new-worktree.sh failed for issue {} (exit {code})",
                    self.issue_id
                ),
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn record_lane(&self, r: &Resident, worktree: &str, branch: &str) -> anyhow::Result<()> {
        let rec = lane::Record {
            key: r.key.clone(),
            lane_kind: r.kind.clone(),
            lane_value: r.value.clone(),
            issue_id: self.issue_id.clone(),
            adapter_id: self.adapter_id.clone(),
            coding_worker: self.coding_worker.clone(),
            worktree: worktree.to_string(),
            worktree_realpath: r.realpath.clone(),
            branch: branch.to_string(),
            openclaw_agent_id: r.oc_agent_id.clone(),
            openclaw_session_id: r.oc_session_id.clone(),
            openclaw_agent_dir: r.oc_agent_dir.clone(),
            openclaw_state_dir: r.oc_state_dir.clone(),
            openclaw_config_path: r.oc_config_path.clone(),
            task_count: r.task_count,
            started_at: acp_core::time::now_utc_iso(),
            finished_at: r.finished_at.clone(),
            session: self.session.clone(),
            reused: r.reused,
        };
        rec.write(&r.meta, self.locale)
    }

    /// Renders `prompt.md` from the issue (or scheduled) template in one
    /// pass and appends the resident context and the guardrails.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn write_prompt(
        &self,
        issue: &IssueData,
        interval: u64,
        automerge: &str,
        recurring: &str,
        blocker: &str,
        opened: &Opened,
        r: &Resident,
    ) -> anyhow::Result<PathBuf> {
        let name = if interval > 0 {
            "scheduled-issue-prompt-template.md"
        } else {
            "issue-prompt-template.md"
        };
        let template_file =
            common::resolve_template(name, &self.layout, &self.config_file, &self.env);
        let template = fsx::read_to_string_lossy(&template_file)?;
        let snippet = context::verification_snippet(&issue.body, &self.agent_repo_root);
        let values: [(&str, &str); 10] = [
            ("{ISSUE_ID}", &self.issue_id),
            ("{ISSUE_TITLE}", &issue.title),
            ("{ISSUE_URL}", &issue.url),
            ("{ISSUE_AUTOMERGE}", automerge),
            ("{ISSUE_BASELINE_HEAD_SHA}", &opened.baseline),
            ("{REPO_SLUG}", &self.repo_slug),
            ("{ISSUE_BODY}", &issue.body),
            ("{ISSUE_RECURRING_CONTEXT}", recurring),
            ("{ISSUE_BLOCKER_CONTEXT}", blocker),
            ("{ISSUE_VERIFICATION_COMMAND_SNIPPET}", &snippet),
        ];
        let rendered = common::render(&template, &values);
        let resident = r
            .enabled
            .then(|| context::resident_context(r.task_count, r.reused));
        let prompt = context::with_addenda(&rendered, resident.as_deref());
        let path = self.run_dir.join("prompt.md");
        fsx::atomic_write(&path, prompt.as_bytes())?;
        Ok(path)
    }

    /// Runs `run-codex-safe.sh` / `run-codex-bypass.sh SESSION WORKTREE
    /// PROMPT` with the issue and resident variables (`ACP_*` and their
    /// `F_LOSNING_*` twins); relays its output; returns its exit code.
    pub(super) fn launch(
        &self,
        ctx: &mut Invocation<'_>,
        issue: &IssueData,
        automerge: &str,
        r: &Resident,
        worktree: &str,
        prompt: &Path,
    ) -> anyhow::Result<i32> {
        let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
        let path = |p: &Path| p.to_string_lossy().into_owned();
        let vars: Vec<(&str, String)> = vec![
            ("ISSUE_ID", self.issue_id.clone()),
            ("ISSUE_URL", issue.url.clone()),
            ("ISSUE_AUTOMERGE", automerge.to_string()),
            ("RESIDENT_WORKER_ENABLED", yes_no(r.enabled)),
            ("RESIDENT_WORKER_SCOPE", "lane".into()),
            ("RESIDENT_WORKER_KEY", r.key.clone()),
            (
                "RESIDENT_WORKER_DIR",
                if r.enabled {
                    path(&r.dir)
                } else {
                    String::new()
                },
            ),
            (
                "RESIDENT_WORKER_META_FILE",
                if r.enabled {
                    path(&r.meta)
                } else {
                    String::new()
                },
            ),
            ("RESIDENT_LANE_KIND", r.kind.clone()),
            ("RESIDENT_LANE_VALUE", r.value.clone()),
            ("RESIDENT_TASK_COUNT", r.task_count.to_string()),
            ("RESIDENT_WORKTREE_REUSED", yes_no(r.reused)),
            ("RESIDENT_OPENCLAW_AGENT_ID", r.oc_agent_id.clone()),
            ("RESIDENT_OPENCLAW_SESSION_ID", r.oc_session_id.clone()),
            ("RESIDENT_OPENCLAW_AGENT_DIR", r.oc_agent_dir.clone()),
            ("RESIDENT_OPENCLAW_STATE_DIR", r.oc_state_dir.clone()),
            ("RESIDENT_OPENCLAW_CONFIG_PATH", r.oc_config_path.clone()),
        ];
        let mut env = self.env.clone();
        for (k, v) in &vars {
            env.set(format!("ACP_{k}"), v);
            env.set(format!("F_LOSNING_{k}"), v);
        }
        let runner = if self.mode == "bypass" {
            "run-codex-bypass.sh"
        } else {
            "run-codex-safe.sh"
        };
        let mut cmd = self.layout.sibling_command(runner, Run::Direct, &env);
        cmd.arg(&self.session).arg(worktree).arg(prompt);
        let out = dispatch::output(&mut cmd)?;
        ctx.stdout.write_all(&out.stdout)?;
        ctx.stderr.write_all(&out.stderr)?;
        let code = acp_core::process::exit_code(out.status);
        Ok(if !out.status.success() && code == 0 {
            1
        } else {
            code
        })
    }
}
