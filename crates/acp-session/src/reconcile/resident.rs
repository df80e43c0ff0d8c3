//! The resident lane's `metadata.env` after a reconcile: the run's summary
//! (`LAST_STATUS`, `LAST_OUTCOME`, `LAST_ACTION`, `LAST_FAILURE_REASON`)
//! and the lane kind and value, back-filled from the worker key.

use std::ffi::OsString;
use std::path::Path;

use acp_core::envfile::{self, EnvFile, Mode};
use acp_core::shellquote::QuoteLocale;

/// Backends whose name ends a lane key (`issue-lane-<kind>-<value>-<backend>-<mode>`).
/// The original knew codex, openclaw and claude only (F14).
const BACKENDS: &[&str] = &[
    "codex", "openclaw", "claude", "ollama", "pi", "opencode", "kilo",
];

/// `(kind, value)` of a lane key such as
/// `issue-lane-scheduled-1800-openclaw-safe` (`scheduled`, `1800`).
pub fn lane_from_key(key: &str) -> Option<(String, String)> {
    let payload = key.strip_prefix("issue-lane-")?;
    let payload = payload
        .strip_suffix("-safe")
        .or_else(|| payload.strip_suffix("-bypass"))?;
    let payload = BACKENDS
        .iter()
        .find_map(|b| payload.strip_suffix(&format!("-{b}")))?;
    let (kind, value) = payload.split_once('-')?;
    (!kind.is_empty()).then(|| (kind.to_string(), value.to_string()))
}

/// The summary a reconcile records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub status: String,
    pub outcome: String,
    pub action: String,
    pub failure_reason: String,
}

/// Rewrites the lane metadata of a resident run. `var` looks a variable up
/// the way the original saw it (run.env, result.env, then the process
/// environment); nothing happens unless `RESIDENT_WORKER_ENABLED=yes` and
/// `RESIDENT_WORKER_META_FILE` is set. Values the run does not carry are
/// kept from the existing file.
pub fn update_lane_metadata(
    var: &dyn Fn(&str) -> String,
    session: &str,
    issue_id: &str,
    summary: &Summary,
    locale: QuoteLocale,
) -> anyhow::Result<()> {
    let file = var("RESIDENT_WORKER_META_FILE");
    if var("RESIDENT_WORKER_ENABLED") != "yes" || file.is_empty() {
        return Ok(());
    }
    let path = Path::new(&file);
    let old = EnvFile::load_if_exists(path, Mode::Lenient)?;
    let stored = |k: &str| old.as_ref().map(|f| f.get_or_empty(k)).unwrap_or_default();
    let first = |vals: &[String]| {
        vals.iter()
            .find(|v| !v.is_empty())
            .cloned()
            .unwrap_or_default()
    };
    let key = first(&[var("RESIDENT_WORKER_KEY"), stored("RESIDENT_WORKER_KEY")]);
    let lane = lane_from_key(&key);
    let mut kind = first(&[var("RESIDENT_LANE_KIND"), stored("RESIDENT_LANE_KIND")]);
    let mut value = first(&[var("RESIDENT_LANE_VALUE"), stored("RESIDENT_LANE_VALUE")]);
    if kind.is_empty() {
        kind = lane.as_ref().map(|l| l.0.clone()).unwrap_or_default();
    }
    if value.is_empty() {
        value = lane.as_ref().map(|l| l.1.clone()).unwrap_or_default();
    }
    let openclaw = |k: &str| first(&[var(&format!("RESIDENT_{k}")), var(k), stored(k)]);
    let or = |v: String, d: &str| if v.is_empty() { d.to_string() } else { v };
    let worktree = var("WORKTREE");
    let pairs: Vec<(&str, String)> = vec![
        ("RESIDENT_WORKER_KIND", "issue".into()),
        (
            "RESIDENT_WORKER_SCOPE",
            or(
                first(&[
                    var("RESIDENT_WORKER_SCOPE"),
                    stored("RESIDENT_WORKER_SCOPE"),
                ]),
                "lane",
            ),
        ),
        ("RESIDENT_WORKER_KEY", or(key, &format!("issue-{issue_id}"))),
        ("RESIDENT_LANE_KIND", kind),
        ("RESIDENT_LANE_VALUE", value),
        ("ISSUE_ID", issue_id.into()),
        ("ADAPTER_ID", var("ADAPTER_ID")),
        ("CODING_WORKER", or(var("CODING_WORKER"), "openclaw")),
        ("WORKTREE", worktree.clone()),
        (
            "WORKTREE_REALPATH",
            or(
                first(&[
                    var("RESIDENT_WORKTREE_REALPATH"),
                    stored("WORKTREE_REALPATH"),
                ]),
                &worktree,
            ),
        ),
        ("LAST_BRANCH", var("BRANCH")),
        ("OPENCLAW_AGENT_ID", openclaw("OPENCLAW_AGENT_ID")),
        ("OPENCLAW_SESSION_ID", openclaw("OPENCLAW_SESSION_ID")),
        ("OPENCLAW_AGENT_DIR", openclaw("OPENCLAW_AGENT_DIR")),
        ("OPENCLAW_STATE_DIR", openclaw("OPENCLAW_STATE_DIR")),
        ("OPENCLAW_CONFIG_PATH", openclaw("OPENCLAW_CONFIG_PATH")),
        ("TASK_COUNT", or(var("RESIDENT_TASK_COUNT"), "1")),
        ("LAST_STARTED_AT", var("STARTED_AT")),
        ("LAST_FINISHED_AT", acp_core::time::now_utc_iso()),
        ("LAST_RUN_SESSION", session.into()),
        ("LAST_STATUS", summary.status.clone()),
        ("LAST_OUTCOME", summary.outcome.clone()),
        ("LAST_ACTION", summary.action.clone()),
        ("LAST_FAILURE_REASON", summary.failure_reason.clone()),
        (
            "LAST_WORKTREE_REUSED",
            or(
                first(&[
                    var("RESIDENT_WORKTREE_REUSED"),
                    stored("LAST_WORKTREE_REUSED"),
                ]),
                "no",
            ),
        ),
    ];
    let pairs: Vec<(&str, OsString)> = pairs
        .into_iter()
        .map(|(k, v)| (k, OsString::from(v)))
        .collect();
    if let Some(dir) = path.parent() {
        acp_core::fsx::create_dir_all(dir)?;
    }
    envfile::write_all(path, &pairs, locale)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lane_keys_of_every_backend_parse() {
        let l = |k: &str| lane_from_key(k);
        assert_eq!(
            l("issue-lane-scheduled-1800-openclaw-safe"),
            Some(("scheduled".into(), "1800".into()))
        );
        assert_eq!(
            l("issue-lane-recurring-general-codex-bypass"),
            Some(("recurring".into(), "general".into()))
        );
        assert_eq!(
            l("issue-lane-recurring-general-ollama-safe"),
            Some(("recurring".into(), "general".into()))
        );
        assert_eq!(l("issue-42"), None);
        assert_eq!(l("issue-lane-x-codex-safe"), None);
        assert_eq!(l("issue-lane-a-b-gpt-safe"), None);
        for backend in BACKENDS {
            assert_eq!(
                l(&format!("issue-lane-scheduled-1800-{backend}-bypass")),
                Some(("scheduled".into(), "1800".into())),
                "{backend}"
            );
        }
    }
}
