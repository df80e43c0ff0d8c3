//! One call against the world file: lock, log, load, faults, answer, save.

use std::path::Path;

use acp_core::fsx;
use anyhow::Context;
use serde_json::Value;

use crate::answer;

/// One `gh` command line and where its world lives.
pub struct Call<'a> {
    pub argv: &'a [String],
    pub world_path: &'a Path,
    pub log: Option<&'a Path>,
    pub unknown_log: Option<&'a Path>,
    pub has_token: bool,
}

/// What `gh` prints and its exit status.
pub struct Reply {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

/// An answer: text or JSON on stdout, or a failure message on stderr.
pub enum Out {
    Text(String),
    Json(Value),
}

/// A failed call: gh's message (exit 1).
pub struct Die(pub String);

/// The result of one handler: `Ok(None)` when the call is not its shape.
pub type Answer = Result<Option<Out>, Die>;

/// Answers one call under the world's lock; the world is saved (atomically)
/// whatever the answer, as `gh` calls that failed may have changed it
/// (fault counters, a write done before a 502).
pub fn call(c: &Call<'_>) -> anyhow::Result<Reply> {
    let mut lock = Some(fsx::Lock::beside(c.world_path)?);
    if let Some(log) = c.log {
        let line = serde_json::to_string(c.argv)? + "\n";
        fsx::append(log, line.as_bytes())?;
    }
    let mut world = load(c.world_path)?;
    let faulted = gh(c, &mut world).faults();
    let (result, fail_after) = match faulted {
        Err(die) => (Err(die), false),
        Ok(f) => {
            if f.hang {
                // Hang without holding the world: other calls go on.
                save(c.world_path, &world)?;
                drop(lock.take());
                std::thread::sleep(std::time::Duration::from_secs(60));
                lock = Some(fsx::Lock::beside(c.world_path)?);
                world = load(c.world_path)?;
            }
            (gh(c, &mut world).answer(), f.fail_after)
        }
    };
    let reply = match result {
        Ok(Some(out)) => {
            let stdout = match out {
                Out::Text(t) => t,
                Out::Json(v) => serde_json::to_string(&v)? + "\n",
            };
            if fail_after {
                reply(stdout, "gh: Bad Gateway (HTTP 502)", 1)
            } else {
                reply(stdout, "", 0)
            }
        }
        Ok(None) => {
            let line = c.argv.join(" ");
            if let Some(unknown) = c.unknown_log {
                fsx::append(unknown, format!("{line}\n").as_bytes())?;
            }
            reply(
                String::new(),
                &format!("fake gh: unknown command: {line}"),
                1,
            )
        }
        Err(Die(msg)) => reply(String::new(), &msg, 1),
    };
    save(c.world_path, &world)?;
    drop(lock);
    Ok(reply)
}

fn gh<'a>(c: &'a Call<'_>, world: &'a mut Value) -> answer::Gh<'a> {
    answer::Gh {
        argv: c.argv,
        world,
        has_token: c.has_token,
    }
}

fn load(path: &Path) -> anyhow::Result<Value> {
    let bytes = fsx::read(path)?;
    serde_json::from_slice(&bytes).with_context(|| format!("{}: not a JSON world", path.display()))
}

fn save(path: &Path, world: &Value) -> anyhow::Result<()> {
    fsx::atomic_write(path, &serde_json::to_vec_pretty(world)?)
}

fn reply(stdout: String, stderr: &str, code: i32) -> Reply {
    let stderr = if stderr.is_empty() {
        String::new()
    } else {
        format!("{stderr}\n")
    };
    Reply {
        stdout,
        stderr,
        code,
    }
}
