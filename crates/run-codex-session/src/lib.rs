//! `agent-project-run-codex-session`: start a Codex worker in tmux.
//!
//! The launcher validates its flags, writes run.env, and writes a short
//! inner script `<session>.sh` that exports the worker's whole environment
//! explicitly (so nothing comes from the tmux server's environment) and
//! execs this binary's hidden `run-codex-session-inner` tool, which prepares
//! the helper PATH and openspec shim, empties the sandbox run dir, runs the
//! resilient runner (through its path next to the shim) in its own process
//! group, records the final git state, recovers artifacts, queues the
//! delayed reconcile command and prints the exit marker.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use acp_core::cli::{self, Parsed};
use acp_core::shellquote::{self, QuoteLocale};
use acp_core::supervise::{self, Config, Input};
use acp_core::{Env, Invocation, ToolSpec, envfile, fail, fsx};
use anyhow::Context;

mod inner;
mod openspec;

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[
    ToolSpec {
        name: "agent-project-run-codex-session",
        aliases: &["run-codex-session"],
        paths: &["tools/bin/agent-project-run-codex-session"],
        about: "Launch a Codex worker session in tmux",
        command,
        run,
    },
    ToolSpec {
        name: "run-codex-session-inner",
        aliases: &[],
        paths: &[],
        about: "(internal) the supervisor a codex session's inner script execs",
        command: inner::command,
        run: inner::run,
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
    cli::tool_command(
        "agent-project-run-codex-session",
        "Starts a Codex worker for one issue, PR or task in a detached tmux session and records \
         the run artifacts (run.env, log, inner script) under <runs-root>/<session>.",
    )
    // Like the original shell loop: a repeated flag takes the last value.
    .args_override_self(true)
    .override_usage(
        "agent-project-run-codex-session --mode safe|bypass --session <id> --worktree <path> \
         --prompt-file <path> --runs-root <path> --adapter-id <id> --task-kind <kind> --task-id <id> [options]",
    )
    .arg(cli::opt("mode").help("safe or bypass"))
    .arg(cli::opt("session").help("tmux session name and run dir name"))
    .arg(cli::opt("worktree").help("The worker's git worktree"))
    .arg(cli::opt("prompt-file").help("Prompt for the first codex exec"))
    .arg(cli::opt("runs-root").help("Parent of the run dir"))
    .arg(cli::opt("adapter-id").help("Profile id (recorded)"))
    .arg(cli::opt("task-kind").help("issue, pr or task (recorded)"))
    .arg(cli::opt("task-id").help("Task id (recorded)"))
    .arg(cli::opt("safe-profile").help("Codex profile for safe mode [default: default]"))
    .arg(cli::opt("bypass-profile").help("Codex profile for bypass mode [default: default]"))
    .arg(cli::opt("env-prefix").help("Also export runtime/context variables with this prefix"))
    .arg(cli::opt_multi("context").help("KEY=VALUE recorded in run.env and exported to the worker"))
    .arg(cli::opt_multi("collect-file").help("Sandbox file copied to the run dir afterwards"))
    .arg(cli::opt("reconcile-command").help("Host command run once the session has ended"))
    .arg(cli::opt("sandbox-subdir").help(
        "Worker artifact dir under the worktree [default: .openclaw-artifacts]",
    ))
}

/// Variables never baked into the inner script: tmux/shell bookkeeping of
/// the launcher's own process.
const NOT_BAKED: &[&str] = &[
    "TMUX",
    "TMUX_PANE",
    "_",
    "PWD",
    "OLDPWD",
    "SHLVL",
    "ACP_SHIM_PATH",
];

/// Whether a variable name looks like it holds a credential; such values
/// are handed to the inner supervisor in a 0600 file it deletes on start,
/// instead of being written into the (archived) inner script.
pub fn is_secret_name(name: &str) -> bool {
    let up = name.to_ascii_uppercase();
    [
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "API_KEY",
        "APIKEY",
        "CREDENTIAL",
        "PRIVATE_KEY",
    ]
    .iter()
    .any(|w| up.contains(w))
        || up.ends_with("_KEY")
}

fn q(value: &str, locale: QuoteLocale) -> String {
    shellquote::quote_str(value, locale)
}

fn q_os(value: &OsStr, locale: QuoteLocale) -> String {
    String::from_utf8_lossy(&shellquote::quote(value.as_bytes(), locale)).into_owned()
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
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
        && is_executable(&p)
    {
        return Some(p);
    }
    let mut best = env.which("codex").filter(|p| is_executable(p));
    let nvm = env.home().join(".nvm/versions/node");
    if nvm.is_dir() {
        let mut candidates = Vec::new();
        nvm_codex_candidates(&nvm, 8, &mut candidates);
        let mut best_version = None;
        for c in candidates.into_iter().filter(|c| is_executable(c)) {
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

/// Runs the launcher.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let cmd = command();
    let m = match cli::parse(ctx, cmd.clone(), args, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    let get = |k: &str| cli::get(&m, k);
    let (mode, session, worktree, prompt_file) = (
        get("mode"),
        get("session"),
        get("worktree"),
        get("prompt-file"),
    );
    let (runs_root, adapter_id, task_kind, task_id) = (
        get("runs-root"),
        get("adapter-id"),
        get("task-kind"),
        get("task-id"),
    );
    let given = |k: &str, default: &str| {
        if m.value_source(k) == Some(clap::parser::ValueSource::CommandLine) {
            cli::get(&m, k)
        } else {
            default.to_string()
        }
    };
    let safe_profile = given("safe-profile", "default");
    let bypass_profile = given("bypass-profile", "default");
    let sandbox_subdir = given("sandbox-subdir", ".openclaw-artifacts");
    let env_prefix = get("env-prefix");
    let reconcile_command = get("reconcile-command");
    let contexts = cli::get_all(&m, "context");
    let collect = cli::get_all(&m, "collect-file");

    if [
        &mode,
        &session,
        &worktree,
        &prompt_file,
        &runs_root,
        &adapter_id,
        &task_kind,
        &task_id,
    ]
    .iter()
    .any(|v| v.is_empty())
    {
        write!(ctx.stderr, "{}", cli::usage(&cmd))?;
        return Ok(1);
    }
    let realpath = match std::fs::canonicalize(ctx.cwd.join(&worktree)) {
        Ok(p) if p.is_dir() => p,
        _ => {
            return Err(fail(
                1,
                format!("unable to resolve worktree realpath: {worktree}"),
            ));
        }
    };
    if mode != "safe" && mode != "bypass" {
        return Err(fail(1, "--mode must be safe or bypass"));
    }
    if session.contains('/') || session == "." || session == ".." {
        return Err(fail(
            1,
            format!("--session must be a plain name: {session}"),
        ));
    }
    let locale = QuoteLocale::from_env(&ctx.env);
    let realpath_s = realpath.to_string_lossy().into_owned();
    let artifact_dir = format!("{runs_root}/{session}");
    let output_file = format!("{artifact_dir}/{session}.log");
    let inner_script = format!("{artifact_dir}/{session}.sh");
    let meta_file = format!("{artifact_dir}/run.env");
    let result_file = format!("{artifact_dir}/result.env");
    let runner_state_file = format!("{artifact_dir}/runner.env");
    let sandbox_run_dir = format!(
        "{}/{sandbox_subdir}/{session}",
        realpath_s.trim_end_matches('/')
    );
    let started_at = acp_core::time::now_utc_iso();
    let codex_bin = resolve_codex_bin(&ctx.env);
    let runner_bin = match ctx.script_dir() {
        Some(d) => d.join(RUNNER_NAME),
        None => ctx.exe.clone(),
    };

    fsx::create_dir_all(Path::new(&artifact_dir))?;
    fsx::create_dir_all(Path::new(&sandbox_run_dir))?;
    let tmux = acp_core::tmux::Tmux::new(&ctx.env, None);
    if tmux.has_session(&session) {
        return Err(fail(1, format!("tmux session already exists: {session}")));
    }
    let Some(codex_bin) = codex_bin else {
        return Err(fail(1, "unable to resolve a runnable codex binary"));
    };
    retire_previous_run(Path::new(&artifact_dir), &session, &collect)?;
    let branch = acp_core::git::current_branch(&ctx.env, &realpath);
    let codex_s = codex_bin.to_string_lossy().into_owned();
    let runner_s = runner_bin.to_string_lossy().into_owned();

    let meta: Vec<(&str, String)> = vec![
        ("TASK_KIND", task_kind.clone()),
        ("TASK_ID", task_id.clone()),
        ("SESSION", session.clone()),
        ("MODE", mode.clone()),
        ("WORKTREE", worktree.clone()),
        ("WORKTREE_REALPATH", realpath_s.clone()),
        ("PROMPT_FILE", prompt_file.clone()),
        ("OUTPUT_FILE", output_file.clone()),
        ("SCRIPT", inner_script.clone()),
        ("BRANCH", branch),
        ("RESULT_FILE", result_file.clone()),
        ("RUNNER_STATE_FILE", runner_state_file),
        ("SANDBOX_RUN_DIR", sandbox_run_dir.clone()),
        ("ADAPTER_ID", adapter_id),
        ("STARTED_AT", started_at.clone()),
        ("CODEX_BIN", codex_s.clone()),
        ("RUNNER_BIN", runner_s.clone()),
    ];
    let meta_path = Path::new(&meta_file);
    fsx::atomic_write(meta_path, &envfile::format_all(&meta, locale))?;

    // --context: validated one by one, each good one appended as it goes.
    let mut context_exports = Vec::new();
    for item in &contexts {
        let Some((key, value)) = item.split_once('=') else {
            return Err(fail(
                1,
                format!("--context must use KEY=VALUE syntax: {item}"),
            ));
        };
        if key.is_empty()
            || !key
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(fail(1, format!("Invalid context key: {key}")));
        }
        fsx::append(
            meta_path,
            &envfile::format_assignment(key, value.as_bytes(), locale),
        )?;
        if !env_prefix.is_empty() {
            context_exports.push((format!("{env_prefix}{key}"), value.to_string()));
        }
        context_exports.push((format!("ACP_{key}"), value.to_string()));
        if env_prefix != "F_LOSNING_" {
            context_exports.push((format!("F_LOSNING_{key}"), value.to_string()));
        }
    }

    // The worker environment: the launcher's own (minus bookkeeping and
    // credentials), then the runtime exports, then the context exports.
    let sandbox_result = format!("{sandbox_run_dir}/result.env");
    let mut runtime: Vec<(String, String)> = Vec::new();
    let mut prefixes = vec!["AGENT_PROJECT_", "ACP_", "F_LOSNING_"];
    if !env_prefix.is_empty() {
        prefixes.push(env_prefix.as_str());
    }
    for p in &prefixes {
        runtime.push((format!("{p}SESSION"), session.clone()));
        runtime.push((format!("{p}RUN_DIR"), sandbox_run_dir.clone()));
        runtime.push((format!("{p}HOST_RUN_DIR"), artifact_dir.clone()));
        runtime.push((format!("{p}RESULT_FILE"), sandbox_result.clone()));
        runtime.push((format!("{p}CODEX_BIN"), codex_s.clone()));
    }

    let mut script = String::from("#!/usr/bin/env bash\nset -euo pipefail\n");
    let mut secrets: Vec<(String, OsString)> = Vec::new();
    for (k, v) in ctx.env.iter() {
        let Some(k) = k.to_str() else { continue };
        if NOT_BAKED.contains(&k) || !envfile::valid_key(k) {
            continue;
        }
        if is_secret_name(k) {
            secrets.push((k.to_string(), v.to_os_string()));
            continue;
        }
        script.push_str(&format!("export {k}={}\n", q_os(v, locale)));
    }
    for (k, v) in runtime.iter().chain(context_exports.iter()) {
        if envfile::valid_key(k) {
            script.push_str(&format!("export {k}={}\n", q(v, locale)));
        }
    }
    let secrets_file = PathBuf::from(format!("{artifact_dir}/.{session}.secrets.env"));
    let _ = std::fs::remove_file(&secrets_file);
    if !secrets.is_empty() {
        write_private(&secrets_file, &envfile::format_all(&secrets, locale))?;
    }
    script.push_str(&format!("cd {}\n", q(&realpath_s, locale)));
    let mut exec: Vec<String> = vec![
        q_os(ctx.exe.as_os_str(), locale),
        "run-codex-session-inner".into(),
    ];
    let mut arg = |flag: &str, value: &str| {
        exec.push(format!("--{flag}"));
        exec.push(q(value, locale));
    };
    arg("session", &session);
    arg("mode", &mode);
    arg("worktree", &realpath_s);
    arg("prompt-file", &prompt_file);
    arg("output-file", &output_file);
    arg("host-run-dir", &artifact_dir);
    arg("sandbox-run-dir", &sandbox_run_dir);
    arg("meta-file", &meta_file);
    arg("result-file", &result_file);
    arg("safe-profile", &safe_profile);
    arg("bypass-profile", &bypass_profile);
    arg("codex-bin", &codex_s);
    arg("runner-bin", &runner_s);
    arg("started-at", &started_at);
    for c in collect.iter().filter(|c| !c.is_empty()) {
        arg("collect-file", c);
    }
    if !reconcile_command.is_empty() {
        arg("reconcile-command", &reconcile_command);
    }
    if !secrets.is_empty() {
        arg("secrets-file", &secrets_file.to_string_lossy());
    }
    script.push_str("exec ");
    script.push_str(&exec.join(" \\\n  "));
    script.push('\n');
    let script_path = Path::new(&inner_script);
    fsx::atomic_write(script_path, script.as_bytes())?;
    fsx::make_executable(script_path)?;

    if let Err(e) = tmux.new_session(&session, None, &[&inner_script]) {
        let _ = std::fs::remove_file(&secrets_file);
        writeln!(ctx.stderr, "{e:#}")?;
        return Ok(1);
    }
    ctx.out_kv("SESSION", &session)?;
    ctx.out_kv("TASK_KIND", &task_kind)?;
    ctx.out_kv("TASK_ID", &task_id)?;
    ctx.out_kv("WORKTREE", &worktree)?;
    ctx.out_kv("OUTPUT", &output_file)?;
    ctx.out_kv("SCRIPT", &inner_script)?;
    ctx.out_kv("META", &meta_file)?;
    Ok(0)
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("failed to create {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("failed to write {}", path.display()))
}

/// Runs `cmd` (the runner) in its own group with inherited output; the
/// supervisor's TERM/INT/HUP is passed on to the group.
pub(crate) fn run_runner(cmd: &mut Command) -> anyhow::Result<i32> {
    let cfg = Config {
        timeout: None,
        ..Config::default()
    };
    Ok(supervise::run_group(cmd, &Input::Null, &cfg)?.exit_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        assert!(is_secret_name("GH_TOKEN"));
        assert!(is_secret_name("OPENROUTER_API_KEY"));
        assert!(is_secret_name("aws_secret_access_key"));
        assert!(!is_secret_name("ACP_CODEX_STALL_SECONDS"));
        assert!(!is_secret_name("PATH"));
        assert!(!is_secret_name("KEYBOARD"));
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
