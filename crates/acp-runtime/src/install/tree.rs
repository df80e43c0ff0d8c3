//! Putting a copy of a directory tree in place without a reader ever seeing
//! it half written: the copy is made in a staging directory beside the
//! target and then swapped with the target in one rename.
//!
//! A copy onto itself (the same physical directory) is a no-op, never a
//! delete-then-copy, so publishing a tree onto itself cannot wipe it.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use acp_core::Env;
use anyhow::{Context, Result, anyhow};

/// What [`mirror`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mirrored {
    /// The source directory does not exist: the target was left alone.
    NoSource,
    /// Source and target are the same directory: nothing to do.
    SameTree,
    /// A fresh copy replaced (or created) the target.
    Copied,
}

/// How to copy one tree.
#[derive(Debug, Clone, Default)]
pub struct MirrorOptions {
    /// Top-level entries of the source that are not copied (`profiles`).
    pub skip_top: Vec<OsString>,
    /// Directories (relative to the copy) whose files are made executable.
    pub exec_dirs: Vec<&'static str>,
}

/// Makes `dst` an exact copy of `src` (directories named `.git` left out,
/// like `rsync -a --delete --exclude=.git/`), staged beside `dst` and
/// swapped into place. `rsync` on the environment's `PATH` fills the
/// staging directory when it can; otherwise (or when it fails) a native
/// copy does.
pub fn mirror(env: &Env, src: &Path, dst: &Path, opts: &MirrorOptions) -> Result<Mirrored> {
    if !src.is_dir() {
        return Ok(Mirrored::NoSource);
    }
    let src_real = std::fs::canonicalize(src)
        .with_context(|| format!("failed to resolve {}", src.display()))?;
    refuse_non_directory(dst)?;
    let dst_real = acp_core::fsx::canonical_or_given(dst);
    if dst_real == src_real {
        return Ok(Mirrored::SameTree);
    }
    if src_real.starts_with(&dst_real) {
        return Err(anyhow!(
            "{}: refusing to replace a directory that contains the source {}",
            dst.display(),
            src.display()
        ));
    }
    let parent = acp_core::fsx::parent_dir(&dst_real);
    acp_core::fsx::create_dir_all(&parent)?;
    let name = dst_real
        .file_name()
        .ok_or_else(|| anyhow!("{}: not a directory name", dst.display()))?
        .to_os_string();
    remove_stale_stages(&parent, &name);
    let stage = Stage::create(&parent, &name)?;
    fill(env, &src_real, &stage.path, &dst_real, opts)?;
    for rel in &opts.exec_dirs {
        make_files_executable(&stage.path.join(rel))?;
    }
    swap_into_place(stage, &dst_real)?;
    Ok(Mirrored::Copied)
}

/// An existing `dst` that is not a directory (a file, a FIFO, a dangling
/// link) is an error naming it: nothing there is replaced.
fn refuse_non_directory(dst: &Path) -> Result<()> {
    match std::fs::symlink_metadata(dst) {
        Err(_) => Ok(()),
        Ok(_) if dst.is_dir() => Ok(()),
        Ok(_) => Err(anyhow!(
            "{}: exists and is not a directory; not replacing it",
            dst.display()
        )),
    }
}

/// A staging directory `.<name>.acp-stage.<pid>.<n>` beside the target,
/// removed when dropped unless it was moved into place.
struct Stage {
    path: PathBuf,
    armed: bool,
}

impl Stage {
    fn create(parent: &Path, name: &OsStr) -> Result<Stage> {
        let pid = std::process::id();
        for n in 0..1000u32 {
            let mut stage_name = OsString::from(".");
            stage_name.push(name);
            stage_name.push(format!(".acp-stage.{pid}.{n}"));
            let path = parent.join(stage_name);
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(Stage { path, armed: true }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(anyhow!("failed to create {}: {e}", path.display()));
                }
            }
        }
        Err(anyhow!(
            "{}: no free staging directory name",
            parent.display()
        ))
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        if self.armed {
            let _ = remove_tree(&self.path);
        }
    }
}

/// Removes staging directories of `name` left by publishers that died.
fn remove_stale_stages(parent: &Path, name: &OsStr) {
    let mut prefix = OsString::from(".");
    prefix.push(name);
    prefix.push(".acp-stage.");
    let prefix = prefix.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file_name.strip_prefix(&prefix) else {
            continue;
        };
        let pid = rest.split('.').next().and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| !process_alive(p)) {
            let _ = remove_tree(&entry.path());
        }
    }
}

/// Whether `pid` may still be a publisher at work (pids 0 and 1 count as
/// alive: they are never ours to judge).
fn process_alive(pid: i32) -> bool {
    pid <= 1 || acp_core::process::signal_pid(u32::try_from(pid).unwrap_or(0), 0)
}

/// Fills the empty `stage` with a copy of `src` (canonical). `dst` is the
/// final target: when it lies inside `src` it is left out of the copy.
fn fill(env: &Env, src: &Path, stage: &Path, dst: &Path, opts: &MirrorOptions) -> Result<()> {
    let nested = dst.starts_with(src);
    if !nested && let Some(rsync) = env.which("rsync") {
        let mut cmd = std::process::Command::new(rsync);
        cmd.args(["-a", "--delete", "--exclude=.git/"]);
        for skip in &opts.skip_top {
            let mut pattern = OsString::from("--exclude=/");
            pattern.push(skip);
            pattern.push("/");
            cmd.arg(pattern);
        }
        let mut from = src.as_os_str().to_os_string();
        from.push("/");
        let mut to = stage.as_os_str().to_os_string();
        to.push("/");
        cmd.arg(from).arg(to);
        env.apply(&mut cmd);
        let ok = acp_core::process::output(&mut cmd).is_ok_and(|o| o.status.success());
        if ok {
            return Ok(());
        }
        empty_dir(stage)?;
    }
    let skip_paths: Vec<PathBuf> = vec![dst.to_path_buf(), stage.to_path_buf()];
    copy_dir(src, stage, &opts.skip_top, &skip_paths)
}

/// Removes everything inside `dir` (a staging directory a failed rsync
/// left half filled).
fn empty_dir(dir: &Path) -> Result<()> {
    for entry in fs_err::read_dir(dir)? {
        let path = entry?.path();
        remove_tree(&path)?;
    }
    Ok(())
}

/// Copies the contents of directory `src` into the existing directory
/// `dst`: regular files with their mode and modification time, symbolic
/// links as links, directories recursively; `.git` directories, the
/// top-level names in `skip_top`, the directories `skip_paths` and special
/// files (FIFOs, sockets, devices) are left out.
fn copy_dir(src: &Path, dst: &Path, skip_top: &[OsString], skip_paths: &[PathBuf]) -> Result<()> {
    for entry in fs_err::read_dir(src)? {
        let entry = entry?;
        let name = entry.file_name();
        if skip_top.contains(&name) {
            continue;
        }
        let from = entry.path();
        let to = dst.join(&name);
        let meta = fs_err::symlink_metadata(&from)?;
        let ft = meta.file_type();
        if ft.is_dir() {
            if name == ".git" || skip_paths.iter().any(|p| p == &from) {
                continue;
            }
            fs_err::create_dir(&to)?;
            copy_dir(&from, &to, &[], skip_paths)?;
            fs_err::set_permissions(&to, meta.permissions())?;
        } else if ft.is_symlink() {
            let link = fs_err::read_link(&from)?;
            std::os::unix::fs::symlink(&link, &to)
                .with_context(|| format!("failed to create link {}", to.display()))?;
        } else if ft.is_file() {
            copy_file(&from, &to, &meta)?;
        }
    }
    Ok(())
}

/// Copies one regular file, keeping its mode and modification time.
fn copy_file(from: &Path, to: &Path, meta: &std::fs::Metadata) -> Result<()> {
    fs_err::copy(from, to)?;
    if let Ok(modified) = meta.modified() {
        let file = fs_err::OpenOptions::new().write(true).open(to)?;
        let times = std::fs::FileTimes::new().set_modified(modified);
        file.file()
            .set_times(times)
            .with_context(|| format!("failed to set the time of {}", to.display()))?;
    }
    Ok(())
}

/// `chmod +x` every regular file under `dir` (when it exists).
fn make_files_executable(dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let ft = entry.file_type()?;
        if ft.is_dir() {
            make_files_executable(&path)?;
        } else if ft.is_file() {
            acp_core::fsx::make_executable(&path)?;
        }
    }
    Ok(())
}

/// Moves the filled `stage` to `dst`: an atomic exchange when `dst`
/// exists (Linux `renameat2(RENAME_EXCHANGE)`, macOS `renamex_np(RENAME_SWAP)`),
/// so a reader sees the old tree or the new one and never none; then the
/// old tree (now at the staging path) is removed.
fn swap_into_place(mut stage: Stage, dst: &Path) -> Result<()> {
    if std::fs::symlink_metadata(dst).is_err() {
        fs_err::rename(&stage.path, dst)?;
        stage.armed = false;
        return Ok(());
    }
    match exchange(&stage.path, dst) {
        // The old tree now sits at the staging path; dropping the stage removes it.
        Ok(()) => Ok(()),
        Err(_) => swap_by_renames(stage, dst),
    }
}

/// Without an atomic exchange (file system or platform): the old tree is
/// moved aside, the new one in (put back when that fails), then the old
/// one removed.
fn swap_by_renames(mut stage: Stage, dst: &Path) -> Result<()> {
    let mut aside = stage.path.clone().into_os_string();
    aside.push(".old");
    let aside = PathBuf::from(aside);
    fs_err::rename(dst, &aside)?;
    if let Err(e) = fs_err::rename(&stage.path, dst) {
        let _ = std::fs::rename(&aside, dst);
        return Err(e.into());
    }
    stage.armed = false;
    remove_tree(&aside)
}

/// Exchanges two existing paths atomically.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let a_c = std::ffi::CString::new(a.as_os_str().as_bytes())?;
    let b_c = std::ffi::CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both pointers are valid NUL-terminated strings that outlive
    // the call; renameat2 only reads them.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a_c.as_ptr(),
            libc::AT_FDCWD,
            b_c.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Exchanges two existing paths atomically.
#[cfg(target_os = "macos")]
#[allow(unsafe_code)]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let a_c = std::ffi::CString::new(a.as_os_str().as_bytes())?;
    let b_c = std::ffi::CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both pointers are valid NUL-terminated strings that outlive
    // the call; renamex_np only reads them.
    let rc = unsafe { libc::renamex_np(a_c.as_ptr(), b_c.as_ptr(), libc::RENAME_SWAP) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// No atomic exchange on this platform.
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// Removes a file or a whole tree (missing is fine); read-only
/// directories inside are made writable first when that is what stops it.
pub fn remove_tree(path: &Path) -> Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Err(_) => return Ok(()),
        Ok(m) => m,
    };
    if !meta.is_dir() {
        return acp_core::fsx::remove_file_if_exists(path);
    }
    if std::fs::remove_dir_all(path).is_ok() {
        return Ok(());
    }
    make_dirs_writable(path);
    std::fs::remove_dir_all(path).with_context(|| format!("failed to remove {}", path.display()))
}

fn make_dirs_writable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::symlink_metadata(dir)
        && meta.is_dir()
    {
        let mut perms = meta.permissions();
        perms.set_mode(perms.mode() | 0o700);
        let _ = std::fs::set_permissions(dir, perms);
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.filter_map(Result::ok) {
                make_dirs_writable(&e.path());
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn env_without_rsync() -> Env {
        let mut env = Env::new();
        env.set("PATH", "/nonexistent");
        env
    }

    #[test]
    fn mirror_copies_replaces_and_skips_git_and_profiles() {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        std::fs::create_dir_all(src.join(".git/objects")).unwrap();
        std::fs::create_dir_all(src.join("profiles/x")).unwrap();
        std::fs::create_dir_all(src.join("tools/bin")).unwrap();
        std::fs::write(src.join("tools/bin/a.sh"), "a").unwrap();
        std::os::unix::fs::symlink("tools/bin/a.sh", src.join("link")).unwrap();
        let dst = t.path().join("out/dst");
        std::fs::create_dir_all(&dst).unwrap();
        std::fs::write(dst.join("stale"), "x").unwrap();
        let opts = MirrorOptions {
            skip_top: vec!["profiles".into()],
            exec_dirs: vec!["tools/bin"],
        };
        let got = mirror(&env_without_rsync(), &src, &dst, &opts).unwrap();
        assert_eq!(got, Mirrored::Copied);
        assert_eq!(
            std::fs::read_to_string(dst.join("tools/bin/a.sh")).unwrap(),
            "a"
        );
        assert!(acp_core::fsx::is_executable(&dst.join("tools/bin/a.sh")));
        assert!(
            std::fs::symlink_metadata(dst.join("link"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(!dst.join("stale").exists());
        assert!(!dst.join(".git").exists());
        assert!(!dst.join("profiles").exists());
        let leftovers: Vec<_> = std::fs::read_dir(t.path().join("out")).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "staging dirs left behind");
    }

    #[test]
    fn the_rename_fallback_replaces_the_target_and_cleans_up() {
        let t = tempfile::tempdir().unwrap();
        let dst = t.path().join("dst");
        std::fs::create_dir_all(&dst).unwrap();
        std::fs::write(dst.join("old"), "o").unwrap();
        let stage = Stage::create(t.path(), std::ffi::OsStr::new("dst")).unwrap();
        std::fs::write(stage.path.join("new"), "n").unwrap();
        swap_by_renames(stage, &dst).unwrap();
        assert!(dst.join("new").is_file());
        assert!(!dst.join("old").exists());
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
    }

    #[test]
    fn mirror_onto_itself_is_a_no_op() {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("keep"), "k").unwrap();
        let via_link = t.path().join("alias");
        std::os::unix::fs::symlink(&src, &via_link).unwrap();
        let env = env_without_rsync();
        let opts = MirrorOptions::default();
        assert_eq!(mirror(&env, &src, &src, &opts).unwrap(), Mirrored::SameTree);
        assert_eq!(
            mirror(&env, &src, &via_link, &opts).unwrap(),
            Mirrored::SameTree
        );
        assert_eq!(std::fs::read_to_string(src.join("keep")).unwrap(), "k");
    }

    #[test]
    fn mirror_refuses_a_file_target_and_a_parent_of_the_source() {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("home/skill");
        std::fs::create_dir_all(&src).unwrap();
        let file = t.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let env = env_without_rsync();
        let opts = MirrorOptions::default();
        let err = mirror(&env, &src, &file, &opts).unwrap_err().to_string();
        assert!(err.contains(&file.display().to_string()), "{err}");
        let err = mirror(&env, &src, &t.path().join("home"), &opts).unwrap_err();
        assert!(err.to_string().contains("contains the source"), "{err}");
        assert!(src.is_dir());
    }

    #[test]
    fn mirror_into_a_directory_inside_the_source_leaves_the_target_out() {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        std::fs::create_dir_all(src.join("a")).unwrap();
        std::fs::write(src.join("a/f"), "f").unwrap();
        let dst = src.join("nested/copy");
        let env = env_without_rsync();
        mirror(&env, &src, &dst, &MirrorOptions::default()).unwrap();
        assert!(dst.join("a/f").is_file());
        assert!(!dst.join("nested/copy").exists());
    }
}
