//! `run-codex-task.sh MODE SESSION WORKTREE PROMPT_FILE`: the heartbeat-facing
//! dispatcher. It loads the selected profile (provider pool included),
//! derives the task kind, id and reconcile command from the session name,
//! refuses worktrees that are not isolated agent worktrees, and runs
//! `<skill root>/tools/bin/agent-project-run-<backend>-session` with the full
//! argument list. Its exit status is the launcher's.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use acp_core::config::{self, FlowConfig};
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

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if acp_core::cli::first_is_help(args) {
        write!(ctx.stdout, "{}", acp_core::cli::usage(&command()))?;
        return Ok(0);
    }
    let positional: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let arg = |i: usize| positional.get(i).filter(|v| !v.is_empty()).cloned();
    let (Some(mode), Some(session), Some(worktree), Some(prompt_file)) =
        (arg(0), arg(1), arg(2), arg(3))
    else {
        return Err(fail(1, format!("run-codex-task.sh: {USAGE}")));
    };

    let mut env = ctx.env.clone();
    config::export_env_aliases(&mut env);
    let cfg = FlowConfig::load(&env)?;
    config::export_execution_env(&mut env, &cfg)?;
    config::export_env_aliases(&mut env);

    let runs_root = config::runs_root(&env, &cfg);
    let agent_repo_root = config::agent_repo_root(&env, &cfg);
    let canonical_repo_root = config::repo_root(&env, &cfg);
    let worktree_root = config::worktree_root(&env, &cfg);
    let retained_repo_root = config::retained_repo_root(&env, &cfg);
    let script_path = ctx.script_path();
    let skill_root =
        config::skill_root(&env, script_path.as_deref()).map_err(|e| fail(1, format!("{e:#}")))?;
    let tools_dir = skill_root.join("tools/bin");
    let adapter_id = config::adapter_id(&env, &cfg);
    let issue_prefix = config::issue_session_prefix(&env, &cfg);
    let pr_prefix = config::pr_session_prefix(&env, &cfg);
    let locale = QuoteLocale::from_env(&env);

    let mut ctxv: Vec<(&str, String)> = vec![
        ("ISSUE_ID", env.acp_or("ISSUE_ID", "")),
        ("ISSUE_URL", env.acp_or("ISSUE_URL", "")),
        ("ISSUE_AUTOMERGE", env.acp_or("ISSUE_AUTOMERGE", "no")),
        ("PR_NUMBER", env.acp_or("PR_NUMBER", "")),
        ("PR_URL", env.acp_or("PR_URL", "")),
        ("PR_HEAD_REF", env.acp_or("PR_HEAD_REF", "")),
        (
            "CODING_WORKER",
            env.first_or(&["ACP_CODING_WORKER"], "codex"),
        ),
        ("FLOW_TOOLS_DIR", tools_dir.to_string_lossy().into_owned()),
    ];
    for key in &CONTEXT_KEYS[8..] {
        ctxv.push((key, env.acp_or(key, "")));
    }
    let ctx_get = |k: &str| {
        ctxv.iter()
            .find(|(key, _)| *key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let resident = ctx_get("RESIDENT_WORKER_ENABLED") == "yes";
    let worker = ctx_get("CODING_WORKER");

    // Reconcile command and task identity from the session name.
    let platform = env
        .path("AGENT_PLATFORM_HOME")
        .unwrap_or_else(|| env.home().join(".agent-runtime"));
    let runtime_bin = platform.join("runtime-home/tools/bin");
    let reconcile_dir = if runtime_bin.join("reconcile-pr-worker.sh").is_file() {
        runtime_bin
    } else {
        let workspace = script_path
            .as_deref()
            .and_then(Path::parent)
            .map(|d| d.join(".."))
            .unwrap_or_else(|| PathBuf::from(".."));
        fsx::realpath_lenient(&workspace, &ctx.cwd)
            .unwrap_or(workspace)
            .join("bin")
    };
    let config_q = q(&cfg.path.to_string_lossy(), locale);
    let adapter_q = q(&adapter_id, locale);
    let root_q = q(&canonical_repo_root.to_string_lossy(), locale);
    let env_prefix = format!(
        "ACP_PROJECT_ID={adapter_q} AGENT_PROJECT_ID={adapter_q} AGENT_CONTROL_PLANE_CONFIG={config_q} \
         ACP_CONFIG={config_q} ACP_ROOT={root_q} AGENT_CONTROL_PLANE_ROOT={root_q}"
    );
    let session_q = q(&session, locale);
    let reconcile = |script: &str| {
        format!(
            "{env_prefix} {} {session_q}",
            reconcile_dir.join(script).to_string_lossy()
        )
    };
    let (task_kind, task_id, reconcile_command) =
        if let Some(rest) = session.strip_prefix(issue_prefix.as_str()) {
            let id = Some(ctx_get("ISSUE_ID"))
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| rest.to_string());
            let cmd = (!resident).then(|| reconcile("reconcile-issue-worker.sh"));
            ("issue", id, cmd)
        } else if let Some(rest) = session.strip_prefix(pr_prefix.as_str()) {
            let id = Some(ctx_get("PR_NUMBER"))
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| rest.to_string());
            ("pr", id, Some(reconcile("reconcile-pr-worker.sh")))
        } else {
            ("task", session.clone(), None)
        };

    check_isolation(
        ctx,
        &env,
        Path::new(&worktree),
        &worktree_root,
        &canonical_repo_root,
        &retained_repo_root,
        &agent_repo_root,
    )?;

    let mut launcher_args: Vec<String> = vec![
        "--mode".into(),
        mode.clone(),
        "--session".into(),
        session.clone(),
        "--worktree".into(),
        worktree.clone(),
        "--prompt-file".into(),
        prompt_file,
        "--runs-root".into(),
        runs_root.to_string_lossy().into_owned(),
        "--adapter-id".into(),
        adapter_id.clone(),
        "--task-kind".into(),
        task_kind.into(),
        "--task-id".into(),
        task_id,
        "--env-prefix".into(),
        "F_LOSNING_".into(),
    ];
    for (k, v) in &ctxv {
        launcher_args.push("--context".into());
        launcher_args.push(format!("{k}={v}"));
    }
    for f in ["pr-comment.md", "issue-comment.md", "verification.jsonl"] {
        launcher_args.push("--collect-file".into());
        launcher_args.push(f.into());
    }
    if let Some(cmd) = reconcile_command {
        launcher_args.push("--reconcile-command".into());
        launcher_args.push(cmd);
    }
    let Some(backend_args) = backend_args(&env, &worker, &mode, resident, &ctx_get) else {
        return Err(fail(1, format!("unsupported coding worker: {worker}")));
    };
    launcher_args.extend(backend_args);

    let launcher = tools_dir.join(format!("agent-project-run-{worker}-session"));
    let mut cmd = std::process::Command::new("bash");
    cmd.arg(&launcher).args(&launcher_args);
    env.apply(&mut cmd);
    cmd.current_dir(&ctx.cwd);
    ctx.relay(&mut cmd)
        .with_context(|| format!("failed to run {}", launcher.display()))
}

/// The backend-specific launcher flags; `None` for an unknown worker.
fn backend_args(
    env: &Env,
    worker: &str,
    mode: &str,
    resident: bool,
    ctx_get: &dyn Fn(&str) -> String,
) -> Option<Vec<String>> {
    let pairs: Vec<(&str, String)> = match worker {
        "codex" => vec![
            (
                "--safe-profile",
                env.first_or(
                    &[
                        "ACP_CODEX_PROFILE_SAFE",
                        "F_LOSNING_CODEX_PROFILE_SAFE",
                        "CODEX_PROFILE_SAFE",
                    ],
                    "f_losning_safe_auto",
                ),
            ),
            (
                "--bypass-profile",
                env.first_or(
                    &[
                        "ACP_CODEX_PROFILE_BYPASS",
                        "F_LOSNING_CODEX_PROFILE_BYPASS",
                        "CODEX_PROFILE_BYPASS",
                    ],
                    "f_losning_yolo",
                ),
            ),
        ],
        "claude" => {
            let permission_default = if mode == "bypass" {
                "bypassPermissions"
            } else {
                "acceptEdits"
            };
            vec![
                ("--claude-model", env.acp_or("CLAUDE_MODEL", "sonnet")),
                (
                    "--claude-permission-mode",
                    env.acp_or("CLAUDE_PERMISSION_MODE", permission_default),
                ),
                ("--claude-effort", env.acp_or("CLAUDE_EFFORT", "medium")),
                (
                    "--claude-timeout-seconds",
                    env.acp_or("CLAUDE_TIMEOUT_SECONDS", "900"),
                ),
                (
                    "--claude-max-attempts",
                    env.acp_or("CLAUDE_MAX_ATTEMPTS", "3"),
                ),
                (
                    "--claude-retry-backoff-seconds",
                    env.acp_or("CLAUDE_RETRY_BACKOFF_SECONDS", "30"),
                ),
            ]
        }
        "openclaw" => {
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
            let mut v = vec![
                (
                    "--openclaw-model",
                    oc("MODEL", "openrouter/qwen/qwen3.6-plus-preview:free"),
                ),
                ("--openclaw-thinking", oc("THINKING", "low")),
                ("--openclaw-timeout-seconds", oc("TIMEOUT_SECONDS", "900")),
            ];
            let mut out: Vec<String> = v.drain(..).flat_map(|(f, x)| [f.to_string(), x]).collect();
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
                    out.push(ctx_get(key));
                }
            }
            return Some(out);
        }
        "opencode" => vec![
            (
                "--opencode-model",
                env.acp_or("OPENCODE_MODEL", "anthropic/claude-sonnet-4-20250514"),
            ),
            (
                "--opencode-timeout-seconds",
                env.acp_or("OPENCODE_TIMEOUT_SECONDS", "900"),
            ),
        ],
        "kilo" => vec![
            (
                "--kilo-model",
                env.acp_or("KILO_MODEL", "anthropic/claude-sonnet-4-20250514"),
            ),
            (
                "--kilo-timeout-seconds",
                env.acp_or("KILO_TIMEOUT_SECONDS", "900"),
            ),
        ],
        "ollama" => vec![
            (
                "--ollama-model",
                env.acp_or("OLLAMA_MODEL", "qwen2.5-coder:7b"),
            ),
            (
                "--ollama-base-url",
                env.acp_or("OLLAMA_BASE_URL", "http://localhost:11434"),
            ),
            (
                "--ollama-timeout-seconds",
                env.acp_or("OLLAMA_TIMEOUT_SECONDS", "900"),
            ),
        ],
        "pi" => vec![
            (
                "--pi-model",
                env.acp_or("PI_MODEL", "openrouter/qwen/qwen3.6-plus:free"),
            ),
            ("--pi-thinking", env.acp_or("PI_THINKING", "low")),
            (
                "--pi-timeout-seconds",
                env.acp_or("PI_TIMEOUT_SECONDS", "900"),
            ),
            ("--pi-stall-seconds", env.acp_or("PI_STALL_SECONDS", "300")),
        ],
        _ => return None,
    };
    Some(
        pairs
            .into_iter()
            .flat_map(|(f, v)| [f.to_string(), v])
            .collect(),
    )
}

/// Refuses to run a worker anywhere but an isolated agent worktree.
fn check_isolation(
    ctx: &Invocation<'_>,
    env: &Env,
    worktree: &Path,
    worktree_root: &Path,
    canonical: &Path,
    retained: &Path,
    agent_repo_root: &Path,
) -> anyhow::Result<()> {
    let real = |p: &Path| fsx::realpath_lenient(p, &ctx.cwd);
    let inside = |child: &Path, parent: &Path| child == parent || child.starts_with(parent);
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
    if real(canonical).is_some_and(|c| c == worktree_real) {
        return Err(fail(
            1,
            format!("refusing to run worker in canonical checkout: {shown}"),
        ));
    }
    if real(retained).is_some_and(|r| inside(&worktree_real, &r)) {
        return Err(fail(
            1,
            format!("refusing to run worker in retained checkout: {shown}"),
        ));
    }
    match real(worktree_root) {
        Some(root) if worktree_real.starts_with(&root) => {}
        _ => {
            return Err(fail(
                1,
                format!("refusing to run worker outside managed worktree root: {shown}"),
            ));
        }
    }
    let common = acp_core::git::capture(env, worktree, &["rev-parse", "--git-common-dir"])
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
    let expected = real(&agent_repo_root.join(".git"));
    if expected.as_deref() != Some(common_real.as_path()) {
        return Err(fail(
            1,
            format!(
                "refusing to run worker with non-agent git dir: {}",
                common_real.display()
            ),
        ));
    }
    Ok(())
}
