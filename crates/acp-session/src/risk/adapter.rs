//! The package's adapter scripts: `bin/X` is the tool, `tools/bin/X` a
//! front that finds the package root and runs `<root>/bin/X`. One tool of
//! the multicall binary serves both paths; these helpers tell which one
//! was started and where the `bin/` script is.

use std::path::{Path, PathBuf};

use acp_core::Env;
use acp_core::config;

/// Whether `script` is `.../tools/bin/<name>` (the front) rather than
/// `.../bin/<name>`.
pub fn is_tools_front(script: Option<&Path>) -> bool {
    let Some(dir) = script.and_then(Path::parent) else {
        return false;
    };
    dir.file_name().is_some_and(|n| n == "bin")
        && dir
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|n| n == "tools")
}

/// `<package root>/bin/<name>` for a front at `script`, when that file
/// exists (a user's replacement or a test's stub there is what runs).
/// `None` when the root cannot be found or has no such file: the caller
/// then does the work itself.
pub fn bin_script(env: &Env, script: Option<&Path>, name: &str) -> Option<PathBuf> {
    let root = config::skill_root(env, script).ok()?;
    let target = root.join("bin").join(name);
    target.is_file().then_some(target)
}

/// Whether the file at `path` is one of our own shims (so running it would
/// only come back to this binary): it then can be served in-process.
pub fn is_our_shim(path: &Path) -> bool {
    match acp_core::fsx::read_capped(path, 64 * 1024) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            text.contains("# agent-control-plane shim for `") && text.contains("ACP_SHIM_PATH")
        }
        Err(_) => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn fronts_are_told_from_bin_scripts() {
        assert!(is_tools_front(Some(Path::new("/p/tools/bin/pr-risk.sh"))));
        assert!(!is_tools_front(Some(Path::new("/p/bin/pr-risk.sh"))));
        assert!(!is_tools_front(Some(Path::new("pr-risk.sh"))));
        assert!(!is_tools_front(None));
    }

    #[test]
    fn shims_are_recognised() {
        let t = tempfile::tempdir().unwrap();
        let shim = t.path().join("a");
        std::fs::write(
            &shim,
            "#!/usr/bin/env bash\n# agent-control-plane shim for `a`.\nexport ACP_SHIM_PATH\n",
        )
        .unwrap();
        let stub = t.path().join("b");
        std::fs::write(&stub, "#!/usr/bin/env bash\necho hi\n").unwrap();
        assert!(is_our_shim(&shim));
        assert!(!is_our_shim(&stub));
        assert!(!is_our_shim(&t.path().join("missing")));
    }
}
