//! `ensure-runtime-sync.sh`: publish the source into the runtime home only
//! when the source changed since the last publish (a fingerprint over file
//! names, sizes and modification times) or the runtime copy is missing.
//!
//! The decision and the stamp live here; running the sync tool is the
//! caller's (it runs the sibling `sync-shared-agent-home.sh`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use acp_core::Env;
use acp_core::config;
use acp_core::envfile::{self, EnvFile, Mode};
use acp_core::shellquote::QuoteLocale;
use anyhow::{Result, anyhow};

use super::publish::skill_dir_in;

/// The stamp file's name inside the runtime home.
pub const STAMP_FILE_NAME: &str = ".agent-control-plane-runtime-sync.env";

/// The request: flags, with `None` for "not given".
#[derive(Debug, Clone, Default)]
pub struct EnsureRequest {
    pub source_home: Option<PathBuf>,
    pub runtime_home: Option<PathBuf>,
    pub force: bool,
}

/// The resolved state before any sync.
#[derive(Debug, Clone)]
pub struct EnsurePlan {
    pub source_home: PathBuf,
    pub source_skill_dir: PathBuf,
    pub runtime_home: PathBuf,
    pub runtime_skill_dir: PathBuf,
    pub fingerprint: String,
    pub stamp_file: PathBuf,
    /// Whether the sync must run.
    pub needs_sync: bool,
}

/// Resolves the homes, computes the source fingerprint and decides.
/// `skill_dir` is the running tool's package root.
pub fn plan(env: &Env, skill_dir: &Path, req: &EnsureRequest) -> Result<EnsurePlan> {
    let runtime_home = req
        .runtime_home
        .clone()
        .or_else(|| env.path("ACP_RUNTIME_SYNC_RUNTIME_HOME"))
        .or_else(|| env.path("AGENT_RUNTIME_HOME"))
        .unwrap_or_else(|| config::runtime_home(env));
    if std::fs::symlink_metadata(&runtime_home).is_ok() && !runtime_home.is_dir() {
        return Err(anyhow!(
            "{}: the runtime home exists and is not a directory",
            runtime_home.display()
        ));
    }
    acp_core::fsx::create_dir_all(&runtime_home)?;
    let runtime_home = std::fs::canonicalize(&runtime_home)
        .map_err(|e| anyhow!("{}: {e}", runtime_home.display()))?;
    let stamp_file = runtime_home.join(STAMP_FILE_NAME);
    let stamp = EnvFile::load_if_exists(&stamp_file, Mode::Lenient)?;

    let source_home = match req
        .source_home
        .clone()
        .or_else(|| env.path("ACP_RUNTIME_SYNC_SOURCE_HOME"))
        .or_else(|| env.path("AGENT_FLOW_SOURCE_HOME"))
    {
        Some(p) => p,
        None if looks_like_skill_alias(env, skill_dir) => stamp
            .as_ref()
            .and_then(|s| s.get("SOURCE_HOME"))
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| config::shared_agent_home(env, skill_dir)),
        None => skill_dir.to_path_buf(),
    };
    if !source_home.is_dir() {
        return Err(anyhow!("{}: source home not found", source_home.display()));
    }
    let source_home = std::fs::canonicalize(&source_home)
        .map_err(|e| anyhow!("{}: {e}", source_home.display()))?;
    let source_skill_dir = source_skill_dir(env, &source_home)?;
    let runtime_skill_dir = skill_dir_in(&runtime_home, &config::canonical_skill_name(env));
    let fingerprint = fingerprint(&[
        source_home.join("tools"),
        skill_dir_in(&source_home, "codex-quota-manager"),
        source_skill_dir.clone(),
    ]);
    let recorded = stamp.as_ref().and_then(|s| s.get("SOURCE_FINGERPRINT"));
    let needs_sync =
        req.force || !runtime_skill_dir.is_dir() || recorded.as_deref() != Some(&fingerprint);
    Ok(EnsurePlan {
        source_home,
        source_skill_dir,
        runtime_home,
        runtime_skill_dir,
        fingerprint,
        stamp_file,
        needs_sync,
    })
}

/// Whether `dir` is `.../skills/openclaw/<canonical name or compat alias>`
/// (a published copy rather than a source checkout).
fn looks_like_skill_alias(env: &Env, dir: &Path) -> bool {
    let names =
        std::iter::once(config::canonical_skill_name(env)).chain(config::compat_skill_alias(env));
    let parent_is_openclaw = dir.parent().is_some_and(|p| p.ends_with("skills/openclaw"));
    parent_is_openclaw
        && names
            .into_iter()
            .any(|n| dir.file_name().is_some_and(|f| f == n.as_str()))
}

/// The package tree inside a source home: the home itself when it is one,
/// else `skills/openclaw/<canonical>` or `<compat>` that is one.
fn source_skill_dir(env: &Env, source_home: &Path) -> Result<PathBuf> {
    if config::is_skill_root(source_home) {
        return Ok(source_home.to_path_buf());
    }
    let names =
        std::iter::once(config::canonical_skill_name(env)).chain(config::compat_skill_alias(env));
    for name in names {
        let candidate = skill_dir_in(source_home, &name);
        if config::is_skill_root(&candidate) {
            return Ok(candidate);
        }
    }
    Err(anyhow!(
        "{}: no agent-control-plane package in this source home (neither a package root nor skills/openclaw/{})",
        source_home.display(),
        config::canonical_skill_name(env)
    ))
}

impl EnsurePlan {
    /// Writes the stamp (`%q` values, atomically, under its lock).
    pub fn write_stamp(&self, status: &str) -> Result<()> {
        let pairs: [(&str, OsString); 7] = [
            ("SOURCE_HOME", self.source_home.clone().into_os_string()),
            (
                "SOURCE_SKILL_DIR",
                self.source_skill_dir.clone().into_os_string(),
            ),
            ("RUNTIME_HOME", self.runtime_home.clone().into_os_string()),
            (
                "RUNTIME_SKILL_DIR",
                self.runtime_skill_dir.clone().into_os_string(),
            ),
            ("SOURCE_FINGERPRINT", self.fingerprint.clone().into()),
            ("SYNC_STATUS", status.into()),
            ("UPDATED_AT", acp_core::time::now_utc_iso().into()),
        ];
        envfile::write_all(&self.stamp_file, &pairs, QuoteLocale::C)
    }
}

/// SHA-256 (hex) over each existing root in order: its physical path, then
/// for every file below it (directories in name order, files of a
/// directory before its subdirectories, `.git` skipped, symbolic links to
/// directories not followed) the relative path, the modification time in
/// nanoseconds and the size, each followed by a NUL byte. Content is not
/// read. The same value the original computed for the same tree.
pub fn fingerprint(roots: &[PathBuf]) -> String {
    let mut data = Vec::new();
    for root in roots {
        if !root.is_dir() {
            continue;
        }
        let real = acp_core::fsx::canonical_or_given(root);
        push_field(&mut data, real.as_os_str());
        walk(&real, &real, &mut data);
    }
    acp_core::sha256::hex(&data)
}

fn push_field(data: &mut Vec<u8>, field: &std::ffi::OsStr) {
    use std::os::unix::ffi::OsStrExt;
    data.extend_from_slice(field.as_bytes());
    data.push(0);
}

/// One directory of [`fingerprint`]: its files (sorted), then its
/// subdirectories (sorted, `.git` left out), as Python's `os.walk` goes.
fn walk(root: &Path, dir: &Path, data: &mut Vec<u8>) {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        // A directory, or a link to one, is walked (links are not followed).
        if std::fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
            let is_link = entry.file_type().is_ok_and(|t| t.is_symlink());
            if entry.file_name() != ".git" && !is_link {
                dirs.push(path);
            }
        } else {
            files.push(path);
        }
    }
    files.sort();
    dirs.sort();
    for file in files {
        let Ok(meta) = std::fs::metadata(&file) else {
            continue;
        };
        let rel = file.strip_prefix(root).unwrap_or(&file);
        push_field(data, rel.as_os_str());
        let mtime_ns = i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec());
        push_field(data, std::ffi::OsStr::new(&mtime_ns.to_string()));
        push_field(data, std::ffi::OsStr::new(&meta.size().to_string()));
    }
    for sub in dirs {
        walk(root, &sub, data);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_walks_files_before_subdirectories_and_skips_git() {
        use std::os::unix::fs::MetadataExt;
        let t = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(t.path()).unwrap().join("r");
        std::fs::create_dir_all(root.join("b/.git")).unwrap();
        std::fs::create_dir_all(root.join("a")).unwrap();
        std::fs::write(root.join("z.txt"), "zz").unwrap();
        std::fs::write(root.join("a/one"), "1").unwrap();
        std::fs::write(root.join("b/.git/x"), "x").unwrap();
        std::fs::write(root.join("b/two"), "22").unwrap();
        std::os::unix::fs::symlink(root.join("a"), root.join("link-to-dir")).unwrap();
        let mut expected = format!("{}\0", root.display()).into_bytes();
        for rel in ["z.txt", "a/one", "b/two"] {
            let m = std::fs::metadata(root.join(rel)).unwrap();
            let ns = i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec());
            expected.extend(format!("{rel}\0{ns}\0{}\0", m.size()).into_bytes());
        }
        let got = fingerprint(std::slice::from_ref(&root));
        assert_eq!(got, acp_core::sha256::hex(&expected));
        std::fs::write(root.join("a/one"), "111").unwrap();
        assert_ne!(fingerprint(std::slice::from_ref(&root)), got);
        assert_eq!(
            fingerprint(&[root.join("missing")]),
            acp_core::sha256::hex(b"")
        );
    }
}
