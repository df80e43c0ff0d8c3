//! `run-codex-task.sh MODE SESSION WORKTREE PROMPT_FILE`: the heartbeat-facing
//! dispatcher. It loads the selected profile (provider pool included),
//! derives the task kind, id and reconcile command from the session name,
//! refuses worktrees that are not isolated agent worktrees, and runs
//! `<skill root>/tools/bin/agent-project-run-<backend>-session` with the full
//! argument list. Its exit status is the launcher's.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use acp_core::config::{self, FlowConfig, backends};
use acp_core::shellquote::{QuoteLocale, quote};
use acp_core::{Env, Invocation, ToolSpec, fail, fsx};
use anyhow::Context;

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "run-codex-task.sh",
    aliases: &["run-codex-task"],
    paths: &["tools/bin/run-codex-task.sh"],
    about: "Route a task to the configured coding backend's session launcher",
    command,
    run,
}];

const USAGE: &str = "usage: run-codex-task.sh MODE SESSION WORKTREE PROMPT_FILE";

/// The argument parser (positional; used for `--help`).
pub fn command() -> clap::Command {
    acp_core::cli::tool_command(
        "run-codex-task.sh",
        "Starts a worker session for SESSION in WORKTREE with the backend selected by the \
         profile (ACP_CODING_WORKER, execution.coding_worker or the provider pool).",
    )
    .override_usage("run-codex-task.sh MODE SESSION WORKTREE PROMPT_FILE")
}

/// Context keys passed to every launcher, in the original's order.
const CONTEXT_KEYS: &[&str] = &[
    "ISSUE_ID",
    "ISSUE_URL",
    "ISSUE_AUTOMERGE",
    "PR_NUMBER",
    "PR_URL",
    "PR_HEAD_REF",
    "CODING_WORKER",
    "FLOW_TOOLS_DIR",
    "RESIDENT_WORKER_ENABLED",
    "RESIDENT_WORKER_KEY",
    "RESIDENT_WORKER_DIR",
    "RESIDENT_WORKER_META_FILE",
    "RESIDENT_TASK_COUNT",
    "RESIDENT_WORKTREE_REUSED",
    "RESIDENT_OPENCLAW_AGENT_ID",
    "RESIDENT_OPENCLAW_SESSION_ID",
    "RESIDENT_OPENCLAW_AGENT_DIR",
    "RESIDENT_OPENCLAW_STATE_DIR",
    "RESIDENT_OPENCLAW_CONFIG_PATH",
];

fn q(value: &str, locale: QuoteLocale) -> String {
    String::from_utf8_lossy(&quote(value.as_bytes(), locale)).into_owned()
}

/// The directories a worker run is checked against and recorded under.
struct Roots {
    runs: PathBuf,
    agent_repo: PathBuf,
    /// The canonical checkout.
    repo: PathBuf,
    worktree: PathBuf,
    retained: PathBuf,
}

/// What the session name makes of the run.
struct Task {
    kind: &'static str,
    id: String,
    reconcile_command: Option<String>,
}

/// Everything one call decides before anything runs: the four words, the
/// profile's and the environment's settings (`ACP_*` > `F_LOSNING_*` >
/// YAML > default), and what follows from them.
struct Args {
    mode: String,
    session: String,
    worktree: String,
    prompt_file: String,
    /// The environment the launcher gets (aliases and execution settings exported).
    env: Env,
    config_path: PathBuf,
    roots: Roots,
    tools_dir: PathBuf,
    adapter_id: String,
    /// `--context` values, in [`CONTEXT_KEYS`] order.
    context: Vec<(&'static str, String)>,
    worker: String,
    task: Task,
    /// The backend's own launcher flags; `None` for an unknown worker.
    backend_flags: Option<Vec<String>>,
}

impl Args {
    /// Reads the positional words, the profile and the environment.
    fn resolve(ctx: &Invocation<'_>, args: &[OsString]) -> anyhow::Result<Self> {
        let [mode, session, worktree, prompt_file] = positional(args)?;
        let mut env = ctx.env.clone();
        config::export_env_aliases(&mut env);
        let cfg = FlowConfig::load(&env)?;
        config::export_execution_env(&mut env, &cfg)?;
        config::export_env_aliases(&mut env);

        let roots = Roots {
            runs: config::runs_root(&env, &cfg),
            agent_repo: config::agent_repo_root(&env, &cfg),
            repo: config::repo_root(&env, &cfg),
            worktree: config::worktree_root(&env, &cfg),
            retained: config::retained_repo_root(&env, &cfg),
        };
        let script_path = ctx.script_path();
        let skill_root = config::skill_root(&env, script_path.as_deref())
            .map_err(|e| fail(1, format!("{e:#}")))?;
        let tools_dir = skill_root.join("tools/bin");
        let adapter_id = config::adapter_id(&env, &cfg);
        let context = context_values(&env, &tools_dir);
        let worker = context_value(&context, "CODING_WORKER");
        let resident = context_value(&context, "RESIDENT_WORKER_ENABLED") == "yes";
        let locale = QuoteLocale::from_env(&env);
        let reconcile = Reconcile {
            dir: reconcile_dir(&env, script_path.as_deref(), &ctx.cwd),
            env_prefix: reconcile_env_prefix(&adapter_id, &cfg.path, &roots.repo, locale),
            session_q: q(&session, locale),
        };
        let task = task_identity(
            &session,
            &config::issue_session_prefix(&env, &cfg),
            &config::pr_session_prefix(&env, &cfg),
            &context,
            resident,
            &reconcile,
        );
        let backend_flags = backend_flags(&env, &worker, &mode, resident, &context);
        Ok(Self {
            mode,
            session,
            worktree,
            prompt_file,
            env,
            config_path: cfg.path,
            roots,
            tools_dir,
            adapter_id,
            context,
            worker,
            task,
            backend_flags,
        })
    }

    /// The launcher's common flags, in the original's order.
    fn launcher_args(&self) -> Vec<String> {
        let mut out: Vec<String> = [
            ("--mode", self.mode.as_str()),
            ("--session", &self.session),
            ("--worktree", &self.worktree),
            ("--prompt-file", &self.prompt_file),
            ("--runs-root", &self.roots.runs.to_string_lossy()),
            ("--adapter-id", &self.adapter_id),
            ("--task-kind", self.task.kind),
            ("--task-id", &self.task.id),
            ("--env-prefix", "F_LOSNING_"),
        ]
        .into_iter()
        .flat_map(|(f, v)| [f.to_string(), v.to_string()])
        .collect();
        for (k, v) in &self.context {
            out.push("--context".into());
            out.push(format!("{k}={v}"));
        }
        for f in ["pr-comment.md", "issue-comment.md", "verification.jsonl"] {
            out.push("--collect-file".into());
            out.push(f.into());
        }
        if let Some(cmd) = &self.task.reconcile_command {
            out.push("--reconcile-command".into());
            out.push(cmd.clone());
        }
        out
    }
}

/// MODE SESSION WORKTREE PROMPT_FILE, each required and non-empty.
fn positional(args: &[OsString]) -> anyhow::Result<[String; 4]> {
    let arg = |i: usize| {
        args.get(i)
            .map(|a| a.to_string_lossy().into_owned())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| fail(1, format!("run-codex-task.sh: {USAGE}")))
    };
    Ok([arg(0)?, arg(1)?, arg(2)?, arg(3)?])
}

/// The `--context` values: `ACP_<KEY>` > `F_LOSNING_<KEY>` > default.
fn context_values(env: &Env, tools_dir: &Path) -> Vec<(&'static str, String)> {
    CONTEXT_KEYS
        .iter()
        .map(|&key| {
            let value = match key {
                "ISSUE_AUTOMERGE" => env.acp_or(key, "no"),
                "CODING_WORKER" => env.first_or(&["ACP_CODING_WORKER"], "codex"),
                "FLOW_TOOLS_DIR" => tools_dir.to_string_lossy().into_owned(),
                _ => env.acp_or(key, ""),
            };
            (key, value)
        })
        .collect()
}

fn context_value(context: &[(&str, String)], key: &str) -> String {
    context
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// How a reconcile command is spelled.
struct Reconcile {
    dir: PathBuf,
    env_prefix: String,
    session_q: String,
}

impl Reconcile {
    fn command(&self, script: &str) -> String {
        format!(
            "{} {} {}",
            self.env_prefix,
            self.dir.join(script).to_string_lossy(),
            self.session_q
        )
    }
}

/// The permanent runtime-home tools when they are installed (the skill
/// tree may be gone by the time a reconcile runs), else `<workspace>/bin`.
fn reconcile_dir(env: &Env, script_path: Option<&Path>, cwd: &Path) -> PathBuf {
    let platform = env
        .path("AGENT_PLATFORM_HOME")
        .unwrap_or_else(|| env.home().join(".agent-runtime"));
    let runtime_bin = platform.join("runtime-home/tools/bin");
    if runtime_bin.join("reconcile-pr-worker.sh").is_file() {
        return runtime_bin;
    }
    let workspace = script_path
        .and_then(Path::parent)
        .map(|d| d.join(".."))
        .unwrap_or_else(|| PathBuf::from(".."));
    fsx::realpath_lenient(&workspace, cwd)
        .unwrap_or(workspace)
        .join("bin")
}

/// The variables a reconcile command sets before the script.
fn reconcile_env_prefix(
    adapter_id: &str,
    config_path: &Path,
    repo_root: &Path,
    locale: QuoteLocale,
) -> String {
    let config_q = q(&config_path.to_string_lossy(), locale);
    let adapter_q = q(adapter_id, locale);
    let root_q = q(&repo_root.to_string_lossy(), locale);
    format!(
        "ACP_PROJECT_ID={adapter_q} AGENT_PROJECT_ID={adapter_q} AGENT_CONTROL_PLANE_CONFIG={config_q} \
         ACP_CONFIG={config_q} ACP_ROOT={root_q} AGENT_CONTROL_PLANE_ROOT={root_q}"
    )
}

/// Task kind, id and reconcile command from the session name: an issue
/// session (reconciled unless a resident worker owns it), a PR session, or
/// a plain task.
fn task_identity(
    session: &str,
    issue_prefix: &str,
    pr_prefix: &str,
    context: &[(&str, String)],
    resident: bool,
    reconcile: &Reconcile,
) -> Task {
    let id_or = |key: &str, rest: &str| {
        Some(context_value(context, key))
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| rest.to_string())
    };
    if let Some(rest) = session.strip_prefix(issue_prefix) {
        Task {
            kind: "issue",
            id: id_or("ISSUE_ID", rest),
            reconcile_command: (!resident).then(|| reconcile.command("reconcile-issue-worker.sh")),
        }
    } else if let Some(rest) = session.strip_prefix(pr_prefix) {
        Task {
            kind: "pr",
            id: id_or("PR_NUMBER", rest),
            reconcile_command: Some(reconcile.command("reconcile-pr-worker.sh")),
        }
    } else {
        Task {
            kind: "task",
            id: session.to_string(),
            reconcile_command: None,
        }
    }
}

/// Runs the tool: resolve, refuse a worktree that is not an isolated agent
/// worktree, then run the backend's launcher and pass on its output and status.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if acp_core::cli::first_is_help(args) {
        write!(ctx.stdout, "{}", acp_core::cli::usage(&command()))?;
        return Ok(0);
    }
    let a = Args::resolve(ctx, args)?;
    check_isolation(&ctx.cwd, &a)?;
    let Some(backend_flags) = &a.backend_flags else {
        return Err(fail(1, format!("unsupported coding worker: {}", a.worker)));
    };
    let launcher = a
        .tools_dir
        .join(format!("agent-project-run-{}-session", a.worker));
    let mut cmd = std::process::Command::new("bash");
    cmd.arg(&launcher)
        .args(a.launcher_args())
        .args(backend_flags);
    a.env.apply(&mut cmd);
    cmd.current_dir(&ctx.cwd);
    ctx.relay(&mut cmd)
        .with_context(|| format!("failed to run {}", launcher.display()))
}

/// The backend-specific launcher flags (`ACP_*` > `F_LOSNING_*` > the
/// [`backends::DEFAULTS`] table); `None` for an unknown worker.
fn backend_flags(
    env: &Env,
    worker: &str,
    mode: &str,
    resident: bool,
    context: &[(&str, String)],
) -> Option<Vec<String>> {
    let d = &backends::DEFAULTS;
    let n = |n: u64| n.to_string();
    let flags = match worker {
        "codex" => codex_flags(env, &d.codex),
        "claude" => acp_flags(
            env,
            &[
                ("CLAUDE_MODEL", d.claude.model.into()),
                (
                    "CLAUDE_PERMISSION_MODE",
                    d.claude.permission_mode_for(mode).into(),
                ),
                ("CLAUDE_EFFORT", d.claude.effort.into()),
                ("CLAUDE_TIMEOUT_SECONDS", n(d.claude.timeout_seconds)),
                ("CLAUDE_MAX_ATTEMPTS", n(d.claude.max_attempts.into())),
                (
                    "CLAUDE_RETRY_BACKOFF_SECONDS",
                    n(d.claude.retry_backoff_seconds),
                ),
            ],
        ),
        "openclaw" => openclaw_flags(env, resident, context, &d.openclaw),
        "opencode" => acp_flags(
            env,
            &[
                ("OPENCODE_MODEL", d.opencode.model.into()),
                ("OPENCODE_TIMEOUT_SECONDS", n(d.opencode.timeout_seconds)),
            ],
        ),
        "kilo" => acp_flags(
            env,
            &[
                ("KILO_MODEL", d.kilo.model.into()),
                ("KILO_TIMEOUT_SECONDS", n(d.kilo.timeout_seconds)),
            ],
        ),
        "ollama" => acp_flags(
            env,
            &[
                ("OLLAMA_MODEL", d.ollama.model.into()),
                ("OLLAMA_BASE_URL", d.ollama.base_url.into()),
                ("OLLAMA_TIMEOUT_SECONDS", n(d.ollama.timeout_seconds)),
            ],
        ),
        "pi" => acp_flags(
            env,
            &[
                ("PI_MODEL", d.pi.model.into()),
                ("PI_THINKING", d.pi.thinking.into()),
                ("PI_TIMEOUT_SECONDS", n(d.pi.timeout_seconds)),
                ("PI_STALL_SECONDS", n(d.pi.stall_seconds)),
            ],
        ),
        _ => return None,
    };
    Some(flags)
}

/// `--<var in kebab case> value` pairs (`CLAUDE_MODEL` gives
/// `--claude-model`), each value `ACP_<var>` > `F_LOSNING_<var>` > default.
fn acp_flags(env: &Env, knobs: &[(&str, String)]) -> Vec<String> {
    knobs
        .iter()
        .flat_map(|(var, default)| {
            let flag = format!("--{}", var.to_ascii_lowercase().replace('_', "-"));
            [flag, env.acp_or(var, default)]
        })
        .collect()
}

/// codex's profiles also come from the plain `CODEX_PROFILE_*` variables.
fn codex_flags(env: &Env, d: &backends::Codex) -> Vec<String> {
    let profile = |which: &str, default: &str| {
        env.first_or(
            &[
                &format!("ACP_CODEX_PROFILE_{which}"),
                &format!("F_LOSNING_CODEX_PROFILE_{which}"),
                &format!("CODEX_PROFILE_{which}"),
            ],
            default,
        )
    };
    vec![
        "--safe-profile".into(),
        profile("SAFE", d.safe_profile),
        "--bypass-profile".into(),
        profile("BYPASS", d.bypass_profile),
    ]
}

/// openclaw reads its plain `OPENCLAW_*` variables first; a resident
/// worker keeps its agent and names it.
fn openclaw_flags(
    env: &Env,
    resident: bool,
    context: &[(&str, String)],
    d: &backends::Openclaw,
) -> Vec<String> {
    let oc = |name: &str, default: &str| {
        env.first_or(
            &[
                &format!("OPENCLAW_{name}"),
                &format!("ACP_OPENCLAW_{name}"),
                &format!("F_LOSNING_OPENCLAW_{name}"),
            ],
            default,
        )
    };
    let mut out = vec![
        "--openclaw-model".into(),
        oc("MODEL", d.model),
        "--openclaw-thinking".into(),
        oc("THINKING", d.thinking),
        "--openclaw-timeout-seconds".into(),
        oc("TIMEOUT_SECONDS", &d.timeout_seconds.to_string()),
    ];
    if resident {
        out.push("--keep-agent".into());
        for (flag, key) in [
            ("--openclaw-agent-id", "RESIDENT_OPENCLAW_AGENT_ID"),
            ("--openclaw-session-id", "RESIDENT_OPENCLAW_SESSION_ID"),
            ("--openclaw-agent-dir", "RESIDENT_OPENCLAW_AGENT_DIR"),
            ("--openclaw-state-dir", "RESIDENT_OPENCLAW_STATE_DIR"),
            ("--openclaw-config-path", "RESIDENT_OPENCLAW_CONFIG_PATH"),
        ] {
            out.push(flag.into());
            out.push(context_value(context, key));
        }
    }
    out
}

/// Refuses to run a worker anywhere but an isolated agent worktree: an
/// existing directory under the managed worktree root, neither the canonical
/// nor a retained checkout, whose git dir is the agent repository's.
/// The refusals keep the original's first words and then say how to fix them.
fn check_isolation(cwd: &Path, a: &Args) -> anyhow::Result<()> {
    let real = |p: &Path| fsx::realpath_lenient(p, cwd);
    let inside = |child: &Path, parent: &Path| child == parent || child.starts_with(parent);
    let worktree = Path::new(&a.worktree);
    let worktree_real = match real(worktree) {
        Some(p) if p.is_dir() => p,
        _ => {
            return Err(fail(
                1,
                format!("invalid worker worktree: {}", worktree.display()),
            ));
        }
    };
    let shown = worktree_real.display();
    if real(&a.roots.repo).is_some_and(|c| c == worktree_real) {
        return Err(fail(
            1,
            format!("refusing to run worker in canonical checkout: {shown}"),
        ));
    }
    if real(&a.roots.retained).is_some_and(|r| inside(&worktree_real, &r)) {
        return Err(fail(
            1,
            format!("refusing to run worker in retained checkout: {shown}"),
        ));
    }
    let root = real(&a.roots.worktree);
    if !root.as_ref().is_some_and(|r| worktree_real.starts_with(r)) {
        return Err(fail(
            1,
            format!(
                "refusing to run worker outside managed worktree root: {shown} (expected a \
                 directory under {}; ACP_WORKTREE_ROOT or runtime.worktree_root in {} moves \
                 the root)",
                root.as_deref().unwrap_or(&a.roots.worktree).display(),
                a.config_path.display()
            ),
        ));
    }
    let common = acp_core::git::capture(&a.env, worktree, &["rev-parse", "--git-common-dir"])
        .filter(|s| !s.is_empty());
    let Some(common) = common else {
        return Err(fail(
            1,
            format!("unable to resolve git common dir for worker worktree: {shown}"),
        ));
    };
    let common_path = Path::new(&common);
    let common_real = if common_path.is_absolute() {
        real(common_path)
    } else {
        real(&worktree.join(common_path))
    }
    .unwrap_or_default();
    let expected_path = a.roots.agent_repo.join(".git");
    let expected = real(&expected_path);
    if expected.as_deref() != Some(common_real.as_path()) {
        return Err(fail(
            1,
            format!(
                "refusing to run worker with non-agent git dir: {} (an agent git dir is the \
                 .git of the agent repository that worker worktrees are added from; expected \
                 {}: ACP_AGENT_REPO_ROOT or runtime.agent_repo_root in {} names that \
                 repository, else ACP_REPO_ROOT or repo.root)",
                common_real.display(),
                expected.as_deref().unwrap_or(&expected_path).display(),
                a.config_path.display()
            ),
        ));
    }
    Ok(())
}
