//! `audit-retained-layout.sh`: list every worktree of the retained checkout
//! with its class (`retained-main`, `legacy-automation`, `retained-manual`),
//! branch, short head and number of uncommitted paths. Read-only.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use acp_core::config::{self, FlowConfig};
use acp_core::{Env, Invocation, ToolSpec, cli, git};
use acp_session::gc::naming::glob_match;
use acp_session::gc::{list, residue};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "audit-retained-layout.sh",
    aliases: &["audit-retained-layout"],
    paths: &["tools/bin/audit-retained-layout.sh"],
    about: "List the retained checkout's worktrees with class and state",
    command,
    run,
}];

/// The argument parser (used for `--help`).
pub fn command() -> clap::Command {
    cli::tool_command(
        "audit-retained-layout.sh",
        "Lists every worktree of the profile's retained checkout: its class (retained-main, \
         legacy-automation, retained-manual), branch, short head and the number of \
         uncommitted paths. Changes nothing.",
    )
    .override_usage("audit-retained-layout.sh")
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if cli::first_is_help(args) {
        write!(ctx.stdout, "{}", cli::usage(&command()))?;
        return Ok(0);
    }
    config::export_env_aliases(&mut ctx.env);
    let env = ctx.env.clone();
    let cfg = FlowConfig::load(&env)?;
    let retained = config::retained_repo_root(&env, &cfg);
    let id = config::adapter_id(&env, &cfg);
    let all = match list::list(&env, &retained) {
        Ok(all) => all,
        Err(e) => {
            ctx.err_line(format!("{e:#}"))?;
            return Ok(128);
        }
    };
    let mut out = Vec::new();
    out.extend_from_slice(b"RETAINED_ROOT=");
    out.extend_from_slice(retained.as_os_str().as_bytes());
    writeln!(out, "\nRETAINED_WORKTREE_COUNT={}", all.len())?;
    for w in &all {
        out.extend_from_slice(b"\n[worktree]\npath=");
        out.extend_from_slice(w.path.as_os_str().as_bytes());
        writeln!(out, "\nclass={}", class(&w.path, &retained, &id))?;
        let branch = capture(&env, &w.path, &["rev-parse", "--abbrev-ref", "HEAD"]);
        writeln!(out, "branch={branch}")?;
        let head = capture(&env, &w.path, &["rev-parse", "--short", "HEAD"]);
        writeln!(out, "head={head}")?;
        let dirty = residue::status_entries(&env, &w.path, false).map_or(0, |e| e.len());
        writeln!(out, "dirty_paths={dirty}")?;
    }
    ctx.stdout.write_all(&out)?;
    Ok(0)
}

/// The original's `case` on the whole path.
fn class(path: &Path, retained: &Path, id: &str) -> &'static str {
    let text = String::from_utf8_lossy(path.as_os_str().as_bytes());
    let legacy = [
        format!("*/{id}-pr-*"),
        format!("*/{id}-issue-*"),
        format!("*/{id}-main-clean"),
    ]
    .iter()
    .any(|g| glob_match(g, &text));
    if legacy {
        "legacy-automation"
    } else if path == retained {
        "retained-main"
    } else {
        "retained-manual"
    }
}

/// One git answer's first line, or `unknown`.
fn capture(env: &Env, dir: &Path, args: &[&str]) -> String {
    git::capture(env, dir, args)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}
