//! Resident issue lanes (spec 3.10): lane keys, the per-lane
//! `metadata.env` (KV `%q`, parsed, never sourced: F1), the reuse decision
//! and the lane's `worktree` symlink alias.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use acp_core::config::{self, FlowConfig};
use acp_core::envfile::{self, EnvFile, Mode};
use acp_core::shellquote::QuoteLocale;
use acp_core::{Env, fsx};

/// `(kind, value)` of a lane key; every backend's suffix is understood
/// (codex, openclaw, claude, ollama, pi, opencode, kilo: F14).
pub use crate::reconcile::resident::lane_from_key;

/// Backends that run issues in resident lanes.
pub const RESIDENT_BACKENDS: &[&str] = &["codex", "openclaw", "claude", "ollama", "pi"];

/// `resident-workers/` under the state root.
pub fn resident_root(state_root: &Path) -> PathBuf {
    state_root.join("resident-workers")
}

/// `resident-workers/issues/<id or lane key>/`.
pub fn issue_dir(state_root: &Path, key: &str) -> PathBuf {
    resident_root(state_root).join("issues").join(key)
}

/// `<lane dir>/metadata.env`.
pub fn meta_file(state_root: &Path, key: &str) -> PathBuf {
    issue_dir(state_root, key).join("metadata.env")
}

/// An id usable as a file-name part: not empty, no `/`, NUL or newline,
/// not `.`/`..`.
pub(crate) fn is_plain_id(id: &str) -> bool {
    !id.is_empty() && id != "." && id != ".." && !id.contains(['/', '\0', '\n'])
}

/// Whether `backend` runs issues in resident lanes.
pub fn backend_supported(backend: &str) -> bool {
    RESIDENT_BACKENDS.contains(&backend)
}

/// The original's id sanitiser: lower case, runs of `[^a-z0-9._-]` become
/// `-`, leading and trailing `-` trimmed, repeated `-` collapsed, at most
/// 63 characters.
pub fn sanitize_id(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut dash = false;
    for c in raw.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-') {
            if c == '-' {
                if !dash && !out.is_empty() {
                    out.push('-');
                }
                dash = true;
            } else {
                out.push(c);
                dash = false;
            }
        } else {
            if !dash && !out.is_empty() {
                out.push('-');
            }
            dash = true;
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out.chars().take(63).collect()
}

/// `issue-lane-<kind>-<value>-<backend>-<mode>`, sanitised; the original's
/// defaults for empty parts are `recurring`, `general`, `openclaw`, `safe`.
pub fn lane_key(backend: &str, mode: &str, kind: &str, value: &str) -> String {
    let or = |s: &str, d: &'static str| {
        if s.is_empty() {
            d.to_owned()
        } else {
            s.to_owned()
        }
    };
    sanitize_id(&format!(
        "issue-lane-{}-{}-{}-{}",
        or(kind, "recurring"),
        or(value, "general"),
        or(backend, "openclaw"),
        or(mode, "safe")
    ))
}

/// The openclaw agent id of a lane: `<adapter>-resident-<lane key>`.
pub fn openclaw_agent_id(adapter: &str, lane_key: &str) -> String {
    sanitize_id(&format!("{adapter}-resident-{lane_key}"))
}

/// The openclaw conversation of one cycle:
/// `<adapter>-resident-session-issue-<id>-cycle-<n>` (a new thread per task).
pub fn openclaw_session_id(adapter: &str, issue_id: &str, cycle: u64) -> String {
    sanitize_id(&format!(
        "{adapter}-resident-session-issue-{issue_id}-cycle-{cycle}"
    ))
}

/// The lane knobs: env beats YAML beats default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `ACP_RESIDENT_ISSUE_WORKERS_ENABLED` / `execution.resident_workers.issue_reuse_enabled` (on).
    pub enabled: bool,
    /// `..._WORKER_MAX_TASKS` / `issue_max_tasks_per_worker` (12; 0 = no cap).
    pub max_tasks: u64,
    /// `..._WORKER_MAX_AGE_SECONDS` / `issue_max_age_seconds` (86400; 0 = no cap).
    pub max_age_seconds: i64,
}

/// `1`, `true`, `yes`, `on` (lower or upper case) as the original reads them.
pub fn truthy(v: &str) -> bool {
    matches!(v, "1" | "true" | "TRUE" | "yes" | "YES" | "on" | "ON")
}

impl Settings {
    pub fn load(env: &Env, cfg: &FlowConfig) -> Self {
        let get = |suffix: &str, key: &str, default: &str| {
            let acp = format!("ACP_{suffix}");
            let fl = format!("F_LOSNING_{suffix}");
            config::env_or_config(env, cfg, &[acp.as_str(), fl.as_str()], key, default)
        };
        let base = "execution.resident_workers";
        Self {
            enabled: truthy(&get(
                "RESIDENT_ISSUE_WORKERS_ENABLED",
                &format!("{base}.issue_reuse_enabled"),
                "1",
            )),
            max_tasks: get(
                "RESIDENT_ISSUE_WORKER_MAX_TASKS",
                &format!("{base}.issue_max_tasks_per_worker"),
                "12",
            )
            .trim()
            .parse()
            .unwrap_or(0),
            max_age_seconds: get(
                "RESIDENT_ISSUE_WORKER_MAX_AGE_SECONDS",
                &format!("{base}.issue_max_age_seconds"),
                "86400",
            )
            .trim()
            .parse()
            .unwrap_or(0),
        }
    }
}

/// A lane's `metadata.env`, parsed (never executed).
#[derive(Debug, Clone, Default)]
pub struct Metadata {
    values: std::collections::BTreeMap<String, OsString>,
}

impl Metadata {
    /// The file's values; `None` when it does not exist.
    pub fn read(path: &Path) -> anyhow::Result<Option<Self>> {
        Ok(EnvFile::load_if_exists(path, Mode::Lenient)?.map(|f| Self { values: f.to_map() }))
    }

    /// A value, empty when absent.
    pub fn get(&self, key: &str) -> String {
        self.values
            .get(key)
            .map(|v| v.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// `TASK_COUNT` as a number (0 when missing or not a number).
    pub fn task_count(&self) -> u64 {
        self.get("TASK_COUNT").parse().unwrap_or(0)
    }
}

/// Why a lane's worktree cannot be reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoReuse {
    NoMetadata,
    WorktreeUnusable,
    TaskCap,
    TooOld,
    NoTimestamp,
}

/// Whether `worktree` is a directory holding `.git` and, when `realpath`
/// is recorded, both name the same physical directory.
pub fn worktree_usable(worktree: &str, realpath: &str) -> bool {
    let wt = Path::new(worktree);
    if worktree.is_empty() || !wt.is_dir() || !wt.join(".git").exists() {
        return false;
    }
    if realpath.is_empty() {
        return true;
    }
    let rp = Path::new(realpath);
    if !rp.is_dir() || !rp.join(".git").exists() {
        return false;
    }
    match (std::fs::canonicalize(wt), std::fs::canonicalize(rp)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The reuse decision of `flow_resident_issue_can_reuse`: usable worktree,
/// `TASK_COUNT` below the cap, and the last finish (else start) no older
/// than the age cap.
pub fn can_reuse(meta: Option<&Metadata>, s: &Settings, now_epoch: i64) -> Result<(), NoReuse> {
    let meta = meta.ok_or(NoReuse::NoMetadata)?;
    if !worktree_usable(&meta.get("WORKTREE"), &meta.get("WORKTREE_REALPATH")) {
        return Err(NoReuse::WorktreeUnusable);
    }
    if s.max_tasks > 0 && meta.task_count() >= s.max_tasks {
        return Err(NoReuse::TaskCap);
    }
    if s.max_age_seconds > 0 {
        let finished = meta.get("LAST_FINISHED_AT");
        let reference = if finished.is_empty() {
            meta.get("LAST_STARTED_AT")
        } else {
            finished
        };
        let epoch = strict_iso_epoch(&reference).ok_or(NoReuse::NoTimestamp)?;
        if now_epoch - epoch > s.max_age_seconds {
            return Err(NoReuse::TooOld);
        }
    }
    Ok(())
}

/// `YYYY-mm-ddTHH:MM:SSZ` (exactly that shape) as epoch seconds.
pub fn strict_iso_epoch(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    let shape = b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z';
    if !shape {
        return None;
    }
    acp_core::time::parse_iso_epoch(s)
}

/// What a start records in the lane's `metadata.env` (the original's rows,
/// in its order).
#[derive(Debug, Clone, Default)]
pub struct Record {
    pub key: String,
    pub lane_kind: String,
    pub lane_value: String,
    pub issue_id: String,
    pub adapter_id: String,
    pub coding_worker: String,
    pub worktree: String,
    pub worktree_realpath: String,
    pub branch: String,
    pub openclaw_agent_id: String,
    pub openclaw_session_id: String,
    pub openclaw_agent_dir: String,
    pub openclaw_state_dir: String,
    pub openclaw_config_path: String,
    pub task_count: u64,
    pub started_at: String,
    pub finished_at: String,
    pub session: String,
    pub reused: bool,
}

impl Record {
    /// The rows, `LAST_STATUS=running`; an empty kind or value is taken
    /// from the key.
    pub fn rows(&self) -> Vec<(&'static str, String)> {
        let from_key = lane_from_key(&self.key).unwrap_or_default();
        let or = |v: &str, d: &str| {
            if v.is_empty() {
                d.to_string()
            } else {
                v.to_string()
            }
        };
        vec![
            ("RESIDENT_WORKER_KIND", "issue".into()),
            ("RESIDENT_WORKER_SCOPE", "lane".into()),
            ("RESIDENT_WORKER_KEY", self.key.clone()),
            ("RESIDENT_LANE_KIND", or(&self.lane_kind, &from_key.0)),
            ("RESIDENT_LANE_VALUE", or(&self.lane_value, &from_key.1)),
            ("ISSUE_ID", self.issue_id.clone()),
            ("ADAPTER_ID", self.adapter_id.clone()),
            ("CODING_WORKER", self.coding_worker.clone()),
            ("WORKTREE", self.worktree.clone()),
            (
                "WORKTREE_REALPATH",
                or(&self.worktree_realpath, &self.worktree),
            ),
            ("LAST_BRANCH", self.branch.clone()),
            ("OPENCLAW_AGENT_ID", self.openclaw_agent_id.clone()),
            ("OPENCLAW_SESSION_ID", self.openclaw_session_id.clone()),
            ("OPENCLAW_AGENT_DIR", self.openclaw_agent_dir.clone()),
            ("OPENCLAW_STATE_DIR", self.openclaw_state_dir.clone()),
            ("OPENCLAW_CONFIG_PATH", self.openclaw_config_path.clone()),
            ("TASK_COUNT", self.task_count.to_string()),
            ("LAST_STARTED_AT", self.started_at.clone()),
            ("LAST_FINISHED_AT", self.finished_at.clone()),
            ("LAST_RUN_SESSION", self.session.clone()),
            (
                "LAST_WORKTREE_REUSED",
                if self.reused { "yes" } else { "no" }.into(),
            ),
            ("LAST_STATUS", "running".into()),
        ]
    }

    /// Replaces `path` with the rows (`%q`, atomically, under its lock).
    pub fn write(&self, path: &Path, locale: QuoteLocale) -> anyhow::Result<()> {
        fsx::create_dir_all(&fsx::parent_dir(path))?;
        let pairs: Vec<(&str, OsString)> = self
            .rows()
            .into_iter()
            .map(|(k, v)| (k, OsString::from(v)))
            .collect();
        envfile::write_all(path, &pairs, locale)
    }
}

/// Points `<lane dir>/worktree` at the physical directory of `worktree`
/// and returns `(alias, physical path)`. The physical path is taken before
/// the old alias goes (the worktree may have been named through it). A
/// real directory at the alias path is replaced only when it is not the
/// worktree itself; then `None` (the caller keeps the worktree's path).
pub fn replace_alias(
    lane_dir: &Path,
    worktree: &Path,
) -> anyhow::Result<Option<(PathBuf, PathBuf)>> {
    let target = std::fs::canonicalize(worktree)
        .map_err(|e| anyhow::anyhow!("{}: {e}", worktree.display()))?;
    fsx::create_dir_all(lane_dir)?;
    let alias = lane_dir.join("worktree");
    match std::fs::symlink_metadata(&alias) {
        Ok(m) if m.is_dir() => {
            if std::fs::canonicalize(&alias).is_ok_and(|a| a == target) {
                return Ok(None);
            }
            fs_err::remove_dir_all(&alias)?;
        }
        Ok(_) => fs_err::remove_file(&alias)?,
        Err(_) => {}
    }
    std::os::unix::fs::symlink(&target, &alias).map_err(|e| {
        anyhow::anyhow!(
            "{}: cannot link to {}: {e}",
            alias.display(),
            target.display()
        )
    })?;
    Ok(Some((alias, target)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes_like_the_original() {
        assert_eq!(sanitize_id("--Issue  Lane/X--"), "issue-lane-x");
        assert_eq!(sanitize_id("a--b"), "a-b");
        assert_eq!(sanitize_id(&"x".repeat(80)).len(), 63);
    }

    #[test]
    fn lane_keys() {
        assert_eq!(
            lane_key("codex", "safe", "recurring", "general"),
            "issue-lane-recurring-general-codex-safe"
        );
        assert_eq!(
            lane_key("", "", "scheduled", "1800"),
            "issue-lane-scheduled-1800-openclaw-safe"
        );
        for b in ["ollama", "pi", "opencode", "kilo"] {
            let k = lane_key(b, "bypass", "scheduled", "3600");
            assert_eq!(
                lane_from_key(&k),
                Some(("scheduled".into(), "3600".into())),
                "{k}"
            );
        }
    }

    #[test]
    fn openclaw_ids() {
        assert_eq!(
            openclaw_agent_id("demo", "issue-lane-recurring-general-openclaw-safe"),
            "demo-resident-issue-lane-recurring-general-openclaw-safe"
        );
        assert_eq!(
            openclaw_session_id("demo", "441", 2),
            "demo-resident-session-issue-441-cycle-2"
        );
    }

    fn lane_with(t: &tempfile::TempDir, rows: &str) -> Metadata {
        let p = t.path().join("metadata.env");
        std::fs::write(&p, rows).unwrap();
        Metadata::read(&p).unwrap().unwrap()
    }

    #[test]
    fn reuse_needs_a_usable_worktree_a_free_slot_and_a_recent_run() {
        let t = tempfile::tempdir().unwrap();
        let wt = t.path().join("wt");
        std::fs::create_dir_all(wt.join(".git")).unwrap();
        let s = Settings {
            enabled: true,
            max_tasks: 3,
            max_age_seconds: 100,
        };
        let now = acp_core::time::parse_iso_epoch("2026-01-01T00:01:00Z").unwrap();
        let ok = format!(
            "WORKTREE={}\nTASK_COUNT=2\nLAST_STARTED_AT=2026-01-01T00:00:00Z\n",
            wt.display()
        );
        assert_eq!(can_reuse(Some(&lane_with(&t, &ok)), &s, now), Ok(()));
        let full = ok.replace("TASK_COUNT=2", "TASK_COUNT=3");
        assert_eq!(
            can_reuse(Some(&lane_with(&t, &full)), &s, now),
            Err(NoReuse::TaskCap)
        );
        let old = ok.replace(
            "00:00:00Z",
            "00:00:00Z\nLAST_FINISHED_AT=2025-12-31T00:00:00Z",
        );
        assert_eq!(
            can_reuse(Some(&lane_with(&t, &old)), &s, now),
            Err(NoReuse::TooOld)
        );
        let gone = format!("WORKTREE={}/missing\nTASK_COUNT=1\n", t.path().display());
        assert_eq!(
            can_reuse(Some(&lane_with(&t, &gone)), &s, now),
            Err(NoReuse::WorktreeUnusable)
        );
        assert_eq!(can_reuse(None, &s, now), Err(NoReuse::NoMetadata));
    }

    #[test]
    fn metadata_is_parsed_not_run() {
        let t = tempfile::tempdir().unwrap();
        let flag = t.path().join("ran");
        let m = lane_with(
            &t,
            &format!(
                "TASK_COUNT=$(touch {})\nWORKTREE=`touch {}`\n",
                flag.display(),
                flag.display()
            ),
        );
        assert_eq!(m.task_count(), 0);
        assert!(!flag.exists());
    }

    #[test]
    fn record_round_trips_through_the_file() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("lane/metadata.env");
        let r = Record {
            key: "issue-lane-recurring-general-pi-safe".into(),
            issue_id: "7".into(),
            worktree: "/w with space/$(x)".into(),
            task_count: 2,
            reused: true,
            ..Record::default()
        };
        r.write(&p, QuoteLocale::C).unwrap();
        let m = Metadata::read(&p).unwrap().unwrap();
        assert_eq!(m.get("WORKTREE"), "/w with space/$(x)");
        assert_eq!(m.get("RESIDENT_LANE_KIND"), "recurring");
        assert_eq!(m.get("WORKTREE_REALPATH"), "/w with space/$(x)");
        assert_eq!(m.task_count(), 2);
        assert_eq!(m.get("LAST_WORKTREE_REUSED"), "yes");
    }
}
