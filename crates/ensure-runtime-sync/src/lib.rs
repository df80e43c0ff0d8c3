//! `ensure-runtime-sync.sh`: run `sync-shared-agent-home.sh` only when the
//! source changed since the last publish (or the runtime copy is missing,
//! or `--force`), and record what was published in the runtime home's
//! stamp file.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use acp_core::{Invocation, ToolSpec, cli};
use acp_runtime::install::ensure::{self, EnsureRequest};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "ensure-runtime-sync.sh",
    aliases: &["ensure-runtime-sync"],
    paths: &["tools/bin/ensure-runtime-sync.sh"],
    about: "Publish into the runtime home only when the source changed",
    command,
    run,
}];

/// The argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "ensure-runtime-sync.sh",
        "Detects drift between the source and the published runtime copy (a fingerprint \
         of file names, sizes and modification times) and runs sync-shared-agent-home.sh \
         only when needed. The sync tool is ACP_RUNTIME_SYNC_SCRIPT, else \
         AGENT_CONTROL_PLANE_SYNC_SCRIPT, else the sibling sync-shared-agent-home.sh.",
    )
    .override_usage(
        "ensure-runtime-sync.sh [--source-home <path>] [--runtime-home <path>] [--force] [--quiet]",
    )
    .arg(cli::opt("source-home").help(
        "Source home [env: ACP_RUNTIME_SYNC_SOURCE_HOME, AGENT_FLOW_SOURCE_HOME; default: \
         the package, or for a published copy the source its stamp names]",
    ))
    .arg(cli::opt("runtime-home").help(
        "Runtime home [env: ACP_RUNTIME_SYNC_RUNTIME_HOME, AGENT_RUNTIME_HOME; default: \
         <platform home>/runtime-home]",
    ))
    .arg(cli::flag("force").help("Sync even when nothing changed"))
    .arg(cli::flag("quiet").help("Print nothing"))
}

/// A path option: `None` when absent; an error when given without a value.
fn path_opt(m: &clap::ArgMatches, name: &str) -> anyhow::Result<Option<PathBuf>> {
    if !cli::given(m, name) {
        return Ok(None);
    }
    let value = cli::get(m, name);
    if value.is_empty() {
        return Err(acp_core::fail(
            cli::USAGE_EXIT,
            format!("ensure-runtime-sync.sh: --{name} requires a path"),
        ));
    }
    Ok(Some(PathBuf::from(value)))
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let m = match cli::parse(ctx, command(), args, cli::USAGE_EXIT)? {
        cli::Parsed::Matches(m) => m,
        cli::Parsed::Exit(code) => return Ok(code),
    };
    let req = EnsureRequest {
        source_home: path_opt(&m, "source-home")?,
        runtime_home: path_opt(&m, "runtime-home")?,
        force: m.get_flag("force"),
    };
    let quiet = m.get_flag("quiet");
    let mut env = ctx.env.clone();
    acp_core::config::export_env_aliases(&mut env);
    let skill = acp_core::config::skill_root(&env, ctx.script_path().as_deref())?;
    let plan = ensure::plan(&env, &skill, &req)?;

    let status = if plan.needs_sync {
        let mut cmd = sync_command(ctx, &env);
        cmd.arg(&plan.source_home).arg(&plan.runtime_home);
        let out = acp_core::dispatch::output(&mut cmd)?;
        if !out.status.success() {
            ctx.stderr.write_all(&out.stderr)?;
            return Ok(acp_core::process::exit_code(out.status));
        }
        "updated"
    } else {
        "unchanged"
    };
    plan.write_stamp(status)?;
    if quiet {
        return Ok(0);
    }
    let show = |p: &Path| p.to_string_lossy().into_owned();
    for (key, value) in [
        ("SYNC_STATUS", status.to_string()),
        ("SOURCE_HOME", show(&plan.source_home)),
        ("SOURCE_SKILL_DIR", show(&plan.source_skill_dir)),
        ("RUNTIME_HOME", show(&plan.runtime_home)),
        ("RUNTIME_SKILL_DIR", show(&plan.runtime_skill_dir)),
        ("SOURCE_FINGERPRINT", plan.fingerprint.clone()),
        ("STAMP_FILE", show(&plan.stamp_file)),
    ] {
        cli::printable(key, &value).map_err(|e| acp_core::fail(1, e))?;
        ctx.out_kv(key, value)?;
    }
    Ok(0)
}

/// `bash <sync script>`: the override from the environment, else the
/// sibling `sync-shared-agent-home.sh` (this binary's own tool when there
/// is no sibling file).
fn sync_command(ctx: &Invocation<'_>, env: &acp_core::Env) -> std::process::Command {
    let over = env.first_non_empty(&["ACP_RUNTIME_SYNC_SCRIPT", "AGENT_CONTROL_PLANE_SYNC_SCRIPT"]);
    match over {
        Some(script) => {
            let mut cmd = std::process::Command::new("bash");
            cmd.arg(script);
            env.apply(&mut cmd);
            cmd.current_dir(&ctx.cwd);
            cmd
        }
        None => {
            let dir = ctx.script_dir().unwrap_or_default();
            acp_core::script_or_tool_command(
                &ctx.exe,
                &ctx.cwd,
                env,
                &dir,
                "sync-shared-agent-home.sh",
            )
        }
    }
}
