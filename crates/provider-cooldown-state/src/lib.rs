//! `provider-cooldown-state.sh [backend] [model] get|schedule|clear [reason]`:
//! the quota cooldown of one coding-worker provider (backend + model, plus
//! the active account label for codex), kept as a retry record of kind
//! `provider` under `<state>/retries/providers/<key>.env`.
//!
//! Prints `BACKEND=`, `MODEL=`, `LABEL=`, `PROVIDER_KEY=` and then the lines
//! of `agent-project-retry-state` (run through its path next to this
//! script, so a stub there is what runs).

use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;

use acp_core::config::{self, FlowConfig};
use acp_core::{Env, Invocation, ToolSpec, fail};
use anyhow::Context;

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "provider-cooldown-state.sh",
    aliases: &["provider-cooldown-state"],
    paths: &["tools/bin/provider-cooldown-state.sh"],
    about: "Read or update the quota cooldown of the active coding-worker provider",
    command,
    run,
}];

const USAGE: &str =
    "provider-cooldown-state.sh [--until EPOCH] [backend] [model] get|schedule|clear [reason]";

/// The variable a caller sets instead of `--until` (the argument vector
/// stays the original's for stubs that record it).
pub const UNTIL_ENV: &str = "ACP_PROVIDER_COOLDOWN_UNTIL_EPOCH";

/// Splits a leading `--until EPOCH` / `--until=EPOCH` off the words.
fn split_until(args: &[OsString]) -> (Option<String>, &[OsString]) {
    match args.first().and_then(|a| a.to_str()) {
        Some("--until") => (
            Some(
                args.get(1)
                    .map(|a| a.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            ),
            args.get(2..).unwrap_or_default(),
        ),
        Some(a) if a.starts_with("--until=") => {
            (Some(a["--until=".len()..].to_string()), &args[1..])
        }
        _ => (None, args),
    }
}

/// When a scheduled cooldown ends early enough to matter: `--until`, else
/// `ACP_PROVIDER_COOLDOWN_UNTIL_EPOCH`, else a reset time the reason text
/// itself states (`provider-quota-limit: try again at 3:05 PM`).
fn until_epoch(given: Option<&str>, env: &Env, reason: &std::ffi::OsStr) -> Option<i64> {
    let parsed = |v: &str| v.trim().parse::<i64>().ok().filter(|e| *e > 0);
    given
        .and_then(parsed)
        .or_else(|| env.non_empty(UNTIL_ENV).as_deref().and_then(parsed))
        .or_else(|| {
            acp_core::classify::reset::reset_epoch_local(
                &reason.to_string_lossy(),
                acp_core::time::now_epoch(),
                env.get("TZ").as_deref(),
            )
        })
}

/// The argument description (positional, parsed by count like the original).
pub fn command() -> clap::Command {
    acp_core::cli::tool_command(
        "provider-cooldown-state.sh",
        "Reads or updates the quota cooldown of a coding-worker provider. With one \
         argument it is the action, two are action and reason, three are backend, model \
         and action, four add the reason. `schedule` holds the provider back until \
         --until EPOCH (or ACP_PROVIDER_COOLDOWN_UNTIL_EPOCH, or a reset time stated in \
         the reason: `try again at 3:05 PM`, `resets in 2h`) instead of the fixed \
         back-off when one is known. A missing backend comes from CODING_WORKER, \
         ACP_ACTIVE_PROVIDER_BACKEND, ACP_CODING_WORKER or execution.coding_worker; a \
         missing model from the backend's model variables or profile settings. Codex \
         cooldowns are kept per account label.",
    )
    .override_usage(USAGE)
    .arg(
        clap::Arg::new("args")
            .num_args(0..=4)
            .value_names(["BACKEND", "MODEL", "ACTION", "REASON"])
            .help("[backend] [model] get|schedule|clear [reason]"),
    )
    .after_help(
        "Examples:\n  provider-cooldown-state.sh get\n  provider-cooldown-state.sh openclaw \
             openrouter/qwen/qwen3.6-plus-preview:free schedule provider-quota-limit",
    )
}

fn usage_text() -> String {
    command().render_help().to_string()
}

/// The positional arguments sorted by count.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Positional {
    backend: String,
    model: String,
    action: String,
    reason: OsString,
}

fn positional(args: &[OsString]) -> Option<Positional> {
    let s = |i: usize| {
        args.get(i)
            .map(|a| a.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let os = |i: usize| args.get(i).cloned().unwrap_or_default();
    Some(match args.len() {
        1 => Positional {
            action: s(0),
            ..Positional::default()
        },
        2 => Positional {
            action: s(0),
            reason: os(1),
            ..Positional::default()
        },
        3 => Positional {
            backend: s(0),
            model: s(1),
            action: s(2),
            ..Positional::default()
        },
        4 => Positional {
            backend: s(0),
            model: s(1),
            action: s(2),
            reason: os(3),
        },
        _ => return None,
    })
}

/// Backend: argument > `CODING_WORKER` (left by a sourced run.env) >
/// `ACP_ACTIVE_PROVIDER_BACKEND` > `ACP_CODING_WORKER` > `execution.coding_worker`.
fn resolve_backend(env: &Env, cfg: &FlowConfig, given: &str) -> String {
    if !given.is_empty() {
        return given.to_string();
    }
    env.first_non_empty(&[
        "CODING_WORKER",
        "ACP_ACTIVE_PROVIDER_BACKEND",
        "ACP_CODING_WORKER",
    ])
    .or_else(|| cfg.get("execution.coding_worker"))
    .unwrap_or_default()
}

/// Model (or codex profile) for `backend`: argument, else the backend's
/// runtime variable, the active pool model, its `ACP_` setting, the profile.
fn resolve_model(env: &Env, cfg: &FlowConfig, backend: &str, given: &str) -> String {
    if !given.is_empty() {
        return given.to_string();
    }
    let (runtime, setting, yaml_key) = match backend {
        "openclaw" => (
            "OPENCLAW_MODEL",
            "ACP_OPENCLAW_MODEL",
            "execution.openclaw.model",
        ),
        "claude" => ("CLAUDE_MODEL", "ACP_CLAUDE_MODEL", "execution.claude.model"),
        "codex" => (
            "CODEX_PROFILE_SAFE",
            "ACP_CODEX_PROFILE_SAFE",
            "execution.safe_profile",
        ),
        _ => return String::new(),
    };
    env.first_non_empty(&[runtime, "ACP_ACTIVE_PROVIDER_MODEL", setting])
        .or_else(|| cfg.get(yaml_key))
        .unwrap_or_default()
}

/// The `.activeInfo.trackedLabel // .activeInfo.activeLabel` of a
/// `codex-quota codex list --json` answer (null and false fall through).
pub fn active_label_from_json(text: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(text).ok()?;
    let info = value.get("activeInfo")?;
    ["trackedLabel", "activeLabel"]
        .iter()
        .find_map(|k| match info.get(*k)? {
            serde_json::Value::Null | serde_json::Value::Bool(false) => None,
            serde_json::Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        })
}

/// The codex account label: `ACP_ACTIVE_PROVIDER_LABEL` >
/// `ACP_CODEX_QUOTA_LABEL` > what the codex-quota tool reports as active.
/// `tools_dir` is this script's directory, which the original handed to the
/// codex-quota lookup as if it were the package root.
fn resolve_codex_label(env: &Env, tools_dir: Option<&Path>) -> String {
    if let Some(label) =
        env.first_non_empty(&["ACP_ACTIVE_PROVIDER_LABEL", "ACP_CODEX_QUOTA_LABEL"])
    {
        return label;
    }
    let Some(dir) = tools_dir else {
        return String::new();
    };
    let bin = config::codex_quota_bin(env, dir);
    if !acp_core::fsx::is_executable(&bin) {
        return String::new();
    }
    let mut cmd = std::process::Command::new(&bin);
    env.apply(&mut cmd);
    cmd.args(["codex", "list", "--json"])
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    match cmd.output() {
        Ok(out) => active_label_from_json(&out.stdout).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// A value as one output line (newlines become spaces).
fn one_line(value: &str) -> String {
    value.replace(['\n', '\r'], " ")
}

/// Everything one call resolved: the provider, its key, where its record
/// lives and the cooldowns, plus the environment the retry-state tool runs in.
#[derive(Debug, Clone)]
pub struct Args {
    pub backend: String,
    pub model: String,
    pub label: String,
    pub provider_key: String,
    pub action: String,
    pub reason: OsString,
    pub state_root: std::path::PathBuf,
    pub cooldowns: String,
    /// `schedule`: the epoch the provider's quota comes back, when known.
    pub until: Option<i64>,
    /// The caller's environment with the profile's execution settings.
    pub env: Env,
}

impl Args {
    /// The positional words sorted by count, then the backend, model and
    /// (codex) account label chains, the state root and the quota cooldowns
    /// from the environment and the selected profile. `Ok(None)` for a word
    /// count or action that only earns the usage (exit 1).
    pub fn resolve(ctx: &Invocation<'_>, words: &[OsString]) -> anyhow::Result<Option<Self>> {
        let (until, words) = split_until(words);
        let Some(pos) = positional(words) else {
            return Ok(None);
        };
        let cfg = FlowConfig::load(&ctx.env)?;
        let mut env = ctx.env.clone();
        config::export_execution_env(&mut env, &cfg)?;
        let backend = resolve_backend(&env, &cfg, &pos.backend);
        if backend.is_empty() {
            return Err(fail(1, "provider backend is required"));
        }
        let model = resolve_model(&env, &cfg, &backend, &pos.model);
        if model.is_empty() {
            return Err(fail(
                1,
                format!("provider model/profile is required for backend {backend}"),
            ));
        }
        if !matches!(pos.action.as_str(), "get" | "schedule" | "clear") {
            return Ok(None);
        }
        let label = if backend == "codex" {
            resolve_codex_label(&env, ctx.script_dir().as_deref())
        } else {
            String::new()
        };
        let mut key_source = format!("{backend}-{model}");
        if !label.is_empty() {
            key_source.push('-');
            key_source.push_str(&label);
        }
        let until = (pos.action == "schedule")
            .then(|| until_epoch(until.as_deref(), &env, &pos.reason))
            .flatten();
        Ok(Some(Self {
            until,
            provider_key: config::sanitize_provider_key(&key_source),
            state_root: config::state_root(&env, &cfg),
            cooldowns: config::provider_quota_cooldowns(&env, &cfg),
            backend,
            model,
            label,
            action: pos.action,
            reason: pos.reason,
            env,
        }))
    }
}

/// Runs `provider-cooldown-state.sh`.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if acp_core::cli::first_is_help(args) {
        write!(ctx.stdout, "{}", usage_text())?;
        return Ok(0);
    }
    let Some(a) = Args::resolve(ctx, args)? else {
        write!(ctx.stderr, "{}", usage_text())?;
        return Ok(1);
    };
    let out = run_retry_state(ctx, &a)?;
    ctx.stderr.write_all(&out.stderr)?;
    if !out.status.success() {
        return Ok(acp_core::process::exit_code(out.status));
    }
    let mut text = String::new();
    for (k, v) in [
        ("BACKEND", &a.backend),
        ("MODEL", &a.model),
        ("LABEL", &a.label),
        ("PROVIDER_KEY", &a.provider_key),
    ] {
        text.push_str(&format!("{k}={}\n", one_line(v)));
    }
    ctx.stdout.write_all(text.as_bytes())?;
    // The retry-state lines, trailing newlines collapsed to one (as `$(...)`).
    let mut body = out.stdout.as_slice();
    while let [rest @ .., b'\n'] = body {
        body = rest;
    }
    ctx.stdout.write_all(body)?;
    ctx.stdout.write_all(b"\n")?;
    Ok(0)
}

/// Runs the sibling `agent-project-retry-state` (a stub there is what runs)
/// for the provider's record; it serialises concurrent updates of the record.
fn run_retry_state(ctx: &Invocation<'_>, a: &Args) -> anyhow::Result<std::process::Output> {
    let mut env = a.env.clone();
    env.set("ACP_STATE_ROOT", a.state_root.as_os_str());
    env.set("ACP_PROVIDER_QUOTA_COOLDOWNS", a.cooldowns.as_str());
    let mut cmd = ctx.sibling_command("agent-project-retry-state");
    env.apply(&mut cmd);
    cmd.arg("--state-root")
        .arg(&a.state_root)
        .args(["--kind", "provider", "--item-id", &a.provider_key])
        .args(["--action", &a.action])
        .arg("--reason")
        .arg(&a.reason)
        .args(["--cooldowns", &a.cooldowns])
        .stdin(Stdio::null());
    if let Some(until) = a.until {
        cmd.args(["--until", &until.to_string()]);
    }
    cmd.env_remove(UNTIL_ENV);
    acp_core::dispatch::output(&mut cmd).context("failed to run agent-project-retry-state")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn positional_by_count() {
        let v = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(positional(&v(&[])), None);
        assert_eq!(positional(&v(&["a", "b", "c", "d", "e"])), None);
        assert_eq!(positional(&v(&["get"])).unwrap().action, "get");
        let two = positional(&v(&["schedule", "why"])).unwrap();
        assert_eq!(
            (two.action.as_str(), two.reason.to_str()),
            ("schedule", Some("why"))
        );
        let four = positional(&v(&["claude", "m", "schedule", "r"])).unwrap();
        assert_eq!(
            (four.backend.as_str(), four.model.as_str()),
            ("claude", "m")
        );
    }

    #[test]
    fn until_comes_first_and_falls_back_to_the_reason() {
        let v = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        let args = v(&["--until", "1900000000", "schedule", "x"]);
        let (until, rest) = split_until(&args);
        assert_eq!(until.as_deref(), Some("1900000000"));
        assert_eq!(positional(rest).unwrap().action, "schedule");
        let args = v(&["--until=5", "get"]);
        assert_eq!(split_until(&args).0.as_deref(), Some("5"));
        let mut env = Env::new();
        assert_eq!(until_epoch(Some("7"), &env, "r".as_ref()), Some(7));
        env.set(UNTIL_ENV, "9");
        assert_eq!(until_epoch(None, &env, "r".as_ref()), Some(9));
        env.remove(UNTIL_ENV);
        let now = acp_core::time::now_epoch();
        let got = until_epoch(None, &env, "provider-quota-limit: resets in 2h".as_ref()).unwrap();
        assert!((now + 7200..=now + 7202).contains(&got));
        assert_eq!(
            until_epoch(None, &env, "provider-quota-limit".as_ref()),
            None
        );
    }

    #[test]
    fn label_from_quota_json() {
        let j = br#"{"activeInfo":{"trackedLabel":"t1","activeLabel":"a1"}}"#;
        assert_eq!(active_label_from_json(j).as_deref(), Some("t1"));
        let j = br#"{"activeInfo":{"trackedLabel":null,"activeLabel":"a1"}}"#;
        assert_eq!(active_label_from_json(j).as_deref(), Some("a1"));
        assert_eq!(active_label_from_json(br#"{"activeInfo":{}}"#), None);
        assert_eq!(active_label_from_json(b"not json"), None);
    }
}
