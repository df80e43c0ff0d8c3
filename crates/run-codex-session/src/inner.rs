//! The inner supervisor of a codex session: what `<session>.sh` execs inside
//! the tmux pane (`<exe> agent-project-run-codex-session __inner ...`). The
//! common steps (secrets, sandbox reset, final git state, reconcile, exit
//! marker) are `acp_session::launcher::inner`'s; the helper PATH and openspec
//! shim, the runner and the artifact recovery are codex's.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use acp_core::shellquote::{self, QuoteLocale};
use acp_core::{Invocation, fsx};
use acp_session::launcher::contract::Inner;
use acp_session::launcher::inner::Session;
use anyhow::Context;

use crate::{CodexInner, RUNNER_NAME, TOOL, safe_artifact_name};

/// Runs the inner supervisor; exits with the runner's status.
pub fn run(ctx: &mut Invocation<'_>, args: Inner<CodexInner>) -> anyhow::Result<i32> {
    // Be ready for TERM/HUP before anything is started.
    acp_core::process::install_termination_handler()?;
    let mut s = Session::new(TOOL, args.common, &ctx.env);
    let codex = args.backend;
    let mut env = ctx.env.clone();
    if let Err(e) = s.take_secrets(&mut env) {
        let _ = writeln!(ctx.stderr, "{e:#}");
    }
    ctx.env = env;
    bootstrap_helper_env(ctx, &s)?;
    s.reset_sandbox()?;

    let mut cmd = if codex.runner_bin.is_file() && codex.runner_bin != ctx.exe {
        let mut c = Command::new("bash");
        c.arg(&codex.runner_bin);
        c
    } else {
        let mut c = Command::new(&ctx.exe);
        c.arg(RUNNER_NAME);
        c
    };
    ctx.env.apply(&mut cmd);
    cmd.current_dir(&s.worktree);
    cmd.arg("--mode").arg(s.mode.as_str());
    cmd.arg("--worktree").arg(&s.worktree);
    cmd.arg("--prompt-file").arg(&s.prompt_file);
    cmd.arg("--output-file").arg(&s.log);
    cmd.arg("--host-run-dir").arg(&s.artifact_dir);
    cmd.arg("--sandbox-run-dir").arg(&s.sandbox_run_dir);
    cmd.arg("--safe-profile").arg(&codex.safe_profile);
    cmd.arg("--bypass-profile").arg(&codex.bypass_profile);
    cmd.arg("--codex-bin").arg(&codex.codex_bin);
    let status = match crate::run_runner(&mut cmd) {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(ctx.stderr, "{e:#}");
            127
        }
    };

    // Everything below runs whatever the runner did.
    let real = s.worktree.clone();
    if let Err(e) = s.record_final_git_state_with(
        &ctx.env,
        &[("WORKTREE_REALPATH", real.as_os_str().as_bytes())],
    ) {
        let _ = writeln!(ctx.stderr, "{e:#}");
    }
    let since = acp_core::time::parse_iso_epoch(&s.started_at);
    let host = s.artifact_dir.as_path();
    let targets = [
        ("result.env", s.host_result.clone()),
        ("issue-comment.md", host.join("issue-comment.md")),
        ("pr-comment.md", host.join("pr-comment.md")),
        ("verification.jsonl", host.join("verification.jsonl")),
    ];
    for (name, dest) in &targets {
        if let Err(e) = recover_artifact(&s, name, dest, since) {
            let _ = writeln!(ctx.stderr, "{e:#}");
        }
    }
    for name in &s.collect {
        if !safe_artifact_name(name) {
            let _ = writeln!(
                ctx.stderr,
                "skipping --collect-file outside the run dir: {name}"
            );
            continue;
        }
        let src = s.sandbox_run_dir.as_path().join(name);
        if src.is_file()
            && let Err(e) = copy(&src, &host.join(name))
        {
            let _ = writeln!(ctx.stderr, "{e:#}");
        }
    }
    if let Err(e) = s.schedule_reconcile_with(ctx, &ctx.env) {
        let _ = writeln!(ctx.stderr, "{e:#}");
    }
    s.exit_marker(&mut *ctx.stdout, status)?;
    Ok(status)
}

fn bootstrap_helper_env(ctx: &mut Invocation<'_>, s: &Session) -> anyhow::Result<()> {
    let helper_bin = s.artifact_dir.as_path().join("worker-bin");
    fsx::create_dir_all(&helper_bin)?;
    let mut dirs = vec![helper_bin.clone()];
    let worktree = s.worktree.as_path();
    let node_bin = worktree.join("node_modules/.bin");
    if node_bin.is_dir() {
        dirs.push(node_bin);
    }
    // Prepended as the shell does (`dir:$PATH`): a ':' inside a run or
    // worktree path only garbles that entry instead of failing the session.
    let mut joined = std::ffi::OsString::new();
    let rest = ctx.env.get_os("PATH").filter(|p| !p.is_empty());
    for (i, d) in dirs.iter().map(|d| d.as_os_str()).chain(rest).enumerate() {
        if i > 0 {
            joined.push(":");
        }
        joined.push(d);
    }
    ctx.env.set("PATH", joined);
    if ctx.env.which("openspec").is_some() || !worktree.join("openspec").is_dir() {
        return Ok(());
    }
    let shim = helper_bin.join("openspec");
    let exe = shellquote::quote(
        std::os::unix::ffi::OsStrExt::as_bytes(ctx.exe.as_os_str()),
        QuoteLocale::from_env(&ctx.env),
    );
    let mut text = b"#!/usr/bin/env bash\nexec ".to_vec();
    text.extend_from_slice(&exe);
    text.extend_from_slice(b" codex-openspec-shim \"$@\"\n");
    fsx::atomic_write(&shim, &text)?;
    fsx::make_executable(&shim)?;
    Ok(())
}

fn copy(src: &Path, dest: &Path) -> anyhow::Result<()> {
    if src == dest {
        return Ok(());
    }
    if let Some(parent) = dest.parent() {
        fsx::create_dir_all(parent)?;
    }
    std::fs::copy(src, dest)
        .with_context(|| format!("failed to copy {} to {}", src.display(), dest.display()))?;
    Ok(())
}

/// The sandbox copy of `name`, else the last absolute path in the log whose
/// file name is `name`, that exists and was written during this run.
fn recover_artifact(
    inner: &Session,
    name: &str,
    dest: &Path,
    since: Option<i64>,
) -> anyhow::Result<()> {
    let in_sandbox = inner.sandbox_run_dir.as_path().join(name);
    if in_sandbox.is_file() {
        return copy(&in_sandbox, dest);
    }
    match logged_artifact_path(inner.log.as_path(), name, since) {
        Some(src) => copy(&src, dest),
        None => Ok(()),
    }
}

/// Absolute paths mentioned in `log` whose basename is `name`.
pub(crate) fn logged_artifact_path(log: &Path, name: &str, since: Option<i64>) -> Option<PathBuf> {
    let text = std::fs::read(log).ok()?;
    let re = regex::bytes::Regex::new(r#"/[^[:space:])"]+"#).ok()?;
    let mut found = None;
    for m in re.find_iter(&text) {
        let mut bytes = m.as_bytes();
        while let Some((last, rest)) = bytes.split_last() {
            if matches!(last, b')' | b']' | b',' | b'"' | b'\'') {
                bytes = rest;
            } else {
                break;
            }
        }
        let p = PathBuf::from(String::from_utf8_lossy(bytes).into_owned());
        if p.file_name().and_then(|n| n.to_str()) != Some(name) || !p.is_file() {
            continue;
        }
        // A file older than this run is some earlier run's result.
        if let (Some(since), Some(mtime)) = (since, fsx::mtime_epoch(&p))
            && mtime + 1 < since
        {
            continue;
        }
        found = Some(p);
    }
    found
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn logged_paths_are_trimmed_filtered_and_the_last_wins() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b c");
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(a.join("result.env"), "A\n").unwrap();
        std::fs::write(b.join("result.env"), "B\n").unwrap();
        let log = dir.path().join("s.log");
        let text = format!(
            "see ({}/result.env), also '{}/result.env',\nmissing /nope/result.env\n\"{}/other.env\"\n",
            a.display(),
            a.display(),
            a.display()
        );
        std::fs::write(&log, text).unwrap();
        assert_eq!(
            logged_artifact_path(&log, "result.env", None),
            Some(a.join("result.env"))
        );
        assert_eq!(logged_artifact_path(&log, "other.env", None), None);
        // A path with a space is cut at the space and not found.
        std::fs::write(&log, format!("{}/result.env\n", b.display())).unwrap();
        assert_eq!(logged_artifact_path(&log, "result.env", None), None);
        // Files older than the run are ignored.
        std::fs::write(&log, format!("{}/result.env\n", a.display())).unwrap();
        let future = acp_core::time::now_epoch() + 3600;
        assert_eq!(logged_artifact_path(&log, "result.env", Some(future)), None);
    }
}
