//! Shared test world: a temp dir with the shim tree, a private tmux server,
//! a fake `gh`, fake agent CLIs and real git repos.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_agent-control-plane"))
}

/// A temporary world for one test.
pub struct World {
    pub dir: tempfile::TempDir,
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
            dir,
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
        let p = self.fake_bin.join(name);
        std::fs::write(&p, script).expect("write fake");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        p
    }

    /// A fake `gh` that appends its argv (one line, words joined by spaces) to
    /// `gh-calls.log` and answers from `gh-fixtures/<words joined by _>.json`
    /// (the first fixture whose name is a prefix of the call), else prints
    /// nothing and exits with `$FAKE_GH_EXIT` (default 0).
    pub fn fake_gh(&self) -> PathBuf {
        let log = self.path("gh-calls.log");
        let fixtures = self.path("gh-fixtures");
        std::fs::create_dir_all(&fixtures).expect("mkdir fixtures");
        self.fake(
            "gh",
            &format!(
                r#"#!/usr/bin/env bash
printf '%s\n' "$*" >> {log:?}
key="$(printf '%s_' "$@")"
key="${{key%_}}"
key="${{key//\//-}}"
for f in {fixtures:?}/*.json; do
  [[ -e "$f" ]] || continue
  name="$(basename "$f" .json)"
  if [[ "$key" == "$name"* ]]; then cat "$f"; exit 0; fi
done
exit "${{FAKE_GH_EXIT:-0}}"
"#
            ),
        )
    }

    /// The calls the fake `gh` recorded.
    pub fn gh_calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.path("gh-calls.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
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

/// Whether a path exists.
pub fn exists(p: impl AsRef<Path>) -> bool {
    p.as_ref().exists()
}
