//! `agent-project-heartbeat-hooks [settings] WORD [args...]`: the shipped
//! heartbeat policy (`acp_flow::policy`) one function at a time, for the
//! bash functions of `hooks/heartbeat-hooks.sh` (tests and users source
//! that file and call its functions; the heartbeat pass itself applies the
//! policy in process when the file is unchanged).
//!
//! The settings flags carry what the sourcing shell holds (a test may
//! change `FLOW_TOOLS_DIR`, `REPO_SLUG`, `STATE_ROOT`, ... after sourcing);
//! `env` prints the profile's values as `KEY=value` lines for the file to
//! assign (never evaluated).

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};

use acp_core::{Invocation, ToolSpec, fail};
use acp_flow::hooks::{HookContext, HookRun};
use acp_flow::policy::{self, LabelWrites, Policy, Settings, reads};

const NAME: &str = "agent-project-heartbeat-hooks";

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: NAME,
    aliases: &["heartbeat-hooks"],
    paths: &["tools/bin/agent-project-heartbeat-hooks"],
    about: "The shipped heartbeat policy one function at a time (for hooks/heartbeat-hooks.sh)",
    command,
    run,
}];

/// The settings flags, in the order the hook file passes them.
const FLAGS: &[&str] = &[
    "hook-file",
    "owner",
    "repo-slug",
    "tools-dir",
    "adapter-bin-dir",
    "state-root",
    "agent-repo-root",
    "default-branch",
    "pending-launch-dir",
    "coding-worker",
    "cache-dir",
    "handoff-label",
    "exclusive-label",
];

/// The argument description (for `--help`; parsed by hand, as everything
/// after WORD belongs to it).
pub fn command() -> clap::Command {
    static ABOUT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "Answers one question of the heartbeat policy, or makes one of its effects, for a \
         bash function of hooks/heartbeat-hooks.sh: lists (ready, blocked-recovery, \
         exclusive, running issues; agent and exclusive PRs), issue and PR attributes, \
         label updates, resident-lane routing, worker starts and reconciles. `env` prints \
         the profile's values as KEY=value lines; `call HOOK [ARGS] [:: HOOK ...]` runs \
         hooks of the Rust policy the heartbeat loads for --hook-file, in one process. \
         Words that decide over GitHub JSON read it from stdin when --stdin is given. \
         Words: env, call, {}.",
            policy::words::WORDS.join(", ")
        )
    });
    let mut c = acp_core::cli::tool_command(NAME, ABOUT.as_str()).override_usage(format!(
        "{NAME} [--<setting> VALUE]... [--stdin] WORD [ARGS...]"
    ));
    for f in FLAGS {
        c = c.arg(acp_core::cli::opt(f).help("A setting of the calling hook file"));
    }
    c
}

/// Parsed settings, the word and its arguments.
#[derive(Debug, Default)]
struct Call {
    flags: Vec<(String, String)>,
    stdin: bool,
    word: String,
    args: Vec<String>,
}

fn parse(argv: &[OsString]) -> anyhow::Result<Call> {
    let mut call = Call::default();
    let mut it = argv.iter().map(|a| a.to_string_lossy().into_owned());
    while let Some(a) = it.next() {
        if a == "--stdin" {
            call.stdin = true;
        } else if let Some(name) = a.strip_prefix("--").filter(|n| FLAGS.contains(n)) {
            let v = it
                .next()
                .ok_or_else(|| fail(64, format!("{NAME}: --{name} needs a value")))?;
            call.flags.push((name.to_string(), v));
        } else {
            call.word = a;
            call.args = it.collect();
            break;
        }
    }
    if call.word.is_empty() {
        return Err(fail(64, format!("{NAME}: missing WORD (see --help)")));
    }
    Ok(call)
}

impl Call {
    fn get(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    fn path(&self, name: &str) -> Option<PathBuf> {
        self.get(name).map(PathBuf::from)
    }
}

/// The package directory: the hook file's `..`, else the shim's `../..`.
fn package_root(ctx: &Invocation<'_>, call: &Call) -> PathBuf {
    if let Some(f) = call.path("hook-file") {
        return policy::package_root(&f);
    }
    ctx.script_dir()
        .and_then(|d| d.parent().and_then(Path::parent).map(Path::to_path_buf))
        .unwrap_or_else(|| ctx.cwd.clone())
}

fn settings(ctx: &Invocation<'_>, call: &Call) -> anyhow::Result<Settings> {
    let mut s = Settings::resolve(&ctx.env, &package_root(ctx, call), &ctx.cwd)?;
    let text = |v: Option<&str>, into: &mut String| {
        if let Some(v) = v {
            *into = v.to_string();
        }
    };
    text(call.get("repo-slug"), &mut s.repo);
    text(call.get("default-branch"), &mut s.default_branch);
    text(call.get("coding-worker"), &mut s.coding_worker);
    text(call.get("handoff-label"), &mut s.rules.handoff_label);
    text(call.get("exclusive-label"), &mut s.rules.exclusive_label);
    let path = |v: Option<PathBuf>, into: &mut PathBuf| {
        if let Some(v) = v {
            *into = v;
        }
    };
    path(call.path("tools-dir"), &mut s.tools_dir);
    path(call.path("adapter-bin-dir"), &mut s.adapter_bin_dir);
    path(call.path("state-root"), &mut s.state_root);
    path(call.path("agent-repo-root"), &mut s.agent_repo_root);
    path(call.path("pending-launch-dir"), &mut s.pending_dir);
    Ok(s)
}

/// The calling shell's cache directory: `ACP_HEARTBEAT_CACHE_DIR` (a
/// caller that runs many shells for one pass), else the one of `--owner`.
fn cache_dir(ctx: &Invocation<'_>, call: &Call) -> Option<PathBuf> {
    if let Some(d) = ctx
        .env
        .path("ACP_HEARTBEAT_CACHE_DIR")
        .filter(|d| !d.as_os_str().is_empty())
    {
        return Some(d);
    }
    if let Some(d) = call.path("cache-dir") {
        return Some(d);
    }
    let owner = call.get("owner")?.parse().ok()?;
    Some(reads::cache_dir_for(&ctx.env, owner))
}

fn print_env(ctx: &mut Invocation<'_>, s: &Settings, cache: Option<&Path>) -> anyhow::Result<()> {
    if let Some(dir) = cache {
        reads::prune_cache_dirs(dir);
    }
    let p = |x: &Path| x.to_string_lossy().into_owned();
    let pairs = [
        ("CONFIG_YAML", p(&s.config_yaml)),
        ("PROFILE_ID", s.profile_id.clone()),
        ("REPO_SLUG", s.repo.clone()),
        ("AGENT_REPO_ROOT", p(&s.agent_repo_root)),
        ("DEFAULT_BRANCH", s.default_branch.clone()),
        ("STATE_ROOT", p(&s.state_root)),
        ("PENDING_LAUNCH_DIR", p(&s.pending_dir)),
        ("AGENT_PR_PREFIXES_JSON", s.prefixes_json()),
        (
            "AGENT_PR_ISSUE_CAPTURE_REGEX",
            s.issue_branch_regex().to_string(),
        ),
        ("AGENT_PR_HANDOFF_LABEL", s.rules.handoff_label.clone()),
        ("AGENT_EXCLUSIVE_LABEL", s.rules.exclusive_label.clone()),
        ("CODING_WORKER", s.coding_worker.clone()),
        (
            "HEARTBEAT_SNAPSHOT_CACHE_DIR",
            cache.map(p).unwrap_or_default(),
        ),
    ];
    for (k, v) in pairs {
        if !v.contains('\n') {
            writeln!(ctx.stdout, "{k}={v}")?;
        }
    }
    Ok(())
}

/// `call HOOK [ARGS] [:: HOOK [ARGS]]...`: the hooks of the policy the
/// heartbeat pass would load for `--hook-file` (the shipped file: the Rust
/// policy in this process, one snapshot for every call), one after the
/// other; each prints `HOOK=<name>`, `STATUS=<n>` and its output.
fn call_policy(ctx: &mut Invocation<'_>, call: &Call, s: Settings) -> anyhow::Result<i32> {
    let hook_file = call
        .path("hook-file")
        .ok_or_else(|| fail(64, format!("{NAME} call: --hook-file is required")))?;
    let hc = HookContext {
        repo_slug: s.repo.clone(),
        state_root: s.state_root.clone(),
        hook_file,
        env: ctx.env.clone(),
        cwd: ctx.cwd.clone(),
        exe: ctx.exe.clone(),
        ..HookContext::default()
    };
    let Some(mut hooks) = policy::load(&hc)? else {
        return Err(fail(1, format!("{NAME} call: not the shipped hook file")));
    };
    let mut worst = 0;
    for step in call.args.split(|a| a == "::") {
        let Some((name, args)) = step.split_first() else {
            continue;
        };
        let run = policy::call::by_name(hooks.as_mut(), name, args)
            .unwrap_or_else(|e| HookRun::failed(1, format!("{e:#}\n")));
        writeln!(ctx.stdout, "HOOK={name}\nSTATUS={}", run.status)?;
        ctx.stdout.write_all(run.output.as_bytes())?;
        worst = worst.max(run.status);
    }
    Ok(worst)
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, argv: &[OsString]) -> anyhow::Result<i32> {
    if acp_core::cli::first_is_help(argv) {
        write!(ctx.stdout, "{}", acp_core::cli::usage(&command()))?;
        return Ok(0);
    }
    let call = parse(argv)?;
    let s = settings(ctx, &call)?;
    let cache = cache_dir(ctx, &call);
    if call.word == "call" {
        return call_policy(ctx, &call, s);
    }
    if call.word == "env" {
        print_env(ctx, &s, cache.as_deref())?;
        return Ok(0);
    }
    let mut stdin = Vec::new();
    if call.stdin {
        std::io::stdin().read_to_end(&mut stdin)?;
    }
    let mut p = Policy::new(s, cache, LabelWrites::Sibling);
    match policy::words::run(&mut p, &call.word, &call.args, &stdin) {
        Ok(r) => {
            ctx.stdout.write_all(r.output.as_bytes())?;
            Ok(r.status)
        }
        Err(e) => {
            writeln!(ctx.stderr, "{NAME} {}: {e:#}", call.word)?;
            Ok(1)
        }
    }
}
