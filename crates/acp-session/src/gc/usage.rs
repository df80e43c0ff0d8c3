//! Disk use of a directory tree.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// KiB allocated under `path` like `du -sk`: symbolic links are counted
/// but not followed, hard links once, other file systems included. Entries
/// that cannot be read are skipped. 0 when `path` does not exist.
pub fn disk_usage_kib(path: &Path) -> u64 {
    let mut seen = HashSet::new();
    let mut blocks = 0u64;
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(md) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if md.nlink() > 1 && !md.is_dir() && !seen.insert((md.dev(), md.ino())) {
            continue;
        }
        blocks += md.blocks();
        if md.is_dir()
            && let Ok(rd) = std::fs::read_dir(&p)
        {
            stack.extend(rd.filter_map(Result::ok).map(|e| e.path()));
        }
    }
    blocks.div_ceil(2)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn counts_files_once_and_skips_links() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("a"), vec![1u8; 64 * 1024]).unwrap();
        std::fs::hard_link(t.path().join("a"), t.path().join("b")).unwrap();
        std::os::unix::fs::symlink("/usr", t.path().join("l")).unwrap();
        let kib = disk_usage_kib(t.path());
        assert!((64..200).contains(&kib), "{kib}");
        assert_eq!(disk_usage_kib(&t.path().join("none")), 0);
    }
}
