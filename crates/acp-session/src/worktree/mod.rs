//! Preparing an agent's git worktree before a run (claude, openclaw): a
//! per-worktree excludes file so agent bookkeeping never shows up in
//! `git status`, and the commit-scope pre-commit hook.
//!
//! Both steps leave a directory that is not a git work tree alone, and never
//! replace a pre-commit hook a project installed itself (bug B11).
//!
//! The submodules make and prepare task worktrees for any repository (the
//! worktree tools of spec 3.6): [`naming`] (branch and directory names,
//! slugs), [`settings`] (the profile's values), [`repo`] (the git steps),
//! [`create`] (`agent-init-worktree`), [`open`] (the open tools' fetch,
//! init and prepare steps), [`wrapper`] (`new-worktree.sh`,
//! `new-pr-worktree.sh`), [`prepare`] (`prepare-worktree.sh`), [`baseline`]
//! (what a repository needs installed; the dependency baseline) and
//! [`reuse`] (`reuse-issue-worktree.sh`).

pub mod baseline;
pub mod create;
pub mod naming;
pub mod open;
pub mod prepare;
pub mod repo;
pub mod reuse;
pub mod settings;
pub mod wrapper;

use std::path::{Path, PathBuf};

use acp_core::{Env, fsx, git};

/// The marker line of the hook we install; a hook without it (or the marker
/// earlier openclaw sessions wrote, [`LEGACY_HOOK_MARKERS`]) is a project's
/// own and is kept.
pub const HOOK_MARKER: &str = "# acp-commit-scope-hook";

/// Markers of scope hooks written by earlier versions of our sessions; such a
/// hook is ours to refresh.
pub const LEGACY_HOOK_MARKERS: &[&str] = &["# acp-openclaw-scope-guard"];

/// Scratch files agents leave in the worktree root that must stay untracked.
pub const AGENT_SCRATCH_FILES: &[&str] = &[
    "SOUL.md",
    "TOOLS.md",
    "IDENTITY.md",
    "USER.md",
    "HEARTBEAT.md",
    "BOOTSTRAP.md",
    ".agent-session.env",
];

fn expand_home(env: &Env, p: &str) -> PathBuf {
    match p.strip_prefix("~/") {
        Some(rest) => env.home().join(rest),
        None => PathBuf::from(p),
    }
}

fn under(wt: &Path, p: PathBuf) -> PathBuf {
    if p.is_relative() { wt.join(p) } else { p }
}

/// The user's global excludes file: `core.excludesFile` from the global
/// config, else `$XDG_CONFIG_HOME/git/ignore`, else `~/.config/git/ignore`.
fn global_excludes_file(env: &Env, wt: &Path) -> PathBuf {
    git::capture(env, wt, &["config", "--get", "core.excludesFile"])
        .filter(|s| !s.is_empty())
        .map(|f| expand_home(env, &f))
        .unwrap_or_else(|| {
            env.non_empty("XDG_CONFIG_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| env.home().join(".config"))
                .join("git/ignore")
        })
}

/// Makes git ignore `patterns` in the worktree `wt` (`Ok(None)` for a
/// directory that is not a git work tree).
///
/// The worktree's own `core.excludesFile` (`git config --worktree`) is used
/// when set. Otherwise `default_file` becomes it (with
/// `extensions.worktreeConfig` switched on); because a per-worktree setting
/// hides the user's global excludes file there, that file's patterns are
/// copied in first. Patterns already present are not repeated, so the call
/// is idempotent; the file is written atomically. Returns the file used.
pub fn ensure_excludes(
    env: &Env,
    wt: &Path,
    default_file: &Path,
    patterns: &[&str],
) -> anyhow::Result<Option<PathBuf>> {
    if !git::is_work_tree(env, wt) {
        return Ok(None);
    }
    let configured = git::capture(
        env,
        wt,
        &["config", "--worktree", "--get", "core.excludesFile"],
    )
    .filter(|s| !s.is_empty());
    let mut inherited = Vec::new();
    let file = match configured {
        Some(f) => expand_home(env, &f),
        None => {
            if let Ok(text) = std::fs::read_to_string(global_excludes_file(env, wt)) {
                inherited.extend(text.lines().map(str::to_string));
            }
            let _ = git::capture(env, wt, &["config", "extensions.worktreeConfig", "true"]);
            let value = default_file.to_string_lossy();
            if git::capture(
                env,
                wt,
                &["config", "--worktree", "core.excludesFile", &value],
            )
            .is_none()
            {
                anyhow::bail!(
                    "git config --worktree core.excludesFile failed in {}",
                    wt.display()
                );
            }
            default_file.to_path_buf()
        }
    };
    let file = under(wt, file);
    fsx::create_dir_all(&fsx::parent_dir(&file))?;
    let current = fsx::read_if_exists(&file)?.unwrap_or_default();
    let current = String::from_utf8_lossy(&current).into_owned();
    let mut present: Vec<&str> = current.lines().collect();
    let mut add = String::new();
    for line in inherited
        .iter()
        .map(String::as_str)
        .chain(patterns.iter().copied())
    {
        if line.is_empty() || present.contains(&line) {
            continue;
        }
        present.push(line);
        add.push_str(line);
        add.push('\n');
    }
    if add.is_empty() && file.exists() {
        return Ok(Some(file));
    }
    let mut content = current.clone();
    if !content.is_empty() && !content.ends_with('\n') && !add.is_empty() {
        content.push('\n');
    }
    content.push_str(&add);
    fsx::atomic_write(&file, content.as_bytes())?;
    Ok(Some(file))
}

/// The excludes pattern for a sandbox subdir given as `./x`, `/x` or `x`.
pub fn subdir_pattern(sandbox_subdir: &str) -> &str {
    sandbox_subdir
        .strip_prefix("./")
        .unwrap_or(sandbox_subdir)
        .trim_start_matches('/')
}

/// What [`install_scope_hook`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum HookOutcome {
    /// The directory is not a git work tree; nothing was done.
    NotGit,
    /// Our hook is in place at this path (new or refreshed).
    Installed(PathBuf),
    /// The project has a pre-commit hook of its own at this path (or routes
    /// its hooks through `core.hooksPath`); it is left alone and no guard is
    /// installed.
    KeptForeign(PathBuf),
}

/// Whether `text` is a hook we (or an earlier version of us) installed.
fn is_ours(text: &[u8]) -> bool {
    let text = String::from_utf8_lossy(text);
    std::iter::once(HOOK_MARKER)
        .chain(LEGACY_HOOK_MARKERS.iter().copied())
        .any(|m| text.lines().any(|l| l.trim_end() == m))
}

fn git_path(env: &Env, wt: &Path, args: &[&str]) -> Option<PathBuf> {
    git::capture(env, wt, args)
        .filter(|s| !s.is_empty())
        .map(|s| under(wt, PathBuf::from(s)))
}

/// The directory holding this worktree's private hooks: `acp-hooks` in the
/// worktree's own git dir (`.git/worktrees/<name>/` for a linked worktree),
/// which `git worktree remove` deletes with it.
pub fn private_hooks_dir(env: &Env, wt: &Path) -> Option<PathBuf> {
    git_path(env, wt, &["rev-parse", "--absolute-git-dir"]).map(|d| d.join("acp-hooks"))
}

/// Installs the commit-scope guard ([`SCOPE_HOOK`]) for the worktree `wt`
/// only.
///
/// The hook goes into [`private_hooks_dir`] and the worktree's own
/// `core.hooksPath` (`git config --worktree`) points there, so the guard
/// never reaches the repository's other checkouts (0.2.0 wrote it into the
/// shared hooks dir, where it also blocked the operator's own commits, bug
/// B11). The repository's other hooks are linked into the private dir so
/// they keep running in this worktree. Nothing is installed when the project
/// has a pre-commit hook of its own or routes its hooks through
/// `core.hooksPath` (husky and the like). A guard an earlier version left
/// in the shared hooks dir is removed.
pub fn install_scope_hook(env: &Env, wt: &Path) -> anyhow::Result<HookOutcome> {
    if !git::is_work_tree(env, wt) {
        return Ok(HookOutcome::NotGit);
    }
    let (Some(private), Some(common)) = (
        private_hooks_dir(env, wt),
        git_path(env, wt, &["rev-parse", "--git-common-dir"]),
    ) else {
        anyhow::bail!("cannot locate the git dir of {}", wt.display());
    };
    let private = fsx::canonical_or_given(&private);
    if let Some(routed) = git_path(env, wt, &["config", "--get", "core.hooksPath"])
        && fsx::canonical_or_given(&routed) != private
    {
        return Ok(HookOutcome::KeptForeign(routed.join("pre-commit")));
    }
    let shared = common.join("hooks");
    let shared_hook = shared.join("pre-commit");
    match std::fs::read(&shared_hook) {
        Ok(bytes) if is_ours(&bytes) => fsx::remove_file_if_exists(&shared_hook)?,
        Ok(_) => return Ok(HookOutcome::KeptForeign(shared_hook)),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Ok(HookOutcome::KeptForeign(shared_hook));
        }
        Err(_) => {}
    }
    fsx::create_dir_all(&private)?;
    link_shared_hooks(&shared, &private)?;
    let hook = private.join("pre-commit");
    fsx::atomic_write(&hook, SCOPE_HOOK.as_bytes())?;
    fsx::make_executable(&hook)?;
    let _ = git::capture(env, wt, &["config", "extensions.worktreeConfig", "true"]);
    let value = private.to_string_lossy();
    if git::capture(env, wt, &["config", "--worktree", "core.hooksPath", &value]).is_none() {
        anyhow::bail!(
            "git config --worktree core.hooksPath failed in {}",
            wt.display()
        );
    }
    Ok(HookOutcome::Installed(hook))
}

/// Links every live hook of the shared hooks dir (not `*.sample`, not
/// `pre-commit`) into `private`, replacing stale links.
fn link_shared_hooks(shared: &Path, private: &Path) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(shared) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name_s = name.to_string_lossy();
        if name_s == "pre-commit" || name_s.ends_with(".sample") || name_s.starts_with('.') {
            continue;
        }
        let link = private.join(&name);
        fsx::remove_file_if_exists(&link)?;
        std::os::unix::fs::symlink(entry.path(), &link)
            .map_err(|e| anyhow::anyhow!("failed to link {}: {e}", link.display()))?;
    }
    Ok(())
}

/// The commit-scope guard: warns when one commit touches all three app
/// surfaces (`apps/api`, `apps/web`, `apps/mobile`) and refuses a commit with
/// more than 20 product files or more than 8 mobile files. Docs
/// (`openspec/`, `docs/`, `*.md`) do not count as product files.
pub const SCOPE_HOOK: &str = r#"#!/usr/bin/env bash
# acp-commit-scope-hook
# Installed by an agent-control-plane worker session: keeps worker commits small.
set -euo pipefail
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
done < <(git diff --cached --name-only --diff-filter=ACMR 2>/dev/null || true)
surfaces=0
for n in "$api" "$web" "$mobile"; do
  if [[ "$n" -gt 0 ]]; then surfaces=$((surfaces + 1)); fi
done
if [[ "$surfaces" -ge 3 ]]; then
  echo "[pre-commit scope warning] commit spans $surfaces app surfaces (api=$api web=$web mobile=$mobile); prefer focused commits." >&2
fi
product=$((api + web + mobile + pkgs + rest))
if [[ "$product" -gt 20 ]]; then
  echo "[pre-commit scope BLOCK] commit touches $product product files; split it into smaller commits." >&2
  exit 1
fi
if [[ "$mobile" -gt 8 ]]; then
  echo "[pre-commit scope BLOCK] commit touches $mobile mobile files; keep mobile changes to one route family (at most 8 files)." >&2
  exit 1
fi
exit 0
"#;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::process::Command;

    fn env_for(home: &Path) -> Env {
        let mut env = Env::new();
        env.set("PATH", std::env::var_os("PATH").unwrap_or_default());
        env.set("HOME", home);
        env.set("GIT_CONFIG_NOSYSTEM", "1");
        env.set("GIT_AUTHOR_NAME", "t");
        env.set("GIT_AUTHOR_EMAIL", "t@example.com");
        env.set("GIT_COMMITTER_NAME", "t");
        env.set("GIT_COMMITTER_EMAIL", "t@example.com");
        env
    }

    fn git_run(env: &Env, dir: &Path, args: &[&str]) -> std::process::Output {
        let mut c = Command::new("git");
        env.apply(&mut c);
        c.arg("-C").arg(dir).args(args).output().unwrap()
    }

    #[test]
    fn excludes_copy_global_patterns_once_and_hide_agent_files() {
        let t = tempfile::tempdir().unwrap();
        let home = t.path().join("home");
        std::fs::create_dir_all(home.join(".config/git")).unwrap();
        std::fs::write(home.join(".config/git/ignore"), "*.secret\n").unwrap();
        let env = env_for(&home);
        let wt = t.path().join("wt");
        std::fs::create_dir_all(&wt).unwrap();
        let default = t.path().join("sandbox/git-exclude");
        let mut patterns = vec![".agent-artifacts"];
        patterns.extend_from_slice(AGENT_SCRATCH_FILES);
        assert_eq!(
            ensure_excludes(&env, &wt, &default, &patterns).unwrap(),
            None,
            "not a repo yet"
        );
        assert!(!default.exists());

        assert!(git_run(&env, &wt, &["init", "-q"]).status.success());
        let file = ensure_excludes(&env, &wt, &default, &patterns)
            .unwrap()
            .unwrap();
        assert_eq!(file, default);
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with("*.secret\n.agent-artifacts\nSOUL.md\n"),
            "{text}"
        );
        ensure_excludes(&env, &wt, &default, &patterns).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), text, "idempotent");
        std::fs::write(wt.join("x.secret"), "k").unwrap();
        std::fs::write(wt.join("SOUL.md"), "").unwrap();
        std::fs::create_dir_all(wt.join(".agent-artifacts")).unwrap();
        std::fs::write(wt.join(".agent-artifacts/r.env"), "").unwrap();
        std::fs::write(wt.join("real.rs"), "").unwrap();
        let out = git_run(&env, &wt, &["status", "--porcelain"]);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "?? real.rs\n");
    }

    #[test]
    fn an_existing_worktree_excludes_file_is_extended_not_replaced() {
        let t = tempfile::tempdir().unwrap();
        let env = env_for(&t.path().join("home"));
        let wt = t.path().join("wt");
        std::fs::create_dir_all(&wt).unwrap();
        assert!(git_run(&env, &wt, &["init", "-q"]).status.success());
        let mine = t.path().join("my-excludes");
        std::fs::write(&mine, "keep-me").unwrap();
        let _ = git_run(&env, &wt, &["config", "extensions.worktreeConfig", "true"]);
        let mine_s = mine.to_string_lossy().into_owned();
        assert!(
            git_run(
                &env,
                &wt,
                &["config", "--worktree", "core.excludesFile", &mine_s]
            )
            .status
            .success()
        );
        let file = ensure_excludes(&env, &wt, &t.path().join("unused"), &["SOUL.md"])
            .unwrap()
            .unwrap();
        assert_eq!(file, mine);
        assert_eq!(
            std::fs::read_to_string(&mine).unwrap(),
            "keep-me\nSOUL.md\n"
        );
        assert!(!t.path().join("unused").exists());
    }

    /// A repository with one commit and a linked worktree `wt` on branch `w`.
    fn repo_with_worktree(t: &Path) -> (Env, PathBuf, PathBuf) {
        let env = env_for(&t.join("home"));
        let main = t.join("main");
        std::fs::create_dir_all(&main).unwrap();
        assert!(
            git_run(&env, &main, &["init", "-q", "-b", "main"])
                .status
                .success()
        );
        std::fs::write(main.join("README"), "x").unwrap();
        assert!(git_run(&env, &main, &["add", "."]).status.success());
        assert!(
            git_run(&env, &main, &["commit", "-qm", "init"])
                .status
                .success()
        );
        let wt = t.join("wt");
        let wt_s = wt.to_string_lossy().into_owned();
        assert!(
            git_run(&env, &main, &["worktree", "add", "-q", "-b", "w", &wt_s])
                .status
                .success()
        );
        (env, main, wt)
    }

    fn stage_mobile_files(env: &Env, dir: &Path, n: usize) {
        std::fs::create_dir_all(dir.join("apps/mobile")).unwrap();
        for i in 0..n {
            std::fs::write(dir.join(format!("apps/mobile/f{i}.ts")), "x").unwrap();
        }
        assert!(git_run(env, dir, &["add", "."]).status.success());
    }

    fn hook_path(env: &Env, dir: &Path) -> PathBuf {
        let out = git_run(env, dir, &["rev-parse", "--git-path", "hooks/pre-commit"]);
        let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if p.is_relative() { dir.join(p) } else { p }
    }

    #[test]
    fn hook_guards_only_the_agent_worktree() {
        let t = tempfile::tempdir().unwrap();
        let (env, main, wt) = repo_with_worktree(t.path());
        let plain = t.path().join("plain");
        std::fs::create_dir_all(&plain).unwrap();
        assert_eq!(
            install_scope_hook(&env, &plain).unwrap(),
            HookOutcome::NotGit
        );

        let HookOutcome::Installed(hook) = install_scope_hook(&env, &wt).unwrap() else {
            panic!("hook not installed");
        };
        assert!(
            hook.ends_with("worktrees/wt/acp-hooks/pre-commit"),
            "{}",
            hook.display()
        );
        assert_eq!(std::fs::read_to_string(&hook).unwrap(), SCOPE_HOOK);
        assert_eq!(fsx::canonical_or_given(&hook_path(&env, &wt)), hook);
        assert!(!main.join(".git/hooks/pre-commit").exists());
        assert_eq!(
            install_scope_hook(&env, &wt).unwrap(),
            HookOutcome::Installed(hook.clone()),
            "idempotent"
        );

        // The worker's oversized commit is refused ...
        stage_mobile_files(&env, &wt, 9);
        let out = git_run(&env, &wt, &["commit", "-qm", "big"]);
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr)
                .contains("[pre-commit scope BLOCK] commit touches 9 mobile files"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            git_run(&env, &wt, &["rm", "-q", "--cached", "apps/mobile/f8.ts"])
                .status
                .success()
        );
        let out = git_run(&env, &wt, &["commit", "-qm", "ok"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // ... while the operator's own checkout is not guarded at all.
        stage_mobile_files(&env, &main, 9);
        let out = git_run(&env, &main, &["commit", "-qm", "mine"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn the_repositorys_other_hooks_keep_running_in_the_worktree() {
        let t = tempfile::tempdir().unwrap();
        let (env, main, wt) = repo_with_worktree(t.path());
        let msg_hook = main.join(".git/hooks/commit-msg");
        acp_core::testutil::write_script(
            &msg_hook,
            "#!/bin/sh\necho project-commit-msg-ran >&2\nexit 1\n",
        );
        assert!(matches!(
            install_scope_hook(&env, &wt).unwrap(),
            HookOutcome::Installed(_)
        ));
        std::fs::write(wt.join("a.txt"), "x").unwrap();
        assert!(git_run(&env, &wt, &["add", "."]).status.success());
        let out = git_run(&env, &wt, &["commit", "-qm", "m"]);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("project-commit-msg-ran"));
    }

    #[test]
    fn a_project_hook_or_hooks_path_is_never_touched() {
        let t = tempfile::tempdir().unwrap();
        let (env, main, wt) = repo_with_worktree(t.path());
        let shared = main.join(".git/hooks/pre-commit");
        std::fs::write(&shared, "#!/bin/sh\nexit 0\n").unwrap();
        assert_eq!(
            install_scope_hook(&env, &wt).unwrap(),
            HookOutcome::KeptForeign(shared.clone())
        );
        assert_eq!(
            std::fs::read_to_string(&shared).unwrap(),
            "#!/bin/sh\nexit 0\n"
        );
        assert!(!private_hooks_dir(&env, &wt).unwrap().exists());

        // A guard an earlier version wrote into the shared dir is ours: it
        // is removed and the worktree gets its private one.
        std::fs::write(&shared, "#!/bin/sh\n# acp-openclaw-scope-guard\nexit 0\n").unwrap();
        assert!(matches!(
            install_scope_hook(&env, &wt).unwrap(),
            HookOutcome::Installed(_)
        ));
        assert!(!shared.exists());

        // husky-style routing: the project decides, we stay out.
        let (env2, main2, wt2) = repo_with_worktree(&t.path().join("second"));
        assert!(
            git_run(&env2, &main2, &["config", "core.hooksPath", ".husky"])
                .status
                .success()
        );
        assert_eq!(
            install_scope_hook(&env2, &wt2).unwrap(),
            HookOutcome::KeptForeign(wt2.join(".husky/pre-commit"))
        );
        assert!(!wt2.join(".husky").exists());
        assert!(!private_hooks_dir(&env2, &wt2).unwrap().exists());
    }

    #[test]
    fn subdir_patterns_drop_leading_dot_slash() {
        assert_eq!(subdir_pattern("./.claude-artifacts"), ".claude-artifacts");
        assert_eq!(subdir_pattern("/x"), "x");
        assert_eq!(subdir_pattern("y"), "y");
    }
}
