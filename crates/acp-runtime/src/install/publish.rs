//! `sync-shared-agent-home.sh`: publish a source home (a package tree, or a
//! home holding `tools/` and `skills/openclaw/<name>/`) into a runtime home
//! that the daemons run from.
//!
//! Every copy is staged beside its target and swapped in ([`super::tree`]),
//! so a daemon reading the runtime copy sees the old tree or the new one;
//! a copy whose source and target are the same directory is skipped, and
//! the clean-ups never remove the source skill, the source home or a
//! directory holding either.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use acp_core::Env;
use acp_core::config;
use anyhow::{Result, anyhow};

use super::tree::{self, MirrorOptions, Mirrored};

/// The skill directory under a home: `<home>/skills/openclaw/<name>`.
pub fn skill_dir_in(home: &Path, name: &str) -> PathBuf {
    home.join("skills/openclaw").join(name)
}

/// What to publish where (the positional arguments; `None` = default).
#[derive(Debug, Clone, Default)]
pub struct PublishRequest {
    pub source_home: Option<PathBuf>,
    pub target_home: Option<PathBuf>,
}

/// The resolved places.
#[derive(Debug, Clone)]
pub struct Homes {
    /// The package tree to publish (physical).
    pub skill_source: PathBuf,
    /// The source home (physical).
    pub source_home: PathBuf,
    /// The runtime home, as given (or the default).
    pub target_home: PathBuf,
    pub canonical: String,
    pub compat: Option<String>,
}

/// What a publish did.
#[derive(Debug, Clone)]
pub struct Published {
    pub homes: Homes,
    /// Each copy: target and outcome.
    pub copies: Vec<(PathBuf, Mirrored)>,
}

/// Resolves the source skill, source home and target home the way the
/// original did: `AGENT_FLOW_SOURCE_ROOT` or the tool's package root;
/// the source home argument or that package's shared home; the target
/// argument or `<platform home>/runtime-home`.
pub fn resolve(env: &Env, script_path: Option<&Path>, req: &PublishRequest) -> Result<Homes> {
    let canonical = config::canonical_skill_name(env);
    let compat = config::compat_skill_alias(env);
    let skill = match env.path("AGENT_FLOW_SOURCE_ROOT") {
        Some(p) => Ok(p),
        None => config::skill_root(env, script_path),
    };
    let source_home = match (&req.source_home, &skill) {
        (Some(home), _) => home.clone(),
        (None, Ok(skill)) => config::shared_agent_home(env, skill),
        (None, Err(_)) => return Err(skill.err().unwrap_or_else(|| anyhow!("no skill root"))),
    };
    let target_home = req
        .target_home
        .clone()
        .unwrap_or_else(|| config::platform_home(env).join("runtime-home"));
    let mut skill_source = skill.unwrap_or_default();
    if !skill_source.is_dir() {
        skill_source = skill_dir_in(&source_home, &canonical);
    }
    if !skill_source.is_dir()
        && let Some(alias) = &compat
    {
        skill_source = skill_dir_in(&source_home, alias);
    }
    let skill_source = physical_dir(&skill_source, "package (skill) directory")?;
    let source_home = physical_dir(&source_home, "source home")?;
    if std::fs::symlink_metadata(&target_home).is_ok() && !target_home.is_dir() {
        return Err(anyhow!(
            "{}: the runtime home exists and is not a directory",
            target_home.display()
        ));
    }
    Ok(Homes {
        skill_source,
        source_home,
        target_home,
        canonical,
        compat,
    })
}

/// The physical path of an existing directory; an error naming it otherwise.
fn physical_dir(path: &Path, what: &str) -> Result<PathBuf> {
    if !path.is_dir() {
        return Err(anyhow!("{}: {what} not found", path.display()));
    }
    std::fs::canonicalize(path).map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// Options for a copy of the package tree: no `profiles/`, scripts executable.
fn skill_copy_options() -> MirrorOptions {
    MirrorOptions {
        skip_top: vec![OsString::from("profiles")],
        exec_dirs: vec![
            "bin",
            "hooks",
            "tools/bin",
            "tools/tests",
            "tools/vendor/codex-quota-manager/scripts",
        ],
    }
}

/// Publishes: see the module documentation. The whole run holds a lock in
/// the target home, so two publishers never interleave their clean-ups.
pub fn publish(env: &Env, homes: Homes) -> Result<Published> {
    let target = &homes.target_home;
    acp_core::fsx::create_dir_all(&target.join("skills/openclaw"))?;
    let _lock = acp_core::fsx::Lock::beside(&target.join(".agent-control-plane-publish"))?;
    let protected = [homes.skill_source.clone(), homes.source_home.clone()];
    remove_deprecated_aliases(env, &homes, &protected)?;
    remove_stale_skill_copies(&homes, &protected)?;
    for root in [&homes.source_home, target] {
        for legacy in ["flows/project-adapters", "flows/profiles"] {
            remove_unprotected(&root.join(legacy), &protected)?;
        }
    }

    let mut copies = Vec::new();
    let mut copy = |from: &Path, to: PathBuf, opts: &MirrorOptions| -> Result<()> {
        let outcome = tree::mirror(env, from, &to, opts)?;
        copies.push((to, outcome));
        Ok(())
    };
    let tools_opts = MirrorOptions {
        skip_top: Vec::new(),
        exec_dirs: vec!["bin", "vendor/codex-quota-manager/scripts"],
    };
    copy(
        &homes.source_home.join("tools"),
        target.join("tools"),
        &tools_opts,
    )?;
    let quota_opts = MirrorOptions {
        skip_top: Vec::new(),
        exec_dirs: vec!["scripts"],
    };
    copy(
        &skill_dir_in(&homes.source_home, "codex-quota-manager"),
        skill_dir_in(target, "codex-quota-manager"),
        &quota_opts,
    )?;
    let names: Vec<&String> = std::iter::once(&homes.canonical)
        .chain(homes.compat.as_ref())
        .collect();
    let skill_opts = skill_copy_options();
    if !config::is_skill_root(&homes.source_home) {
        for name in &names {
            copy(
                &homes.skill_source,
                skill_dir_in(&homes.source_home, name),
                &skill_opts,
            )?;
        }
    }
    for name in &names {
        copy(&homes.skill_source, skill_dir_in(target, name), &skill_opts)?;
    }
    refresh_legacy_issue_templates(env, &homes.skill_source)?;
    Ok(Published { homes, copies })
}

/// Whether removing `path` would remove one of `protected` (or `path` is one).
fn protects(path: &Path, protected: &[PathBuf]) -> bool {
    let real = acp_core::fsx::canonical_or_given(path);
    protected.iter().any(|p| p.starts_with(&real))
}

/// Removes `path` unless that would remove a protected directory.
fn remove_unprotected(path: &Path, protected: &[PathBuf]) -> Result<()> {
    if std::fs::symlink_metadata(path).is_err() || protects(path, protected) {
        return Ok(());
    }
    tree::remove_tree(path)
}

/// The deprecated alias names (`AGENT_CONTROL_PLANE_DEPRECATED_SKILL_ALIASES`,
/// commas or blanks between them) other than the canonical name and the
/// compat alias; names that are not one plain path component are ignored.
fn deprecated_aliases(env: &Env, homes: &Homes) -> Vec<String> {
    let raw = env.get_or_empty("AGENT_CONTROL_PLANE_DEPRECATED_SKILL_ALIASES");
    raw.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|n| config::is_valid_profile_id(n))
        .filter(|n| *n != homes.canonical && Some(*n) != homes.compat.as_deref())
        .map(str::to_string)
        .collect()
}

fn remove_deprecated_aliases(env: &Env, homes: &Homes, protected: &[PathBuf]) -> Result<()> {
    for alias in deprecated_aliases(env, homes) {
        for home in [&homes.source_home, &homes.target_home] {
            remove_unprotected(&skill_dir_in(home, &alias), protected)?;
        }
    }
    Ok(())
}

/// Whether `dir` looks like an older copy of this package: it has the
/// workflow catalog and either no `SKILL.md` or `SKILL.md` together with
/// the sync and doctor tools.
fn is_flow_skill_copy(dir: &Path) -> bool {
    if !dir.join("assets/workflow-catalog.json").is_file() {
        return false;
    }
    if !dir.join("SKILL.md").is_file() {
        return true;
    }
    dir.join("tools/bin/sync-shared-agent-home.sh").is_file()
        && dir.join("tools/bin/flow-runtime-doctor.sh").is_file()
}

/// Removes copies of the package under other names in both homes'
/// `skills/openclaw/` (never the canonical or compat copy, never a
/// protected directory).
fn remove_stale_skill_copies(homes: &Homes, protected: &[PathBuf]) -> Result<()> {
    for home in [&homes.source_home, &homes.target_home] {
        let root = home.join("skills/openclaw");
        let Ok(entries) = std::fs::read_dir(&root) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == homes.canonical || Some(&name) == homes.compat.as_ref() {
                continue;
            }
            let dir = entry.path();
            if dir.is_dir() && is_flow_skill_copy(&dir) {
                remove_unprotected(&dir, protected)?;
            }
        }
    }
    Ok(())
}

/// A profile whose `templates/issue-prompt-template.md` is byte for byte
/// the package's legacy template (`tools/templates/legacy/
/// issue-prompt-template-pre-slim.md`) gets the current one.
fn refresh_legacy_issue_templates(env: &Env, skill: &Path) -> Result<()> {
    let current = skill.join("tools/templates/issue-prompt-template.md");
    let legacy = skill.join("tools/templates/legacy/issue-prompt-template-pre-slim.md");
    if !current.is_file() || !legacy.is_file() {
        return Ok(());
    }
    let legacy_text = acp_core::fsx::read(&legacy)?;
    let mut current_text = None;
    let registry = config::registry_root(env);
    for id in config::profile_ids_in(&registry) {
        let template = registry
            .join(&id)
            .join("templates/issue-prompt-template.md");
        if !template.is_file() || std::fs::read(&template).ok().as_ref() != Some(&legacy_text) {
            continue;
        }
        if current_text.is_none() {
            current_text = Some(acp_core::fsx::read(&current)?);
        }
        if let Some(text) = &current_text {
            acp_core::fsx::atomic_write(&template, text)?;
        }
    }
    Ok(())
}
