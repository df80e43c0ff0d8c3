//! `split-retained-slice.sh --source P --target P --paths-file F
//! [--backup-root P] [--move]`: copies a curated list of uncommitted paths
//! from one retained checkout to a clean one (with a backup copy), and with
//! `--move` removes them from the source once every copy is verified (see
//! `acp_session::anchor::slice`). Prints `SOURCE_ROOT=`, `TARGET_ROOT=`,
//! `PATHS_FILE=`, `BACKUP_ROOT=`, `MOVE_MODE=true|false`.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use acp_core::cli::{self, Parsed};
use acp_core::{Invocation, ToolSpec};
use acp_session::anchor::{SliceRequest, split_slice};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "split-retained-slice.sh",
    aliases: &["split-retained-slice"],
    paths: &["tools/bin/split-retained-slice.sh"],
    about: "Copy (or move) a list of uncommitted paths from one retained checkout to another",
    command,
    run,
}];

/// The argument parser.
pub fn command() -> clap::Command {
    let os = || clap::builder::OsStringValueParser::new();
    cli::tool_command(
        "split-retained-slice.sh",
        "Copies a curated slice of uncommitted changes from one retained checkout to another \
         (which must be clean), keeping a backup copy, and verifies each copy. With --move the \
         slice is then removed from the source: tracked paths restored from HEAD, untracked \
         ones deleted. Paths are relative, one a line (# comments and blank lines skipped); \
         absolute paths and paths with .. are refused.",
    )
    .override_usage(
        "split-retained-slice.sh --source <path> --target <path> --paths-file <file> [options]",
    )
    .arg(
        cli::opt("source")
            .value_parser(os())
            .help("Source retained checkout"),
    )
    .arg(
        cli::opt("target")
            .value_parser(os())
            .help("Target retained checkout (must be clean)"),
    )
    .arg(
        cli::opt("paths-file")
            .value_parser(os())
            .help("Newline-separated relative paths to copy"),
    )
    .arg(
        cli::opt("backup-root")
            .value_parser(os())
            .help("Where the safety copy goes [default: a new dir under $TMPDIR]"),
    )
    .arg(cli::flag("move").help("Remove the copied paths from the source after the verify"))
}

/// Runs the split.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let cmd = command();
    let m = match cli::parse(ctx, cmd.clone(), args, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    let os = |name: &str| m.get_one::<OsString>(name).cloned().unwrap_or_default();
    let (source, target, paths_file) = (os("source"), os("target"), os("paths-file"));
    if source.is_empty() || target.is_empty() || paths_file.is_empty() {
        write!(ctx.stderr, "{}", cli::usage(&cmd))?;
        return Ok(1);
    }
    let cwd = ctx.cwd.clone();
    let backup = os("backup-root");
    let req = SliceRequest {
        source: cwd.join(&source),
        target: cwd.join(&target),
        paths_file: cwd.join(&paths_file),
        backup_root: (!backup.is_empty()).then(|| PathBuf::from(&backup)),
        tmp_dir: ctx
            .env
            .path("TMPDIR")
            .unwrap_or_else(|| PathBuf::from("/tmp")),
        move_mode: m.get_flag("move"),
    };
    let outcome = split_slice(&ctx.env, &req)?;
    let out = &mut *ctx.stdout;
    for (key, value) in [
        ("SOURCE_ROOT", source.as_bytes()),
        ("TARGET_ROOT", target.as_bytes()),
        ("PATHS_FILE", paths_file.as_bytes()),
        ("BACKUP_ROOT", outcome.backup_root.as_os_str().as_bytes()),
        (
            "MOVE_MODE",
            if req.move_mode {
                &b"true"[..]
            } else {
                b"false"
            },
        ),
    ] {
        out.write_all(key.as_bytes())?;
        out.write_all(b"=")?;
        out.write_all(value)?;
        out.write_all(b"\n")?;
    }
    Ok(0)
}
