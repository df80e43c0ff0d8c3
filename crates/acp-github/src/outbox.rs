//! The durable per-session outbox: a write that still fails after retries
//! is kept as `<run dir>/outbox/<seq>-<action>.json` and performed later by
//! [`Outbox::replay`], in order, each file deleted only after it succeeded.
//! Writes are idempotent (marked comments, label deltas), so a replay after
//! a crash between the write and the delete does no harm.

use std::path::{Path, PathBuf};

use acp_core::fsx;
use serde::{Deserialize, Serialize};

use crate::error::GhError;
use crate::transport::Gh;
use crate::write::{Item, Marker};

/// The directory of a run dir's outbox.
pub const OUTBOX_DIR: &str = "outbox";
/// Largest outbox entry read back.
const ENTRY_CAP: u64 = 8 << 20;

/// One pending write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Action {
    /// [`Gh::post_comment_once`].
    Comment {
        repo: String,
        number: u64,
        session: String,
        action: String,
        body: String,
    },
    /// [`Gh::edit_labels`].
    Labels {
        repo: String,
        item: Item,
        number: u64,
        add: Vec<String>,
        remove: Vec<String>,
    },
}

impl Action {
    /// The short name in the entry's file name.
    pub fn name(&self) -> &str {
        match self {
            Action::Comment { .. } => "comment",
            Action::Labels { .. } => "labels",
        }
    }

    /// Performs the write (with the transport's retries).
    pub fn perform(&self, gh: &Gh) -> Result<(), GhError> {
        match self {
            Action::Comment {
                repo,
                number,
                session,
                action,
                body,
            } => gh
                .post_comment_once(repo, *number, &Marker::new(session, action), body)
                .map(|_| ()),
            Action::Labels {
                repo,
                item,
                number,
                add,
                remove,
            } => {
                let add: Vec<&str> = add.iter().map(String::as_str).collect();
                let remove: Vec<&str> = remove.iter().map(String::as_str).collect();
                gh.edit_labels(repo, *item, *number, &add, &remove)
            }
        }
    }
}

/// What [`Outbox::deliver`] did with a write.
#[derive(Debug)]
pub enum Delivery {
    Done,
    /// The write failed (the error says why) and waits in this file.
    Queued(PathBuf, GhError),
}

/// What [`Outbox::replay`] did.
#[derive(Debug, Default)]
pub struct Replay {
    /// Entries performed and removed.
    pub done: usize,
    /// Entries still pending (the first failed; the rest keep their order).
    pub pending: usize,
    /// Why the first pending entry failed.
    pub error: Option<GhError>,
}

/// The outbox of one run dir.
#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
}

impl Outbox {
    pub fn new(run_dir: &Path) -> Self {
        Self {
            dir: run_dir.join(OUTBOX_DIR),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Performs `action` now; when it fails (after the transport's
    /// retries) keeps it in the outbox instead.
    pub fn deliver(&self, gh: &Gh, action: &Action) -> anyhow::Result<Delivery> {
        match action.perform(gh) {
            Ok(()) => Ok(Delivery::Done),
            Err(e) => Ok(Delivery::Queued(self.push(action)?, e)),
        }
    }

    /// Adds `action` as the next entry, written atomically; returns its path.
    pub fn push(&self, action: &Action) -> anyhow::Result<PathBuf> {
        fsx::create_dir_all(&self.dir)?;
        let _lock = fsx::Lock::on(&self.dir)?;
        let next = self.entries()?.last().map_or(1, |(seq, _)| seq + 1);
        let path = self.dir.join(format!("{next:06}-{}.json", action.name()));
        fsx::atomic_write(&path, &serde_json::to_vec_pretty(action)?)?;
        Ok(path)
    }

    /// The pending entries in order.
    pub fn pending(&self) -> anyhow::Result<Vec<(PathBuf, Action)>> {
        self.entries()?
            .into_iter()
            .map(|(_, path)| {
                let bytes = fsx::read_capped(&path, ENTRY_CAP)?;
                let action = serde_json::from_slice(&bytes)
                    .map_err(|e| anyhow::anyhow!("{}: not an outbox entry: {e}", path.display()))?;
                Ok((path, action))
            })
            .collect()
    }

    /// Performs the pending entries in order, deleting each after it
    /// succeeded; stops at the first that fails (it and the rest stay).
    pub fn replay(&self, gh: &Gh) -> anyhow::Result<Replay> {
        if !self.dir.is_dir() {
            return Ok(Replay::default());
        }
        let _lock = fsx::Lock::on(&self.dir)?;
        let pending = self.pending()?;
        let mut replay = Replay::default();
        for (i, (path, action)) in pending.iter().enumerate() {
            if let Err(e) = action.perform(gh) {
                replay.pending = pending.len() - i;
                replay.error = Some(e);
                break;
            }
            fsx::remove_file_if_exists(path)?;
            replay.done += 1;
        }
        Ok(replay)
    }

    /// `(seq, path)` of the entry files, by sequence number.
    fn entries(&self) -> anyhow::Result<Vec<(u64, PathBuf)>> {
        let read = match std::fs::read_dir(&self.dir) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => anyhow::bail!("failed to read {}: {e}", self.dir.display()),
        };
        let mut out = Vec::new();
        for entry in read {
            let entry = entry.map_err(|e| anyhow::anyhow!("{}: {e}", self.dir.display()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !name.ends_with(".json") {
                continue;
            }
            if let Some(seq) = name.split('-').next().and_then(|s| s.parse().ok()) {
                out.push((seq, entry.path()));
            }
        }
        out.sort();
        Ok(out)
    }
}
