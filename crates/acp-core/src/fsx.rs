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

/// The most the state-file readers load from one file: 16 MiB.
pub const STATE_FILE_CAP: u64 = 16 << 20;

/// A temp file whose writer is still alive is left alone unless it has not
/// been touched for this long (its pid may since have been reused).
const STALE_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// File names are shortened to this many bytes inside temp and lock names,
/// so those stay within the 255-byte name limit.
const NAME_IN_AUX: usize = 200;

/// What a file-type is called in an error ("a FIFO").
fn describe(ft: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// `Ok` for a regular file; else an error saying what it is instead.
fn check_regular(meta: &std::fs::Metadata) -> std::io::Result<()> {
    if meta.is_file() {
        return Ok(());
    }
    let kind = if meta.is_dir() {
        std::io::ErrorKind::IsADirectory
    } else {
        std::io::ErrorKind::InvalidInput
    };
    Err(std::io::Error::new(
        kind,
        format!("is {}, not a regular file", describe(meta.file_type())),
    ))
}

/// Opens a regular file for reading. Anything else is refused before it is
/// opened (a FIFO would block, a device may never end), and the opened
/// descriptor is checked again, so the call never blocks.
fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    check_regular(&std::fs::metadata(path)?)?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    check_regular(&file.metadata()?)?;
    Ok(file)
}

/// Reads a whole regular file of at most `cap` bytes. FIFOs, devices,
/// sockets and directories are refused without blocking. The error does not
/// name the path (for callers with their own error type); its kind is
/// `NotFound` for a missing file.
pub fn read_regular(path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("larger than the {} limit", human_size(cap)),
        ));
    }
    Ok(bytes)
}

fn human_size(n: u64) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else {
        format!("{n}-byte")
    }
}

/// [`read_regular`] with an error that names the path.
pub fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>> {
    read_regular(path, cap).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// [`read_capped`] of a file that may be missing (`Ok(None)`).
pub fn read_capped_if_exists(path: &Path, cap: u64) -> Result<Option<Vec<u8>>> {
    match read_regular(path, cap) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::anyhow!("{}: {e}", path.display())),
    }
}

/// Appends `bytes` to the regular file `path` (created under the umask if
/// missing) in one write; a FIFO, device or directory there is refused
/// without blocking.
pub fn append_regular(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let named = |e: std::io::Error| anyhow::anyhow!("{}: {e}", path.display());
    match std::fs::metadata(path) {
        Ok(meta) => check_regular(&meta).map_err(named)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(named(e)),
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o666)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(named)?;
    check_regular(&file.metadata().map_err(named)?).map_err(named)?;
    file.write_all(bytes).map_err(named)
}

/// Follows `path` through any chain of symbolic links to the path of the
/// file itself (which may not exist yet: a dangling link names the file to
/// create). Other paths are returned unchanged.
pub fn resolve_links(path: &Path) -> Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = fs_err::read_link(&p)?;
                p = if link.is_absolute() {
                    link
                } else {
                    parent_dir(&p).join(link)
                };
            }
            _ => return Ok(p),
        }
    }
    anyhow::bail!("{}: too many levels of symbolic links", path.display())
}

/// The last component of `path` as bytes, shortened for temp and lock names.
fn short_name(path: &Path) -> Result<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let name = path
        .file_name()
        .ok_or_else(|| anyhow::anyhow!("{}: not a file name", path.display()))?;
    let bytes = name.as_bytes();
    Ok(bytes[..bytes.len().min(NAME_IN_AUX)].to_vec())
}

/// `.<name>.tmp.`: the start of every temp file name of a target.
fn temp_prefix(name: &[u8]) -> Vec<u8> {
    [b".", name, b".tmp."].concat()
}

/// Replaces the file at `path` with `bytes` atomically: readers see the old
/// or the new content, never a part.
///
/// - A symbolic link is followed: its target is replaced, the link kept.
/// - Anything there that is not a regular file (device, FIFO, directory,
///   socket) is refused with an error naming the path; nothing is written.
/// - An existing file keeps its mode and, where permitted (always for
///   root), its owner and group. A new file gets `0666` minus the umask.
/// - The content goes to `.<name>.tmp.<pid>.<n>` in the same directory, is
///   fsynced and renamed over the target. Temp files of the same target left
///   by a writer that no longer runs (or untouched for an hour) are removed
///   first; a live writer's are left alone.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let target = resolve_links(path)?;
    let shown = || shown_with_target(path, &target);
    let existing = replaceable(path, &target)?;
    let dir = parent_dir(&target);
    fs_err::create_dir_all(&dir)?;
    let name = short_name(&target)?;
    remove_stale_temps(&dir, &name);
    let (tmp_path, mut file) = create_temp(&dir, &name, existing.is_some())?;
    let tmp = RemoveOnDrop(Some(tmp_path.clone()));
    let fail = |e: std::io::Error| anyhow::anyhow!("failed to write {}: {e}", tmp_path.display());
    if let Some(meta) = &existing {
        keep_owner_and_mode(&file, meta).map_err(fail)?;
    }
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(fail)?;
    drop(file);
    std::fs::rename(&tmp_path, &target)
        .map_err(|e| anyhow::anyhow!("failed to replace {}: {e}", shown()))?;
    tmp.disarm();
    // Make the rename itself durable; a directory that cannot be synced
    // (some network file systems) still holds the new file.
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// `path`, and the file it leads to when that is another.
fn shown_with_target(path: &Path, target: &Path) -> String {
    if target == path {
        path.display().to_string()
    } else {
        format!("{} (-> {})", path.display(), target.display())
    }
}

/// The metadata of `target` (what `path` leads to) when it is a regular
/// file, `None` when there is nothing; an error naming the path for
/// anything else, which a write must never replace.
fn replaceable(path: &Path, target: &Path) -> Result<Option<std::fs::Metadata>> {
    match std::fs::metadata(target) {
        Ok(meta) if meta.is_file() => Ok(Some(meta)),
        Ok(meta) => anyhow::bail!(
            "refusing to replace {}: it is {}, not a regular file",
            shown_with_target(path, target),
            describe(meta.file_type())
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::anyhow!("{}: {e}", shown_with_target(path, target))),
    }
}

/// Removes the file it holds when dropped, unless disarmed.
struct RemoveOnDrop(Option<PathBuf>);

impl RemoveOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Creates `.<name>.tmp.<pid>.<n>` in `dir`: mode 0600 when it will take an
/// existing file's mode, else 0666 minus the umask.
fn create_temp(dir: &Path, name: &[u8], private: bool) -> Result<(PathBuf, std::fs::File)> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::OpenOptionsExt;
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mut last_err = None;
    for _ in 0..64 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut file_name = temp_prefix(name);
        file_name.extend_from_slice(format!("{}.{nanos:x}{n:x}", std::process::id()).as_bytes());
        let p = dir.join(std::ffi::OsStr::from_bytes(&file_name));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(if private { 0o600 } else { 0o666 })
            .open(&p)
        {
            Ok(f) => return Ok((p, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last_err = Some(e),
            Err(e) => {
                return Err(anyhow::anyhow!(
                    "failed to create a temp file in {}: {e}",
                    dir.display()
                ));
            }
        }
    }
    Err(anyhow::anyhow!(
        "failed to create a temp file in {}: {}",
        dir.display(),
        last_err.map(|e| e.to_string()).unwrap_or_default()
    ))
}

/// Gives the new file the old one's owner and group where permitted (the
/// group alone when only that is), then its mode, set-id bits included.
fn keep_owner_and_mode(file: &std::fs::File, old: &std::fs::Metadata) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt, fchown};
    let new = file.metadata()?;
    if (new.uid(), new.gid()) != (old.uid(), old.gid())
        && fchown(file, Some(old.uid()), Some(old.gid())).is_err()
    {
        let _ = fchown(file, None, Some(old.gid()));
    }
    file.set_permissions(std::fs::Permissions::from_mode(old.mode() & 0o7777))
}

/// Removes the temp files of target `name` in `dir` whose writer is gone:
/// its pid (in the name) no longer exists, or the file has not changed for
/// an hour. Failures are ignored: this is housekeeping.
fn remove_stale_temps(dir: &Path, name: &[u8]) {
    use std::os::unix::ffi::OsStrExt;
    let prefix = temp_prefix(name);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name.as_bytes().strip_prefix(prefix.as_slice()) else {
            continue;
        };
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let writer_gone = writer_pid(rest).is_some_and(|pid| !pid_exists(pid));
        let untouched = meta
            .modified()
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_TEMP_AGE);
        if writer_gone || untouched {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The pid in `<pid>.<rest>` (the part of a temp name after its prefix).
fn writer_pid(rest: &[u8]) -> Option<i32> {
    let end = rest.iter().position(|&b| b == b'.')?;
    let digits = std::str::from_utf8(&rest[..end]).ok()?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<i32>().ok().filter(|&p| p > 0)
}

/// Whether a process with this pid exists (owned by anyone).
fn pid_exists(pid: i32) -> bool {
    // SAFETY: kill(2) with signal 0 only checks that the process exists and
    // may be signalled; nothing is sent and no memory is involved. pid > 0
    // addresses exactly one process.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// An exclusive advisory lock (`flock(2)` through [`std::fs::File::lock`]),
/// released when dropped. Locks are per open file: two `Lock`s on the same
/// path exclude each other across processes and threads alike.
#[derive(Debug)]
pub struct Lock {
    /// A lock file beside a target, removed (while still held) on release.
    remove: Option<PathBuf>,
    /// Held open for the lock's lifetime; closing it releases the lock.
    _file: std::fs::File,
}

impl Drop for Lock {
    fn drop(&mut self) {
        if let Some(p) = self.remove.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Lock {
    /// Waits for an exclusive lock on the existing file or directory `path`
    /// itself (no lock file is made).
    pub fn on(path: &Path) -> Result<Lock> {
        let file = open_for_lock(path)?;
        file.lock()
            .map_err(|e| anyhow::anyhow!("failed to lock {}: {e}", path.display()))?;
        Ok(Lock {
            remove: None,
            _file: file,
        })
    }

    /// [`Lock::on`] without waiting: `Ok(None)` while someone else holds it.
    pub fn try_on(path: &Path) -> Result<Option<Lock>> {
        let file = open_for_lock(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Lock {
                remove: None,
                _file: file,
            })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(anyhow::anyhow!("failed to lock {}: {e}", path.display()))
            }
        }
    }

    /// Waits for the lock that serialises read-modify-write updates of
    /// `target`: `.<name>.lock` beside the file (after following symbolic
    /// links, so every path to one file shares its lock). The lock file is
    /// created as needed and removed on release; one left by a killed
    /// holder is simply taken over. A target that exists and is not a
    /// regular file is refused (as [`atomic_write`] would refuse it) before
    /// anything is created.
    pub fn beside(target: &Path) -> Result<Lock> {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::MetadataExt;
        let given = target;
        let target = resolve_links(given)?;
        replaceable(given, &target)?;
        let dir = parent_dir(&target);
        fs_err::create_dir_all(&dir)?;
        let name = [b".", short_name(&target)?.as_slice(), b".lock"].concat();
        let lock_path = dir.join(std::ffi::OsStr::from_bytes(&name));
        let named =
            |e: std::io::Error| anyhow::anyhow!("failed to lock {}: {e}", lock_path.display());
        loop {
            let file = open_lock_file(&lock_path).map_err(named)?;
            file.lock().map_err(named)?;
            // A holder that released it before we got it removed the file:
            // the lock is only valid on the file that is still in place.
            let held = file.metadata().map_err(named)?;
            match std::fs::symlink_metadata(&lock_path) {
                Ok(now) if (now.dev(), now.ino()) == (held.dev(), held.ino()) => {
                    return Ok(Lock {
                        remove: Some(lock_path),
                        _file: file,
                    });
                }
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(named(e)),
            }
        }
    }
}

/// Opens an existing file or directory to lock it, without blocking on a
/// FIFO or opening a device.
fn open_for_lock(path: &Path) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let named = |e: std::io::Error| anyhow::anyhow!("failed to lock {}: {e}", path.display());
    let meta = std::fs::metadata(path).map_err(named)?;
    if !meta.is_file() && !meta.is_dir() {
        return Err(named(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("is {}", describe(meta.file_type())),
        )));
    }
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(named)
}

/// Opens (creating under the umask) a lock file; a symbolic link or
/// anything but a regular file there is refused.
fn open_lock_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .mode(0o666)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_NOFOLLOW)
        .open(path)?;
    check_regular(&file.metadata()?)?;
    Ok(file)
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

    use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

    fn sh(script: &str, dir: &Path) {
        let ok = std::process::Command::new("sh")
            .args(["-c", script])
            .current_dir(dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "sh -c {script}");
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    fn is_root() -> bool {
        let dir = tempfile::tempdir().ok();
        dir.and_then(|d| std::fs::metadata(d.path()).ok())
            .is_some_and(|m| m.uid() == 0)
    }

    #[test]
    fn atomic_write_replaces_and_keeps_mode() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("x.env");
        atomic_write(&p, b"A=1\n")?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640))?;
        atomic_write(&p, b"A=2\n")?;
        assert_eq!(std::fs::read(&p)?, b"A=2\n");
        assert_eq!(std::fs::metadata(&p)?.permissions().mode() & 0o7777, 0o640);
        assert_eq!(names(dir.path()), ["x.env"]);
        Ok(())
    }

    #[test]
    fn atomic_write_refuses_devices_fifos_and_directories() -> Result<()> {
        let dir = tempfile::tempdir()?;
        sh("mkfifo fifo && mkdir sub", dir.path());
        let mut targets = vec!["fifo", "sub"];
        if is_root() {
            // A private /dev/null look-alike: never the real one.
            sh("mknod null c 1 3", dir.path());
            targets.push("null");
        }
        for name in targets {
            let p = dir.path().join(name);
            let before = std::fs::symlink_metadata(&p)?.file_type();
            let err = atomic_write(&p, b"A=1\n").err().map(|e| format!("{e:#}"));
            let err = err.unwrap_or_default();
            assert!(err.contains(&p.display().to_string()), "{err}");
            assert!(err.contains("not a regular file"), "{err}");
            assert_eq!(err.lines().count(), 1, "{err}");
            assert_eq!(std::fs::symlink_metadata(&p)?.file_type(), before);
        }
        assert!(
            names(dir.path()).iter().all(|n| !n.contains(".tmp.")),
            "{:?}",
            names(dir.path())
        );
        Ok(())
    }

    #[test]
    fn atomic_write_replaces_a_link_target_and_keeps_the_link() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let real = dir.path().join("real.env");
        std::fs::write(&real, "A=1\n")?;
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600))?;
        let link = dir.path().join("link.env");
        std::os::unix::fs::symlink("real.env", &link)?;
        atomic_write(&link, b"A=2\n")?;
        assert!(std::fs::symlink_metadata(&link)?.file_type().is_symlink());
        assert_eq!(std::fs::read(&real)?, b"A=2\n");
        assert_eq!(
            std::fs::metadata(&real)?.permissions().mode() & 0o777,
            0o600
        );

        // A dangling link names the file to create.
        let dangling = dir.path().join("dangling.env");
        std::os::unix::fs::symlink(dir.path().join("new.env"), &dangling)?;
        atomic_write(&dangling, b"B=1\n")?;
        assert_eq!(std::fs::read(dir.path().join("new.env"))?, b"B=1\n");
        assert!(
            std::fs::symlink_metadata(&dangling)?
                .file_type()
                .is_symlink()
        );

        // A link to a FIFO is refused, naming both.
        sh("mkfifo fifo && ln -s fifo to-fifo", dir.path());
        let err = atomic_write(&dir.path().join("to-fifo"), b"x")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("to-fifo (-> ") && err.contains("a FIFO"),
            "{err}"
        );
        assert!(
            std::fs::symlink_metadata(dir.path().join("fifo"))?
                .file_type()
                .is_fifo()
        );
        Ok(())
    }

    #[test]
    fn atomic_write_keeps_the_owner_when_root() -> Result<()> {
        if !is_root() {
            // Only root may give a file away; the mode test covers the rest.
            return Ok(());
        }
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("owned.env");
        std::fs::write(&p, "A=1\n")?;
        std::os::unix::fs::chown(&p, Some(4321), Some(4322))?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o2640))?;
        atomic_write(&p, b"A=2\n")?;
        let m = std::fs::metadata(&p)?;
        assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (4321, 4322, 0o2640));
        Ok(())
    }

    #[test]
    fn atomic_write_removes_only_dead_writers_temp_files() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let d = dir.path();
        // A pid that surely no longer runs: a reaped child's.
        let mut child = std::process::Command::new("true").spawn()?;
        let dead = child.id();
        child.wait()?;
        let live = std::process::id();
        std::fs::write(d.join(format!(".k.env.tmp.{dead}.ab12")), "half")?;
        std::fs::write(d.join(format!(".k.env.tmp.{live}.cd34")), "in flight")?;
        std::fs::write(d.join(".k.env.tmp.aXb9Zq"), "old style, fresh")?;
        let old = d.join(".k.env.tmp.Qw3rTy");
        std::fs::write(&old, "old style, stale")?;
        std::fs::File::options()
            .write(true)
            .open(&old)?
            .set_modified(std::time::SystemTime::now() - 2 * STALE_TEMP_AGE)?;
        std::fs::write(d.join(format!(".other.env.tmp.{dead}.ef56")), "not ours")?;
        atomic_write(&d.join("k.env"), b"K=1\n")?;
        assert_eq!(
            names(d),
            [
                format!(".k.env.tmp.{live}.cd34"),
                ".k.env.tmp.aXb9Zq".to_string(),
                format!(".other.env.tmp.{dead}.ef56"),
                "k.env".to_string(),
            ]
        );
        Ok(())
    }

    #[test]
    fn capped_reads_refuse_what_is_not_a_regular_file() -> Result<()> {
        let dir = tempfile::tempdir()?;
        sh(
            "mkfifo fifo && mkdir sub && printf 0123456789 > ten",
            dir.path(),
        );
        let mut refused = vec![("fifo", "a FIFO"), ("sub", "a directory")];
        if is_root() {
            sh("mknod zero c 1 5", dir.path());
            refused.push(("zero", "a character device"));
        }
        for (name, what) in refused {
            let p = dir.path().join(name);
            // Returns at once: a FIFO without a writer is never opened.
            let err = read_capped(&p, STATE_FILE_CAP)
                .err()
                .map(|e| format!("{e:#}"));
            let err = err.unwrap_or_default();
            assert_eq!(
                err,
                format!("{}: is {what}, not a regular file", p.display())
            );
        }
        let ten = dir.path().join("ten");
        assert_eq!(read_capped(&ten, 10)?, b"0123456789");
        let err = read_capped(&ten, 9).err().map(|e| e.to_string());
        assert!(
            err.as_deref().is_some_and(|e| e.contains("larger than")),
            "{err:?}"
        );
        assert_eq!(read_capped_if_exists(&dir.path().join("none"), 9)?, None);
        Ok(())
    }

    #[test]
    fn append_regular_refuses_a_fifo_without_blocking() -> Result<()> {
        let dir = tempfile::tempdir()?;
        sh("mkfifo fifo", dir.path());
        let err = append_regular(&dir.path().join("fifo"), b"x\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.ends_with("fifo: is a FIFO, not a regular file"),
            "{err}"
        );
        let f = dir.path().join("log.jsonl");
        append_regular(&f, b"a\n")?;
        append_regular(&f, b"b\n")?;
        assert_eq!(std::fs::read(&f)?, b"a\nb\n");
        Ok(())
    }

    #[test]
    fn lock_beside_serialises_read_modify_write_across_threads() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let counter = dir.path().join("count");
        std::fs::write(&counter, "0")?;
        let rounds = 200;
        let worker = move |counter: PathBuf| -> Result<()> {
            for _ in 0..rounds {
                let _lock = Lock::beside(&counter)?;
                let n: u64 = std::fs::read_to_string(&counter)?.trim().parse()?;
                atomic_write(&counter, (n + 1).to_string().as_bytes())?;
            }
            Ok(())
        };
        let a = {
            let c = counter.clone();
            std::thread::spawn(move || worker(c))
        };
        let b = {
            let c = counter.clone();
            std::thread::spawn(move || worker(c))
        };
        for t in [a, b] {
            t.join().map_err(|_| anyhow::anyhow!("thread panicked"))??;
        }
        assert_eq!(std::fs::read_to_string(&counter)?, (2 * rounds).to_string());
        assert_eq!(names(dir.path()), ["count"], "lock file removed on release");
        Ok(())
    }

    #[test]
    fn lock_on_a_directory_excludes_a_second_holder() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let held = Lock::try_on(dir.path())?;
        assert!(held.is_some());
        assert!(Lock::try_on(dir.path())?.is_none());
        drop(held);
        assert!(Lock::try_on(dir.path())?.is_some());
        let _blocking = Lock::on(dir.path())?;
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
