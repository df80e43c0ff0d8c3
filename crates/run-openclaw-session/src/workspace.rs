//! What the session does to the agent's worktree around a run: git excludes
//! for openclaw's bookkeeping files, the commit-scope pre-commit hook, the
//! literal `$ACP_RUN_DIR`-style aliases (and recovery of artifacts an agent
//! wrote through such literal names), and recovery of artifacts leaked into
//! the retained repo's worktree copy.

use std::path::{Path, PathBuf};

use acp_core::Env;
use anyhow::Context;

/// Patterns openclaw's workspace files need ignored so the worktree stays clean.
pub const EXCLUDE_PATTERNS: &[&str] = &[
    ".openclaw-artifacts",
    ".openclaw",
    "SOUL.md",
    "TOOLS.md",
    "IDENTITY.md",
    "USER.md",
    "HEARTBEAT.md",
    "BOOTSTRAP.md",
    "AGENTS.md",
    ".agent-session.env",
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

/// Whether `dir` is inside a git work tree.
pub fn is_git(env: &Env, dir: &Path) -> bool {
    acp_core::git::capture(env, dir, &["rev-parse", "--git-dir"]).is_some()
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

fn expand_home(env: &Env, p: &str) -> PathBuf {
    match p.strip_prefix("~/") {
        Some(rest) => env.home().join(rest),
        None => PathBuf::from(p),
    }
}

/// Makes git ignore openclaw's files in this worktree (nothing for a non-git
/// directory). When the worktree has no excludes file of its own, one is
/// created at `<sandbox artifact dir>/git-exclude` and set as the worktree's
/// `core.excludesFile`; because that setting hides the user's global excludes
/// file in this worktree, the global file's patterns are copied into it.
/// Returns the excludes file used.
pub fn ensure_excludes(env: &Env, layout: &Layout) -> anyhow::Result<Option<PathBuf>> {
    let wt = &layout.worktree;
    if !is_git(env, wt) {
        return Ok(None);
    }
    let configured = acp_core::git::capture(
        env,
        wt,
        &["config", "--worktree", "--get", "core.excludesFile"],
    )
    .filter(|s| !s.is_empty());
    let mut inherited = Vec::new();
    let file = match configured {
        Some(f) => expand_home(env, &f),
        None => {
            let global = acp_core::git::capture(env, wt, &["config", "--get", "core.excludesFile"])
                .filter(|s| !s.is_empty())
                .map(|f| expand_home(env, &f))
                .unwrap_or_else(|| {
                    env.non_empty("XDG_CONFIG_HOME")
                        .map(PathBuf::from)
                        .unwrap_or_else(|| env.home().join(".config"))
                        .join("git/ignore")
                });
            if let Ok(text) = std::fs::read_to_string(&global) {
                inherited.extend(text.lines().map(str::to_string));
            }
            let file = layout.sandbox_artifact_dir.join("git-exclude");
            let _ =
                acp_core::git::capture(env, wt, &["config", "extensions.worktreeConfig", "true"]);
            let value = file.to_string_lossy().into_owned();
            if acp_core::git::capture(
                env,
                wt,
                &["config", "--worktree", "core.excludesFile", &value],
            )
            .is_none()
            {
                anyhow::bail!("failed to set core.excludesFile for {}", wt.display());
            }
            file
        }
    };
    let file = if file.is_relative() {
        wt.join(file)
    } else {
        file
    };
    acp_core::fsx::create_dir_all(&acp_core::fsx::parent_dir(&file))?;
    let current = std::fs::read_to_string(&file).unwrap_or_default();
    let mut present: Vec<String> = current.lines().map(str::to_string).collect();
    let mut add = String::new();
    for line in inherited
        .iter()
        .map(String::as_str)
        .chain(EXCLUDE_PATTERNS.iter().copied())
    {
        if line.is_empty() || present.iter().any(|p| p == line) {
            continue;
        }
        present.push(line.to_string());
        add.push_str(line);
        add.push('\n');
    }
    let mut content = current;
    if !content.is_empty() && !content.ends_with('\n') && !add.is_empty() {
        content.push('\n');
    }
    content.push_str(&add);
    acp_core::fsx::atomic_write(&file, content.as_bytes())?;
    Ok(Some(file))
}

/// First line after the shebang of our hook, so we can recognise it later.
pub const HOOK_MARKER: &str = "# acp-openclaw-scope-guard";

/// The commit-scope guard: warns when one commit spans three product surfaces
/// (apps/api, apps/web, apps/mobile) and refuses commits with more than 20
/// product files or more than 8 mobile files.
pub fn hook_script() -> String {
    format!(
        r#"#!/usr/bin/env bash
{HOOK_MARKER}
# Installed by agent-project-run-openclaw-session: keeps worker commits small.
set -euo pipefail
staged="$(git diff --cached --name-only --diff-filter=ACMR 2>/dev/null || true)"
[[ -n "$staged" ]] || exit 0
api=0 web=0 mobile=0 pkgs=0 docs=0 rest=0
while IFS= read -r path; do
  [[ -n "$path" ]] || continue
  case "$path" in
    apps/api/*) api=$((api + 1)) ;;
    apps/web/*) web=$((web + 1)) ;;
    apps/mobile/*) mobile=$((mobile + 1)) ;;
    packages/*) pkgs=$((pkgs + 1)) ;;
    openspec/*|docs/*|*.md) docs=$((docs + 1)) ;;
    *) rest=$((rest + 1)) ;;
  esac
done <<<"$staged"
surfaces=0
for n in "$api" "$web" "$mobile"; do
  if [[ "$n" -gt 0 ]]; then surfaces=$((surfaces + 1)); fi
done
if [[ "$surfaces" -ge 3 ]]; then
  echo "[pre-commit scope warning] commit spans $surfaces product surfaces (api=$api web=$web mobile=$mobile); consider splitting it." >&2
fi
product=$((api + web + mobile + pkgs + rest))
if [[ "$product" -gt 20 ]]; then
  echo "[pre-commit scope BLOCK] commit touches $product product files across $surfaces surfaces; split it into smaller commits." >&2
  exit 1
fi
if [[ "$mobile" -gt 8 ]]; then
  echo "[pre-commit scope BLOCK] commit touches $mobile mobile files; keep mobile changes to one route family (at most 8 files)." >&2
  exit 1
fi
exit 0
"#
    )
}

/// What [`install_hook`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum HookOutcome {
    NotGit,
    Installed(PathBuf),
    /// A pre-commit hook that is not ours exists; it is left alone.
    KeptForeign(PathBuf),
}

/// Installs the scope guard as the repository's pre-commit hook (git's
/// `hooks` path, which honours `core.hooksPath`), unless another hook is
/// already there.
pub fn install_hook(env: &Env, worktree: &Path) -> anyhow::Result<HookOutcome> {
    if !is_git(env, worktree) {
        return Ok(HookOutcome::NotGit);
    }
    let hooks = acp_core::git::capture(env, worktree, &["rev-parse", "--git-path", "hooks"])
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| ".git/hooks".to_string());
    let hooks = PathBuf::from(hooks);
    let hooks = if hooks.is_relative() {
        worktree.join(hooks)
    } else {
        hooks
    };
    let hook = hooks.join("pre-commit");
    match std::fs::read(&hook) {
        Ok(bytes) if !String::from_utf8_lossy(&bytes).contains(HOOK_MARKER) => {
            return Ok(HookOutcome::KeptForeign(hook));
        }
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Ok(HookOutcome::KeptForeign(hook));
        }
        _ => {}
    }
    acp_core::fsx::atomic_write(&hook, hook_script().as_bytes())?;
    acp_core::fsx::make_executable(&hook)?;
    Ok(HookOutcome::Installed(hook))
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
    fn excludes_keep_global_patterns_and_hook_respects_foreign_hooks() {
        let t = tempfile::tempdir().unwrap();
        let home = t.path().join("home");
        std::fs::create_dir_all(home.join(".config/git")).unwrap();
        std::fs::write(home.join(".config/git/ignore"), "*.secret\n").unwrap();
        let mut env = Env::new();
        env.set("PATH", std::env::var_os("PATH").unwrap_or_default());
        env.set("HOME", &home);
        env.set("GIT_CONFIG_NOSYSTEM", "1");
        let l = layout(t.path());
        assert_eq!(ensure_excludes(&env, &l).unwrap(), None, "not a repo yet");
        assert_eq!(
            install_hook(&env, &l.worktree).unwrap(),
            HookOutcome::NotGit
        );
        assert!(!l.worktree.join(".git-hooks").exists());

        git(&env, &l.worktree, &["init", "-q"]);
        let file = ensure_excludes(&env, &l).unwrap().unwrap();
        assert_eq!(file, l.sandbox_artifact_dir.join("git-exclude"));
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with("*.secret\n.openclaw-artifacts\n"),
            "{text}"
        );
        assert!(text.contains("\n$F_LOSNING_RESULT_FILE\n"));
        ensure_excludes(&env, &l).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), text, "idempotent");
        std::fs::write(l.worktree.join("x.secret"), "k").unwrap();
        std::fs::write(l.worktree.join("SOUL.md"), "").unwrap();
        let mut c = std::process::Command::new("git");
        env.apply(&mut c);
        let out = c
            .arg("-C")
            .arg(&l.worktree)
            .args(["status", "--porcelain"])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "", "all ignored");

        let HookOutcome::Installed(hook) = install_hook(&env, &l.worktree).unwrap() else {
            panic!("hook not installed");
        };
        assert!(install_hook(&env, &l.worktree).unwrap() == HookOutcome::Installed(hook.clone()));
        std::fs::write(&hook, "#!/bin/sh\nexit 0\n").unwrap();
        assert_eq!(
            install_hook(&env, &l.worktree).unwrap(),
            HookOutcome::KeptForeign(hook.clone())
        );
        assert_eq!(
            std::fs::read_to_string(&hook).unwrap(),
            "#!/bin/sh\nexit 0\n"
        );
    }

    #[test]
    fn hook_script_is_valid_bash() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("hook");
        std::fs::write(&p, hook_script()).unwrap();
        let ok = std::process::Command::new("bash")
            .arg("-n")
            .arg(&p)
            .status()
            .unwrap();
        assert!(ok.success());
        assert!(hook_script().lines().nth(1) == Some(HOOK_MARKER));
    }
}
