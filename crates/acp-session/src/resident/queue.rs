//! The resident issue queue: `issue-queue/pending/issue-<id>.env` entries and
//! the `claims/` leases they are moved to (spec 2, 3.10).
//!
//! An issue is queued at most once: while its pending entry or any claim of
//! it exists, [`enqueue`] answers [`Enqueued::Exists`]. A claim is the atomic
//! rename of the pending entry into `claims/issue-<id>.<claimer>.<pid>`, so
//! two controllers can never take the same entry; releasing deletes the
//! claim once the claimer has adopted the issue.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use acp_core::shellquote::QuoteLocale;
use anyhow::Context;

use super::lane::{is_plain_id, resident_root, sanitize_id};

/// `resident-workers/issue-queue/`.
pub fn queue_root(state_root: &Path) -> PathBuf {
    resident_root(state_root).join("issue-queue")
}

/// `issue-queue/pending/`.
pub fn pending_dir(state_root: &Path) -> PathBuf {
    queue_root(state_root).join("pending")
}

/// `issue-queue/claims/`.
pub fn claims_dir(state_root: &Path) -> PathBuf {
    queue_root(state_root).join("claims")
}

/// `issue-queue/pending/issue-<id>.env`.
pub fn queue_file(state_root: &Path, issue_id: &str) -> PathBuf {
    pending_dir(state_root).join(format!("issue-{issue_id}.env"))
}

/// The issue id of a pending entry's file name (`issue-<id>.env`).
fn pending_id(name: &str) -> Option<&str> {
    let id = name.strip_prefix("issue-")?.strip_suffix(".env")?;
    (!id.is_empty()).then_some(id)
}

/// The pending entries' issue ids, in file-name order (the original's glob order).
pub fn pending_ids(state_root: &Path) -> anyhow::Result<Vec<String>> {
    let dir = pending_dir(state_root);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("failed to read {}", dir.display())),
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| pending_id(n).is_some())
        .collect();
    names.sort();
    Ok(names
        .iter()
        .filter_map(|n| pending_id(n).map(str::to_string))
        .collect())
}

/// How many issues wait in the queue (`flow_resident_issue_queue_count`).
pub fn count(state_root: &Path) -> anyhow::Result<usize> {
    Ok(pending_ids(state_root)?.len())
}

/// The issue ids queued (pending) or claimed by a controller.
pub fn queued_ids(state_root: &Path) -> anyhow::Result<BTreeSet<String>> {
    let mut ids: BTreeSet<String> = pending_ids(state_root)?.into_iter().collect();
    let dir = claims_dir(state_root);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ids),
        Err(e) => return Err(e).with_context(|| format!("failed to read {}", dir.display())),
    };
    for e in entries.filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some((id, _)) = name.strip_prefix("issue-").and_then(|r| r.split_once('.'))
            && !id.is_empty()
        {
            ids.insert(id.to_string());
        }
    }
    Ok(ids)
}

/// What [`enqueue`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// The issue was already pending or claimed.
    Exists,
    /// A new pending entry was written.
    Enqueued,
}

impl Enqueued {
    pub fn as_str(self) -> &'static str {
        match self {
            Enqueued::Exists => "exists",
            Enqueued::Enqueued => "enqueued",
        }
    }

    /// The original's output: `QUEUE_STATUS=<exists|enqueued>` and `ISSUE_ID=<id>`.
    pub fn lines(self, issue_id: &str) -> String {
        format!("QUEUE_STATUS={}\nISSUE_ID={issue_id}\n", self.as_str())
    }
}

/// Whether a claim of `issue_id` exists in `claims/`.
fn claimed(state_root: &Path, issue_id: &str) -> anyhow::Result<bool> {
    let dir = claims_dir(state_root);
    let prefix = format!("issue-{issue_id}.");
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e).with_context(|| format!("failed to read {}", dir.display())),
    };
    Ok(entries
        .filter_map(Result::ok)
        .any(|e| e.file_name().to_string_lossy().starts_with(&prefix)))
}

/// Queues `issue_id` (`QUEUED_BY=<queued_by>`, default `heartbeat`) unless
/// it is pending or claimed already. The entry is a `%q` KV file written
/// atomically, under the entry's lock so concurrent enqueuers write it once.
pub fn enqueue(state_root: &Path, issue_id: &str, queued_by: &str) -> anyhow::Result<Enqueued> {
    anyhow::ensure!(
        is_plain_id(issue_id),
        "refusing to queue issue id {issue_id:?}"
    );
    for dir in [pending_dir(state_root), claims_dir(state_root)] {
        acp_core::fsx::create_dir_all(&dir)?;
    }
    let file = queue_file(state_root, issue_id);
    let _lock = acp_core::fsx::Lock::beside(&file)?;
    if file.exists() || claimed(state_root, issue_id)? {
        return Ok(Enqueued::Exists);
    }
    let queued_by = if queued_by.is_empty() {
        "heartbeat"
    } else {
        queued_by
    };
    let pairs: [(&str, OsString); 3] = [
        ("ISSUE_ID", issue_id.into()),
        ("QUEUED_BY", queued_by.into()),
        ("QUEUED_AT", acp_core::time::now_utc_iso().into()),
    ];
    let text = acp_core::envfile::format_all(&pairs, QuoteLocale::C);
    acp_core::fsx::atomic_write(&file, &text)?;
    Ok(Enqueued::Enqueued)
}

/// A lease on a queued issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub issue_id: String,
    pub claim_file: PathBuf,
}

impl Claim {
    /// The original's output: `ISSUE_ID=` and `CLAIM_FILE=`.
    pub fn lines(&self) -> String {
        format!(
            "ISSUE_ID={}\nCLAIM_FILE={}\n",
            self.issue_id,
            self.claim_file.display()
        )
    }
}

/// Takes the first pending entry other than `skip_issue_id` by renaming it
/// to `claims/issue-<id>.<sanitised claimer>.<pid>`; `None` when nothing
/// could be claimed (an entry another claimer took first is skipped).
pub fn claim_next(
    state_root: &Path,
    claimer: &str,
    skip_issue_id: &str,
) -> anyhow::Result<Option<Claim>> {
    let claimer = if claimer.is_empty() {
        "resident-controller"
    } else {
        claimer
    };
    let key = sanitize_id(claimer);
    let claims = claims_dir(state_root);
    for dir in [pending_dir(state_root), claims.clone()] {
        acp_core::fsx::create_dir_all(&dir)?;
    }
    for id in pending_ids(state_root)? {
        if id == skip_issue_id {
            continue;
        }
        let from = queue_file(state_root, &id);
        let to = claims.join(format!("issue-{id}.{key}.{}", std::process::id()));
        if std::fs::rename(&from, &to).is_ok() {
            return Ok(Some(Claim {
                issue_id: id,
                claim_file: to,
            }));
        }
    }
    Ok(None)
}

/// Deletes a claim (nothing to do for an empty path or a missing file).
pub fn release(claim_file: &Path) -> anyhow::Result<()> {
    if claim_file.as_os_str().is_empty() {
        return Ok(());
    }
    acp_core::fsx::remove_file_if_exists(claim_file)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn enqueue_once_then_claim_and_release() {
        let t = tempfile::tempdir().unwrap();
        let s = t.path();
        assert_eq!(enqueue(s, "441", "test").unwrap(), Enqueued::Enqueued);
        assert_eq!(enqueue(s, "441", "test").unwrap(), Enqueued::Exists);
        let text = std::fs::read_to_string(queue_file(s, "441")).unwrap();
        assert!(text.starts_with("ISSUE_ID=441\nQUEUED_BY=test\nQUEUED_AT="));
        assert_eq!(count(s).unwrap(), 1);
        assert_eq!(
            Enqueued::Exists.lines("441"),
            "QUEUE_STATUS=exists\nISSUE_ID=441\n"
        );

        assert_eq!(claim_next(s, "demo issue 440", "441").unwrap(), None);
        let claim = claim_next(s, "demo issue 440", "").unwrap().unwrap();
        assert_eq!(claim.issue_id, "441");
        let name = claim
            .claim_file
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert_eq!(
            name,
            format!("issue-441.demo-issue-440.{}", std::process::id())
        );
        assert!(!queue_file(s, "441").exists());
        // Claimed: not queued again.
        assert_eq!(enqueue(s, "441", "").unwrap(), Enqueued::Exists);
        enqueue(s, "7", "").unwrap();
        let queued: Vec<String> = queued_ids(s).unwrap().into_iter().collect();
        assert_eq!(queued, ["441", "7"]);
        std::fs::remove_file(queue_file(s, "7")).unwrap();
        release(&claim.claim_file).unwrap();
        assert!(!claim.claim_file.exists());
        assert_eq!(enqueue(s, "441", "").unwrap(), Enqueued::Enqueued);
        let text = std::fs::read_to_string(queue_file(s, "441")).unwrap();
        assert!(text.contains("QUEUED_BY=heartbeat\n"));
    }

    #[test]
    fn claims_in_name_order_and_ignores_other_files() {
        let t = tempfile::tempdir().unwrap();
        let s = t.path();
        enqueue(s, "52", "x").unwrap();
        enqueue(s, "441", "x").unwrap();
        std::fs::write(pending_dir(s).join("note.txt"), "x").unwrap();
        assert_eq!(pending_ids(s).unwrap(), vec!["441", "52"]);
        assert_eq!(claim_next(s, "c", "").unwrap().unwrap().issue_id, "441");
        assert_eq!(claim_next(s, "c", "").unwrap().unwrap().issue_id, "52");
        assert_eq!(claim_next(s, "c", "").unwrap(), None);
        assert!(enqueue(s, "../x", "x").is_err());
    }
}
