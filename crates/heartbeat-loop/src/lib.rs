//! `agent-project-heartbeat-loop`: one scheduling pass (spec 1.3-1.6,
//! 3.1). The flags come in here; the pass is `acp_flow::pass`.

use std::ffi::OsString;
use std::path::PathBuf;

use acp_core::cli::{self, Parsed};
use acp_core::{Invocation, ToolSpec, fail};
use acp_flow::pass::{self, PassArgs};
use acp_flow::plan::Limits;

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "agent-project-heartbeat-loop",
    aliases: &["heartbeat-loop"],
    paths: &["tools/bin/agent-project-heartbeat-loop"],
    about: "One heartbeat pass: reconcile finished workers, sync labels, plan and launch",
    command,
    run,
}];

/// The numeric limits: flag, field setter, help.
type LimitFlag = (&'static str, fn(&mut Limits, u64), &'static str);

const LIMIT_FLAGS: &[LimitFlag] = &[
    (
        "max-concurrent-workers",
        |l, v| l.max_workers = v,
        "Default 5",
    ),
    (
        "max-concurrent-heavy-workers",
        |l, v| l.max_heavy = v,
        "Default 1",
    ),
    (
        "max-concurrent-pr-workers",
        |l, v| l.max_pr = v,
        "Default 5",
    ),
    (
        "max-recurring-issue-workers",
        |l, v| l.max_recurring = v,
        "Default 1",
    ),
    (
        "max-concurrent-scheduled-issue-workers",
        |l, v| l.max_scheduled = v,
        "Default 0 (disabled)",
    ),
    (
        "max-concurrent-scheduled-heavy-workers",
        |l, v| l.max_scheduled_heavy = v,
        "Default 1",
    ),
    (
        "max-concurrent-blocked-recovery-issue-workers",
        |l, v| l.max_blocked_recovery = v,
        "Default 0 (disabled)",
    ),
    (
        "blocked-recovery-cooldown-seconds",
        |l, v| l.blocked_recovery_cooldown = v,
        "Default 0 (disabled)",
    ),
    (
        "max-open-agent-prs-for-recurring",
        |l, v| l.max_open_prs_for_recurring = v,
        "Default 0 (disabled)",
    ),
    (
        "max-launches-per-pass",
        |l, v| l.max_launches_per_pass = v,
        "Default: --max-concurrent-workers",
    ),
];

fn path_opt(name: &'static str) -> clap::Arg {
    cli::opt(name)
        .value_name("path")
        .value_parser(clap::builder::OsStringValueParser::new())
}

/// The argument parser.
pub fn command() -> clap::Command {
    let mut cmd = cli::tool_command(
        "agent-project-heartbeat-loop",
        "Runs one scheduling pass for a project: reconciles finished workers, clears the \
         running labels of idle ones, then plans and starts issue and PR workers within the \
         capacity limits (exclusive lock, scheduled issues, review fast path, PR backlog \
         reservation, blocked recovery, ready issues with recurring rotation, PR fill). \
         The project's policy is the --hook-file. With --dry-run it prints the plan, each \
         decision with its reason, and changes nothing.",
    )
    .override_usage(
        "agent-project-heartbeat-loop --repo-slug <owner/repo> --runs-root <path> \
         --state-root <path> --issue-prefix <prefix> --pr-prefix <prefix> --hook-file <path> \
         [options]",
    )
    .arg(
        cli::opt("repo-slug")
            .value_name("owner/repo")
            .help("The repository"),
    )
    .arg(path_opt("runs-root").help("Run directories"))
    .arg(path_opt("state-root").help("State directory"))
    .arg(path_opt("memory-dir").help("Optional memory log root"))
    .arg(
        cli::opt("issue-prefix")
            .value_name("prefix")
            .help("Issue session prefix"),
    )
    .arg(
        cli::opt("pr-prefix")
            .value_name("prefix")
            .help("PR session prefix"),
    )
    .arg(path_opt("hook-file").help("Heartbeat hook file"));
    for (name, _, help) in LIMIT_FLAGS {
        cmd = cmd.arg(cli::opt(name).value_name("N").help(*help));
    }
    cmd.arg(
        cli::opt("heavy-running-label")
            .value_name("name")
            .help("Default HEAVY_ISSUE"),
    )
    .arg(
        cli::opt("heavy-deferred-key")
            .value_name("name")
            .help("Default HEAVY_DEFERRED"),
    )
    .arg(
        cli::opt("heavy-deferred-message")
            .value_name("text")
            .help("Default heavy-queue message"),
    )
    .arg(cli::flag("dry-run").help("Print the plan and change nothing"))
    .arg(cli::flag("json").help("With --dry-run: the plan as JSON"))
}

fn path(m: &clap::ArgMatches, name: &str) -> PathBuf {
    PathBuf::from(m.get_one::<OsString>(name).cloned().unwrap_or_default())
}

fn limits(m: &clap::ArgMatches, ctx: &Invocation<'_>) -> anyhow::Result<Limits> {
    let mut l = Limits::default();
    let mut launches_given = false;
    for (name, set, _) in LIMIT_FLAGS {
        if !cli::given(m, name) {
            continue;
        }
        let text = cli::get(m, name);
        let v: u64 = text
            .trim()
            .parse()
            .map_err(|_| fail(1, format!("--{name} must be a whole number, got: {text}")))?;
        set(&mut l, v);
        launches_given |= *name == "max-launches-per-pass";
    }
    // F12: the budget follows --max-concurrent-workers unless given.
    if !launches_given {
        l.max_launches_per_pass = l.max_workers;
    }
    let fast = ctx
        .env
        .first_non_empty(&[
            "ACP_MAX_DOUBLE_CHECK_FAST_LAUNCHES",
            "F_LOSNING_MAX_DOUBLE_CHECK_FAST_LAUNCHES",
        ])
        .unwrap_or_else(|| "3".into());
    l.fast_review_launches = fast.trim().parse().unwrap_or(3);
    Ok(l)
}

fn shared_home(ctx: &Invocation<'_>) -> PathBuf {
    if let Some(h) = ctx.env.non_empty("SHARED_AGENT_HOME") {
        return PathBuf::from(h);
    }
    match ctx.script_dir() {
        Some(d) => acp_core::fsx::normalize_lexically(&d.join("../..")),
        None => ctx.cwd.clone(),
    }
}

/// Runs `agent-project-heartbeat-loop`.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let cmd = command();
    let m = match cli::parse(ctx, cmd.clone(), args, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    let text_or = |name: &str, default: &str| {
        if cli::given(&m, name) {
            cli::get(&m, name)
        } else {
            default.to_owned()
        }
    };
    let a = PassArgs {
        repo_slug: cli::get(&m, "repo-slug"),
        runs_root: path(&m, "runs-root"),
        state_root: path(&m, "state-root"),
        memory_dir: Some(path(&m, "memory-dir")).filter(|p| !p.as_os_str().is_empty()),
        issue_prefix: cli::get(&m, "issue-prefix"),
        pr_prefix: cli::get(&m, "pr-prefix"),
        hook_file: path(&m, "hook-file"),
        limits: limits(&m, ctx)?,
        heavy_running_label: text_or("heavy-running-label", "HEAVY_ISSUE"),
        heavy_deferred_key: text_or("heavy-deferred-key", "HEAVY_DEFERRED"),
        heavy_deferred_message: text_or(
            "heavy-deferred-message",
            "Heavy issues remain queued until the heavy slot is free.",
        ),
        dry_run: m.get_flag("dry-run"),
        json: m.get_flag("json"),
        shared_home: shared_home(ctx),
        env: ctx.env.clone(),
        cwd: ctx.cwd.clone(),
        exe: ctx.exe.clone(),
    };
    let missing = a.repo_slug.is_empty()
        || a.runs_root.as_os_str().is_empty()
        || a.state_root.as_os_str().is_empty()
        || a.issue_prefix.is_empty()
        || a.pr_prefix.is_empty()
        || a.hook_file.as_os_str().is_empty();
    if missing {
        write!(ctx.stderr, "{}", cli::usage(&cmd))?;
        return Ok(1);
    }
    let mut a = a;
    for p in [&mut a.runs_root, &mut a.state_root] {
        if p.is_relative() {
            *p = ctx.cwd.join(&*p);
        }
    }
    if let Some(d) = a.memory_dir.as_mut().filter(|d| d.is_relative()) {
        *d = ctx.cwd.join(&*d);
    }
    pass::run(&a, ctx.stdout)
}
