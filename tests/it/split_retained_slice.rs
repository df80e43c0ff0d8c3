//! `split-retained-slice.sh` through its shim, with two real checkouts.

use std::path::{Path, PathBuf};

use crate::harness::{World, kv, read, run};
use crate::sync_anchor_repo::{ODD, git};

const TOOL: &str = "tools/bin/split-retained-slice.sh";

/// Two checkouts of one repository (tracked `keep.txt`, `a b/é.txt`,
/// `:magic.txt`) under `ODD`; the source has uncommitted work.
fn checkouts(w: &World) -> (PathBuf, PathBuf) {
    let source = w.git_repo(&format!("{ODD}/source"));
    for (rel, text) in [
        ("keep.txt", "keep\n"),
        ("a b/é.txt", "v1\n"),
        (":magic.txt", "m1\n"),
    ] {
        let p = source.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    git(w, &source, &["add", "-A"]);
    git(w, &source, &["commit", "-q", "-m", "base"]);
    let target = w.path(&format!("{ODD}/target"));
    git(
        w,
        &w.root(),
        &[
            "clone",
            "-q",
            source.to_str().unwrap(),
            target.to_str().unwrap(),
        ],
    );
    std::fs::write(source.join("a b/é.txt"), "v1\nchanged\n").unwrap();
    std::fs::write(source.join(":magic.txt"), "m1\nchanged\n").unwrap();
    std::fs::create_dir_all(source.join("new dir/sub")).unwrap();
    std::fs::write(source.join("new dir/sub/n.txt"), "new\n").unwrap();
    std::os::unix::fs::symlink("sub/n.txt", source.join("new dir/link")).unwrap();
    std::fs::write(source.join("loose 'q'.txt"), "loose\n").unwrap();
    (source, target)
}

fn split(
    w: &World,
    source: &Path,
    target: &Path,
    list: &Path,
    extra: &[&str],
) -> (i32, String, String) {
    run(w
        .shim(TOOL)
        .arg("--source")
        .arg(source)
        .arg("--target")
        .arg(target)
        .arg("--paths-file")
        .arg(list)
        .args(extra))
}

#[test]
fn copies_verifies_and_moves_a_slice() {
    let w = World::new();
    let (source, target) = checkouts(&w);
    let list = w.write(
        "slice.txt",
        "# the slice\n\na b/é.txt\n:magic.txt\nnew dir\nloose 'q'.txt\n",
    );
    let backup = w.path("backup here");
    let (code, out, err) = split(
        &w,
        &source,
        &target,
        &list,
        &["--backup-root", backup.to_str().unwrap(), "--move"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "SOURCE_ROOT"), source.to_str());
    assert_eq!(kv(&out, "TARGET_ROOT"), target.to_str());
    assert_eq!(kv(&out, "PATHS_FILE"), list.to_str());
    assert_eq!(kv(&out, "BACKUP_ROOT"), backup.to_str());
    assert_eq!(kv(&out, "MOVE_MODE"), Some("true"));
    for root in [&target, &backup] {
        assert_eq!(read(root.join("a b/é.txt")), "v1\nchanged\n");
        assert_eq!(read(root.join(":magic.txt")), "m1\nchanged\n");
        assert_eq!(read(root.join("new dir/sub/n.txt")), "new\n");
        assert_eq!(
            std::fs::read_link(root.join("new dir/link")).unwrap(),
            Path::new("sub/n.txt")
        );
        assert_eq!(read(root.join("loose 'q'.txt")), "loose\n");
    }
    // The source is back at HEAD for tracked paths, untracked ones are gone.
    assert_eq!(read(source.join("a b/é.txt")), "v1\n");
    assert_eq!(read(source.join(":magic.txt")), "m1\n");
    assert!(!source.join("new dir").exists());
    assert!(!source.join("loose 'q'.txt").exists());
    assert_eq!(git(&w, &source, &["status", "--porcelain"]), "");
}

#[test]
fn without_move_the_source_keeps_everything_and_a_temp_backup_is_made() {
    let mut w = World::new();
    let tmp = w.path("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    w.env("TMPDIR", &tmp);
    let (source, target) = checkouts(&w);
    let list = w.write("slice.txt", "a b/é.txt\n");
    let (code, out, err) = split(&w, &source, &target, &list, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "MOVE_MODE"), Some("false"));
    let backup = PathBuf::from(kv(&out, "BACKUP_ROOT").unwrap());
    assert!(
        backup.starts_with(&tmp)
            && backup
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("retained-slice-backup.")
    );
    assert_eq!(read(backup.join("a b/é.txt")), "v1\nchanged\n");
    assert_eq!(read(source.join("a b/é.txt")), "v1\nchanged\n");
}

#[test]
fn paths_outside_the_checkout_are_refused_before_anything_is_copied() {
    let w = World::new();
    let (source, target) = checkouts(&w);
    w.write(&format!("{ODD}/secret.txt"), "outside\n");
    for bad in ["../secret.txt", "/etc/hostname", "a b/../../secret.txt"] {
        let list = w.write("slice.txt", format!("a b/é.txt\n{bad}\n"));
        let (code, out, err) = split(&w, &source, &target, &list, &["--move"]);
        assert_eq!((code, out.as_str()), (1, ""), "{bad}");
        assert!(
            err.contains("must be relative and stay inside the checkout"),
            "{err}"
        );
        assert_eq!(
            read(target.join("a b/é.txt")),
            "v1\n",
            "nothing copied for {bad}"
        );
        assert_eq!(read(source.join("a b/é.txt")), "v1\nchanged\n");
    }
}

#[test]
fn a_dirty_target_a_missing_path_and_usage_fail_with_exit_1() {
    let w = World::new();
    let (source, target) = checkouts(&w);
    let list = w.write("slice.txt", "nope.txt\n");
    let (code, _, err) = split(&w, &source, &target, &list, &[]);
    assert_eq!(code, 1);
    assert_eq!(err.trim(), "source path missing: nope.txt");

    std::fs::write(target.join("dirt.txt"), "x").unwrap();
    let (code, _, err) = split(&w, &source, &target, &list, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        format!(
            "target worktree must be clean before splitting: {}",
            target.display()
        )
    );

    let plain = w.path("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let (code, _, err) = split(&w, &plain, &target, &list, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        format!("source is not a git checkout: {}", plain.display())
    );
    let (code, _, err) = split(&w, &w.path("absent"), &target, &list, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        format!("missing path: {}", w.path("absent").display())
    );

    let (code, out, err) = run(w.shim(TOOL).args(["--source", "x"]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.contains("--paths-file"), "{err}");
    let (code, out, _) = run(w.shim(TOOL).arg("--help"));
    assert_eq!(code, 0);
    assert!(out.contains("--backup-root"), "{out}");
}

#[test]
fn a_path_that_is_not_utf8_is_copied_and_moved() {
    use std::os::unix::ffi::OsStrExt;
    let w = World::new();
    let (source, target) = checkouts(&w);
    let name = std::ffi::OsStr::from_bytes(b"raw-\xff.bin");
    std::fs::write(source.join(name), "bytes\n").unwrap();
    let list = w.path("slice.txt");
    std::fs::write(&list, b"raw-\xff.bin\n").unwrap();
    let (code, _, err) = split(&w, &source, &target, &list, &["--move"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(read(target.join(name)), "bytes\n");
    assert!(!source.join(name).exists());
}
