//! The session's worker status and the run directory it names.

use std::path::{Path, PathBuf};

use acp_core::classify::WorkerStatus;

use crate::state::{KeyProfile, ResultContract, RunnerState, runner_state};

/// The lines of `agent-project-worker-status` a reconcile decides from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerReport {
    /// `STATUS=` (the first such line), e.g. `SUCCEEDED`.
    pub status: String,
    /// The last `FAILURE_REASON=` line.
    pub failure_reason: String,
    /// `META_FILE=`: the run's run.env.
    pub meta_file: String,
}

impl WorkerReport {
    /// Reads the report from the tool's stdout (values are the whole text
    /// after the first `=`, so a value holding `=` is kept whole).
    pub fn parse(out: &str) -> Self {
        let mut r = WorkerReport::default();
        let mut seen_status = false;
        for line in out.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            match key {
                "STATUS" if !seen_status => {
                    r.status = value.to_string();
                    seen_status = true;
                }
                "FAILURE_REASON" => r.failure_reason = value.to_string(),
                "META_FILE" if r.meta_file.is_empty() => r.meta_file = value.to_string(),
                _ => {}
            }
        }
        r
    }
}

/// The newest archived run of `session` in `history_root`: directories
/// named `<session>-*` but not `<session>-stale-*`, the greatest name.
pub fn latest_archived_run(history_root: &Path, session: &str) -> Option<PathBuf> {
    if session.is_empty() {
        return None;
    }
    let prefix = format!("{session}-");
    let stale = format!("{session}-stale-");
    let mut best: Option<(String, PathBuf)> = None;
    for entry in std::fs::read_dir(history_root).ok()?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(&prefix) || name.starts_with(&stale) {
            continue;
        }
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if best.as_ref().is_none_or(|(b, _)| name > *b) {
            best = Some((name, entry.path()));
        }
    }
    best.map(|(_, p)| p)
}

/// The run a reconcile works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocatedRun {
    pub run_dir: PathBuf,
    /// Its run.env.
    pub meta_file: PathBuf,
    /// The status after the archive fallback (`UNKNOWN` may become
    /// `SUCCEEDED` or `FAILED`).
    pub status: String,
    pub failure_reason: String,
    /// Whether the run was found in the history root.
    pub archived: bool,
}

/// The run `report` names; when its meta file is missing, the latest
/// archived run of `session` with a run.env, whose runner.env (then
/// result.env) turns an `UNKNOWN` status into `SUCCEEDED` or `FAILED`.
/// `None` when neither exists.
pub fn locate_run(report: &WorkerReport, history_root: &Path, session: &str) -> Option<LocatedRun> {
    let mut status = report.status.clone();
    let mut failure_reason = report.failure_reason.clone();
    let meta = PathBuf::from(&report.meta_file);
    if !report.meta_file.is_empty() && meta.is_file() {
        return Some(LocatedRun {
            run_dir: parent(&meta),
            meta_file: meta,
            status,
            failure_reason,
            archived: false,
        });
    }
    let archived = latest_archived_run(history_root, session)?;
    let meta_file = archived.join("run.env");
    if !meta_file.is_file() {
        return None;
    }
    let unknown = WorkerStatus::Unknown.as_str();
    if status == unknown
        && let Ok(Some(runner)) = RunnerState::load(&archived.join("runner.env"))
    {
        match runner.state.as_str() {
            runner_state::SUCCEEDED => status = "SUCCEEDED".into(),
            runner_state::FAILED => {
                status = "FAILED".into();
                if !runner.last_failure_reason.is_empty() {
                    failure_reason = runner.last_failure_reason;
                }
            }
            _ => {}
        }
    }
    if status == unknown && archived.join("result.env").is_file() {
        status = "SUCCEEDED".into();
    }
    Some(LocatedRun {
        run_dir: archived,
        meta_file,
        status,
        failure_reason,
        archived: true,
    })
}

fn parent(p: &Path) -> PathBuf {
    p.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// The result contract of a run: `<run dir>/result.env`, else the
/// `RESULT_FILE` run.env names. Empty when neither exists.
pub fn read_result(run_dir: &Path, result_file: &str) -> anyhow::Result<ResultContract> {
    let own = run_dir.join("result.env");
    let path = if !own.is_file() && !result_file.is_empty() && Path::new(result_file).is_file() {
        PathBuf::from(result_file)
    } else {
        own
    };
    Ok(ResultContract::load(&path)?.unwrap_or_default())
}

/// Rewrites runner.env (when it exists) with `state`; a non-empty
/// `exit_code` replaces `LAST_EXIT_CODE`; `LAST_FAILURE_REASON` becomes
/// `reason` when that is non-empty or the state is `succeeded`. Other
/// keys are kept.
pub fn normalize_runner(
    path: &Path,
    state: &str,
    exit_code: &str,
    reason: &str,
    locale: acp_core::shellquote::QuoteLocale,
) -> anyhow::Result<()> {
    let Some(mut runner) = RunnerState::load(path)? else {
        return Ok(());
    };
    runner.state = state.to_string();
    if runner.attempt == 0 {
        runner.attempt = 1;
    }
    if !exit_code.is_empty() {
        runner.last_exit_code = exit_code.to_string();
    }
    if !reason.is_empty() || state == runner_state::SUCCEEDED {
        runner.last_failure_reason = reason.to_string();
    }
    runner.write(path, KeyProfile::Full, locale)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn report_lines_are_read_whole() {
        let r = WorkerReport::parse(
            "SESSION=s\nSTATUS=FAILED\nFAILURE_REASON=a\nMETA_FILE=/x=y/run.env\nFAILURE_REASON=b\n",
        );
        assert_eq!(r.status, "FAILED");
        assert_eq!(r.failure_reason, "b");
        assert_eq!(r.meta_file, "/x=y/run.env");
    }

    #[test]
    fn archived_runs_skip_stale_ones_and_upgrade_unknown() {
        let d = tempfile::tempdir().unwrap();
        for n in [
            "s-20260101-000000",
            "s-20260102-000000",
            "s-stale-20990101-000000",
        ] {
            std::fs::create_dir(d.path().join(n)).unwrap();
            std::fs::write(d.path().join(n).join("run.env"), "ISSUE_ID=1\n").unwrap();
        }
        let newest = d.path().join("s-20260102-000000");
        assert_eq!(latest_archived_run(d.path(), "s"), Some(newest.clone()));
        std::fs::write(
            newest.join("runner.env"),
            "RUNNER_STATE=failed\nLAST_FAILURE_REASON=x\n",
        )
        .unwrap();
        let report = WorkerReport {
            status: "UNKNOWN".into(),
            ..WorkerReport::default()
        };
        let run = locate_run(&report, d.path(), "s").unwrap();
        assert_eq!(
            (run.status.as_str(), run.failure_reason.as_str()),
            ("FAILED", "x")
        );
        assert!(run.archived);
        assert_eq!(locate_run(&report, d.path(), "other"), None);
    }
}
