//! `audit-retained-worktrees.sh`: audit the retained human checkout for
//! legacy automation worktrees still attached to its `.git/worktrees`, and
//! with `--cleanup` remove the clean ones nobody owns.
//!
//! Legacy = under the worktree root, named `<id>-main-clean`, `<id>-pr-*`
//! or `<id>-issue-*`, or on a managed branch. Each is reported (with disk
//! use and the reason it would go or stay); removal also needs the guards
//! of `acp_session::gc` (never a locked worktree, nor a directory holding
//! the main checkout or another worktree). `--dry-run` changes nothing.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use acp_core::config::{self, FlowConfig};
use acp_core::tmux::Tmux;
use acp_core::{Invocation, ToolSpec, cli, fail, git};
use acp_session::gc::naming::glob_match;
use acp_session::gc::owner::StatusTool;
use acp_session::gc::{self, Decision, Naming, OwnerProbe, Worktree, guard, list, residue, usage};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "audit-retained-worktrees.sh",
    aliases: &["audit-retained-worktrees"],
    paths: &["tools/bin/audit-retained-worktrees.sh"],
    about: "Audit automation worktrees attached to the retained checkout",
    command,
    run,
}];

/// The argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "audit-retained-worktrees.sh",
        "Audits the retained human checkout for legacy automation worktrees that still \
         attach to the retained repo's .git/worktrees metadata.\n\n\
         Options:\n  --cleanup  Remove clean orphaned automation worktrees automatically.\n  \
         --strict   Exit non-zero when any legacy automation worktree is found.\n  \
         --dry-run  With --cleanup: report what would be removed, change nothing.",
    )
    .override_usage("audit-retained-worktrees.sh [--cleanup] [--strict] [--dry-run]")
    .arg(cli::flag("cleanup").help("Remove clean orphaned automation worktrees"))
    .arg(cli::flag("strict").help("Exit 2 when any legacy automation worktree is found"))
    .arg(cli::flag("dry-run").help("Report what --cleanup would remove; change nothing"))
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn kv_path(out: &mut dyn Write, key: &str, path: &Path) -> std::io::Result<()> {
    out.write_all(key.as_bytes())?;
    out.write_all(b"=")?;
    out.write_all(path.as_os_str().as_bytes())?;
    out.write_all(b"\n")
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let m = match cli::parse(ctx, command(), args, 1)? {
        cli::Parsed::Matches(m) => m,
        cli::Parsed::Exit(code) => return Ok(code),
    };
    config::export_env_aliases(&mut ctx.env);
    let env = ctx.env.clone();
    let cfg = FlowConfig::load(&env)?;
    let retained = config::retained_repo_root(&env, &cfg);
    if !retained.join(".git").exists() {
        ctx.err_line(format!(
            "retained root is not a Git checkout: {}",
            retained.display()
        ))?;
        return Ok(1);
    }
    let worktree_root = config::worktree_root(&env, &cfg);
    let runs_root = config::runs_root(&env, &cfg);
    let naming = Naming::resolve(&env, &cfg);
    let tmux = Tmux::new(&env, None);
    let status_tool = StatusTool::sibling_of(ctx);
    let status = |s: &str| status_tool.status(&env, &runs_root, s);
    let no_launches = PathBuf::new();
    let probe = OwnerProbe {
        tmux: &tmux,
        runs_root: &runs_root,
        pending_dir: &no_launches,
        naming: &naming,
        worker_status: &status,
    };
    let (cleanup, dry_run) = (m.get_flag("cleanup"), m.get_flag("dry-run"));
    let (mut listed, mut cleaned) = (0usize, 0usize);
    for w in list::list(&env, &retained)? {
        if w.path == retained || !is_legacy(&w, &worktree_root, &naming) {
            continue;
        }
        listed += 1;
        let session = naming.retained_session_for(&w.path, w.branch_ref.as_deref());
        let dirty = residue::status_entries(&env, &w.path, false).is_some_and(|e| !e.is_empty());
        let owner = session.as_deref().and_then(|s| probe.session_owner(s));
        let refusal = guard::check_tree_removal(&env, &retained, &w.path, None).err();
        let decision = gc::decide(owner.as_ref(), false, dirty, refusal.as_ref());
        kv_path(ctx.stdout, "RETAINED_WORKTREE", &w.path)?;
        ctx.out_kv(
            "BRANCH_REF",
            w.branch_ref.as_deref().unwrap_or("<detached>"),
        )?;
        ctx.out_kv(
            "HEAD",
            if w.head.is_empty() {
                "<unknown>"
            } else {
                &w.head
            },
        )?;
        ctx.out_kv("SESSION", session.as_deref().unwrap_or("<none>"))?;
        ctx.out_kv("DIRTY", yes_no(dirty))?;
        ctx.out_kv("ACTIVE_OWNER", yes_no(owner.is_some()))?;
        ctx.out_kv("LOCKED", yes_no(w.locked.is_some()))?;
        ctx.out_kv("DISK_KIB", usage::disk_usage_kib(&w.path))?;
        ctx.out_kv("REASON", decision.reason())?;
        let outcome = match (&decision, cleanup) {
            (Decision::Remove(_), true) if dry_run => "would-remove",
            (Decision::Remove(_), true) => {
                remove(ctx, &retained, &w)?;
                cleaned += 1;
                "removed"
            }
            _ => "skipped",
        };
        ctx.out_kv("CLEANUP", outcome)?;
        writeln!(ctx.stdout)?;
    }
    ctx.out_kv("LEGACY_RETAINED_WORKTREE_COUNT", listed)?;
    ctx.out_kv("LEGACY_RETAINED_WORKTREE_CLEANED", cleaned)?;
    if m.get_flag("strict") && listed > 0 {
        return Ok(2);
    }
    Ok(0)
}

/// Under the worktree root, a legacy automation name, or a managed branch.
fn is_legacy(w: &Worktree, worktree_root: &Path, naming: &Naming) -> bool {
    if w.path != worktree_root && w.path.starts_with(worktree_root) {
        return true;
    }
    let base = w
        .path
        .file_name()
        .map(|n| String::from_utf8_lossy(n.as_bytes()).into_owned())
        .unwrap_or_default();
    let id = &naming.adapter_id;
    let legacy_name = [
        format!("{id}-main-clean"),
        format!("{id}-pr-*"),
        format!("{id}-issue-*"),
    ]
    .iter()
    .any(|g| glob_match(g, &base));
    legacy_name || w.branch().is_some_and(|b| naming.branch_is_managed(b))
}

/// `git worktree remove --force`, then the branch when it still exists.
fn remove(ctx: &mut Invocation<'_>, retained: &Path, w: &Worktree) -> anyhow::Result<()> {
    let mut args: Vec<OsString> = vec!["worktree".into(), "remove".into(), "--force".into()];
    args.extend(["--".into(), w.path.clone().into_os_string()]);
    let out = git::output(&ctx.env, retained, &args)?;
    ctx.stdout.write_all(&out.stdout)?;
    ctx.stderr.write_all(&out.stderr)?;
    if !out.status.success() {
        return Err(fail(acp_core::process::exit_code(out.status), ""));
    }
    if let Some(branch) = w.branch() {
        let _ = git::output(&ctx.env, retained, ["branch", "-D", "--", branch]);
    }
    Ok(())
}
