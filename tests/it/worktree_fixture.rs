//! Shared fixture of the worktree tools' tests: a bare origin whose default
//! branch is `trunk` (no `main` anywhere), a clone as the anchor, a profile,
//! and fake package managers that record their argv and directory.

use std::path::{Path, PathBuf};

use crate::harness::{World, run};

/// A directory name with a space, a quote and non-ASCII letters.
pub const ODD: &str = "dir with 'q' and é";

/// Runs `git -C dir args...` in the world's environment; asserts success.
pub fn git(w: &World, dir: &Path, args: &[&str]) -> String {
    let (code, out, err) = run(w.cmd("git").arg("-C").arg(dir).args(args));
    assert_eq!(code, 0, "git {args:?} in {}: {err}", dir.display());
    out.trim().to_string()
}

/// The repositories of one test.
pub struct Repos {
    pub anchor: PathBuf,
    pub worktrees: PathBuf,
}

/// `<root>/<base>/origin.git` (default branch `trunk`) with one commit
/// holding `files`, cloned to `<base>/anchor` (origin/HEAD -> trunk).
pub fn repos(w: &World, base: &str, files: &[(&str, &str)]) -> Repos {
    let root = w.path(base);
    std::fs::create_dir_all(&root).unwrap();
    let anchor = root.join("anchor");
    git(
        w,
        &root,
        &[
            "init",
            "-q",
            "--bare",
            "--initial-branch=trunk",
            "origin.git",
        ],
    );
    git(w, &root, &["clone", "-q", "origin.git", "anchor"]);
    git(w, &anchor, &["config", "user.email", "acp@example.com"]);
    git(w, &anchor, &["config", "user.name", "ACP Test"]);
    git(w, &anchor, &["checkout", "-q", "-b", "trunk"]);
    std::fs::write(anchor.join("README.md"), "seed\n").unwrap();
    for (name, content) in files {
        let p = anchor.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    git(w, &anchor, &["add", "-A"]);
    git(w, &anchor, &["commit", "-q", "-m", "init"]);
    git(w, &anchor, &["push", "-q", "-u", "origin", "trunk"]);
    git(w, &anchor, &["remote", "set-head", "origin", "trunk"]);
    Repos {
        anchor,
        worktrees: root.join("worktrees"),
    }
}

/// Writes profile `demo` (with `extra` YAML appended) into a registry under
/// the world and selects it.
pub fn profile(w: &mut World, r: &Repos, extra: &str) {
    let q = |p: &Path| format!("\"{}\"", p.display());
    let yaml = format!(
        "id: \"demo\"\nrepo:\n  slug: \"example/demo\"\n  root: {anchor}\n{extra}runtime:\n  orchestrator_agent_root: {agent}\n  worktree_root: {wt}\n  agent_repo_root: {anchor}\n  retained_repo_root: {anchor}\n  vscode_workspace_file: {vs}\nsession_naming:\n  issue_branch_prefix: \"agent/demo/issue\"\n  pr_worktree_branch_prefix: \"agent/demo/pr\"\n",
        anchor = q(&r.anchor),
        agent = q(&w.path("agent")),
        wt = q(&r.worktrees),
        vs = q(&w.path("demo.code-workspace")),
    );
    w.write("profiles/demo/control-plane.yaml", yaml);
    let registry = w.path("profiles");
    w.env("ACP_PROFILE_REGISTRY_ROOT", registry);
    w.env("ACP_PROJECT_ID", "demo");
}

/// Fake package managers (`pnpm npm yarn cargo uv go python3`) that append
/// `<name> <args>|<cwd>` to `<root>/pm.log`; `python3 -m venv D` also makes
/// `D/bin/python` (a recorder too). Returns the log path.
pub fn fake_package_managers(w: &mut World) -> PathBuf {
    let log = w.path("pm.log");
    let body = r#"#!/bin/sh
printf '%s %s|%s\n' "$(basename "$0")" "$*" "$PWD" >> "$PM_LOG"
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then mkdir -p "$3/bin" && cp "$0" "$3/bin/python"; fi
if [ "$(basename "$0")" = "pnpm" ] && [ "$1" = "install" ]; then mkdir -p node_modules; for d in apps/* packages/*; do [ -d "$d" ] && mkdir -p "$d/node_modules"; done; fi
exit 0
"#;
    for name in ["pnpm", "npm", "yarn", "cargo", "uv", "go", "python3"] {
        w.fake(name, body);
    }
    w.env("PM_LOG", &log);
    log
}

/// The recorded package-manager calls (empty when none).
pub fn pm_calls(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Stub siblings the profile wrappers run (`sync-agent-repo.sh`,
/// `sync-vscode-workspace.sh`), recording their calls into `<root>/siblings.log`.
pub fn stub_anchor_siblings(w: &World) -> PathBuf {
    let log = w.path("siblings.log");
    for name in ["sync-agent-repo.sh", "sync-vscode-workspace.sh"] {
        crate::harness::write_script(
            &w.skill.join("tools/bin").join(name),
            &format!(
                "#!/bin/bash\nprintf '%s %s\\n' \"{name}\" \"${{ACP_AGENT_REPO_ROOT:-}}\" >> {log:?}\necho SHOULD_NOT_BE_PRINTED=1\n",
                log = log.display().to_string()
            ),
        );
    }
    log
}

/// The value of `KEY=` in `out`, as a path.
pub fn kv_path(out: &str, key: &str) -> PathBuf {
    PathBuf::from(crate::harness::kv(out, key).unwrap_or_else(|| panic!("no {key}= in {out}")))
}
