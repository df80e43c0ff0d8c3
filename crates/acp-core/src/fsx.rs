//! File-system helpers whose errors always name the path, and atomic writes.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Reads a whole file; the error names the path.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    Ok(fs_err::read(path)?)
}

/// Reads a whole file as text (lossy); the error names the path.
pub fn read_to_string_lossy(path: &Path) -> Result<String> {
    Ok(String::from_utf8_lossy(&read(path)?).into_owned())
}

/// Reads a file when it exists; `Ok(None)` when it does not.
pub fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("failed to read {}", path.display())),
    }
}

/// Creates a directory and its parents; the error names the path.
pub fn create_dir_all(path: &Path) -> Result<()> {
    Ok(fs_err::create_dir_all(path)?)
}

/// Replaces `path` with `bytes` atomically: a temp file in the same
/// directory, written, fsynced, given the old file's permissions, renamed.
/// Readers see either the old or the new content, never a partial one.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent_dir(path);
    fs_err::create_dir_all(&dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(
            ".{}.tmp.",
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ))
        .tempfile_in(&dir)
        .with_context(|| format!("failed to create a temp file in {}", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("failed to write {}", tmp.path().display()))?;
    let perms = match std::fs::metadata(path) {
        Ok(meta) => Some(meta.permissions()),
        Err(_) => {
            use std::os::unix::fs::PermissionsExt;
            Some(std::fs::Permissions::from_mode(0o644))
        }
    };
    if let Some(perms) = perms {
        std::fs::set_permissions(tmp.path(), perms)
            .with_context(|| format!("failed to set permissions on {}", tmp.path().display()))?;
    }
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("failed to replace {}", path.display()))?;
    Ok(())
}

/// Appends `bytes` to `path` (created if missing) in one write.
pub fn append(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = fs_err::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(bytes)?;
    Ok(())
}

/// The directory holding `path` (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Makes a file executable by everyone who can read it.
pub fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = fs_err::metadata(path)?;
    let mut perms = meta.permissions();
    perms.set_mode(perms.mode() | 0o755);
    fs_err::set_permissions(path, perms)?;
    Ok(())
}

/// Whether `p` is a regular file (after following symlinks) with an
/// execute bit, like bash's `[[ -f p && -x p ]]` for the tools we run.
pub fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The physical path when it exists; else the physical parent joined with the
/// file name; else the path unchanged (the original's `flow_print_dir`).
pub fn canonical_or_given(path: &Path) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(path) {
        return p;
    }
    if let (Some(parent), Some(name)) = (path.parent(), path.file_name())
        && let Ok(p) = std::fs::canonicalize(if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        })
    {
        return p.join(name);
    }
    path.to_path_buf()
}

/// Removes the file or symlink at `path`; a missing one is not an error.
pub fn remove_file_if_exists(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("failed to remove {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// Like Python's `os.path.realpath`: an absolute path (relative to `cwd`)
/// with every existing leading component's symlinks resolved and the
/// missing rest appended as given. `None` for an empty path.
pub fn realpath_lenient(path: &Path, cwd: &Path) -> Option<PathBuf> {
    if path.as_os_str().is_empty() {
        return None;
    }
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let mut existing = abs.clone();
    let mut rest: Vec<std::ffi::OsString> = Vec::new();
    loop {
        if let Ok(real) = std::fs::canonicalize(&existing) {
            let mut out = real;
            for part in rest.iter().rev() {
                match part.to_str() {
                    Some("..") => {
                        out.pop();
                    }
                    Some(".") => {}
                    _ => out.push(part),
                }
            }
            return Some(out);
        }
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_os_string());
                existing = parent.to_path_buf();
            }
            _ => return Some(abs),
        }
    }
}

/// Removes `.` components, repeated separators and `..` (by dropping the
/// previous component), like the logical `cd DIR && pwd` of bash.
pub fn normalize_lexically(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Modification time of a file in seconds since the epoch.
pub fn mtime_epoch(path: &Path) -> Option<i64> {
    let meta = std::fs::metadata(path).ok()?;
    let modified = meta.modified().ok()?;
    let d = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(d.as_secs()).ok()
}

/// Size of a file in bytes.
pub fn size(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_keeps_mode() -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("x.env");
        atomic_write(&p, b"A=1\n")?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))?;
        atomic_write(&p, b"A=2\n")?;
        assert_eq!(std::fs::read(&p)?, b"A=2\n");
        assert_eq!(std::fs::metadata(&p)?.permissions().mode() & 0o777, 0o600);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())?.collect();
        assert_eq!(leftovers.len(), 1);
        Ok(())
    }

    #[test]
    fn read_error_names_the_path() {
        let err = read(Path::new("/nonexistent/acp/file.env")).err();
        let msg = format!("{:#}", err.map(|e| e.to_string()).unwrap_or_default());
        assert!(msg.contains("/nonexistent/acp/file.env"), "{msg}");
    }

    #[test]
    fn realpath_lenient_resolves_existing_prefix() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let real = std::fs::canonicalize(dir.path())?;
        std::os::unix::fs::symlink(&real, real.join("link"))?;
        assert_eq!(
            realpath_lenient(Path::new("link/a/b"), &real),
            Some(real.join("a/b"))
        );
        assert_eq!(realpath_lenient(Path::new(""), &real), None);
        Ok(())
    }

    #[test]
    fn normalize_lexically_is_logical_pwd() {
        assert_eq!(
            normalize_lexically(Path::new("/a/./b//c/../d")),
            PathBuf::from("/a/b/d")
        );
        assert_eq!(normalize_lexically(Path::new("/")), PathBuf::from("/"));
    }

    #[test]
    fn canonical_or_given_handles_missing_leaf() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let real = std::fs::canonicalize(dir.path())?;
        assert_eq!(
            canonical_or_given(&dir.path().join("nope")),
            real.join("nope")
        );
        Ok(())
    }
}
