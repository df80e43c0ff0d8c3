//! `branch-verification-guard.sh`: before a branch is published, compare the
//! files it changes with the successful commands recorded in
//! `<run-dir>/verification.jsonl`. Prints `VERIFICATION_GUARD_STATUS=ok` plus
//! one detail line and exits 0 when the evidence is enough; otherwise writes a
//! report to stderr and exits 43 (callers treat 43 as "blocked").

mod rules;

use std::ffi::OsString;
use std::path::Path;

use acp_core::cli::{self, Parsed};
use acp_core::{Invocation, ToolSpec, fail, git};

pub use rules::{Verdict, evaluate, passed_commands};

/// Exit code of a blocked publication.
pub const BLOCKED: i32 = 43;

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "branch-verification-guard.sh",
    aliases: &["branch-verification-guard"],
    paths: &["tools/bin/branch-verification-guard.sh"],
    about: "Block a branch publication that lacks recorded verification",
    command,
    run,
}];

/// The argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "branch-verification-guard.sh",
        "Checks, before a branch is pushed, that the verification commands recorded in \
         <run-dir>/verification.jsonl cover what the branch touches. Exits 43 with a report \
         on stderr when they do not.",
    )
    .override_usage(
        "branch-verification-guard.sh --worktree <path> --base-ref <git-ref> --run-dir <path>",
    )
    .arg(cli::opt("worktree").help("The git worktree holding the branch"))
    .arg(cli::opt("base-ref").help("The ref the branch is compared with (e.g. origin/main)"))
    .arg(cli::opt("run-dir").help("The run directory holding verification.jsonl"))
}

/// The most of `verification.jsonl` the guard reads: 64 MiB.
pub const JOURNAL_CAP: u64 = 64 << 20;

/// One call's arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub worktree: String,
    pub base_ref: String,
    pub run_dir: String,
}

impl Args {
    /// The three required flags; a missing one is one line naming it, exit 1.
    pub fn from_matches(m: &clap::ArgMatches) -> anyhow::Result<Self> {
        let args = Self {
            worktree: cli::get(m, "worktree"),
            base_ref: cli::get(m, "base-ref"),
            run_dir: cli::get(m, "run-dir"),
        };
        for (value, flag) in [
            (&args.worktree, "--worktree"),
            (&args.base_ref, "--base-ref"),
            (&args.run_dir, "--run-dir"),
        ] {
            if value.is_empty() {
                return Err(fail(1, format!("{flag} is required (see --help)")));
            }
        }
        Ok(args)
    }

    /// `<run-dir>/verification.jsonl`, as shown in a report.
    pub fn journal(&self) -> String {
        format!("{}/verification.jsonl", self.run_dir)
    }
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let m = match cli::parse(ctx, command(), args, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    let args = Args::from_matches(&m)?;
    let wt = Path::new(&args.worktree);
    if !wt.is_dir() {
        return Err(fail(1, format!("missing worktree: {}", args.worktree)));
    }
    let files = changed_files(ctx, wt, &args.base_ref)?;
    let journal = args.journal();
    let commands = read_journal(Path::new(&journal))?;
    match evaluate(&files, &commands, &journal)? {
        Verdict::DocsOnly => {
            ctx.out_kv("VERIFICATION_GUARD_STATUS", "ok")?;
            ctx.out_kv("VERIFICATION_REASON", "docs-or-spec-only")?;
            Ok(0)
        }
        Verdict::Verified { commands } => {
            ctx.out_kv("VERIFICATION_GUARD_STATUS", "ok")?;
            ctx.out_kv("VERIFICATION_COMMAND_COUNT", commands)?;
            Ok(0)
        }
        Verdict::Blocked { report } => {
            ctx.stderr.write_all(report.as_bytes())?;
            Ok(BLOCKED)
        }
    }
}

/// The passed commands of the journal (none when it does not exist). A
/// journal that is not a regular file (a FIFO an agent left there, a
/// device) or is larger than [`JOURNAL_CAP`] is an error, exit 1: never a
/// read that blocks or runs out of memory.
fn read_journal(path: &Path) -> anyhow::Result<Vec<String>> {
    Ok(
        match acp_core::fsx::read_capped_if_exists(path, JOURNAL_CAP)? {
            Some(bytes) => passed_commands(&String::from_utf8_lossy(&bytes)),
            None => Vec::new(),
        },
    )
}

/// The union, in order and without repeats, of the files changed since the
/// merge base with `base_ref`, the unstaged and staged changes, and the
/// untracked files that are not ignored (added, copied, modified, renamed).
fn changed_files(ctx: &Invocation<'_>, wt: &Path, base_ref: &str) -> anyhow::Result<Vec<String>> {
    let env = &ctx.env;
    if !git::is_work_tree(env, wt) {
        return Err(fail(
            1,
            format!("not a git worktree: {}", wt.to_string_lossy()),
        ));
    }
    if !git::resolves_to_commit(env, wt, base_ref) {
        return Err(fail(
            1,
            format!("unresolvable base ref: {base_ref} (committed changes cannot be judged)"),
        ));
    }
    let range = format!("{base_ref}...HEAD");
    let diff = ["diff", "--name-only", "-z", "--diff-filter=ACMR"];
    let committed = git::name_list(
        env,
        wt,
        diff.iter()
            .copied()
            .chain(["--end-of-options", range.as_str()]),
    )
    .map_err(|e| fail(1, format!("git diff {range} failed: {}", first_line(&e))))?;
    let unstaged = git::name_list(env, wt, diff).unwrap_or_default();
    let staged =
        git::name_list(env, wt, diff.iter().copied().chain(["--cached"])).unwrap_or_default();
    let untracked = git::name_list(
        env,
        wt,
        ["ls-files", "-z", "--others", "--exclude-standard"],
    )
    .unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    Ok(committed
        .into_iter()
        .chain(unstaged)
        .chain(staged)
        .chain(untracked)
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.trim().is_empty() && seen.insert(n.clone()))
        .collect())
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}
