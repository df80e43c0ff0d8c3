//! `agent-project-run-codex-session`: start a Codex worker in tmux.
//!
//! The launcher contract (flags, run.env, the inner script with its `%q`
//! exports and private secrets file, tmux start, stdout lines) is
//! `acp_session::launcher`'s. Codex adds: the worktree's realpath (recorded as
//! `WORKTREE_REALPATH`, the sandbox lives under it and the worker runs
//! there), codex binary resolution, its own retiring of a previous run's
//! files, and the inner supervisor in [`inner`] (helper PATH and openspec
//! shim, the resilient runner run through its path next to the shim,
//! artifact recovery from logged paths).

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use acp_core::cli::{self};
use acp_core::config::backends;
use acp_core::{Env, Invocation, ToolSpec, fail, fsx};
use acp_session::launcher::contract::{Contract, Reader, Writer};
use acp_session::launcher::{self, Backend, Common, Export, Layout, Plan};
use acp_session::supervise::{self, Config, Input};
use anyhow::Context;

mod inner;
mod openspec;

pub(crate) const TOOL: &str = "agent-project-run-codex-session";
const SANDBOX_SUBDIR: &str = ".openclaw-artifacts";
/// The profile of both modes without `--safe-profile` / `--bypass-profile`.
const PROFILE: &str = backends::DEFAULTS.codex.launcher_profile;

const BACKEND: Backend = Backend {
    tool: TOOL,
    default_sandbox_subdir: SANDBOX_SUBDIR,
    records_script: true,
};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[
    ToolSpec {
        name: TOOL,
        aliases: &["run-codex-session"],
        paths: &["tools/bin/agent-project-run-codex-session"],
        about: "Launch a Codex worker session in tmux",
        command,
        run,
    },
    ToolSpec {
        name: "codex-openspec-shim",
        aliases: &[],
        paths: &[],
        about: "(internal) minimal `openspec list` for codex workers",
        command: openspec::command,
        run: openspec::run,
    },
];

/// Name of the sibling runner the inner supervisor starts.
pub const RUNNER_NAME: &str = "agent-project-run-codex-resilient";

/// The argument parser.
pub fn command() -> clap::Command {
    let cmd = cli::tool_command(
        TOOL,
        "Starts a Codex worker for one issue, PR or task in a detached tmux session and records \
         the run artifacts (run.env, log, inner script) under <runs-root>/<session>.",
    )
    .override_usage(
        "agent-project-run-codex-session --mode safe|bypass --session <id> --worktree <path> \
         --prompt-file <path> --runs-root <path> --adapter-id <id> --task-kind <kind> --task-id <id> [options]",
    );
    launcher::with_common_args(cmd, SANDBOX_SUBDIR)
        .arg(cli::opt("safe-profile").help(format!(
            "Codex profile for safe mode [default: {}]",
            PROFILE
        )))
        .arg(cli::opt("bypass-profile").help(format!(
            "Codex profile for bypass mode [default: {}]",
            PROFILE
        )))
}

/// `X.Y.Z` from a `--version` line.
fn version_of(line: &str) -> Option<(u64, u64, u64)> {
    let re = regex::Regex::new(r"([0-9]+)\.([0-9]+)\.([0-9]+)").ok()?;
    let c = re.captures(line)?;
    Some((c[1].parse().ok()?, c[2].parse().ok()?, c[3].parse().ok()?))
}

fn nvm_codex_candidates(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let Ok(ft) = e.file_type() else { continue };
        let p = e.path();
        if ft.is_dir() && depth > 0 {
            nvm_codex_candidates(&p, depth - 1, out);
        } else if ft.is_file()
            && e.file_name() == "codex"
            && p.parent().and_then(Path::file_name) == Some(OsStr::new("bin"))
        {
            out.push(p);
        }
    }
}

/// `CODEX_BIN` if executable, else `codex` on PATH, replaced by the newest
/// `*/bin/codex` under `~/.nvm/versions/node` when one reports a version.
pub fn resolve_codex_bin(env: &Env) -> Option<PathBuf> {
    if let Some(p) = env.path("CODEX_BIN")
        && acp_core::fsx::is_executable(&p)
    {
        return Some(p);
    }
    let mut best = env
        .which("codex")
        .filter(|p| acp_core::fsx::is_executable(p));
    let nvm = env.home().join(".nvm/versions/node");
    if nvm.is_dir() {
        let mut candidates = Vec::new();
        nvm_codex_candidates(&nvm, 8, &mut candidates);
        let mut best_version = None;
        for c in candidates
            .into_iter()
            .filter(|c| acp_core::fsx::is_executable(c))
        {
            let mut cmd = Command::new(&c);
            env.apply(&mut cmd);
            cmd.arg("--version")
                .stdin(Stdio::null())
                .stderr(Stdio::null());
            let Ok(out) = cmd.output() else { continue };
            let text = String::from_utf8_lossy(&out.stdout);
            let Some(v) = version_of(text.lines().next().unwrap_or_default()) else {
                continue;
            };
            if best_version.is_none_or(|b| v >= b) {
                best_version = Some(v);
                best = Some(c);
            }
        }
    }
    best
}

/// Files a previous run left in a reused artifact dir that would be taken
/// for this run's results.
const STALE_RESULTS: &[&str] = &[
    "result.env",
    "runner.env",
    "issue-comment.md",
    "pr-comment.md",
    "verification.jsonl",
];

/// Moves what an earlier, unarchived run left in the artifact dir out of
/// the way: its log becomes `<session>.previous.log`, its result files are
/// removed.
fn retire_previous_run(
    artifact_dir: &Path,
    session: &str,
    collect: &[String],
) -> anyhow::Result<()> {
    let log = artifact_dir.join(format!("{session}.log"));
    if log.is_file() {
        let prev = artifact_dir.join(format!("{session}.previous.log"));
        std::fs::rename(&log, &prev)
            .with_context(|| format!("failed to move {} to {}", log.display(), prev.display()))?;
    }
    let names = STALE_RESULTS
        .iter()
        .map(|s| s.to_string())
        .chain(collect.iter().filter(|c| safe_artifact_name(c)).cloned());
    for name in names {
        let p = artifact_dir.join(&name);
        if p.is_file() {
            std::fs::remove_file(&p)
                .with_context(|| format!("failed to remove {}", p.display()))?;
        }
    }
    Ok(())
}

/// A `--collect-file` name that stays inside the run dirs.
pub fn safe_artifact_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('/') && name != "." && name != ".."
}

/// The launcher's arguments: the common ones and the two codex profiles
/// (flags only, as in the original).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub common: Common,
    pub safe_profile: String,
    pub bypass_profile: String,
}

impl Args {
    /// Reads the matches.
    pub fn new(m: &clap::ArgMatches) -> Self {
        Self {
            common: Common::from_matches(m, SANDBOX_SUBDIR),
            safe_profile: cli::given_or(m, "safe-profile", || PROFILE.into()),
            bypass_profile: cli::given_or(m, "bypass-profile", || PROFILE.into()),
        }
    }
}

/// Codex's part of the launcher -> `__inner` contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodexInner {
    pub safe_profile: String,
    pub bypass_profile: String,
    pub codex_bin: PathBuf,
    /// The resilient runner next to the shim (our binary when there is none).
    pub runner_bin: PathBuf,
}

impl Contract for CodexInner {
    fn write(&self, w: &mut Writer) {
        w.text("SAFE_PROFILE", &self.safe_profile);
        w.text("BYPASS_PROFILE", &self.bypass_profile);
        w.path("CODEX_BIN", &self.codex_bin);
        w.path("RUNNER_BIN", &self.runner_bin);
    }

    fn read(r: &mut Reader) -> anyhow::Result<Self> {
        Ok(Self {
            safe_profile: r.text("SAFE_PROFILE")?,
            bypass_profile: r.text("BYPASS_PROFILE")?,
            codex_bin: r.path("CODEX_BIN")?,
            runner_bin: r.path("RUNNER_BIN")?,
        })
    }
}

/// Runs the launcher (or, behind its hidden first words, the inner
/// supervisor and the delayed-reconcile waiter).
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let cmd = command();
    let m = match launcher::parse_or_dispatch(ctx, args, &cmd, inner::run)? {
        Ok(m) => m,
        Err(code) => return Ok(code),
    };
    let a = Args::new(&m);
    let common = &a.common;
    if common.missing_required() {
        write!(ctx.stderr, "{}", cli::usage(&cmd))?;
        return Ok(1);
    }
    let realpath = match std::fs::canonicalize(ctx.cwd.join(&common.worktree)) {
        Ok(p) if p.is_dir() => p,
        _ => {
            return Err(fail(
                1,
                format!("unable to resolve worktree realpath: {}", common.worktree),
            ));
        }
    };
    if let Some(code) = common.check(ctx, &cmd)? {
        return Ok(code);
    }
    common.validate_session()?;
    common.validate_env_prefix()?;
    // --collect-file names that would leave the run dir are accepted here
    // and skipped (with a message) by the inner supervisor.
    let context = launcher::validate_context(&common.context_items)?;
    let codex_bin = prepare_run_dirs(ctx, common, &realpath)?;
    let runner_bin = match ctx.script_dir() {
        Some(d) => d.join(RUNNER_NAME),
        None => ctx.exe.clone(),
    };
    let mut plan = Plan::new(&BACKEND, common, context);
    plan.worktree_realpath = Some(realpath);
    plan.retire_previous_run = false;
    plan.run_env_keys = vec![
        ("CODEX_BIN", codex_bin.clone().into_os_string()),
        ("RUNNER_BIN", runner_bin.clone().into_os_string()),
    ];
    plan.exports = vec![Export::all("CODEX_BIN", codex_bin.clone())];
    plan.set_inner(&CodexInner {
        safe_profile: a.safe_profile.clone(),
        bypass_profile: a.bypass_profile.clone(),
        codex_bin,
        runner_bin,
    });
    launcher::launch(ctx, &plan)
}

/// The run dirs exist before the tmux and codex checks, as before; then a
/// previous run's files are retired. Returns the codex binary.
fn prepare_run_dirs(
    ctx: &Invocation<'_>,
    common: &Common,
    realpath: &Path,
) -> anyhow::Result<PathBuf> {
    let abs = Layout::with_worktree(common, realpath).absolute(&ctx.cwd);
    fsx::create_dir_all(&abs.artifact_dir)?;
    fsx::create_dir_all(&abs.sandbox_run_dir)?;
    let tmux = acp_core::tmux::Tmux::new(&ctx.env, None);
    if tmux.has_session(&common.session) {
        return Err(fail(
            1,
            format!("tmux session already exists: {}", common.session),
        ));
    }
    let Some(codex_bin) = resolve_codex_bin(&ctx.env) else {
        return Err(fail(1, "unable to resolve a runnable codex binary"));
    };
    retire_previous_run(&abs.artifact_dir, &common.session, &common.collect_files)?;
    Ok(codex_bin)
}

/// How long the runner gets, after the supervisor's TERM/INT/HUP, before
/// its group is killed: the runner itself ends codex's group with TERM, a
/// 2 s grace and KILL, drains the last output and then records
/// runner.env, so it needs longer than that grace.
const RUNNER_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs `cmd` (the runner) in its own group with inherited output; the
/// supervisor's TERM/INT/HUP is passed on to the group.
pub(crate) fn run_runner(cmd: &mut Command) -> anyhow::Result<i32> {
    let cfg = Config {
        timeout: None,
        grace: RUNNER_GRACE,
        ..Config::default()
    };
    Ok(supervise::run_group(cmd, &Input::Null, &cfg)?.exit_code)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use acp_session::launcher::contract::testing::{decode_error, round_trip, with_word};

    #[test]
    fn the_inner_contract_round_trips_and_a_missing_value_is_named() {
        let b = CodexInner {
            safe_profile: "default".into(),
            bypass_profile: "yolo".into(),
            codex_bin: PathBuf::from("/home/u/.nvm/versions/node/v22/bin/codex"),
            runner_bin: PathBuf::from("/skill/tools/bin/agent-project-run-codex-resilient"),
        };
        assert_eq!(round_trip(&b).backend, b);
        // A missing runner used to become '' (and the binary ran instead).
        let e = decode_error::<CodexInner>(&with_word(&b, "RUNNER_BIN", None));
        assert_eq!(e, "inner supervisor: RUNNER_BIN is missing");
        let e = decode_error::<CodexInner>(&with_word(&b, "CODEX_BIN", Some("")));
        assert_eq!(e, "inner supervisor: CODEX_BIN is empty");
    }

    #[test]
    fn versions() {
        assert_eq!(version_of("codex-cli 0.46.0"), Some((0, 46, 0)));
        assert_eq!(version_of("nothing"), None);
    }

    #[test]
    fn artifact_names() {
        assert!(safe_artifact_name("mock.txt"));
        assert!(!safe_artifact_name("../x"));
        assert!(!safe_artifact_name(".."));
        assert!(!safe_artifact_name(""));
    }
}
