//! The shipped issue-reconcile policy, applied in-process when the hook
//! file is the unchanged `hooks/issue-reconcile-hooks.sh`, and the hidden
//! `__hook-*` words that the bash hook file uses for what it cannot do
//! without flow-config-lib.sh (profile values, issue facts, closing).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use acp_core::config::{self, FlowConfig};
use acp_core::{Env, Invocation, fsx, git};
use acp_github::{Gh, Item, LabelDef};
use acp_session::schedule::has_cadence;
use regex::RegexBuilder;

use crate::flow::Session;
use crate::steps::tool_command;

/// The profile values the policy works with.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub profile_id: String,
    pub repo_slug: String,
    pub agent_root: String,
    pub agent_repo_root: String,
    pub state_root: String,
    pub default_branch: String,
    pub runs_root: String,
    /// The package root the hook file sits in (`<skill>/hooks/<file>`).
    pub skill_dir: PathBuf,
}

impl Policy {
    /// Resolves the profile of `env` for the hook file at `hook_file`.
    pub fn from_env(env: &Env, hook_file: &Path) -> anyhow::Result<Policy> {
        let mut env = env.clone();
        config::export_env_aliases(&mut env);
        let cfg = FlowConfig::load(&env)?;
        let s = |p: PathBuf| p.to_string_lossy().into_owned();
        let skill_dir = hook_file
            .parent()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        Ok(Policy {
            profile_id: config::adapter_id(&env, &cfg),
            repo_slug: config::repo_slug(&env, &cfg),
            agent_root: s(config::agent_root(&env, &cfg)),
            agent_repo_root: s(config::agent_repo_root(&env, &cfg)),
            state_root: s(config::state_root(&env, &cfg)),
            default_branch: config::env_or_config(
                &env,
                &cfg,
                &["ACP_DEFAULT_BRANCH", "F_LOSNING_DEFAULT_BRANCH"],
                "repo.default_branch",
                "main",
            ),
            runs_root: s(config::runs_root(&env, &cfg)),
            skill_dir,
        })
    }

    /// [`Policy::from_env`] for a reconcile of `repo_slug`.
    pub(crate) fn resolve(
        ctx: &Invocation<'_>,
        hook_file: &Path,
        repo_slug: &str,
    ) -> anyhow::Result<Policy> {
        let mut p = Policy::from_env(&ctx.env, hook_file)?;
        p.repo_slug = repo_slug.to_string();
        Ok(p)
    }

    fn tools_dir(&self) -> PathBuf {
        self.skill_dir.join("tools/bin")
    }
}

/// Which scheduled-status label family an issue's title and body belong to.
pub fn scheduled_status_kind(title: &str, body: &str) -> &'static str {
    let text = format!("{title}\n{body}").to_lowercase();
    let has = |p: &str| {
        RegexBuilder::new(p)
            .build()
            .is_ok_and(|r| r.is_match(&text))
    };
    if has(r"\be2e\b|\bsmoke\b|playwright|detox|maestro|automation test|smoke test") {
        "smoke"
    } else if has(
        r"\btypecheck\b|\blint\b|\bunit test\b|\bunit-test\b|\bjest\b|\bvitest\b|\btest suite\b|\bbuild\b|\bci\b",
    ) {
        "checks"
    } else if has(r"\bhealth\b|/health\b|prod health|system health") {
        "health"
    } else {
        ""
    }
}

const STATUS_LABELS: [&str; 6] = [
    "health-ok",
    "health-not-ok",
    "checks-ok",
    "checks-not-ok",
    "smoke-ok",
    "smoke-not-ok",
];

/// The two label definitions of a status family.
fn status_label_defs(kind: &str) -> Vec<LabelDef> {
    let what = match kind {
        "health" => "health check",
        "checks" => "verification checks run",
        _ => "smoke or E2E check",
    };
    vec![
        LabelDef {
            name: format!("{kind}-ok"),
            color: "0E8A16".into(),
            description: format!("Latest scheduled {what} passed"),
        },
        LabelDef {
            name: format!("{kind}-not-ok"),
            color: "B60205".into(),
            description: format!("Latest scheduled {what} reported an alert"),
        },
    ]
}

impl Session<'_, '_> {
    fn policy(&self) -> Policy {
        match &self.hooks {
            crate::hooks::Hooks::Policy(p) => (**p).clone(),
            _ => Policy::default(),
        }
    }

    /// Whether the follow-up labelling can find anything: it looks for
    /// `#N` (N not this issue) in comments made since the session started.
    /// When the issue's view (read already, with its comments) has no such
    /// comment by anyone, the pass would find nothing and is not run; without
    /// a view holding the comments it runs.
    fn follow_ups_possible(&self) -> bool {
        let (Some(gh), Some(n)) = (self.effects.gh(), self.issue_number()) else {
            return true;
        };
        let Some(comments) = gh.snapshot_comments(&self.args.repo_slug, n) else {
            return true;
        };
        comments
            .iter()
            .filter(|c| c.created_at.as_str() >= self.started_at.as_str())
            .any(|c| mentions_other_issue(&c.body, n))
    }

    fn issue_number(&self) -> Option<u64> {
        self.issue_id.parse().ok()
    }

    /// Title and body of the issue ("" when they cannot be read).
    fn issue_text(&self) -> (String, String) {
        let (Some(gh), Some(n)) = (self.effects.gh(), self.issue_number()) else {
            return (String::new(), String::new());
        };
        gh.issue(&self.args.repo_slug, n)
            .map(|i| (i.title, i.body))
            .unwrap_or_default()
    }

    fn scheduled(&self) -> bool {
        has_cadence(&self.issue_text().1)
    }

    fn issue_labels(&mut self, add: &[&str], remove: &[&str]) -> anyhow::Result<bool> {
        let Some(n) = self.issue_number() else {
            return Ok(true);
        };
        let repo = self.args.repo_slug.clone();
        self.effects.labels(&repo, Item::Issue, n, add, remove)?;
        Ok(true)
    }

    fn run_quiet(&mut self, mut cmd: std::process::Command) {
        let _ = acp_core::dispatch::output(&mut cmd);
    }

    fn retry_state(&mut self, p: &Policy, args: &[&str]) {
        let mut cmd = tool_command(self.ctx, &p.tools_dir(), "retry-state.sh");
        cmd.args(["issue", &self.issue_id]).args(args);
        self.run_quiet(cmd);
    }

    fn clear_blocked_recovery(&self, p: &Policy) -> anyhow::Result<()> {
        let file = Path::new(&p.state_root)
            .join("blocked-recovery-issues")
            .join(format!("{}.env", self.issue_id));
        fsx::remove_file_if_exists(&file)
    }

    fn kick_scheduler(&mut self, p: &Policy, delay: &str) {
        let mut cmd = tool_command(self.ctx, &p.tools_dir(), "kick-scheduler.sh");
        cmd.arg(delay)
            .env("ACP_PROJECT_ID", &p.profile_id)
            .env("AGENT_PROJECT_ID", &p.profile_id);
        self.run_quiet(cmd);
    }

    /// Appends (or replaces) `BASELINE_HEAD_SHA=` in the issue's retry
    /// record for reasons that only a new baseline can clear.
    fn record_baseline_gate(&mut self, p: &Policy, reason: &str) -> anyhow::Result<()> {
        if !matches!(
            reason,
            "verification-guard-blocked" | "no-publishable-commits" | "no-publishable-delta"
        ) {
            return Ok(());
        }
        let file = Path::new(&p.state_root)
            .join("retries/issues")
            .join(format!("{}.env", self.issue_id));
        let repo = Path::new(&p.agent_repo_root);
        if !file.is_file() || !repo.is_dir() {
            return Ok(());
        }
        let env = &self.ctx.env;
        let origin = format!("origin/{}", p.default_branch);
        let sha = git::capture(env, repo, &["rev-parse", "--verify", "--quiet", &origin])
            .or_else(|| {
                git::capture(
                    env,
                    repo,
                    &["rev-parse", "--verify", "--quiet", &p.default_branch],
                )
            })
            .unwrap_or_default();
        if sha.is_empty() {
            return Ok(());
        }
        acp_core::envfile::set(
            &file,
            "BASELINE_HEAD_SHA",
            std::ffi::OsStr::new(&sha),
            self.locale,
        )
    }

    /// The shipped policy's hook `name`.
    pub(crate) fn policy_hook(&mut self, name: &str, args: &[&str]) -> anyhow::Result<bool> {
        let p = self.policy();
        match name {
            "issue_before_success" | "issue_before_blocked" => {
                let script = p.skill_dir.join("bin/label-follow-up-issues.sh");
                if script.is_file()
                    && !self.scheduled()
                    && !self.follow_ups_labelled
                    && self.follow_ups_possible()
                {
                    self.follow_ups_labelled = true;
                    let mut cmd = tool_command(
                        self.ctx,
                        &p.skill_dir.join("bin"),
                        "label-follow-up-issues.sh",
                    );
                    cmd.arg(&self.args.session)
                        .env("ACP_AGENT_ROOT", &p.agent_root);
                    cmd.env("ACP_RUNS_ROOT", &p.runs_root)
                        .env("F_LOSNING_RUNS_ROOT", &p.runs_root);
                    self.run_quiet(cmd);
                }
                Ok(true)
            }
            "issue_schedule_retry" => {
                let reason = args.first().copied().unwrap_or("");
                if !self.scheduled() {
                    self.retry_state(&p, &["schedule", reason]);
                    self.record_baseline_gate(&p, reason)?;
                }
                Ok(true)
            }
            "issue_mark_ready" => {
                self.clear_blocked_recovery(&p)?;
                self.issue_labels(&[], &["agent-running", "agent-blocked"])
            }
            "issue_clear_retry" => {
                self.clear_blocked_recovery(&p)?;
                self.retry_state(&p, &["clear"]);
                Ok(true)
            }
            "issue_remove_running" => {
                self.issue_labels(&[], &["agent-ready", "agent-running", "agent-blocked"])
            }
            "issue_mark_blocked" => self.issue_labels(&["agent-blocked"], &["agent-running"]),
            "issue_should_close_as_superseded" => Ok(self
                .issue_comment_text()
                .lines()
                .next()
                .is_some_and(|l| l.starts_with("Superseded by focused follow-up issues:"))),
            "issue_close_as_superseded" => {
                self.issue_labels(&[], &["agent-running", "agent-blocked"])?;
                let closed = match (self.effects.gh(), self.issue_number()) {
                    (Some(gh), Some(n)) => gh.close_issue(&self.args.repo_slug, n, None).is_ok(),
                    _ => false,
                };
                Ok(closed)
            }
            "issue_after_pr_created" => {
                let pr = args.first().copied().unwrap_or("");
                self.mark_automerge(&p, pr)?;
                self.kick_scheduler(&p, "5");
                Ok(true)
            }
            "issue_after_reconciled" => {
                self.kick_scheduler(&p, "2");
                Ok(true)
            }
            _ => Ok(true),
        }
    }

    /// `bin/pr-risk.sh PR`; an eligible PR gets `agent-automerge`.
    fn mark_automerge(&mut self, p: &Policy, pr: &str) -> anyhow::Result<()> {
        let Ok(n) = pr.parse::<u64>() else {
            return Ok(());
        };
        let mut cmd = tool_command(self.ctx, &p.skill_dir.join("bin"), "pr-risk.sh");
        cmd.arg(pr);
        let Ok(out) = acp_core::dispatch::output(&mut cmd) else {
            return Ok(());
        };
        let risk: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if risk
            .get("eligibleForAutoMerge")
            .and_then(serde_json::Value::as_bool)
            == Some(true)
        {
            let repo = self.args.repo_slug.clone();
            // The label may not exist yet in this repository: a label write
            // naming an unknown label fails, so its definition comes first.
            if let Some(gh) = self.effects.gh() {
                let _ = gh.ensure_labels(
                    &repo,
                    &[acp_session::risk::automerge_label_def()],
                    Path::new(&p.state_root),
                );
            }
            self.effects.labels(
                &repo,
                Item::Pr,
                n,
                &[acp_session::risk::AUTOMERGE_LABEL],
                &[],
            )?;
        }
        Ok(())
    }

    /// The part of `issue_after_reconciled` that writes to GitHub, done
    /// before the cleanup archives the run (so its outbox is still there):
    /// a scheduled report sets its family's `-ok` or `-not-ok` label.
    pub(crate) fn policy_before_cleanup(&mut self) -> anyhow::Result<()> {
        if !matches!(self.hooks, crate::hooks::Hooks::Policy(_)) {
            return Ok(());
        }
        if self.status != "SUCCEEDED" || self.summary.outcome != "reported" {
            return Ok(());
        }
        let suffix = match self.summary.action.as_str() {
            "host-comment-scheduled-report" => "ok",
            "host-comment-scheduled-alert" => "not-ok",
            _ => return Ok(()),
        };
        let (title, body) = self.issue_text();
        let kind = scheduled_status_kind(&title, &body);
        if !has_cadence(&body) || kind.is_empty() {
            return Ok(());
        }
        let p = self.policy();
        if let Some(gh) = self.effects.gh() {
            let _ = gh.ensure_labels(
                &self.args.repo_slug,
                &status_label_defs(kind),
                Path::new(&p.state_root),
            );
        }
        let target = format!("{kind}-{suffix}");
        let remove: Vec<&str> = STATUS_LABELS
            .iter()
            .copied()
            .filter(|l| *l != target)
            .collect();
        self.issue_labels(&[&target], &remove)?;
        Ok(())
    }
}

/// `--key value` pairs of a hidden word.
fn flag(args: &[OsString], key: &str) -> String {
    args.iter()
        .position(|a| a == key)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The hidden words of the bash hook file:
/// `__hook-env --hook-file F` prints the profile values as `KEY=value`;
/// `__hook-issue-info --repo-slug R --issue N` prints `CADENCE=yes|no` and
/// `STATUS_KIND=`; `__hook-close-issue --repo-slug R --issue N` closes it;
/// `__hook-status-labels --repo-slug R --kind K --state-root S` ensures a
/// status label family exists.
pub(crate) fn hook_word(
    ctx: &mut Invocation<'_>,
    word: &str,
    args: &[OsString],
) -> anyhow::Result<i32> {
    let repo = flag(args, "--repo-slug");
    let issue: u64 = flag(args, "--issue").parse().unwrap_or(0);
    match word {
        "__hook-env" => {
            let p = Policy::from_env(&ctx.env, Path::new(&flag(args, "--hook-file")))?;
            let mut env = ctx.env.clone();
            config::export_env_aliases(&mut env);
            let config_yaml = config::config_path(&env).to_string_lossy().into_owned();
            for (k, v) in [
                ("CONFIG_YAML", &config_yaml),
                ("PROFILE_ID", &p.profile_id),
                ("REPO_SLUG", &p.repo_slug),
                ("AGENT_ROOT", &p.agent_root),
                ("AGENT_REPO_ROOT", &p.agent_repo_root),
                ("STATE_ROOT", &p.state_root),
                ("DEFAULT_BRANCH", &p.default_branch),
                ("RUNS_ROOT", &p.runs_root),
            ] {
                if !v.contains('\n') {
                    writeln!(ctx.stdout, "{k}={v}")?;
                }
            }
            Ok(0)
        }
        "__hook-issue-info" => {
            let i = Gh::new(ctx.env.clone())
                .ok()
                .and_then(|gh| gh.issue(&repo, issue).ok())
                .unwrap_or_default();
            let cadence = if has_cadence(&i.body) { "yes" } else { "no" };
            writeln!(ctx.stdout, "CADENCE={cadence}")?;
            writeln!(
                ctx.stdout,
                "STATUS_KIND={}",
                scheduled_status_kind(&i.title, &i.body)
            )?;
            Ok(0)
        }
        "__hook-close-issue" => {
            let gh = Gh::new(ctx.env.clone())?;
            gh.close_issue(&repo, issue, None)?;
            Ok(0)
        }
        "__hook-status-labels" => {
            let gh = Gh::new(ctx.env.clone())?;
            let kind = flag(args, "--kind");
            gh.ensure_labels(
                &repo,
                &status_label_defs(&kind),
                Path::new(&flag(args, "--state-root")),
            )?;
            Ok(0)
        }
        _ => Err(acp_core::fail(64, format!("unknown hook word {word}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cadence_and_status_family_come_from_the_issue_text() {
        assert_eq!(scheduled_status_kind("Nightly smoke", ""), "smoke");
        assert_eq!(scheduled_status_kind("", "run the lint"), "checks");
        assert_eq!(scheduled_status_kind("Prod health", ""), "health");
        assert_eq!(scheduled_status_kind("Docs", "words"), "");
    }
}

/// Whether `body` holds `#N` for a number N other than `issue`.
fn mentions_other_issue(body: &str, issue: u64) -> bool {
    let bytes = body.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| {
        if b != b'#' {
            return false;
        }
        let digits: String = body[i + 1..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse::<u64>().is_ok_and(|d| d != issue)
    })
}

#[cfg(test)]
mod follow_up_tests {
    #[test]
    fn mentions_other_issue_sees_hash_numbers_but_the_issue_itself() {
        assert!(super::mentions_other_issue("see #12 please", 5));
        assert!(!super::mentions_other_issue("see #5", 5));
        assert!(!super::mentions_other_issue("no refs # here", 5));
        assert!(super::mentions_other_issue("#5 and #6", 5));
    }
}
