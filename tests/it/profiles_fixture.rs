//! Shared fixture of the profile tools' tests (scaffold, smoke, adopt,
//! init, remove): profiles scaffolded into the world's default registry
//! (`$AGENT_PLATFORM_HOME/control-plane/profiles`) with every root under
//! the world's temp dir, and real git repos with a bare `origin`.

use std::path::{Path, PathBuf};

use crate::harness::{World, run};

pub const SCAFFOLD: &str = "tools/bin/scaffold-profile.sh";
pub const SMOKE: &str = "tools/bin/profile-smoke.sh";
pub const ADOPT: &str = "tools/bin/profile-adopt.sh";
pub const INIT: &str = "tools/bin/project-init.sh";
pub const REMOVE: &str = "tools/bin/project-remove.sh";

/// The world's profile registry.
pub fn registry(w: &World) -> PathBuf {
    w.home.join(".agent-runtime/control-plane/profiles")
}

/// The path flags that keep profile `id`'s roots under `<world>/<id>/`.
pub fn root_flags(w: &World, id: &str) -> Vec<String> {
    let base = w.path(id);
    let p = |rel: &str| base.join(rel).display().to_string();
    [
        ("--repo-root", p("repo")),
        ("--agent-root", p("agent")),
        ("--worktree-root", p("worktrees")),
        ("--retained-repo-root", p("retained")),
        ("--vscode-workspace-file", p("ws.code-workspace")),
    ]
    .into_iter()
    .flat_map(|(f, v)| [f.to_string(), v])
    .collect()
}

/// Scaffolds profile `id` (roots under the world) with `extra` flags (a
/// path flag there replaces the fixture's); panics on failure.
pub fn scaffold(w: &World, id: &str, extra: &[&str]) -> String {
    let roots = root_flags(w, id);
    let kept: Vec<&String> = roots
        .chunks(2)
        .filter(|pair| !extra.contains(&pair[0].as_str()))
        .flatten()
        .collect();
    let (code, out, err) = run(w
        .shim(SCAFFOLD)
        .args(["--profile-id", id, "--repo-slug", &format!("acme/{id}")])
        .args(kept)
        .args(extra));
    assert_eq!(code, 0, "scaffold {id}: {err}");
    out
}

/// `git args...` in `dir`, asserting success.
pub fn git(w: &World, dir: &Path, args: &[&str]) -> String {
    let (code, out, err) = run(w.cmd("git").arg("-C").arg(dir).args(args));
    assert_eq!(code, 0, "git {args:?} in {}: {err}", dir.display());
    out
}

/// A bare `remote.git` with one commit on main and a clone `rel` of it.
pub fn repo_with_remote(w: &World, rel: &str) -> (PathBuf, PathBuf) {
    let seed = w.git_repo(&format!("{rel}-seed"));
    let remote = w.path(&format!("{rel}-remote.git"));
    let (code, _, err) = run(w
        .cmd("git")
        .args(["clone", "-q", "--bare"])
        .arg(&seed)
        .arg(&remote));
    assert_eq!(code, 0, "{err}");
    let clone = w.path(rel);
    let (code, _, err) = run(w.cmd("git").args(["clone", "-q"]).arg(&remote).arg(&clone));
    assert_eq!(code, 0, "{err}");
    (remote, clone)
}

/// The stderr of a failed run is one line.
pub fn one_line(err: &str) {
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err:?}");
}
