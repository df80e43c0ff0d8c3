//! `check-skill-contracts.sh`: checks the package tree this tool stands in
//! against the contracts of the binary that runs it. Prints `PASS <label>`
//! and `SKIP <label> (...)` lines on stdout, `FAIL <label> (...)` lines on
//! stderr, then `CHECK_STATUS=ok` (exit 0) or `CHECK_STATUS=failed` (exit 1).
//!
//! The original grepped its own bash sources for contract strings. Here the
//! tools are one binary, so the checks are what can drift apart in an
//! installed tree:
//! - every tool path the binary registers is there, executable, and the
//!   current shim for that tool (a stale or foreign file is a failure), and
//!   the binary the shims start runs;
//! - the prompt templates exist and carry the placeholders and result
//!   lines the renderers and reconcilers rely on, and every package tool a
//!   template tells the agent to run exists and is executable;
//! - the policy hooks exist and parse (`bash -n`); `SKILL.md` exists and the
//!   workflow catalog is JSON;
//! - a runtime copy under `<platform home>/runtime-home`, when there is one,
//!   holds the same files (`source/runtime drift`).

mod checks;

use std::ffi::OsString;
use std::path::PathBuf;

use acp_core::{Invocation, ToolSpec};

pub use checks::{Report, check_tree};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "check-skill-contracts.sh",
    aliases: &["check-skill-contracts"],
    paths: &["tools/bin/check-skill-contracts.sh"],
    about: "Check the installed package tree against this binary's shims, templates and hooks",
    command,
    run,
}];

/// The argument description (the original took none).
pub fn command() -> clap::Command {
    acp_core::cli::tool_command(
        "check-skill-contracts.sh",
        "Checks the package tree this tool is installed in: every tool shim present, \
         executable and current, the binary they start runnable, the prompt templates' \
         placeholders and result lines, the tools the templates name, the hooks, SKILL.md, the \
         workflow catalog, and drift from the runtime copy under AGENT_PLATFORM_HOME.",
    )
    .override_usage("check-skill-contracts.sh")
}

/// The tree to check: two levels above this tool's shim (the original's
/// `tools/bin/../..`), else the resolved package root.
fn tree_root(ctx: &Invocation<'_>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = ctx.script_dir() {
        return Ok(acp_core::fsx::canonical_or_given(&dir.join("../..")));
    }
    acp_core::config::skill_root(&ctx.env, None)
}

/// Runs the checks.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if acp_core::cli::first_is_help(args) {
        write!(ctx.stdout, "{}", acp_core::cli::usage(&command()))?;
        return Ok(0);
    }
    let root = tree_root(ctx)?;
    let runtime = acp_core::config::runtime_canonical_skill_dir(&ctx.env);
    let report = check_tree(&ctx.env, &ctx.exe, &root, &runtime)?;
    report.print(ctx.stdout, ctx.stderr)?;
    let ok = report.failures() == 0;
    writeln!(
        ctx.stdout,
        "CHECK_STATUS={}",
        if ok { "ok" } else { "failed" }
    )?;
    Ok(if ok { 0 } else { 1 })
}
