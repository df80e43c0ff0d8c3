//! `agent-cleanup-worktree`: remove a task branch, the worktree git
//! associates with it and (unless kept) its remote branch, from a retained
//! checkout. Every refusal comes before anything is changed; `--dry-run`
//! prints the git commands and changes nothing.
//!
//! Safety (from `acp_session::gc`): never the current branch, the current
//! worktree, the main checkout, a directory holding another registered
//! worktree or the git directory, nor a locked worktree, nor uncommitted
//! work in a worktree where a live tmux pane works. The merged base
//! defaults to the profile's default branch, else the remote's HEAD, else
//! `HEAD` (never a literal `main`). A remote that is not configured is
//! skipped with a warning instead of failing the fetch.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use acp_core::config::FlowConfig;
use acp_core::{Invocation, ToolSpec, cli, fail, git};
use acp_session::gc::{base, guard, list, owner, residue};
use clap::value_parser;

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "agent-cleanup-worktree",
    aliases: &[],
    paths: &["tools/bin/agent-cleanup-worktree"],
    about: "Remove a task branch with its worktree and remote branch, safely",
    command,
    run,
}];

const TAG: &str = "[agent-cleanup]";

/// The argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "agent-cleanup-worktree",
        "Removes a task branch and the worktree git associates with it, then its remote \
         branch unless --keep-remote. The branch must be merged into the base unless \
         --allow-unmerged. Run it from a retained checkout, not from the worktree being \
         removed. The default base is the profile's default branch (ACP_DEFAULT_BRANCH, \
         repo.default_branch), else the remote's HEAD, else HEAD.",
    )
    .override_usage(
        "agent-cleanup-worktree --branch <branch-name> [--merged-base <ref>] [--path \
         <worktree-path>] [--remote <name>] [--keep-remote] [--allow-unmerged] [--dry-run]",
    )
    .arg(
        cli::opt("branch")
            .help("The task branch (main, master and the default branch are refused)"),
    )
    .arg(cli::opt("merged-base").help("Ref the branch must be merged into"))
    .arg(
        cli::opt("path")
            .value_parser(value_parser!(OsString))
            .help("The worktree; must be the one git associates with the branch"),
    )
    .arg(cli::opt("remote").help("Remote of the branch (default origin; empty: none)"))
    .arg(cli::flag("keep-remote").help("Keep the remote branch"))
    .arg(cli::flag("allow-unmerged").help("Delete an unmerged branch (branch -D)"))
    .arg(cli::flag("dry-run").help("Print the git commands and change nothing"))
}

/// What was asked for.
struct Args {
    branch: String,
    merged_base: String,
    path: Option<PathBuf>,
    remote: String,
    keep_remote: bool,
    allow_unmerged: bool,
    dry_run: bool,
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let cmd = command();
    let m = match cli::parse(ctx, cmd.clone(), args, 1)? {
        cli::Parsed::Matches(m) => m,
        cli::Parsed::Exit(code) => return Ok(code),
    };
    let a = Args {
        branch: cli::get(&m, "branch"),
        merged_base: cli::get(&m, "merged-base"),
        path: m
            .get_one::<OsString>("path")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from),
        remote: cli::given_or(&m, "remote", || "origin".to_string()),
        keep_remote: m.get_flag("keep-remote"),
        allow_unmerged: m.get_flag("allow-unmerged"),
        dry_run: m.get_flag("dry-run"),
    };
    if a.branch.is_empty() {
        ctx.err_line("--branch is required")?;
        write!(ctx.stderr, "{}", cli::usage(&cmd))?;
        return Ok(1);
    }
    let plan = match Plan::make(ctx, a)? {
        Ok(plan) => plan,
        Err(refusal) => {
            ctx.err_line(format!("{TAG} {refusal}"))?;
            return Ok(1);
        }
    };
    if plan.a.dry_run {
        plan.print(ctx)?;
        return Ok(0);
    }
    plan.execute(ctx)
}

/// Everything decided before anything changes.
struct Plan {
    a: Args,
    source_root: PathBuf,
    worktree: Option<PathBuf>,
    /// The worktree is registered but git no longer sees a work tree there.
    broken: bool,
    local_branch: bool,
    remote_branch: bool,
    /// The remote to fetch and push to ("" when none is configured).
    remote: String,
}

/// Runs git in `dir`; its stderr goes to ours; Err(exit) when it fails.
fn git_step<I, S>(ctx: &mut Invocation<'_>, dir: &Path, args: I) -> anyhow::Result<()>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = git::output(&ctx.env, dir, args)?;
    ctx.stdout.write_all(&out.stdout)?;
    ctx.stderr.write_all(&out.stderr)?;
    if !out.status.success() {
        return Err(fail(acp_core::process::exit_code(out.status), ""));
    }
    Ok(())
}

fn rev_parse(ctx: &mut Invocation<'_>, args: &[&str]) -> anyhow::Result<String> {
    let out = git::output(&ctx.env, &ctx.cwd, args)?;
    if !out.status.success() {
        ctx.stderr.write_all(&out.stderr)?;
        return Err(fail(acp_core::process::exit_code(out.status), ""));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text.trim_end_matches('\n').to_string())
}

fn show_ref(ctx: &Invocation<'_>, full: &str) -> bool {
    git::output(
        &ctx.env,
        &ctx.cwd,
        ["show-ref", "--verify", "--quiet", "--end-of-options", full],
    )
    .is_ok_and(|o| o.status.success())
}

impl Plan {
    /// The checks, in the original's order, plus the layer's guards.
    /// Ok(Err(message)) is a refusal.
    fn make(ctx: &mut Invocation<'_>, mut a: Args) -> anyhow::Result<Result<Self, String>> {
        let cfg = FlowConfig::load(&ctx.env).unwrap_or_else(|_| FlowConfig::empty(Path::new("")));
        let default_branch = base::profile_default_branch(&ctx.env, &cfg);
        let protected = a.branch == "main"
            || a.branch == "master"
            || default_branch.as_deref() == Some(a.branch.as_str());
        if protected {
            return Ok(Err(format!(
                "Refusing to clean up protected branch: {}",
                a.branch
            )));
        }
        let repo_root = PathBuf::from(rev_parse(ctx, &["rev-parse", "--show-toplevel"])?);
        let common = rev_parse(
            ctx,
            &["rev-parse", "--path-format=absolute", "--git-common-dir"],
        )?;
        let common = std::fs::canonicalize(&common).unwrap_or_else(|_| PathBuf::from(&common));
        let source_root = common.parent().unwrap_or(Path::new("/")).to_path_buf();
        let current_branch = rev_parse(ctx, &["rev-parse", "--abbrev-ref", "HEAD"])?;
        let remote = if base::remote_exists(&ctx.env, &ctx.cwd, &a.remote) || a.remote.is_empty() {
            a.remote.clone()
        } else {
            ctx.err_line(format!(
                "{TAG} remote '{}' is not configured here: skipping fetch and remote branch deletion",
                a.remote
            ))?;
            String::new()
        };
        if a.merged_base.is_empty() && !a.allow_unmerged {
            a.merged_base = base::default_merged_base(&ctx.env, &cfg, &ctx.cwd, &a.remote);
        }
        if current_branch == a.branch {
            return Ok(Err(format!(
                "Refusing to clean up the branch currently checked out: {}",
                a.branch
            )));
        }
        let local_branch = show_ref(ctx, &format!("refs/heads/{}", a.branch));
        let all = list::list(&ctx.env, &ctx.cwd)?;
        let registered = list::for_branch(&all, &a.branch).cloned();
        let worktree = match (&a.path, &registered) {
            (None, r) => r.as_ref().map(|w| w.path.clone()),
            (Some(p), None) => {
                return Ok(Err(format!(
                    "Branch {} is not associated with a dedicated worktree.\n{TAG} Refusing to \
                     trust explicit --path '{}' without a Git-resolved branch worktree.",
                    a.branch,
                    p.display()
                )));
            }
            (Some(p), Some(w)) => match explicit_path(p, &w.path, &a.branch) {
                Ok(canonical) => Some(canonical),
                Err(why) => return Ok(Err(why)),
            },
        };
        let mut plan = Plan {
            source_root,
            broken: worktree
                .as_ref()
                .is_some_and(|w| residue::is_broken(&ctx.env, w)),
            worktree,
            local_branch,
            remote_branch: false,
            remote,
            a,
        };
        if !plan.a.dry_run && !plan.remote.is_empty() {
            git_step(
                ctx,
                &ctx.cwd.clone(),
                ["fetch", "--prune", plan.remote.as_str()],
            )?;
        }
        plan.remote_branch = !plan.remote.is_empty()
            && show_ref(
                ctx,
                &format!("refs/remotes/{}/{}", plan.remote, plan.a.branch),
            );
        plan.check_merged_and_place(ctx, &repo_root)
    }

    /// The merged check and the checks on the worktree's place.
    fn check_merged_and_place(
        self,
        ctx: &mut Invocation<'_>,
        repo_root: &Path,
    ) -> anyhow::Result<Result<Self, String>> {
        if !self.a.allow_unmerged && self.local_branch {
            let merged = git::output(
                &ctx.env,
                &ctx.cwd,
                [
                    "merge-base",
                    "--is-ancestor",
                    "--end-of-options",
                    self.a.branch.as_str(),
                    self.a.merged_base.as_str(),
                ],
            )?;
            if !merged.status.success() {
                return Ok(Err(format!(
                    "Branch {} is not merged into {}",
                    self.a.branch, self.a.merged_base
                )));
            }
        }
        let Some(wt) = &self.worktree else {
            return Ok(Ok(self));
        };
        if wt == repo_root || guard::same_dir(wt, repo_root) {
            return Ok(Err(format!(
                "Refusing to remove the current worktree: {}",
                wt.display()
            )));
        }
        if list::canonical_dir(wt).is_some_and(|c| c == self.source_root) {
            return Ok(Err(format!(
                "Refusing to remove the canonical source checkout: {}",
                self.source_root.display()
            )));
        }
        if let Err(refusal) = guard::check_tree_removal(&ctx.env, &self.source_root, wt, None) {
            return Ok(Err(format!(
                "Refusing to remove {}: {refusal}",
                wt.display()
            )));
        }
        // Uncommitted work a live session is still working on is never
        // discarded (a clean worktree may go from under an idle shell).
        if !self.broken
            && residue::effectively_dirty(&ctx.env, wt)
            && let Some(owner) = owner::live_pane_owner(&ctx.env, wt)
        {
            return Ok(Err(format!(
                "Refusing to remove {}: it holds uncommitted work and {owner}",
                wt.display()
            )));
        }
        Ok(Ok(self))
    }

    fn delete_flag(&self) -> &'static str {
        if self.a.allow_unmerged { "-D" } else { "-d" }
    }

    /// `--dry-run`: the git commands, one a line, values single-quoted.
    fn print(&self, ctx: &mut Invocation<'_>) -> std::io::Result<()> {
        if let Some(wt) = &self.worktree {
            writeln!(
                ctx.stdout,
                "git worktree remove --force {}",
                sq(wt.as_os_str())
            )?;
        }
        if self.local_branch {
            let b = sq(OsStr::new(&self.a.branch));
            writeln!(ctx.stdout, "git branch {} {b}", self.delete_flag())?;
        }
        let remote = sq(OsStr::new(&self.remote));
        if self.remote_branch && !self.a.keep_remote {
            let b = sq(OsStr::new(&self.a.branch));
            writeln!(ctx.stdout, "git push {remote} --delete {b}")?;
        }
        if !self.remote.is_empty() {
            writeln!(ctx.stdout, "git fetch --prune {remote}")?;
        }
        Ok(())
    }

    /// Removes the worktree, the branch, the remote branch; final fetch.
    fn execute(self, ctx: &mut Invocation<'_>) -> anyhow::Result<i32> {
        let cwd = ctx.cwd.clone();
        if let Some(wt) = &self.worktree {
            if self.broken {
                // git refuses to remove a worktree whose `.git` is gone: the
                // guards passed, so the directory goes and the record is pruned.
                residue::remove_entry(wt)?;
                git_step(ctx, &self.source_root, ["worktree", "prune"])?;
            } else {
                residue::remove_generated(wt)?;
                git_step(
                    ctx,
                    &self.source_root,
                    [
                        OsStr::new("worktree"),
                        OsStr::new("remove"),
                        OsStr::new("--force"),
                        OsStr::new("--"),
                        wt.as_os_str(),
                    ],
                )?;
            }
        }
        if self.local_branch {
            git_step(
                ctx,
                &cwd,
                ["branch", self.delete_flag(), "--", self.a.branch.as_str()],
            )?;
        }
        let remote_changed = self.remote_branch && !self.a.keep_remote;
        if remote_changed {
            self.delete_remote_branch(ctx)?;
        }
        // The plan's fetch already pruned the remote-tracking refs: only a
        // remote deletion since then makes a second fetch worth its round
        // trip (0.2.0 fetched again whatever happened).
        if remote_changed && !self.remote.is_empty() {
            git_step(ctx, &cwd, ["fetch", "--prune", self.remote.as_str()])?;
        }
        writeln!(ctx.stdout, "{TAG} cleanup complete for {}", self.a.branch)?;
        Ok(0)
    }

    /// `git push <remote> --delete <branch>`; a branch already gone on the
    /// remote is fine.
    fn delete_remote_branch(&self, ctx: &mut Invocation<'_>) -> anyhow::Result<()> {
        let refspec = format!(":refs/heads/{}", self.a.branch);
        let out = git::output(
            &ctx.env,
            &ctx.cwd,
            ["push", self.remote.as_str(), refspec.as_str()],
        )?;
        if out.status.success() {
            return Ok(());
        }
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if text.contains("remote ref does not exist") || text.contains("unable to delete") {
            return Ok(());
        }
        ctx.err_line(text.trim_end_matches('\n'))?;
        Err(fail(acp_core::process::exit_code(out.status), ""))
    }
}

/// An explicit `--path` must be the directory git associates with the branch.
fn explicit_path(given: &Path, resolved: &Path, branch: &str) -> Result<PathBuf, String> {
    let Some(explicit) = list::canonical_dir(given) else {
        return Err(format!(
            "Explicit --path '{}' does not exist as a directory.",
            given.display()
        ));
    };
    let Some(registered) = list::canonical_dir(resolved) else {
        return Err(format!(
            "Git resolved branch worktree '{}' does not exist as a directory.",
            resolved.display()
        ));
    };
    if explicit != registered {
        return Err(format!(
            "Explicit --path '{}' does not match the worktree Git associates with branch \
             '{branch}' ('{}').",
            given.display(),
            resolved.display()
        ));
    }
    Ok(registered)
}

/// A value single-quoted for a shell (`'` written as `'\''`).
fn sq(value: &OsStr) -> String {
    format!("'{}'", value.to_string_lossy().replace('\'', r"'\''"))
}
