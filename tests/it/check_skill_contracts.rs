//! `check-skill-contracts.sh` on our own trees: a whole tree passes, and
//! each kind of damage fails with a line naming it.

use std::os::unix::fs::PermissionsExt;

use crate::harness::{World, kv, run, write_script};

const TOOL: &str = "tools/bin/check-skill-contracts.sh";

fn fails(out: &str, err: &str) -> Vec<String> {
    assert_eq!(kv(out, "CHECK_STATUS"), Some("failed"), "{out}");
    err.lines()
        .filter(|l| l.starts_with("FAIL "))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_fresh_tree_passes_every_check() {
    let w = World::new();
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(err, "");
    assert!(out.ends_with("CHECK_STATUS=ok\n"), "{out}");
    for line in [
        "PASS tool tools/bin/agent-project-sync-anchor-repo",
        "PASS tool tools/bin/check-skill-contracts.sh",
        "PASS template issue-prompt-template.md has OUTCOME=implemented",
        "PASS template pr-review-template.md has ACTION=host-approve-and-merge",
        "PASS template issue-prompt-template.md names tool record-verification.sh",
        "PASS hook hooks/pr-reconcile-hooks.sh",
        "PASS package SKILL.md",
        "PASS workflow catalog is a JSON object",
        "SKIP runtime copy (none at ",
    ] {
        assert!(out.lines().any(|l| l.starts_with(line)), "{line}\n{out}");
    }
    assert!(
        out.lines().any(|l| l.starts_with("PASS shim binary ")),
        "{out}"
    );
}

#[test]
fn an_installed_tree_with_its_baked_binary_passes() {
    let w = World::new();
    let tree = w.install("share/agent-control-plane");
    let (code, out, err) = run(&mut w.installed(&tree, TOOL));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains(&format!(
            "PASS shim binary {}\n",
            crate::harness::bin().display()
        )),
        "{out}"
    );
}

#[test]
fn missing_foreign_and_non_executable_tools_fail() {
    let w = World::new();
    std::fs::remove_file(w.skill.join("tools/bin/sync-agent-repo.sh")).unwrap();
    write_script(
        &w.skill.join("tools/bin/split-retained-slice.sh"),
        "#!/bin/bash\necho old script\n",
    );
    let shim = w.skill.join("tools/bin/sync-vscode-workspace.sh");
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 1);
    let f = fails(&out, &err);
    assert_eq!(f.len(), 3, "{f:?}");
    assert!(
        f[0].starts_with("FAIL tool tools/bin/split-retained-slice.sh (not this binary's shim"),
        "{f:?}"
    );
    assert!(
        f[1].starts_with("FAIL tool tools/bin/sync-agent-repo.sh (missing: "),
        "{f:?}"
    );
    assert!(
        f[2].starts_with("FAIL tool tools/bin/sync-vscode-workspace.sh (not an executable file"),
        "{f:?}"
    );
}

#[test]
fn templates_hooks_and_package_files_are_checked() {
    let w = World::new();
    let review = w.skill.join("tools/templates/pr-review-template.md");
    let text = std::fs::read_to_string(&review).unwrap();
    std::fs::write(
        &review,
        text.replace("ACTION=host-approve-and-merge", "ACTION=merge-it"),
    )
    .unwrap();
    std::fs::remove_file(w.skill.join("tools/templates/pr-fix-template.md")).unwrap();
    std::fs::remove_file(w.skill.join("tools/bin/record-verification.sh")).unwrap();
    std::fs::write(
        w.skill.join("hooks/issue-reconcile-hooks.sh"),
        "if then fi (\n",
    )
    .unwrap();
    std::fs::write(w.skill.join("assets/workflow-catalog.json"), "not json").unwrap();
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 1);
    let f = fails(&out, &err).join("\n");
    for want in [
        "FAIL template pr-review-template.md has ACTION=host-approve-and-merge (missing in ",
        "FAIL template pr-fix-template.md (missing: ",
        "FAIL template issue-prompt-template.md names tool record-verification.sh (not an executable file",
        "FAIL hook hooks/issue-reconcile-hooks.sh (bash -n rejects it)",
        "FAIL workflow catalog is a JSON object (missing or not a JSON object",
        "FAIL tool tools/bin/record-verification.sh (missing",
    ] {
        assert!(f.contains(want), "{want}\n{f}");
    }
}

#[test]
fn drift_from_the_runtime_copy_fails_and_a_matching_copy_passes() {
    let w = World::new();
    let runtime = w
        .home
        .join(".agent-runtime/runtime-home/skills/openclaw/agent-control-plane");
    let out = std::process::Command::new(crate::harness::bin())
        .args(["shims", "--into"])
        .arg(&runtime)
        .output()
        .unwrap();
    assert!(out.status.success());
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("PASS tools/templates/pr-fix-template.md source/runtime sync\n"),
        "{out}"
    );
    assert!(
        out.contains("PASS tools/bin/sync-agent-repo.sh source/runtime sync\n"),
        "{out}"
    );

    std::fs::write(
        runtime.join("tools/templates/pr-fix-template.md"),
        "stale\n",
    )
    .unwrap();
    let (code, out, err) = run(&mut w.shim(TOOL));
    assert_eq!(code, 1);
    assert_eq!(
        fails(&out, &err),
        ["FAIL tools/templates/pr-fix-template.md source/runtime sync (source/runtime drift)"]
    );
}
