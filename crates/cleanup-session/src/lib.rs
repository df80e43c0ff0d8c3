//! `agent-project-cleanup-session`: after a session has been reconciled,
//! remove its worktree and branch (through the sibling `agent-cleanup-worktree`,
//! with a fallback for orphaned directories), unless the tmux session is still
//! alive or a resident worker still uses the worktree; then archive the run
//! directory (through the sibling `agent-project-archive-run`) and clear
//! resident `WORKTREE_REALPATH` entries that point at a removed worktree.
//!
//! State files are parsed, never sourced: each file is read on its own, so
//! no value leaks from one file into the decision about another.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use acp_core::cli::{self, Parsed};
use acp_core::envfile::{self, EnvFile, Mode};
use acp_core::shellquote::QuoteLocale;
use acp_core::tmux::Tmux;
use acp_core::{Invocation, ToolSpec, fail, fsx, git};
use acp_session::gc;
use anyhow::Context;

const CLEANUP_TOOL: &str = "agent-cleanup-worktree";
const ARCHIVE_TOOL: &str = "agent-project-archive-run";

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "agent-project-cleanup-session",
    aliases: &["cleanup-session"],
    paths: &["tools/bin/agent-project-cleanup-session"],
    about: "Remove a finished session's worktree/branch and archive its run",
    command,
    run,
}];

/// The argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "agent-project-cleanup-session",
        "Removes a reconciled session's worktree and branch with agent-cleanup-worktree \
         (leaving alone worktrees a live tmux session or resident worker still uses), then \
         archives the session's run directory with agent-project-archive-run.",
    )
    .override_usage(
        "agent-project-cleanup-session --repo-root <path> [--runs-root <path> --history-root \
         <path> --session <id>] [--worktree <path>] [--mode generic|issue|pr] [--remote <name>] \
         [--remove-file <path>] [--merged-base <ref>] [--keep-remote] [--allow-unmerged] \
         [--skip-worktree-cleanup]",
    )
    .arg(cli::opt("repo-root").help("The main repository [env: AGENT_PROJECT_REPO_ROOT]"))
    .arg(cli::runs_root_opt())
    .arg(cli::opt("history-root").help("Where archived runs go [env: AGENT_PROJECT_HISTORY_ROOT]"))
    .arg(cli::opt("state-root").help(
        "State root holding resident-workers/ [env: AGENT_PROJECT_STATE_ROOT, F_LOSNING_STATE_ROOT]",
    ))
    .arg(cli::session_opt("Session id (its run.env supplies BRANCH, WORKTREE, RESULT_FILE)"))
    .arg(cli::opt("worktree").help("The worktree to remove"))
    .arg(cli::opt("mode").help("generic (default), issue or pr"))
    .arg(cli::opt("remote").help("Remote of the branch (default origin)"))
    .arg(cli::opt("remove-file").help("A file to delete when archiving (default RESULT_FILE)"))
    .arg(cli::opt("merged-base").help("Ref the branch must be merged into"))
    .arg(cli::flag("keep-remote").help("Keep the remote branch (default for issue mode)"))
    .arg(cli::flag("allow-unmerged").help("Remove an unmerged branch (default for issue/pr)"))
    .arg(cli::flag("skip-worktree-cleanup").help("Only archive the run directory"))
}

/// What was asked for: flags, then `AGENT_PROJECT_*` variables, then
/// defaults; `branch`, `worktree` and `remove_file` are completed from the
/// session's run.env ([`Args::read_run_env`]).
struct Args {
    repo_root: String,
    runs_root: String,
    history_root: String,
    state_root: String,
    session: String,
    worktree: String,
    mode: String,
    remote: String,
    remove_file: String,
    merged_base: String,
    keep_remote: bool,
    allow_unmerged: bool,
    skip: bool,
    branch: String,
}

/// Why the arguments were refused.
enum Invalid {
    /// A message followed by the usage.
    Usage(&'static str),
    /// One line.
    Line(String),
}

impl Args {
    /// The request from the parsed flags and the environment.
    fn resolve(m: &clap::ArgMatches, ctx: &Invocation<'_>) -> Result<Self, Invalid> {
        let flag_or_env = |name: &str, keys: &[&str]| cli::get_or_env(m, name, ctx, keys);
        let given_or = |name: &str, default: &str| cli::given_or(m, name, || default.to_string());
        let mode = given_or("mode", "generic");
        let a = Self {
            repo_root: flag_or_env("repo-root", &["AGENT_PROJECT_REPO_ROOT"]),
            runs_root: flag_or_env("runs-root", &["AGENT_PROJECT_RUNS_ROOT"]),
            history_root: flag_or_env("history-root", &["AGENT_PROJECT_HISTORY_ROOT"]),
            state_root: flag_or_env(
                "state-root",
                &["AGENT_PROJECT_STATE_ROOT", "F_LOSNING_STATE_ROOT"],
            ),
            session: cli::get(m, "session"),
            worktree: cli::get(m, "worktree"),
            remote: given_or("remote", "origin"),
            remove_file: cli::get(m, "remove-file"),
            merged_base: cli::get(m, "merged-base"),
            keep_remote: m.get_flag("keep-remote") || mode == "issue",
            allow_unmerged: m.get_flag("allow-unmerged") || mode == "issue" || mode == "pr",
            skip: m.get_flag("skip-worktree-cleanup"),
            branch: String::new(),
            mode,
        };
        a.validate()?;
        Ok(a)
    }

    /// The original's checks, in its order.
    fn validate(&self) -> Result<(), Invalid> {
        if self.repo_root.is_empty() {
            return Err(Invalid::Usage("--repo-root is required"));
        }
        if !matches!(self.mode.as_str(), "generic" | "issue" | "pr") {
            return Err(Invalid::Line("--mode must be generic, issue, or pr".into()));
        }
        if self.worktree.is_empty() && self.session.is_empty() {
            return Err(Invalid::Usage(
                "Provide at least one of --worktree or --session",
            ));
        }
        if !self.session.is_empty() && (self.runs_root.is_empty() || self.history_root.is_empty()) {
            return Err(Invalid::Usage(
                "--runs-root and --history-root are required when --session is set",
            ));
        }
        if self.session.contains('/') || self.session == "." || self.session == ".." {
            return Err(Invalid::Line(format!(
                "--session must be a plain name, not a path: {}",
                self.session
            )));
        }
        Ok(())
    }

    /// Reads `<runs>/<session>/run.env` when there is one: the branch, the
    /// worktree (unless given) and the result file (the default
    /// `--remove-file`). Returns the run.env path it looked at ("" without a
    /// session).
    fn read_run_env(&mut self) -> anyhow::Result<String> {
        let mut meta_file = String::new();
        let mut result_file = String::new();
        if !self.session.is_empty() {
            meta_file = format!("{}/{}/run.env", self.runs_root, self.session);
            if Path::new(&meta_file).is_file() {
                let meta = EnvFile::load_with(Path::new(&meta_file), Mode::Lenient)?;
                self.branch = meta.get_or_empty("BRANCH");
                result_file = meta.get_or_empty("RESULT_FILE");
                if self.worktree.is_empty() {
                    self.worktree = meta.get_or_empty("WORKTREE");
                }
            }
        }
        if self.remove_file.is_empty() {
            self.remove_file = result_file;
        }
        Ok(meta_file)
    }
}

/// Runs the tool: resolve the request, clean up the worktree (unless the
/// session is alive, cleanup is skipped or a resident worker uses it),
/// archive the run, forget removed resident worktrees, report.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let cmd = command();
    let m = match cli::parse(ctx, cmd.clone(), args, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    let mut a = match Args::resolve(&m, ctx) {
        Ok(a) => a,
        Err(Invalid::Usage(msg)) => {
            ctx.err_line(msg)?;
            write!(ctx.stderr, "{}", cli::usage(&cmd))?;
            return Ok(1);
        }
        Err(Invalid::Line(msg)) => return Err(fail(1, msg)),
    };
    let meta_file = a.read_run_env()?;

    let tmux = Tmux::new(&ctx.env, None);
    let active = !a.session.is_empty() && tmux.has_session(&a.session);
    let state_root = derive_state_root(&a, &ctx.cwd);
    let outcome = if active {
        Outcome::mode("deferred-active-session")
    } else {
        clean_worktree(ctx, &a, state_root.as_deref(), &tmux)?
    };
    let archive_output = if !a.session.is_empty() && !active {
        archive(ctx, &a)?
    } else {
        String::new()
    };
    let wt = Path::new(&a.worktree);
    if !a.skip && !a.worktree.is_empty() && !wt.is_dir() {
        clear_realpath_references(ctx, state_root.as_deref(), wt)?;
    }

    if outcome.status != 0 && a.session.is_empty() {
        if !outcome.error.is_empty() {
            ctx.err_line(&outcome.error)?;
        }
        return Ok(outcome.status);
    }
    report(ctx, &a, active, &outcome, &meta_file, &archive_output)?;
    Ok(0)
}

/// The decision chain for a session that is not alive: skip, protect a
/// resident worker's worktree, remove through the branch tool, remove a
/// registered worktree, or remove an orphaned directory.
fn clean_worktree(
    ctx: &mut Invocation<'_>,
    a: &Args,
    state_root: Option<&Path>,
    tmux: &Tmux,
) -> anyhow::Result<Outcome> {
    let wt = Path::new(&a.worktree);
    if a.skip {
        return Ok(Outcome::mode("archived-only"));
    }
    if !a.worktree.is_empty()
        && (gc::owner::resident_lane_owner(state_root, wt).is_some()
            || gc::owner::resident_run_owner(Path::new(&a.runs_root), wt, tmux).is_some())
    {
        return Ok(Outcome::mode("protected-resident-worktree"));
    }
    if !a.branch.is_empty() {
        return branch_cleanup(ctx, a);
    }
    if let Some(listed) = registered_worktree(ctx, a) {
        remove_registered_worktree(ctx, a, &listed)?;
        return Ok(Outcome::mode("worktree"));
    }
    if remove_orphan_dir(ctx, a)? {
        let mut outcome = Outcome::mode("orphan-worktree");
        outcome.orphan_fallback = true;
        return Ok(outcome);
    }
    Ok(Outcome::mode("noop"))
}

/// Runs `agent-project-archive-run` for the session; its stdout without the
/// trailing newlines. Its stderr passes through; when it fails, so does this
/// tool, with its status.
fn archive(ctx: &mut Invocation<'_>, a: &Args) -> anyhow::Result<String> {
    let mut archive = archive_command(ctx);
    archive
        .arg("--runs-root")
        .arg(&a.runs_root)
        .arg("--history-root")
        .arg(&a.history_root)
        .arg("--session")
        .arg(&a.session)
        .arg("--remove-file")
        .arg(&a.remove_file);
    let out = acp_core::dispatch::output(&mut archive)
        .with_context(|| format!("failed to run {ARCHIVE_TOOL}"))?;
    ctx.stderr.write_all(&out.stderr)?;
    if !out.status.success() {
        return Err(fail(acp_core::process::exit_code(out.status), ""));
    }
    Ok(trim_trailing_newlines(&String::from_utf8_lossy(&out.stdout)).to_string())
}

/// The stdout lines, in the original's order.
fn report(
    ctx: &mut Invocation<'_>,
    a: &Args,
    active: bool,
    outcome: &Outcome,
    meta_file: &str,
    archive_output: &str,
) -> std::io::Result<()> {
    let yes_no = |b: bool| if b { "true" } else { "false" };
    ctx.out_kv("SESSION", &a.session)?;
    ctx.out_kv("MODE", &a.mode)?;
    ctx.out_kv("WORKTREE", &a.worktree)?;
    ctx.out_kv("BRANCH", &a.branch)?;
    ctx.out_kv("KEEP_REMOTE", yes_no(a.keep_remote))?;
    ctx.out_kv("ALLOW_UNMERGED", yes_no(a.allow_unmerged))?;
    ctx.out_kv("SKIP_WORKTREE_CLEANUP", yes_no(a.skip))?;
    ctx.out_kv("ACTIVE_TMUX_SESSION", yes_no(active))?;
    ctx.out_kv("CLEANUP_MODE", outcome.mode)?;
    ctx.out_kv("ORPHAN_FALLBACK_USED", yes_no(outcome.orphan_fallback))?;
    ctx.out_kv("CLEANUP_STATUS", outcome.status)?;
    if !meta_file.is_empty() {
        ctx.out_kv("META_FILE", meta_file)?;
    }
    if !archive_output.is_empty() {
        writeln!(ctx.stdout, "{archive_output}")?;
    }
    if !outcome.warning.is_empty() {
        ctx.out_kv("CLEANUP_WARNING", flatten(&outcome.warning))?;
    }
    if outcome.status != 0 && !outcome.error.is_empty() {
        ctx.out_kv("CLEANUP_ERROR", flatten(&outcome.error))?;
    }
    Ok(())
}

/// How the worktree cleanup went.
struct Outcome {
    mode: &'static str,
    orphan_fallback: bool,
    status: i32,
    error: String,
    warning: String,
}

impl Outcome {
    fn mode(mode: &'static str) -> Self {
        Self {
            mode,
            orphan_fallback: false,
            status: 0,
            error: String::new(),
            warning: String::new(),
        }
    }
}

/// Loads a state file that may be missing or unreadable (then it is skipped).
fn load_optional(path: &Path) -> Option<EnvFile> {
    EnvFile::load_with(path, Mode::Lenient).ok()
}

/// Newlines become spaces and runs of spaces one space.
fn flatten(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = if c == '\n' { ' ' } else { c };
        if !(c == ' ' && out.ends_with(' ')) {
            out.push(c);
        }
    }
    out
}

fn trim_trailing_newlines(s: &str) -> &str {
    s.trim_end_matches('\n')
}

/// A sibling script as the original ran it: `<script dir>/../../tools/bin/<name>`
/// (next to this tool's shim in an install) when that file exists, else
/// `<script dir>/<name>` when that does.
fn sibling_script(ctx: &Invocation<'_>, name: &str) -> Option<Command> {
    let dir = ctx.script_dir()?;
    let path = [dir.join("../../tools/bin").join(name), dir.join(name)]
        .into_iter()
        .find(|p| p.is_file())?;
    let mut cmd = Command::new("bash");
    cmd.arg(path);
    ctx.env.apply(&mut cmd);
    cmd.current_dir(&ctx.cwd);
    Some(cmd)
}

/// `agent-project-archive-run`: its script, else this binary's own.
fn archive_command(ctx: &Invocation<'_>) -> Command {
    sibling_script(ctx, ARCHIVE_TOOL).unwrap_or_else(|| ctx.sibling_command(ARCHIVE_TOOL))
}

/// `agent-cleanup-worktree`: its script next to this tool (where callers
/// put stubs), else this binary's own (it ships with the worktree tools).
/// Err: one line saying what is missing (kept for a build without it).
fn cleanup_command(ctx: &Invocation<'_>) -> Result<Command, String> {
    Ok(sibling_script(ctx, CLEANUP_TOOL).unwrap_or_else(|| ctx.sibling_command(CLEANUP_TOOL)))
}

/// The physical path of an existing directory.
fn canonical_dir(path: &Path) -> Option<PathBuf> {
    if path.as_os_str().is_empty() || !path.is_dir() {
        return None;
    }
    std::fs::canonicalize(path).ok()
}

/// The physical path of a directory, or of its parent joined with its name
/// when it no longer exists.
fn canonical_dir_or_parent_join(path: &Path) -> Option<PathBuf> {
    if path.as_os_str().is_empty() {
        return None;
    }
    if let Some(p) = canonical_dir(path) {
        return Some(p);
    }
    let name = path.file_name()?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(std::fs::canonicalize(parent).ok()?.join(name))
}

/// `--state-root` when it is a directory, else `<runs root>/../state` when that exists.
fn derive_state_root(a: &Args, cwd: &Path) -> Option<PathBuf> {
    if !a.state_root.is_empty() && Path::new(&a.state_root).is_dir() {
        return Some(PathBuf::from(&a.state_root));
    }
    if a.runs_root.is_empty() || !Path::new(&a.runs_root).is_dir() {
        return None;
    }
    // Like `cd <runs>/..`: the parent is taken from the path as written.
    let runs = fsx::normalize_lexically(&cwd.join(&a.runs_root));
    let parent = std::fs::canonicalize(runs.parent().unwrap_or(Path::new("/"))).ok()?;
    let state = parent.join("state");
    state.is_dir().then_some(state)
}

/// One run of `agent-cleanup-worktree`.
struct ToolRun {
    status: i32,
    /// Its stdout and stderr, in the order written.
    output: String,
    /// The tool is not there at all: running it again cannot help.
    missing: bool,
}

/// Runs `agent-cleanup-worktree` from the repo root.
fn run_cleanup_tool(ctx: &Invocation<'_>, a: &Args, with_path: bool) -> anyhow::Result<ToolRun> {
    let failed = |status: i32, output: String, missing: bool| ToolRun {
        status,
        output,
        missing,
    };
    if !Path::new(&a.repo_root).is_dir() {
        let why = format!("repo root is not a directory: {}", a.repo_root);
        return Ok(failed(1, why, false));
    }
    let mut cmd = match cleanup_command(ctx) {
        Ok(cmd) => cmd,
        // bash's status for a command it cannot find, as the original got.
        Err(missing) => return Ok(failed(127, missing, true)),
    };
    cmd.current_dir(&a.repo_root).arg("--branch").arg(&a.branch);
    if !a.remote.is_empty() {
        cmd.arg("--remote").arg(&a.remote);
    }
    if !a.merged_base.is_empty() {
        cmd.arg("--merged-base").arg(&a.merged_base);
    }
    if with_path && Path::new(&a.worktree).is_dir() {
        // Relative to where we were started, not to the repo root.
        cmd.arg("--path").arg(ctx.cwd.join(&a.worktree));
    }
    if a.keep_remote {
        cmd.arg("--keep-remote");
    }
    if a.allow_unmerged {
        cmd.arg("--allow-unmerged");
    }
    let (status, output) = combined_output(cmd)?;
    Ok(failed(status, output, false))
}

/// Runs `cmd` with stdout and stderr into one file, in the order written.
fn combined_output(mut cmd: Command) -> anyhow::Result<(i32, String)> {
    use std::io::{Seek, SeekFrom};
    let mut sink = tempfile::tempfile().context("failed to create a temp file")?;
    let out = sink
        .try_clone()
        .context("failed to duplicate a temp file")?;
    let err = sink
        .try_clone()
        .context("failed to duplicate a temp file")?;
    let program = cmd
        .get_args()
        .next()
        .map(OsStr::to_os_string)
        .unwrap_or_default();
    let status = cmd
        .stdout(out)
        .stderr(err)
        .stdin(Stdio::null())
        .status()
        .with_context(|| format!("failed to run {}", program.to_string_lossy()))?;
    let mut bytes = Vec::new();
    sink.seek(SeekFrom::Start(0))
        .and_then(|_| sink.read_to_end(&mut bytes))
        .context("failed to read the cleanup tool's output")?;
    let text = String::from_utf8_lossy(&bytes);
    Ok((
        acp_core::process::exit_code(status),
        trim_trailing_newlines(&text).to_string(),
    ))
}

/// Removes the branch (and its worktree) with the cleanup tool; when that
/// fails and the worktree is an orphaned directory, removes the directory and
/// runs the tool once more without `--path`.
fn branch_cleanup(ctx: &Invocation<'_>, a: &Args) -> anyhow::Result<Outcome> {
    let first = run_cleanup_tool(ctx, a, true)?;
    if first.status == 0 {
        return Ok(Outcome::mode("branch"));
    }
    let mut outcome = Outcome::mode("noop");
    outcome.status = first.status;
    outcome.error = first.output;
    if !remove_orphan_dir(ctx, a)? {
        return Ok(outcome);
    }
    outcome.orphan_fallback = true;
    if first.missing {
        // The retry would only say the same again.
        return Ok(outcome);
    }
    let retry = run_cleanup_tool(ctx, a, false)?;
    if retry.status == 0 {
        outcome.mode = "orphan-worktree";
        outcome.status = 0;
        outcome.warning = std::mem::take(&mut outcome.error);
    } else {
        outcome.status = retry.status;
        outcome.error = format!("{}\n{}", outcome.error, retry.output);
    }
    Ok(outcome)
}

/// The entry of `git worktree list` that is this worktree: the same path as
/// given, or the same directory.
fn registered_worktree(ctx: &Invocation<'_>, a: &Args) -> Option<PathBuf> {
    if a.worktree.is_empty() {
        return None;
    }
    let given = Path::new(&a.worktree);
    let given_canonical = canonical_dir(given);
    git::worktree_paths(&ctx.env, Path::new(&a.repo_root))
        .into_iter()
        .find(|listed| {
            listed == given
                || given_canonical
                    .as_ref()
                    .is_some_and(|g| canonical_dir(listed).as_ref() == Some(g))
        })
}

fn remove_registered_worktree(
    ctx: &mut Invocation<'_>,
    a: &Args,
    listed: &Path,
) -> anyhow::Result<()> {
    let repo = Path::new(&a.repo_root);
    // A failed removal is not fatal (the prune below still runs).
    let out = git::output(
        &ctx.env,
        repo,
        [
            OsStr::new("worktree"),
            OsStr::new("remove"),
            OsStr::new("--force"),
            OsStr::new("--"),
            listed.as_os_str(),
        ],
    )?;
    ctx.stderr.write_all(&out.stderr)?;
    let out = git::output(&ctx.env, repo, ["worktree", "prune"])?;
    ctx.stderr.write_all(&out.stderr)?;
    if !out.status.success() {
        return Err(fail(acp_core::process::exit_code(out.status), ""));
    }
    Ok(())
}

/// Removes the worktree directory when it is an orphan: it exists, holds no
/// `.git` and neither the repository nor any of its registered worktrees,
/// and lies strictly inside the worktree root
/// (`AGENT_PROJECT_WORKTREE_ROOT`, `F_LOSNING_WORKTREE_ROOT`). True when removed.
fn remove_orphan_dir(ctx: &Invocation<'_>, a: &Args) -> anyhow::Result<bool> {
    let wt = Path::new(&a.worktree);
    if a.worktree.is_empty() || !wt.is_dir() || wt.join(".git").symlink_metadata().is_ok() {
        return Ok(false);
    }
    let Some(root) = ctx
        .env
        .first_non_empty(&["AGENT_PROJECT_WORKTREE_ROOT", "F_LOSNING_WORKTREE_ROOT"])
    else {
        return Ok(false);
    };
    let (Some(target), Some(root)) = (canonical_dir(wt), canonical_dir(Path::new(&root))) else {
        return Ok(false);
    };
    if target == root || !target.starts_with(&root) {
        return Ok(false);
    }
    // A directory holding the main checkout, the git directory or another
    // registered worktree is not an orphan, whatever its own `.git` says
    // (the stale registration of the orphan itself does not count).
    let repo = Path::new(&a.repo_root);
    match gc::guard::check_tree_removal(&ctx.env, repo, &target, Some(&root)) {
        Ok(()) => {}
        // Not a repository: only the repo path itself can be protected.
        Err(gc::Refusal::Unverifiable(_)) => {
            if canonical_dir(repo).is_some_and(|p| p.starts_with(&target)) {
                return Ok(false);
            }
        }
        Err(_) => return Ok(false),
    }
    std::fs::remove_dir_all(&target)
        .with_context(|| format!("failed to remove {}", target.display()))?;
    let _ = git::output(&ctx.env, Path::new(&a.repo_root), ["worktree", "prune"]);
    Ok(true)
}

/// Sets `WORKTREE_REALPATH=''` in every resident metadata.env that points at
/// the removed worktree.
fn clear_realpath_references(
    ctx: &Invocation<'_>,
    state_root: Option<&Path>,
    removed: &Path,
) -> anyhow::Result<()> {
    let Some(removed) = canonical_dir_or_parent_join(removed) else {
        return Ok(());
    };
    let locale = QuoteLocale::from_env(&ctx.env);
    for meta in gc::owner::resident_metadata_files(state_root) {
        let Some(f) = load_optional(&meta) else {
            continue;
        };
        let recorded = f.get_or_empty("WORKTREE_REALPATH");
        if recorded.is_empty() {
            continue;
        }
        if canonical_dir_or_parent_join(Path::new(&recorded)).as_ref() != Some(&removed) {
            continue;
        }
        envfile::set(&meta, "WORKTREE_REALPATH", OsStr::new(""), locale)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn flatten_joins_lines_and_squeezes_spaces() {
        assert_eq!(flatten("a\n\nb   c\tx\n"), "a b c\tx ");
        assert_eq!(flatten(""), "");
    }

    #[test]
    fn parent_join_for_missing_dirs() {
        let t = tempfile::tempdir().unwrap();
        let real = std::fs::canonicalize(t.path()).unwrap();
        assert_eq!(
            canonical_dir_or_parent_join(&t.path().join("gone")),
            Some(real.join("gone"))
        );
        assert_eq!(canonical_dir_or_parent_join(&t.path().join("x/y")), None);
        assert_eq!(canonical_dir_or_parent_join(Path::new("")), None);
    }
}
