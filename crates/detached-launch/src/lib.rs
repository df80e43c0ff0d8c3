//! `agent-project-detached-launch`: start a long bootstrap command fully
//! detached from the caller (a new session, stdin from /dev/null, output
//! appended to a timestamped log) from a stable working directory, optionally
//! record its pid in a pending-launch file, and print the launch facts.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use acp_core::cli;
use acp_core::config::{self, FlowConfig};
use acp_core::{Env, Invocation, ToolSpec, fail, fsx};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "agent-project-detached-launch",
    aliases: &["detached-launch"],
    paths: &["tools/bin/agent-project-detached-launch"],
    about: "Start a command detached (new session, log file, stable cwd)",
    command,
    run,
}];

/// The argument parser (used for `--help`; the options are read by hand
/// because everything after the launch name belongs to the command).
pub fn command() -> clap::Command {
    acp_core::cli::tool_command(
        "agent-project-detached-launch",
        "Starts <command> in its own session, detached from the caller, so a heartbeat \
         can go on launching workers while slow worktree and bootstrap steps run. Its \
         stdin is /dev/null, its output is appended to \
         <launcher log root>/<UTC time>-<name>.log and it runs from a stable directory \
         (ACP_LAUNCH_CWD, else the agent repo root, repo root, state root, HOME or /). \
         Prints LAUNCH_MODE, LAUNCH_NAME, LAUNCH_PID, LAUNCH_LOG, LAUNCH_CWD and, with \
         --pending-key, LAUNCH_PENDING_FILE (<pending dir>/<key>.pid holding the pid).",
    )
    .override_usage(
        "agent-project-detached-launch [--pending-key <kind-id>] <name> <command> [args...]",
    )
    .arg(cli::opt("pending-key").help("Record the pid in <pending dir>/<key>.pid"))
    .arg(
        clap::Arg::new("name")
            .value_name("name")
            .required(true)
            .help("Launch name: printed as LAUNCH_NAME and part of the log file name"),
    )
    .arg(
        clap::Arg::new("command")
            .value_name("command")
            .required(true)
            .help("Program to start (a bare name is looked up on PATH)"),
    )
    .arg(
        clap::Arg::new("args")
            .value_name("args")
            .num_args(0..)
            .trailing_var_arg(true)
            .help("Arguments of the program"),
    )
}

fn usage_error(ctx: &mut Invocation<'_>) -> anyhow::Result<i32> {
    write!(ctx.stderr, "{}", cli::usage(&command()))?;
    Ok(1)
}

/// The command line: `[--pending-key KEY] NAME COMMAND [ARGS...]`.
struct Args {
    pending_key: String,
    launch_name: String,
    argv: Vec<OsString>,
}

impl Args {
    /// The arguments, or the exit code already decided (help, usage).
    fn parse(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<Result<Self, i32>> {
        let mut pending_key = String::new();
        let mut rest = args;
        while let Some(first) = rest.first() {
            match first.to_str() {
                Some("--pending-key") => {
                    let Some(value) = rest.get(1) else {
                        return usage_error(ctx).map(Err);
                    };
                    pending_key = value.to_string_lossy().into_owned();
                    rest = &rest[2..];
                }
                Some("--help" | "-h") => {
                    write!(ctx.stdout, "{}", cli::usage(&command()))?;
                    return Ok(Err(0));
                }
                _ => break,
            }
        }
        if rest.len() < 2 || rest[0].is_empty() {
            return usage_error(ctx).map(Err);
        }
        let launch_name = rest[0].to_string_lossy().into_owned();
        // Both are printed as `KEY=value` lines: no control characters.
        cli::printable("the launch name", &launch_name).map_err(|m| fail(1, m))?;
        if !pending_key.is_empty() {
            cli::plain_name("--pending-key", &pending_key).map_err(|m| fail(1, m))?;
        }
        Ok(Ok(Self {
            pending_key,
            launch_name,
            argv: rest[1..].to_vec(),
        }))
    }
}

/// Where the launch goes: the environment it runs with, its log, its
/// pending pid file and its working directory, all checked before start.
struct Plan {
    env: acp_core::Env,
    log_file: PathBuf,
    pending_file: Option<PathBuf>,
    launch_cwd: PathBuf,
}

impl Plan {
    fn new(ctx: &Invocation<'_>, args: &Args) -> anyhow::Result<Self> {
        let mut env = ctx.env.clone();
        config::export_env_aliases(&mut env);
        config::skill_root(&env, ctx.script_path().as_deref())?;
        let cfg = FlowConfig::load(&env)?;
        let state_root = config::state_root(&env, &cfg);

        let log_root = env
            .first_non_empty(&["ACP_LAUNCHER_LOG_ROOT", "F_LOSNING_LAUNCHER_LOG_ROOT"])
            .map(PathBuf::from)
            .unwrap_or_else(|| state_root.join("launcher-logs"));
        fsx::create_dir_all(&log_root)?;
        let stamp = acp_core::time::now_utc("%Y%m%dT%H%M%SZ");
        let log_file = PathBuf::from(format!(
            "{}/{stamp}-{}.log",
            log_root.display(),
            safe_name(&args.launch_name)
        ));

        let pending_file = if args.pending_key.is_empty() {
            None
        } else {
            let dir = env
                .first_non_empty(&["ACP_PENDING_LAUNCH_DIR", "F_LOSNING_PENDING_LAUNCH_DIR"])
                .map(PathBuf::from)
                .unwrap_or_else(|| state_root.join("pending-launches"));
            fsx::create_dir_all(&dir)?;
            Some(PathBuf::from(format!(
                "{}/{}.pid",
                dir.display(),
                args.pending_key
            )))
        };
        let launch_cwd = launch_cwd(&env, &cfg, state_root)?;

        // The paths come from the environment and are printed too.
        for (what, path) in [
            ("the launcher log root", &log_root),
            ("the launch working directory", &launch_cwd),
        ]
        .into_iter()
        .chain(pending_file.iter().map(|f| ("the pending launch file", f)))
        {
            cli::printable(what, &path.to_string_lossy()).map_err(|m| fail(1, m))?;
        }
        // Nothing may keep the pid from being recorded once the child runs.
        if let Some(file) = &pending_file {
            check_writable(file)?;
        }
        Ok(Self {
            env,
            log_file,
            pending_file,
            launch_cwd,
        })
    }
}

/// `ACP_LAUNCH_CWD`, else the first existing of the agent repo root, the
/// repo root, the state root, `HOME` and `/`.
fn launch_cwd(
    env: &acp_core::Env,
    cfg: &FlowConfig,
    state_root: PathBuf,
) -> anyhow::Result<PathBuf> {
    let launch_cwd = match env
        .first_non_empty(&["ACP_LAUNCH_CWD", "F_LOSNING_LAUNCH_CWD"])
        .map(PathBuf::from)
    {
        Some(explicit) => explicit,
        None => [
            Some(config::agent_repo_root(env, cfg)),
            Some(config::repo_root(env, cfg)),
            Some(state_root),
            env.path("HOME"),
            Some(PathBuf::from("/")),
        ]
        .into_iter()
        .flatten()
        .find(|p| !p.as_os_str().is_empty() && p.is_dir())
        .unwrap_or_default(),
    };
    if launch_cwd.as_os_str().is_empty() || !launch_cwd.is_dir() {
        return Err(fail(
            1,
            "could not determine a stable working directory for detached launch",
        ));
    }
    Ok(launch_cwd)
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let args = match Args::parse(ctx, args)? {
        Ok(args) => args,
        Err(code) => return Ok(code),
    };
    let plan = Plan::new(ctx, &args)?;
    let pid = spawn_detached(
        &plan.env,
        &ctx.cwd,
        &plan.launch_cwd,
        &plan.log_file,
        &args.argv,
    )?;
    let recorded = match &plan.pending_file {
        Some(file) => fsx::atomic_write(file, format!("{pid}\n").as_bytes()),
        None => Ok(()),
    };

    ctx.out_kv("LAUNCH_MODE", "detached")?;
    ctx.out_kv("LAUNCH_NAME", &args.launch_name)?;
    ctx.out_kv("LAUNCH_PID", pid)?;
    ctx.out_kv("LAUNCH_LOG", plan.log_file.display())?;
    ctx.out_kv("LAUNCH_CWD", plan.launch_cwd.display())?;
    if let Some(file) = &plan.pending_file {
        ctx.out_kv("LAUNCH_PENDING_FILE", file.display())?;
    }
    // Should the file have become unwritable after the check, the launch
    // facts are out (the caller knows the pid) and the failure is reported.
    if let Err(e) = recorded {
        return Err(fail(
            1,
            format!(
                "detached launch started pid {pid} but could not record it: {}",
                cli::error_line(&e)
            ),
        ));
    }
    Ok(0)
}

/// Checks, before anything starts, that the pid can be written to `file`:
/// it is absent or a regular file (a symlink to one counts), and its
/// directory takes a new file (the atomic write's temp file).
fn check_writable(file: &Path) -> anyhow::Result<()> {
    let refuse = |why: String| {
        fail(
            1,
            format!("cannot record the launch pid in {}: {why}", file.display()),
        )
    };
    match std::fs::metadata(file) {
        Ok(meta) if !meta.is_file() => return Err(refuse("not a regular file".into())),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(refuse(e.to_string())),
    }
    let dir = fsx::parent_dir(file);
    tempfile::Builder::new()
        .prefix(".detached-launch-probe.")
        .tempfile_in(&dir)
        .map(drop)
        .map_err(|e| refuse(format!("{}: {e}", dir.display())))
}

/// The launch name as a file-name part: `/` and whitespace become `_`,
/// anything outside `[A-Za-z0-9_.-]` is dropped; `launch` when nothing is left.
pub fn safe_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c == '/' || c.is_ascii_whitespace() || c == '\u{0b}' {
                '_'
            } else {
                c
            }
        })
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        .collect();
    if s.is_empty() {
        "launch".to_string()
    } else {
        s
    }
}

/// Starts `argv` in a new session with stdin `/dev/null` and stdout+stderr
/// appended to `log_file`, from `launch_cwd`; returns its pid without waiting.
/// A program path containing `/` but not absolute is taken relative to the
/// caller's directory `caller_cwd`; a bare name is looked up on `env`'s PATH.
fn spawn_detached(
    env: &Env,
    caller_cwd: &Path,
    launch_cwd: &Path,
    log_file: &Path,
    argv: &[OsString],
) -> anyhow::Result<u32> {
    let log = fs_err::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_file)?;
    let log_err = log
        .file()
        .try_clone()
        .map_err(|e| fail(1, format!("{}: {e}", log_file.display())))?;
    let program_arg = &argv[0];
    let program_path = Path::new(program_arg);
    let program: PathBuf = if program_arg.to_string_lossy().contains('/') {
        if program_path.is_absolute() {
            program_path.to_path_buf()
        } else {
            caller_cwd.join(program_path)
        }
    } else {
        env.which(&program_arg.to_string_lossy()).ok_or_else(|| {
            fail(
                1,
                format!(
                    "detached launch failed: command not found: {}",
                    program_arg.to_string_lossy()
                ),
            )
        })?
    };
    let mut cmd = Command::new(&program);
    env.apply(&mut cmd);
    cmd.arg0(program_arg)
        .args(&argv[1..])
        .current_dir(launch_cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log.into_parts().0))
        .stderr(Stdio::from(log_err));
    acp_core::process::new_session(&mut cmd);
    let child = cmd.spawn().map_err(|e| {
        fail(
            1,
            format!("detached launch failed: {}: {e}", program.display()),
        )
    })?;
    // The child is deliberately not waited for: it outlives this process and
    // is adopted by init (dropping `Child` neither kills nor reaps it).
    Ok(child.id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_names() {
        assert_eq!(safe_name("issue-12"), "issue-12");
        assert_eq!(safe_name("pr review/7 x"), "pr_review_7_x");
        assert_eq!(safe_name("a\tb\nc"), "a_b_c");
        assert_eq!(safe_name("$(rm -rf ~);é.v1"), "rm_-rf_.v1");
        assert_eq!(safe_name("!!"), "launch");
    }
}
