//! `bin/issue-resource-class.sh ISSUE_ID` (and its front
//! `tools/bin/issue-resource-class.sh`): tells an issue that needs a heavy
//! end-to-end environment (Playwright, Detox, Maestro, "e2e tests") from a
//! standard one. Prints `ISSUE_ID=`, `CLASS=e2e-heavy|standard`,
//! `IS_E2E=yes|no`.

use std::ffi::OsString;
use std::sync::LazyLock;

use acp_core::config::{self, FlowConfig};
use acp_core::{Invocation, ToolSpec, fail};
use acp_github::Gh;
use acp_session::risk::adapter;
use regex::Regex;

const NAME: &str = "issue-resource-class.sh";
const USAGE: &str = "issue-resource-class.sh ISSUE_ID";

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: NAME,
    aliases: &["issue-resource-class"],
    paths: &[
        "bin/issue-resource-class.sh",
        "tools/bin/issue-resource-class.sh",
    ],
    about: "Classify an issue as e2e-heavy or standard",
    command,
    run,
}];

/// The argument description (one positional word, as the original).
pub fn command() -> clap::Command {
    acp_core::cli::tool_command(
        NAME,
        "Reads issue ISSUE_ID of the profile's repository and prints ISSUE_ID=, \
         CLASS=e2e-heavy|standard and IS_E2E=yes|no. Heavy: a label agent-e2e-heavy, e2e, \
         playwright, detox or maestro; a title naming e2e, end-to-end, Playwright, Detox or \
         Maestro; or a body naming Playwright, Detox, Maestro or e2e/end-to-end tests, runs, \
         suites, specs, smoke or flakes.",
    )
    .override_usage(USAGE)
    .arg(clap::Arg::new("ISSUE_ID").help("The issue number"))
}

/// Labels that mark an issue heavy by themselves (compared lower-cased).
pub const HEAVY_LABELS: &[&str] = &["agent-e2e-heavy", "e2e", "playwright", "detox", "maestro"];

fn re(p: &str) -> Regex {
    match Regex::new(p) {
        Ok(r) => r,
        Err(e) => unreachable!("invalid built-in pattern {p}: {e}"),
    }
}

static TITLE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)(^|[^a-z0-9])(e2e|end-to-end|end to end|playwright|detox|maestro)([^a-z0-9]|$)")
});
static BODY: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(^|[^a-z0-9])(playwright|detox|maestro|(e2e|end-to-end)[ -]+(test|tests|smoke|suite|run|runs|flaky|flake|spec))([^a-z0-9]|$)",
    )
});

/// Whether an issue with these labels, title and body is e2e-heavy.
pub fn is_e2e(labels: &[String], title: &str, body: &str) -> bool {
    labels
        .iter()
        .any(|l| HEAVY_LABELS.contains(&l.trim().to_lowercase().as_str()))
        || TITLE.is_match(title)
        || BODY.is_match(body)
}

/// Runs `bin/issue-resource-class.sh` or its `tools/bin` front.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if acp_core::cli::first_is_help(args) {
        write!(ctx.stdout, "{}", acp_core::cli::usage(&command()))?;
        return Ok(0);
    }
    let Some(id) = args
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
    else {
        return Err(fail(1, format!("{NAME}: usage: {USAGE}")));
    };
    let script = ctx.script_path();
    if adapter::is_tools_front(script.as_deref())
        && let Some(target) = adapter::bin_script(&ctx.env, script.as_deref(), NAME)
        && !adapter::is_our_shim(&target)
    {
        let mut cmd = ctx.command("bash");
        cmd.arg(target).arg(&id);
        return ctx.relay(&mut cmd);
    }
    classify(ctx, &id)
}

fn classify(ctx: &mut Invocation<'_>, id: &str) -> anyhow::Result<i32> {
    if id.contains(|c: char| c.is_control()) {
        return Err(fail(
            1,
            "issue-resource-class: ISSUE_ID must be an issue number",
        ));
    }
    let number = id.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
        fail(
            1,
            format!("issue-resource-class: ISSUE_ID must be an issue number, got: {id}"),
        )
    })?;
    let cfg = FlowConfig::load(&ctx.env)?;
    let repo = config::repo_slug(&ctx.env, &cfg);
    let issue = Gh::new(ctx.env.clone())
        .and_then(|gh| gh.issue_summary(&repo, number))
        .map_err(|e| {
            fail(
                1,
                format!("issue-resource-class: cannot read issue {id} of {repo}: {e}"),
            )
        })?;
    let heavy = is_e2e(&issue.labels, &issue.title, &issue.body);
    ctx.out_kv("ISSUE_ID", id)?;
    ctx.out_kv("CLASS", if heavy { "e2e-heavy" } else { "standard" })?;
    ctx.out_kv("IS_E2E", if heavy { "yes" } else { "no" })?;
    Ok(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn l(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn heavy_signals() {
        assert!(is_e2e(&l(&[" Playwright "]), "", ""));
        assert!(is_e2e(&[], "Fix E2E login", ""));
        assert!(is_e2e(&[], "end to end: checkout", ""));
        assert!(is_e2e(&[], "", "the detox suite"));
        assert!(is_e2e(&[], "", "add e2e tests for x"));
        assert!(is_e2e(&[], "", "End-to-End  smoke"));
        assert!(!is_e2e(&[], "", "mention e2e only"));
        assert!(!is_e2e(&[], "fix e2ex parsing", ""));
        assert!(!is_e2e(&l(&["bug"]), "Refactor", "nothing"));
        assert!(!is_e2e(&[], "", "maestros"));
    }
}
