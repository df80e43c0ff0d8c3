//! `profile-activate.sh`: show an installed profile's resolved context, or
//! print `export` lines that switch a shell to it.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::PathBuf;

use acp_core::config::{self, FlowConfig};
use acp_core::shellquote::{QuoteLocale, quote_str};
use acp_core::{Invocation, ToolSpec, cli};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "profile-activate.sh",
    aliases: &["profile-activate"],
    paths: &["tools/bin/profile-activate.sh"],
    about: "Show an installed profile's context or print exports that select it",
    command,
    run,
}];

/// The argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "profile-activate.sh",
        "Shows the resolved context of one installed profile, or with --exports prints \
         shell `export` lines that make later operator commands use that profile.",
    )
    .override_usage("profile-activate.sh --profile-id <id> [--exports]")
    .arg(cli::opt("profile-id").help("Id of an installed profile (its registry directory name)"))
    .arg(cli::flag("exports").help("Print export statements instead of the context"))
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let cmd = command();
    let m = match cli::parse(ctx, cmd.clone(), args, 1)? {
        cli::Parsed::Matches(m) => m,
        cli::Parsed::Exit(code) => return Ok(code),
    };
    let profile_id = cli::get(&m, "profile-id");
    let exports_only = m.get_flag("exports");
    if profile_id.is_empty() {
        write!(ctx.stderr, "{}", cli::usage(&cmd))?;
        return Ok(1);
    }

    let mut env = ctx.env.clone();
    config::export_env_aliases(&mut env);
    let registry = config::registry_root(&env);
    let config_yaml = config::profile_dir(&env, &profile_id).join(config::CONFIG_FILE_NAME);
    let available = config::profile_ids(&env).join(",");
    if !config::is_valid_profile_id(&profile_id) || !config_yaml.is_file() {
        writeln!(ctx.stderr, "unknown profile id: {profile_id}")?;
        writeln!(ctx.stderr, "AVAILABLE_PROFILES={available}")?;
        return Ok(1);
    }
    let notes = config::profile_notes_path(&config_yaml);

    env.set("ACP_PROJECT_ID", &profile_id);
    env.set("AGENT_PROJECT_ID", &profile_id);
    let cfg = FlowConfig::from_path(&config_yaml)?;
    config::export_execution_settings(&mut env, &cfg, acp_core::time::now_epoch());
    config::export_env_aliases(&mut env);

    let repo_root = config::repo_root(&env, &cfg);
    let agent_root = config::agent_root(&env, &cfg);
    let locale = QuoteLocale::from_env(&ctx.env);
    let q = |s: &str| quote_str(s, locale);
    let lossy = |p: &PathBuf| p.to_string_lossy().into_owned();

    let mut out = String::new();
    if exports_only {
        for (name, value) in [
            ("ACP_PROJECT_ID", profile_id.clone()),
            ("AGENT_PROJECT_ID", profile_id.clone()),
            ("ACP_PROFILE_REGISTRY_ROOT", lossy(&registry)),
            ("ACP_CONFIG", lossy(&config_yaml)),
            ("ACP_PROFILE_NOTES", lossy(&notes)),
            ("ACP_PROFILE_REPO_ROOT", lossy(&repo_root)),
            ("ACP_PROFILE_AGENT_ROOT", lossy(&agent_root)),
        ] {
            let _ = writeln!(out, "export {name}={}", q(&value));
        }
        ctx.stdout.write_all(out.as_bytes())?;
        return Ok(0);
    }

    let script_path = ctx
        .script_path()
        .and_then(|p| p.parent().map(|d| d.join("profile-activate.sh")))
        .map(|p| lossy(&p))
        .unwrap_or_else(|| "profile-activate.sh".to_string());
    let rows = [
        ("PROFILE_ID", profile_id.clone()),
        ("PROFILE_REGISTRY_ROOT", lossy(&registry)),
        ("CONFIG_YAML", lossy(&config_yaml)),
        ("PROFILE_NOTES", lossy(&notes)),
        ("AVAILABLE_PROFILES", available),
        ("REPO_SLUG", config::repo_slug(&env, &cfg)),
        ("REPO_ROOT", lossy(&repo_root)),
        ("AGENT_ROOT", lossy(&agent_root)),
        (
            "AGENT_REPO_ROOT",
            lossy(&config::agent_repo_root(&env, &cfg)),
        ),
        ("WORKTREE_ROOT", lossy(&config::worktree_root(&env, &cfg))),
        ("RUNS_ROOT", lossy(&config::runs_root(&env, &cfg))),
        ("STATE_ROOT", lossy(&config::state_root(&env, &cfg))),
        (
            "CODING_WORKER",
            env.first_or(&["ACP_CODING_WORKER"], "codex"),
        ),
        (
            "ACTIVE_PROVIDER_POOL_NAME",
            env.get_or_empty("ACP_ACTIVE_PROVIDER_POOL_NAME"),
        ),
        (
            "NEXT_STEP",
            format!(
                "eval \"$({} --profile-id {} --exports)\"",
                q(&script_path),
                q(&profile_id)
            ),
        ),
    ];
    for (k, v) in rows {
        let _ = writeln!(out, "{k}={v}");
    }
    ctx.stdout.write_all(out.as_bytes())?;
    Ok(0)
}
