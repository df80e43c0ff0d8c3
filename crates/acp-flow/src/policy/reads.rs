//! Where the policy's GitHub data comes from: one open-issue list and one
//! open-PR list per pass (`acp_github::Gh`'s process snapshot answers every
//! later question), issue views only for issues the lists do not hold.
//!
//! A bash caller (the hook file's functions, one process each) passes a
//! cache directory: the answers are kept there as files, fresh for
//! [`CACHE_TTL_SECONDS`] (F17: a long-lived caller never sees a frozen
//! snapshot), and the directory belongs to the calling shell, so it is
//! removed once that shell is gone ([`prune_cache_dirs`]).

use std::path::{Path, PathBuf};
use std::rc::Rc;

use acp_core::{Env, fsx, procid::ProcId};
use acp_github::Gh;
use anyhow::{Context, Result};
use serde_json::Value;

/// How long a cached answer of a bash caller stays fresh.
pub const CACHE_TTL_SECONDS: i64 = 60;

/// The policy's GitHub reads.
pub struct Reads {
    env: Env,
    repo: String,
    gh: Option<Gh>,
    cache_dir: Option<PathBuf>,
}

impl Reads {
    pub fn new(env: Env, repo: &str, cache_dir: Option<PathBuf>) -> Reads {
        Reads {
            env,
            repo: repo.to_string(),
            gh: None,
            cache_dir,
        }
    }

    /// The process's `Gh` (made on first use).
    pub fn gh(&mut self) -> Result<&Gh> {
        if self.gh.is_none() {
            self.gh = Some(Gh::new(self.env.clone())?);
        }
        self.gh.as_ref().context("no gh")
    }

    pub fn repo(&self) -> &str {
        &self.repo
    }

    fn cached(&self, name: &str) -> Option<Value> {
        let file = self.cache_dir.as_ref()?.join(name);
        let age = acp_core::time::now_epoch() - fsx::mtime_epoch(&file)?;
        if !(0..CACHE_TTL_SECONDS).contains(&age) {
            return None;
        }
        let bytes = fsx::read_capped(&file, 256 << 20).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    fn keep(&self, name: &str, v: &Value) -> Result<()> {
        let Some(dir) = &self.cache_dir else {
            return Ok(());
        };
        fsx::create_dir_all(dir)?;
        fsx::atomic_write(&dir.join(name), &serde_json::to_vec(v)?)
    }

    fn list(
        &mut self,
        name: &str,
        read: fn(&Gh, &str) -> Result<Rc<Value>, acp_github::GhError>,
    ) -> Result<Rc<Value>> {
        if let Some(v) = self.cached(name) {
            return Ok(Rc::new(v));
        }
        let repo = self.repo.clone();
        let v = read(self.gh()?, &repo)?;
        self.keep(name, &v)?;
        Ok(v)
    }

    /// Every open issue (a JSON array).
    pub fn issues(&mut self) -> Result<Rc<Value>> {
        self.list("issues.json", Gh::open_issue_list)
    }

    /// Every open PR (a JSON array).
    pub fn prs(&mut self) -> Result<Rc<Value>> {
        self.list("prs.json", Gh::open_pr_list)
    }

    /// The open issue `id` from the list when the list was read, else its
    /// view (with comments); `None` when GitHub has none.
    pub fn issue(&mut self, id: u64) -> Result<Value> {
        let name = format!("issue-{id}.json");
        if let Some(v) = self.cached(&name) {
            return Ok(v);
        }
        if let Some(v) = self.listed_issue(id) {
            return Ok(v);
        }
        self.issue_view(id)
    }

    /// The issue from a list already read in this process (or cached).
    fn listed_issue(&mut self, id: u64) -> Option<Value> {
        let list = self.cached("issues.json").map(Rc::new).or_else(|| {
            // Only a list this process already holds: no read for it.
            let repo = self.repo.clone();
            self.gh.as_ref()?.issue_list_if_read(&repo)
        })?;
        list.as_array()?
            .iter()
            .find(|i| super::select::number(i) == Some(id))
            .cloned()
    }

    /// The issue's view with its comments (one `gh issue view` call, kept).
    pub fn issue_view(&mut self, id: u64) -> Result<Value> {
        let name = format!("issue-{id}.json");
        let repo = self.repo.clone();
        let thread = self.gh()?.issue_view_json(&repo, id)?;
        self.keep(&name, &thread)?;
        Ok((*thread).clone())
    }

    /// The open PR `pr` from the list, else its view.
    pub fn pr(&mut self, pr: u64) -> Result<Value> {
        let list = self.prs()?;
        if let Some(v) = list
            .as_array()
            .and_then(|a| a.iter().find(|p| super::select::number(p) == Some(pr)))
        {
            return Ok(v.clone());
        }
        let repo = self.repo.clone();
        let p = self.gh()?.pr(&repo, pr)?;
        Ok(serde_json::json!({
            "number": p.number,
            "labels": p.labels,
            "headRefName": p.head_ref_name,
            "headRefOid": p.head_ref_oid,
            "body": p.body,
        }))
    }

    /// Forgets every answer (after effects that change GitHub).
    pub fn invalidate(&mut self) {
        if let Some(gh) = &self.gh {
            gh.forget_repo_reads(&self.repo);
        }
        if let Some(dir) = &self.cache_dir
            && let Ok(entries) = std::fs::read_dir(dir)
        {
            for e in entries.flatten() {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// The cache directory of the bash caller `owner_pid` under `$TMPDIR`
/// (`acp-heartbeat-hooks.<uid>/<pid>-<start>`).
pub fn cache_dir_for(env: &Env, owner_pid: u32) -> PathBuf {
    let tmp = env
        .non_empty("TMPDIR")
        .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
    let uid = real_uid();
    let owner = ProcId::of(owner_pid).unwrap_or(ProcId {
        pid: owner_pid,
        start: String::new(),
    });
    let start: String = owner
        .start
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    tmp.join(format!("acp-heartbeat-hooks.{uid}"))
        .join(format!("{}-{start}", owner.pid))
}

/// The real user id (the cache root is per user).
#[allow(unsafe_code)]
fn real_uid() -> u32 {
    // SAFETY: getuid() has no preconditions, cannot fail and touches no memory.
    unsafe { libc::getuid() }
}

/// Removes the cache directories (siblings of `dir`) whose shell is gone.
/// Returns how many were removed.
pub fn prune_cache_dirs(dir: &Path) -> usize {
    let Some(root) = dir.parent() else {
        return 0;
    };
    let Ok(entries) = std::fs::read_dir(root) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some((pid, start)) = name.split_once('-') else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        let alive = ProcId::of(pid).is_some_and(|now| {
            let now: String = now
                .start
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect();
            start.is_empty() || now == start
        });
        if !alive && std::fs::remove_dir_all(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cache_dirs_of_gone_shells_are_removed() {
        let t = tempfile::tempdir().unwrap();
        let mut env = Env::new();
        env.set("TMPDIR", t.path());
        let mine = cache_dir_for(&env, std::process::id());
        std::fs::create_dir_all(&mine).unwrap();
        let root = mine.parent().unwrap().to_path_buf();
        let gone = root.join("999999999-1");
        std::fs::create_dir_all(&gone).unwrap();
        assert_eq!(prune_cache_dirs(&mine), 1);
        assert!(mine.is_dir() && !gone.exists());
    }
}
