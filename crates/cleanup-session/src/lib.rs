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
use acp_core::{Invocation, ToolSpec, fail, git};
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

/// What was asked for, after defaults.
struct Request {
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

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let cmd = command();
    let m = match cli::parse(ctx, cmd.clone(), args, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    let mode = if m.contains_id("mode") {
        cli::get(&m, "mode")
    } else {
        "generic".to_string()
    };
    let mut rq = Request {
        repo_root: cli::get_or_env(&m, "repo-root", ctx, &["AGENT_PROJECT_REPO_ROOT"]),
        runs_root: cli::get_or_env(&m, "runs-root", ctx, &["AGENT_PROJECT_RUNS_ROOT"]),
        history_root: cli::get_or_env(&m, "history-root", ctx, &["AGENT_PROJECT_HISTORY_ROOT"]),
        state_root: cli::get_or_env(
            &m,
            "state-root",
            ctx,
            &["AGENT_PROJECT_STATE_ROOT", "F_LOSNING_STATE_ROOT"],
        ),
        session: cli::get(&m, "session"),
        worktree: cli::get(&m, "worktree"),
        remote: if m.contains_id("remote") {
            cli::get(&m, "remote")
        } else {
            "origin".to_string()
        },
        remove_file: cli::get(&m, "remove-file"),
        merged_base: cli::get(&m, "merged-base"),
        keep_remote: m.get_flag("keep-remote") || mode == "issue",
        allow_unmerged: m.get_flag("allow-unmerged") || mode == "issue" || mode == "pr",
        skip: m.get_flag("skip-worktree-cleanup"),
        branch: String::new(),
        mode,
    };
    if rq.repo_root.is_empty() {
        ctx.err_line("--repo-root is required")?;
        write!(ctx.stderr, "{}", cli::usage(&cmd))?;
        return Ok(1);
    }
    if !matches!(rq.mode.as_str(), "generic" | "issue" | "pr") {
        return Err(fail(1, "--mode must be generic, issue, or pr"));
    }
    if rq.worktree.is_empty() && rq.session.is_empty() {
        ctx.err_line("Provide at least one of --worktree or --session")?;
        write!(ctx.stderr, "{}", cli::usage(&cmd))?;
        return Ok(1);
    }
    if !rq.session.is_empty() && (rq.runs_root.is_empty() || rq.history_root.is_empty()) {
        ctx.err_line("--runs-root and --history-root are required when --session is set")?;
        write!(ctx.stderr, "{}", cli::usage(&cmd))?;
        return Ok(1);
    }
    if rq.session.contains('/') || rq.session == "." || rq.session == ".." {
        return Err(fail(
            1,
            format!("--session must be a plain name, not a path: {}", rq.session),
        ));
    }

    let mut meta_file = String::new();
    let mut result_file = String::new();
    if !rq.session.is_empty() {
        meta_file = format!("{}/{}/run.env", rq.runs_root, rq.session);
        if Path::new(&meta_file).is_file() {
            let meta = load(Path::new(&meta_file))?;
            rq.branch = meta.get_or_empty("BRANCH");
            result_file = meta.get_or_empty("RESULT_FILE");
            if rq.worktree.is_empty() {
                rq.worktree = meta.get_or_empty("WORKTREE");
            }
        }
    }
    if rq.remove_file.is_empty() {
        rq.remove_file = result_file;
    }

    let tmux = Tmux::new(&ctx.env, None);
    let active = !rq.session.is_empty() && tmux.has_session(&rq.session);
    let state_root = derive_state_root(&rq, &ctx.cwd);

    let mut outcome = Outcome::default();
    let wt = Path::new(&rq.worktree);
    if active {
        outcome.mode = "deferred-active-session";
    } else if rq.skip {
        outcome.mode = "archived-only";
    } else if !rq.worktree.is_empty()
        && (resident_lane_uses(state_root.as_deref(), wt)?
            || active_resident_run_uses(&rq.runs_root, wt, &tmux)?)
    {
        outcome.mode = "protected-resident-worktree";
    } else if !rq.branch.is_empty() {
        branch_cleanup(ctx, &rq, &mut outcome)?;
    } else if let Some(listed) = registered_worktree(ctx, &rq) {
        remove_registered_worktree(ctx, &rq, &listed)?;
        outcome.mode = "worktree";
    } else if remove_orphan_dir(ctx, &rq)? {
        outcome.orphan_fallback = true;
        outcome.mode = "orphan-worktree";
    }

    let mut archive_output = String::new();
    if !rq.session.is_empty() && !active {
        let mut archive = sibling(ctx, ARCHIVE_TOOL);
        archive
            .arg("--runs-root")
            .arg(&rq.runs_root)
            .arg("--history-root")
            .arg(&rq.history_root)
            .arg("--session")
            .arg(&rq.session)
            .arg("--remove-file")
            .arg(&rq.remove_file);
        let out = archive
            .output()
            .with_context(|| format!("failed to run {ARCHIVE_TOOL}"))?;
        ctx.stderr.write_all(&out.stderr)?;
        if !out.status.success() {
            return Ok(acp_core::process::exit_code(out.status));
        }
        archive_output = trim_trailing_newlines(&String::from_utf8_lossy(&out.stdout)).to_string();
    }

    if !rq.skip && !rq.worktree.is_empty() && !wt.is_dir() {
        clear_realpath_references(ctx, state_root.as_deref(), wt)?;
    }

    if outcome.status != 0 && rq.session.is_empty() {
        if !outcome.error.is_empty() {
            ctx.err_line(&outcome.error)?;
        }
        return Ok(outcome.status);
    }

    let yes_no = |b: bool| if b { "true" } else { "false" };
    ctx.out_kv("SESSION", &rq.session)?;
    ctx.out_kv("MODE", &rq.mode)?;
    ctx.out_kv("WORKTREE", &rq.worktree)?;
    ctx.out_kv("BRANCH", &rq.branch)?;
    ctx.out_kv("KEEP_REMOTE", yes_no(rq.keep_remote))?;
    ctx.out_kv("ALLOW_UNMERGED", yes_no(rq.allow_unmerged))?;
    ctx.out_kv("SKIP_WORKTREE_CLEANUP", yes_no(rq.skip))?;
    ctx.out_kv("ACTIVE_TMUX_SESSION", yes_no(active))?;
    ctx.out_kv("CLEANUP_MODE", outcome.mode)?;
    ctx.out_kv("ORPHAN_FALLBACK_USED", yes_no(outcome.orphan_fallback))?;
    ctx.out_kv("CLEANUP_STATUS", outcome.status)?;
    if !meta_file.is_empty() {
        ctx.out_kv("META_FILE", &meta_file)?;
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
    Ok(0)
}

/// How the worktree cleanup went.
struct Outcome {
    mode: &'static str,
    orphan_fallback: bool,
    status: i32,
    error: String,
    warning: String,
}

impl Default for Outcome {
    fn default() -> Self {
        Self {
            mode: "noop",
            orphan_fallback: false,
            status: 0,
            error: String::new(),
            warning: String::new(),
        }
    }
}

fn load(path: &Path) -> anyhow::Result<EnvFile> {
    Ok(EnvFile::load_with(path, Mode::Lenient)?)
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

/// A sibling tool: where the original looked for it
/// (`<script dir>/../../tools/bin/<name>`) when that file exists, else next
/// to this tool's shim, else our own binary.
fn sibling(ctx: &Invocation<'_>, name: &str) -> Command {
    if let Some(path) = ctx
        .script_dir()
        .map(|d| d.join("../../tools/bin").join(name))
        .filter(|p| p.is_file())
    {
        let mut cmd = Command::new("bash");
        cmd.arg(path);
        ctx.env.apply(&mut cmd);
        cmd.current_dir(&ctx.cwd);
        return cmd;
    }
    ctx.sibling_command(name)
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
fn derive_state_root(rq: &Request, cwd: &Path) -> Option<PathBuf> {
    if !rq.state_root.is_empty() && Path::new(&rq.state_root).is_dir() {
        return Some(PathBuf::from(&rq.state_root));
    }
    if rq.runs_root.is_empty() || !Path::new(&rq.runs_root).is_dir() {
        return None;
    }
    // Like `cd <runs>/..`: the parent is taken from the path as written.
    let parent = std::fs::canonicalize(lexical_parent(&cwd.join(&rq.runs_root))).ok()?;
    let state = parent.join("state");
    state.is_dir().then_some(state)
}

/// The parent of `path` after resolving `.` and `..` by text, as `cd` does.
fn lexical_parent(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out.pop();
    if out.as_os_str().is_empty() {
        PathBuf::from("/")
    } else {
        out
    }
}

/// `<dir>/*/<file>` in glob order (names starting with a dot skipped).
fn children_with(dir: &Path, file: &str) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<OsString> = rd
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .filter(|n| !n.as_encoded_bytes().starts_with(b"."))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| dir.join(n).join(file))
        .filter(|p| p.is_file())
        .collect()
}

fn resident_metadata_files(state_root: Option<&Path>) -> Vec<PathBuf> {
    match state_root {
        Some(root) => children_with(&root.join("resident-workers/issues"), "metadata.env"),
        None => Vec::new(),
    }
}

/// `WORKTREE_REALPATH`, else `WORKTREE`, of one file.
fn recorded_worktree(f: &EnvFile) -> String {
    let real = f.get_or_empty("WORKTREE_REALPATH");
    if real.is_empty() {
        f.get_or_empty("WORKTREE")
    } else {
        real
    }
}

/// Whether a recurring or running resident lane records this worktree.
fn resident_lane_uses(state_root: Option<&Path>, wt: &Path) -> anyhow::Result<bool> {
    let Some(candidate) = canonical_dir(wt) else {
        return Ok(false);
    };
    for meta in resident_metadata_files(state_root) {
        let Some(f) = load_optional(&meta) else {
            continue;
        };
        if f.get_or_empty("RESIDENT_LANE_KIND") != "recurring"
            && f.get_or_empty("LAST_STATUS") != "running"
        {
            continue;
        }
        let recorded = recorded_worktree(&f);
        if canonical_dir(Path::new(&recorded)).is_some_and(|r| r == candidate) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether a resident-enabled run that is still running (runner.env says so,
/// or its tmux session is alive) works in this worktree.
fn active_resident_run_uses(runs_root: &str, wt: &Path, tmux: &Tmux) -> anyhow::Result<bool> {
    if runs_root.is_empty() || !Path::new(runs_root).is_dir() {
        return Ok(false);
    }
    let Some(candidate) = canonical_dir(wt) else {
        return Ok(false);
    };
    for run_env in children_with(Path::new(runs_root), "run.env") {
        let Some(f) = load_optional(&run_env) else {
            continue;
        };
        if f.get_or_empty("RESIDENT_WORKER_ENABLED") != "yes" {
            continue;
        }
        let recorded = recorded_worktree(&f);
        if canonical_dir(Path::new(&recorded)).is_none_or(|r| r != candidate) {
            continue;
        }
        let runner_state = run_env
            .parent()
            .map(|d| d.join("runner.env"))
            .and_then(|p| load_optional(&p))
            .map(|r| r.get_or_empty("RUNNER_STATE"))
            .unwrap_or_default();
        if runner_state == "running" || tmux.has_session(&f.get_or_empty("SESSION")) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Runs `agent-cleanup-worktree` from the repo root; (status, stdout+stderr).
fn run_cleanup_tool(
    ctx: &Invocation<'_>,
    rq: &Request,
    with_path: bool,
) -> anyhow::Result<(i32, String)> {
    if !Path::new(&rq.repo_root).is_dir() {
        return Ok((1, format!("repo root is not a directory: {}", rq.repo_root)));
    }
    let mut cmd = sibling(ctx, CLEANUP_TOOL);
    cmd.current_dir(&rq.repo_root)
        .arg("--branch")
        .arg(&rq.branch);
    if !rq.remote.is_empty() {
        cmd.arg("--remote").arg(&rq.remote);
    }
    if !rq.merged_base.is_empty() {
        cmd.arg("--merged-base").arg(&rq.merged_base);
    }
    if with_path && Path::new(&rq.worktree).is_dir() {
        // Relative to where we were started, not to the repo root.
        cmd.arg("--path").arg(ctx.cwd.join(&rq.worktree));
    }
    if rq.keep_remote {
        cmd.arg("--keep-remote");
    }
    if rq.allow_unmerged {
        cmd.arg("--allow-unmerged");
    }
    combined_output(cmd)
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

fn branch_cleanup(ctx: &Invocation<'_>, rq: &Request, outcome: &mut Outcome) -> anyhow::Result<()> {
    let (status, output) = run_cleanup_tool(ctx, rq, true)?;
    if status == 0 {
        outcome.mode = "branch";
        return Ok(());
    }
    outcome.status = status;
    outcome.error = output;
    if !remove_orphan_dir(ctx, rq)? {
        return Ok(());
    }
    outcome.orphan_fallback = true;
    let (retry_status, retry_output) = run_cleanup_tool(ctx, rq, false)?;
    if retry_status == 0 {
        outcome.mode = "orphan-worktree";
        outcome.status = 0;
        outcome.warning = std::mem::take(&mut outcome.error);
    } else {
        outcome.status = retry_status;
        outcome.error = format!("{}\n{retry_output}", outcome.error);
    }
    Ok(())
}

/// The entry of `git worktree list` that is this worktree: the same path as
/// given, or the same directory.
fn registered_worktree(ctx: &Invocation<'_>, rq: &Request) -> Option<PathBuf> {
    if rq.worktree.is_empty() {
        return None;
    }
    let given = Path::new(&rq.worktree);
    let given_canonical = canonical_dir(given);
    git::worktree_paths(&ctx.env, Path::new(&rq.repo_root))
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
    rq: &Request,
    listed: &Path,
) -> anyhow::Result<()> {
    let repo = Path::new(&rq.repo_root);
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
fn remove_orphan_dir(ctx: &Invocation<'_>, rq: &Request) -> anyhow::Result<bool> {
    let wt = Path::new(&rq.worktree);
    if rq.worktree.is_empty() || !wt.is_dir() || wt.join(".git").symlink_metadata().is_ok() {
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
    // A directory holding the main checkout or a registered worktree is not
    // an orphan, whatever its own `.git` says.
    // (The stale registration of the orphan itself does not count.)
    let repo = Path::new(&rq.repo_root);
    let holds_checkout = canonical_dir(repo).is_some_and(|p| p.starts_with(&target))
        || git::worktree_paths(&ctx.env, repo)
            .iter()
            .filter_map(|p| canonical_dir(p))
            .any(|p| p != target && p.starts_with(&target));
    if holds_checkout {
        return Ok(false);
    }
    std::fs::remove_dir_all(&target)
        .with_context(|| format!("failed to remove {}", target.display()))?;
    let _ = git::output(&ctx.env, Path::new(&rq.repo_root), ["worktree", "prune"]);
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
    for meta in resident_metadata_files(state_root) {
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
    fn lexical_parent_resolves_dots_by_text() {
        assert_eq!(lexical_parent(Path::new("/a/b/runs")), Path::new("/a/b"));
        assert_eq!(
            lexical_parent(Path::new("/a/link/../runs/.")),
            Path::new("/a")
        );
        assert_eq!(lexical_parent(Path::new("/runs")), Path::new("/"));
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
