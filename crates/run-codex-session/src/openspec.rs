//! `codex-openspec-shim`: the `openspec` a codex worker gets when the repo
//! has an `openspec/` directory but no openspec CLI is installed. Supports
//! `list` (change names, without `archive`) and `list --specs`.

use std::ffi::OsString;
use std::path::Path;

use acp_core::Invocation;

/// The argument parser (only for `help`; arguments are read by hand).
pub fn command() -> clap::Command {
    clap::Command::new("codex-openspec-shim")
        .about("Internal: minimal `openspec list` / `openspec list --specs` for codex workers")
}

fn dir_names(dir: &Path, skip: Option<&str>) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| Some(n.as_str()) != skip)
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Runs the shim.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let root = ctx
        .env
        .first_non_empty(&["ACP_REPO_ROOT", "F_LOSNING_REPO_ROOT"])
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| ctx.cwd.clone());
    let openspec = root.join("openspec");
    if !openspec.is_dir() {
        writeln!(
            ctx.stderr,
            "openspec directory not found: {}",
            openspec.display()
        )?;
        return Ok(1);
    }
    let words: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let names = match words.first().map(String::as_str) {
        Some("list") if words.get(1).map(String::as_str) == Some("--specs") => {
            dir_names(&openspec.join("specs"), None)
        }
        Some("list") => dir_names(&openspec.join("changes"), Some("archive")),
        _ => {
            writeln!(
                ctx.stderr,
                "this openspec stand-in only implements 'list' and 'list --specs'; read the files under openspec/ directly for anything else"
            )?;
            return Ok(64);
        }
    };
    for n in names {
        writeln!(ctx.stdout, "{n}")?;
    }
    Ok(0)
}
