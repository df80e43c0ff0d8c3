//! `audit-agent-worktrees.sh`: audit the agent worktrees attached to the
//! anchor repo and, with `--cleanup`, collect the stale ones.
//!
//! A worktree under the worktree root (a managed branch, or named `pr-*`,
//! `issue-*`, `shared-*`) with an owner (live tmux session, unreconciled or
//! running run, live pending launch) is left alone without looking inside it
//! (reported as `OWNED_AGENT_WORKTREE`, not counted). Every other one is
//! reported with its state, disk use and the reason it would go or stay;
//! `--cleanup` removes those without owner, uncommitted work or a guard
//! refusal (`acp_session::gc`), through the sibling `agent-cleanup-worktree`,
//! falling back to a guarded directory removal. `--dry-run` changes nothing.
//! Then stale resident metadata is cleared and artifact-only leftovers in
//! the worktree root are reported and collected the same way.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use acp_core::config::{self, FlowConfig};
use acp_core::shellquote::QuoteLocale;
use acp_core::tmux::Tmux;
use acp_core::{Env, Invocation, ToolSpec, cli, git};
use acp_session::gc::owner::StatusTool;
use acp_session::gc::{self, Decision, Naming, OwnerProbe, Worktree, guard, list, residue, usage};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "audit-agent-worktrees.sh",
    aliases: &["audit-agent-worktrees"],
    paths: &["tools/bin/audit-agent-worktrees.sh"],
    about: "Audit agent worktrees of the anchor repo; collect stale ones",
    command,
    run,
}];

/// The argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "audit-agent-worktrees.sh",
        "Audits the agent worktrees attached to the anchor repo. Worktrees with a running \
         owner (tmux session, unreconciled run, pending launch) are left alone; the others are \
         reported with their state, disk use and the reason they would be removed or kept.\n\n\
         Options:\n  --cleanup  Remove clean/orphaned agent worktrees automatically.\n  \
         --strict   Exit non-zero when any stale agent worktree is found.\n  \
         --dry-run  With --cleanup: report what would be removed, change nothing.",
    )
    .override_usage("audit-agent-worktrees.sh [--cleanup] [--strict] [--dry-run]")
    .arg(cli::flag("cleanup").help("Remove clean/orphaned agent worktrees"))
    .arg(cli::flag("strict").help("Exit 2 when any stale agent worktree is found"))
    .arg(cli::flag("dry-run").help("Report what --cleanup would remove; change nothing"))
}

/// The profile's places and naming.
struct Audit<'e> {
    env: &'e Env,
    repo: PathBuf,
    worktree_root: PathBuf,
    worktree_root_real: Option<PathBuf>,
    runs_root: PathBuf,
    state_root: PathBuf,
    pending_dir: PathBuf,
    naming: Naming,
    tmux: Tmux,
    cleanup: bool,
    dry_run: bool,
    /// `<script dir>/agent-project-worker-status` when present, else our binary.
    status_tool: StatusTool,
}

/// Totals for the last lines.
#[derive(Default)]
struct Counts {
    listed: usize,
    cleaned: usize,
    residue: usize,
    residue_cleaned: usize,
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
    let worktree_root = config::worktree_root(&env, &cfg);
    let state_root = config::state_root(&env, &cfg);
    let audit = Audit {
        repo: config::agent_repo_root(&env, &cfg),
        worktree_root_real: list::canonical_dir(&worktree_root),
        worktree_root,
        runs_root: config::runs_root(&env, &cfg),
        pending_dir: env
            .path("ACP_PENDING_LAUNCH_DIR")
            .unwrap_or_else(|| state_root.join("pending-launches")),
        state_root,
        naming: Naming::resolve(&env, &cfg),
        tmux: Tmux::new(&env, None),
        cleanup: m.get_flag("cleanup"),
        dry_run: m.get_flag("dry-run"),
        status_tool: StatusTool::sibling_of(ctx),
        env: &env,
    };
    if !audit.repo.join(".git").exists() {
        ctx.err_line(format!(
            "agent repo root is not a Git checkout: {}",
            audit.repo.display()
        ))?;
        return Ok(1);
    }
    let mut counts = Counts::default();
    for w in list::list(&env, &audit.repo)? {
        audit.worktree(ctx, &w, &mut counts)?;
    }
    audit.stale_metadata(ctx)?;
    audit.residue(ctx, &mut counts)?;
    ctx.out_kv("LEGACY_AGENT_WORKTREE_COUNT", counts.listed)?;
    ctx.out_kv("LEGACY_AGENT_WORKTREE_CLEANED", counts.cleaned)?;
    ctx.out_kv("ARTIFACT_ONLY_WORKTREE_COUNT", counts.residue)?;
    ctx.out_kv("ARTIFACT_ONLY_WORKTREE_CLEANED", counts.residue_cleaned)?;
    if m.get_flag("strict") && counts.listed + counts.residue > 0 {
        return Ok(2);
    }
    Ok(0)
}

/// `KEY=<path bytes>`.
fn kv_path(out: &mut dyn Write, key: &str, path: &Path) -> std::io::Result<()> {
    out.write_all(key.as_bytes())?;
    out.write_all(b"=")?;
    out.write_all(path.as_os_str().as_bytes())?;
    out.write_all(b"\n")
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

impl Audit<'_> {
    /// Whether `path` lies under the worktree root (as written or physically).
    fn under_root(&self, path: &Path) -> bool {
        let inside = |root: &Path| path != root && path.starts_with(root);
        inside(&self.worktree_root) || self.worktree_root_real.as_deref().is_some_and(inside)
    }

    fn is_agent_managed(&self, w: &Worktree) -> bool {
        if !self.under_root(&w.path) {
            return false;
        }
        if w.branch().is_some_and(|b| self.naming.branch_is_managed(b)) {
            return true;
        }
        let base = w.path.file_name().map(|n| n.as_bytes()).unwrap_or_default();
        [&b"pr-"[..], b"issue-", b"shared-"]
            .iter()
            .any(|p| base.starts_with(p))
    }

    fn probe<'a>(&'a self, status: &'a dyn Fn(&str) -> Option<String>) -> OwnerProbe<'a> {
        OwnerProbe {
            tmux: &self.tmux,
            runs_root: &self.runs_root,
            pending_dir: &self.pending_dir,
            naming: &self.naming,
            worker_status: status,
        }
    }

    /// One registered worktree: skip, report owned, or report and maybe remove.
    fn worktree(
        &self,
        ctx: &mut Invocation<'_>,
        w: &Worktree,
        c: &mut Counts,
    ) -> anyhow::Result<()> {
        if w.path == self.repo || guard::same_dir(&w.path, &self.repo) || !self.is_agent_managed(w)
        {
            return Ok(());
        }
        let session = self.naming.session_for(&w.path, w.branch_ref.as_deref());
        let status = |s: &str| self.status_tool.status(self.env, &self.runs_root, s);
        let owner = session.as_deref().and_then(|s| self.probe(&status).any(s));
        if let Some(o) = owner {
            kv_path(ctx.stdout, "OWNED_AGENT_WORKTREE", &w.path)?;
            ctx.out_kv("SESSION", session.as_deref().unwrap_or("<none>"))?;
            ctx.out_kv("OWNER", o)?;
            writeln!(ctx.stdout)?;
            return Ok(());
        }
        let broken = residue::is_broken(self.env, &w.path);
        let dirty = !broken && residue::effectively_dirty(self.env, &w.path);
        let refusal = guard::check_tree_removal(self.env, &self.repo, &w.path, None).err();
        let decision = gc::decide(None, broken, dirty, refusal.as_ref());
        c.listed += 1;
        kv_path(ctx.stdout, "AGENT_WORKTREE", &w.path)?;
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
        ctx.out_kv("BROKEN_WORKTREE", yes_no(broken))?;
        ctx.out_kv("DIRTY", yes_no(dirty))?;
        ctx.out_kv("ACTIVE_OWNER", "no")?;
        ctx.out_kv("ACTIVE_LAUNCH", "no")?;
        ctx.out_kv("LOCKED", yes_no(w.locked.is_some()))?;
        ctx.out_kv("DISK_KIB", usage::disk_usage_kib(&w.path))?;
        ctx.out_kv("REASON", decision.reason())?;
        let cleanup = match (&decision, self.cleanup) {
            (Decision::Remove(_), true) if self.dry_run => "would-remove",
            (Decision::Remove(_), true) => {
                self.remove(ctx, w)?;
                c.cleaned += 1;
                "removed"
            }
            _ => "skipped",
        };
        ctx.out_kv("CLEANUP", cleanup)?;
        writeln!(ctx.stdout)?;
        Ok(())
    }

    /// Removes a worktree that passed the guards: through the cleanup tool
    /// when it is on a branch (a failure falls back to removing the
    /// directory and the branch), else `git worktree remove --force`.
    fn remove(&self, ctx: &mut Invocation<'_>, w: &Worktree) -> anyhow::Result<()> {
        let Some(branch) = w.branch() else {
            let mut args: Vec<OsString> =
                vec!["worktree".into(), "remove".into(), "--force".into()];
            args.extend(["--".into(), w.path.clone().into_os_string()]);
            let out = git::output(self.env, &self.repo, &args)?;
            ctx.stderr.write_all(&out.stderr)?;
            let _ = git::output(self.env, &self.repo, ["worktree", "prune"])?;
            return Ok(());
        };
        let mut tool = ctx.sibling_command("agent-cleanup-worktree");
        tool.current_dir(&self.repo)
            .arg("--branch")
            .arg(branch)
            .arg("--path")
            .arg(&w.path)
            .arg("--allow-unmerged");
        if self.naming.is_issue_branch(branch) {
            tool.arg("--keep-remote");
        }
        let ok = acp_core::process::output(&mut tool).is_ok_and(|o| o.status.success());
        if !ok {
            residue::remove_entry(&w.path)?;
            let _ = git::output(self.env, &self.repo, ["branch", "-D", "--", branch]);
        }
        let _ = git::output(self.env, &self.repo, ["worktree", "prune"]);
        Ok(())
    }

    /// Clears resident `WORKTREE_REALPATH`s of removed worktrees (reported
    /// only with `--dry-run`).
    fn stale_metadata(&self, ctx: &mut Invocation<'_>) -> anyhow::Result<()> {
        let state = self
            .state_root
            .is_dir()
            .then_some(self.state_root.as_path());
        if self.dry_run {
            for meta in gc::owner::resident_metadata_files(state) {
                let stale =
                    acp_core::envfile::EnvFile::load_with(&meta, acp_core::envfile::Mode::Lenient)
                        .map(|f| f.get_or_empty("WORKTREE_REALPATH"))
                        .is_ok_and(|p| !p.is_empty() && !Path::new(&p).is_dir());
                if stale {
                    kv_path(ctx.stdout, "STALE_RESIDENT_WORKTREE", &meta)?;
                }
            }
            return Ok(());
        }
        let locale = QuoteLocale::from_env(self.env);
        for meta in residue::clear_stale_resident_realpaths(state, locale)? {
            kv_path(ctx.stdout, "CLEARED_STALE_RESIDENT_WORKTREE", &meta)?;
        }
        Ok(())
    }

    /// Directories of the worktree root that hold only generated entries.
    fn residue(&self, ctx: &mut Invocation<'_>, c: &mut Counts) -> anyhow::Result<()> {
        let Ok(rd) = std::fs::read_dir(&self.worktree_root) else {
            return Ok(());
        };
        let mut dirs: Vec<PathBuf> = rd
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.path())
            .collect();
        dirs.sort();
        for dir in dirs {
            if !residue::artifact_only(self.env, &dir) {
                continue;
            }
            let session = self.naming.session_for(&dir, None);
            let status = |s: &str| self.status_tool.status(self.env, &self.runs_root, s);
            let probe = self.probe(&status);
            let owner = session.as_deref().and_then(|s| probe.session_owner(s));
            let launch = session.as_deref().and_then(|s| probe.launch_owner(s));
            let refusal =
                guard::check_tree_removal(self.env, &self.repo, &dir, Some(&self.worktree_root))
                    .err();
            let decision = gc::decide(
                owner.as_ref().or(launch.as_ref()),
                false,
                false,
                refusal.as_ref(),
            );
            c.residue += 1;
            kv_path(ctx.stdout, "ARTIFACT_ONLY_WORKTREE", &dir)?;
            ctx.out_kv("SESSION", session.as_deref().unwrap_or("<none>"))?;
            ctx.out_kv("ACTIVE_OWNER", yes_no(owner.is_some()))?;
            ctx.out_kv("ACTIVE_LAUNCH", yes_no(launch.is_some()))?;
            ctx.out_kv("DISK_KIB", usage::disk_usage_kib(&dir))?;
            ctx.out_kv("REASON", decision.reason())?;
            let cleanup = match (&decision, self.cleanup) {
                (Decision::Remove(_), true) if self.dry_run => "would-remove",
                (Decision::Remove(_), true) => {
                    residue::remove_entry(&dir)?;
                    c.residue_cleaned += 1;
                    "removed"
                }
                _ => "skipped",
            };
            ctx.out_kv("CLEANUP", cleanup)?;
            writeln!(ctx.stdout)?;
        }
        Ok(())
    }
}
