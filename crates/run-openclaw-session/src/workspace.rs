//! What the session does to the agent's worktree around a run: git excludes
//! for openclaw's bookkeeping files, the commit-scope pre-commit hook, the
//! literal `$ACP_RUN_DIR`-style aliases (and recovery of artifacts an agent
//! wrote through such literal names), and recovery of artifacts leaked into
//! the retained repo's worktree copy.

use std::path::{Path, PathBuf};

use acp_core::Env;
use anyhow::Context;

/// openclaw's own directories, ignored ahead of the agent scratch files.
const OPENCLAW_DIRS: &[&str] = &[".openclaw-artifacts", ".openclaw"];

/// What openclaw's agents leave in the worktree besides the shared scratch
/// files: its `AGENTS.md`, and the literal `$ACP_RUN_DIR`-style names agents
/// sometimes write to instead of expanding the variable.
const OPENCLAW_LEFTOVERS: &[&str] = &[
    "AGENTS.md",
    "$ACP_RUN_DIR",
    "$AGENT_PROJECT_RUN_DIR",
    "$F_LOSNING_RUN_DIR",
    "$ACP_HOST_RUN_DIR",
    "$AGENT_PROJECT_HOST_RUN_DIR",
    "$F_LOSNING_HOST_RUN_DIR",
    "$ACP_RESULT_FILE",
    "$AGENT_PROJECT_RESULT_FILE",
    "$F_LOSNING_RESULT_FILE",
];

/// Patterns openclaw's workspace files need ignored so the worktree stays clean.
pub fn exclude_patterns() -> Vec<&'static str> {
    [
        OPENCLAW_DIRS,
        acp_session::worktree::AGENT_SCRATCH_FILES,
        OPENCLAW_LEFTOVERS,
    ]
    .concat()
}

/// What a literal alias points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AliasTarget {
    SandboxRunDir,
    HostRunDir,
    SandboxResultFile,
}

/// The literal names agents sometimes write to instead of expanding the
/// variable, and where each should lead.
pub const ALIASES: &[(&str, AliasTarget)] = &[
    ("$ACP_RUN_DIR", AliasTarget::SandboxRunDir),
    ("$AGENT_PROJECT_RUN_DIR", AliasTarget::SandboxRunDir),
    ("$F_LOSNING_RUN_DIR", AliasTarget::SandboxRunDir),
    ("$ACP_HOST_RUN_DIR", AliasTarget::HostRunDir),
    ("$AGENT_PROJECT_HOST_RUN_DIR", AliasTarget::HostRunDir),
    ("$F_LOSNING_HOST_RUN_DIR", AliasTarget::HostRunDir),
    ("$ACP_RESULT_FILE", AliasTarget::SandboxResultFile),
    ("$AGENT_PROJECT_RESULT_FILE", AliasTarget::SandboxResultFile),
    ("$F_LOSNING_RESULT_FILE", AliasTarget::SandboxResultFile),
];

/// Artifacts recovered from wrong places.
pub const RECOVERED_ARTIFACTS: &[&str] = &[
    "result.env",
    "verification.jsonl",
    "issue-comment.md",
    "pr-comment.md",
];

/// The directories of one session.
#[derive(Debug, Clone)]
pub struct Layout {
    pub worktree: PathBuf,
    /// `<worktree>/<sandbox subdir>`.
    pub sandbox_artifact_dir: PathBuf,
    /// `<worktree>/<sandbox subdir>/<session>`.
    pub sandbox_run_dir: PathBuf,
    /// `<runs root>/<session>`.
    pub host_run_dir: PathBuf,
}

impl Layout {
    fn alias_target(&self, t: AliasTarget) -> PathBuf {
        match t {
            AliasTarget::SandboxRunDir => self.sandbox_run_dir.clone(),
            AliasTarget::HostRunDir => self.host_run_dir.clone(),
            AliasTarget::SandboxResultFile => self.sandbox_run_dir.join("result.env"),
        }
    }
}

/// Deletes everything directly inside `dir` (creating it when missing).
pub fn reset_dir(dir: &Path) -> anyhow::Result<()> {
    acp_core::fsx::create_dir_all(dir)?;
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        let p = entry.path();
        let ft = entry
            .file_type()
            .with_context(|| format!("failed to stat {}", p.display()))?;
        if ft.is_dir() {
            fs_err::remove_dir_all(&p)?;
        } else {
            fs_err::remove_file(&p)?;
        }
    }
    Ok(())
}

/// Makes git ignore openclaw's files in this worktree through
/// [`acp_session::worktree::ensure_excludes`], with
/// `<sandbox artifact dir>/git-exclude` as the file when the worktree has
/// none of its own (nothing for a non-git directory). Returns the file used.
pub fn ensure_excludes(env: &Env, layout: &Layout) -> anyhow::Result<Option<PathBuf>> {
    acp_session::worktree::ensure_excludes(
        env,
        &layout.worktree,
        &layout.sandbox_artifact_dir.join("git-exclude"),
        &exclude_patterns(),
    )
}

/// Creates the literal-name symlinks in the worktree root. Returns log notes
/// for names that exist as real files or directories (left untouched).
pub fn ensure_aliases(layout: &Layout) -> Vec<String> {
    let mut notes = Vec::new();
    for (name, target) in ALIASES {
        let alias = layout.worktree.join(name);
        let target = layout.alias_target(*target);
        match std::fs::symlink_metadata(&alias) {
            Ok(m) if m.file_type().is_symlink() => {
                if std::fs::read_link(&alias).is_ok_and(|t| t == target) {
                    continue;
                }
                let _ = std::fs::remove_file(&alias);
            }
            Ok(_) => {
                notes.push(format!(
                    "[openclaw] runtime alias path already exists, leaving untouched: {}",
                    alias.display()
                ));
                continue;
            }
            Err(_) => {}
        }
        let _ = std::os::unix::fs::symlink(&target, &alias);
    }
    notes
}

/// Removes the literal-name symlinks (real files and directories stay).
pub fn remove_aliases(worktree: &Path) {
    for (name, _) in ALIASES {
        let alias = worktree.join(name);
        if std::fs::symlink_metadata(&alias).is_ok_and(|m| m.file_type().is_symlink()) {
            let _ = std::fs::remove_file(&alias);
        }
    }
}

fn is_real_file(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_file())
}

fn is_real_dir(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_dir())
}

fn copy_to_both(src: &Path, name: &str, layout: &Layout) {
    let _ = std::fs::copy(src, layout.sandbox_run_dir.join(name));
    let _ = std::fs::copy(src, layout.host_run_dir.join(name));
}

/// Moves artifacts an agent wrote through a literal name (a real file at
/// `<worktree>/$ACP_RESULT_FILE`, a real directory at `<worktree>/$ACP_RUN_DIR`
/// ...) to the sandbox and host run dirs and deletes the literal paths.
/// Returns log lines.
pub fn recover_literal_artifacts(layout: &Layout) -> Vec<String> {
    let mut log = Vec::new();
    for name in [
        "$ACP_RESULT_FILE",
        "$AGENT_PROJECT_RESULT_FILE",
        "$F_LOSNING_RESULT_FILE",
    ] {
        let p = layout.worktree.join(name);
        if is_real_file(&p) {
            copy_to_both(&p, "result.env", layout);
            let _ = std::fs::remove_file(&p);
            log.push(format!(
                "[openclaw] recovered literal result artifact: {}",
                p.display()
            ));
            break;
        }
    }
    for name in [
        "$ACP_RUN_DIR",
        "$AGENT_PROJECT_RUN_DIR",
        "$F_LOSNING_RUN_DIR",
    ] {
        let p = layout.worktree.join(name);
        if is_real_dir(&p) {
            // Everything the agent put there is collected, not only the
            // contract files, so --collect-file finds its artifacts too.
            if let Ok(rd) = std::fs::read_dir(&p) {
                for e in rd.flatten() {
                    let src = e.path();
                    if is_real_file(&src) {
                        copy_to_both(&src, &e.file_name().to_string_lossy(), layout);
                    }
                }
            }
            let _ = std::fs::remove_dir_all(&p);
            log.push(format!(
                "[openclaw] recovered literal run-dir artifact tree: {}",
                p.display()
            ));
        }
    }
    log
}

/// Recovers artifacts the agent wrote into the retained repo's copy of this
/// worktree (`<retained>/worktrees/<worktree name>/.openclaw-artifacts/<session>`),
/// then deletes that dir and its now-empty parents up to `<retained>/worktrees`.
pub fn recover_retained_leak(retained_root: &str, session: &str, layout: &Layout) -> Vec<String> {
    let mut log = Vec::new();
    if retained_root.is_empty() || session.is_empty() || session.contains('/') || session == ".." {
        return log;
    }
    let Some(wt_name) = layout.worktree.file_name() else {
        return log;
    };
    let root = PathBuf::from(retained_root.trim_end_matches('/')).join("worktrees");
    let artifacts = root.join(wt_name).join(".openclaw-artifacts");
    let leaked = artifacts.join(session);
    if !is_real_dir(&leaked) || leaked == layout.sandbox_run_dir {
        return log;
    }
    let mut recovered = false;
    for name in RECOVERED_ARTIFACTS {
        let src = leaked.join(name);
        if is_real_file(&src) {
            copy_to_both(&src, name, layout);
            recovered = true;
        }
    }
    let _ = std::fs::remove_dir_all(&leaked);
    let _ = std::fs::remove_dir(&artifacts);
    let _ = std::fs::remove_dir(root.join(wt_name));
    let _ = std::fs::remove_dir(&root);
    if recovered {
        log.push(format!(
            "[openclaw] recovered retained-repo artifact leak: {}",
            leaked.display()
        ));
    }
    log
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn layout(root: &Path) -> Layout {
        let worktree = root.join("wt");
        let l = Layout {
            sandbox_artifact_dir: worktree.join(".openclaw-artifacts"),
            sandbox_run_dir: worktree.join(".openclaw-artifacts/s1"),
            host_run_dir: root.join("runs/s1"),
            worktree,
        };
        std::fs::create_dir_all(&l.sandbox_run_dir).unwrap();
        std::fs::create_dir_all(&l.host_run_dir).unwrap();
        l
    }

    #[test]
    fn reset_dir_empties_but_keeps_the_dir() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("d");
        std::fs::create_dir_all(d.join("sub/deeper")).unwrap();
        std::fs::write(d.join("result.env"), "x").unwrap();
        std::os::unix::fs::symlink("/nonexistent", d.join("dangling")).unwrap();
        reset_dir(&d).unwrap();
        assert!(d.is_dir());
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0);
    }

    #[test]
    fn aliases_are_created_and_removed_but_real_paths_kept() {
        let t = tempfile::tempdir().unwrap();
        let l = layout(t.path());
        std::fs::write(l.worktree.join("$F_LOSNING_RESULT_FILE"), "mine").unwrap();
        let notes = ensure_aliases(&l);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert_eq!(
            std::fs::read_link(l.worktree.join("$ACP_RUN_DIR")).unwrap(),
            l.sandbox_run_dir
        );
        assert_eq!(
            std::fs::read_link(l.worktree.join("$ACP_HOST_RUN_DIR")).unwrap(),
            l.host_run_dir
        );
        assert!(ensure_aliases(&l).len() == 1, "idempotent");
        remove_aliases(&l.worktree);
        assert!(!l.worktree.join("$ACP_RUN_DIR").exists());
        assert_eq!(
            std::fs::read_to_string(l.worktree.join("$F_LOSNING_RESULT_FILE")).unwrap(),
            "mine"
        );
    }

    #[test]
    fn literal_artifacts_are_recovered_and_removed() {
        let t = tempfile::tempdir().unwrap();
        let l = layout(t.path());
        std::fs::write(l.worktree.join("$ACP_RESULT_FILE"), "OUTCOME=implemented\n").unwrap();
        let d = l.worktree.join("$ACP_RUN_DIR");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("verification.jsonl"), "{}\n").unwrap();
        std::fs::write(d.join("mock.txt"), "m\n").unwrap();
        let log = recover_literal_artifacts(&l);
        assert_eq!(log.len(), 2, "{log:?}");
        for dir in [&l.sandbox_run_dir, &l.host_run_dir] {
            assert_eq!(
                std::fs::read_to_string(dir.join("result.env")).unwrap(),
                "OUTCOME=implemented\n"
            );
            assert!(dir.join("verification.jsonl").is_file());
            assert!(dir.join("mock.txt").is_file());
        }
        assert!(!l.worktree.join("$ACP_RESULT_FILE").exists());
        assert!(!d.exists());
    }

    #[test]
    fn retained_leak_is_recovered_and_pruned() {
        let t = tempfile::tempdir().unwrap();
        let l = layout(t.path());
        let retained = t.path().join("retained");
        let leak = retained.join("worktrees/wt/.openclaw-artifacts/s1");
        std::fs::create_dir_all(&leak).unwrap();
        std::fs::write(leak.join("pr-comment.md"), "# leaked\n").unwrap();
        std::fs::write(leak.join("result.env"), "OUTCOME=x\n").unwrap();
        let log = recover_retained_leak(&format!("{}/", retained.display()), "s1", &l);
        assert_eq!(log.len(), 1);
        assert!(l.host_run_dir.join("pr-comment.md").is_file());
        assert!(l.sandbox_run_dir.join("result.env").is_file());
        assert!(!retained.join("worktrees").exists());
        assert!(retained.is_dir());
        assert!(recover_retained_leak(retained.to_str().unwrap(), "../x", &l).is_empty());
        assert!(recover_retained_leak("", "s1", &l).is_empty());
    }

    fn git(env: &Env, dir: &Path, args: &[&str]) {
        let mut c = std::process::Command::new("git");
        env.apply(&mut c);
        assert!(c.arg("-C").arg(dir).args(args).status().unwrap().success());
    }

    #[test]
    fn excludes_live_in_the_artifact_dir_and_cover_the_literal_names() {
        let t = tempfile::tempdir().unwrap();
        let mut env = Env::new();
        env.set("PATH", std::env::var_os("PATH").unwrap_or_default());
        env.set("HOME", t.path().join("home"));
        env.set("GIT_CONFIG_NOSYSTEM", "1");
        let l = layout(t.path());
        assert_eq!(ensure_excludes(&env, &l).unwrap(), None, "not a repo yet");
        git(&env, &l.worktree, &["init", "-q"]);
        let file = ensure_excludes(&env, &l).unwrap().unwrap();
        assert_eq!(file, l.sandbox_artifact_dir.join("git-exclude"));
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines, exclude_patterns(), "{text}");
    }
}
