//! Launch intents (restart safety): before a launch the pass records
//! `STATE/launch-journal/<kind>-<id>.env` (`STATE=intent`, the pass's
//! process identity, the time); after a successful launch the record says
//! `STATE=launched`, after a failed one (labels rolled back) it is removed.
//!
//! The next pass reads the records before planning ([`review`]):
//! - the item's session exists or its pending launch is alive: the record
//!   has done its job and is removed;
//! - the recording pass is still running (another pass, now): the item is
//!   being launched, so it is neither launched again nor free capacity;
//! - younger than the grace period (`ACP_LAUNCH_INTENT_GRACE_SECONDS`,
//!   120): the worker may still be starting, the item is not launched again;
//! - older, from a pass that died mid-launch (`STATE=intent`): the running
//!   labels it may have set are rolled back and the item is free again;
//!   older `STATE=launched` records are dropped.
//!
//! Two passes at once: the record is created exclusively, so of two passes
//! that planned the same launch only the first one launches it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use acp_core::procid::ProcId;
use anyhow::{Context, Result};

use super::{PassArgs, state};

pub const GRACE_SECONDS: i64 = 120;

fn dir(state_root: &Path) -> PathBuf {
    state_root.join("launch-journal")
}

/// A recorded launch intent; [`Intent::done`] closes it.
pub struct Intent {
    path: Option<PathBuf>,
    /// Another live pass owns this launch.
    pub taken: bool,
}

impl Intent {
    /// Records the intent to launch `kind-id` (nothing in a dry run).
    pub fn record(args: &PassArgs, kind: &str, id: &str) -> Result<Intent> {
        if args.dry_run {
            return Ok(Intent {
                path: None,
                taken: false,
            });
        }
        let d = dir(&args.state_root);
        acp_core::fsx::create_dir_all(&d)?;
        let path = d.join(format!("{kind}-{id}.env"));
        let me = ProcId::current();
        let text = format!(
            "KIND={kind}\nITEM_ID={id}\nSTATE=intent\nPASS={}\nRECORDED_AT={}\n",
            me.to_line(),
            acp_core::time::now_epoch()
        );
        let grace = grace(&args.env);
        let now = acp_core::time::now_epoch();
        let busy = |r: Option<Record>| r.is_some_and(|r| held_by_other(&r, &me, now, grace));
        if busy(read(&path)) {
            return Ok(Intent {
                path: None,
                taken: true,
            });
        }
        let tmp = d.join(format!(".{kind}-{id}.{}.tmp", me.pid));
        let mut f = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(text.as_bytes())
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        drop(f);
        // Link, not rename: of two passes racing here only one creates it.
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        if linked.is_err() {
            if busy(read(&path)) {
                return Ok(Intent {
                    path: None,
                    taken: true,
                });
            }
            acp_core::fsx::atomic_write(&path, text.as_bytes())?;
        }
        Ok(Intent {
            path: Some(path),
            taken: false,
        })
    }

    /// The launch succeeded: the record says so until the next pass sees
    /// the session (or the grace period ends).
    pub fn launched(self) -> Result<()> {
        if let Some(path) = &self.path {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let text = text.replace("STATE=intent", "STATE=launched");
            acp_core::fsx::atomic_write(path, text.as_bytes())?;
        }
        Ok(())
    }

    /// The launch failed and was rolled back: forget it.
    pub fn done(self) -> Result<()> {
        if let Some(path) = &self.path {
            acp_core::fsx::remove_file_if_exists(path)?;
        }
        Ok(())
    }
}

/// Whether record `r` stands for a launch another pass owns now: its
/// pass is alive, or it launched within the grace period.
fn held_by_other(r: &Record, me: &ProcId, now: i64, grace: i64) -> bool {
    let owner_alive = r
        .owner
        .as_ref()
        .is_some_and(|o| o != me && state::proc_alive(o));
    owner_alive || (r.launched && now - r.recorded_at < grace)
}

/// One journal record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub kind: String,
    pub id: String,
    pub launched: bool,
    pub owner: Option<ProcId>,
    pub recorded_at: i64,
    pub path: PathBuf,
}

fn read(path: &Path) -> Option<Record> {
    let name = path.file_stem()?.to_string_lossy().into_owned();
    let (kind, id) = name.split_once('-')?;
    Some(Record {
        kind: kind.to_owned(),
        id: id.to_owned(),
        launched: state::kv_value(path, "STATE").as_deref() == Some("launched"),
        owner: state::kv_value(path, "PASS").and_then(|l| ProcId::parse(&l)),
        recorded_at: state::epoch_field(path, "RECORDED_AT"),
        path: path.to_path_buf(),
    })
}

/// What the journal says about an item for this pass's planning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Being launched by a live pass: not launchable, counts as running.
    Launching,
    /// Recently launched or cut short: not launchable, no capacity.
    Settling,
}

/// What [`review`] decided for each record.
pub enum Verdict {
    Hold(Hold),
    /// Remove the record; `rollback` when a dead pass may have left
    /// running labels without a worker.
    Drop {
        rollback: bool,
    },
}

/// The verdict on `r` at `now`, given whether its session or pending
/// launch exists (`started`).
pub fn verdict(r: &Record, started: bool, now: i64, grace: i64) -> Verdict {
    if started {
        return Verdict::Drop { rollback: false };
    }
    let me = ProcId::current();
    if let Some(owner) = &r.owner
        && *owner != me
        && !r.launched
        && state::proc_alive(owner)
    {
        return Verdict::Hold(Hold::Launching);
    }
    if now - r.recorded_at < grace {
        return Verdict::Hold(Hold::Settling);
    }
    Verdict::Drop {
        rollback: !r.launched,
    }
}

/// The records of the journal, by (kind, id).
pub fn records(state_root: &Path) -> BTreeMap<(String, String), Record> {
    let mut out = BTreeMap::new();
    let Ok(rd) = std::fs::read_dir(dir(state_root)) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "env")
            && let Some(r) = read(&p)
        {
            out.insert((r.kind.clone(), r.id.clone()), r);
        }
    }
    out
}

/// The grace period from the environment.
pub fn grace(env: &acp_core::Env) -> i64 {
    env.non_empty("ACP_LAUNCH_INTENT_GRACE_SECONDS")
        .and_then(|v| v.parse().ok())
        .unwrap_or(GRACE_SECONDS)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn rec(owner: Option<ProcId>, launched: bool, at: i64) -> Record {
        Record {
            kind: "issue".into(),
            id: "1".into(),
            launched,
            owner,
            recorded_at: at,
            path: PathBuf::from("/nonexistent"),
        }
    }

    #[test]
    fn verdicts() {
        let dead = ProcId {
            pid: u32::MAX - 1,
            start: "1".into(),
        };
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let live = ProcId::of(child.id()).unwrap();
        let v = |r: &Record, started| match verdict(r, started, 1000, 120) {
            Verdict::Hold(Hold::Launching) => "launching",
            Verdict::Hold(Hold::Settling) => "settling",
            Verdict::Drop { rollback: true } => "rollback",
            Verdict::Drop { rollback: false } => "drop",
        };
        assert_eq!(v(&rec(Some(live.clone()), false, 0), true), "drop");
        assert_eq!(v(&rec(Some(live.clone()), false, 0), false), "launching");
        assert_eq!(v(&rec(Some(live), true, 990), false), "settling");
        assert_eq!(v(&rec(Some(dead.clone()), false, 990), false), "settling");
        assert_eq!(v(&rec(Some(dead.clone()), false, 0), false), "rollback");
        assert_eq!(v(&rec(Some(dead), true, 0), false), "drop");
        let _ = child.kill();
        let _ = child.wait();
    }

    #[test]
    fn a_live_other_owner_takes_the_launch() {
        let d = tempfile::tempdir().unwrap();
        let args = PassArgs {
            state_root: d.path().to_path_buf(),
            ..PassArgs::default()
        };
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let other = ProcId::of(child.id()).unwrap();
        std::fs::create_dir_all(dir(d.path())).unwrap();
        let text = format!("STATE=intent\nPASS={}\nRECORDED_AT=1\n", other.to_line());
        std::fs::write(dir(d.path()).join("pr-7.env"), text).unwrap();
        assert!(Intent::record(&args, "pr", "7").unwrap().taken);
        let _ = child.kill();
        let _ = child.wait();
        let mine = Intent::record(&args, "pr", "7").unwrap();
        assert!(!mine.taken, "a dead owner's record is taken over");
        mine.launched().unwrap();
        let r = records(d.path());
        assert!(r[&("pr".to_owned(), "7".to_owned())].launched);
    }
}
