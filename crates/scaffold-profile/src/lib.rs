//! `scaffold-profile.sh`: create a new installed profile (its
//! `control-plane.yaml`, notes `README.md` and prompt `templates/`).

use std::ffi::OsString;

use acp_core::{Invocation, ToolSpec, cli, config};
use acp_runtime::profile::scaffold::{self, Request};
use acp_runtime::profile::text;

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "scaffold-profile.sh",
    aliases: &["scaffold-profile"],
    paths: &["tools/bin/scaffold-profile.sh"],
    about: "Create a new installed profile, its notes and its prompt templates",
    command,
    run,
}];

/// `(flag, help)` of the value options, in the original's order.
pub const OPTIONS: &[(&str, &str)] = &[
    (
        "profile-id",
        "Profile id, e.g. billing-api (required; ^[a-z0-9][a-z0-9-]*$)",
    ),
    ("repo-slug", "GitHub repository as owner/repo (required)"),
    (
        "profile-home",
        "Profile registry root [default: the registry of ACP_PROFILE_REGISTRY_ROOT or the platform home]",
    ),
    ("repo-root", "The repository checkout"),
    (
        "agent-repo-root",
        "The agents' anchor clone [default: the repo root]",
    ),
    (
        "agent-root",
        "The profile's runtime root (runs, state, history)",
    ),
    ("worktree-root", "Parent directory of the agents' worktrees"),
    ("retained-repo-root", "A retained (manual) checkout"),
    (
        "vscode-workspace-file",
        "The VS Code workspace file to maintain",
    ),
    (
        "coding-worker",
        "codex, openclaw, claude, ollama, pi, opencode or kilo [default: openclaw]",
    ),
    ("claude-model", "Claude model [default: sonnet]"),
    (
        "claude-permission-mode",
        "Claude permission mode [default: acceptEdits]",
    ),
    (
        "claude-effort",
        "low, medium, high or max [default: medium]",
    ),
    ("claude-timeout-seconds", "Claude timeout [default: 900]"),
    ("claude-max-attempts", "Claude attempts [default: 3]"),
    (
        "claude-retry-backoff-seconds",
        "Pause between Claude attempts [default: 30]",
    ),
    ("openclaw-model", "OpenClaw model"),
    (
        "openclaw-thinking",
        "OpenClaw thinking level [default: low]",
    ),
    (
        "openclaw-timeout-seconds",
        "OpenClaw timeout [default: 600]",
    ),
];

/// The argument parser.
pub fn command() -> clap::Command {
    let mut cmd = cli::tool_command(
        "scaffold-profile.sh",
        "Creates <registry>/<id>/ with control-plane.yaml (new profiles take only issues \
         labelled agent-ready: queue.require_ready_label), README.md and templates/. Paths \
         not given default to /tmp/agent-control-plane-<id>/.",
    )
    .override_usage("scaffold-profile.sh --profile-id <id> --repo-slug <owner/repo> [options]");
    for (name, help) in OPTIONS {
        cmd = cmd.arg(cli::opt(name).help(*help));
    }
    cmd.arg(cli::flag("force").help("Overwrite an existing profile's files"))
}

/// The request of parsed arguments (flags not given keep the defaults).
fn request(m: &clap::ArgMatches) -> Request {
    let mut r = Request::default();
    let set = |name: &str, field: &mut String| {
        if cli::given(m, name) {
            *field = cli::get(m, name);
        }
    };
    set("profile-id", &mut r.profile_id);
    set("repo-slug", &mut r.repo_slug);
    set("profile-home", &mut r.profile_home);
    set("repo-root", &mut r.repo_root);
    set("agent-repo-root", &mut r.agent_repo_root);
    set("agent-root", &mut r.agent_root);
    set("worktree-root", &mut r.worktree_root);
    set("retained-repo-root", &mut r.retained_repo_root);
    set("vscode-workspace-file", &mut r.vscode_workspace_file);
    set("coding-worker", &mut r.coding_worker);
    set("claude-model", &mut r.claude_model);
    set("claude-permission-mode", &mut r.claude_permission_mode);
    set("claude-effort", &mut r.claude_effort);
    set("claude-timeout-seconds", &mut r.claude_timeout_seconds);
    set("claude-max-attempts", &mut r.claude_max_attempts);
    set(
        "claude-retry-backoff-seconds",
        &mut r.claude_retry_backoff_seconds,
    );
    set("openclaw-model", &mut r.openclaw_model);
    set("openclaw-thinking", &mut r.openclaw_thinking);
    set("openclaw-timeout-seconds", &mut r.openclaw_timeout_seconds);
    r.force = m.get_flag("force");
    r
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let m = match cli::parse(ctx, command(), args, 1)? {
        cli::Parsed::Matches(m) => m,
        cli::Parsed::Exit(code) => return Ok(code),
    };
    let req = request(&m);
    let mut env = ctx.env.clone();
    config::export_env_aliases(&mut env);
    let skill = config::skill_root(&env, ctx.script_path().as_deref())?;
    let report = scaffold::scaffold(&env, &ctx.cwd, &skill, &req)?;
    let skill = text(&skill);
    let id = report.profile_id.clone();
    for (k, v) in [
        ("PROFILE_ID", report.profile_id),
        ("PROFILE_HOME", text(&report.profile_home)),
        ("PROFILE_YAML", text(&report.profile_yaml)),
        ("PROFILE_TEMPLATE_DIR", text(&report.template_dir)),
        ("PROFILE_README", text(&report.readme)),
        ("REPO_SLUG", report.repo_slug),
        ("CODING_WORKER", report.coding_worker),
        (
            "NEXT_STEP",
            format!("ACP_PROJECT_ID={id} bash {skill}/tools/bin/render-flow-config.sh"),
        ),
        (
            "NEXT_STEP",
            format!("bash {skill}/tools/bin/sync-shared-agent-home.sh"),
        ),
    ] {
        ctx.out_kv(k, v)?;
    }
    Ok(0)
}
