//! `agent-control-plane`: one binary for every ACP tool.
//!
//! `agent-control-plane TOOL args...` runs a tool by its original file name
//! (`agent-project-worker-status`, `render-flow-config.sh`) or crate name;
//! invoked under a tool's name (argv[0]) it runs that tool directly.

mod envfile_cmd;
mod registry;
mod shims;

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use acp_core::{Env, ExitError, Invocation};

const USER_COMMANDS: &[(&str, &str)] = &[
    ("help", "List the commands and tools"),
    ("version", "Print the version"),
    (
        "env-file",
        "Read and write KEY=value state files without executing them",
    ),
    (
        "shims",
        "Write the drop-in shim tree: shims --into DIR [--bin ABS_PATH]",
    ),
];

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let stdout = io::stdout();
    let stderr = io::stderr();
    let mut out = stdout.lock();
    let mut err = stderr.lock();
    let code = run(&args, &mut out, &mut err);
    let _ = out.flush();
    ExitCode::from(u8::try_from(code.clamp(0, 255)).unwrap_or(1))
}

fn run(args: &[OsString], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let mut env = Env::from_process();
    // The shim passes `$PWD/<path as invoked>`; make it what the original's
    // `cd "$(dirname "${BASH_SOURCE[0]}")" && pwd` gave.
    let shim_path = env
        .path("ACP_SHIM_PATH")
        .map(|p| acp_core::fsx::normalize_lexically(&p));
    env.remove("ACP_SHIM_PATH");
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from(acp_core::BIN_NAME));

    let argv0 = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (word, rest): (String, &[OsString]) = match registry::find(&argv0) {
        Some(_) => (argv0, args.get(1..).unwrap_or_default()),
        None => match args.get(1) {
            Some(w) => (w.to_string_lossy().into_owned(), &args[2..]),
            None => ("help".to_string(), &[]),
        },
    };

    let mut ctx = Invocation::new(out, err, env);
    ctx.shim_path = shim_path;
    ctx.exe = exe;
    ctx.tool_name = word.clone();

    let result = match word.as_str() {
        "help" | "--help" | "-h" => help(&mut ctx).map(|()| 0),
        "version" | "--version" | "-V" => writeln!(
            ctx.stdout,
            "agent-control-plane {}",
            env!("CARGO_PKG_VERSION")
        )
        .map(|()| 0)
        .map_err(Into::into),
        "env-file" => envfile_cmd::run(&mut ctx, rest),
        "shims" => shims_cmd(&mut ctx, rest),
        _ => match registry::find(&word) {
            Some(tool) => {
                ctx.tool_name = tool.name.to_string();
                (tool.run)(&mut ctx, rest)
            }
            None => Err(acp_core::fail(
                64,
                format!("unknown command or tool: {word} (see `agent-control-plane help`)"),
            )),
        },
    };
    match result {
        Ok(code) => code,
        Err(e) => report(&mut ctx, &word, &e),
    }
}

/// Prints an error as one line and picks the exit code; a closed stdout pipe
/// is not an error.
fn report(ctx: &mut Invocation<'_>, word: &str, e: &anyhow::Error) -> i32 {
    if e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    }) {
        return 0;
    }
    if let Some(exit) = e.downcast_ref::<ExitError>() {
        if !exit.message.is_empty() {
            let _ = writeln!(ctx.stderr, "{}", exit.message);
        }
        return exit.code;
    }
    let msg = format!("{e:#}").replace('\n', " ");
    let _ = writeln!(ctx.stderr, "{word}: {msg}");
    1
}

fn help(ctx: &mut Invocation<'_>) -> anyhow::Result<()> {
    let mut text = String::new();
    text.push_str(&format!(
        "agent-control-plane {} — operator tools for GitHub-driven coding agents\n\n",
        env!("CARGO_PKG_VERSION")
    ));
    text.push_str("Usage: agent-control-plane <command|tool> [args...]\n\nCommands:\n");
    for (name, about) in USER_COMMANDS {
        text.push_str(&format!("  {name:<44} {about}\n"));
    }
    text.push_str("\nTools (run by original file name or crate name; `TOOL --help` for flags):\n");
    for tool in registry::tools() {
        text.push_str(&format!("  {:<44} {}\n", tool.name, tool.about));
    }
    ctx.stdout.write_all(text.as_bytes())?;
    Ok(())
}

fn shims_cmd(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    use acp_core::cli::{self, Parsed};
    let cmd = cli::tool_command("shims", "Write the drop-in shim tree")
        .arg(cli::opt("into").help("Directory to write tools/bin/* and bin/* under"))
        .arg(cli::opt("bin").help("Absolute path of the binary to bake into the shims"));
    let m = match cli::parse(ctx, cmd, args, 64)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(c) => return Ok(c),
    };
    let into = cli::get(&m, "into");
    if into.is_empty() {
        return Err(acp_core::fail(64, "shims: --into DIR is required"));
    }
    let bin = cli::get(&m, "bin");
    if !bin.is_empty() && !Path::new(&bin).is_absolute() {
        return Err(acp_core::fail(
            64,
            format!("shims: --bin must be an absolute path: {bin}"),
        ));
    }
    let written = shims::write_tree(Path::new(&into), &bin)?;
    writeln!(ctx.stdout, "SHIMS_DIR={into}")?;
    writeln!(ctx.stdout, "SHIMS_WRITTEN={}", written.len())?;
    Ok(0)
}
