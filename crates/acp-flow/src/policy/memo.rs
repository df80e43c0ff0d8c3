//! Small per-item memories of the policy under `<state>/heartbeat-hooks/`
//! (JSON objects, replaced atomically under a lock): what a PR's labels
//! were last synced from, what a blocked issue's comments last said.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use acp_core::fsx;
use anyhow::Result;
use serde::{Deserialize, Serialize};

/// One remembered item: the key it was computed from, its value, when.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub at: i64,
}

/// One memory file.
pub struct Memo {
    file: PathBuf,
}

impl Memo {
    pub fn new(state_root: &Path, name: &str) -> Memo {
        Memo {
            file: state_root.join("heartbeat-hooks").join(name),
        }
    }

    fn read(&self) -> BTreeMap<String, Entry> {
        fsx::read_capped_if_exists(&self.file, 16 << 20)
            .ok()
            .flatten()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// The entry of `item`, if any.
    pub fn entry(&self, item: &str) -> Option<Entry> {
        self.read().remove(item)
    }

    /// The value remembered for `item` when it was computed from `key`.
    pub fn get(&self, item: &str, key: &str) -> Option<String> {
        self.entry(item).filter(|e| e.key == key).map(|e| e.value)
    }

    /// Remembers `value` for `item`, computed from `key`.
    pub fn put(&self, item: &str, key: &str, value: &str) -> Result<()> {
        fsx::create_dir_all(&fsx::parent_dir(&self.file))?;
        let _lock = fsx::Lock::beside(&self.file)?;
        let mut all = self.read();
        all.insert(
            item.to_string(),
            Entry {
                key: key.to_string(),
                value: value.to_string(),
                at: acp_core::time::now_epoch(),
            },
        );
        fsx::atomic_write(&self.file, &serde_json::to_vec_pretty(&all)?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn values_are_kept_per_item_and_key() {
        let t = tempfile::tempdir().unwrap();
        let m = Memo::new(t.path(), "x.json");
        assert_eq!(m.get("1", "k"), None);
        m.put("1", "k", "v").unwrap();
        m.put("2", "k2", "").unwrap();
        assert_eq!(m.get("1", "k").as_deref(), Some("v"));
        assert_eq!(m.get("1", "other"), None);
        assert_eq!(m.get("2", "k2").as_deref(), Some(""));
    }
}
