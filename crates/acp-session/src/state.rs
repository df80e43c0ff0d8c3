//! Typed views of the run-directory state files (run.env, runner.env,
//! result.env), read with [`acp_core::envfile`] (never executed).
//! [`RunnerState`] both reads and writes runner.env.
//!
//! All three files are read in lenient mode: they are partly written raw by
//! agents and other tools (`DETAIL=free text`), and a line bash would run as
//! code is kept as literal text instead of refusing the whole file.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use acp_core::envfile::{self, EnvFile, Mode};
use acp_core::shellquote::QuoteLocale;

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

/// `key`'s value in `all` as text (empty when absent).
fn text_in(all: &BTreeMap<String, OsString>, key: &str) -> String {
    all.get(key)
        .map(|v| v.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn load(path: &Path) -> Result<Option<EnvFile>, envfile::Error> {
    EnvFile::load_if_exists(path, Mode::Lenient)
}

/// runner.env keys in the order every writer uses (spec 1.5).
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

/// `RUNNER_STATE` values.
pub mod runner_state {
    pub const RUNNING: &str = "running";
    pub const WAITING_AUTH_REFRESH: &str = "waiting-auth-refresh";
    pub const SWITCHING_ACCOUNT: &str = "switching-account";
    pub const SUCCEEDED: &str = "succeeded";
    pub const FAILED: &str = "failed";
}

/// Which runner.env keys a backend publishes (spec 1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyProfile {
    /// codex, claude, openclaw: all ten keys.
    Full,
    /// ollama, pi: no `THREAD_ID`, no `LAST_AUTH_FINGERPRINT`.
    NoThread,
    /// opencode, kilo: `RUNNER_STATE, ATTEMPT, RESUME_COUNT, LAST_EXIT_CODE,
    /// LAST_FAILURE_REASON, UPDATED_AT`.
    Minimal,
}

/// runner.env, the worker runner's state: the one type the supervisors
/// write it with and worker-status (and everything else) reads it with.
///
/// Reading is lenient (the file is partly written by other tools): absent
/// keys are empty, a counter that is not a number reads as 0, and keys
/// outside [`RUNNER_KEYS`] are kept in `extra` in file order. Writing
/// replaces only the keys of the writer's [`KeyProfile`] and keeps the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunnerState {
    pub state: String,
    pub thread_id: String,
    pub attempt: u32,
    pub resume_count: u32,
    pub last_exit_code: String,
    pub last_failure_reason: String,
    pub last_trigger_reason: String,
    pub auth_wait_started_at: String,
    pub last_auth_fingerprint: String,
    /// `UPDATED_AT` as read (a write stamps its own).
    pub updated_at: String,
    /// Keys written by others after the standard ones (pi's `RUNNER_STATE_FILE`).
    pub extra: Vec<(String, String)>,
}

impl RunnerState {
    /// The view of a parsed file.
    pub fn from_file(file: &EnvFile) -> Self {
        let mut extra: Vec<(String, String)> = Vec::new();
        for e in &file.entries {
            if !RUNNER_KEYS.contains(&e.key.as_str()) && !extra.iter().any(|(k, _)| *k == e.key) {
                extra.push((e.key.clone(), text(file, &e.key)));
            }
        }
        let count = |k: &str| text(file, k).trim().parse().unwrap_or(0);
        Self {
            state: text(file, "RUNNER_STATE"),
            thread_id: text(file, "THREAD_ID"),
            attempt: count("ATTEMPT"),
            resume_count: count("RESUME_COUNT"),
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

    /// Reads `path` leniently; a missing file is the default (empty) state.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        Ok(Self::load(path)?.unwrap_or_default())
    }

    /// The facts worker-status decides from.
    pub fn facts(&self) -> acp_core::classify::RunnerFacts {
        acp_core::classify::RunnerFacts {
            state: self.state.clone(),
            thread_id: self.thread_id.clone(),
            last_exit_code: self.last_exit_code.clone(),
            last_failure_reason: self.last_failure_reason.clone(),
        }
    }

    /// The keys and values of `profile` in spec order, with `UPDATED_AT` =
    /// `updated_at`.
    pub fn pairs(&self, profile: KeyProfile, updated_at: &str) -> Vec<(&'static str, String)> {
        let mut v: Vec<(&'static str, String)> = vec![("RUNNER_STATE", self.state.clone())];
        if profile == KeyProfile::Full {
            v.push(("THREAD_ID", self.thread_id.clone()));
        }
        v.push(("ATTEMPT", self.attempt.to_string()));
        v.push(("RESUME_COUNT", self.resume_count.to_string()));
        v.push(("LAST_EXIT_CODE", self.last_exit_code.clone()));
        v.push(("LAST_FAILURE_REASON", self.last_failure_reason.clone()));
        if profile != KeyProfile::Minimal {
            v.push(("LAST_TRIGGER_REASON", self.last_trigger_reason.clone()));
            v.push(("AUTH_WAIT_STARTED_AT", self.auth_wait_started_at.clone()));
        }
        if profile == KeyProfile::Full {
            v.push(("LAST_AUTH_FINGERPRINT", self.last_auth_fingerprint.clone()));
        }
        v.push(("UPDATED_AT", updated_at.to_string()));
        v
    }

    /// Publishes the state atomically with `UPDATED_AT` = now. Keys of this
    /// profile are replaced in place (a new file gets them in spec order);
    /// keys other writers put in the file are kept.
    pub fn write(
        &self,
        path: &Path,
        profile: KeyProfile,
        locale: QuoteLocale,
    ) -> anyhow::Result<()> {
        self.write_at(path, profile, locale, &acp_core::time::now_utc_iso())
    }

    /// [`Self::write`] with an explicit `UPDATED_AT`.
    pub fn write_at(
        &self,
        path: &Path,
        profile: KeyProfile,
        locale: QuoteLocale,
        updated_at: &str,
    ) -> anyhow::Result<()> {
        let pairs = self.pairs(profile, updated_at);
        let refs: Vec<(&str, &OsStr)> = pairs
            .iter()
            .map(|(k, v)| (*k, OsStr::new(v.as_str())))
            .collect();
        envfile::set_many(path, &refs, locale)
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
        text_in(&self.all, key)
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
        text_in(&self.all, key)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
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

    #[test]
    fn runner_state_keeps_foreign_keys_and_spec_order() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("runner.env");
        let st = RunnerState {
            state: runner_state::RUNNING.into(),
            thread_id: "thread-1".into(),
            attempt: 1,
            ..RunnerState::default()
        };
        st.write_at(
            &p,
            KeyProfile::Full,
            acp_core::shellquote::QuoteLocale::Utf8,
            "2026-01-01T00:00:00Z",
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "RUNNER_STATE=running\nTHREAD_ID=thread-1\nATTEMPT=1\nRESUME_COUNT=0\nLAST_EXIT_CODE=''\n\
             LAST_FAILURE_REASON=''\nLAST_TRIGGER_REASON=''\nAUTH_WAIT_STARTED_AT=''\n\
             LAST_AUTH_FINGERPRINT=''\nUPDATED_AT=2026-01-01T00:00:00Z\n"
        );
        acp_core::envfile::set(
            &p,
            "OTHER_WRITER",
            std::ffi::OsStr::new("x y"),
            acp_core::shellquote::QuoteLocale::Utf8,
        )
        .unwrap();
        let st2 = RunnerState {
            state: runner_state::FAILED.into(),
            last_failure_reason: "it's bad".into(),
            ..st.clone()
        };
        st2.write(
            &p,
            KeyProfile::Full,
            acp_core::shellquote::QuoteLocale::Utf8,
        )
        .unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("OTHER_WRITER=x\\ y\n"));
        assert!(text.starts_with("RUNNER_STATE=failed\nTHREAD_ID=thread-1\n"));
        assert!(text.contains("LAST_FAILURE_REASON=it\\'s\\ bad\n"));
        let back = RunnerState::read(&p).unwrap();
        assert_eq!(back.last_failure_reason, "it's bad");
        assert_eq!(back.attempt, 1);
        let minimal = st.pairs(KeyProfile::Minimal, "t");
        let keys: Vec<_> = minimal.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            [
                "RUNNER_STATE",
                "ATTEMPT",
                "RESUME_COUNT",
                "LAST_EXIT_CODE",
                "LAST_FAILURE_REASON",
                "UPDATED_AT"
            ]
        );
        assert_eq!(st.pairs(KeyProfile::NoThread, "t").len(), 8);
    }
}
