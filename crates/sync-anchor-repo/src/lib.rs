//! `agent-project-sync-anchor-repo --canonical-root P --anchor-root P
//! [--remote NAME] [--default-branch NAME]`: creates or refreshes the
//! agent's anchor clone (see `acp_session::anchor::sync`) and prints
//! `CANONICAL_ROOT=`, `ANCHOR_ROOT=`, `REMOTE=`, `DEFAULT_BRANCH=`,
//! `ORIGIN_URL=`, `DIRTY_STATE_STASHED=yes|no` and, after a stash,
//! `DIRTY_STASH_MESSAGE=`.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

use acp_core::cli::{self, Parsed};
use acp_core::{Invocation, ToolSpec, fail};
use acp_session::anchor::{SyncRequest, sync_anchor};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "agent-project-sync-anchor-repo",
    aliases: &["sync-anchor-repo"],
    paths: &["tools/bin/agent-project-sync-anchor-repo"],
    about: "Create or refresh the agent's anchor clone, stashing uncommitted work first",
    command,
    run,
}];

/// The argument parser.
pub fn command() -> clap::Command {
    let os = || clap::builder::OsStringValueParser::new();
    cli::tool_command(
        "agent-project-sync-anchor-repo",
        "Creates or refreshes the agent-owned anchor clone that agent worktrees hang off. The \
         canonical checkout only supplies the remote's URL. Before the anchor is moved to the \
         remote's tip of the default branch, uncommitted changes (and untracked files the tip \
         would overwrite) go into one stash named acp-anchor-sync-<UTC stamp>, and local \
         commits the remote lacks onto a branch acp-anchor-backup/<stamp>/<branch>.",
    )
    .override_usage(
        "agent-project-sync-anchor-repo --canonical-root <path> --anchor-root <path> \
         [--remote <name>] [--default-branch <name>]",
    )
    .arg(
        cli::opt("canonical-root")
            .value_parser(os())
            .help("A checkout that has the remote"),
    )
    .arg(
        cli::opt("anchor-root")
            .value_parser(os())
            .help("The anchor clone (created when missing)"),
    )
    .arg(cli::opt("remote").help("Remote name [default: origin]"))
    .arg(
        cli::opt("default-branch")
            .help("Branch to keep the anchor on [default: the branch the remote's HEAD names]"),
    )
}

/// What one call asks for.
#[derive(Debug, Clone)]
pub struct Args {
    pub canonical_root: OsString,
    pub anchor_root: OsString,
    pub remote: String,
    pub default_branch: Option<String>,
}

impl Args {
    /// Flags only (the original read no environment); both roots required.
    pub fn from_matches(m: &clap::ArgMatches) -> Option<Self> {
        let os = |name: &str| m.get_one::<OsString>(name).cloned().unwrap_or_default();
        let a = Self {
            canonical_root: os("canonical-root"),
            anchor_root: os("anchor-root"),
            remote: cli::given_or(m, "remote", || "origin".to_string()),
            default_branch: Some(cli::get(m, "default-branch")).filter(|b| !b.is_empty()),
        };
        (!a.canonical_root.is_empty() && !a.anchor_root.is_empty()).then_some(a)
    }
}

fn one_line(what: &str, v: &OsStr) -> anyhow::Result<()> {
    if v.as_bytes().iter().any(|b| *b == b'\n' || *b == b'\r') {
        return Err(fail(
            1,
            format!("[agent-sync-anchor] {what} must be one line"),
        ));
    }
    Ok(())
}

/// Runs the sync.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let cmd = command();
    let m = match cli::parse(ctx, cmd.clone(), args, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    let Some(a) = Args::from_matches(&m) else {
        write!(ctx.stderr, "{}", cli::usage(&cmd))?;
        return Ok(1);
    };
    one_line("--canonical-root", &a.canonical_root)?;
    one_line("--anchor-root", &a.anchor_root)?;
    let cwd = ctx.cwd.clone();
    let req = SyncRequest {
        canonical_root: cwd.join(&a.canonical_root),
        anchor_root: cwd.join(&a.anchor_root),
        remote: a.remote.clone(),
        default_branch: a.default_branch.clone(),
        lock_wait: Duration::from_secs(60),
    };
    let outcome = sync_anchor(&ctx.env, &req)?;
    for note in &outcome.notes {
        ctx.err_line(note)?;
    }
    one_line("the remote's URL", &outcome.origin_url)?;
    let out = &mut *ctx.stdout;
    let line = |out: &mut dyn Write, key: &str, v: &[u8]| -> std::io::Result<()> {
        out.write_all(key.as_bytes())?;
        out.write_all(b"=")?;
        out.write_all(v)?;
        out.write_all(b"\n")
    };
    line(out, "CANONICAL_ROOT", a.canonical_root.as_bytes())?;
    line(out, "ANCHOR_ROOT", a.anchor_root.as_bytes())?;
    line(out, "REMOTE", a.remote.as_bytes())?;
    line(out, "DEFAULT_BRANCH", outcome.default_branch.as_bytes())?;
    line(out, "ORIGIN_URL", outcome.origin_url.as_bytes())?;
    let stashed = if outcome.stash_message.is_some() {
        "yes"
    } else {
        "no"
    };
    line(out, "DIRTY_STATE_STASHED", stashed.as_bytes())?;
    if let Some(msg) = &outcome.stash_message {
        line(out, "DIRTY_STASH_MESSAGE", msg.as_bytes())?;
    }
    Ok(0)
}
