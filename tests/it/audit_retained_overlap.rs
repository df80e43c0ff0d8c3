//! Integration tests for `audit-retained-overlap.sh` (through its shim).

use crate::harness::{World, run};

const TOOL: &str = "tools/bin/audit-retained-overlap.sh";

#[test]
fn compares_uncommitted_sets_with_odd_names() {
    let w = World::new();
    let a = w.git_repo("a");
    let b = w.git_repo("b");
    for (repo, files) in [
        (&a, &["src/x/y.rs", "both.txt", "sp ace é.txt"][..]),
        (&b, &["both.txt", "only-b.txt"]),
    ] {
        for f in files {
            let p = repo.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x").unwrap();
        }
    }
    let (code, out, err) = run(w
        .shim(TOOL)
        .arg("--primary")
        .arg(&a)
        .arg("--secondary")
        .arg(&b)
        .args(["--primary-label", "left-side"]));
    assert_eq!(code, 0, "{err}");
    let expected = format!(
        "LEFT_SIDE_ROOT={}\nSECONDARY_ROOT={}\nLEFT_SIDE_COUNT=3\nSECONDARY_COUNT=2\nOVERLAP_COUNT=1\n\
LEFT_SIDE_ONLY_COUNT=2\nSECONDARY_ONLY_COUNT=1\n\n[left-side-only-groups]\n1 src/\n1 sp ace é.txt\n\n\
[secondary-only-groups]\n1 only-b.txt\n\n[overlap-groups]\n1 both.txt\n\n\
[left-side-only-files]\nsp ace é.txt\nsrc/\n\n[secondary-only-files]\nonly-b.txt\n\n[overlap-files]\nboth.txt\n",
        a.display(),
        b.display()
    );
    assert_eq!(out, expected);
    let (code, out, _) = run(w
        .shim(TOOL)
        .arg("--primary")
        .arg(&a)
        .arg("--secondary")
        .arg(&b)
        .arg("--summary-only"));
    assert_eq!(code, 0);
    assert!(out.ends_with("[overlap-groups]\n1 both.txt\n\n"), "{out}");
    let (code, _, err) = run(w.shim(TOOL).arg("--primary").arg(&a));
    assert_eq!(code, 1);
    assert!(err.contains("Usage"), "{err}");
    let (code, _, err) = run(w
        .shim(TOOL)
        .arg("--primary")
        .arg(&a)
        .arg("--secondary")
        .arg(w.path("none")));
    assert_eq!(code, 1);
    assert!(err.contains("not a git checkout"), "{err}");
}
