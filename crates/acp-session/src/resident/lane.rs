//! Resident lane keys and their `metadata.env` (spec 3.10).

use std::path::{Path, PathBuf};

/// `resident-workers/` under the state root.
pub fn resident_root(state_root: &Path) -> PathBuf {
    state_root.join("resident-workers")
}

/// `resident-workers/issues/<id or lane key>/`.
pub fn issue_dir(state_root: &Path, key: &str) -> PathBuf {
    resident_root(state_root).join("issues").join(key)
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

#[cfg(test)]
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
    }
}
