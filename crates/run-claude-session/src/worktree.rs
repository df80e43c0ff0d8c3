//! Worktree preparation before Claude runs: a per-worktree excludes file so
//! the sandbox and agent scratch files never show up in `git status`, and a
//! commit-scope pre-commit hook.

use std::path::{Path, PathBuf};

use acp_core::{Env, fsx, git};
use anyhow::Context;

/// Marks the hook we install, so we only ever replace our own.
const HOOK_MARKER: &str = "# acp-commit-scope-hook";

/// Scratch files agents leave behind that must stay untracked.
const EXCLUDED: &[&str] = &[
    "SOUL.md",
    "TOOLS.md",
    "IDENTITY.md",
    "USER.md",
    "HEARTBEAT.md",
    "BOOTSTRAP.md",
    ".agent-session.env",
];

/// Sets up excludes and the hook; a worktree that is not a git work tree is
/// left alone (the original aborted the whole run there).
pub fn prepare(
    env: &Env,
    wt: &Path,
    sandbox_run_dir: &str,
    sandbox_subdir: &str,
) -> anyhow::Result<()> {
    if git::capture(env, wt, &["rev-parse", "--is-inside-work-tree"]).as_deref() != Some("true") {
        return Ok(());
    }
    ensure_excludes(env, wt, sandbox_run_dir, sandbox_subdir)?;
    install_hook(env, wt)
}

fn ensure_excludes(
    env: &Env,
    wt: &Path,
    sandbox_run_dir: &str,
    sandbox_subdir: &str,
) -> anyhow::Result<()> {
    let mut file = git::capture(
        env,
        wt,
        &["config", "--worktree", "--get", "core.excludesFile"],
    )
    .unwrap_or_default();
    if file.is_empty() {
        file = format!("{sandbox_run_dir}/git-exclude");
        let _ = git::capture(env, wt, &["config", "extensions.worktreeConfig", "true"]);
        git::capture(
            env,
            wt,
            &["config", "--worktree", "core.excludesFile", &file],
        )
        .with_context(|| {
            format!(
                "git config --worktree core.excludesFile failed in {}",
                wt.display()
            )
        })?;
    }
    let path = if Path::new(&file).is_absolute() {
        PathBuf::from(&file)
    } else {
        wt.join(&file)
    };
    fsx::create_dir_all(&fsx::parent_dir(&path))?;
    let existing = fsx::read_if_exists(&path)?.unwrap_or_default();
    let existing = String::from_utf8_lossy(&existing).into_owned();
    let pattern = sandbox_subdir
        .strip_prefix("./")
        .unwrap_or(sandbox_subdir)
        .trim_start_matches('/');
    let mut add = String::new();
    if !existing.is_empty() && !existing.ends_with('\n') {
        add.push('\n');
    }
    let mut wanted = vec![pattern];
    wanted.extend_from_slice(EXCLUDED);
    let mut any = false;
    for line in wanted {
        if line.is_empty() || existing.lines().any(|l| l == line) || add.lines().any(|l| l == line)
        {
            continue;
        }
        add.push_str(line);
        add.push('\n');
        any = true;
    }
    if any || !path.exists() {
        fsx::append(&path, if any { add.as_bytes() } else { b"" })?;
    }
    Ok(())
}

fn install_hook(env: &Env, wt: &Path) -> anyhow::Result<()> {
    let dir = git::capture(env, wt, &["rev-parse", "--git-path", "hooks"])
        .filter(|d| !d.is_empty())
        .or_else(|| {
            git::capture(env, wt, &["config", "--get", "core.hooksPath"]).filter(|d| !d.is_empty())
        })
        .unwrap_or_else(|| ".git-hooks".into());
    let dir = if Path::new(&dir).is_absolute() {
        PathBuf::from(dir)
    } else {
        wt.join(dir)
    };
    let hook = dir.join("pre-commit");
    if let Some(old) = fsx::read_if_exists(&hook)?
        && !String::from_utf8_lossy(&old).contains(HOOK_MARKER)
    {
        // A project's own hook is never replaced (bug B11).
        return Ok(());
    }
    fsx::create_dir_all(&dir)?;
    fsx::atomic_write(&hook, HOOK.as_bytes())?;
    fsx::make_executable(&hook)
}

/// The commit-scope hook: warns when three app surfaces change together and
/// blocks commits with more than 20 product files or more than 8 mobile files.
const HOOK: &str = r#"#!/usr/bin/env bash
# acp-commit-scope-hook (installed by agent-project-run-claude-session)
set -euo pipefail
api=0 web=0 mobile=0 pkg=0 docs=0 other=0
while IFS= read -r f; do
  [[ -n "$f" ]] || continue
  case "$f" in
    apps/api/*) api=$((api + 1)) ;;
    apps/web/*) web=$((web + 1)) ;;
    apps/mobile/*) mobile=$((mobile + 1)) ;;
    packages/*) pkg=$((pkg + 1)) ;;
    openspec/*|docs/*|*.md) docs=$((docs + 1)) ;;
    *) other=$((other + 1)) ;;
  esac
done < <(git diff --cached --name-only --diff-filter=ACMR 2>/dev/null || true)
surfaces=0
for n in "$api" "$web" "$mobile"; do
  if [[ "$n" -gt 0 ]]; then surfaces=$((surfaces + 1)); fi
done
if [[ "$surfaces" -ge 3 ]]; then
  echo "[pre-commit scope warning] $surfaces app surfaces in one commit (api=$api web=$web mobile=$mobile); prefer focused commits." >&2
fi
product=$((api + web + mobile + pkg + other))
if [[ "$product" -gt 20 ]]; then
  echo "[pre-commit scope BLOCK] $product product files in one commit; split it into smaller commits." >&2
  exit 1
fi
if [[ "$mobile" -gt 8 ]]; then
  echo "[pre-commit scope BLOCK] $mobile mobile files in one commit; keep to one route family (at most 8 files)." >&2
  exit 1
fi
exit 0
"#;
