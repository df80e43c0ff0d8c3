//! What the PR starters share with every worker start: the tmux session
//! check, reaping a stale run directory, the rollback of a failed start,
//! sibling tools by path, template lookup and rendering.
//!
//! LEAD-MERGE: move to start::common (helper `startissue` owns it; this is
//! the PR starters' private copy until the merge).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use acp_core::{Env, fsx};
use anyhow::Context;

/// `s` with every control character (newlines included) replaced by a
/// space, so text from GitHub can never forge a `KEY=value` line.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `s` without its trailing newlines (what `$(...)` keeps of an output).
pub fn chomp(s: &str) -> String {
    s.trim_end_matches('\n').to_string()
}

/// Whether tmux has a session named `session` (`tmux has-session`).
// LEAD-MERGE: move to start::common
pub fn session_exists(env: &Env, session: &str) -> bool {
    acp_core::tmux::Tmux::new(env, None).has_session(session)
}

/// Where a start runs its sibling tools (`<workspace>/bin`, the original's
/// `${WORKSPACE_DIR}/bin`) and with which environment.
// LEAD-MERGE: move to start::common
#[derive(Debug, Clone)]
pub struct Siblings {
    pub bin_dir: PathBuf,
    pub env: Env,
    pub cwd: PathBuf,
}

impl Siblings {
    /// The sibling's path.
    pub fn path(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }

    /// A command running sibling `name` by its path (so a stub there is
    /// what runs), with `env` and our working directory.
    pub fn command(&self, name: &str, env: &Env) -> Command {
        let mut cmd = Command::new(self.path(name));
        env.apply(&mut cmd);
        cmd.current_dir(&self.cwd);
        cmd
    }

    /// Runs sibling `name` with `args` (stdin from /dev/null, our own
    /// shims of short tools in process), its output captured.
    pub fn output(&self, name: &str, args: &[&std::ffi::OsStr]) -> anyhow::Result<Output> {
        let mut cmd = self.command(name, &self.env);
        cmd.args(args);
        acp_core::dispatch::output(&mut cmd)
            .with_context(|| format!("failed to run {}", self.path(name).display()))
    }
}

/// Moves a run directory left behind by an earlier start out of the way:
/// a run with `run.env` goes through `cleanup-worktree.sh "" SESSION`;
/// when that fails (or there is no run.env) the directory moves to
/// `HISTORY/<session>-stale-<local time>`.
// LEAD-MERGE: move to start::common
pub fn reap_stale_run_dir(
    siblings: &Siblings,
    run_dir: &Path,
    history_root: &Path,
    session: &str,
) -> anyhow::Result<()> {
    if !run_dir.is_dir() {
        return Ok(());
    }
    if run_dir.join("run.env").is_file() {
        let cleaned = siblings
            .output("cleanup-worktree.sh", &["".as_ref(), session.as_ref()])
            .is_ok_and(|o| o.status.success());
        if cleaned || !run_dir.exists() {
            return Ok(());
        }
    }
    fsx::create_dir_all(history_root)?;
    let stamp = acp_core::time::now_local("%Y%m%d-%H%M%S", None);
    let mut target = history_root.join(format!("{session}-stale-{stamp}"));
    let mut n = 1;
    while target.exists() {
        target = history_root.join(format!("{session}-stale-{stamp}-{n}"));
        n += 1;
    }
    std::fs::rename(run_dir, &target).with_context(|| {
        format!(
            "failed to move stale run dir {} to {}",
            run_dir.display(),
            target.display()
        )
    })
}

/// The undo of a start that did not reach its runner: on drop, unless
/// [`Rollback::disarm`] was called, a run directory holding none of
/// `run.env`, `runner.env`, `result.env` is removed and `agent-running` is
/// taken off the item through the sibling `agent-github-update-labels`
/// (when executable), errors ignored.
// LEAD-MERGE: move to start::common
#[derive(Debug)]
pub struct Rollback {
    siblings: Siblings,
    run_dir: PathBuf,
    repo_slug: String,
    number: String,
    armed: bool,
}

impl Rollback {
    pub fn arm(siblings: &Siblings, run_dir: &Path, repo_slug: &str, number: &str) -> Self {
        Self {
            siblings: siblings.clone(),
            run_dir: run_dir.to_path_buf(),
            repo_slug: repo_slug.to_string(),
            number: number.to_string(),
            armed: true,
        }
    }

    /// The start succeeded: nothing to undo.
    pub fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for Rollback {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let d = &self.run_dir;
        let launched = ["run.env", "runner.env", "result.env"]
            .iter()
            .any(|f| d.join(f).exists());
        if d.is_dir() && !launched {
            let _ = std::fs::remove_dir_all(d);
        }
        let labels = self.siblings.path("agent-github-update-labels");
        if fsx::is_executable(&labels) {
            let mut cmd = Command::new("bash");
            cmd.arg(&labels);
            self.siblings.env.apply(&mut cmd);
            cmd.current_dir(&self.siblings.cwd).args([
                "--repo-slug",
                &self.repo_slug,
                "--number",
                &self.number,
                "--remove",
                "agent-running",
            ]);
            let _ = acp_core::dispatch::output(&mut cmd);
        }
    }
}

/// The template file `name` (`flow_resolve_template_file`): the first of
/// `$AGENT_CONTROL_PLANE_TEMPLATE_DIR`, `$ACP_TEMPLATE_DIR`,
/// `$F_LOSNING_TEMPLATE_DIR` holding it; `<workspace>/templates/<name>`
/// when the workspace is not the package's own `tools`; the profile's
/// `<config dir>/templates/<name>`; `<workspace>/templates/<name>`; else
/// the package's `tools/templates/<name>`.
// LEAD-MERGE: move to start::common
pub fn template_file(
    env: &Env,
    name: &str,
    workspace_dir: &Path,
    skill_root: &Path,
    config_path: &Path,
) -> PathBuf {
    for key in [
        "AGENT_CONTROL_PLANE_TEMPLATE_DIR",
        "ACP_TEMPLATE_DIR",
        "F_LOSNING_TEMPLATE_DIR",
    ] {
        if let Some(dir) = env.path(key) {
            let p = dir.join(name);
            if !dir.as_os_str().is_empty() && p.is_file() {
                return p;
            }
        }
    }
    let in_workspace = workspace_dir.join("templates").join(name);
    if in_workspace.is_file() {
        let real = fsx::canonical_or_given(workspace_dir);
        let package_tools = fsx::canonical_or_given(&skill_root.join("tools"));
        if real != package_tools {
            return in_workspace;
        }
    }
    let config_dir = fsx::canonical_or_given(&fsx::parent_dir(config_path));
    let in_profile = config_dir.join("templates").join(name);
    if in_profile.is_file() {
        return in_profile;
    }
    if in_workspace.is_file() {
        return in_workspace;
    }
    skill_root.join("tools/templates").join(name)
}

/// Renders a prompt template: every `{NAME}` whose NAME is a key of
/// `values` becomes its value, in one pass over the template, so a value
/// that itself holds `{NAME}` is copied as it is (F15). Other braces stay.
// LEAD-MERGE: move to start::common
pub fn render(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 1024);
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let at = &rest[i..];
        let value = at.find('}').and_then(|j| {
            let token = &at[1..j];
            values
                .iter()
                .find(|(k, _)| *k == token)
                .map(|(_, v)| (j, *v))
        });
        match value {
            Some((j, v)) => {
                out.push_str(v);
                rest = &at[j + 1..];
            }
            None => {
                out.push('{');
                rest = &at[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Writes a sibling's captured stderr (and, when `with_stdout`, its
/// stdout first) to the caller's writers.
pub fn relay(
    output: &Output,
    stdout: Option<&mut dyn Write>,
    stderr: &mut dyn Write,
) -> std::io::Result<()> {
    if let Some(out) = stdout {
        out.write_all(&output.stdout)?;
    }
    stderr.write_all(&output.stderr)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn render_is_one_pass_and_keeps_unknown_tokens() {
        let out = render(
            "#{PR_NUMBER} {PR_BODY} in {REPO_SLUG} {UNKNOWN} {{PR_NUMBER}} {",
            &[
                ("PR_NUMBER", "7"),
                ("PR_BODY", "body says {REPO_SLUG} and {PR_NUMBER}"),
                ("REPO_SLUG", "a/b"),
            ],
        );
        assert_eq!(
            out,
            "#7 body says {REPO_SLUG} and {PR_NUMBER} in a/b {UNKNOWN} {7} {"
        );
    }

    #[test]
    fn one_line_flattens_control_characters() {
        assert_eq!(one_line("a\nWORKTREE=/x\r\tb"), "a WORKTREE=/x  b");
        assert_eq!(chomp("x\n\n"), "x");
    }

    #[test]
    fn templates_resolve_in_the_original_order() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        let skill = root.join("skill");
        std::fs::create_dir_all(skill.join("tools/templates")).unwrap();
        let ws = root.join("ws/tools");
        std::fs::create_dir_all(ws.join("templates")).unwrap();
        let profile = root.join("profile");
        std::fs::create_dir_all(profile.join("templates")).unwrap();
        let cfg = profile.join("control-plane.yaml");
        let env = Env::new();
        let name = "pr-review-template.md";
        assert_eq!(
            template_file(&env, name, &ws, &skill, &cfg),
            skill.join("tools/templates").join(name)
        );
        std::fs::write(profile.join("templates").join(name), "p").unwrap();
        assert_eq!(
            template_file(&env, name, &ws, &skill, &cfg),
            fsx::canonical_or_given(&profile)
                .join("templates")
                .join(name)
        );
        std::fs::write(ws.join("templates").join(name), "w").unwrap();
        assert_eq!(
            template_file(&env, name, &ws, &skill, &cfg),
            ws.join("templates").join(name)
        );
        // The package's own tools dir does not override a profile template.
        std::fs::write(skill.join("tools/templates").join(name), "s").unwrap();
        assert_eq!(
            template_file(&env, name, &skill.join("tools"), &skill, &cfg),
            fsx::canonical_or_given(&profile)
                .join("templates")
                .join(name)
        );
        let mut env = Env::new();
        let own = root.join("own");
        std::fs::create_dir_all(&own).unwrap();
        std::fs::write(own.join(name), "o").unwrap();
        env.set("ACP_TEMPLATE_DIR", &own);
        assert_eq!(template_file(&env, name, &ws, &skill, &cfg), own.join(name));
    }
}
