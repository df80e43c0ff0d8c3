//! `start-pr-review-worker.sh`, `start-pr-fix-worker.sh` and
//! `start-pr-merge-repair-worker.sh` (spec 3.6-3.8): check that the PR is
//! the agent's, gather its context (GitHub, the lane oracle `pr-risk.sh`,
//! the repository's guidance files, for fixes the review findings, the
//! last blockers and the conflicts), open its worktree with
//! `new-pr-worktree.sh`, render the prompt into `RUNS/<session>/prompt.md`
//! and start `run-codex-safe.sh` / `run-codex-bypass.sh`.
//!
//! The sibling tools run by their path in `<workspace>/bin` (a stub there
//! is what runs); GitHub is read through [`acp_github::Gh`] only.

pub mod facts;
pub mod fix;
pub mod glob;
pub mod tool;

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use acp_core::config::{self, FlowConfig};
use acp_core::{Env, fail, fsx};
use acp_github::{Gh, PrDetail};

use super::common::{self, Layout, Rollback, Run, chomp, one_line};
use facts::Risk;

/// Which worker a start prepares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Review,
    Fix,
    MergeRepair,
}

impl Kind {
    /// The fix starter's third argument (`fix`, `merge-repair`).
    pub fn from_word(word: &str) -> Option<Self> {
        match word {
            "fix" => Some(Kind::Fix),
            "merge-repair" => Some(Kind::MergeRepair),
            _ => None,
        }
    }

    /// The word printed as `WORKER_KIND=` (fix starter only).
    pub fn word(self) -> &'static str {
        match self {
            Kind::Review => "review",
            Kind::Fix => "fix",
            Kind::MergeRepair => "merge-repair",
        }
    }

    /// The prompt template's file name.
    pub fn template_name(self) -> &'static str {
        match self {
            Kind::Review => "pr-review-template.md",
            Kind::Fix => "pr-fix-template.md",
            Kind::MergeRepair => "pr-merge-repair-template.md",
        }
    }
}

/// One start, as the tool resolved it from its arguments.
#[derive(Debug, Clone)]
pub struct Request {
    pub kind: Kind,
    pub pr_number: u64,
    /// `safe` or `bypass` (anything else is refused after the rollback is
    /// armed, as the original's late check did).
    pub mode: String,
    /// The environment with the profile aliases exported.
    pub env: Env,
    pub cwd: PathBuf,
    /// The path the original script would have had (its shim), if known.
    pub script_path: Option<PathBuf>,
    /// The running binary (runs a sibling tool that has no file).
    pub exe: PathBuf,
}

/// The profile values a start uses.
#[derive(Debug, Clone)]
struct Settings {
    session: String,
    run_dir: PathBuf,
    history_root: PathBuf,
    repo_slug: String,
    managed_globs: String,
    repo_root: PathBuf,
    dependency_source_root: PathBuf,
    template: PathBuf,
    playwright: String,
}

impl Settings {
    fn resolve(env: &Env, cfg: &FlowConfig, req: &Request, layout: &Layout) -> Self {
        let session = format!("{}{}", config::pr_session_prefix(env, cfg), req.pr_number);
        let adapter = config::adapter_id(env, cfg);
        let repo_root = config::repo_root(env, cfg);
        Self {
            run_dir: config::runs_root(env, cfg).join(&session),
            session,
            history_root: config::history_root(env, cfg),
            repo_slug: config::repo_slug(env, cfg),
            managed_globs: config::env_or_config_with(
                env,
                cfg,
                &[
                    "ACP_MANAGED_PR_BRANCH_GLOBS",
                    "F_LOSNING_MANAGED_PR_BRANCH_GLOBS",
                ],
                "session_naming.managed_pr_branch_globs",
                || format!("agent/{adapter}/* codex/* openclaw/*"),
            ),
            dependency_source_root: env
                .first_non_empty(&[
                    "ACP_DEPENDENCY_SOURCE_ROOT",
                    "F_LOSNING_DEPENDENCY_SOURCE_ROOT",
                ])
                .map(PathBuf::from)
                .unwrap_or_else(|| repo_root.clone()),
            repo_root,
            template: common::resolve_template(req.kind.template_name(), layout, &cfg.path, env),
            playwright: config::env_or_config(
                env,
                cfg,
                &[
                    "ACP_WEB_PLAYWRIGHT_COMMAND",
                    "F_LOSNING_WEB_PLAYWRIGHT_COMMAND",
                ],
                "execution.verification.web_playwright_command",
                "pnpm exec playwright test",
            ),
        }
    }
}

/// What a successful start prints, in order (`KEY`, value).
pub type Lines = Vec<(&'static str, String)>;

/// Runs one start. The runner's own output is written to `out` / `err` as
/// it would have appeared; the returned lines are the starter's summary.
/// Failures carry the original's exit codes ([`acp_core::ExitError`]).
pub fn start(req: &Request, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<Lines> {
    let mut env = req.env.clone();
    let cfg = FlowConfig::load(&env)?;
    config::export_execution_env(&mut env, &cfg)?;
    let layout = layout(&env, req.script_path.as_deref(), &req.exe, &req.cwd)?;
    let s = Settings::resolve(&env, &cfg, req, &layout);
    if common::session_exists(&env, &s.session) {
        return Err(fail(
            1,
            format!("worker session already exists: {}", s.session),
        ));
    }
    let number = req.pr_number.to_string();
    let labels = labels_rollback(&layout, &env, &s.repo_slug, &number);
    let mut rollback = Rollback::arm(&s.run_dir, labels);
    let runner = match req.mode.as_str() {
        "safe" => "run-codex-safe.sh",
        "bypass" => "run-codex-bypass.sh",
        other => return Err(fail(1, format!("unknown mode: {}", one_line(other)))),
    };
    let mut cleanup = || {
        let args = ["".as_ref(), s.session.as_ref()];
        layout
            .sibling_output("cleanup-worktree.sh", Run::Direct, &env, &args)
            .is_ok_and(|o| o.status.success())
    };
    common::reap_stale_run_dir(
        &s.run_dir,
        &s.history_root,
        &s.session,
        &env,
        &mut [&mut cleanup],
    )?;
    let gh = Gh::new(env.clone())?;
    let pr = gh
        .pr_detail_shared(&s.repo_slug, req.pr_number)
        .map_err(|e| {
            fail(
                1,
                format!(
                    "gh pr view failed for PR {number} (repo: {}): {e}",
                    s.repo_slug
                ),
            )
        })?;
    if !facts::is_agent_pr(&s.managed_globs, &pr) {
        return Err(fail(
            1,
            format!(
                "PR branch is not an agent branch: {}",
                one_line(&pr.head_ref_name)
            ),
        ));
    }
    let risk = run_risk(&layout, &env, &number, err)?;
    let mut values = base_values(&s, &pr, &risk, &number);
    if req.kind != Kind::Review {
        values.extend(fix_context(&gh, &s, &pr, &risk, req.pr_number));
    }
    let worktree = open_worktree(&layout, &env, &number, &pr.head_ref_name, err)?;
    match req.kind {
        Kind::Review => values.extend(review_values(&risk)),
        Kind::Fix | Kind::MergeRepair => {
            values.extend(worktree_values(req.kind, &env, &worktree, &pr, &s, err)?);
        }
    }
    let prompt = write_prompt(&s, &values)?;
    let launch = Launch {
        runner,
        number: &number,
        session: &s.session,
        worktree: &worktree,
        prompt: &prompt,
    };
    let code = run_runner(&layout, &env, &launch, &pr, &risk, out, err)?;
    if code != 0 {
        return Err(fail(code, ""));
    }
    rollback.disarm();
    Ok(summary(
        req.kind, &number, &pr, &risk, &s.session, &worktree, &prompt,
    ))
}

/// Where the starter and its siblings are: `<workspace>/bin`, the workspace
/// being the logical parent of the script's directory
/// (`$(cd "$(dirname "$0")/.." && pwd)`), else the package's `tools`.
pub fn layout(
    env: &Env,
    script_path: Option<&Path>,
    exe: &Path,
    cwd: &Path,
) -> anyhow::Result<Layout> {
    let skill = config::skill_root(env, script_path);
    let workspace = match (script_path.and_then(Path::parent), &skill) {
        (Some(d), _) => fsx::normalize_lexically(&d.join("..")),
        (None, Ok(skill)) => skill.join("tools"),
        (None, Err(e)) => return Err(fail(1, format!("{e:#}"))),
    };
    // Without a package root (the original gave up here), the workspace
    // stands in for it: its templates are the ones to use.
    let skill_root = skill.unwrap_or_else(|_| fsx::parent_dir(&workspace));
    Ok(Layout {
        script_dir: workspace.join("bin"),
        workspace_dir: workspace,
        flow_tools_dir: skill_root.join("tools/bin"),
        skill_root,
        exe: exe.to_path_buf(),
        cwd: cwd.to_path_buf(),
    })
}

/// The rollback's label call: `bash <workspace>/bin/agent-github-update-labels
/// --repo-slug SLUG --number N --remove agent-running`, when that file is
/// executable.
fn labels_rollback(layout: &Layout, env: &Env, repo_slug: &str, number: &str) -> Option<Command> {
    const LABELS: &str = "agent-github-update-labels";
    let path = layout.sibling(LABELS);
    fsx::is_executable(&path).then(|| {
        let mut cmd = layout.command(&path, LABELS, Run::Bash, env);
        cmd.args(["--repo-slug", repo_slug, "--number", number]);
        cmd.args(["--remove", "agent-running"]);
        cmd
    })
}

/// Runs `pr-risk.sh N` and reads its JSON; its stderr is passed on, its
/// failure ends the start with its status.
fn run_risk(layout: &Layout, env: &Env, number: &str, err: &mut dyn Write) -> anyhow::Result<Risk> {
    let o = layout.sibling_output("pr-risk.sh", Run::Direct, env, &[number.as_ref()])?;
    common::relay(&o, None, err)?;
    let code = acp_core::process::exit_code(o.status);
    if code != 0 {
        return Err(fail(code, ""));
    }
    Risk::parse(&String::from_utf8_lossy(&o.stdout)).map_err(|e| fail(1, format!("{e:#}")))
}

/// Runs `new-pr-worktree.sh N HEAD_REF` and returns its `WORKTREE=` path.
fn open_worktree(
    layout: &Layout,
    env: &Env,
    number: &str,
    head_ref: &str,
    err: &mut dyn Write,
) -> anyhow::Result<PathBuf> {
    let args = [number.as_ref(), OsStr::new(head_ref)];
    let o = layout.sibling_output("new-pr-worktree.sh", Run::Direct, env, &args)?;
    common::relay(&o, None, err)?;
    let code = acp_core::process::exit_code(o.status);
    if code != 0 {
        return Err(fail(code, ""));
    }
    let text = String::from_utf8_lossy(&o.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("WORKTREE="))
        .filter(|w| !w.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| fail(1, "new-pr-worktree.sh printed no WORKTREE= line"))
}

type Values = Vec<(&'static str, String)>;

/// The tokens every PR template shares.
fn base_values(s: &Settings, pr: &PrDetail, risk: &Risk, number: &str) -> Values {
    let merge_state = if pr.merge_state_status.is_empty() {
        "UNKNOWN".to_string()
    } else {
        pr.merge_state_status.clone()
    };
    vec![
        ("PR_NUMBER", number.to_string()),
        ("PR_TITLE", pr.title.clone()),
        ("PR_URL", pr.url.clone()),
        ("PR_HEAD_REF", pr.head_ref_name.clone()),
        ("PR_BASE_REF", pr.base_ref_name.clone()),
        ("PR_BODY", pr.body.clone()),
        ("REPO_SLUG", s.repo_slug.clone()),
        ("PR_RISK", risk.risk.clone()),
        ("PR_RISK_REASON", risk.risk_reason.clone()),
        ("PR_LINKED_ISSUE_ID", risk.linked_issue_id.clone()),
        ("PR_MERGE_STATE_STATUS", merge_state),
        (
            "PR_CHECKS_TEXT",
            facts::checks_text(&pr.status_check_rollup),
        ),
        ("PR_FILES_TEXT", risk.files_text.clone()),
        (
            "PR_CONTEXT_READS_TEXT",
            facts::context_reads_text(&s.repo_root),
        ),
        ("REPO_ROOT", s.repo_root.display().to_string()),
        (
            "DEPENDENCY_SOURCE_ROOT",
            s.dependency_source_root.display().to_string(),
        ),
    ]
}

/// The review template's own tokens.
fn review_values(risk: &Risk) -> Values {
    vec![
        ("PR_AGENT_LANE", risk.agent_lane.clone()),
        ("PR_DOUBLE_CHECK_STAGE", risk.double_check_stage.clone()),
        (
            "PR_REVIEW_STAGE_TEXT",
            facts::review_stage_text(&risk.agent_lane).to_string(),
        ),
        ("PR_CHECKS_BYPASSED", risk.checks_bypassed.clone()),
    ]
}

/// The fix and merge-repair tokens read before the worktree exists: the
/// REST view (head commit, mergeable), the review bot's findings on the
/// head, the last final-review blocker comment (from the PR view's
/// comments: the same list `issues/N/comments` holds), the newest
/// archived host blocker. The REST reads are best effort: a failure
/// leaves `UNKNOWN` / `- none`.
fn fix_context(gh: &Gh, s: &Settings, pr: &PrDetail, risk: &Risk, number: u64) -> Values {
    let head = gh.pull_head(&s.repo_slug, number).ok();
    let head_sha = head
        .as_ref()
        .map(|h| h.sha.clone())
        .filter(|sha| !sha.is_empty())
        .unwrap_or_else(|| pr.head_ref_oid.clone());
    let mergeable = fix::mergeable_status(head.and_then(|h| h.mergeable));
    let findings = gh
        .pr_inline_comments(&s.repo_slug, number)
        .map(|c| fix::review_findings_text(&c, &head_sha))
        .unwrap_or_else(|_| "- none".into());
    vec![
        ("PR_MERGEABLE_STATUS", mergeable.to_string()),
        ("PR_REVIEW_FINDINGS_TEXT", findings),
        (
            "PR_BLOCKER_SUMMARY_TEXT",
            fix::blocker_summary_text(&pr.comments),
        ),
        (
            "PR_LOCAL_HOST_BLOCKER_SUMMARY_TEXT",
            fix::latest_history_artifact(&s.history_root, &s.session, "host-blocker.md"),
        ),
        ("PR_CHECK_FAILURES_TEXT", risk.check_failures_text.clone()),
        ("PR_MISSING_REASONS_TEXT", risk.missing_reasons_text.clone()),
    ]
}

/// The fix and merge-repair tokens that need the worktree: conflicts (or
/// the host's merge of the base) and the verification lists.
fn worktree_values(
    kind: Kind,
    env: &Env,
    wt: &Path,
    pr: &PrDetail,
    s: &Settings,
    err: &mut dyn Write,
) -> anyhow::Result<Values> {
    let base = &pr.base_ref_name;
    let mut v: Values = Vec::new();
    if kind == Kind::MergeRepair {
        let merge = fix::host_merge(env, wt, base).map_err(|text| {
            let _ = writeln!(err, "{text}");
            fail(1, "")
        })?;
        v.push(("PR_HOST_MERGE_STATUS", merge.status.to_string()));
        v.push(("PR_HOST_MERGE_SUMMARY_TEXT", merge.summary));
        v.push(("PR_CONFLICT_PATHS_TEXT", merge.conflict_paths));
    } else {
        v.push(("PR_HOST_MERGE_STATUS", "not-applicable".into()));
        v.push(("PR_HOST_MERGE_SUMMARY_TEXT", "- not-applicable".into()));
        v.push((
            "PR_CONFLICT_PATHS_TEXT",
            fix::changed_in_both_text(env, wt, base),
        ));
    }
    let checks = fix::verification(env, wt, base, &s.playwright);
    v.push(("PR_REQUIRED_TARGETED_VERIFICATION_TEXT", checks.required));
    v.push((
        "PR_PREAPPROVED_VERIFICATION_FALLBACKS_TEXT",
        checks.fallbacks,
    ));
    Ok(v)
}

/// Renders the template into `RUNS/<session>/prompt.md`.
fn write_prompt(s: &Settings, values: &Values) -> anyhow::Result<PathBuf> {
    let template = fsx::read_to_string_lossy(&s.template)?;
    let tokens: Vec<String> = values.iter().map(|(k, _)| format!("{{{k}}}")).collect();
    let pairs: Vec<(&str, &str)> = tokens
        .iter()
        .zip(values)
        .map(|(t, (_, v))| (t.as_str(), v.as_str()))
        .collect();
    fsx::create_dir_all(&s.run_dir)?;
    let prompt = s.run_dir.join("prompt.md");
    fsx::atomic_write(&prompt, common::render(&template, &pairs).as_bytes())?;
    Ok(prompt)
}

/// What the runner is started with.
struct Launch<'a> {
    runner: &'a str,
    number: &'a str,
    session: &'a str,
    worktree: &'a Path,
    prompt: &'a Path,
}

/// Starts the runner with the PR's identity in its environment (both
/// variable families, so a stale `ACP_*` value of the caller cannot win).
fn run_runner(
    layout: &Layout,
    env: &Env,
    l: &Launch<'_>,
    pr: &PrDetail,
    risk: &Risk,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<i32> {
    let mut env = env.clone();
    for (suffix, value) in [
        ("PR_NUMBER", l.number),
        ("PR_URL", pr.url.as_str()),
        ("PR_HEAD_REF", pr.head_ref_name.as_str()),
        ("ISSUE_ID", risk.linked_issue_id.as_str()),
    ] {
        env.set(format!("F_LOSNING_{suffix}"), value);
        env.set(format!("ACP_{suffix}"), value);
    }
    let mut cmd = layout.sibling_command(l.runner, Run::Direct, &env);
    cmd.arg(l.session).arg(l.worktree).arg(l.prompt);
    let o = acp_core::dispatch::output(&mut cmd)?;
    common::relay(&o, Some(out), err)?;
    Ok(acp_core::process::exit_code(o.status))
}

/// The starter's `KEY=value` lines (values from GitHub on one line).
fn summary(
    kind: Kind,
    number: &str,
    pr: &PrDetail,
    risk: &Risk,
    session: &str,
    worktree: &Path,
    prompt: &Path,
) -> Lines {
    let mut lines: Lines = vec![
        ("PR_NUMBER", number.to_string()),
        ("TITLE", one_line(chomp(&pr.title))),
        ("URL", one_line(&pr.url)),
        ("HEAD_REF", one_line(&pr.head_ref_name)),
        ("BASE_REF", one_line(&pr.base_ref_name)),
        ("LINKED_ISSUE_ID", one_line(&risk.linked_issue_id)),
        ("RISK", one_line(&risk.risk)),
        ("RISK_REASON", one_line(&risk.risk_reason)),
    ];
    if kind != Kind::Review {
        lines.push(("WORKER_KIND", kind.word().to_string()));
    }
    lines.push(("SESSION", session.to_string()));
    lines.push(("WORKTREE", one_line(worktree.display().to_string())));
    lines.push(("PROMPT", one_line(prompt.display().to_string())));
    lines
}
