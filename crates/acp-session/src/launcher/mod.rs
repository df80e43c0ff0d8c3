//! The launcher contract shared by every `agent-project-run-*-session`: common
//! flags, the artifact layout, run.env, the inner script, tmux start, the
//! launcher's stdout. The inner half (what runs inside the tmux pane: final
//! git state, artifact collection, result contracts, runner state, delayed
//! reconcile, exit marker) is in [`inner`].
//!
//! A launcher is: parse ([`with_common_args`], [`Common::from_matches`]),
//! check ([`Common::check`], backend checks, binary resolution), then one call
//! to [`launch`] with a [`Plan`]. Every check (including `--context`) happens
//! before anything is written. The inner script is a few lines that export
//! the worker's environment explicitly (`%q`-quoted) and `exec` our binary by
//! absolute path as `<exe> <tool> __inner KEY=VALUE...`, so nothing the worker
//! needs comes from the tmux server's environment. Those words are the typed
//! contract of [`contract`]: the common part [`launch`] builds and the
//! backend's struct given with [`Plan::set_inner`].

pub mod blocking;
pub mod contract;
pub mod inner;
pub mod one_shot;

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::ArgMatches;

use acp_core::cli;
use acp_core::envfile;
use acp_core::fsx;
use acp_core::shellquote::{QuoteLocale, quote_str};
use acp_core::tmux;
use acp_core::{Invocation, fail};

/// The hidden first argument that selects a launcher's inner supervisor.
pub const INNER_WORD: &str = "__inner";
/// The hidden first argument that selects the delayed-reconcile waiter.
pub const RECONCILE_WORD: &str = "__reconcile";

/// What differs between launchers at the contract level.
#[derive(Debug, Clone, Copy)]
pub struct Backend {
    /// The tool's original name (`agent-project-run-claude-session`).
    pub tool: &'static str,
    /// `--sandbox-subdir` default.
    pub default_sandbox_subdir: &'static str,
    /// Whether run.env has `SCRIPT=` and stdout has `SCRIPT=`/`META=`
    /// (codex, claude, openclaw: yes; opencode, kilo: no).
    pub records_script: bool,
}

/// Adds the common launcher flags (spec 1.1) to `cmd`.
pub fn with_common_args(cmd: clap::Command, default_sandbox_subdir: &'static str) -> clap::Command {
    cmd.args_override_self(true)
        .arg(cli::opt("mode").help("safe or bypass (required)"))
        .arg(cli::opt("session").help("tmux session name, also the run dir name (required)"))
        .arg(cli::opt("worktree").help("The agent's git worktree (required)"))
        .arg(cli::opt("prompt-file").help("File holding the prompt (required)"))
        .arg(cli::opt("runs-root").help("Parent of the run dir (required)"))
        .arg(cli::opt("adapter-id").help("Profile/adapter id, recorded (required)"))
        .arg(cli::opt("task-kind").help("issue, pr or task, recorded (required)"))
        .arg(cli::opt("task-id").help("Task id, recorded (required)"))
        .arg(cli::opt("env-prefix").help("Also export runtime and context variables under this prefix"))
        .arg(
            cli::opt_multi("context")
                .help("KEY=VALUE metadata: a run.env line and ACP_KEY/F_LOSNING_KEY in the worker (repeatable)"),
        )
        .arg(
            cli::opt_multi("collect-file")
                .help("Copy this file from the sandbox run dir into the run dir afterwards (repeatable)"),
        )
        .arg(cli::opt("reconcile-command").help("Host command run once the tmux session has ended"))
        .arg(cli::opt("sandbox-subdir").help(format!(
            "Worktree subdir holding the worker's run dirs (default: {default_sandbox_subdir})"
        )))
}

/// The common launcher arguments, as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Common {
    pub mode: String,
    pub session: String,
    pub worktree: String,
    pub prompt_file: String,
    pub runs_root: String,
    pub adapter_id: String,
    pub task_kind: String,
    pub task_id: String,
    pub env_prefix: String,
    pub context_items: Vec<String>,
    pub collect_files: Vec<String>,
    pub reconcile_command: String,
    pub sandbox_subdir: String,
}

impl Common {
    /// Reads the common flags from parsed matches.
    pub fn from_matches(m: &ArgMatches, default_sandbox_subdir: &str) -> Self {
        let sandbox_subdir = if m.value_source("sandbox-subdir").is_some() {
            cli::get(m, "sandbox-subdir")
        } else {
            default_sandbox_subdir.to_string()
        };
        Self {
            mode: cli::get(m, "mode"),
            session: cli::get(m, "session"),
            worktree: cli::get(m, "worktree"),
            prompt_file: cli::get(m, "prompt-file"),
            runs_root: cli::get(m, "runs-root"),
            adapter_id: cli::get(m, "adapter-id"),
            task_kind: cli::get(m, "task-kind"),
            task_id: cli::get(m, "task-id"),
            env_prefix: cli::get(m, "env-prefix"),
            context_items: cli::get_all(m, "context"),
            collect_files: cli::get_all(m, "collect-file"),
            reconcile_command: cli::get(m, "reconcile-command"),
            sandbox_subdir,
        }
    }

    /// Whether one of the eight required values is empty.
    pub fn missing_required(&self) -> bool {
        [
            &self.mode,
            &self.session,
            &self.worktree,
            &self.prompt_file,
            &self.runs_root,
            &self.adapter_id,
            &self.task_kind,
            &self.task_id,
        ]
        .iter()
        .any(|v| v.is_empty())
    }

    /// The required check (usage on stderr, exit 1) then the `--mode` check.
    /// `Ok(Some(code))` means: stop with this code (usage already printed).
    pub fn check(
        &self,
        ctx: &mut Invocation<'_>,
        cmd: &clap::Command,
    ) -> anyhow::Result<Option<i32>> {
        if self.missing_required() {
            write!(ctx.stderr, "{}", cli::usage(cmd))?;
            return Ok(Some(1));
        }
        if self.mode != "safe" && self.mode != "bypass" {
            return Err(fail(1, "--mode must be safe or bypass"));
        }
        Ok(None)
    }

    /// Checks the values that end up in file names, shell code or exported
    /// names: the session must be a plain name, the env prefix an identifier
    /// prefix, collect names plain file names, and every `--context` valid.
    /// Returns the validated context pairs. Nothing has been written yet.
    pub fn validate(&self) -> anyhow::Result<Vec<(String, String)>> {
        self.validate_session()?;
        self.validate_env_prefix()?;
        self.validate_collect_files()?;
        validate_context(&self.context_items)
    }

    /// `--session` must be a plain name (it names the run dir and files).
    pub fn validate_session(&self) -> anyhow::Result<()> {
        if self.session.contains('/') || self.session == "." || self.session == ".." {
            return Err(fail(
                1,
                format!(
                    "--session must be a plain name, not a path: {}",
                    self.session
                ),
            ));
        }
        Ok(())
    }

    /// `--env-prefix`, when given, must start a shell variable name.
    pub fn validate_env_prefix(&self) -> anyhow::Result<()> {
        if !self.env_prefix.is_empty() && !is_identifier(&self.env_prefix) {
            return Err(fail(
                1,
                format!(
                    "--env-prefix must be a shell variable name prefix: {}",
                    self.env_prefix
                ),
            ));
        }
        Ok(())
    }

    /// Every `--collect-file` must be a plain file name.
    pub fn validate_collect_files(&self) -> anyhow::Result<()> {
        for name in &self.collect_files {
            if name.contains('/') || name == "." || name == ".." {
                return Err(fail(
                    1,
                    format!("--collect-file must be a file name, not a path: {name}"),
                ));
            }
        }
        Ok(())
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Validates `--context` items in order (spec 1.6): each needs a `=`, the key
/// before the first `=` must match `^[A-Z0-9_]+$`, the value is the rest.
pub fn validate_context(items: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    items
        .iter()
        .map(|item| {
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
            Ok((key.to_string(), value.to_string()))
        })
        .collect()
}

/// The artifact layout of one session (spec 1.2), with paths spelled as the
/// original did (`<runs_root>/<session>/...`, worktree with one trailing `/`
/// stripped); [`Layout::absolute`] resolves them against a directory. Paths
/// are built byte for byte (a worktree's realpath need not be UTF-8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub artifact_dir: PathBuf,
    pub log: PathBuf,
    pub script: PathBuf,
    pub run_env: PathBuf,
    pub runner_env: PathBuf,
    pub host_result: PathBuf,
    pub sandbox_run_dir: PathBuf,
    pub sandbox_result: PathBuf,
}

/// The concatenation of `parts`, as a path.
fn cat(parts: &[&OsStr]) -> PathBuf {
    let mut out = OsString::new();
    for p in parts {
        out.push(p);
    }
    PathBuf::from(out)
}

impl Layout {
    /// The layout for `common`.
    pub fn new(common: &Common) -> Self {
        Self::with_worktree(common, Path::new(&common.worktree))
    }

    /// The layout for `common` with the sandbox run dir under `worktree`
    /// (e.g. the worktree's resolved path) instead of the worktree as given.
    pub fn with_worktree(common: &Common, worktree: &Path) -> Self {
        let s = |v: &str| OsString::from(v);
        let artifact_dir = cat(&[&s(&common.runs_root), &s("/"), &s(&common.session)]);
        let wt = worktree.as_os_str().as_bytes();
        let wt = OsStr::from_bytes(wt.strip_suffix(b"/").unwrap_or(wt));
        let sandbox_run_dir = cat(&[
            wt,
            &s("/"),
            &s(&common.sandbox_subdir),
            &s("/"),
            &s(&common.session),
        ]);
        let under = |dir: &Path, name: &str| cat(&[dir.as_os_str(), &s("/"), &s(name)]);
        Self {
            log: under(&artifact_dir, &format!("{}.log", common.session)),
            script: under(&artifact_dir, &format!("{}.sh", common.session)),
            run_env: under(&artifact_dir, "run.env"),
            runner_env: under(&artifact_dir, "runner.env"),
            host_result: under(&artifact_dir, "result.env"),
            sandbox_result: under(&sandbox_run_dir, "result.env"),
            artifact_dir,
            sandbox_run_dir,
        }
    }

    /// The same layout with every relative path joined to `base`.
    pub fn absolute(&self, base: &Path) -> Self {
        let abs = |p: &PathBuf| absolute(base, p);
        Self {
            artifact_dir: abs(&self.artifact_dir),
            log: abs(&self.log),
            script: abs(&self.script),
            run_env: abs(&self.run_env),
            runner_env: abs(&self.runner_env),
            host_result: abs(&self.host_result),
            sandbox_run_dir: abs(&self.sandbox_run_dir),
            sandbox_result: abs(&self.sandbox_result),
        }
    }
}

/// `path` when absolute, else `base/path` (lexically, nothing resolved,
/// byte for byte).
pub fn absolute(base: &Path, path: impl AsRef<Path>) -> PathBuf {
    let path = path.as_ref();
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

/// One exported runtime variable group: `name` is exported as
/// `AGENT_PROJECT_<name>` (when `agent_project`), `ACP_<name>`,
/// `F_LOSNING_<name>` and `<prefix><name>`.
#[derive(Debug, Clone)]
pub struct Export {
    pub name: &'static str,
    pub value: OsString,
    pub agent_project: bool,
}

impl Export {
    /// A group exported under all four prefixes.
    pub fn all(name: &'static str, value: impl Into<OsString>) -> Self {
        Self {
            name,
            value: value.into(),
            agent_project: true,
        }
    }

    /// A group exported as `ACP_`, `F_LOSNING_` and `<prefix>` only.
    pub fn acp(name: &'static str, value: impl Into<OsString>) -> Self {
        Self {
            name,
            value: value.into(),
            agent_project: false,
        }
    }
}

/// What one launcher adds to the common contract.
#[derive(Debug, Clone)]
pub struct Plan<'a> {
    pub backend: &'a Backend,
    pub common: &'a Common,
    /// Validated `--context` pairs ([`Common::validate`]).
    pub context: Vec<(String, String)>,
    /// Backend keys of run.env, in order, after the common ones (spec 1.4).
    pub run_env_keys: Vec<(&'static str, OsString)>,
    /// Backend runtime exports after the four common groups (spec 1.7).
    pub exports: Vec<Export>,
    /// Plain `NAME=value` exports (e.g. `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC`).
    pub plain_exports: Vec<(&'static str, OsString)>,
    /// The backend's part of the inner contract, encoded
    /// ([`Plan::set_inner`]); the common part is [`launch`]'s.
    pub inner: Vec<OsString>,
    /// Files written into the artifact dir before the tmux pre-check.
    pub artifact_files: Vec<(&'static str, Vec<u8>)>,
    /// The worktree's resolved path, when the worker should run there: the
    /// sandbox run dir is under it, the pane `cd`s into it, the inner
    /// supervisor gets it as `WORKTREE`, and run.env records it as
    /// `WORKTREE_REALPATH` right after `WORKTREE` (codex).
    pub worktree_realpath: Option<PathBuf>,
    /// Whether [`launch`] moves a previous run's files into `previous-run/`
    /// (default); a launcher that retires them its own way sets `false`.
    pub retire_previous_run: bool,
}

impl<'a> Plan<'a> {
    /// An empty plan for `backend` and `common`.
    pub fn new(backend: &'a Backend, common: &'a Common, context: Vec<(String, String)>) -> Self {
        Self {
            backend,
            common,
            context,
            run_env_keys: Vec::new(),
            exports: Vec::new(),
            plain_exports: Vec::new(),
            inner: Vec::new(),
            artifact_files: Vec::new(),
            worktree_realpath: None,
            retire_previous_run: true,
        }
    }

    /// Hands `backend` to the inner supervisor (after the common part).
    pub fn set_inner(&mut self, backend: &impl contract::Contract) {
        self.inner = contract::encode(backend);
    }

    /// The session's layout (paths as given; see [`Layout`]).
    pub fn layout(&self) -> Layout {
        match &self.worktree_realpath {
            Some(real) => Layout::with_worktree(self.common, real),
            None => Layout::new(self.common),
        }
    }
}

/// Runs the side-effect half of a launcher: directories, tmux pre-check,
/// retiring a previous run's files, run.env, the secrets file, the inner
/// script, the tmux session, and the stdout lines. Returns the exit code.
pub fn launch(ctx: &mut Invocation<'_>, plan: &Plan<'_>) -> anyhow::Result<i32> {
    let common = plan.common;
    let locale = QuoteLocale::from_env(&ctx.env);
    let mode = contract::Mode::parse(&common.mode)
        .ok_or_else(|| fail(1, "--mode must be safe or bypass"))?;
    let layout = plan.layout();
    let abs = layout.absolute(&ctx.cwd);

    fsx::create_dir_all(&abs.artifact_dir)?;
    fsx::create_dir_all(&abs.sandbox_run_dir)?;
    // Held until the session is started: a second launch of the same session
    // name cannot pass the tmux pre-check in the meantime and then retire
    // this run's files, rewrite its run.env or delete its secrets file.
    let _launch_lock = lock_launch(&abs.artifact_dir, &common.session)?;
    let tmux = tmux::Tmux::new(&ctx.env, None);
    if tmux.has_session(&common.session) {
        return Err(fail(
            1,
            format!("tmux session already exists: {}", common.session),
        ));
    }
    if plan.retire_previous_run {
        retire_previous_run(&abs, common)?;
    }
    for (name, bytes) in &plan.artifact_files {
        fsx::atomic_write(&abs.artifact_dir.join(name), bytes)?;
    }

    let started_at = acp_core::time::now_utc_iso();
    let worktree_abs = match &plan.worktree_realpath {
        Some(real) => real.clone(),
        None => absolute(&ctx.cwd, &common.worktree),
    };
    write_run_env(ctx, plan, &layout, &abs, &worktree_abs, &started_at, locale)?;
    // Until tmux has the session, any failure removes the secrets file again.
    let mut secrets_guard = write_secrets(ctx, &abs, &common.session, locale)?;
    let inner = contract::CommonInner {
        session: common.session.clone(),
        mode,
        worktree: worktree_abs,
        prompt_file: absolute(&ctx.cwd, &common.prompt_file),
        artifact_dir: abs.artifact_dir.clone(),
        log: abs.log.clone(),
        run_env: abs.run_env.clone(),
        runner_env: abs.runner_env.clone(),
        host_result: abs.host_result.clone(),
        sandbox_run_dir: abs.sandbox_run_dir.clone(),
        sandbox_subdir: common.sandbox_subdir.clone(),
        started_at,
        reconcile_command: common.reconcile_command.clone(),
        collect: common
            .collect_files
            .iter()
            .filter(|n| !n.is_empty())
            .cloned()
            .collect(),
        secrets_file: secrets_guard.0.clone(),
    };
    let script = inner_script(ctx, plan, &abs, &inner, locale);
    fsx::atomic_write(&abs.script, &script)?;
    fsx::make_executable(&abs.script)?;

    // tmux: the script as argv (no shell word splitting), started in the
    // launcher's cwd.
    let spec = tmux::NewSession::new(common.session.as_str(), "bash")
        .arg(&abs.script)
        .cwd(&ctx.cwd);
    if let Err(e) = tmux.new_session(&spec) {
        drop(secrets_guard);
        let Some(refused) = e.downcast_ref::<tmux::Refused>() else {
            return Err(e);
        };
        ctx.stderr.write_all(&refused.stderr)?;
        return Ok(refused.code);
    }
    // The session runs: its inner supervisor owns (and deletes) the file.
    secrets_guard.0 = None;

    ctx.out_kv("SESSION", &common.session)?;
    ctx.out_kv("TASK_KIND", &common.task_kind)?;
    ctx.out_kv("TASK_ID", &common.task_id)?;
    ctx.out_kv("WORKTREE", &common.worktree)?;
    ctx.out_kv("OUTPUT", layout.log.display())?;
    if plan.backend.records_script {
        ctx.out_kv("SCRIPT", layout.script.display())?;
        ctx.out_kv("META", layout.run_env.display())?;
    }
    Ok(0)
}

/// run.env (spec 1.4), written in one atomic step after all validation:
/// the common keys in the original's order, the backend's, the context.
fn write_run_env(
    ctx: &Invocation<'_>,
    plan: &Plan<'_>,
    layout: &Layout,
    abs: &Layout,
    worktree_abs: &Path,
    started_at: &str,
    locale: QuoteLocale,
) -> anyhow::Result<()> {
    let common = plan.common;
    let text = |v: &str| OsString::from(v);
    let path = |v: &Path| v.as_os_str().to_os_string();
    let branch = acp_core::git::current_branch(&ctx.env, worktree_abs);
    let mut keys: Vec<(String, OsString)> = vec![
        ("TASK_KIND".into(), text(&common.task_kind)),
        ("TASK_ID".into(), text(&common.task_id)),
        ("SESSION".into(), text(&common.session)),
        ("MODE".into(), text(&common.mode)),
        ("WORKTREE".into(), text(&common.worktree)),
    ];
    if let Some(real) = &plan.worktree_realpath {
        keys.push(("WORKTREE_REALPATH".into(), path(real)));
    }
    keys.extend([
        ("PROMPT_FILE".into(), text(&common.prompt_file)),
        ("OUTPUT_FILE".into(), path(&layout.log)),
    ]);
    if plan.backend.records_script {
        keys.push(("SCRIPT".into(), path(&layout.script)));
    }
    keys.extend([
        ("BRANCH".into(), text(&branch)),
        ("RESULT_FILE".into(), path(&layout.host_result)),
        ("RUNNER_STATE_FILE".into(), path(&layout.runner_env)),
        ("SANDBOX_RUN_DIR".into(), path(&layout.sandbox_run_dir)),
        ("ADAPTER_ID".into(), text(&common.adapter_id)),
        ("STARTED_AT".into(), text(started_at)),
    ]);
    keys.extend(
        plan.run_env_keys
            .iter()
            .map(|(k, v)| ((*k).to_string(), v.clone())),
    );
    keys.extend(plan.context.iter().map(|(k, v)| (k.clone(), text(v))));
    envfile::write_all(&abs.run_env, &keys, locale)
}

/// Credentials never go into the script (which is archived with the run):
/// they go into a 0600 file the inner supervisor reads and deletes at start.
/// A stale file of an earlier launch is removed first; the returned guard
/// holds the new file's path (none without credentials) and removes it
/// when dropped, unless cleared once the session runs.
fn write_secrets(
    ctx: &Invocation<'_>,
    abs: &Layout,
    session: &str,
    locale: QuoteLocale,
) -> anyhow::Result<RemoveOnDrop> {
    let secrets = secret_env(ctx);
    let file = abs.artifact_dir.join(format!(".{session}.secrets.env"));
    let _ = std::fs::remove_file(&file);
    if secrets.is_empty() {
        return Ok(RemoveOnDrop(None));
    }
    let guard = RemoveOnDrop(Some(file));
    if let Some(path) = &guard.0 {
        write_private(path, &envfile::format_all(&secrets, locale))?;
    }
    Ok(guard)
}

/// Files a previous, unarchived run left in a reused artifact dir (bug B19):
/// its result, runner state, log and collected copies are moved into
/// `<artifact_dir>/previous-run/` so that nothing of it can be read as this
/// run's outcome (worker-status reads the last exit marker of the log).
fn retire_previous_run(abs: &Layout, common: &Common) -> anyhow::Result<()> {
    let dir = Path::new(&abs.artifact_dir);
    let mut names: Vec<String> = vec![
        "result.env".into(),
        "runner.env".into(),
        "run.env".into(),
        format!("{}.log", common.session),
    ];
    names.extend(
        common
            .collect_files
            .iter()
            .filter(|n| !n.is_empty())
            .cloned(),
    );
    let stale: Vec<&String> = names.iter().filter(|n| dir.join(n).is_file()).collect();
    if stale.is_empty() {
        return Ok(());
    }
    let previous = dir.join("previous-run");
    if previous.exists() {
        fs_err::remove_dir_all(&previous)?;
    }
    fsx::create_dir_all(&previous)?;
    for name in stale {
        fs_err::rename(dir.join(name), previous.join(name))?;
    }
    Ok(())
}

/// Takes an exclusive lock on the artifact dir itself (no lock file is left
/// behind), released when the returned handle is dropped; a launch of the
/// same session already under way is an error.
fn lock_launch(artifact_dir: &Path, session: &str) -> anyhow::Result<fsx::Lock> {
    fsx::Lock::try_on(artifact_dir)?.ok_or_else(|| {
        fail(
            1,
            format!("another launch of session {session} is under way"),
        )
    })
}

/// Removes the file it holds when dropped (a launch that failed before its
/// session started must not leave credentials behind).
struct RemoveOnDrop(Option<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Creates `path` readable by the owner only and writes `bytes`.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
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

/// Names never copied into the worker's environment: per-process shell
/// state and the caller's own tmux client.
const NOT_PASSED: &[&str] = &[
    "TMUX",
    "TMUX_PANE",
    "PWD",
    "OLDPWD",
    "SHLVL",
    "_",
    "COLUMNS",
    "LINES",
    "PS1",
    "PS2",
    "PS4",
    "PROMPT_COMMAND",
    "BASH_ENV",
    "ENV",
    "SHELLOPTS",
    "BASHOPTS",
    "IFS",
];

/// Whether a variable name looks like a credential: those are never written
/// into the inner script (see [`launch`]).
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    [
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "CREDENTIAL",
        "API_KEY",
        "APIKEY",
        "PRIVATE_KEY",
    ]
    .iter()
    .any(|w| upper.contains(w))
        || upper.ends_with("_KEY")
}

fn passable(name: &str) -> bool {
    is_identifier(name) && !NOT_PASSED.contains(&name) && !name.starts_with("BASH_FUNC_")
}

/// The launcher's environment minus shell state and secrets, for the script.
fn plain_env(ctx: &Invocation<'_>) -> Vec<(String, OsString)> {
    ctx.env
        .iter()
        .filter_map(|(k, v)| {
            let k = k.to_str()?;
            (passable(k) && !is_secret_name(k)).then(|| (k.to_string(), v.to_os_string()))
        })
        .collect()
}

/// The secret-looking part of the launcher's environment.
fn secret_env(ctx: &Invocation<'_>) -> Vec<(String, OsString)> {
    ctx.env
        .iter()
        .filter_map(|(k, v)| {
            let k = k.to_str()?;
            (passable(k) && is_secret_name(k)).then(|| (k.to_string(), v.to_os_string()))
        })
        .collect()
}

/// The runtime exports of spec 1.7 plus context exports (spec 1.6), in order.
pub fn worker_exports(
    common: &Common,
    abs: &Layout,
    extra: &[Export],
    plain: &[(&'static str, OsString)],
    context: &[(String, String)],
) -> Vec<(String, OsString)> {
    let path = |p: &Path| p.as_os_str().to_os_string();
    let mut groups = vec![
        Export::all("SESSION", common.session.clone()),
        Export::all("RUN_DIR", path(&abs.sandbox_run_dir)),
        Export::all("HOST_RUN_DIR", path(&abs.artifact_dir)),
        Export::all("RESULT_FILE", path(&abs.sandbox_result)),
    ];
    groups.extend(extra.iter().cloned());
    let prefix = common.env_prefix.as_str();
    let mut out = Vec::new();
    for g in &groups {
        if g.agent_project {
            out.push((format!("AGENT_PROJECT_{}", g.name), g.value.clone()));
        }
        out.push((format!("ACP_{}", g.name), g.value.clone()));
        out.push((format!("F_LOSNING_{}", g.name), g.value.clone()));
        if !prefix.is_empty() {
            out.push((format!("{prefix}{}", g.name), g.value.clone()));
        }
    }
    out.extend(plain.iter().map(|(k, v)| ((*k).to_string(), v.clone())));
    for (key, value) in context {
        let value = OsString::from(value);
        if !prefix.is_empty() {
            out.push((format!("{prefix}{key}"), value.clone()));
        }
        out.push((format!("ACP_{key}"), value.clone()));
        if prefix != "F_LOSNING_" {
            out.push((format!("F_LOSNING_{key}"), value));
        }
    }
    out
}

/// `<session>.sh`: the launcher's environment and the worker exports, each
/// `%q`-quoted byte for byte, a `cd` into the worktree, and the `exec` of
/// our binary's `__inner` with the contract's words.
fn inner_script(
    ctx: &Invocation<'_>,
    plan: &Plan<'_>,
    abs: &Layout,
    inner: &contract::CommonInner,
    locale: QuoteLocale,
) -> Vec<u8> {
    let common = plan.common;
    let q = |b: &[u8]| acp_core::shellquote::quote(b, locale);
    let mut s = Vec::new();
    s.extend_from_slice(b"#!/usr/bin/env bash\n");
    s.extend_from_slice(
        format!(
            "# {} worker for session {}: the environment below is the launcher's, set\n\
             # explicitly; the supervisor is the agent-control-plane binary.\n",
            plan.backend.tool,
            quote_str(&common.session, locale)
        )
        .as_bytes(),
    );
    s.extend_from_slice(b"set -euo pipefail\n");
    let exports = worker_exports(
        common,
        abs,
        &plan.exports,
        &plan.plain_exports,
        &plan.context,
    );
    for (k, v) in plain_env(ctx).into_iter().chain(exports) {
        s.extend_from_slice(format!("export {k}=").as_bytes());
        s.extend(q(v.as_bytes()));
        s.push(b'\n');
    }
    s.extend_from_slice(b"cd ");
    s.extend(q(inner.worktree.as_os_str().as_bytes()));
    s.extend_from_slice(b"\nexec ");
    s.extend(q(ctx.exe.as_os_str().as_bytes()));
    s.push(b' ');
    s.extend(q(plan.backend.tool.as_bytes()));
    s.extend_from_slice(format!(" {INNER_WORD}").as_bytes());
    for word in contract::encode(inner).iter().chain(&plan.inner) {
        s.extend_from_slice(b" \\\n  ");
        s.extend(q(word.as_bytes()));
    }
    s.push(b'\n');
    s
}

/// Resolves a backend binary: the first executable of `configured` env
/// values, then each of `names` on the env's `PATH`, then `fallbacks`
/// (`~/` expands to `$HOME`).
pub fn resolve_binary(
    ctx: &Invocation<'_>,
    configured: &[&str],
    names: &[&str],
    fallbacks: &[&str],
) -> Option<PathBuf> {
    if let Some(p) = configured
        .iter()
        .find_map(|k| ctx.env.get_os(k).filter(|v| !v.is_empty()))
        .map(PathBuf::from)
        && fsx::is_executable(&p)
    {
        return Some(p);
    }
    for name in names {
        if let Some(p) = ctx.env.which(name) {
            return Some(p);
        }
    }
    let home = ctx.env.home();
    fallbacks.iter().find_map(|f| {
        let p: PathBuf = match f.strip_prefix("~/") {
            Some(rest) => home.join(rest),
            None => PathBuf::from(f),
        };
        fsx::is_executable(&p).then_some(p)
    })
}

/// A `--name` value that must be a positive integer (`''|*[!0-9]*|0` fails).
pub fn positive_int(value: &str, flag: &str) -> anyhow::Result<u64> {
    match value.parse::<u64>() {
        Ok(n) if n > 0 && value.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(fail(1, format!("{flag} must be a positive integer"))),
    }
}

/// A `--name` value that must be digits only (`''|*[!0-9]*` fails).
pub fn non_negative_int(value: &str, flag: &str) -> anyhow::Result<u64> {
    match value.parse::<u64>() {
        Ok(n) if value.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(fail(1, format!("{flag} must be numeric"))),
    }
}

/// A launcher's inner supervisor: it gets the parsed contract.
pub type InnerFn<B> = fn(&mut Invocation<'_>, contract::Inner<B>) -> anyhow::Result<i32>;

/// Dispatches the hidden words of a launcher tool: `__inner` parses the
/// contract ([`contract::Inner<B>`], an error naming the key when a value is
/// missing or malformed) and runs `inner`; `__reconcile` runs the
/// delayed-reconcile waiter. `None` = a normal launch.
pub fn dispatch_hidden<B: contract::Contract>(
    ctx: &mut Invocation<'_>,
    args: &[OsString],
    inner: InnerFn<B>,
) -> Option<anyhow::Result<i32>> {
    let first = args.first()?.to_str()?;
    match first {
        // The handler goes in first: a TERM/HUP while the inner supervisor
        // is still preparing (secrets, sandbox, worktree) is recorded, and
        // the run then ends through the usual aborted path (runner state,
        // exit marker, no reconcile) instead of killing it silently.
        INNER_WORD => Some(
            acp_core::process::install_termination_handler()
                .and_then(|()| contract::decode::<contract::Inner<B>>(&args[1..]))
                .and_then(|a| inner(ctx, a)),
        ),
        RECONCILE_WORD => Some(inner::reconcile_waiter(ctx, &args[1..])),
        _ => None,
    }
}

/// A launcher's front door: the hidden words run the inner supervisor or
/// the reconcile waiter (`Ok(Err(code))`, their exit code); otherwise `args`
/// are parsed with `cmd` (`Ok(Ok(matches))`, or `Ok(Err(code))` after help
/// or a usage error was printed).
pub fn parse_or_dispatch<B: contract::Contract>(
    ctx: &mut Invocation<'_>,
    args: &[OsString],
    cmd: &clap::Command,
    inner: InnerFn<B>,
) -> anyhow::Result<Result<clap::ArgMatches, i32>> {
    if let Some(r) = dispatch_hidden(ctx, args, inner) {
        return r.map(Err);
    }
    Ok(match cli::parse(ctx, cmd.clone(), args, 1)? {
        cli::Parsed::Matches(m) => Ok(m),
        cli::Parsed::Exit(code) => Err(code),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// A launch of session `s1` under `base` whose environment holds a
    /// credential and has no tmux on its PATH (the session cannot start).
    fn test_launch(base: &Path) -> (acp_core::Env, Backend, Common) {
        std::fs::create_dir_all(base.join("wt")).unwrap();
        std::fs::write(base.join("prompt"), "p\n").unwrap();
        let mut env = acp_core::Env::new();
        env.set("PATH", base.join("no-bin").to_string_lossy().as_ref());
        env.set("HOME", base.to_string_lossy().as_ref());
        env.set("GH_TOKEN", "s3cret");
        let backend = Backend {
            tool: "agent-project-run-test-session",
            default_sandbox_subdir: ".sb",
            records_script: true,
        };
        let common = Common {
            mode: "safe".into(),
            session: "s1".into(),
            worktree: "wt".into(),
            prompt_file: "prompt".into(),
            runs_root: "runs".into(),
            adapter_id: "a".into(),
            task_kind: "issue".into(),
            task_id: "1".into(),
            sandbox_subdir: ".sb".into(),
            ..Common::default()
        };
        (env, backend, common)
    }

    #[test]
    fn a_launch_that_cannot_start_tmux_leaves_no_secrets_file() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        let (env, backend, common) = test_launch(base);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut ctx = Invocation::new(&mut out, &mut err, env);
        ctx.cwd = base.to_path_buf();
        let plan = Plan::new(&backend, &common, Vec::new());
        let r = launch(&mut ctx, &plan);
        assert!(r.is_err() || r.as_ref().is_ok_and(|c| *c != 0));
        let secrets = base.join("runs/s1/.s1.secrets.env");
        assert!(
            !secrets.exists(),
            "credentials left on disk by a launch that started nothing"
        );
    }

    #[test]
    fn a_launch_of_a_session_whose_launch_is_under_way_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        let (env, backend, common) = test_launch(base);
        let artifact = base.join("runs/s1");
        std::fs::create_dir_all(&artifact).unwrap();
        // An earlier launch's live files, and that launch still holding the dir.
        std::fs::write(artifact.join("run.env"), "SESSION=s1\n").unwrap();
        std::fs::write(artifact.join("s1.log"), "first run\n").unwrap();
        let _held = fsx::Lock::try_on(&artifact).unwrap().unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut ctx = Invocation::new(&mut out, &mut err, env);
        ctx.cwd = base.to_path_buf();
        let plan = Plan::new(&backend, &common, Vec::new());
        let e = launch(&mut ctx, &plan).unwrap_err();
        assert_eq!(e.to_string(), "another launch of session s1 is under way");
        assert_eq!(
            std::fs::read_to_string(artifact.join("s1.log")).unwrap(),
            "first run\n"
        );
        assert_eq!(
            std::fs::read_to_string(artifact.join("run.env")).unwrap(),
            "SESSION=s1\n"
        );
        assert!(!artifact.join("previous-run").exists());
    }

    #[test]
    fn the_inner_supervisor_gets_the_paths_byte_for_byte() {
        use std::os::unix::ffi::OsStringExt;
        let dir = tempfile::tempdir().unwrap();
        // A launcher cwd that is not UTF-8: every path below it is built
        // from it, and none may reach the inner supervisor altered.
        let base = dir.path().join(OsString::from_vec(b"caf\xe9 dir".to_vec()));
        std::fs::create_dir_all(&base).unwrap();
        let (mut env, backend, common) = test_launch(&base);
        // tmux runs the script at once; our "binary" dumps its argv.
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        acp_core::testutil::write_script(
            &bin.join("tmux"),
            "#!/usr/bin/env bash\ncase $1 in has-session) exit 1 ;; new-session) exec bash \"${@: -1}\" ;; esac\n",
        );
        let exe = dir.path().join("acp");
        let argv_out = dir.path().join("argv");
        acp_core::testutil::write_script(
            &exe,
            &format!(
                "#!/usr/bin/env bash\nprintf '%s\\0' \"$@\" > '{}'\n",
                argv_out.display()
            ),
        );
        env.set("PATH", format!("{}:/usr/bin:/bin", bin.display()));
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut ctx = Invocation::new(&mut out, &mut err, env);
        ctx.cwd = base.clone();
        ctx.exe = exe;
        let mut plan = Plan::new(&backend, &common, Vec::new());
        plan.set_inner(&());
        assert_eq!(launch(&mut ctx, &plan).unwrap(), 0);
        drop(ctx);
        let argv = std::fs::read(&argv_out).unwrap();
        let words: Vec<OsString> = argv
            .split(|b| *b == 0)
            .filter(|w| !w.is_empty())
            .map(|w| OsString::from_vec(w.to_vec()))
            .collect();
        assert_eq!(words[0], "agent-project-run-test-session");
        assert_eq!(words[1], INNER_WORD);
        let inner: contract::Inner<()> = contract::decode(&words[2..]).unwrap();
        let c = inner.common;
        assert_eq!(c.worktree, base.join("wt"));
        assert_eq!(c.prompt_file, base.join("prompt"));
        assert_eq!(c.artifact_dir, base.join("runs/s1"));
        assert_eq!(c.log.as_os_str(), base.join("runs/s1/s1.log").as_os_str());
        assert_eq!(c.sandbox_run_dir, base.join("wt/.sb/s1"));
        assert_eq!(c.mode, contract::Mode::Safe);
        assert_eq!(
            c.secrets_file.as_deref(),
            Some(base.join("runs/s1/.s1.secrets.env").as_path())
        );
    }

    #[test]
    fn context_validation_messages() {
        assert_eq!(
            validate_context(&["A_1=x=y".into(), "B=".into()]).unwrap(),
            vec![("A_1".into(), "x=y".into()), ("B".into(), String::new())]
        );
        let e = validate_context(&["NOEQ".into()]).unwrap_err();
        assert_eq!(e.to_string(), "--context must use KEY=VALUE syntax: NOEQ");
        let e = validate_context(&["lower=1".into()]).unwrap_err();
        assert_eq!(e.to_string(), "Invalid context key: lower");
        let e = validate_context(&["=1".into()]).unwrap_err();
        assert_eq!(e.to_string(), "Invalid context key: ");
    }

    #[test]
    fn layout_strips_one_trailing_slash() {
        let c = Common {
            runs_root: "runs".into(),
            session: "s".into(),
            worktree: "/wt//".into(),
            sandbox_subdir: ".x".into(),
            ..Default::default()
        };
        let l = Layout::new(&c);
        assert_eq!(l.sandbox_run_dir.as_os_str(), "/wt//.x/s");
        assert_eq!(l.log.as_os_str(), "runs/s/s.log");
        assert_eq!(
            l.absolute(Path::new("/base")).run_env.as_os_str(),
            "/base/runs/s/run.env"
        );
    }

    #[test]
    fn exports_follow_prefix_rules() {
        let c = Common {
            session: "s".into(),
            env_prefix: "F_LOSNING_".into(),
            ..Default::default()
        };
        let l = Layout::new(&c);
        let e = worker_exports(&c, &l, &[], &[], &[("K".into(), "v".into())]);
        let names: Vec<&str> = e.iter().map(|(k, _)| k.as_str()).collect();
        assert!(names.contains(&"AGENT_PROJECT_SESSION"));
        assert_eq!(names.iter().filter(|n| **n == "F_LOSNING_K").count(), 1);
        assert!(names.contains(&"ACP_K"));
    }

    #[test]
    fn secrets_are_recognised() {
        assert!(is_secret_name("ANTHROPIC_API_KEY"));
        assert!(is_secret_name("GH_TOKEN"));
        assert!(!is_secret_name("ACP_CLAUDE_MODEL"));
        assert!(!is_secret_name("PATH"));
    }

    #[test]
    fn integer_checks() {
        assert!(positive_int("0", "--x").is_err());
        assert!(positive_int("+3", "--x").is_err());
        assert_eq!(positive_int("7", "--x").unwrap(), 7);
        assert_eq!(non_negative_int("0", "--y").unwrap(), 0);
        assert!(non_negative_int("", "--y").is_err());
    }
}
