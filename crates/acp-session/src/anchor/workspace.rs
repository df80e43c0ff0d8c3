//! The multi-root VS Code workspace file (`sync-vscode-workspace.sh`).
//!
//! Folders, in order: the retained checkout `<label> (Main)`, the anchor
//! `<label> (Automation <Branch>)`, then every other worktree of the anchor
//! that exists: on the default branch `<label> (Automation <Branch>)`, a
//! branch matching `(^|/)pr-<n>` `PR <n> (<dir>)`, one containing
//! `issue-<n>` `Issue <n> (<dir>)`, else `<branch> (<dir>)` or `<dir>`.
//! The file is JSON (two-space indent, trailing newline) written atomically.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use acp_core::Env;
use serde::Serialize;

use super::gitx;

/// What the workspace is made of.
#[derive(Debug, Clone)]
pub struct WorkspaceRequest {
    pub agent_repo_root: PathBuf,
    pub retained_repo_root: PathBuf,
    pub workspace_file: PathBuf,
    pub default_branch: String,
    pub project_label: String,
    /// Relative paths are taken from here (Node's `path.resolve`).
    pub cwd: PathBuf,
}

/// One folder of the workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Folder {
    pub name: String,
    pub path: String,
}

#[derive(Serialize)]
struct Settings {
    #[serde(rename = "git.autoRepositoryDetection")]
    auto_detection: &'static str,
}

#[derive(Serialize)]
struct Workspace<'a> {
    folders: &'a [Folder],
    settings: Settings,
}

fn title_case(value: &str) -> String {
    let mut chars = value.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn pr_re() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    #[allow(clippy::expect_used)]
    RE.get_or_init(|| regex::Regex::new(r"(?:^|/)pr-(\d+)").expect("valid regex"))
}

fn issue_re() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    #[allow(clippy::expect_used)]
    RE.get_or_init(|| regex::Regex::new(r"issue-(\d+)").expect("valid regex"))
}

/// The folder name of a worktree at `path` on `branch` (empty: detached).
pub fn folder_name(req: &WorkspaceRequest, path: &Path, branch: &str) -> String {
    let base = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !branch.is_empty() && branch == req.default_branch {
        return automation_name(req);
    }
    if let Some(c) = pr_re().captures(branch) {
        return format!("PR {} ({base})", &c[1]);
    }
    if let Some(c) = issue_re().captures(branch) {
        return format!("Issue {} ({base})", &c[1]);
    }
    if branch.is_empty() {
        base
    } else {
        format!("{branch} ({base})")
    }
}

fn automation_name(req: &WorkspaceRequest) -> String {
    if req.default_branch.is_empty() {
        return format!("{} (Automation)", req.project_label);
    }
    format!(
        "{} (Automation {})",
        req.project_label,
        title_case(&req.default_branch)
    )
}

/// `path.resolve`: absolute against `cwd`, `.` and `..` folded lexically.
fn resolve(cwd: &Path, p: &Path) -> PathBuf {
    acp_core::fsx::normalize_lexically(&cwd.join(p))
}

/// `(path, branch)` of each worktree `git worktree list` reports for `repo`.
fn worktrees(env: &Env, repo: &Path) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let out = gitx::run(env, repo, ["worktree", "list", "--porcelain", "-z"]).map_err(|e| {
        anyhow::anyhow!(
            "git worktree list failed in {}: {}",
            repo.display(),
            gitx::last_line(&e)
        )
    })?;
    let mut list: Vec<(PathBuf, String)> = Vec::new();
    for field in gitx::nul_fields(&out) {
        if let Some(p) = field.strip_prefix(b"worktree ") {
            list.push((PathBuf::from(OsStr::from_bytes(p)), String::new()));
        } else if let Some(b) = field.strip_prefix(b"branch ")
            && let Some(last) = list.last_mut()
        {
            let b = String::from_utf8_lossy(b);
            last.1 = b.strip_prefix("refs/heads/").unwrap_or(&b).to_string();
        }
    }
    Ok(list)
}

/// The folders of the workspace, with `warnings` for paths a JSON file
/// cannot carry (not UTF-8), which are left out.
pub fn workspace_folders(
    env: &Env,
    req: &WorkspaceRequest,
    warnings: &mut Vec<String>,
) -> anyhow::Result<Vec<Folder>> {
    let mut folders: Vec<Folder> = Vec::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    let mut add = |name: String, path: PathBuf, warnings: &mut Vec<String>| {
        if seen.contains(&path) {
            return;
        }
        seen.push(path.clone());
        match path.to_str() {
            Some(text) => folders.push(Folder {
                name,
                path: text.to_string(),
            }),
            None => warnings.push(format!(
                "left out of the workspace (not UTF-8, JSON cannot name it): {}",
                path.display()
            )),
        }
    };
    let non_empty = |p: &Path| !p.as_os_str().is_empty();
    let retained = resolve(&req.cwd, &req.retained_repo_root);
    if non_empty(&req.retained_repo_root) && retained.exists() {
        add(format!("{} (Main)", req.project_label), retained, warnings);
    }
    let agent = resolve(&req.cwd, &req.agent_repo_root);
    if non_empty(&req.agent_repo_root) && agent.exists() {
        add(automation_name(req), agent.clone(), warnings);
    }
    if non_empty(&req.agent_repo_root) && super::is_checkout(&req.agent_repo_root) {
        for (path, branch) in worktrees(env, &req.agent_repo_root)? {
            let resolved = resolve(&req.cwd, &path);
            if resolved == agent || !resolved.exists() {
                continue;
            }
            add(folder_name(req, &path, &branch), resolved, warnings);
        }
    }
    Ok(folders)
}

/// The file's bytes for `folders`.
pub fn render(folders: &[Folder]) -> anyhow::Result<Vec<u8>> {
    let ws = Workspace {
        folders,
        settings: Settings {
            auto_detection: "subFolders",
        },
    };
    let mut bytes = serde_json::to_vec_pretty(&ws)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Computes the folders and replaces the workspace file atomically
/// (its directory created). Returns the warnings.
pub fn write_workspace(env: &Env, req: &WorkspaceRequest) -> anyhow::Result<Vec<String>> {
    let mut warnings = Vec::new();
    let folders = workspace_folders(env, req, &mut warnings)?;
    let file = resolve(&req.cwd, &req.workspace_file);
    acp_core::fsx::create_dir_all(&acp_core::fsx::parent_dir(&file))?;
    acp_core::fsx::atomic_write(&file, &render(&folders)?)?;
    Ok(warnings)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn req(label: &str, branch: &str) -> WorkspaceRequest {
        WorkspaceRequest {
            agent_repo_root: PathBuf::new(),
            retained_repo_root: PathBuf::new(),
            workspace_file: PathBuf::from("/x/ws.code-workspace"),
            default_branch: branch.into(),
            project_label: label.into(),
            cwd: PathBuf::from("/"),
        }
    }

    #[test]
    fn folder_names_follow_the_branch() {
        let r = req("alpha", "develop");
        let p = Path::new("/w/issue-3-x");
        assert_eq!(folder_name(&r, p, "develop"), "alpha (Automation Develop)");
        assert_eq!(
            folder_name(&r, p, "agent/pr-12-20260101"),
            "PR 12 (issue-3-x)"
        );
        assert_eq!(folder_name(&r, p, "xpr-12"), "xpr-12 (issue-3-x)");
        assert_eq!(
            folder_name(&r, p, "agent/alpha-issue-7-fix"),
            "Issue 7 (issue-3-x)"
        );
        assert_eq!(folder_name(&r, p, ""), "issue-3-x");
        assert_eq!(
            folder_name(&req("l", "été"), p, "été"),
            "l (Automation Été)"
        );
    }

    #[test]
    fn rendering_is_two_space_json_with_a_newline() {
        let text = String::from_utf8(
            render(&[Folder {
                name: "a \"q\"".into(),
                path: "/p/é b".into(),
            }])
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            text,
            "{\n  \"folders\": [\n    {\n      \"name\": \"a \\\"q\\\"\",\n      \"path\": \"/p/é b\"\n    }\n  ],\n  \"settings\": {\n    \"git.autoRepositoryDetection\": \"subFolders\"\n  }\n}\n"
        );
        assert_eq!(
            String::from_utf8(render(&[]).unwrap()).unwrap(),
            "{\n  \"folders\": [],\n  \"settings\": {\n    \"git.autoRepositoryDetection\": \"subFolders\"\n  }\n}\n"
        );
    }
}
