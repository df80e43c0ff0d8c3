//! `test-smoke.sh`: the operator smoke gate: the package contract check,
//! the profile smoke check of a scaffolded profile and `project-runtimectl.sh
//! status` of another, each against a throw-away registry.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use acp_core::{Env, Invocation, ToolSpec, cli};
use acp_runtime::install::smoke::{Event, Smoke};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "test-smoke.sh",
    aliases: &["test-smoke"],
    paths: &["tools/bin/test-smoke.sh"],
    about: "Run the operator smoke gates of the package in one command",
    command,
    run,
}];

/// The argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "test-smoke.sh",
        "Runs the main smoke gates of the package: 1. check-skill-contracts.sh (skipped \
         when the package has none), 2. profile-smoke.sh against a temporary scaffolded \
         profile registry, 3. project-runtimectl.sh status against a temporary scaffolded \
         profile. Prints SMOKE_STEP=, SMOKE_STEP_STATUS= per step and SMOKE_TEST_STATUS=; \
         a failing step stops the run with its exit code. The tools can be replaced with \
         ACP_TEST_SMOKE_CHECK_CONTRACTS_SCRIPT, ACP_TEST_SMOKE_PROFILE_SMOKE_SCRIPT, \
         ACP_TEST_SMOKE_RUNTIMECTL_SCRIPT and ACP_TEST_SMOKE_SCAFFOLD_PROFILE_SCRIPT.",
    )
    .override_usage("test-smoke.sh [--help]")
}

/// The package root: two levels above this tool's shim, else the resolved one.
fn package_root(ctx: &Invocation<'_>, env: &Env) -> anyhow::Result<PathBuf> {
    if let Some(dir) = ctx.script_dir() {
        let root = acp_core::fsx::canonical_or_given(&dir.join("../.."));
        if root.is_dir() {
            return Ok(root);
        }
    }
    acp_core::config::skill_root(env, None)
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    match cli::parse(ctx, command(), args, cli::USAGE_EXIT)? {
        cli::Parsed::Matches(_) => {}
        cli::Parsed::Exit(code) => return Ok(code),
    }
    let env = ctx.env.clone();
    let skill = package_root(ctx, &env)?;
    let tools_dir = skill.join("tools/bin");
    let (exe, cwd) = (ctx.exe.clone(), ctx.cwd.clone());
    let command_for = move |over: Option<&Path>, tool: &str, env: &Env| match over {
        Some(script) => {
            let mut cmd = std::process::Command::new("bash");
            cmd.arg(script);
            env.apply(&mut cmd);
            cmd.current_dir(&cwd);
            cmd
        }
        None => acp_core::script_or_tool_command(&exe, &cwd, env, &tools_dir, tool),
    };
    let smoke = Smoke {
        env: &env,
        skill,
        command_for: &command_for,
    };
    let mut report = |event: Event<'_>| -> anyhow::Result<()> {
        match event {
            Event::Step(label) => ctx.out_kv("SMOKE_STEP", label)?,
            Event::Output(out, err) => {
                ctx.stdout.write_all(out)?;
                ctx.stderr.write_all(err)?;
            }
            Event::Skipped => ctx.out_kv("SMOKE_STEP_STATUS", "skipped")?,
            Event::Passed => ctx.out_kv("SMOKE_STEP_STATUS", "ok")?,
            Event::Failed(label, code) => {
                ctx.out_kv("SMOKE_STEP_STATUS", "failed")?;
                ctx.out_kv("FAILED_STEP", label)?;
                ctx.out_kv("EXIT_CODE", code)?;
                ctx.out_kv("SMOKE_TEST_STATUS", "failed")?;
            }
        }
        ctx.stdout.flush()?;
        Ok(())
    };
    let code = smoke.run_all(&mut report)?;
    if code == 0 {
        ctx.out_kv("SMOKE_TEST_STATUS", "ok")?;
    }
    Ok(code)
}
