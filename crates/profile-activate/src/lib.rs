//! `profile-activate.sh`: show an installed profile's resolved context, or
//! print `export` lines that switch a shell to it.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use acp_core::config::{self, FlowConfig};
use acp_core::shellquote::{QuoteLocale, quote_str};
use acp_core::{Env, Invocation, ToolSpec, cli};

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

/// What was asked for.
struct Args {
    profile_id: String,
    exports_only: bool,
}

impl Args {
    /// The request; `None` without a profile id.
    fn resolve(m: &clap::ArgMatches) -> Option<Self> {
        let profile_id = cli::get(m, "profile-id");
        (!profile_id.is_empty()).then(|| Self {
            profile_id,
            exports_only: m.get_flag("exports"),
        })
    }
}

/// An installed profile, resolved the way a worker of it would see it.
struct Profile {
    id: String,
    registry: PathBuf,
    config_yaml: PathBuf,
    notes: PathBuf,
    /// The installed profile ids, comma-separated.
    available: String,
    /// The environment with the profile selected and its settings exported.
    env: Env,
    cfg: FlowConfig,
}

impl Profile {
    /// The profile `id`; Err(available ids) when it is not installed.
    fn load(base: &Env, id: &str) -> anyhow::Result<Result<Self, String>> {
        let mut env = base.clone();
        config::export_env_aliases(&mut env);
        let registry = config::registry_root(&env);
        let config_yaml = config::profile_dir(&env, id).join(config::CONFIG_FILE_NAME);
        let available = config::profile_ids(&env).join(",");
        if !config::is_valid_profile_id(id) || !config_yaml.is_file() {
            return Ok(Err(available));
        }
        env.set("ACP_PROJECT_ID", id);
        env.set("AGENT_PROJECT_ID", id);
        let cfg = FlowConfig::from_path(&config_yaml)?;
        config::export_execution_settings(&mut env, &cfg, acp_core::time::now_epoch());
        config::export_env_aliases(&mut env);
        Ok(Ok(Self {
            id: id.to_string(),
            registry,
            notes: config::profile_notes_path(&config_yaml),
            config_yaml,
            available,
            env,
            cfg,
        }))
    }

    /// `export NAME=value` lines that select this profile in a shell.
    fn exports(&self, locale: QuoteLocale) -> String {
        let mut out = String::new();
        for (name, value) in [
            ("ACP_PROJECT_ID", self.id.clone()),
            ("AGENT_PROJECT_ID", self.id.clone()),
            ("ACP_PROFILE_REGISTRY_ROOT", lossy(&self.registry)),
            ("ACP_CONFIG", lossy(&self.config_yaml)),
            ("ACP_PROFILE_NOTES", lossy(&self.notes)),
            (
                "ACP_PROFILE_REPO_ROOT",
                lossy(&config::repo_root(&self.env, &self.cfg)),
            ),
            (
                "ACP_PROFILE_AGENT_ROOT",
                lossy(&config::agent_root(&self.env, &self.cfg)),
            ),
        ] {
            let _ = writeln!(out, "export {name}={}", quote_str(&value, locale));
        }
        out
    }

    /// The resolved context as `KEY=value` lines, ending with the command
    /// that activates the profile (`script` is this tool's path).
    fn context(&self, script: &str, locale: QuoteLocale) -> String {
        let (env, cfg) = (&self.env, &self.cfg);
        let q = |s: &str| quote_str(s, locale);
        let rows = [
            ("PROFILE_ID", self.id.clone()),
            ("PROFILE_REGISTRY_ROOT", lossy(&self.registry)),
            ("CONFIG_YAML", lossy(&self.config_yaml)),
            ("PROFILE_NOTES", lossy(&self.notes)),
            ("AVAILABLE_PROFILES", self.available.clone()),
            ("REPO_SLUG", config::repo_slug(env, cfg)),
            ("REPO_ROOT", lossy(&config::repo_root(env, cfg))),
            ("AGENT_ROOT", lossy(&config::agent_root(env, cfg))),
            ("AGENT_REPO_ROOT", lossy(&config::agent_repo_root(env, cfg))),
            ("WORKTREE_ROOT", lossy(&config::worktree_root(env, cfg))),
            ("RUNS_ROOT", lossy(&config::runs_root(env, cfg))),
            ("STATE_ROOT", lossy(&config::state_root(env, cfg))),
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
                    q(script),
                    q(&self.id)
                ),
            ),
        ];
        let mut out = String::new();
        for (k, v) in rows {
            let _ = writeln!(out, "{k}={v}");
        }
        out
    }
}

fn lossy(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let cmd = command();
    let m = match cli::parse(ctx, cmd.clone(), args, 1)? {
        cli::Parsed::Matches(m) => m,
        cli::Parsed::Exit(code) => return Ok(code),
    };
    let Some(a) = Args::resolve(&m) else {
        write!(ctx.stderr, "{}", cli::usage(&cmd))?;
        return Ok(1);
    };
    let profile = match Profile::load(&ctx.env, &a.profile_id)? {
        Ok(p) => p,
        Err(available) => {
            writeln!(ctx.stderr, "unknown profile id: {}", a.profile_id)?;
            writeln!(ctx.stderr, "AVAILABLE_PROFILES={available}")?;
            return Ok(1);
        }
    };
    let locale = QuoteLocale::from_env(&ctx.env);
    let text = if a.exports_only {
        profile.exports(locale)
    } else {
        let script = ctx
            .script_path()
            .and_then(|p| p.parent().map(|d| d.join("profile-activate.sh")))
            .map(|p| lossy(&p))
            .unwrap_or_else(|| "profile-activate.sh".to_string());
        profile.context(&script, locale)
    };
    ctx.stdout.write_all(text.as_bytes())?;
    Ok(0)
}
