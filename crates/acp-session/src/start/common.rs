//! What every worker start shares (spec 3.5 steps 1, 2 and 5, 3.6, 5.1,
//! 5.2): where the start script and its siblings are, the session-exists
//! refusal, reaping a stale run directory, the rollback of a failed start,
//! the latest archived run, prompt template lookup and rendering.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::Context;

use acp_core::{Env, Invocation, fsx};

/// Where a start script runs from. The original's `WORKSPACE_DIR` is the
/// parent of the script's directory **as invoked**: the tests (and
/// profiles) symlink the script into `<workspace>/bin/` next to stub
/// siblings, so the script's path is never canonicalised here.
#[derive(Debug, Clone)]
pub struct Layout {
    /// `<workspace>/bin`: the sibling tools (`new-worktree.sh`, runners, ...).
    pub script_dir: PathBuf,
    /// The parent of `script_dir` (templates live in its `templates/`).
    pub workspace_dir: PathBuf,
    /// The package root (`resolve_flow_skill_dir`).
    pub skill_root: PathBuf,
    /// `<skill root>/tools/bin` (the original's `FLOW_TOOLS_DIR`).
    pub flow_tools_dir: PathBuf,
    /// The running binary: runs a sibling tool that has no file.
    pub exe: PathBuf,
    /// The working directory children start in.
    pub cwd: PathBuf,
}

/// How the original started a sibling: `bash FILE` or `FILE` itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    Bash,
    Direct,
}

impl Layout {
    /// The layout of `ctx` (its shim path as given, the skill root from
    /// `env`). Without a shim the package's own `tools/bin` is the script dir.
    pub fn resolve(ctx: &Invocation<'_>, env: &Env) -> anyhow::Result<Self> {
        let script = ctx.script_path();
        let skill_root = acp_core::config::skill_root(env, script.as_deref())?;
        let flow_tools_dir = skill_root.join("tools/bin");
        let script_dir = script
            .as_deref()
            .and_then(Path::parent)
            .map(|d| fsx::normalize_lexically(&ctx.cwd.join(d)))
            .unwrap_or_else(|| flow_tools_dir.clone());
        let workspace_dir = script_dir
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| script_dir.clone());
        Ok(Self {
            script_dir,
            workspace_dir,
            skill_root,
            flow_tools_dir,
            exe: ctx.exe.clone(),
            cwd: ctx.cwd.clone(),
        })
    }

    /// `<workspace>/bin/<name>`.
    pub fn sibling(&self, name: &str) -> PathBuf {
        self.script_dir.join(name)
    }

    /// `<skill root>/tools/bin/<name>`.
    pub fn flow_tool(&self, name: &str) -> PathBuf {
        self.flow_tools_dir.join(name)
    }

    /// A command running the tool file `path` the way the original did
    /// (`how`), with `env` and our working directory; when there is no file
    /// there, this binary runs tool `name` itself. Run it with
    /// `acp_core::dispatch::output`, so our own short tools run in process.
    pub fn command(&self, path: &Path, name: &str, how: Run, env: &Env) -> Command {
        let mut cmd = if path.is_file() {
            if how == Run::Direct && fsx::is_executable(path) {
                Command::new(path)
            } else {
                let mut c = Command::new("bash");
                c.arg(path);
                c
            }
        } else {
            let mut c = Command::new(&self.exe);
            c.arg(name);
            c
        };
        env.apply(&mut cmd);
        cmd.current_dir(&self.cwd);
        cmd
    }

    /// [`Self::command`] for `<workspace>/bin/<name>`.
    pub fn sibling_command(&self, name: &str, how: Run, env: &Env) -> Command {
        self.command(&self.sibling(name), name, how, env)
    }

    /// [`Self::command`] for `<skill root>/tools/bin/<name>`.
    pub fn flow_tool_command(&self, name: &str, how: Run, env: &Env) -> Command {
        self.command(&self.flow_tool(name), name, how, env)
    }

    /// Runs `<workspace>/bin/<name>` with `args` ([`Self::sibling_command`]),
    /// stdin from /dev/null, its output captured.
    pub fn sibling_output(
        &self,
        name: &str,
        how: Run,
        env: &Env,
        args: &[&OsStr],
    ) -> anyhow::Result<Output> {
        let mut cmd = self.sibling_command(name, how, env);
        cmd.args(args);
        acp_core::dispatch::output(&mut cmd)
            .with_context(|| format!("failed to run {}", self.sibling(name).display()))
    }
}

/// Whether the worker's tmux session already runs.
pub fn session_exists(env: &Env, session: &str) -> bool {
    acp_core::tmux::Tmux::new(env, None).has_session(session)
}

/// Whether `run_dir` holds none of `run.env`, `runner.env`, `result.env`
/// (a start that got no further than its prompt).
pub fn is_prompt_only(run_dir: &Path) -> bool {
    ["run.env", "runner.env", "result.env"]
        .iter()
        .all(|f| !run_dir.join(f).exists())
}

/// Undoes a start that failed before its worker ran: removes a prompt-only
/// run directory and runs `labels` (the label tool removing `agent-running`)
/// when given, ignoring its output and status.
pub fn rollback(run_dir: &Path, labels: Option<Command>) {
    if run_dir.is_dir() && is_prompt_only(run_dir) {
        // Best effort, as the original's `rm -rf ... || true`.
        let _ = std::fs::remove_dir_all(run_dir);
    }
    if let Some(mut cmd) = labels {
        let _ = acp_core::dispatch::output(&mut cmd);
    }
}

/// [`rollback`] on drop, unless [`Rollback::disarm`] was called: the undo
/// of a start that returns early (`?`) anywhere before its worker ran.
#[derive(Debug)]
pub struct Rollback {
    run_dir: PathBuf,
    labels: Option<Command>,
    armed: bool,
}

impl Rollback {
    pub fn arm(run_dir: &Path, labels: Option<Command>) -> Self {
        Self {
            run_dir: run_dir.to_path_buf(),
            labels,
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
        if self.armed {
            rollback(&self.run_dir, self.labels.take());
        }
    }
}

/// What [`reap_stale_run_dir`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reaped {
    /// There was no run directory.
    Absent,
    /// A sibling tool (archive or cleanup) took care of it.
    Handled,
    /// It was moved to `HISTORY/<session>-stale-<stamp>`.
    Moved(PathBuf),
}

/// Clears a leftover run directory before a new start: when it has a
/// `run.env`, `handlers` (archive, cleanup, ... in order) are tried until
/// one succeeds; otherwise, or when none does, the directory is moved to
/// `<history>/<session>-stale-<local YYYYmmdd-HHMMSS>` (a free name).
pub fn reap_stale_run_dir(
    run_dir: &Path,
    history_root: &Path,
    session: &str,
    env: &Env,
    handlers: &mut [&mut dyn FnMut() -> bool],
) -> anyhow::Result<Reaped> {
    if !run_dir.is_dir() {
        return Ok(Reaped::Absent);
    }
    if run_dir.join("run.env").is_file() {
        for h in handlers.iter_mut() {
            if h() {
                return Ok(Reaped::Handled);
            }
        }
        // A handler that failed but still took the directory away.
        if !run_dir.exists() {
            return Ok(Reaped::Handled);
        }
    }
    fsx::create_dir_all(history_root)?;
    let stamp = acp_core::time::now_local("%Y%m%d-%H%M%S", env.get("TZ").as_deref());
    let base = history_root.join(format!("{session}-stale-{stamp}"));
    let mut target = base.clone();
    let mut n = 1;
    while target.exists() {
        target = PathBuf::from(format!("{}.{n}", base.display()));
        n += 1;
    }
    fs_err::rename(run_dir, &target)?;
    Ok(Reaped::Moved(target))
}

/// Whether `name` is `<session>-<YYYYmmdd-HHMMSS>[...]`: an archived run of
/// exactly `session` (the original's `<session>-*` also matched the runs of
/// `<session>0`, `<session>1`, ...).
fn archived_name_of(name: &str, session: &str) -> bool {
    let Some(rest) = name.strip_prefix(session).and_then(|r| r.strip_prefix('-')) else {
        return false;
    };
    let b = rest.as_bytes();
    b.len() >= 15
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'-'
        && b[9..15].iter().all(u8::is_ascii_digit)
}

/// The latest archived run directory of `session` in `history_root`
/// (names sorted descending, `-stale-` moves left out).
pub fn latest_archived_run(history_root: &Path, session: &str) -> Option<PathBuf> {
    let mut names: Vec<String> = std::fs::read_dir(history_root)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| archived_name_of(n, session))
        .collect();
    names.sort();
    names.pop().map(|n| history_root.join(n))
}

/// `flow_resolve_template_file` (spec 5.1): the first existing
/// `$AGENT_CONTROL_PLANE_TEMPLATE_DIR/NAME`, `$ACP_TEMPLATE_DIR/NAME`,
/// `$F_LOSNING_TEMPLATE_DIR/NAME`; `<workspace>/templates/NAME` when the
/// workspace is not the skill's own `tools/`; `<config dir>/templates/NAME`;
/// `<workspace>/templates/NAME`; else `<skill>/tools/templates/NAME`.
pub fn resolve_template(name: &str, layout: &Layout, config_file: &Path, env: &Env) -> PathBuf {
    for key in [
        "AGENT_CONTROL_PLANE_TEMPLATE_DIR",
        "ACP_TEMPLATE_DIR",
        "F_LOSNING_TEMPLATE_DIR",
    ] {
        if let Some(dir) = env.path(key) {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    let in_workspace = layout.workspace_dir.join("templates").join(name);
    if in_workspace.is_file() {
        let ws = fsx::canonical_or_given(&layout.workspace_dir);
        let tools = fsx::canonical_or_given(&layout.skill_root.join("tools"));
        if ws != tools {
            return in_workspace;
        }
    }
    let config_dir = fsx::canonical_or_given(&fsx::parent_dir(config_file));
    let in_profile = config_dir.join("templates").join(name);
    if in_profile.is_file() {
        return in_profile;
    }
    if in_workspace.is_file() {
        return in_workspace;
    }
    layout.skill_root.join("tools/templates").join(name)
}

/// Renders `template` in one pass (F15): each `{NAME}` that is a key of
/// `values` becomes its value, everything else stays as written. Values are
/// never scanned again, so a `{TOKEN}` inside an issue body stays text.
pub fn render(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let token = after
            .find('}')
            .map(|close| &after[..=close])
            .and_then(|t| values.iter().find(|(k, _)| *k == t));
        match token {
            Some((k, v)) => {
                out.push_str(v);
                rest = &after[k.len()..];
            }
            None => {
                out.push('{');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A value for a printed `KEY=value` line: control characters (a newline
/// in an issue title, ...) become spaces, so text from GitHub can never
/// forge another output line.
pub fn one_line(value: impl AsRef<OsStr>) -> String {
    value
        .as_ref()
        .to_string_lossy()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `s` without its trailing newlines (what `$(...)` keeps of an output).
pub fn chomp(s: &str) -> String {
    s.trim_end_matches('\n').to_string()
}

/// Writes a sibling's captured stderr (and, when `stdout` is given, its
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
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn render_is_one_pass() {
        let vals = [
            ("{ISSUE_BODY}", "body says {REPO_SLUG} and {ISSUE_BODY}"),
            ("{REPO_SLUG}", "acme/widgets"),
        ];
        assert_eq!(
            render("{REPO_SLUG}: {ISSUE_BODY} {UNKNOWN} {", &vals),
            "acme/widgets: body says {REPO_SLUG} and {ISSUE_BODY} {UNKNOWN} {"
        );
        assert_eq!(render("{{REPO_SLUG}}", &vals), "{acme/widgets}");
    }

    #[test]
    fn archived_runs_are_those_of_exactly_the_session() {
        let t = tempfile::tempdir().unwrap();
        for d in [
            "s-issue-4-20260101-000000",
            "s-issue-4-20260301-000000",
            "s-issue-4-stale-20260401-000000",
            "s-issue-42-20260501-000000",
        ] {
            std::fs::create_dir_all(t.path().join(d)).unwrap();
        }
        assert_eq!(
            latest_archived_run(t.path(), "s-issue-4").unwrap(),
            t.path().join("s-issue-4-20260301-000000")
        );
        assert!(latest_archived_run(t.path(), "s-issue-5").is_none());
    }

    #[test]
    fn stale_run_dirs_move_to_history_unless_a_handler_takes_them() {
        let t = tempfile::tempdir().unwrap();
        let run = t.path().join("runs/s-1");
        let hist = t.path().join("history");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(run.join("run.env"), "X=1\n").unwrap();
        let env = Env::new();
        let mut yes = || true;
        assert_eq!(
            reap_stale_run_dir(&run, &hist, "s-1", &env, &mut [&mut yes]).unwrap(),
            Reaped::Handled
        );
        let mut no = || false;
        let r = reap_stale_run_dir(&run, &hist, "s-1", &env, &mut [&mut no]).unwrap();
        let Reaped::Moved(to) = r else {
            panic!("{r:?}")
        };
        assert!(to.join("run.env").is_file() && !run.exists());
        assert!(
            to.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("s-1-stale-")
        );
        std::fs::create_dir_all(&run).unwrap();
        let r = reap_stale_run_dir(&run, &hist, "s-1", &env, &mut []).unwrap();
        assert!(matches!(r, Reaped::Moved(_)));
        assert_eq!(
            reap_stale_run_dir(&run, &hist, "s-1", &env, &mut []).unwrap(),
            Reaped::Absent
        );
    }

    #[test]
    fn one_line_values() {
        assert_eq!(one_line("a\nTITLE=x\r"), "a TITLE=x ");
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
        let layout = |ws: &Path| Layout {
            script_dir: ws.join("bin"),
            workspace_dir: ws.to_path_buf(),
            skill_root: skill.clone(),
            flow_tools_dir: skill.join("tools/bin"),
            exe: PathBuf::from("acp"),
            cwd: root.to_path_buf(),
        };
        let env = Env::new();
        let name = "pr-review-template.md";
        let resolve = |ws: &Path, env: &Env| resolve_template(name, &layout(ws), &cfg, env);
        assert_eq!(resolve(&ws, &env), skill.join("tools/templates").join(name));
        std::fs::write(profile.join("templates").join(name), "p").unwrap();
        let in_profile = fsx::canonical_or_given(&profile)
            .join("templates")
            .join(name);
        assert_eq!(resolve(&ws, &env), in_profile);
        std::fs::write(ws.join("templates").join(name), "w").unwrap();
        assert_eq!(resolve(&ws, &env), ws.join("templates").join(name));
        // The package's own tools dir does not override a profile template.
        std::fs::write(skill.join("tools/templates").join(name), "s").unwrap();
        assert_eq!(resolve(&skill.join("tools"), &env), in_profile);
        let mut env = Env::new();
        let own = root.join("own");
        std::fs::create_dir_all(&own).unwrap();
        std::fs::write(own.join(name), "o").unwrap();
        env.set("ACP_TEMPLATE_DIR", &own);
        assert_eq!(resolve(&ws, &env), own.join(name));
    }
}
