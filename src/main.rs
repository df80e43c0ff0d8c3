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

use acp_core::cli::{self, Parsed, USAGE_EXIT};
use acp_core::{Env, ExitError, Invocation};

/// One of the binary's own commands: name, one line for `help`, its parser.
type UserCommand = (&'static str, &'static str, fn() -> clap::Command);

/// The binary's own commands.
const USER_COMMANDS: &[UserCommand] = &[
    (
        "help",
        "List the commands and tools, or show one's usage",
        help_command,
    ),
    ("version", "Print the version", version_command),
    (
        "env-file",
        "Read and write KEY=value state files without executing them",
        envfile_cmd::command,
    ),
    (
        "shims",
        "Write the drop-in shim tree: shims --into DIR [--bin ABS_PATH]",
        shims_command,
    ),
];

fn main() -> ExitCode {
    // One GitHub snapshot for this tool and the siblings it runs in process.
    acp_github::share_reads_in_process();
    acp_core::dispatch::register(acp_core::dispatch::Table {
        own_shim: shims::own_shim,
        run: run_in_process,
    });
    let args: Vec<OsString> = std::env::args_os().collect();
    let stdout = io::stdout();
    let stderr = io::stderr();
    let mut out = stdout.lock();
    let mut err = stderr.lock();
    let code = run(&args, &mut out, &mut err);
    ExitCode::from(u8::try_from(code.clamp(0, 255)).unwrap_or(1))
}

/// Runs the command or tool `args` name and flushes `out`: a failed write
/// is an error even when it only shows at the final flush; a closed pipe is not.
fn run(args: &[OsString], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let (word, code) = dispatch(args, out, err);
    match out.flush() {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe && code == 0 => {
            let _ = writeln!(err, "{word}: cannot write to stdout: {e}");
            1
        }
        _ => code,
    }
}

/// Picks the command or tool and runs it; returns its name and exit code.
fn dispatch(args: &[OsString], out: &mut dyn Write, err: &mut dyn Write) -> (String, i32) {
    let mut env = Env::from_process();
    // The shim passes `$PWD/<path as invoked>`; make it what the original's
    // `cd "$(dirname "${BASH_SOURCE[0]}")" && pwd` gave.
    let shim_path = env
        .path("ACP_SHIM_PATH")
        .map(|p| acp_core::fsx::normalize_lexically(&p));
    env.remove("ACP_SHIM_PATH");

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

    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from(acp_core::BIN_NAME));
    // A tool run without a shim behaves as if run through the installed
    // tree's shim, so it finds its package root, siblings and assets.
    let shim_path = shim_path.or_else(|| {
        let tool = registry::find(&word)?;
        let tree = shims::installed_tree(&exe)?;
        let shim = tree.join(tool.paths.first()?);
        shim.is_file().then_some(shim)
    });

    // Built field by field: `Invocation::new` would look up the executable
    // a second time.
    let mut ctx = Invocation {
        stdout: out,
        stderr: err,
        env,
        cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
        shim_path,
        exe,
        tool_name: word.clone(),
    };

    let result = match word.as_str() {
        "help" | "--help" | "-h" => help(&mut ctx, rest),
        "version" | "--version" | "-V" => version(&mut ctx, rest),
        "env-file" => envfile_cmd::run(&mut ctx, rest),
        "shims" => shims_cmd(&mut ctx, rest),
        _ => match registry::find(&word) {
            Some(tool) => {
                ctx.tool_name = tool.name.to_string();
                (tool.run)(&mut ctx, rest)
            }
            None => Err(unknown(&word)),
        },
    };
    let code = match result {
        Ok(code) => code,
        Err(e) => report(&mut ctx, &word, &e),
    };
    (word, code)
}

/// Runs `tool` with a prepared invocation (a sibling run in process, see
/// `acp_core::dispatch`), reporting an error as a run of the binary would.
fn run_in_process(
    ctx: &mut Invocation<'_>,
    tool: &'static acp_core::ToolSpec,
    args: &[OsString],
) -> i32 {
    let code = match (tool.run)(ctx, args) {
        Ok(code) => code,
        Err(e) => report(ctx, tool.name, &e),
    };
    let _ = ctx.stdout.flush();
    code
}

fn unknown(word: &str) -> anyhow::Error {
    acp_core::fail(
        USAGE_EXIT,
        format!("unknown command or tool: {word} (see `agent-control-plane help`)"),
    )
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
    let _ = writeln!(ctx.stderr, "{word}: {}", cli::error_line(e));
    1
}

fn help_command() -> clap::Command {
    cli::tool_command(
        "help",
        "Lists the commands and tools, or shows the usage of one of them.",
    )
    .override_usage("agent-control-plane help [<command|tool>]")
    .arg(
        clap::Arg::new("name")
            .value_name("command|tool")
            .help("A command or tool (original file name or crate name)"),
    )
}

/// `help`: the list of commands and tools; `help NAME`: NAME's usage.
fn help(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let m = match cli::parse(ctx, help_command(), args, USAGE_EXIT)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(c) => return Ok(c),
    };
    let name = cli::get(&m, "name");
    if name.is_empty() {
        ctx.stdout.write_all(overview().as_bytes())?;
        return Ok(0);
    }
    let cmd = USER_COMMANDS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, _, command)| command())
        .or_else(|| registry::find(&name).map(|t| (t.command)()))
        .ok_or_else(|| unknown(&name))?;
    write!(ctx.stdout, "{}", cli::usage(&cmd))?;
    Ok(0)
}

/// The text of a bare `help`.
fn overview() -> String {
    let mut text = format!(
        "agent-control-plane {} — operator tools for GitHub-driven coding agents\n\n\
         Usage: agent-control-plane <command|tool> [args...]\n       \
         agent-control-plane help <command|tool>\n\nCommands:\n",
        env!("CARGO_PKG_VERSION")
    );
    for (name, about, _) in USER_COMMANDS {
        text.push_str(&format!("  {name:<44} {about}\n"));
    }
    text.push_str("\nTools (run by original file name or crate name; `TOOL --help` for flags):\n");
    for tool in registry::tools().filter(|t| !t.paths.is_empty()) {
        text.push_str(&format!("  {:<44} {}\n", tool.name, tool.about));
    }
    text.push_str("\nInternal words (run inside worker sessions; no shim):\n");
    for tool in registry::tools().filter(|t| t.paths.is_empty()) {
        text.push_str(&format!("  {:<44} {}\n", tool.name, tool.about));
    }
    text
}

fn version_command() -> clap::Command {
    cli::tool_command("version", "Prints the version.")
        .override_usage("agent-control-plane version")
}

fn version(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    match cli::parse(ctx, version_command(), args, USAGE_EXIT)? {
        Parsed::Matches(_) => {}
        Parsed::Exit(c) => return Ok(c),
    }
    writeln!(
        ctx.stdout,
        "agent-control-plane {}",
        env!("CARGO_PKG_VERSION")
    )?;
    Ok(0)
}

fn shims_command() -> clap::Command {
    cli::tool_command(
        "shims",
        "Writes the drop-in shim tree: one bash shim per tool at the original \
         package's paths (tools/bin/*, bin/*), each running this binary.",
    )
    .override_usage("agent-control-plane shims --into <dir> [--bin <abs path>] [--shims-only]")
    .arg(cli::opt("into").help(
        "Directory to write the package tree under (required): the shims, SKILL.md, \
         hooks/, assets/ and tools/templates/",
    ))
    .arg(cli::opt("bin").help("Absolute path of the binary to bake into the shims"))
    .arg(
        cli::flag("shims-only")
            .help("Write only the shims and the tree marker (the repository's bin-shims/ overlay)"),
    )
}

fn shims_cmd(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let m = match cli::parse(ctx, shims_command(), args, USAGE_EXIT)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(c) => return Ok(c),
    };
    let into = cli::get(&m, "into");
    cli::require(&into, "shims: --into", USAGE_EXIT)?;
    let bin = cli::get(&m, "bin");
    if !bin.is_empty() && !Path::new(&bin).is_absolute() {
        return Err(acp_core::fail(
            USAGE_EXIT,
            format!("shims: --bin must be an absolute path: {bin}"),
        ));
    }
    let tree = if m.get_flag("shims-only") {
        shims::Tree::ShimsOnly
    } else {
        shims::Tree::Complete
    };
    let written = shims::write_tree(Path::new(&into), &bin, tree)?;
    writeln!(ctx.stdout, "SHIMS_DIR={into}")?;
    writeln!(ctx.stdout, "SHIMS_WRITTEN={}", written.len())?;
    Ok(0)
}
