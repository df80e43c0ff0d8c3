//! The shared body of the profile wrappers `new-worktree.sh` and
//! `new-pr-worktree.sh`: refresh the anchor, open the worktree, refresh the
//! VS Code workspace.

use std::io::Write;
use std::process::Command;

use acp_core::fail;

use super::open::run_quiet;
use super::settings::Profile;

/// The three commands of a wrapper, built by the tool (sibling paths, the
/// opener's own arguments) with the environment already applied.
pub struct Steps {
    /// `sync-agent-repo.sh`.
    pub sync_anchor: Command,
    /// `agent-project-open-issue-worktree` or `agent-project-open-pr-worktree`.
    pub open: Command,
    /// `sync-vscode-workspace.sh`.
    pub sync_vscode: Command,
}

/// Runs the steps for profile `p`: the anchor sync (with
/// `ACP_AGENT_REPO_ROOT`; stdout dropped, a failure ends with its code), the
/// opener (with `ACP_REPO_ROOT`; a failure ends with its code), the
/// workspace sync (with the agent repo, retained repo and workspace file;
/// its result ignored). Stderr goes to `err`. Returns the opener's stdout
/// ending in exactly one newline, as the originals' `printf '%s\n' "$(...)"`.
pub fn run(p: &Profile, s: Steps, err: &mut dyn Write) -> anyhow::Result<Vec<u8>> {
    let Steps {
        mut sync_anchor,
        mut open,
        mut sync_vscode,
    } = s;
    for (k, v) in [
        ("ACP_AGENT_REPO_ROOT", &p.agent_repo_root),
        ("F_LOSNING_AGENT_REPO_ROOT", &p.agent_repo_root),
    ] {
        sync_anchor.env(k, v);
    }
    run_quiet(&mut sync_anchor, err)?;
    open.env("ACP_REPO_ROOT", &p.repo_root)
        .env("F_LOSNING_REPO_ROOT", &p.repo_root);
    let opened = acp_core::process::output(&mut open)?;
    err.write_all(&opened.stderr)?;
    if !opened.status.success() {
        return Err(fail(acp_core::process::exit_code(opened.status).max(1), ""));
    }
    for (k, v) in [
        ("AGENT_REPO_ROOT", &p.agent_repo_root),
        ("RETAINED_REPO_ROOT", &p.retained_repo_root),
        ("VSCODE_WORKSPACE_FILE", &p.vscode_workspace_file),
    ] {
        sync_vscode
            .env(format!("ACP_{k}"), v)
            .env(format!("F_LOSNING_{k}"), v);
    }
    let _ = acp_core::process::output(&mut sync_vscode);
    let mut text = opened.stdout.as_slice();
    while let Some(t) = text.strip_suffix(b"\n") {
        text = t;
    }
    let mut out = text.to_vec();
    out.push(b'\n');
    Ok(out)
}
