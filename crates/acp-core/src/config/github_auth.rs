//! `flow_export_github_cli_auth_env`: make sure `gh` children have a token
//! when one can be found, without replacing a working `gh` login.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::Env;

fn quiet_success(env: &Env, program: &std::path::Path, args: &[&str]) -> bool {
    let mut probe = env.clone();
    probe.remove("GH_TOKEN");
    probe.remove("GITHUB_TOKEN");
    let mut cmd = Command::new(program);
    probe.apply(&mut cmd);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd.status().is_ok_and(|s| s.success())
}

/// The password `git credential fill` knows for `https://github.com/<slug>.git`
/// (never prompting: `GIT_TERMINAL_PROMPT=0`).
pub fn git_credential_token(env: &Env, repo_slug: &str) -> Option<String> {
    if repo_slug.is_empty() || repo_slug.contains('\n') {
        return None;
    }
    let git = env.which("git")?;
    let mut cmd = Command::new(git);
    let mut child_env = env.clone();
    child_env.set("GIT_TERMINAL_PROMPT", "0");
    child_env.apply(&mut cmd);
    cmd.args(["credential", "fill"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().ok()?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = write!(
            stdin,
            "protocol=https\nhost=github.com\npath={repo_slug}.git\n\n"
        );
    }
    let out = child.wait_with_output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("password=").map(str::to_string))
        .filter(|t| !t.is_empty())
}

/// Sets `GH_TOKEN` in `env` when it is missing: from `GITHUB_TOKEN`; else
/// nothing when `gh` is already logged in (`gh auth status` or
/// `gh api user` succeed without tokens); else from the git credential
/// helper; else from `GITHUB_PERSONAL_ACCESS_TOKEN`.
pub fn export_github_cli_auth_env(env: &mut Env, repo_slug: &str) {
    if env.is_set("GH_TOKEN") {
        return;
    }
    if let Some(token) = env.non_empty("GITHUB_TOKEN") {
        env.set("GH_TOKEN", token);
        return;
    }
    if let Some(gh) = env.which("gh")
        && (quiet_success(env, &gh, &["auth", "status"])
            || quiet_success(env, &gh, &["api", "user", "--jq", ".login"]))
    {
        return;
    }
    if let Some(token) = git_credential_token(env, repo_slug) {
        env.set("GH_TOKEN", token);
        return;
    }
    if let Some(token) = env.non_empty("GITHUB_PERSONAL_ACCESS_TOKEN") {
        env.set("GH_TOKEN", token);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn fake(dir: &std::path::Path, name: &str, body: &str) {
        let p = dir.join(name);
        crate::testutil::write_script(&p, &format!("#!/bin/sh\n{body}\n"));
    }

    #[test]
    fn token_precedence() {
        let t = tempfile::tempdir().unwrap();
        let mut env = Env::new();
        env.set("PATH", t.path());
        env.set("GITHUB_TOKEN", "gt");
        export_github_cli_auth_env(&mut env, "a/b");
        assert_eq!(env.get("GH_TOKEN").as_deref(), Some("gt"));

        let mut env = Env::new();
        env.set("PATH", t.path());
        env.set("GITHUB_PERSONAL_ACCESS_TOKEN", "pat");
        export_github_cli_auth_env(&mut env, "a/b");
        assert_eq!(env.get("GH_TOKEN").as_deref(), Some("pat"));

        fake(
            t.path(),
            "git",
            "cat >/dev/null; echo protocol=https; echo password=from-git",
        );
        let mut env = Env::new();
        env.set("PATH", t.path());
        env.set("GITHUB_PERSONAL_ACCESS_TOKEN", "pat");
        export_github_cli_auth_env(&mut env, "a/b");
        assert_eq!(env.get("GH_TOKEN").as_deref(), Some("from-git"));

        fake(t.path(), "gh", "[ -z \"$GH_TOKEN\" ] && [ \"$1\" = auth ]");
        let mut env = Env::new();
        env.set("PATH", t.path());
        export_github_cli_auth_env(&mut env, "a/b");
        assert_eq!(env.get("GH_TOKEN"), None, "gh's own login is kept");
    }
}
