//! What a repository needs installed, chosen from what it holds, and the
//! dependency baseline of the canonical checkout.
//!
//! Detection ([`detect`]): a profile's own install command replaces it;
//! otherwise every ecosystem found counts (a repository may hold several):
//! Node (`package.json`, a pnpm/npm/yarn lockfile or `node_modules`), Cargo
//! (`Cargo.toml`), Python (`uv.lock`, else `requirements*.txt`) and Go
//! (`go.mod`). Nothing found means nothing to install.
//!
//! The baseline ([`sync`]) keeps 0.2.0's Node behaviour (install and build in
//! the canonical checkout, `node_modules` required at the root and in every
//! `apps/*` and `packages/*`, the same hash over the same files) and warms the
//! shared caches of Cargo and Go there; Python environments are made per
//! worktree, so the baseline only records them.

use std::io::Write;
use std::path::{Path, PathBuf};

use acp_core::{Env, fail, fsx, git};

use acp_core::sha256;

/// How Node packages are installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeFlavour {
    Pnpm,
    Npm,
    Yarn,
}

/// One thing to install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Node packages through `program` (ACP_PACKAGE_MANAGER_BIN or the one the
    /// lockfile names).
    Node {
        program: String,
        flavour: NodeFlavour,
    },
    Cargo,
    /// `uv.lock`: `uv sync --frozen`.
    Uv,
    /// `requirements*.txt` (file names in the repository root, sorted).
    Requirements(Vec<String>),
    Go,
    /// The profile's install command, run with `bash -c`.
    Custom(String),
}

impl Kind {
    /// The short name printed as `BASELINE_KIND`.
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Node { .. } => "node",
            Kind::Cargo => "cargo",
            Kind::Uv => "uv",
            Kind::Requirements(_) => "pip",
            Kind::Go => "go",
            Kind::Custom(_) => "custom",
        }
    }

    /// The files whose content decides whether the baseline is current.
    fn hashed_files(&self) -> Vec<String> {
        let fixed: &[&str] = match self {
            Kind::Node { .. } => &[
                "package.json",
                "pnpm-lock.yaml",
                "pnpm-workspace.yaml",
                ".npmrc",
                "package-lock.json",
                "yarn.lock",
            ],
            Kind::Cargo => &["Cargo.toml", "Cargo.lock", "rust-toolchain.toml"],
            Kind::Uv => &["pyproject.toml", "uv.lock"],
            Kind::Requirements(files) => return files.clone(),
            Kind::Go => &["go.mod", "go.sum"],
            Kind::Custom(_) => &[],
        };
        fixed.iter().map(|s| s.to_string()).collect()
    }
}

/// A program run in a directory (with `CI=1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub program: String,
    pub args: Vec<String>,
}

impl Step {
    fn new(program: &str, args: &[&str]) -> Self {
        Self {
            program: program.to_string(),
            args: args.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// The comma/space list of names in `ACP_WORKSPACE_BUILD_*` style values.
pub fn split_list(raw: &str) -> Vec<String> {
    raw.split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn node_kind(roots: &[&Path], pm_override: Option<&str>) -> Option<Kind> {
    let has = |f: &str| roots.iter().any(|r| r.join(f).exists());
    let node = [
        "package.json",
        "pnpm-lock.yaml",
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "node_modules",
    ]
    .iter()
    .any(|f| has(f));
    if !node {
        return None;
    }
    let by_name = |p: &str| match Path::new(p).file_name().and_then(|n| n.to_str()) {
        Some("npm") => NodeFlavour::Npm,
        Some("yarn") => NodeFlavour::Yarn,
        _ => NodeFlavour::Pnpm,
    };
    let (program, flavour) = match pm_override {
        Some(p) => (p.to_string(), by_name(p)),
        None if has("pnpm-lock.yaml") => ("pnpm".to_string(), NodeFlavour::Pnpm),
        None if has("yarn.lock") => ("yarn".to_string(), NodeFlavour::Yarn),
        None if has("package-lock.json") || has("npm-shrinkwrap.json") => {
            ("npm".to_string(), NodeFlavour::Npm)
        }
        None => ("pnpm".to_string(), NodeFlavour::Pnpm),
    };
    Some(Kind::Node { program, flavour })
}

fn requirement_files(root: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("requirements") && n.ends_with(".txt"))
        .filter(|n| root.join(n).is_file())
        .collect();
    files.sort();
    files
}

/// What the repository at `roots` (the first is the checkout that will be
/// installed in; the others are looked at for Node only, as 0.2.0 linked
/// `node_modules` from the dependency source) needs installed.
pub fn detect(roots: &[&Path], pm_override: Option<&str>, custom: Option<&str>) -> Vec<Kind> {
    if let Some(cmd) = custom {
        return vec![Kind::Custom(cmd.to_string())];
    }
    let mut kinds: Vec<Kind> = node_kind(roots, pm_override).into_iter().collect();
    let Some(main) = roots.first() else {
        return kinds;
    };
    if main.join("Cargo.toml").is_file() {
        kinds.push(Kind::Cargo);
    }
    if main.join("uv.lock").is_file() {
        kinds.push(Kind::Uv);
    } else {
        let req = requirement_files(main);
        if !req.is_empty() {
            kinds.push(Kind::Requirements(req));
        }
    }
    if main.join("go.mod").is_file() {
        kinds.push(Kind::Go);
    }
    kinds
}

/// The install steps of `kind` inside a worktree or checkout `dir`.
pub fn install_steps(kind: &Kind, dir: &Path) -> Vec<Step> {
    match kind {
        Kind::Node { program, flavour } => vec![match flavour {
            NodeFlavour::Pnpm => Step::new(
                program,
                &["install", "--frozen-lockfile", "--prefer-offline"],
            ),
            NodeFlavour::Npm => Step::new(program, &["ci", "--prefer-offline"]),
            NodeFlavour::Yarn => Step::new(
                program,
                &["install", "--frozen-lockfile", "--prefer-offline"],
            ),
        }],
        Kind::Cargo if dir.join("Cargo.lock").is_file() => {
            vec![Step::new("cargo", &["fetch", "--locked"])]
        }
        Kind::Cargo => vec![Step::new("cargo", &["fetch"])],
        Kind::Uv => vec![Step::new("uv", &["sync", "--frozen"])],
        Kind::Requirements(files) => {
            let mut pip = vec!["-m".to_string(), "pip".into(), "install".into()];
            for f in files {
                pip.push("-r".into());
                pip.push(f.clone());
            }
            vec![
                Step::new("python3", &["-m", "venv", ".venv"]),
                Step {
                    program: dir.join(".venv/bin/python").to_string_lossy().into_owned(),
                    args: pip,
                },
            ]
        }
        Kind::Go => vec![Step::new("go", &["mod", "download"])],
        Kind::Custom(cmd) => vec![Step {
            program: "bash".to_string(),
            args: vec!["-c".to_string(), cmd.clone()],
        }],
    }
}

/// The build step of the workspace packages `packages` (Node only).
fn build_steps(kind: &Kind, packages: &[String]) -> Vec<Step> {
    let Kind::Node { program, flavour } = kind else {
        return Vec::new();
    };
    if packages.is_empty() {
        return Vec::new();
    }
    match flavour {
        NodeFlavour::Pnpm => {
            let mut args = Vec::new();
            for p in packages {
                args.push("--filter".to_string());
                args.push(p.clone());
            }
            args.push("build".to_string());
            vec![Step {
                program: program.clone(),
                args,
            }]
        }
        NodeFlavour::Npm => {
            let mut args = vec!["run".to_string(), "build".to_string()];
            for p in packages {
                args.push("--workspace".to_string());
                args.push(p.clone());
            }
            vec![Step {
                program: program.clone(),
                args,
            }]
        }
        NodeFlavour::Yarn => packages
            .iter()
            .map(|p| Step {
                program: program.clone(),
                args: vec!["workspace".to_string(), p.clone(), "build".to_string()],
            })
            .collect(),
    }
}

/// Runs `step` in `dir` with `CI=1`; its output goes to `out` and `err`.
pub fn run_step(
    env: &Env,
    dir: &Path,
    step: &Step,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<()> {
    let program = if step.program.contains('/') {
        PathBuf::from(&step.program)
    } else {
        env.which(&step.program)
            .ok_or_else(|| fail(1, format!("missing package manager: {}", step.program)))?
    };
    let mut cmd = std::process::Command::new(&program);
    env.apply(&mut cmd);
    cmd.env("CI", "1").args(&step.args).current_dir(dir);
    let o = acp_core::process::output(&mut cmd)
        .map_err(|e| fail(1, format!("cannot run {}: {e:#}", program.display())))?;
    out.write_all(&o.stdout)?;
    err.write_all(&o.stderr)?;
    if !o.status.success() {
        return Err(fail(
            acp_core::process::exit_code(o.status).max(1),
            format!(
                "{} {} failed in {}",
                step.program,
                step.args.join(" "),
                dir.display()
            ),
        ));
    }
    Ok(())
}

/// The workspace directories of 0.2.0's monorepo layout: `apps/*`, `packages/*`.
pub fn workspace_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for sub in ["apps", "packages"] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(root.join(sub))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        found.sort();
        dirs.extend(found);
    }
    dirs
}

/// Whether `node_modules` exists at the root and in every workspace dir.
pub fn node_modules_ready(root: &Path) -> bool {
    let installed = |dir: &Path| dir.join("node_modules").exists() || !declares_dependencies(dir);
    installed(root) && workspace_dirs(root).iter().all(|d| installed(d))
}

/// Whether `dir/package.json` names any package to install. A package with
/// none gets no `node_modules` from `npm ci`/`pnpm install`, and is complete
/// without it; an unreadable manifest counts as naming some.
fn declares_dependencies(dir: &Path) -> bool {
    let Ok(text) = fsx::read_to_string_lossy(&dir.join("package.json")) else {
        return true;
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
        return true;
    };
    ["dependencies", "devDependencies", "optionalDependencies"]
        .iter()
        .any(|k| {
            v.get(k)
                .and_then(|d| d.as_object())
                .is_some_and(|d| !d.is_empty())
        })
}

/// The `name`s of `packages/*/package.json` (sorted by path).
pub fn discover_build_packages(root: &Path) -> Vec<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("packages"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("package.json"))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .iter()
        .filter_map(|f| fsx::read_to_string_lossy(f).ok())
        .filter_map(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .filter_map(|v| v.get("name").and_then(|n| n.as_str()).map(str::to_string))
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect()
}

/// The baseline hash: SHA-256 over `<sha256>  <file>` lines of the kinds'
/// files that exist, then `git rev-parse HEAD` (0.2.0's `shasum` layout,
/// so a Node repository keeps its recorded hash).
pub fn compute_hash(env: &Env, root: &Path, kinds: &[Kind]) -> anyhow::Result<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut input = String::new();
    for file in kinds.iter().flat_map(Kind::hashed_files) {
        if seen.contains(&file) || !root.join(&file).exists() {
            continue;
        }
        let bytes = fsx::read(&root.join(&file))?;
        input.push_str(&format!("{}  {file}\n", sha256::hex(&bytes)));
        seen.push(file);
    }
    if let Some(head) = git::capture(env, root, &["rev-parse", "HEAD"]) {
        input.push_str(&head);
        input.push('\n');
    }
    Ok(sha256::hex(input.as_bytes()))
}

/// What [`sync`] is asked to do.
#[derive(Debug, Clone)]
pub struct BaselineRequest {
    /// `repo.root` (made physical by [`sync`]).
    pub canonical_root: PathBuf,
    /// Where `dependency-baseline.sha256` is kept.
    pub state_root: PathBuf,
    /// `ACP_PACKAGE_MANAGER_BIN`.
    pub package_manager: Option<String>,
    /// `ACP_WORKSPACE_BUILD_PACKAGES` (None: discover `packages/*`).
    pub build_packages: Option<Vec<String>>,
    /// `ACP_WORKSPACE_BUILD_ARTIFACTS` (files that must exist afterwards).
    pub build_artifacts: Vec<String>,
    pub force: bool,
}

/// What [`sync`] found or did.
#[derive(Debug, Clone)]
pub struct BaselineOutcome {
    /// Whether something was installed (`updated`) or all was current (`ready`).
    pub updated: bool,
    pub repo_root: PathBuf,
    pub hash: String,
    pub kinds: Vec<Kind>,
}

/// Kinds whose install runs in the canonical checkout (the others install
/// per worktree only).
fn installs_in_baseline(kind: &Kind) -> bool {
    matches!(kind, Kind::Node { .. } | Kind::Cargo | Kind::Go)
}

fn baseline_ready(req: &BaselineRequest, root: &Path, kinds: &[Kind]) -> bool {
    let node = kinds.iter().any(|k| matches!(k, Kind::Node { .. }));
    (!node || node_modules_ready(root))
        && req.build_artifacts.iter().all(|a| root.join(a).is_file())
}

/// Brings the canonical checkout's dependency baseline up to date (see the
/// module text); serialised by a lock beside the hash file.
pub fn sync(
    env: &Env,
    req: &BaselineRequest,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<BaselineOutcome> {
    let root = fsx::canonical_or_given(&req.canonical_root);
    if !root.join(".git").exists() {
        return Err(fail(
            1,
            format!("canonical checkout is not a Git repo: {}", root.display()),
        ));
    }
    let hash_file = req.state_root.join("dependency-baseline.sha256");
    let current = |kinds: &[Kind]| -> anyhow::Result<(String, bool)> {
        let hash = compute_hash(env, &root, kinds)?;
        let recorded = fsx::read_if_exists(&hash_file)?
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
            .unwrap_or_default();
        let ready = !req.force && recorded == hash && baseline_ready(req, &root, kinds);
        Ok((hash, ready))
    };
    let kinds = detect(&[&root], req.package_manager.as_deref(), None);
    for kind in kinds.iter().filter(|k| installs_in_baseline(k)) {
        for step in install_steps(kind, &root) {
            if env.which(&step.program).is_none() {
                return Err(fail(
                    1,
                    format!("missing package manager: {}", step.program),
                ));
            }
        }
    }
    let outcome = |updated, hash, kinds: Vec<Kind>| BaselineOutcome {
        updated,
        repo_root: root.clone(),
        hash,
        kinds,
    };
    if let (hash, true) = current(&kinds)? {
        return Ok(outcome(false, hash, kinds));
    }
    fsx::create_dir_all(&req.state_root)?;
    let _lock = fsx::Lock::beside(&hash_file)?;
    let kinds = detect(&[&root], req.package_manager.as_deref(), None);
    let (hash, ready) = current(&kinds)?;
    if ready {
        return Ok(outcome(false, hash, kinds));
    }
    let packages = req
        .build_packages
        .clone()
        .unwrap_or_else(|| discover_build_packages(&root));
    for kind in kinds.iter().filter(|k| installs_in_baseline(k)) {
        for step in install_steps(kind, &root)
            .into_iter()
            .chain(build_steps(kind, &packages))
        {
            run_step(env, &root, &step, out, err)?;
        }
    }
    if !baseline_ready(req, &root, &kinds) {
        return Err(fail(
            1,
            format!(
                "dependency baseline is incomplete after install (node_modules or build artifacts missing): {}",
                root.display()
            ),
        ));
    }
    fsx::atomic_write(&hash_file, format!("{hash}\n").as_bytes())?;
    Ok(outcome(true, hash, kinds))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn a_package_without_dependencies_needs_no_node_modules() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("package.json"),
            r#"{"name":"x","scripts":{}}"#,
        )
        .unwrap();
        assert!(super::node_modules_ready(dir.path()));
        std::fs::write(
            dir.path().join("package.json"),
            r#"{"name":"x","dependencies":{"left-pad":"1"}}"#,
        )
        .unwrap();
        assert!(!super::node_modules_ready(dir.path()));
        std::fs::create_dir(dir.path().join("node_modules")).unwrap();
        assert!(super::node_modules_ready(dir.path()));
    }

    use super::*;

    #[test]
    fn detection_by_files() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        assert!(detect(&[r], None, None).is_empty());
        std::fs::write(r.join("Cargo.toml"), "").unwrap();
        std::fs::write(r.join("requirements-dev.txt"), "").unwrap();
        std::fs::write(r.join("requirements.txt"), "").unwrap();
        std::fs::write(r.join("go.mod"), "").unwrap();
        let kinds = detect(&[r], None, None);
        assert_eq!(
            kinds,
            vec![
                Kind::Cargo,
                Kind::Requirements(vec![
                    "requirements-dev.txt".into(),
                    "requirements.txt".into()
                ]),
                Kind::Go
            ]
        );
        std::fs::write(r.join("uv.lock"), "").unwrap();
        std::fs::write(r.join("package-lock.json"), "{}").unwrap();
        let kinds = detect(&[r], None, None);
        assert_eq!(
            kinds[0],
            Kind::Node {
                program: "npm".into(),
                flavour: NodeFlavour::Npm
            }
        );
        assert_eq!(kinds[2], Kind::Uv);
        assert_eq!(
            detect(&[r], None, Some("make deps")),
            vec![Kind::Custom("make deps".into())]
        );
        let other = tempfile::tempdir().unwrap();
        std::fs::create_dir(other.path().join("node_modules")).unwrap();
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(
            detect(&[empty.path(), other.path()], Some("/x/pnpm"), None),
            vec![Kind::Node {
                program: "/x/pnpm".into(),
                flavour: NodeFlavour::Pnpm
            }]
        );
    }

    #[test]
    fn node_build_steps_per_flavour() {
        let pk = vec!["@a/x".to_string(), "@a/y".to_string()];
        let pnpm = Kind::Node {
            program: "pnpm".into(),
            flavour: NodeFlavour::Pnpm,
        };
        assert_eq!(
            build_steps(&pnpm, &pk)[0].args,
            ["--filter", "@a/x", "--filter", "@a/y", "build"]
        );
        let yarn = Kind::Node {
            program: "yarn".into(),
            flavour: NodeFlavour::Yarn,
        };
        assert_eq!(build_steps(&yarn, &pk).len(), 2);
        assert!(build_steps(&Kind::Cargo, &pk).is_empty());
    }

    #[test]
    fn hash_matches_shasum_layout() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("package.json"), "{}\n").unwrap();
        let env = Env::from_process();
        let kinds = detect(&[t.path()], None, None);
        let h = compute_hash(&env, t.path(), &kinds).unwrap();
        let line = format!("{}  package.json\n", sha256::hex(b"{}\n"));
        assert_eq!(h, sha256::hex(line.as_bytes()));
    }
}
