//! Typed views of the run-directory state files (run.env, runner.env,
//! result.env), read with [`crate::envfile`] (never executed). runner.env is
//! written by [`crate::supervise::RunnerState`].
//!
//! All three files are read in lenient mode: they are partly written raw by
//! agents and other tools (`DETAIL=free text`), and a line bash would run as
//! code is kept as literal text instead of refusing the whole file.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::envfile::{self, EnvFile, Mode};

/// The files of one run directory `<runs_root>/<session>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPaths {
    pub session: String,
    pub run_dir: PathBuf,
    /// `run.env` (the "meta file").
    pub run_env: PathBuf,
    /// `runner.env`.
    pub runner_env: PathBuf,
    /// `result.env` (the host copy of the result contract).
    pub result_env: PathBuf,
    /// `<session>.log` (the "output file").
    pub log: PathBuf,
}

impl RunPaths {
    /// Paths under `<runs_root>/<session>`, joined as the scripts did
    /// (`"${runs_root}/${session}"`, no normalisation).
    pub fn new(runs_root: &str, session: &str) -> Self {
        let run_dir = PathBuf::from(format!("{runs_root}/{session}"));
        Self {
            session: session.to_string(),
            run_env: run_dir.join("run.env"),
            runner_env: run_dir.join("runner.env"),
            result_env: run_dir.join("result.env"),
            log: run_dir.join(format!("{session}.log")),
            run_dir,
        }
    }
}

fn text(file: &EnvFile, key: &str) -> String {
    file.get_or_empty(key)
}

fn load(path: &Path) -> Result<Option<EnvFile>, envfile::Error> {
    EnvFile::load_if_exists(path, Mode::Lenient)
}

/// runner.env keys in the order every writer uses.
pub const RUNNER_KEYS: [&str; 10] = [
    "RUNNER_STATE",
    "THREAD_ID",
    "ATTEMPT",
    "RESUME_COUNT",
    "LAST_EXIT_CODE",
    "LAST_FAILURE_REASON",
    "LAST_TRIGGER_REASON",
    "AUTH_WAIT_STARTED_AT",
    "LAST_AUTH_FINGERPRINT",
    "UPDATED_AT",
];

/// runner.env: the worker runner's state. Values are kept as text (numbers
/// too), exactly as found; absent keys are empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunnerState {
    pub state: String,
    pub thread_id: String,
    pub attempt: String,
    pub resume_count: String,
    pub last_exit_code: String,
    pub last_failure_reason: String,
    pub last_trigger_reason: String,
    pub auth_wait_started_at: String,
    pub last_auth_fingerprint: String,
    pub updated_at: String,
    /// Keys written after the standard ones (pi's `RUNNER_STATE_FILE`).
    pub extra: Vec<(String, String)>,
}

impl RunnerState {
    /// The view of a parsed file (keys outside [`RUNNER_KEYS`] go to `extra`).
    pub fn from_file(file: &EnvFile) -> Self {
        let mut extra: Vec<(String, String)> = Vec::new();
        for e in &file.entries {
            if !RUNNER_KEYS.contains(&e.key.as_str()) && !extra.iter().any(|(k, _)| *k == e.key) {
                extra.push((e.key.clone(), text(file, &e.key)));
            }
        }
        Self {
            state: text(file, "RUNNER_STATE"),
            thread_id: text(file, "THREAD_ID"),
            attempt: text(file, "ATTEMPT"),
            resume_count: text(file, "RESUME_COUNT"),
            last_exit_code: text(file, "LAST_EXIT_CODE"),
            last_failure_reason: text(file, "LAST_FAILURE_REASON"),
            last_trigger_reason: text(file, "LAST_TRIGGER_REASON"),
            auth_wait_started_at: text(file, "AUTH_WAIT_STARTED_AT"),
            last_auth_fingerprint: text(file, "LAST_AUTH_FINGERPRINT"),
            updated_at: text(file, "UPDATED_AT"),
            extra,
        }
    }

    /// Reads `path` leniently; `Ok(None)` when it does not exist.
    pub fn load(path: &Path) -> Result<Option<Self>, envfile::Error> {
        Ok(load(path)?.map(|f| Self::from_file(&f)))
    }

    /// The value of a standard key.
    pub fn get(&self, key: &str) -> Option<&str> {
        Some(match key {
            "RUNNER_STATE" => &self.state,
            "THREAD_ID" => &self.thread_id,
            "ATTEMPT" => &self.attempt,
            "RESUME_COUNT" => &self.resume_count,
            "LAST_EXIT_CODE" => &self.last_exit_code,
            "LAST_FAILURE_REASON" => &self.last_failure_reason,
            "LAST_TRIGGER_REASON" => &self.last_trigger_reason,
            "AUTH_WAIT_STARTED_AT" => &self.auth_wait_started_at,
            "LAST_AUTH_FINGERPRINT" => &self.last_auth_fingerprint,
            "UPDATED_AT" => &self.updated_at,
            _ => return None,
        })
    }

    /// The facts worker-status decides from.
    pub fn facts(&self) -> crate::classify::RunnerFacts {
        crate::classify::RunnerFacts {
            state: self.state.clone(),
            thread_id: self.thread_id.clone(),
            last_exit_code: self.last_exit_code.clone(),
            last_failure_reason: self.last_failure_reason.clone(),
        }
    }
}

/// run.env: launch-time metadata (spec 1.4) plus the end-of-run git state.
/// Backend keys and `--context` keys are in `all`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunMeta {
    pub task_kind: String,
    pub task_id: String,
    pub session: String,
    pub mode: String,
    pub worktree: String,
    pub worktree_realpath: String,
    pub prompt_file: String,
    pub output_file: String,
    pub script: String,
    pub branch: String,
    pub result_file: String,
    pub runner_state_file: String,
    pub sandbox_run_dir: String,
    pub adapter_id: String,
    pub started_at: String,
    pub final_head: String,
    pub final_branch: String,
    /// Every key's final value (the last assignment wins, as when sourced).
    pub all: BTreeMap<String, OsString>,
}

impl RunMeta {
    /// The view of a parsed file.
    pub fn from_file(file: &EnvFile) -> Self {
        Self {
            task_kind: text(file, "TASK_KIND"),
            task_id: text(file, "TASK_ID"),
            session: text(file, "SESSION"),
            mode: text(file, "MODE"),
            worktree: text(file, "WORKTREE"),
            worktree_realpath: text(file, "WORKTREE_REALPATH"),
            prompt_file: text(file, "PROMPT_FILE"),
            output_file: text(file, "OUTPUT_FILE"),
            script: text(file, "SCRIPT"),
            branch: text(file, "BRANCH"),
            result_file: text(file, "RESULT_FILE"),
            runner_state_file: text(file, "RUNNER_STATE_FILE"),
            sandbox_run_dir: text(file, "SANDBOX_RUN_DIR"),
            adapter_id: text(file, "ADAPTER_ID"),
            started_at: text(file, "STARTED_AT"),
            final_head: text(file, "FINAL_HEAD"),
            final_branch: text(file, "FINAL_BRANCH"),
            all: file.to_map(),
        }
    }

    /// Reads `path` leniently; `Ok(None)` when it does not exist.
    pub fn load(path: &Path) -> Result<Option<Self>, envfile::Error> {
        Ok(load(path)?.map(|f| Self::from_file(&f)))
    }

    /// Any key's value as text (empty when absent).
    pub fn get(&self, key: &str) -> String {
        self.all
            .get(key)
            .map(|v| v.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// result.env: the result contract an agent (or a launcher's fallback) wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultContract {
    pub outcome: String,
    pub action: String,
    pub detail: String,
    pub issue_id: String,
    /// Every key's final value.
    pub all: BTreeMap<String, OsString>,
}

impl ResultContract {
    /// The view of a parsed file.
    pub fn from_file(file: &EnvFile) -> Self {
        Self {
            outcome: text(file, "OUTCOME"),
            action: text(file, "ACTION"),
            detail: text(file, "DETAIL"),
            issue_id: text(file, "ISSUE_ID"),
            all: file.to_map(),
        }
    }

    /// Reads `path` leniently; `Ok(None)` when it does not exist.
    pub fn load(path: &Path) -> Result<Option<Self>, envfile::Error> {
        Ok(load(path)?.map(|f| Self::from_file(&f)))
    }

    /// Any key's value as text (empty when absent).
    pub fn get(&self, key: &str) -> String {
        self.all
            .get(key)
            .map(|v| v.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_paths_join_like_the_scripts() {
        let p = RunPaths::new("/r/runs", "s-1");
        assert_eq!(p.run_dir, PathBuf::from("/r/runs/s-1"));
        assert_eq!(p.log, PathBuf::from("/r/runs/s-1/s-1.log"));
        assert_eq!(p.runner_env, PathBuf::from("/r/runs/s-1/runner.env"));
    }

    #[test]
    fn views_read_without_executing() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let marker = dir.path().join("pwned");
        let runner = dir.path().join("runner.env");
        std::fs::write(
            &runner,
            format!(
                "RUNNER_STATE=running\nTHREAD_ID=$(touch {})\nLAST_FAILURE_REASON=\"\"\n",
                marker.display()
            ),
        )?;
        let r = RunnerState::load(&runner)?.unwrap_or_default();
        assert_eq!(r.state, "running");
        assert!(r.thread_id.starts_with("$(touch "));
        assert_eq!(r.last_failure_reason, "");
        assert!(!marker.exists());

        let result = dir.path().join("result.env");
        std::fs::write(
            &result,
            "OUTCOME=blocked\nACTION=host-comment-blocker\nDETAIL=ollama-api-error: connect refused\n",
        )?;
        let c = ResultContract::load(&result)?.unwrap_or_default();
        assert_eq!(c.detail, "ollama-api-error: connect refused");
        assert_eq!(c.get("OUTCOME"), "blocked");

        let meta = dir.path().join("run.env");
        std::fs::write(
            &meta,
            "SESSION=s\nPI_MODEL=a\nPI_MODEL=b\nWORKTREE=/w\\ t\n",
        )?;
        let m = RunMeta::load(&meta)?.unwrap_or_default();
        assert_eq!((m.session.as_str(), m.worktree.as_str()), ("s", "/w t"));
        assert_eq!(m.get("PI_MODEL"), "b");
        assert_eq!(RunMeta::load(&dir.path().join("none"))?, None);
        Ok(())
    }
}
