//! The check runs of a head commit and the annotation messages of its
//! failed runs, kept on disk under `<state>/pr-risk-cache/check-runs/`
//! (one file per commit), so a later `pr-risk.sh` of the same head reads
//! them without a call. An entry is only written when every run completed
//! and every annotation read succeeded, and it is only used while the PR's
//! check rollup is what it was (a re-run changes the rollup's times and
//! pages, and then the runs are read again).

use std::path::{Path, PathBuf};

use acp_core::fsx;
use acp_session::risk::checks::CheckRun;
use serde_json::{Value, json};

/// The directory of the cache under state root `state`.
pub fn dir(state: &Path) -> PathBuf {
    state.join("pr-risk-cache").join("check-runs")
}

fn file(dir: &Path, sha: &str) -> Option<PathBuf> {
    let ok = !sha.is_empty() && sha.len() <= 64 && sha.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then(|| dir.join(format!("{sha}.json")))
}

/// The runs and messages kept for `repo`'s commit `sha` under `key` (the
/// rollup's fingerprint), if any.
pub fn load(dir: &Path, repo: &str, sha: &str, key: &str) -> Option<(Vec<CheckRun>, Vec<String>)> {
    let bytes = fsx::read_capped_if_exists(&file(dir, sha)?, 16 << 20).ok()??;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    if v.get("repo")?.as_str()? != repo || v.get("key")?.as_str()? != key {
        return None;
    }
    let text = |r: &Value, k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let runs = v
        .get("runs")?
        .as_array()?
        .iter()
        .map(|r| CheckRun {
            status: text(r, "status"),
            conclusion: text(r, "conclusion"),
            annotations_url: text(r, "annotations_url"),
            annotations_count: r
                .get("annotations_count")
                .and_then(Value::as_u64)
                .unwrap_or(0),
        })
        .collect();
    let messages = v
        .get("messages")?
        .as_array()?
        .iter()
        .filter_map(|m| m.as_str().map(str::to_string))
        .collect();
    Some((runs, messages))
}

/// Keeps the runs and messages of `repo`'s commit `sha` under `key`
/// (best effort: a cache that cannot be written only costs a later read).
pub fn store(dir: &Path, repo: &str, sha: &str, key: &str, runs: &[CheckRun], messages: &[String]) {
    let Some(path) = file(dir, sha) else {
        return;
    };
    let runs: Vec<Value> = runs
        .iter()
        .map(|r| {
            json!({
                "status": r.status,
                "conclusion": r.conclusion,
                "annotations_url": r.annotations_url,
                "annotations_count": r.annotations_count,
            })
        })
        .collect();
    let doc = json!({"repo": repo, "key": key, "runs": runs, "messages": messages});
    let write = || -> anyhow::Result<()> {
        fsx::create_dir_all(dir)?;
        let _lock = fsx::Lock::beside(&path)?;
        fsx::atomic_write(&path, doc.to_string().as_bytes())
    };
    let _ = write();
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn kept_runs_answer_only_the_same_repo_commit_and_rollup() {
        let t = tempfile::tempdir().unwrap();
        let d = dir(t.path());
        let sha = "c".repeat(40);
        let runs = vec![CheckRun {
            status: "completed".into(),
            conclusion: "failure".into(),
            annotations_url: "https://api.github.com/x".into(),
            annotations_count: 1,
        }];
        let messages = vec!["You have exceeded your spending limit".to_string()];
        assert!(load(&d, "o/r", &sha, "k").is_none());
        store(&d, "o/r", &sha, "k", &runs, &messages);
        assert_eq!(load(&d, "o/r", &sha, "k"), Some((runs, messages)));
        assert!(load(&d, "o/r", &sha, "other rollup").is_none());
        assert!(load(&d, "o/other", &sha, "k").is_none());
        store(&d, "o/r", "../x", "k", &[], &[]);
        assert!(!t.path().join("pr-risk-cache/x.json").exists());
    }
}
