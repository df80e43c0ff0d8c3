//! Hidden words for the shipped `hooks/pr-reconcile-hooks.sh`, so that the
//! bash file never sources a configuration library and never evaluates
//! data: it reads `KEY=value` lines of known keys into variables.
//!
//! - `__hook-env`: the selected profile's values (`CONFIG_YAML`, `PROFILE_ID`, `RUNS_ROOT`,
//!   `AGENT_ROOT`, `STATE_ROOT`, `REPO_SLUG`, `AGENT_REPO_ROOT`,
//!   `ISSUE_SESSION_PREFIX`, `PR_WORKTREE_BRANCH_PREFIX`).
//! - `__issue-keep-open SLUG N`: `yes` when the issue has `agent-keep-open`.
//! - `__pr-head-ref SLUG N`: the PR's head branch.
//! - `__json-get KEY`: the top-level value `KEY` of the JSON object on stdin
//!   (strings raw, other scalars as JSON, nothing when absent).

use std::ffi::OsString;
use std::io::Read;

use acp_core::config::{self, FlowConfig};
use acp_core::{Env, Invocation, fail};

/// The profile values a hook file needs.
pub fn profile_values(env: &Env) -> anyhow::Result<Vec<(&'static str, String)>> {
    let cfg = FlowConfig::load(env)?;
    let id = config::adapter_id(env, &cfg);
    let prefix = config::env_or_config(
        env,
        &cfg,
        &[
            "ACP_PR_WORKTREE_BRANCH_PREFIX",
            "F_LOSNING_PR_WORKTREE_BRANCH_PREFIX",
        ],
        "session_naming.pr_worktree_branch_prefix",
        &format!("agent/{id}/pr"),
    );
    let path = |p: std::path::PathBuf| p.display().to_string();
    Ok(vec![
        ("CONFIG_YAML", path(cfg.path.clone())),
        ("PROFILE_ID", id.clone()),
        ("RUNS_ROOT", path(config::runs_root(env, &cfg))),
        ("AGENT_ROOT", path(config::agent_root(env, &cfg))),
        ("STATE_ROOT", path(config::state_root(env, &cfg))),
        ("REPO_SLUG", config::repo_slug(env, &cfg)),
        ("AGENT_REPO_ROOT", path(config::agent_repo_root(env, &cfg))),
        (
            "ISSUE_SESSION_PREFIX",
            config::issue_session_prefix(env, &cfg),
        ),
        ("PR_WORKTREE_BRANCH_PREFIX", prefix),
    ])
}

fn number(word: Option<&OsString>) -> anyhow::Result<u64> {
    word.and_then(|w| w.to_str())
        .and_then(|w| w.parse().ok())
        .ok_or_else(|| fail(2, "expected a number"))
}

fn text(word: Option<&OsString>) -> String {
    word.map(|w| w.to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub fn run(ctx: &mut Invocation<'_>, word: &str, args: &[OsString]) -> anyhow::Result<i32> {
    match word {
        "__hook-env" => {
            for (k, v) in profile_values(&ctx.env)? {
                if v.contains(['\n', '\r']) {
                    return Err(fail(
                        1,
                        format!("{k} contains a line break; refusing to print it"),
                    ));
                }
                ctx.out_kv(k, v)?;
            }
            Ok(0)
        }
        "__issue-keep-open" => {
            let gh = acp_github::Gh::new(ctx.env.clone())?;
            let issue = gh.issue(&text(args.first()), number(args.get(1))?);
            let keep = issue.is_ok_and(|i| i.labels.iter().any(|l| l == "agent-keep-open"));
            writeln!(ctx.stdout, "{}", if keep { "yes" } else { "no" })?;
            Ok(0)
        }
        "__pr-head-ref" => {
            let gh = acp_github::Gh::new(ctx.env.clone())?;
            let pr = gh.pr(&text(args.first()), number(args.get(1))?)?;
            if !pr.head_ref_name.contains(['\n', '\r']) {
                writeln!(ctx.stdout, "{}", pr.head_ref_name)?;
            }
            Ok(0)
        }
        "__json-get" => {
            let mut input = String::new();
            std::io::stdin().take(16 << 20).read_to_string(&mut input)?;
            let v: serde_json::Value = serde_json::from_str(&input).unwrap_or_default();
            let out = match v.get(text(args.first())) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            if !out.contains(['\n', '\r']) {
                writeln!(ctx.stdout, "{out}")?;
            }
            Ok(0)
        }
        _ => Err(fail(2, format!("unknown word {word}"))),
    }
}
