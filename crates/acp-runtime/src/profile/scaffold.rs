//! `scaffold-profile.sh`: create `<registry>/<id>/{control-plane.yaml,README.md,templates/}`.
//!
//! Every string value is written as a YAML double-quoted scalar with `\`
//! and `"` escaped; values with control characters are refused, so nothing
//! a flag carries can add keys or lines to the file. New profiles say
//! `queue.require_ready_label: true` (the scheduler then only takes issues
//! labelled ready; a profile without the key keeps 0.2.0's pickup).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use acp_core::config::backends::DEFAULTS;
use acp_core::{Env, fail, fsx};

use super::{CLAUDE_EFFORTS, CODING_WORKERS, is_repo_slug, is_scaffold_profile_id, physical};

/// What to scaffold: the flags of `scaffold-profile.sh`, as given (empty =
/// not given; [`Request::default`] holds the original's defaults for the
/// backend settings).
#[derive(Debug, Clone)]
pub struct Request {
    pub profile_id: String,
    pub repo_slug: String,
    pub profile_home: String,
    pub repo_root: String,
    pub agent_repo_root: String,
    pub agent_root: String,
    pub worktree_root: String,
    pub retained_repo_root: String,
    pub vscode_workspace_file: String,
    pub coding_worker: String,
    pub claude_model: String,
    pub claude_permission_mode: String,
    pub claude_effort: String,
    pub claude_timeout_seconds: String,
    pub claude_max_attempts: String,
    pub claude_retry_backoff_seconds: String,
    pub openclaw_model: String,
    pub openclaw_thinking: String,
    pub openclaw_timeout_seconds: String,
    pub force: bool,
}

impl Default for Request {
    fn default() -> Self {
        let c = DEFAULTS.claude;
        let o = DEFAULTS.openclaw;
        Self {
            profile_id: String::new(),
            repo_slug: String::new(),
            profile_home: String::new(),
            repo_root: String::new(),
            agent_repo_root: String::new(),
            agent_root: String::new(),
            worktree_root: String::new(),
            retained_repo_root: String::new(),
            vscode_workspace_file: String::new(),
            coding_worker: "openclaw".into(),
            claude_model: c.model.into(),
            claude_permission_mode: c.permission_mode.into(),
            claude_effort: c.effort.into(),
            claude_timeout_seconds: c.timeout_seconds.to_string(),
            claude_max_attempts: c.max_attempts.to_string(),
            claude_retry_backoff_seconds: c.retry_backoff_seconds.to_string(),
            openclaw_model: o.model.into(),
            openclaw_thinking: o.thinking.into(),
            // scaffold wrote 600 where the launcher's own default is 900.
            openclaw_timeout_seconds: "600".into(),
            force: false,
        }
    }
}

/// The paths a profile's YAML names, defaults applied.
#[derive(Debug, Clone)]
pub struct Roots {
    pub repo_root: PathBuf,
    pub agent_repo_root: PathBuf,
    pub agent_root: PathBuf,
    pub worktree_root: PathBuf,
    pub retained_repo_root: PathBuf,
    pub vscode_workspace_file: PathBuf,
}

/// What was written (physical paths).
#[derive(Debug, Clone)]
pub struct Report {
    pub profile_id: String,
    pub profile_home: PathBuf,
    pub profile_yaml: PathBuf,
    pub template_dir: PathBuf,
    pub readme: PathBuf,
    pub repo_slug: String,
    pub coding_worker: String,
}

fn positive(flag: &str, v: &str) -> Result<u64, String> {
    match v.parse::<u64>() {
        Ok(n) if n > 0 && v.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(format!("{flag} must be a positive integer")),
    }
}

fn non_negative(flag: &str, v: &str) -> Result<u64, String> {
    match v.parse::<u64>() {
        Ok(n) if v.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(format!("{flag} must be numeric")),
    }
}

/// The validated numbers of a request.
#[derive(Debug)]
struct Numbers {
    claude_timeout: u64,
    claude_attempts: u64,
    claude_backoff: u64,
    openclaw_timeout: u64,
}

impl Request {
    /// The request's checks, in the original's order; the message is the
    /// one stderr line (exit 1).
    fn validate(&self) -> Result<Numbers, String> {
        if self.profile_id.is_empty() {
            return Err("--profile-id is required (see --help)".into());
        }
        if self.repo_slug.is_empty() {
            return Err("--repo-slug is required (see --help)".into());
        }
        if !is_scaffold_profile_id(&self.profile_id) {
            return Err("--profile-id must match ^[a-z0-9][a-z0-9-]*$".into());
        }
        if !is_repo_slug(&self.repo_slug) {
            return Err(format!(
                "--repo-slug must look like owner/repo: {}",
                self.repo_slug.escape_debug()
            ));
        }
        if !CODING_WORKERS.contains(&self.coding_worker.as_str()) {
            return Err(
                "--coding-worker must be codex, openclaw, claude, ollama, pi, opencode, or kilo"
                    .into(),
            );
        }
        if !CLAUDE_EFFORTS.contains(&self.claude_effort.as_str()) {
            return Err("--claude-effort must be one of: low, medium, high, max".into());
        }
        let numbers = Numbers {
            claude_timeout: positive("--claude-timeout-seconds", &self.claude_timeout_seconds)?,
            claude_attempts: positive("--claude-max-attempts", &self.claude_max_attempts)?,
            claude_backoff: non_negative(
                "--claude-retry-backoff-seconds",
                &self.claude_retry_backoff_seconds,
            )?,
            openclaw_timeout: positive(
                "--openclaw-timeout-seconds",
                &self.openclaw_timeout_seconds,
            )?,
        };
        for (flag, v) in [
            ("--profile-home", &self.profile_home),
            ("--repo-root", &self.repo_root),
            ("--agent-repo-root", &self.agent_repo_root),
            ("--agent-root", &self.agent_root),
            ("--worktree-root", &self.worktree_root),
            ("--retained-repo-root", &self.retained_repo_root),
            ("--vscode-workspace-file", &self.vscode_workspace_file),
            ("--claude-model", &self.claude_model),
            ("--claude-permission-mode", &self.claude_permission_mode),
            ("--openclaw-model", &self.openclaw_model),
            ("--openclaw-thinking", &self.openclaw_thinking),
        ] {
            acp_core::cli::printable(flag, v)?;
        }
        Ok(numbers)
    }

    /// The roots the profile will name: the flags (relative ones made
    /// absolute against `cwd`), else 0.2.0's defaults under
    /// `/tmp/agent-control-plane-<id>`.
    pub fn roots(&self, cwd: &Path) -> Roots {
        let base = PathBuf::from(format!("/tmp/agent-control-plane-{}", self.profile_id));
        let pick = |given: &str, default: PathBuf| {
            if given.is_empty() {
                default
            } else {
                fsx::normalize_lexically(&cwd.join(given))
            }
        };
        let repo_root = pick(&self.repo_root, base.join("repo"));
        Roots {
            agent_repo_root: pick(&self.agent_repo_root, repo_root.clone()),
            repo_root,
            agent_root: pick(
                &self.agent_root,
                base.join("runtime").join(&self.profile_id),
            ),
            worktree_root: pick(&self.worktree_root, base.join("worktrees")),
            retained_repo_root: pick(&self.retained_repo_root, base.join("retained")),
            vscode_workspace_file: pick(
                &self.vscode_workspace_file,
                base.join(format!("{}-agents.code-workspace", self.profile_id)),
            ),
        }
    }
}

/// Writes the profile. Errors carry exit 1 (bad request, existing profile
/// without `force`) or name the path that could not be written.
pub fn scaffold(env: &Env, cwd: &Path, skill_root: &Path, req: &Request) -> anyhow::Result<Report> {
    let numbers = req.validate().map_err(|m| fail(1, m))?;
    let home = if req.profile_home.is_empty() {
        acp_core::config::registry_root(env)
    } else {
        fsx::normalize_lexically(&cwd.join(&req.profile_home))
    };
    let dir = home.join(&req.profile_id);
    let yaml = dir.join(acp_core::config::CONFIG_FILE_NAME);
    let templates = dir.join("templates");
    let readme = dir.join("README.md");
    if !req.force && (yaml.exists() || yaml.is_symlink()) {
        return Err(fail(
            1,
            format!("profile already exists: {}", yaml.display()),
        ));
    }
    fsx::create_dir_all(&templates)?;
    let roots = req.roots(cwd);
    let now = acp_core::time::now_utc_iso();
    fsx::atomic_write(&yaml, profile_yaml(req, &roots, &numbers, &now).as_bytes())?;
    fsx::atomic_write(&readme, profile_readme(req, &roots, &now).as_bytes())?;
    copy_templates(&skill_root.join("tools/templates"), &templates)?;
    Ok(Report {
        profile_id: req.profile_id.clone(),
        profile_home: physical(&home),
        profile_yaml: physical(&yaml),
        template_dir: physical(&templates),
        readme: physical(&readme),
        repo_slug: req.repo_slug.clone(),
        coding_worker: req.coding_worker.clone(),
    })
}

/// Copies the regular `*.md` files directly in `from` into `to` (replacing
/// same-named files); a missing `from` copies nothing.
fn copy_templates(from: &Path, to: &Path) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(from) else {
        return Ok(());
    };
    let mut names: Vec<_> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().ends_with(".md"))
        .collect();
    names.sort();
    for name in names {
        let bytes = fsx::read(&from.join(&name))?;
        fsx::atomic_write(&to.join(&name), &bytes)?;
    }
    Ok(())
}

/// A YAML double-quoted scalar of `s` (`\` and `"` escaped; control
/// characters were refused before).
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn p(path: &Path) -> String {
    quoted(&path.to_string_lossy())
}

/// The profile's `control-plane.yaml`.
fn profile_yaml(req: &Request, r: &Roots, n: &Numbers, now: &str) -> String {
    let id = &req.profile_id;
    let safe_id = id.replace('-', "_");
    let q = |s: &str| quoted(s);
    let d = &DEFAULTS;
    let mut y = String::new();
    let mut l = |line: String| {
        y.push_str(&line);
        y.push('\n');
    };
    l(format!(
        "# Profile {} for {}, written by scaffold-profile.sh at {now}.",
        id, req.repo_slug
    ));
    l("schema_version: \"1\"".into());
    l(format!("id: {}", q(id)));
    l("repo:".into());
    l(format!("  slug: {}", q(&req.repo_slug)));
    l(format!("  root: {}", p(&r.repo_root)));
    l("  default_branch: \"main\"".into());
    l("runtime:".into());
    l(format!("  orchestrator_agent_root: {}", p(&r.agent_root)));
    l(format!("  worktree_root: {}", p(&r.worktree_root)));
    l(format!("  agent_repo_root: {}", p(&r.agent_repo_root)));
    l(format!("  runs_root: {}", p(&r.agent_root.join("runs"))));
    l(format!("  state_root: {}", p(&r.agent_root.join("state"))));
    l(format!(
        "  history_root: {}",
        p(&r.agent_root.join("history"))
    ));
    l(format!(
        "  intake_agent_root: {}",
        q(&format!("{}-intake", r.agent_root.display()))
    ));
    l(format!(
        "  retained_repo_root: {}",
        p(&r.retained_repo_root)
    ));
    l(format!(
        "  vscode_workspace_file: {}",
        p(&r.vscode_workspace_file)
    ));
    l("session_naming:".into());
    l(format!("  issue_prefix: {}", q(&format!("{id}-issue-"))));
    l(format!("  pr_prefix: {}", q(&format!("{id}-pr-"))));
    l(format!(
        "  issue_branch_prefix: {}",
        q(&format!("agent/{id}/issue"))
    ));
    l(format!(
        "  pr_worktree_branch_prefix: {}",
        q(&format!("agent/{id}/pr"))
    ));
    l(format!(
        "  managed_pr_branch_globs: {}",
        q(&format!("agent/{id}/* codex/* openclaw/*"))
    ));
    y.push_str(QUEUE_AND_LIMITS);
    let mut l = |line: String| {
        y.push_str(&line);
        y.push('\n');
    };
    l("execution:".into());
    l(format!("  coding_worker: {}", q(&req.coding_worker)));
    l("  provider_quota:".into());
    l(format!(
        "    cooldowns: {}",
        q(acp_core::config::DEFAULT_COOLDOWNS)
    ));
    l(format!("  safe_profile: {}", q(&format!("{safe_id}_safe"))));
    l(format!(
        "  bypass_profile: {}",
        q(&format!("{safe_id}_bypass"))
    ));
    l("  claude:".into());
    l(format!("    model: {}", q(&req.claude_model)));
    l(format!(
        "    permission_mode: {}",
        q(&req.claude_permission_mode)
    ));
    l(format!("    effort: {}", q(&req.claude_effort)));
    l(format!("    timeout_seconds: {}", n.claude_timeout));
    l(format!("    max_attempts: {}", n.claude_attempts));
    l(format!("    retry_backoff_seconds: {}", n.claude_backoff));
    l("  openclaw:".into());
    l(format!("    model: {}", q(&req.openclaw_model)));
    l(format!("    thinking: {}", q(&req.openclaw_thinking)));
    l(format!("    timeout_seconds: {}", n.openclaw_timeout));
    l("  ollama:".into());
    l(format!("    model: {}", q(d.ollama.model)));
    l(format!("    base_url: {}", q(d.ollama.base_url)));
    l(format!("    timeout_seconds: {}", d.ollama.timeout_seconds));
    l("  pi:".into());
    l(format!("    model: {}", q(d.pi.model)));
    l(format!("    thinking: {}", q(d.pi.thinking)));
    l(format!("    timeout_seconds: {}", d.pi.timeout_seconds));
    l(format!("    stall_seconds: {}", d.pi.stall_seconds));
    for (name, b) in [("opencode", d.opencode), ("kilo", d.kilo)] {
        l(format!("  {name}:"));
        l(format!("    model: {}", q(b.model)));
        l(format!("    timeout_seconds: {}", b.timeout_seconds));
    }
    l("  verification:".into());
    l("    web_playwright_command: \"pnpm exec playwright test\"".into());
    y
}

/// The queue and limits blocks (label names and the scheduler's limits; only
/// `queue.require_ready_label` is read by the scheduler).
const QUEUE_AND_LIMITS: &str = "\
queue:
  source: \"github\"
  require_ready_label: true
  issue_labels:
    ready: \"agent-ready\"
    running: \"agent-running\"
    blocked: \"agent-blocked\"
    heavy: \"agent-e2e-heavy\"
    exclusive: \"agent-exclusive\"
  pr_labels:
    automerge: \"agent-automerge\"
    fix_needed: \"agent-repair-queued\"
    manual_fix_override: \"agent-manual-fix-override\"
    double_check_1: \"agent-double-check-1/2\"
    double_check_2: \"agent-double-check-2/2\"
    human_review: \"agent-human-review\"
    exclusive: \"agent-exclusive\"
limits:
  max_concurrent_workers: 6
  max_concurrent_pr_workers: 4
  max_concurrent_heavy_workers: 1
  max_recurring_issue_workers: 2
  max_concurrent_scheduled_issue_workers: 1
  max_concurrent_scheduled_heavy_workers: 1
  max_concurrent_blocked_recovery_issue_workers: 1
  blocked_recovery_cooldown_seconds: 900
  max_open_agent_prs_for_recurring: 6
  max_launches_per_heartbeat: 6
";

/// The profile's notes file (operators edit it; prompts may include it).
fn profile_readme(req: &Request, r: &Roots, now: &str) -> String {
    let id = &req.profile_id;
    let slug = &req.repo_slug;
    let mut s = String::new();
    let _ = writeln!(s, "# {id} Profile Notes\n");
    let _ = writeln!(
        s,
        "Operator notes for the `{id}` profile ({slug}). Agents working on this\n\
         repository may be shown this file, so keep it short and factual.\n"
    );
    for (label, path) in [
        ("Repository", slug.to_string()),
        ("Repo root", r.repo_root.display().to_string()),
        (
            "Anchor (agent) repo",
            r.agent_repo_root.display().to_string(),
        ),
        ("Agent root", r.agent_root.display().to_string()),
        ("Worktrees", r.worktree_root.display().to_string()),
        (
            "Retained checkout",
            r.retained_repo_root.display().to_string(),
        ),
        (
            "VS Code workspace",
            r.vscode_workspace_file.display().to_string(),
        ),
    ] {
        let _ = writeln!(s, "- {label}: {path}");
    }
    let _ = writeln!(
        s,
        "\n## Startup Checklist\n\n\
         1. Point the roots above at real checkouts (or re-run scaffold with the path flags).\n\
         2. Run `profile-smoke.sh --profile-id {id}` until it reports `PROFILE_STATUS=ok`.\n\
         3. Label an issue `agent-ready` to hand it to the scheduler.\n\n\
         ## Commands\n\n\
         How to build, test and lint {slug} (fill in).\n\n\
         ## Risky Areas\n\n\
         Parts of {slug} that need a human's eye (fill in).\n\n\
         ## Notes\n\n\
         - Created by scaffold-profile.sh at {now}.\n\
         - Select this profile with `ACP_PROJECT_ID={id}` (or `AGENT_PROJECT_ID={id}`)."
    );
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes() {
        assert_eq!(quoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(quoted("x\ny"), "\"x\\u000ay\"");
    }

    #[test]
    fn validation_messages() {
        let mut r = Request {
            profile_id: "a".into(),
            repo_slug: "o/r".into(),
            ..Request::default()
        };
        assert!(r.validate().is_ok());
        r.claude_timeout_seconds = "0".into();
        assert_eq!(
            r.validate().err().unwrap(),
            "--claude-timeout-seconds must be a positive integer"
        );
        r.claude_timeout_seconds = "5".into();
        r.coding_worker = "kilo".into();
        assert!(r.validate().is_ok());
        r.repo_root = "/x\ny".into();
        assert!(r.validate().unwrap_err().contains("control characters"));
    }
}
