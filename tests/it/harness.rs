//! Shared test world: a temp dir with the shim tree, a private tmux server,
//! fake agent CLIs and real git repos.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_agent-control-plane"))
}

/// Writes an executable script (creating its directory) through a
/// short-lived `sh` child, and returns its path.
///
/// Tests run in parallel threads. Had this process opened the file for
/// writing itself, a child another thread forks meanwhile would inherit that
/// descriptor until it calls `exec`, and executing the script in that window
/// fails with `ETXTBSY` ("Text file busy"). Written by `sh`, the descriptor
/// only ever exists in a process nobody forks from.
pub fn write_script(path: &Path, body: &str) -> PathBuf {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("mkdir for script");
    }
    let mut child = Command::new("sh")
        .args(["-c", r#"cat > "$1" && chmod 755 "$1""#, "sh"])
        .arg(path)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("spawn sh to write a script");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(body.as_bytes()).expect("write script");
    }
    assert!(
        child.wait().expect("wait for sh").success(),
        "sh failed to write {}",
        path.display()
    );
    path.to_path_buf()
}

/// A temporary world for one test.
pub struct World {
    /// Owns the temp dir: dropping the world removes it.
    _dir: tempfile::TempDir,
    /// Package root holding the shim tree (`tools/bin/...`, `bin/...`).
    pub skill: PathBuf,
    /// Directory for fake programs, first on `PATH`.
    pub fake_bin: PathBuf,
    pub home: PathBuf,
    pub tmux_tmpdir: PathBuf,
    extra_env: Vec<(String, String)>,
}

impl World {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("acp-it-")
            .tempdir()
            .expect("temp dir");
        let root = dir.path().canonicalize().expect("canonical temp dir");
        let skill = root.join("skill");
        let fake_bin = root.join("fake-bin");
        let home = root.join("home");
        // tmux socket paths must stay short (sun_path limit).
        let tmux_tmpdir = root.join("tm");
        for d in [&skill, &fake_bin, &home, &tmux_tmpdir] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        std::fs::set_permissions(&tmux_tmpdir, std::fs::Permissions::from_mode(0o700))
            .expect("chmod");
        let out = Command::new(bin())
            .args(["shims", "--into"])
            .arg(&skill)
            .output()
            .expect("run shims");
        assert!(
            out.status.success(),
            "shims failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self {
            _dir: dir,
            skill,
            fake_bin,
            home,
            tmux_tmpdir,
            extra_env: Vec::new(),
        }
    }

    /// The world's root directory.
    pub fn root(&self) -> PathBuf {
        self.skill.parent().expect("root").to_path_buf()
    }

    /// Leaves `tools/bin` alone but removes every package-root marker the
    /// installed tree has (`bin/`, `hooks/`, `assets/`, `SKILL.md`, the tree
    /// marker), so the shims no longer stand in a package root.
    pub fn strip_package_root(&self) {
        for dir in ["bin", "hooks", "assets"] {
            std::fs::remove_dir_all(self.skill.join(dir)).expect("remove marker dir");
        }
        for file in ["SKILL.md", ".agent-control-plane-tree"] {
            std::fs::remove_file(self.skill.join(file)).expect("remove marker file");
        }
    }

    /// A path under the world's root.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    /// Adds a variable to every command this world builds.
    pub fn env(&mut self, key: &str, value: impl AsRef<OsStr>) -> &mut Self {
        self.extra_env.push((
            key.to_string(),
            value.as_ref().to_string_lossy().into_owned(),
        ));
        self
    }

    /// The clean base environment: PATH (fakes first), HOME, private tmux, ACP_BIN_DIR.
    pub fn apply_env(&self, cmd: &mut Command) {
        cmd.env_clear();
        cmd.env(
            "PATH",
            format!("{}:/usr/local/bin:/usr/bin:/bin", self.fake_bin.display()),
        );
        cmd.env("HOME", &self.home);
        cmd.env("TMUX_TMPDIR", &self.tmux_tmpdir);
        cmd.env("ACP_BIN_DIR", bin().parent().expect("bin dir"));
        cmd.env("LANG", "C.UTF-8");
        cmd.env("AGENT_PLATFORM_HOME", self.home.join(".agent-runtime"));
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd.current_dir(self.root());
    }

    /// `bash <skill>/<rel> args...` — a tool run through its shim, as callers do.
    pub fn shim(&self, rel: &str) -> Command {
        let mut cmd = Command::new("bash");
        cmd.arg(self.skill.join(rel));
        self.apply_env(&mut cmd);
        cmd
    }

    /// Any program with the world's environment.
    pub fn cmd(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        self.apply_env(&mut cmd);
        cmd
    }

    /// Writes a file (parents created) and returns its path.
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, content).expect("write");
        p
    }

    /// Writes an executable script into the fake bin dir (first on PATH).
    pub fn fake(&self, name: &str, script: &str) -> PathBuf {
        write_script(&self.fake_bin.join(name), script)
    }

    /// A real git repo with one commit on `main`.
    pub fn git_repo(&self, rel: &str) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(&p).expect("mkdir repo");
        for args in [
            vec!["init", "-q", "-b", "main"],
            vec!["config", "user.email", "acp@example.com"],
            vec!["config", "user.name", "ACP Test"],
            vec!["commit", "-q", "--allow-empty", "-m", "init"],
        ] {
            let out = self
                .cmd("git")
                .arg("-C")
                .arg(&p)
                .args(&args)
                .output()
                .expect("git");
            assert!(
                out.status.success(),
                "git {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        p
    }

    /// Adds a linked worktree `wt_rel` of `repo` on a new branch `branch`.
    pub fn worktree(&self, repo: &Path, wt_rel: &str, branch: &str) -> PathBuf {
        let wt = self.path(wt_rel);
        let out = self
            .cmd("git")
            .arg("-C")
            .arg(repo)
            .args(["worktree", "add", "-q", "-b", branch])
            .arg(&wt)
            .output()
            .expect("git worktree");
        assert!(
            out.status.success(),
            "git worktree add {}: {}",
            wt.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        wt
    }

    /// A repo `repo` (one commit on `main`) with a linked worktree `wt_rel`
    /// on a new branch `branch`; returns the worktree.
    pub fn repo_with_worktree(&self, wt_rel: &str, branch: &str) -> PathBuf {
        let repo = self.git_repo("repo");
        self.worktree(&repo, wt_rel, branch)
    }

    /// The usual launcher fixture: worktree `wt` on branch `feature` plus a
    /// two-line prompt file; returns (worktree, prompt).
    pub fn worktree_and_prompt(&self) -> (PathBuf, PathBuf) {
        let wt = self.repo_with_worktree("wt", "feature");
        let prompt = self.write("prompt.md", "Prompt body\nsecond line\n");
        (wt, prompt)
    }

    /// Whether the private tmux server has the session `s` (exact name).
    pub fn has_session(&self, s: &str) -> bool {
        self.tmux()
            .args(["has-session", "-t", &format!("={s}")])
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// Waits (up to 30 s) for session `s` to end and returns its log
    /// `runs/<s>/<s>.log`.
    pub fn wait_done(&self, s: &str) -> String {
        assert!(
            wait_until(30, || !self.has_session(s)),
            "session {s} did not end"
        );
        read(self.path(&format!("runs/{s}/{s}.log")))
    }

    /// The pid of the first pane of session `s` (the session's supervisor).
    pub fn pane_pid(&self, s: &str) -> String {
        let (code, out, err) =
            run(self
                .tmux()
                .args(["list-panes", "-t", &format!("={s}"), "-F", "#{pane_pid}"]));
        assert_eq!(code, 0, "list-panes {s}: {err}");
        let pid = out.lines().next().unwrap_or_default().trim().to_string();
        assert!(!pid.is_empty(), "no pane for {s}");
        pid
    }

    /// Sends TERM to session `s`'s supervisor (what a host stop does).
    pub fn term_session(&self, s: &str) {
        let pid = self.pane_pid(s);
        let (code, _, err) = run(self.cmd("kill").args(["-TERM", &pid]));
        assert_eq!(code, 0, "kill -TERM {pid}: {err}");
    }

    /// A tmux command against the world's private server.
    pub fn tmux(&self) -> Command {
        self.cmd("tmux")
    }

    /// Starts a detached tmux session running `command` (a shell string).
    pub fn tmux_session(&self, name: &str, command: &str) {
        let out = self
            .tmux()
            .args(["new-session", "-d", "-s", name, command])
            .output()
            .expect("tmux");
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").output();
    }
}

/// Runs a command, returning (exit code, stdout, stderr).
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let out: Output = cmd.output().expect("spawn");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The value of the first `KEY=` line of `text`.
pub fn kv<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

/// The eight required launcher flags (safe mode, `runs` as runs root,
/// adapter `alpha`, issue 123).
pub fn base_args(session: &str, wt: &Path, prompt: &Path) -> Vec<String> {
    [
        "--mode",
        "safe",
        "--session",
        session,
        "--worktree",
        wt.to_str().expect("utf-8 worktree"),
        "--prompt-file",
        prompt.to_str().expect("utf-8 prompt"),
        "--runs-root",
        "runs",
        "--adapter-id",
        "alpha",
        "--task-kind",
        "issue",
        "--task-id",
        "123",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Polls `cond` every 100 ms for up to `secs` seconds; whether it held.
pub fn wait_until(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    cond()
}

/// Like [`wait_until`] but fails the test naming `what` when time runs out.
pub fn wait_for(what: &str, secs: u64, cond: impl FnMut() -> bool) {
    assert!(wait_until(secs, cond), "timed out waiting for {what}");
}

/// A file's text, or "" when it cannot be read.
pub fn read(p: impl AsRef<Path>) -> String {
    std::fs::read_to_string(p.as_ref()).unwrap_or_default()
}

/// A file's text; fails the test (naming the path) when it cannot be read.
pub fn read_existing(p: impl AsRef<Path>) -> String {
    std::fs::read_to_string(p.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", p.as_ref().display()))
}

/// Whether a process exists and is not a zombie (`pid` may carry spaces or
/// a newline, as read from a pid file).
pub fn pid_alive(pid: impl std::fmt::Display) -> bool {
    let pid = pid.to_string();
    match std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())) {
        Err(_) => false,
        Ok(s) => !s
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

/// Whether a process is gone (an unreaped zombie counts as gone).
pub fn pid_gone(pid: impl std::fmt::Display) -> bool {
    !pid_alive(pid)
}

/// Sources an env file in bash and prints one variable (proves the file is
/// valid, inert shell).
pub fn bash_source_get(w: &World, file: &Path, key: &str) -> String {
    let (code, out, err) = run(w
        .cmd("bash")
        .arg("-c")
        .arg(format!(
            "set -euo pipefail; source \"$1\"; printf '%s' \"${{{key}}}\""
        ))
        .arg("_")
        .arg(file));
    assert_eq!(code, 0, "sourcing {} failed: {err}", file.display());
    out
}

/// The keys of an env file's lines, in order (a line without `=` shows
/// whole, so stray lines make key-list assertions fail).
pub fn env_keys(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('=').next().unwrap_or(l).to_string())
        .collect()
}

/// The keys every session launcher writes first into `run.env`, in order.
pub const RUN_ENV_COMMON_KEYS: [&str; 14] = [
    "TASK_KIND",
    "TASK_ID",
    "SESSION",
    "MODE",
    "WORKTREE",
    "PROMPT_FILE",
    "OUTPUT_FILE",
    "SCRIPT",
    "BRANCH",
    "RESULT_FILE",
    "RUNNER_STATE_FILE",
    "SANDBOX_RUN_DIR",
    "ADAPTER_ID",
    "STARTED_AT",
];

/// The full `run.env` key list: the common keys, then a backend's own.
pub fn run_env_keys(backend: &[&str]) -> Vec<String> {
    RUN_ENV_COMMON_KEYS
        .iter()
        .chain(backend)
        .map(|k| k.to_string())
        .collect()
}

impl World {
    /// The README's install: this binary's shim tree written into
    /// `<root>/<rel>` with the binary's path baked in
    /// (`shims --into DIR --bin ABS`); returns DIR.
    pub fn install(&self, rel: &str) -> PathBuf {
        let tree = self.path(rel);
        let (code, _, err) = run(Command::new(bin())
            .args(["shims", "--into"])
            .arg(&tree)
            .arg("--bin")
            .arg(bin()));
        assert_eq!(code, 0, "shims --into {}: {err}", tree.display());
        tree
    }

    /// `bash <tree>/<rel> ...` with the world's environment minus
    /// `ACP_BIN_DIR`, so the binary baked into the installed shim runs.
    pub fn installed(&self, tree: &Path, rel: &str) -> Command {
        let mut cmd = Command::new("bash");
        cmd.arg(tree.join(rel));
        self.apply_env(&mut cmd);
        cmd.env_remove("ACP_BIN_DIR");
        cmd
    }
}
