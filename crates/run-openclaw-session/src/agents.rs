//! openclaw's own files: the agent list answer, the agent entry in the
//! config file, and the auth profiles of the agent dir.

use std::path::Path;

use anyhow::Context;
use serde_json::{Map, Value, json};

/// Whether `openclaw agents list --json` output (a list, or an object with
/// an `agents` list) has an agent whose `id` or `name` is `agent_id`.
pub fn agent_listed(list_json: &str, agent_id: &str) -> bool {
    let Ok(payload) = serde_json::from_str::<Value>(list_json.trim()) else {
        return false;
    };
    let agents = match &payload {
        Value::Array(a) => a,
        Value::Object(o) => match o.get("agents") {
            Some(Value::Array(a)) => a,
            _ => return false,
        },
        _ => return false,
    };
    agents.iter().filter_map(Value::as_object).any(|a| {
        [a.get("id"), a.get("name")]
            .into_iter()
            .flatten()
            .any(|v| text_of(v) == agent_id)
    })
}

/// A JSON scalar as Python's `str()` would show it for ids (strings bare).
fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The agent's settings written into the config file.
#[derive(Debug, Clone)]
pub struct AgentEntry<'a> {
    pub agent_id: &'a str,
    pub workspace: &'a str,
    pub agent_dir: &'a str,
    pub model: &'a str,
}

/// Returns `config` with `agents.list[]` holding an entry for the agent (found
/// by id or name, else appended) whose id, name, workspace, agentDir and (when
/// given) model are set; everything else is kept. A config that is not a
/// JSON object starts over as an empty object.
pub fn with_agent_entry(config: Option<&str>, entry: &AgentEntry<'_>) -> Value {
    let mut root = config
        .and_then(|c| serde_json::from_str::<Value>(c).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| Value::Object(Map::new()));
    let Some(obj) = root.as_object_mut() else {
        return root;
    };
    let agents = obj
        .entry("agents")
        .or_insert_with(|| Value::Object(Map::new()));
    if !agents.is_object() {
        *agents = Value::Object(Map::new());
    }
    let Some(agents) = agents.as_object_mut() else {
        return root;
    };
    let list = agents
        .entry("list")
        .or_insert_with(|| Value::Array(Vec::new()));
    if !list.is_array() {
        *list = Value::Array(Vec::new());
    }
    let Some(list) = list.as_array_mut() else {
        return root;
    };
    let pos = list.iter().position(|c| {
        c.as_object().is_some_and(|c| {
            [c.get("id"), c.get("name")]
                .into_iter()
                .flatten()
                .any(|v| text_of(v) == entry.agent_id)
        })
    });
    let idx = match pos {
        Some(i) => i,
        None => {
            list.push(json!({ "id": entry.agent_id }));
            list.len() - 1
        }
    };
    if let Some(e) = list.get_mut(idx).and_then(Value::as_object_mut) {
        e.insert("id".into(), json!(entry.agent_id));
        e.insert("name".into(), json!(entry.agent_id));
        e.insert("workspace".into(), json!(entry.workspace));
        e.insert("agentDir".into(), json!(entry.agent_dir));
        if !entry.model.is_empty() {
            e.insert("model".into(), json!(entry.model));
        }
    }
    root
}

/// Rewrites the config file at `path` (atomically) with the agent's entry.
pub fn sync_config(path: &Path, entry: &AgentEntry<'_>) -> anyhow::Result<()> {
    let current = match std::fs::read(path) {
        Ok(b) => Some(String::from_utf8_lossy(&b).into_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("failed to read {}", path.display())),
    };
    let value = with_agent_entry(current.as_deref(), entry);
    let mut text = serde_json::to_string_pretty(&value)
        .with_context(|| format!("failed to render {}", path.display()))?;
    text.push('\n');
    acp_core::fsx::atomic_write(path, text.as_bytes())
}

/// The auth profile file openclaw reads for an OpenRouter key.
pub fn auth_profiles_json(api_key: &str) -> String {
    let v = json!({
        "version": 1,
        "profiles": {
            "openrouter:default": {
                "type": "api_key",
                "provider": "openrouter",
                "keyRef": {
                    "source": "direct",
                    "provider": "default",
                    "id": "OPENROUTER_API_KEY",
                    "secret": api_key,
                }
            }
        }
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

/// Makes sure `<agent dir>/auth-profiles.json` exists when it can: written
/// from `api_key` (owner-only permissions, since it holds the key), or else
/// copied from `auth-profiles.json` next to the agent dir. An existing non-empty
/// file is kept. Returns what was done, for the log.
pub fn ensure_auth_profiles(
    agent_dir: &Path,
    api_key: &str,
) -> anyhow::Result<Option<&'static str>> {
    use std::os::unix::fs::PermissionsExt;
    let target = agent_dir.join("auth-profiles.json");
    if std::fs::metadata(&target).is_ok_and(|m| m.len() > 0) {
        return Ok(None);
    }
    if !api_key.is_empty() {
        acp_core::fsx::create_dir_all(agent_dir)?;
        // Create the file owner-only first, so the key is never world-readable.
        if !target.exists() {
            acp_core::fsx::atomic_write(&target, b"")?;
        }
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("failed to set permissions on {}", target.display()))?;
        acp_core::fsx::atomic_write(&target, auth_profiles_json(api_key).as_bytes())?;
        return Ok(Some("written"));
    }
    let shared = acp_core::fsx::parent_dir(agent_dir).join("auth-profiles.json");
    if shared.is_file() {
        let bytes = acp_core::fsx::read(&shared)?;
        acp_core::fsx::create_dir_all(agent_dir)?;
        acp_core::fsx::atomic_write(&target, &bytes)?;
        return Ok(Some("copied"));
    }
    Ok(None)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn agent_listed_accepts_both_shapes() {
        assert!(agent_listed(r#"{"agents":[{"id":"a"}]}"#, "a"));
        assert!(agent_listed(r#"[{"name":"a"}]"#, "a"));
        assert!(agent_listed("  [{\"id\":7}]\n", "7"));
        assert!(!agent_listed(r#"{"agents":[]}"#, "a"));
        assert!(!agent_listed(r#"{"agents":{"id":"a"}}"#, "a"));
        assert!(!agent_listed("not json", "a"));
        assert!(!agent_listed(r#"["a"]"#, "a"));
        assert!(!agent_listed("", "a"));
    }

    #[test]
    fn config_entry_is_updated_in_place_and_other_content_kept() {
        let e = AgentEntry {
            agent_id: "resident",
            workspace: "/wt/two",
            agent_dir: "/r/agent",
            model: "mock/model",
        };
        let before = r#"{"gateway":{"port":1},"agents":{"defaults":{"x":1},"list":[{"name":"resident","workspace":"/wt/one","extra":true},{"id":"other"}]}}"#;
        let v = with_agent_entry(Some(before), &e);
        assert_eq!(v["gateway"]["port"], 1);
        assert_eq!(v["agents"]["defaults"]["x"], 1);
        let list = v["agents"]["list"].as_array().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["id"], "resident");
        assert_eq!(list[0]["name"], "resident");
        assert_eq!(list[0]["workspace"], "/wt/two");
        assert_eq!(list[0]["agentDir"], "/r/agent");
        assert_eq!(list[0]["model"], "mock/model");
        assert_eq!(list[0]["extra"], true);
        assert_eq!(list[1]["id"], "other");
    }

    #[test]
    fn config_starts_over_when_unusable() {
        let e = AgentEntry {
            agent_id: "a",
            workspace: "/w",
            agent_dir: "/d",
            model: "",
        };
        for bad in [
            None,
            Some("[1,2]"),
            Some("{broken"),
            Some(r#"{"agents":[]}"#),
        ] {
            let v = with_agent_entry(bad, &e);
            assert_eq!(v["agents"]["list"][0]["id"], "a", "{bad:?}");
            assert!(v["agents"]["list"][0].get("model").is_none());
        }
    }

    #[test]
    fn sync_config_writes_atomically_with_trailing_newline() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("cfg/openclaw.json");
        let e = AgentEntry {
            agent_id: "a",
            workspace: "/w w",
            agent_dir: "/d",
            model: "m",
        };
        sync_config(&p, &e).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.ends_with("}\n"));
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["agents"]["list"][0]["workspace"], "/w w");
    }

    #[test]
    fn auth_profiles_are_written_private_or_copied() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("agent");
        assert_eq!(ensure_auth_profiles(&dir, "").unwrap(), None);
        assert_eq!(
            ensure_auth_profiles(&dir, "sk-'\"x").unwrap(),
            Some("written")
        );
        let p = dir.join("auth-profiles.json");
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        assert_eq!(
            v["profiles"]["openrouter:default"]["keyRef"]["secret"],
            "sk-'\"x"
        );
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(ensure_auth_profiles(&dir, "other").unwrap(), None, "kept");

        let dir2 = t.path().join("agent2");
        std::fs::write(t.path().join("auth-profiles.json"), "{\"shared\":1}").unwrap();
        assert_eq!(ensure_auth_profiles(&dir2, "").unwrap(), Some("copied"));
        assert_eq!(
            std::fs::read_to_string(dir2.join("auth-profiles.json")).unwrap(),
            "{\"shared\":1}"
        );
    }
}
