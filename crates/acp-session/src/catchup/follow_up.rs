//! Labelling the follow-up issues a worker session pointed to: every `#N`
//! in the comments the session's GitHub user wrote on its issue since the
//! session started names a candidate; an open candidate that is not
//! running or blocked and that the resource classifier calls E2E-heavy
//! gets `agent-e2e-heavy`. Prints `LABELED=<n>` per candidate visited and
//! `COUNT=<n>`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use acp_core::envfile::{EnvFile, Mode};
use acp_core::{fail, process};
use regex::Regex;

use super::LazyGh;

/// The label a heavy follow-up issue gets.
pub const HEAVY_LABEL: &str = "agent-e2e-heavy";

/// The helper commands the pass runs (built by the tool, so a caller's
/// stubs next to the scripts are what run).
pub enum Step {
    /// `agent-project-worker-status --runs-root R --session S`.
    WorkerStatus,
    /// `issue-resource-class.sh N`.
    ResourceClass(u64),
    /// `agent-github-update-labels --repo-slug R --number N --add agent-e2e-heavy`.
    AddHeavyLabel(u64),
}

/// What one call needs.
#[derive(Debug, Clone, Default)]
pub struct Args {
    pub session: String,
    pub history_root: PathBuf,
    pub repo: String,
    /// The numeric repository id (`repo.id`), for the comments fallback.
    pub repo_id: String,
    /// `GITHUB_ACTOR` when set.
    pub actor: Option<String>,
}

/// Runs `cmd`; its stdout, or an error naming `what` when it fails.
fn output(mut cmd: Command, what: &str) -> anyhow::Result<String> {
    let out = acp_core::dispatch::output(&mut cmd)?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(fail(
            process::exit_code(out.status).max(1),
            format!("{what} failed: {}", err.lines().last().unwrap_or("").trim()),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The value of the first `KEY=` line of `text` (whole, `=` included).
fn kv(text: &str, key: &str) -> String {
    let prefix = format!("{key}=");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or("")
        .to_string()
}

/// The newest archived run of `session` under `history` (not a `-stale-` one).
fn archived_meta(history: &Path, session: &str) -> Option<PathBuf> {
    let prefix = format!("{session}-");
    let stale = format!("{session}-stale-");
    let mut dirs: Vec<String> = std::fs::read_dir(history)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| n.starts_with(&prefix) && !n.starts_with(&stale))
        .collect();
    dirs.sort();
    let meta = history.join(dirs.pop()?).join("run.env");
    meta.is_file().then_some(meta)
}

/// Runs the pass.
pub fn run(
    a: &Args,
    gh: &LazyGh,
    step: &dyn Fn(Step) -> Command,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let status = output(step(Step::WorkerStatus), "agent-project-worker-status")?;
    let meta = Some(PathBuf::from(kv(&status, "META_FILE")))
        .filter(|p| !p.as_os_str().is_empty() && p.is_file())
        .or_else(|| archived_meta(&a.history_root, &a.session))
        .ok_or_else(|| fail(1, format!("missing metadata for session {}", a.session)))?;
    let meta = EnvFile::load_with(&meta, Mode::Lenient)?;
    let need = |key: &str| {
        meta.get(key)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| fail(1, format!("session {} is missing {key}", a.session)))
    };
    let (issue, started) = (need("ISSUE_ID")?, need("STARTED_AT")?);
    let issue_num: u64 = issue.parse().map_err(|_| {
        fail(
            1,
            format!("session {}: ISSUE_ID {issue:?} is not a number", a.session),
        )
    })?;
    let gh = gh.get()?;
    let actor = match &a.actor {
        Some(actor) => actor.clone(),
        None => gh.user_login()?,
    };
    let comments = gh.comments_or_by_repo_id(&a.repo, &a.repo_id, issue_num)?;
    let re = Regex::new(r"#([0-9]+)")?;
    let mut numbers: Vec<u64> = comments
        .iter()
        .filter(|c| c.author == actor && c.created_at.as_str() >= started.as_str())
        .flat_map(|c| {
            re.captures_iter(&c.body)
                .filter_map(|m| m[1].parse().ok())
                .collect::<Vec<u64>>()
        })
        .collect();
    numbers.sort_unstable();
    numbers.dedup();
    let mut count = 0;
    for n in numbers.into_iter().filter(|n| *n != issue_num) {
        let Ok(candidate) = gh.issue(&a.repo, n) else {
            continue;
        };
        let busy = candidate
            .labels
            .iter()
            .any(|l| l == "agent-running" || l == "agent-blocked");
        if !candidate.state.eq_ignore_ascii_case("open") || busy {
            continue;
        }
        let class = output(step(Step::ResourceClass(n)), "issue-resource-class.sh")?;
        if kv(&class, "IS_E2E") == "yes" {
            output(step(Step::AddHeavyLabel(n)), "agent-github-update-labels")?;
        }
        writeln!(out, "LABELED={n}")?;
        count += 1;
    }
    writeln!(out, "COUNT={count}")?;
    Ok(())
}
