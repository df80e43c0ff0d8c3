//! Where an openclaw session's agent lives: agent id, session id, and the
//! state, config and agent directories, with the launcher's defaults.

use std::path::{Path, PathBuf};

/// The longest agent id openclaw is given.
pub const MAX_AGENT_ID_LEN: usize = 63;

/// `<adapter>-<session>` lower-cased, every run of characters outside
/// `[a-z0-9._-]` turned into one `-`, dashes trimmed at both ends and
/// collapsed, cut to 63 characters (and trimmed again so the cut never
/// leaves a trailing dash). An id with nothing left becomes `agent`.
pub fn default_agent_id(adapter_id: &str, session: &str) -> String {
    let raw = format!("{adapter_id}-{session}").to_lowercase();
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let keep = c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-');
        let c = if keep { c } else { '-' };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    let mut id: String = out
        .trim_end_matches('-')
        .chars()
        .take(MAX_AGENT_ID_LEN)
        .collect();
    while id.ends_with('-') {
        id.pop();
    }
    if id.is_empty() {
        id.push_str("agent");
    }
    id
}

/// The resolved identity and directories of the session's agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentPaths {
    pub agent_id: String,
    pub session_id: String,
    pub state_dir: PathBuf,
    pub config_path: PathBuf,
    pub agent_dir: PathBuf,
}

/// Explicit values (empty = not given) win over the defaults derived from
/// the adapter, the session and the artifact dir.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub agent_id: String,
    pub session_id: String,
    pub state_dir: String,
    pub config_path: String,
    pub agent_dir: String,
}

impl AgentPaths {
    pub fn resolve(adapter_id: &str, session: &str, artifact_dir: &Path, o: &Overrides) -> Self {
        let agent_id = if o.agent_id.is_empty() {
            default_agent_id(adapter_id, session)
        } else {
            o.agent_id.clone()
        };
        let session_id = if o.session_id.is_empty() {
            agent_id.clone()
        } else {
            o.session_id.clone()
        };
        let pick = |given: &str, default: PathBuf| {
            if given.is_empty() {
                default
            } else {
                PathBuf::from(given)
            }
        };
        Self {
            state_dir: pick(&o.state_dir, artifact_dir.join("openclaw-state")),
            config_path: pick(
                &o.config_path,
                artifact_dir.join("openclaw-config").join("openclaw.json"),
            ),
            agent_dir: pick(&o.agent_dir, artifact_dir.join("openclaw-agent")),
            agent_id,
            session_id,
        }
    }

    /// `<state dir>/agents/<agent id>/sessions`, where openclaw keeps its
    /// session index and transcripts.
    pub fn sessions_dir(&self) -> PathBuf {
        self.state_dir
            .join("agents")
            .join(&self.agent_id)
            .join("sessions")
    }

    /// The directory holding the config file.
    pub fn config_dir(&self) -> PathBuf {
        acp_core::fsx::parent_dir(&self.config_path)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn default_agent_id_matches_the_original_derivation() {
        assert_eq!(default_agent_id("alpha", "fl-issue-1"), "alpha-fl-issue-1");
        assert_eq!(
            default_agent_id("Alpha", "FL Issue #12"),
            "alpha-fl-issue-12"
        );
        assert_eq!(default_agent_id("--a", "b--"), "a-b");
        assert_eq!(default_agent_id("a.b_c", "x$(rm -rf /)"), "a.b_c-x-rm-rf");
        assert_eq!(default_agent_id("é", "ü"), "agent");
        assert_eq!(default_agent_id("", "s"), "s");
    }

    #[test]
    fn default_agent_id_is_cut_to_63_without_a_trailing_dash() {
        let long = "x".repeat(62);
        let id = default_agent_id(&long, "yy");
        assert_eq!(id, long, "cut at 63 lands on the dash, which is dropped");
        let id = default_agent_id(&"z".repeat(100), "s");
        assert_eq!(id.len(), 63);
    }

    #[test]
    fn resolve_uses_overrides_then_defaults() {
        let a = Path::new("/runs/s1");
        let p = AgentPaths::resolve("alpha", "s1", a, &Overrides::default());
        assert_eq!(p.agent_id, "alpha-s1");
        assert_eq!(p.session_id, "alpha-s1");
        assert_eq!(p.state_dir, Path::new("/runs/s1/openclaw-state"));
        assert_eq!(
            p.config_path,
            Path::new("/runs/s1/openclaw-config/openclaw.json")
        );
        assert_eq!(p.config_dir(), Path::new("/runs/s1/openclaw-config"));
        assert_eq!(p.agent_dir, Path::new("/runs/s1/openclaw-agent"));
        assert_eq!(
            p.sessions_dir(),
            Path::new("/runs/s1/openclaw-state/agents/alpha-s1/sessions")
        );
        let o = Overrides {
            agent_id: "resident-agent".into(),
            session_id: String::new(),
            state_dir: "/r/state".into(),
            config_path: "/r/cfg/o.json".into(),
            agent_dir: "/r/agent".into(),
        };
        let p = AgentPaths::resolve("alpha", "s1", a, &o);
        assert_eq!(p.agent_id, "resident-agent");
        assert_eq!(p.session_id, "resident-agent");
        assert_eq!(p.state_dir, Path::new("/r/state"));
        assert_eq!(p.agent_dir, Path::new("/r/agent"));
    }
}
