//! Profiles: scaffold, init, adopt, smoke, remove.
//!
//! The logic of `scaffold-profile.sh`, `project-init.sh`, `profile-adopt.sh`,
//! `profile-smoke.sh` and `project-remove.sh`. Nothing here prints or exits:
//! each step returns a report (the tool crates print it) or an error made
//! with [`acp_core::fail`] that carries the tool's exit code. Sibling tools
//! (render, the sync tools, the runtime controller) run by their paths under
//! the package root through [`Sibling`], so a stub at that path is what runs.

pub mod adopt;
pub mod init;
pub mod remove;
pub mod scaffold;
pub mod smoke;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use acp_core::Env;

/// The coding backends a profile may name in `execution.coding_worker` (and
/// a provider pool in its `coding_worker`): scaffold, project-init and
/// profile-smoke accept exactly these (0.2.0's smoke knew only the first
/// three, spec 8 items 2 and 3).
pub const CODING_WORKERS: &[&str] = &[
    "codex", "openclaw", "claude", "ollama", "pi", "opencode", "kilo",
];

/// The claude effort levels.
pub const CLAUDE_EFFORTS: &[&str] = &["low", "medium", "high", "max"];

/// Whether `id` is a profile id scaffold accepts: `^[a-z0-9][a-z0-9-]*$`.
pub fn is_scaffold_profile_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Whether `slug` looks like `owner/repo` (ASCII letters, digits, `.`, `_`,
/// `-` on both sides of one `/`).
pub fn is_repo_slug(slug: &str) -> bool {
    let part = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    };
    slug.split_once('/')
        .is_some_and(|(owner, repo)| part(owner) && part(repo))
}

/// The `owner/repo` of `dir`'s remote `remote` when it is a GitHub URL
/// (`https://github.com/o/r(.git)`, `git@github.com:o/r`, `ssh://git@github.com/o/r`),
/// else `None`.
pub fn github_remote_slug(env: &Env, dir: &Path, remote: &str) -> Option<String> {
    if dir.as_os_str().is_empty() || !dir.is_dir() {
        return None;
    }
    let url = acp_core::git::capture(env, dir, &["remote", "get-url", remote])?;
    slug_of_github_url(url.trim())
}

/// The `owner/repo` of a GitHub remote URL.
pub fn slug_of_github_url(url: &str) -> Option<String> {
    let url = url.strip_suffix(".git").unwrap_or(url);
    let rest = [
        "ssh://git@github.com/",
        "git@github.com:",
        "https://github.com/",
        "http://github.com/",
    ]
    .iter()
    .find_map(|p| url.strip_prefix(p))?;
    let (owner, repo) = rest.split_once('/')?;
    (!owner.is_empty() && !repo.is_empty() && !repo.contains('/')).then(|| rest.to_string())
}

/// How a layer function runs sibling tools: the binary, the working
/// directory and the package root whose `tools/bin/<name>` is run with
/// `bash` when it exists (else this binary runs the tool by name).
#[derive(Debug, Clone)]
pub struct Sibling {
    pub exe: PathBuf,
    pub cwd: PathBuf,
    pub skill_root: PathBuf,
}

impl Sibling {
    /// The command for sibling `name` with environment `env`.
    pub fn command(&self, env: &Env, name: &str) -> Command {
        acp_core::script_or_tool_command(
            &self.exe,
            &self.cwd,
            env,
            &self.skill_root.join("tools/bin"),
            name,
        )
    }

    /// The command for an explicit script path (an `ACP_*_SCRIPT` override):
    /// `bash <path>`.
    pub fn script_command(&self, env: &Env, path: &Path) -> Command {
        let mut cmd = Command::new("bash");
        cmd.arg(path);
        env.apply(&mut cmd);
        cmd.current_dir(&self.cwd);
        cmd
    }
}

/// Runs `cmd` to completion (in process when it is our own short tool).
pub fn run(cmd: &mut Command) -> anyhow::Result<Output> {
    acp_core::dispatch::output(cmd)
}

/// The value of the first `KEY=` line of `text`.
pub fn kv_first<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

/// `path` made physical: the whole path when it exists, else its physical
/// parent joined with the last component, else unchanged.
pub fn physical(path: &Path) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(path) {
        return p;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) if !parent.as_os_str().is_empty() => {
            std::fs::canonicalize(parent).map_or_else(|_| path.to_path_buf(), |p| p.join(name))
        }
        _ => path.to_path_buf(),
    }
}

/// `path` as text (lossy).
pub fn text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_slugs() {
        assert!(is_scaffold_profile_id("alpha-demo"));
        assert!(is_scaffold_profile_id("0x"));
        for bad in ["", "-a", "A", "a_b", "../x", "a/b", "a b", "é"] {
            assert!(!is_scaffold_profile_id(bad), "{bad}");
        }
        assert!(is_repo_slug("acme/alpha.demo_x-1"));
        for bad in [
            "", "a", "a/", "/b", "a/b/c", "a b/c", "a/\"b", "../x", "a/..",
        ] {
            assert!(!is_repo_slug(bad), "{bad}");
        }
    }

    #[test]
    fn github_urls() {
        for url in [
            "https://github.com/o/r.git",
            "http://github.com/o/r",
            "git@github.com:o/r.git",
            "ssh://git@github.com/o/r",
        ] {
            assert_eq!(slug_of_github_url(url).as_deref(), Some("o/r"), "{url}");
        }
        for url in [
            "/tmp/remote.git",
            "https://gitlab.com/o/r",
            "https://github.com/o",
            "https://github.com/o/r/x",
        ] {
            assert_eq!(slug_of_github_url(url), None, "{url}");
        }
    }
}
