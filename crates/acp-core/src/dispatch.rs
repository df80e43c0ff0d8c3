//! In-process runs of our own sibling tools.
//!
//! The reconcilers and the publisher run many short sibling tools
//! (`bash <tools dir>/agent-project-retry-state ...`), each costing a bash
//! and a binary start. When the file such a command would run is exactly
//! one of OUR shims (and the binary that shim would exec is this one), the
//! tool runs here instead, through the table the binary registers at
//! start-up, with a sub-[`Invocation`] that has the environment, working
//! directory and shim path the child would have had, and captured output.
//! A stub, a user's script or an edited shim at that path still runs as a
//! process, and so does every tool not on [`IN_PROCESS`].
//!
//! `ACP_IN_PROCESS=0` in the child's environment makes it a process
//! always; with `ACP_DISPATCH_LOG=FILE` each in-process run appends
//! `in-process <tool>` to FILE (for tests and profiling).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use anyhow::Result;

use crate::env::Env;
use crate::invocation::{Invocation, ToolSpec};

/// Tools that may run in process: short, writing only to their
/// invocation's writers, never exiting the process, changing its working
/// directory or environment, or supervising anything long-running.
pub const IN_PROCESS: &[&str] = &[
    "agent-project-reconcile-issue-session",
    "agent-project-reconcile-pr-session",
    "agent-project-worker-status",
    "agent-project-retry-state",
    "retry-state.sh",
    "agent-project-archive-run",
    "agent-project-cleanup-session",
    "agent-cleanup-worktree",
    "provider-cooldown-state.sh",
    "label-follow-up-issues.sh",
    "pr-risk.sh",
    "sync-pr-labels.sh",
    "agent-github-update-labels",
    "issue-publish-scope-guard.sh",
    "issue-publish-localization-guard.sh",
    "branch-verification-guard.sh",
    // The heartbeat policy's reconciles and issue classes (share its snapshot).
    "reconcile-issue-worker.sh",
    "reconcile-pr-worker.sh",
    "issue-resource-class.sh",
    // The issue reconciler's publisher (shares its snapshot: the issue, the
    // open PR of the branch and the new PR's view).
    "agent-project-publish-issue-pr",
];

/// Which binary a shim file would exec when its environment has no working
/// `ACP_BIN_DIR`: the path written at install time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Baked {
    /// None written (the repository's copy): `PATH` decides.
    Empty,
    /// The running binary.
    This,
    /// Another binary.
    Other,
}

/// Which tool a file's text is our own shim for, given the running binary.
pub type OwnShim = fn(text: &[u8], exe: &Path) -> Option<(&'static ToolSpec, Baked)>;

/// What the binary registers: which tool a file's text is our own shim for
/// (given the running binary's path), and how to run a tool with an
/// invocation (returning its exit code, errors reported as the binary does).
#[derive(Clone, Copy)]
pub struct Table {
    pub own_shim: OwnShim,
    pub run: fn(&mut Invocation<'_>, &'static ToolSpec, &[OsString]) -> i32,
}

static TABLE: OnceLock<Table> = OnceLock::new();

/// Registers the table (once; later calls are ignored).
pub fn register(table: Table) {
    let _ = TABLE.set(table);
}

/// Runs `cmd` to completion like [`crate::process::output`] (stdin from
/// /dev/null, output captured). When it is `bash <our own shim> args...` of
/// a tool on [`IN_PROCESS`], the tool runs in this process instead.
///
/// `cmd` must carry its whole environment (built with [`Env::apply`], which
/// clears the inherited one): that environment is what the tool sees.
pub fn output(cmd: &mut Command) -> Result<Output> {
    if let Some(out) = try_in_process(cmd)? {
        return Ok(out);
    }
    crate::process::output(cmd)
}

/// The in-process run of `cmd`, or `None` when it must run as a process.
pub fn try_in_process(cmd: &Command) -> Result<Option<Output>> {
    let Some(table) = TABLE.get() else {
        return Ok(None);
    };
    let Some((shim, args)) = script_of(cmd) else {
        return Ok(None);
    };
    let Ok(exe) = std::env::current_exe() else {
        return Ok(None);
    };
    let Ok(text) = std::fs::read(&shim) else {
        return Ok(None);
    };
    let Some((tool, baked)) = (table.own_shim)(&text, &exe) else {
        return Ok(None);
    };
    if !IN_PROCESS.contains(&tool.name) {
        return Ok(None);
    }
    let mut env = Env::new();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            env.set(k, v);
        }
    }
    env.remove("ACP_SHIM_PATH");
    if env.get("ACP_IN_PROCESS").as_deref() == Some("0") || !execs_this(&env, baked, &exe) {
        return Ok(None);
    }
    if let Some(log) = env.path("ACP_DISPATCH_LOG") {
        use std::io::Write;
        // Best effort: a diagnostics trail, never a reason to fail the run.
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .and_then(|mut f| writeln!(f, "in-process {}", tool.name));
    }
    // A tool resolves relative paths against the process's directory, so
    // only a child that would start where this process is runs here.
    let Ok(cwd) = std::env::current_dir() else {
        return Ok(None);
    };
    if cmd
        .get_current_dir()
        .is_some_and(|d| !same_file(&cwd.join(d), &cwd))
    {
        return Ok(None);
    }
    let shim_path = crate::fsx::normalize_lexically(&if shim.is_absolute() {
        shim
    } else {
        cwd.join(shim)
    });
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let code = {
        let mut sub = Invocation {
            stdout: &mut stdout,
            stderr: &mut stderr,
            env,
            cwd,
            shim_path: Some(shim_path),
            exe,
            tool_name: tool.name.to_string(),
        };
        // A panicking tool ends with a panicking process's code (101)
        // instead of taking this process down with it.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            (table.run)(&mut sub, tool, &args)
        }))
        .unwrap_or(101)
    };
    Ok(Some(Output {
        status: exit_status(code),
        stdout,
        stderr,
    }))
}

/// `(script, args)` when `cmd` is `bash SCRIPT args...` (bash by name or
/// by a path ending in `/bash`, no options before the script) or runs an
/// executable file by its path.
fn script_of(cmd: &Command) -> Option<(PathBuf, Vec<OsString>)> {
    let program = Path::new(cmd.get_program());
    if program.file_name()? != "bash" {
        let direct = program.components().count() > 1 && is_executable(program);
        return direct.then(|| {
            (
                program.to_path_buf(),
                cmd.get_args().map(OsString::from).collect(),
            )
        });
    }
    let mut args = cmd.get_args();
    let script = PathBuf::from(args.next()?);
    if script.as_os_str().as_encoded_bytes().first() == Some(&b'-') {
        return None;
    }
    Some((script, args.map(OsString::from).collect()))
}

/// Whether a shim run with `env` would exec the running binary `exe`: the
/// shim tries `$ACP_BIN_DIR/agent-control-plane`, then its baked path, then
/// `PATH`.
fn execs_this(env: &Env, baked: Baked, exe: &Path) -> bool {
    if let Some(dir) = env.non_empty("ACP_BIN_DIR") {
        let bin = Path::new(&dir).join(crate::BIN_NAME);
        if is_executable(&bin) {
            return same_file(&bin, exe);
        }
    }
    match baked {
        Baked::This => return true,
        Baked::Other => return false,
        Baked::Empty => {}
    }
    env.which(crate::BIN_NAME)
        .is_some_and(|bin| same_file(&bin, exe))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The wait status of a process that exited with `code` (0..=255).
fn exit_status(code: i32) -> std::process::ExitStatus {
    use std::os::unix::process::ExitStatusExt;
    std::process::ExitStatus::from_raw((code.clamp(0, 255)) << 8)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn script_of_needs_bash_and_a_script_first_or_a_path() {
        let mut c = Command::new("bash");
        c.args(["/x/tool", "a", "b"]);
        let (s, a) = script_of(&c).unwrap();
        assert_eq!(s, PathBuf::from("/x/tool"));
        assert_eq!(a, vec![OsString::from("a"), OsString::from("b")]);
        let mut c = Command::new("/usr/bin/bash");
        c.arg("t");
        assert!(script_of(&c).is_some());
        let mut c = Command::new("bash");
        c.args(["-c", "x"]);
        assert!(script_of(&c).is_none());
        let mut c = Command::new("sh");
        c.arg("t");
        assert!(script_of(&c).is_none());
        let c = Command::new("/bin/sh");
        assert_eq!(script_of(&c).unwrap().0, PathBuf::from("/bin/sh"));
    }

    #[test]
    fn exit_status_round_trips() {
        for code in [0, 1, 2, 124, 255] {
            assert_eq!(crate::process::exit_code(exit_status(code)), code);
        }
    }

    #[test]
    fn without_a_table_nothing_runs_in_process() {
        let mut c = Command::new("bash");
        c.args(["-c", "exit 3"]);
        let out = output(&mut c).unwrap();
        assert_eq!(out.status.code(), Some(3));
    }
}
