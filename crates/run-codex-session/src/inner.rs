//! `run-codex-session-inner`: what a codex session's `<session>.sh` execs
//! inside the tmux pane (the inner script's steps of spec 2.1).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use acp_core::cli::{self, Parsed};
use acp_core::shellquote::{self, QuoteLocale};
use acp_core::{Invocation, envfile, fsx};
use anyhow::Context;

use crate::{RUNNER_NAME, safe_artifact_name};

/// The argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "run-codex-session-inner",
        "Internal: runs a codex worker session inside its tmux pane (written into <session>.sh by \
         agent-project-run-codex-session).",
    )
    .arg(cli::opt("session"))
    .arg(cli::opt("mode"))
    .arg(cli::opt("worktree"))
    .arg(cli::opt("prompt-file"))
    .arg(cli::opt("output-file"))
    .arg(cli::opt("host-run-dir"))
    .arg(cli::opt("sandbox-run-dir"))
    .arg(cli::opt("meta-file"))
    .arg(cli::opt("result-file"))
    .arg(cli::opt("safe-profile"))
    .arg(cli::opt("bypass-profile"))
    .arg(cli::opt("codex-bin"))
    .arg(cli::opt("runner-bin"))
    .arg(cli::opt("started-at"))
    .arg(cli::opt_multi("collect-file"))
    .arg(cli::opt("reconcile-command"))
    .arg(cli::opt("secrets-file"))
}

struct Inner {
    session: String,
    worktree: PathBuf,
    output_file: PathBuf,
    host_run_dir: PathBuf,
    sandbox_run_dir: PathBuf,
    meta_file: PathBuf,
    result_file: PathBuf,
    started_at: String,
}

/// Runs the inner supervisor; exits with the runner's status.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let m = match cli::parse(ctx, command(), args, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    let get = |k: &str| cli::get(&m, k);
    let inner = Inner {
        session: get("session"),
        worktree: PathBuf::from(get("worktree")),
        output_file: PathBuf::from(get("output-file")),
        host_run_dir: PathBuf::from(get("host-run-dir")),
        sandbox_run_dir: PathBuf::from(get("sandbox-run-dir")),
        meta_file: PathBuf::from(get("meta-file")),
        result_file: PathBuf::from(get("result-file")),
        started_at: get("started-at"),
    };
    // Be ready for TERM/HUP before anything is started.
    acp_core::process::install_termination_handler()?;
    let secrets = get("secrets-file");
    if !secrets.is_empty() {
        load_secrets(ctx, Path::new(&secrets));
    }
    bootstrap_helper_env(ctx, &inner)?;
    reset_dir(&inner.sandbox_run_dir)?;

    let runner_bin = PathBuf::from(get("runner-bin"));
    let mut cmd = if runner_bin.is_file() && runner_bin != ctx.exe {
        let mut c = Command::new("bash");
        c.arg(&runner_bin);
        c
    } else {
        let mut c = Command::new(&ctx.exe);
        c.arg(RUNNER_NAME);
        c
    };
    ctx.env.apply(&mut cmd);
    cmd.current_dir(&inner.worktree);
    cmd.arg("--mode").arg(get("mode"));
    cmd.arg("--worktree").arg(&inner.worktree);
    cmd.arg("--prompt-file").arg(get("prompt-file"));
    cmd.arg("--output-file").arg(&inner.output_file);
    cmd.arg("--host-run-dir").arg(&inner.host_run_dir);
    cmd.arg("--sandbox-run-dir").arg(&inner.sandbox_run_dir);
    cmd.arg("--safe-profile").arg(get("safe-profile"));
    cmd.arg("--bypass-profile").arg(get("bypass-profile"));
    cmd.arg("--codex-bin").arg(get("codex-bin"));
    let status = match crate::run_runner(&mut cmd) {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(ctx.stderr, "{e:#}");
            127
        }
    };

    // Everything below runs whatever the runner did.
    let locale = QuoteLocale::from_env(&ctx.env);
    if let Err(e) = record_final_git_state(ctx, &inner, locale) {
        let _ = writeln!(ctx.stderr, "{e:#}");
    }
    let since = acp_core::time::parse_iso_epoch(&inner.started_at);
    let targets = [
        ("result.env", inner.result_file.clone()),
        (
            "issue-comment.md",
            inner.host_run_dir.join("issue-comment.md"),
        ),
        ("pr-comment.md", inner.host_run_dir.join("pr-comment.md")),
        (
            "verification.jsonl",
            inner.host_run_dir.join("verification.jsonl"),
        ),
    ];
    for (name, dest) in &targets {
        if let Err(e) = recover_artifact(&inner, name, dest, since) {
            let _ = writeln!(ctx.stderr, "{e:#}");
        }
    }
    for name in cli::get_all(&m, "collect-file") {
        if !safe_artifact_name(&name) {
            let _ = writeln!(
                ctx.stderr,
                "skipping --collect-file outside the run dir: {name}"
            );
            continue;
        }
        let src = inner.sandbox_run_dir.join(&name);
        if src.is_file()
            && let Err(e) = copy(&src, &inner.host_run_dir.join(&name))
        {
            let _ = writeln!(ctx.stderr, "{e:#}");
        }
    }
    let reconcile = get("reconcile-command");
    if !reconcile.is_empty()
        && let Err(e) = queue_reconcile(ctx, &inner, &reconcile, locale)
    {
        let _ = writeln!(ctx.stderr, "{e:#}");
    }
    let marker = format!("\n__CODEX_EXIT__:{status}\n");
    let _ = ctx.stdout.write_all(marker.as_bytes());
    let _ = ctx.stdout.flush();
    fsx::append(&inner.output_file, marker.as_bytes())?;
    Ok(status)
}

/// Reads the launcher's credential variables and deletes the file.
fn load_secrets(ctx: &mut Invocation<'_>, path: &Path) {
    if let Ok(Some(f)) = envfile::EnvFile::load_if_exists(path, envfile::Mode::Strict) {
        for (k, v) in f.to_map() {
            ctx.env.set(k, v);
        }
    }
    let _ = std::fs::remove_file(path);
}

fn bootstrap_helper_env(ctx: &mut Invocation<'_>, inner: &Inner) -> anyhow::Result<()> {
    let helper_bin = inner.host_run_dir.join("worker-bin");
    fsx::create_dir_all(&helper_bin)?;
    let mut dirs = vec![helper_bin.clone()];
    let node_bin = inner.worktree.join("node_modules/.bin");
    if node_bin.is_dir() {
        dirs.push(node_bin);
    }
    dirs.extend(ctx.env.path_dirs());
    let joined = std::env::join_paths(&dirs).context("PATH entry contains ':'")?;
    ctx.env.set("PATH", joined);
    if ctx.env.which("openspec").is_some() || !inner.worktree.join("openspec").is_dir() {
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

/// Empties `dir` (creating it when missing).
fn reset_dir(dir: &Path) -> anyhow::Result<()> {
    fsx::create_dir_all(dir)?;
    let rd = std::fs::read_dir(dir).with_context(|| format!("failed to read {}", dir.display()))?;
    for e in rd.flatten() {
        let p = e.path();
        let res = match e.file_type() {
            Ok(t) if t.is_dir() => std::fs::remove_dir_all(&p),
            _ => std::fs::remove_file(&p),
        };
        res.with_context(|| format!("failed to remove {}", p.display()))?;
    }
    Ok(())
}

/// Rewrites run.env without FINAL_HEAD/FINAL_BRANCH/WORKTREE_REALPATH and
/// appends the three, quoted.
fn record_final_git_state(
    ctx: &Invocation<'_>,
    inner: &Inner,
    locale: QuoteLocale,
) -> anyhow::Result<()> {
    let head = acp_core::git::head(&ctx.env, &inner.worktree);
    let branch = acp_core::git::current_branch(&ctx.env, &inner.worktree);
    let old = fsx::read_if_exists(&inner.meta_file)?.unwrap_or_default();
    let mut out = Vec::with_capacity(old.len() + 256);
    for line in old.split_inclusive(|b| *b == b'\n') {
        let drop = [
            b"FINAL_HEAD=".as_slice(),
            b"FINAL_BRANCH=",
            b"WORKTREE_REALPATH=",
        ]
        .iter()
        .any(|p| line.starts_with(p));
        if !drop {
            out.extend_from_slice(line);
        }
    }
    if !out.is_empty() && out.last() != Some(&b'\n') {
        out.push(b'\n');
    }
    let real = inner.worktree.as_os_str().as_encoded_bytes();
    out.extend(envfile::format_assignment(
        "WORKTREE_REALPATH",
        real,
        locale,
    ));
    out.extend(envfile::format_assignment(
        "FINAL_HEAD",
        head.as_bytes(),
        locale,
    ));
    out.extend(envfile::format_assignment(
        "FINAL_BRANCH",
        branch.as_bytes(),
        locale,
    ));
    fsx::atomic_write(&inner.meta_file, &out)
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
    inner: &Inner,
    name: &str,
    dest: &Path,
    since: Option<i64>,
) -> anyhow::Result<()> {
    let in_sandbox = inner.sandbox_run_dir.join(name);
    if in_sandbox.is_file() {
        return copy(&in_sandbox, dest);
    }
    match logged_artifact_path(&inner.output_file, name, since) {
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

/// Starts the delayed reconcile: waits (detached from the pane) until the
/// session is gone, 2 s more, then runs the command through `bash -lc`
/// with its output appended to the log.
fn queue_reconcile(
    ctx: &Invocation<'_>,
    inner: &Inner,
    command: &str,
    locale: QuoteLocale,
) -> anyhow::Result<()> {
    let started = shellquote::quote_str(&inner.started_at, locale);
    let target = shellquote::quote_str(&format!("={}", inner.session), locale);
    let script = format!(
        "trap '' HUP; export ACP_EXPECTED_RUN_STARTED_AT={started}; \
         export F_LOSNING_EXPECTED_RUN_STARTED_AT={started}; \
         while tmux has-session -t {target} 2>/dev/null; do sleep 1; done; sleep 2; {command}"
    );
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&inner.output_file)
        .with_context(|| format!("failed to open {}", inner.output_file.display()))?;
    let log2 = log
        .try_clone()
        .with_context(|| format!("failed to open {}", inner.output_file.display()))?;
    let mut cmd = Command::new("bash");
    ctx.env.apply(&mut cmd);
    cmd.current_dir(&inner.worktree)
        .arg("-lc")
        .arg(script)
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(log2);
    // Its own process group: the pane's hangup does not reach it.
    acp_core::process::spawn_in_group(&mut cmd)?;
    Ok(())
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

    #[test]
    fn final_git_state_replaces_old_lines_and_quotes_values() {
        let dir = tempfile::tempdir().unwrap();
        let meta = dir.path().join("run.env");
        std::fs::write(
            &meta,
            "SESSION=s\nFINAL_HEAD=old\nWORKTREE_REALPATH=/old\nX=1",
        )
        .unwrap();
        let wt = dir.path().join("not git");
        std::fs::create_dir_all(&wt).unwrap();
        let inner = Inner {
            session: "s".into(),
            worktree: wt.clone(),
            output_file: dir.path().join("s.log"),
            host_run_dir: dir.path().to_path_buf(),
            sandbox_run_dir: dir.path().join("sb"),
            meta_file: meta.clone(),
            result_file: dir.path().join("result.env"),
            started_at: String::new(),
        };
        let mut out = Vec::new();
        let mut err = Vec::new();
        let mut env = acp_core::Env::new();
        env.set("PATH", "/usr/bin:/bin");
        let ctx = Invocation::new(&mut out, &mut err, env);
        record_final_git_state(&ctx, &inner, QuoteLocale::Utf8).unwrap();
        let text = std::fs::read_to_string(&meta).unwrap();
        let quoted = shellquote::quote_str(&wt.to_string_lossy(), QuoteLocale::Utf8);
        assert_eq!(
            text,
            format!("SESSION=s\nX=1\nWORKTREE_REALPATH={quoted}\nFINAL_HEAD=''\nFINAL_BRANCH=''\n")
        );
    }
}
