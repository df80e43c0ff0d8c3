//! `test-smoke.sh`: the operator's smoke gate. Three steps, each a run of
//! sibling tools against a throw-away profile registry: the package's
//! contract check, the profile smoke check of a scaffolded profile, and
//! `project-runtimectl.sh status` of another scaffolded profile.
//!
//! The caller builds the commands (it knows the binary) and prints; this
//! module sequences the steps and reports each through a callback.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use acp_core::Env;
use anyhow::Result;

/// How to build a command for a tool: `(script override or None, default
/// tool name, environment)` to a ready [`Command`].
pub type CommandFor<'a> = dyn Fn(Option<&Path>, &str, &Env) -> Command + 'a;

/// What happened, in order, for the caller to print.
#[derive(Debug)]
pub enum Event<'a> {
    /// A step starts (`SMOKE_STEP=<label>`).
    Step(&'a str),
    /// Output a step's tool wrote that the original let through.
    Output(&'a [u8], &'a [u8]),
    /// The step was skipped (its tool is not part of this package).
    Skipped,
    /// The step passed.
    Passed,
    /// The step failed with this exit code.
    Failed(&'a str, i32),
}

/// Where the tools are and which the environment overrides.
pub struct Smoke<'a> {
    pub env: &'a Env,
    /// The package root (`<script dir>/../..`).
    pub skill: PathBuf,
    pub command_for: &'a CommandFor<'a>,
}

/// A step: its exit code, and output to show.
struct StepRun {
    code: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl StepRun {
    fn from_output(out: &Output, keep_stdout: bool) -> Self {
        StepRun {
            code: acp_core::process::exit_code(out.status),
            stdout: if keep_stdout {
                out.stdout.clone()
            } else {
                Vec::new()
            },
            stderr: out.stderr.clone(),
        }
    }
}

impl Smoke<'_> {
    fn script_override(&self, var: &str) -> Option<PathBuf> {
        self.env.path(var)
    }

    fn run(&self, var: &str, tool: &str, env: &Env, args: &[&str]) -> Result<Output> {
        let over = self.script_override(var);
        let mut cmd = (self.command_for)(over.as_deref(), tool, env);
        cmd.args(args);
        acp_core::dispatch::output(&mut cmd)
    }

    /// Runs every step, reporting to `report`; returns the exit code (the
    /// failing step's, else 0).
    pub fn run_all(&self, report: &mut dyn FnMut(Event<'_>) -> Result<()>) -> Result<i32> {
        let contracts = self
            .script_override("ACP_TEST_SMOKE_CHECK_CONTRACTS_SCRIPT")
            .unwrap_or_else(|| self.skill.join("tools/bin/check-skill-contracts.sh"));
        report(Event::Step("check-skill-contracts"))?;
        if contracts.is_file() {
            let out = self.run(
                "ACP_TEST_SMOKE_CHECK_CONTRACTS_SCRIPT",
                "check-skill-contracts.sh",
                self.env,
                &[],
            )?;
            if let Some(code) = self.finish("check-skill-contracts", &out, true, report)? {
                return Ok(code);
            }
        } else {
            report(Event::Skipped)?;
        }
        if let Some(code) = self.step(
            "profile-smoke",
            "ACP_TEST_SMOKE_PROFILE_TEST_SCRIPT",
            || self.profile_smoke_fixture(),
            report,
        )? {
            return Ok(code);
        }
        if let Some(code) = self.step(
            "project-runtimectl",
            "ACP_TEST_SMOKE_RUNTIMECTL_TEST_SCRIPT",
            || self.runtimectl_fixture(),
            report,
        )? {
            return Ok(code);
        }
        Ok(0)
    }

    /// Reports a step run: `Some(code)` when it failed.
    fn finish(
        &self,
        label: &str,
        out: &Output,
        show_stdout: bool,
        report: &mut dyn FnMut(Event<'_>) -> Result<()>,
    ) -> Result<Option<i32>> {
        let run = StepRun::from_output(out, show_stdout);
        self.finish_run(label, run, report)
    }

    fn finish_run(
        &self,
        label: &str,
        run: StepRun,
        report: &mut dyn FnMut(Event<'_>) -> Result<()>,
    ) -> Result<Option<i32>> {
        if !run.stdout.is_empty() || !run.stderr.is_empty() {
            report(Event::Output(&run.stdout, &run.stderr))?;
        }
        if run.code == 0 {
            report(Event::Passed)?;
            Ok(None)
        } else {
            report(Event::Failed(label, run.code))?;
            Ok(Some(run.code))
        }
    }

    /// A fixture step; or, when the older variable `legacy_var` names a
    /// script, that script run as the step `test-<label>` (the names of
    /// earlier releases).
    fn step(
        &self,
        label: &str,
        legacy_var: &str,
        fixture: impl FnOnce() -> Result<StepRun>,
        report: &mut dyn FnMut(Event<'_>) -> Result<()>,
    ) -> Result<Option<i32>> {
        let legacy = self.env.path(legacy_var);
        let label = match legacy {
            Some(_) => format!("test-{label}"),
            None => label.to_string(),
        };
        report(Event::Step(&label))?;
        let run = match legacy {
            Some(script) => {
                let mut cmd = Command::new("bash");
                cmd.arg(script);
                self.env.apply(&mut cmd);
                StepRun::from_output(&acp_core::dispatch::output(&mut cmd)?, true)
            }
            None => fixture()?,
        };
        self.finish_run(&label, run, report)
    }

    /// Scaffolds `smoke-alpha` into a temporary registry and runs the
    /// profile smoke check on it (stdout of both discarded).
    fn profile_smoke_fixture(&self) -> Result<StepRun> {
        let tmp = tempfile::Builder::new().prefix("acp-smoke-").tempdir()?;
        let profiles = tmp.path().join("profiles");
        let profiles_s = profiles.to_string_lossy().into_owned();
        let scaffold = self.run(
            "ACP_TEST_SMOKE_SCAFFOLD_PROFILE_SCRIPT",
            "scaffold-profile.sh",
            self.env,
            &[
                "--profile-home",
                &profiles_s,
                "--profile-id",
                "smoke-alpha",
                "--repo-slug",
                "example/smoke-alpha",
            ],
        )?;
        if !scaffold.status.success() {
            return Ok(StepRun::from_output(&scaffold, false));
        }
        let mut env = self.env.clone();
        env.set("ACP_PROFILE_REGISTRY_ROOT", &profiles);
        let smoke = self.run(
            "ACP_TEST_SMOKE_PROFILE_SMOKE_SCRIPT",
            "profile-smoke.sh",
            &env,
            &["--profile-id", "smoke-alpha"],
        )?;
        Ok(StepRun::from_output(&smoke, false))
    }

    /// Scaffolds `smoke-runtime` with its runtime paths in a temporary
    /// directory and checks that `project-runtimectl.sh status` names it
    /// and reports a runtime status.
    fn runtimectl_fixture(&self) -> Result<StepRun> {
        let id = "smoke-runtime";
        let tmp = tempfile::Builder::new().prefix("acp-smoke-").tempdir()?;
        let profiles = tmp.path().join("profiles");
        let root = tmp.path().join("runtime").join(id);
        let s = |p: &Path| p.to_string_lossy().into_owned();
        let scaffold = self.run(
            "ACP_TEST_SMOKE_SCAFFOLD_PROFILE_SCRIPT",
            "scaffold-profile.sh",
            self.env,
            &[
                "--profile-home",
                &s(&profiles),
                "--profile-id",
                id,
                "--repo-slug",
                &format!("example/{id}"),
                "--agent-root",
                &s(&root),
                "--agent-repo-root",
                &s(&root.join("repo")),
                "--worktree-root",
                &s(&root.join("worktrees")),
            ],
        )?;
        if !scaffold.status.success() {
            return Ok(StepRun::from_output(&scaffold, false));
        }
        let mut env = self.env.clone();
        env.set("ACP_PROFILE_REGISTRY_ROOT", &profiles);
        let status = self.run(
            "ACP_TEST_SMOKE_RUNTIMECTL_SCRIPT",
            "project-runtimectl.sh",
            &env,
            &["status", "--profile-id", id],
        )?;
        let mut run = StepRun::from_output(&status, false);
        if run.code == 0 {
            let text = String::from_utf8_lossy(&status.stdout);
            let names_it = text.lines().any(|l| l == format!("PROFILE_ID={id}"));
            let has_status = text.lines().any(|l| l.starts_with("RUNTIME_STATUS="));
            if !names_it || !has_status {
                run.code = 1;
                run.stderr.extend_from_slice(
                    format!(
                        "project-runtimectl.sh status did not report PROFILE_ID={id} and RUNTIME_STATUS=\n"
                    )
                    .as_bytes(),
                );
            }
        }
        Ok(run)
    }
}
