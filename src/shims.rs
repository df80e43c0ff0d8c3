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

/// The tool `text` is our own shim for, unchanged but for the path baked
/// in at install time, and whether that path is `exe`, another binary or
/// none. Anything else (a stub, a user's script, an edited shim) is `None`.
pub fn own_shim(
    text: &[u8],
    exe: &Path,
) -> Option<(&'static acp_core::ToolSpec, acp_core::dispatch::Baked)> {
    use acp_core::dispatch::Baked;
    let text = std::str::from_utf8(text).ok()?;
    let name = text
        .lines()
        .nth(1)?
        .strip_prefix("# agent-control-plane shim for `")?
        .strip_suffix("`.")?;
    let tool = crate::registry::tools().find(|t| t.name == name)?;
    if text == shim_text(name, "") {
        return Some((tool, Baked::Empty));
    }
    let exe_text = exe.to_str()?;
    if text == shim_text(name, exe_text) {
        return Some((tool, Baked::This));
    }
    // Another baked path: the same text once that line is made empty.
    let mut other = String::with_capacity(text.len());
    let mut baked_lines = 0;
    for line in text.split_inclusive('\n') {
        if line.starts_with("acp_bin_installed=") {
            baked_lines += 1;
            other.push_str("acp_bin_installed=''\n");
        } else {
            other.push_str(line);
        }
    }
    (baked_lines == 1 && other == shim_text(name, "")).then_some((tool, Baked::Other))
}

/// Our prompt templates, installed as `tools/templates/<name>` (where the
/// original's prompt rendering looks for the package's defaults).
const TEMPLATES: &[(&str, &str)] = &[
    (
        "issue-prompt-template.md",
        include_str!("../templates/issue-prompt-template.md"),
    ),
    (
        "scheduled-issue-prompt-template.md",
        include_str!("../templates/scheduled-issue-prompt-template.md"),
    ),
    (
        "pr-review-template.md",
        include_str!("../templates/pr-review-template.md"),
    ),
    (
        "pr-fix-template.md",
        include_str!("../templates/pr-fix-template.md"),
    ),
    (
        "pr-merge-repair-template.md",
        include_str!("../templates/pr-merge-repair-template.md"),
    ),
];

/// Our policy hook files, installed as `hooks/<name>` in every tree (the
/// shims-only overlay too: they replace the original's hook files). The
/// reconcilers source a user's edited copy; see docs/architecture.md.
pub const HOOKS: &[(&str, &str)] = &[
    (
        "issue-reconcile-hooks.sh",
        include_str!("../templates/hooks/issue-reconcile-hooks.sh"),
    ),
    (
        "pr-reconcile-hooks.sh",
        include_str!("../templates/hooks/pr-reconcile-hooks.sh"),
    ),
    (
        "heartbeat-hooks.sh",
        include_str!("../templates/hooks/heartbeat-hooks.sh"),
    ),
];

/// `SKILL.md` of an installed tree: what the package is, for skill loaders
/// and for a person who finds the directory.
const SKILL_MD: &str = "# agent-control-plane\n\n\
Operator tools for GitHub-driven coding agents: start agent sessions in tmux\n\
inside git worktrees, watch them (stalls, quota, retries) and report their\n\
results. Every file under `tools/bin/` and `bin/` is a small bash shim that\n\
runs the `agent-control-plane` binary with the tool's name.\n\n\
- `agent-control-plane help` lists every tool.\n\
- `tools/templates/` holds the default agent prompts; a profile overrides one\n  \
by placing a file of the same name in its `templates/` directory.\n\
- `assets/workflow-catalog.json` lists the workflows and their entry points.\n\
- `hooks/` is where the reconcile and heartbeat policy hooks go.\n";

/// What to write: the shims alone (the overlay `bin-shims/` of the
/// repository, which the compatibility run copies over the original
/// package), or the whole package tree an install needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tree {
    ShimsOnly,
    Complete,
}

/// Writes one shim per registered tool path under `dir`, and the tree
/// marker that makes `dir` a package root; with [`Tree::Complete`] also
/// `bin/`, `hooks/`, `SKILL.md`, `assets/workflow-catalog.json` and
/// `tools/templates/*.md`. Returns the shims written.
pub fn write_tree(dir: &Path, baked: &str, tree: Tree) -> Result<Vec<std::path::PathBuf>> {
    let mut written = Vec::new();
    acp_core::fsx::create_dir_all(&dir.join("tools/bin"))?;
    for tool in crate::registry::tools() {
        for rel in tool.paths {
            let path = dir.join(rel);
            acp_core::fsx::create_dir_all(&acp_core::fsx::parent_dir(&path))?;
            acp_core::fsx::atomic_write(&path, shim_text(tool.name, baked).as_bytes())?;
            acp_core::fsx::make_executable(&path)?;
            written.push(path);
        }
    }
    acp_core::fsx::atomic_write(
        &dir.join(acp_core::config::TREE_MARKER),
        b"A tool tree written by `agent-control-plane shims`: a package root.\n",
    )?;
    acp_core::fsx::create_dir_all(&dir.join("hooks"))?;
    for (name, text) in HOOKS {
        let path = dir.join("hooks").join(name);
        acp_core::fsx::atomic_write(&path, text.as_bytes())?;
        acp_core::fsx::make_executable(&path)?;
    }
    if tree == Tree::Complete {
        acp_core::fsx::create_dir_all(&dir.join("bin"))?;
        acp_core::fsx::create_dir_all(&dir.join("assets"))?;
        acp_core::fsx::create_dir_all(&dir.join("tools/templates"))?;
        acp_core::fsx::atomic_write(&dir.join("SKILL.md"), SKILL_MD.as_bytes())?;
        acp_core::fsx::atomic_write(
            &dir.join("assets/workflow-catalog.json"),
            workflow_catalog::EMBEDDED_CATALOG.as_bytes(),
        )?;
        for (name, text) in TEMPLATES {
            acp_core::fsx::atomic_write(&dir.join("tools/templates").join(name), text.as_bytes())?;
        }
    }
    Ok(written)
}

/// The package tree installed next to the binary (`<exe dir>/../share/
/// agent-control-plane`, where the README's install puts it), when the
/// binary runs a tool without a shim; `None` when there is none.
pub fn installed_tree(exe: &Path) -> Option<std::path::PathBuf> {
    let tree = exe
        .parent()?
        .parent()?
        .join("share")
        .join(acp_core::BIN_NAME);
    acp_core::config::is_skill_root(&tree).then_some(tree)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use acp_core::dispatch::Baked;

    #[test]
    fn own_shim_recognises_our_text_only() {
        let exe = Path::new("/opt/acp/bin/agent-control-plane");
        let name = "agent-project-retry-state";
        let (tool, baked) = own_shim(shim_text(name, "").as_bytes(), exe).unwrap();
        assert_eq!((tool.name, baked), (name, Baked::Empty));
        let this = shim_text(name, exe.to_str().unwrap());
        assert_eq!(own_shim(this.as_bytes(), exe).unwrap().1, Baked::This);
        let other = shim_text(name, "/usr/local/bin/agent-control-plane");
        assert_eq!(own_shim(other.as_bytes(), exe).unwrap().1, Baked::Other);
        let edited = format!("{}# edited\n", shim_text(name, ""));
        assert!(own_shim(edited.as_bytes(), exe).is_none());
        assert!(own_shim(b"#!/usr/bin/env bash\necho stub\n", exe).is_none());
        let unknown = shim_text("no-such-tool", "");
        assert!(own_shim(unknown.as_bytes(), exe).is_none());
    }
}
