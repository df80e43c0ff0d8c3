//! Moving a curated slice of uncommitted work between retained checkouts
//! (`split-retained-slice.sh`).
//!
//! Every listed path (relative, one a line, `#` comments and blank lines
//! skipped) is copied from the source checkout into a backup directory and
//! into the target checkout, and the target copy is compared with the
//! source. Only when every path has been copied and verified does `--move`
//! touch the source: tracked paths are restored from `HEAD` in the working
//! tree, untracked ones removed. A path that is absolute or climbs out with
//! `..` is refused before anything is copied.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use acp_core::{Env, fail};

use super::gitx;

/// One split.
#[derive(Debug, Clone)]
pub struct SliceRequest {
    pub source: PathBuf,
    pub target: PathBuf,
    pub paths_file: PathBuf,
    /// `None`: a new `retained-slice-backup.XXXXXX` under `tmp_dir`.
    pub backup_root: Option<PathBuf>,
    pub tmp_dir: PathBuf,
    pub move_mode: bool,
}

/// What a split did.
#[derive(Debug, Clone)]
pub struct SliceOutcome {
    pub backup_root: PathBuf,
    pub paths: Vec<PathBuf>,
}

/// The relative paths listed in `text`, checked.
pub fn parse_paths(text: &[u8]) -> anyhow::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for line in text.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        let p = PathBuf::from(std::ffi::OsStr::from_bytes(line));
        let plain = p
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if !plain || p.components().all(|c| c == Component::CurDir) {
            return Err(fail(
                1,
                format!(
                    "path must be relative and stay inside the checkout: {}",
                    p.display()
                ),
            ));
        }
        paths.push(p);
    }
    Ok(paths)
}

fn require_exists(p: &Path) -> anyhow::Result<()> {
    if std::fs::symlink_metadata(p).is_err() {
        return Err(fail(1, format!("missing path: {}", p.display())));
    }
    Ok(())
}

fn require_checkout(p: &Path, what: &str) -> anyhow::Result<()> {
    if !super::is_checkout(p) {
        return Err(fail(
            1,
            format!("{what} is not a git checkout: {}", p.display()),
        ));
    }
    Ok(())
}

/// Runs one split; see the module documentation.
pub fn split_slice(env: &Env, req: &SliceRequest) -> anyhow::Result<SliceOutcome> {
    for p in [&req.source, &req.target, &req.paths_file] {
        require_exists(p)?;
    }
    require_checkout(&req.source, "source")?;
    require_checkout(&req.target, "target")?;
    let status = gitx::run(env, &req.target, ["status", "--porcelain"]).map_err(|e| {
        fail(
            1,
            format!("cannot read the target's status: {}", gitx::last_line(&e)),
        )
    })?;
    if !status.is_empty() {
        return Err(fail(
            1,
            format!(
                "target worktree must be clean before splitting: {}",
                req.target.display()
            ),
        ));
    }
    let paths = parse_paths(&acp_core::fsx::read(&req.paths_file)?)?;
    for rel in &paths {
        if std::fs::symlink_metadata(req.source.join(rel)).is_err() {
            return Err(fail(1, format!("source path missing: {}", rel.display())));
        }
    }
    let backup_root = match &req.backup_root {
        Some(b) => {
            acp_core::fsx::create_dir_all(b)?;
            b.clone()
        }
        None => tempfile::Builder::new()
            .prefix("retained-slice-backup.")
            .rand_bytes(6)
            .tempdir_in(&req.tmp_dir)
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot create a backup dir in {}: {e}",
                    req.tmp_dir.display()
                )
            })?
            .keep(),
    };
    for rel in &paths {
        let from = req.source.join(rel);
        copy_path(&from, &backup_root.join(rel))?;
        let to = req.target.join(rel);
        copy_path(&from, &to)?;
        if !same_tree(&from, &to)? {
            return Err(fail(
                1,
                format!("copy differs from the source: {}", to.display()),
            ));
        }
    }
    if req.move_mode {
        for rel in &paths {
            remove_from_source(env, &req.source, rel)?;
        }
    }
    Ok(SliceOutcome { backup_root, paths })
}

/// Restores a tracked path from `HEAD` (working tree only) or removes an
/// untracked one.
fn remove_from_source(env: &Env, source: &Path, rel: &Path) -> anyhow::Result<()> {
    let spec = |rel: &Path| {
        OsString::from_vec([b":(literal)".as_slice(), rel.as_os_str().as_bytes()].concat())
    };
    use std::os::unix::ffi::OsStringExt;
    let tracked = gitx::ok(
        env,
        source,
        [
            OsString::from("ls-files"),
            "--error-unmatch".into(),
            "--".into(),
            spec(rel),
        ],
    );
    if tracked {
        gitx::run(
            env,
            source,
            [
                OsString::from("restore"),
                "--worktree".into(),
                "--source=HEAD".into(),
                "--".into(),
                spec(rel),
            ],
        )
        .map_err(|e| {
            fail(
                1,
                format!("cannot restore {}: {}", rel.display(), gitx::last_line(&e)),
            )
        })?;
        return Ok(());
    }
    let p = source.join(rel);
    match std::fs::symlink_metadata(&p) {
        Ok(m) if m.is_dir() => Ok(fs_err::remove_dir_all(&p)?),
        Ok(_) => Ok(fs_err::remove_file(&p)?),
        Err(_) => Ok(()),
    }
}

/// `cp -p` for a file (a link at the top is followed), `cp -R` for a
/// directory (links inside are copied as links); the destination's parent
/// is created and a directory there replaced.
fn copy_path(from: &Path, to: &Path) -> anyhow::Result<()> {
    acp_core::fsx::create_dir_all(&acp_core::fsx::parent_dir(to))?;
    if from.is_dir() {
        if std::fs::symlink_metadata(to).is_ok_and(|m| m.is_dir()) {
            fs_err::remove_dir_all(to)?;
        } else if std::fs::symlink_metadata(to).is_ok() {
            fs_err::remove_file(to)?;
        }
        copy_dir(from, to)
    } else {
        copy_file(from, to)
    }
}

fn copy_file(from: &Path, to: &Path) -> anyhow::Result<()> {
    if std::fs::symlink_metadata(to).is_ok_and(|m| m.file_type().is_symlink()) {
        fs_err::remove_file(to)?;
    }
    fs_err::copy(from, to)?;
    let meta = fs_err::metadata(from)?;
    if let Ok(mtime) = meta.modified() {
        let f = fs_err::OpenOptions::new().write(true).open(to)?;
        let _ = f.file().set_modified(mtime);
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    fs_err::create_dir_all(to)?;
    for entry in fs_err::read_dir(from)? {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let ft = entry.file_type()?;
        if ft.is_symlink() {
            std::os::unix::fs::symlink(fs_err::read_link(&src)?, &dst)
                .map_err(|e| anyhow::anyhow!("cannot link {}: {e}", dst.display()))?;
        } else if ft.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            copy_file(&src, &dst)?;
        }
    }
    let perms = fs_err::metadata(from)?.permissions();
    fs_err::set_permissions(to, perms)?;
    Ok(())
}

/// `diff -qr`: the same files with the same bytes (links followed).
fn same_tree(a: &Path, b: &Path) -> anyhow::Result<bool> {
    let (ma, mb) = (fs_err::metadata(a)?, fs_err::metadata(b)?);
    if ma.is_dir() != mb.is_dir() {
        return Ok(false);
    }
    if !ma.is_dir() {
        return Ok(ma.len() == mb.len() && fs_err::read(a)? == fs_err::read(b)?);
    }
    let names = |d: &Path| -> anyhow::Result<Vec<OsString>> {
        let mut v: Vec<OsString> = fs_err::read_dir(d)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()?;
        v.sort();
        Ok(v)
    };
    let (na, nb) = (names(a)?, names(b)?);
    if na != nb {
        return Ok(false);
    }
    for n in na {
        if !same_tree(&a.join(&n), &b.join(&n))? {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_relative_and_inside() {
        let ok = parse_paths(b"# note\n\nsrc/a b.rs\r\n./docs\n\xc3\xa9\n").unwrap();
        assert_eq!(ok.len(), 3);
        for bad in [&b"../x\n"[..], b"/etc/passwd\n", b"a/../../b\n", b".\n"] {
            assert!(
                parse_paths(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
