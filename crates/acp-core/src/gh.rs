//! A thin wrapper around the GitHub CLI (`gh`), found on the invocation's
//! `PATH` (tests put a fake `gh` script there) and run with its explicit
//! environment. Failures carry gh's own stderr in one line.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::Env;

/// A `gh` client bound to an environment.
#[derive(Debug, Clone)]
pub struct Gh {
    bin: PathBuf,
    env: Env,
}

impl Gh {
    /// `gh` from the env's `PATH`, or `bin` when given; an error when neither exists.
    pub fn new(env: &Env, bin: Option<PathBuf>) -> Result<Self> {
        let bin = match bin {
            Some(b) => b,
            None => env
                .which("gh")
                .context("the GitHub CLI `gh` was not found on PATH")?,
        };
        Ok(Self {
            bin,
            env: env.clone(),
        })
    }

    fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(&self.bin);
        self.env.apply(&mut cmd);
        cmd.args(args);
        cmd
    }

    /// Runs `gh args...` and returns its stdout; a non-zero exit is an error
    /// naming the subcommand and quoting gh's stderr on one line.
    pub fn run<I, S>(&self, args: I) -> Result<Vec<u8>>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<std::ffi::OsString> = args
            .into_iter()
            .map(|a| a.as_ref().to_os_string())
            .collect();
        let what = args
            .iter()
            .take(2)
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        let out = crate::process::output(&mut self.command(&args))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let err = err.split_whitespace().collect::<Vec<_>>().join(" ");
            bail!(
                "gh {what} failed (exit {}): {err}",
                crate::process::exit_code(out.status)
            );
        }
        Ok(out.stdout)
    }

    /// Runs `gh args...` and parses its stdout as JSON.
    pub fn json<I, S>(&self, args: I) -> Result<serde_json::Value>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<std::ffi::OsString> = args
            .into_iter()
            .map(|a| a.as_ref().to_os_string())
            .collect();
        let out = self.run(&args)?;
        serde_json::from_slice(&out).with_context(|| {
            format!(
                "gh {} returned invalid JSON",
                args.first()
                    .map(|a| a.to_string_lossy())
                    .unwrap_or_default()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_gh(dir: &std::path::Path, body: &str) -> Result<Env> {
        let bin = dir.join("gh");
        crate::testutil::write_script(&bin, &format!("#!/usr/bin/env bash\n{body}\n"));
        let mut env = Env::new();
        env.set("PATH", format!("{}:/usr/bin:/bin", dir.display()));
        Ok(env)
    }

    #[test]
    fn json_output_is_parsed_and_argv_passed_verbatim() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let log = dir.path().join("argv");
        let env = fake_gh(
            dir.path(),
            &format!("printf '%s\\n' \"$@\" > {log:?}; echo '{{\"number\": 7}}'"),
        )?;
        let gh = Gh::new(&env, None)?;
        let v = gh.json(["issue", "view", "7", "--title", "a b; $(x)"])?;
        assert_eq!(v["number"], 7);
        assert_eq!(
            std::fs::read_to_string(&log)?,
            "issue\nview\n7\n--title\na b; $(x)\n"
        );
        Ok(())
    }

    #[test]
    fn failures_quote_stderr_on_one_line() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let env = fake_gh(
            dir.path(),
            "echo 'HTTP 401:' >&2; echo 'Bad credentials' >&2; exit 4",
        )?;
        let err = Gh::new(&env, None)?
            .run(["pr", "list"])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(err, "gh pr list failed (exit 4): HTTP 401: Bad credentials");
        let env = fake_gh(dir.path(), "echo not-json")?;
        assert!(Gh::new(&env, None)?.json(["api", "user"]).is_err());
        Ok(())
    }

    #[test]
    fn missing_gh_is_a_clear_error() {
        let mut env = Env::new();
        env.set("PATH", "/nonexistent");
        let err = Gh::new(&env, None).err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("the GitHub CLI `gh` was not found on PATH")
        );
    }
}
