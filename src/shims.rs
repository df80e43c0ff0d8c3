//! The bash shims that stand at the original package's paths and exec the
//! multicall binary.

use std::path::Path;

use acp_core::shellquote::{QuoteLocale, quote};
use anyhow::Result;

/// The text of the shim for tool `name`; `baked` is the absolute binary path
/// written at install time (empty in the repository copy).
pub fn shim_text(name: &str, baked: &str) -> String {
    let baked_q = String::from_utf8_lossy(&quote(baked.as_bytes(), QuoteLocale::C)).into_owned();
    let name_q = String::from_utf8_lossy(&quote(name.as_bytes(), QuoteLocale::C)).into_owned();
    format!(
        r#"#!/usr/bin/env bash
# agent-control-plane shim for `{name}`.
# The tool itself is the Rust binary `agent-control-plane`; this file keeps the
# original path so callers, hooks and tests can run it as `bash FILE args` or
# `FILE args`. The binary is found through $ACP_BIN_DIR, then the path written
# at install time, then PATH.
ACP_SHIM_PATH="${{BASH_SOURCE[0]}}"
[[ "$ACP_SHIM_PATH" == /* ]] || ACP_SHIM_PATH="$PWD/$ACP_SHIM_PATH"
export ACP_SHIM_PATH
acp_bin_installed={baked_q}
if [[ -n "${{ACP_BIN_DIR:-}}" && -x "${{ACP_BIN_DIR}}/agent-control-plane" ]]; then
  exec "${{ACP_BIN_DIR}}/agent-control-plane" {name_q} "$@"
elif [[ -n "$acp_bin_installed" && -x "$acp_bin_installed" ]]; then
  exec "$acp_bin_installed" {name_q} "$@"
elif command -v agent-control-plane >/dev/null 2>&1; then
  exec agent-control-plane {name_q} "$@"
fi
echo "{name}: agent-control-plane binary not found (set ACP_BIN_DIR or add it to PATH)" >&2
exit 127
"#
    )
}

/// Writes one shim per registered tool path under `dir`; returns the paths written.
pub fn write_tree(dir: &Path, baked: &str) -> Result<Vec<std::path::PathBuf>> {
    let mut written = Vec::new();
    // `tools/bin` plus `bin/` makes the tree a skill root, so tools run from
    // it find themselves (the original required SKILL.md, assets, bin or hooks).
    acp_core::fsx::create_dir_all(&dir.join("tools/bin"))?;
    acp_core::fsx::create_dir_all(&dir.join("bin"))?;
    for tool in crate::registry::tools() {
        for rel in tool.paths {
            let path = dir.join(rel);
            acp_core::fsx::atomic_write(&path, shim_text(tool.name, baked).as_bytes())?;
            acp_core::fsx::make_executable(&path)?;
            written.push(path);
        }
    }
    Ok(written)
}
