//! GitHub writes of a reconcile, made durable through the run's outbox.
//!
//! Every write goes through [`Effects`]: it is tried at once (with the
//! transport's retries); when it still fails it is written to
//! `<run dir>/outbox/` and the reconcile goes on. [`Effects::settle`]
//! replays the outbox (in order) before the caller marks the run
//! reconciled, so `reconciled.ok` is only written once every write is done
//! or durably queued. An entry refused for good (a bare 403, a validation
//! error, a missing issue) is moved to `outbox/dead/` instead of blocking
//! the entries behind it for ever; transient failures, auth and transport
//! failures keep it (and everything after it) queued for the next replay.

use std::path::{Path, PathBuf};

use acp_core::fsx;
use acp_github::{Action, ErrorKind, Gh, GhError, Item, Marker, Outbox};

/// The subdirectory of the outbox holding entries refused for good.
pub const DEAD_DIR: &str = "dead";

/// What a replay left.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Settled {
    /// Entries performed and removed.
    pub delivered: usize,
    /// Entries still queued (the first failed with a retryable error).
    pub pending: usize,
    /// Entries moved to `outbox/dead/` by this replay.
    pub dead: usize,
    /// Why the first pending entry (or the last dead one) failed.
    pub error: Option<String>,
}

/// Whether an error will not go away by retrying the same write.
pub fn is_permanent(e: &GhError) -> bool {
    matches!(e.kind, ErrorKind::Other | ErrorKind::NotFound)
}

/// Replays `outbox` with `gh`: each entry in order, removed once done; an
/// entry refused for good goes to `outbox/dead/`; the first retryable
/// failure stops the replay (it and the later entries stay, in order).
pub fn replay(gh: &Gh, outbox: &Outbox) -> anyhow::Result<Settled> {
    let mut settled = Settled::default();
    if !outbox.dir().is_dir() {
        return Ok(settled);
    }
    let _lock = fsx::Lock::on(outbox.dir())?;
    let pending = outbox.pending()?;
    for (i, (path, action)) in pending.iter().enumerate() {
        match action.perform(gh) {
            Ok(()) => {
                fsx::remove_file_if_exists(path)?;
                settled.delivered += 1;
            }
            Err(e) if is_permanent(&e) => {
                bury(outbox, path)?;
                settled.dead += 1;
                settled.error = Some(e.to_string());
            }
            Err(e) => {
                settled.pending = pending.len() - i;
                settled.error = Some(e.to_string());
                break;
            }
        }
    }
    Ok(settled)
}

/// The run dirs directly under `root` (a runs or history root) whose
/// outbox still holds entries, by name: what a periodic pass (the
/// heartbeat) replays with [`replay`] for runs no reconcile will see again.
pub fn dirs_with_pending_outbox(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let outbox = Outbox::new(p);
            outbox.dir().is_dir() && outbox.pending().is_ok_and(|v| !v.is_empty())
        })
        .collect();
    dirs.sort();
    dirs
}

/// Moves an entry to `outbox/dead/` (same file name).
fn bury(outbox: &Outbox, path: &Path) -> anyhow::Result<()> {
    let dead = outbox.dir().join(DEAD_DIR);
    fsx::create_dir_all(&dead)?;
    let name = path.file_name().unwrap_or_default();
    std::fs::rename(path, dead.join(name)).map_err(|e| {
        anyhow::anyhow!(
            "failed to move {} to {}: {e}",
            path.display(),
            dead.display()
        )
    })
}

/// The GitHub writes of one reconcile.
pub struct Effects {
    gh: Option<Gh>,
    /// Why there is no `gh` (it was not found on the PATH).
    gh_error: Option<GhError>,
    outbox: Outbox,
    /// One line per write that was queued instead of done.
    pub queued: Vec<String>,
}

impl Effects {
    /// Writes through `gh` (or, when it could not be made, straight into
    /// the outbox) with the outbox of `run_dir`.
    pub fn new(gh: Result<Gh, GhError>, run_dir: &Path) -> Self {
        let (gh, gh_error) = match gh {
            Ok(g) => (Some(g), None),
            Err(e) => (None, Some(e)),
        };
        Self {
            gh,
            gh_error,
            outbox: Outbox::new(run_dir),
            queued: Vec::new(),
        }
    }

    /// The GitHub handle, when `gh` was found.
    pub fn gh(&self) -> Option<&Gh> {
        self.gh.as_ref()
    }

    /// The outbox directory.
    pub fn outbox_dir(&self) -> PathBuf {
        self.outbox.dir().to_path_buf()
    }

    /// Follows the run dir after it was moved (archived): later writes
    /// and the final replay use the outbox at its new place.
    pub fn move_to(&mut self, run_dir: &Path) {
        self.outbox = Outbox::new(run_dir);
    }

    /// Posts `body` on issue or PR `number` with the hidden marker
    /// `<session>:<action>`, unless its comments already hold it.
    pub fn comment(
        &mut self,
        repo: &str,
        number: u64,
        session: &str,
        action: &str,
        body: &str,
    ) -> anyhow::Result<()> {
        let entry = Action::Comment {
            repo: repo.to_string(),
            number,
            session: session.to_string(),
            action: action.to_string(),
            body: body.to_string(),
        };
        let marker = Marker::new(session, action);
        self.deliver(entry, |gh| {
            gh.post_comment_unless_repeated(repo, number, &marker, body)
                .map(|_| ())
        })
    }

    /// Adds and removes labels in one delta.
    pub fn labels(
        &mut self,
        repo: &str,
        item: Item,
        number: u64,
        add: &[&str],
        remove: &[&str],
    ) -> anyhow::Result<()> {
        if add.is_empty() && remove.is_empty() {
            return Ok(());
        }
        let entry = Action::Labels {
            repo: repo.to_string(),
            item,
            number,
            add: add.iter().map(|s| s.to_string()).collect(),
            remove: remove.iter().map(|s| s.to_string()).collect(),
        };
        self.deliver(entry, |gh| gh.edit_labels(repo, item, number, add, remove))
    }

    /// Tries `attempt`; queues `entry` when it fails (or without `gh`).
    /// Nothing is tried while older entries wait, so writes stay in order.
    fn deliver(
        &mut self,
        entry: Action,
        attempt: impl FnOnce(&Gh) -> Result<(), GhError>,
    ) -> anyhow::Result<()> {
        let waiting = !self.outbox.pending()?.is_empty();
        let error = match (&self.gh, waiting) {
            (Some(gh), false) => match attempt(gh) {
                Ok(()) => return Ok(()),
                Err(e) => e.to_string(),
            },
            (Some(_), true) => "older writes are still queued".to_string(),
            (None, _) => self
                .gh_error
                .as_ref()
                .map_or_else(|| "no gh".to_string(), ToString::to_string),
        };
        let path = self.outbox.push(&entry)?;
        self.queued.push(format!(
            "{}: queued in {}: {error}",
            entry.name(),
            path.display()
        ));
        Ok(())
    }

    /// Replays the outbox (see [`replay`]); without `gh` everything stays.
    pub fn settle(&mut self) -> anyhow::Result<Settled> {
        match &self.gh {
            Some(gh) => replay(gh, &self.outbox),
            None => Ok(Settled {
                pending: self.outbox.pending()?.len(),
                error: self.gh_error.as_ref().map(ToString::to_string),
                ..Settled::default()
            }),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn runs_with_queued_writes_are_found() {
        let d = tempfile::tempdir().unwrap();
        for run in ["a", "b", "c"] {
            std::fs::create_dir(d.path().join(run)).unwrap();
        }
        let action = Action::Labels {
            repo: "o/r".into(),
            item: Item::Issue,
            number: 1,
            add: vec!["x".into()],
            remove: vec![],
        };
        Outbox::new(&d.path().join("b")).push(&action).unwrap();
        std::fs::create_dir_all(d.path().join("c/outbox/dead")).unwrap();
        assert_eq!(dirs_with_pending_outbox(d.path()), [d.path().join("b")]);
        let gone = Effects::new(
            Err(GhError::new(ErrorKind::Transport, "gh", "no gh")),
            &d.path().join("a"),
        );
        assert!(gone.gh().is_none());
    }
}
