//! What a tool gets when it runs: writers, environment, and where its shim is.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::env::Env;

/// One tool of the multicall binary, registered under its original file name.
#[derive(Clone, Copy)]
pub struct ToolSpec {
    /// The original script's file name (`agent-project-worker-status`, `render-flow-config.sh`).
    pub name: &'static str,
    /// Other words that select the tool (the crate name for a crate's main tool).
    pub aliases: &'static [&'static str],
    /// Paths of the original file relative to the package root; one shim is written per path.
    pub paths: &'static [&'static str],
    /// One line for `agent-control-plane help`.
    pub about: &'static str,
    /// The tool's argument parser (used for `--help` and by the tool itself).
    pub command: fn() -> clap::Command,
    /// Runs the tool with the arguments that follow its name; returns the exit code.
    pub run: fn(&mut Invocation<'_>, &[OsString]) -> anyhow::Result<i32>,
}

impl ToolSpec {
    /// Whether `word` selects this tool.
    pub fn matches(&self, word: &str) -> bool {
        self.name == word || self.aliases.contains(&word)
    }
}

impl std::fmt::Debug for ToolSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolSpec")
            .field("name", &self.name)
            .field("paths", &self.paths)
            .finish()
    }
}

/// The context a tool runs in. Tools write only to `stdout`/`stderr` here,
/// read only `env`, and pass `env` on to the processes they start.
pub struct Invocation<'a> {
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
    /// The environment as the tool sees it (the shim's `ACP_SHIM_PATH` removed).
    pub env: Env,
    /// The working directory at start.
    pub cwd: PathBuf,
    /// The absolute path of the shim the tool was started through, if any.
    pub shim_path: Option<PathBuf>,
    /// The running multicall binary (absolute), for inner scripts and re-invocation.
    pub exe: PathBuf,
    /// The tool name the binary was asked to run.
    pub tool_name: String,
}

impl<'a> Invocation<'a> {
    /// A context for tests and embedding: the given writers and environment,
    /// no shim, the current directory.
    pub fn new(stdout: &'a mut dyn Write, stderr: &'a mut dyn Write, env: Env) -> Self {
        Self {
            stdout,
            stderr,
            env,
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
            shim_path: None,
            exe: std::env::current_exe().unwrap_or_else(|_| PathBuf::from(crate::BIN_NAME)),
            tool_name: String::new(),
        }
    }

    /// The same invocation with `stdout` in place of its own (stderr, the
    /// environment and the rest are shared or copied), e.g. to run a step
    /// whose stdout lines the caller must not see.
    pub fn with_stdout<'b>(&'b mut self, stdout: &'b mut dyn Write) -> Invocation<'b> {
        Invocation {
            stdout,
            stderr: &mut *self.stderr,
            env: self.env.clone(),
            cwd: self.cwd.clone(),
            shim_path: self.shim_path.clone(),
            exe: self.exe.clone(),
            tool_name: self.tool_name.clone(),
        }
    }

    /// The path the original script would have had (`BASH_SOURCE[0]`): the shim
    /// when started through one, else the tool name under the installed shim
    /// tree next to the binary (`<exe dir>/../share/agent-control-plane/tools/bin`).
    pub fn script_path(&self) -> Option<PathBuf> {
        if let Some(p) = &self.shim_path {
            return Some(p.clone());
        }
        let exe_dir = self.exe.parent()?;
        let installed = exe_dir
            .join("../share")
            .join(crate::BIN_NAME)
            .join("tools/bin")
            .join(&self.tool_name);
        installed.exists().then_some(installed)
    }

    /// The directory of [`Self::script_path`] (the original's `SCRIPT_DIR`).
    pub fn script_dir(&self) -> Option<PathBuf> {
        self.script_path()
            .and_then(|p| p.parent().map(Path::to_path_buf))
    }

    /// A sibling script next to this tool's shim, when it exists.
    pub fn sibling(&self, name: &str) -> Option<PathBuf> {
        let p = self.script_dir()?.join(name);
        p.exists().then_some(p)
    }

    /// A command that runs sibling tool `name` the way the original did
    /// (`bash <script dir>/<name>`), so a caller's stub at that path is what
    /// runs; without a sibling file, our own binary runs the tool directly.
    pub fn sibling_command(&self, name: &str) -> Command {
        let mut cmd = match self.sibling(name) {
            Some(path) => {
                let mut c = Command::new("bash");
                c.arg(path);
                c
            }
            None => {
                let mut c = Command::new(&self.exe);
                c.arg(name);
                c
            }
        };
        self.env.apply(&mut cmd);
        cmd.current_dir(&self.cwd);
        cmd
    }

    /// A command for the package tool `name` under `skill_root`:
    /// `bash <skill_root>/tools/bin/<name>` when that file exists (so a stub
    /// or a user's replacement there is what runs, as with the originals'
    /// `bash "$FLOW_SKILL_DIR/tools/bin/<name>"`), else this binary running
    /// `name`. The environment is `env`, the working directory ours.
    pub fn package_tool_command(&self, env: &Env, skill_root: &Path, name: &str) -> Command {
        script_or_tool_command(
            &self.exe,
            &self.cwd,
            env,
            &skill_root.join("tools/bin"),
            name,
        )
    }

    /// A wrapper script's whole body: `--help` first prints `command`'s
    /// usage; otherwise sibling tool `name` runs with `leading` then `args`,
    /// and its output and exit code are relayed (`run-codex-safe.sh` is
    /// `run-codex-task.sh safe "$@"`).
    pub fn relay_sibling(
        &mut self,
        name: &str,
        leading: &[&str],
        args: &[OsString],
        command: fn() -> clap::Command,
    ) -> anyhow::Result<i32> {
        if crate::cli::first_is_help(args) {
            write!(self.stdout, "{}", crate::cli::usage(&command()))?;
            return Ok(0);
        }
        let mut cmd = self.sibling_command(name);
        cmd.args(leading).args(args);
        self.relay(&mut cmd)
    }

    /// Runs `cmd` to completion with stdin from /dev/null, relays its stdout
    /// and stderr to this invocation's writers and returns its exit code.
    /// Our own shim of a short tool runs in process ([`crate::dispatch`]).
    pub fn relay(&mut self, cmd: &mut Command) -> anyhow::Result<i32> {
        let out = crate::dispatch::output(cmd)?;
        self.stdout.write_all(&out.stdout)?;
        self.stderr.write_all(&out.stderr)?;
        Ok(crate::process::exit_code(out.status))
    }

    /// A command for an external program, with this invocation's environment
    /// and working directory. `program` is looked up on the env's `PATH`.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let program = program.as_ref();
        let resolved = program
            .to_str()
            .filter(|p| !p.contains('/'))
            .and_then(|p| self.env.which(p))
            .map(OsString::from)
            .unwrap_or_else(|| program.to_os_string());
        let mut cmd = Command::new(resolved);
        self.env.apply(&mut cmd);
        cmd.current_dir(&self.cwd);
        cmd
    }

    /// Writes `KEY=value` lines to stdout.
    pub fn out_kv(&mut self, key: &str, value: impl std::fmt::Display) -> std::io::Result<()> {
        writeln!(self.stdout, "{key}={value}")
    }

    /// Writes one line to stderr.
    pub fn err_line(&mut self, line: impl std::fmt::Display) -> std::io::Result<()> {
        writeln!(self.stderr, "{line}")
    }
}

/// `bash <dir>/<name>` when that file exists (a stub or a user's
/// replacement there is what runs), else `exe` running tool `name`; with
/// environment `env` and working directory `cwd`.
pub fn script_or_tool_command(
    exe: &Path,
    cwd: &Path,
    env: &Env,
    dir: &Path,
    name: &str,
) -> Command {
    let script = dir.join(name);
    let mut cmd = if script.is_file() {
        let mut c = Command::new("bash");
        c.arg(script);
        c
    } else {
        let mut c = Command::new(exe);
        c.arg(name);
        c
    };
    env.apply(&mut cmd);
    cmd.current_dir(cwd);
    cmd
}
