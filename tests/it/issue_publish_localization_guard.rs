//! `issue-publish-localization-guard.sh` through its shim on a real
//! repository.

use std::path::Path;

use crate::harness::{World, kv, run};

const TOOL: &str = "tools/bin/issue-publish-localization-guard.sh";

fn commit_on_branch(w: &World, repo: &Path, branch: &str, files: &[(&str, &str)]) {
    let git = |args: &[&str]| {
        let ok = w
            .cmd("git")
            .arg("-C")
            .arg(repo)
            .args(args)
            .status()
            .unwrap();
        assert!(ok.success(), "git {args:?}");
    };
    git(&["checkout", "-q", "main"]);
    git(&["checkout", "-q", "-b", branch]);
    for (f, text) in files {
        let p = repo.join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", branch]);
}

fn guard(w: &World, repo: &Path) -> (i32, String, String) {
    run(w
        .shim(TOOL)
        .arg("--worktree")
        .arg(repo)
        .args(["--base-ref", "main"]))
}

const LOCALE: &str = "packages/i18n/src/resources/en.json";
const UI: &str = "apps/web/src/components/Wizard.tsx";

#[test]
fn literals_beside_new_translations_are_blocked_with_44() {
    let w = World::new();
    let repo = w.git_repo("repo");
    commit_on_branch(
        &w,
        &repo,
        "draft",
        &[
            (LOCALE, "{\"a\":\"b\"}\n"),
            (
                UI,
                "const s = z.string().min(1, 'First name is required');\n\
                 export const W = () => <input placeholder=\"John\" />;\n\
                 // title=\"a comment\"\n",
            ),
        ],
    );
    let (code, out, err) = guard(&w, &repo);
    assert_eq!(code, 44, "{out}{err}");
    assert!(err.starts_with("Localization guard blocked branch publication.\n"));
    assert!(
        err.contains(&format!("- validation_literal: {UI}:1 -> const s")),
        "{err}"
    );
    assert!(
        err.contains(&format!("- string_prop: {UI}:2 -> export")),
        "{err}"
    );
    assert!(!err.contains(":3 ->"), "{err}");
}

#[test]
fn translated_or_unrelated_branches_pass() {
    let w = World::new();
    let repo = w.git_repo("repo");
    commit_on_branch(
        &w,
        &repo,
        "clean",
        &[
            (LOCALE, "{}\n"),
            (
                UI,
                "const { t } = useSafeTranslation();\n<input placeholder={t('k', 'First')} />\n",
            ),
        ],
    );
    let (code, out, err) = guard(&w, &repo);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "LOCALIZATION_GUARD_STATUS"), Some("ok"));
    assert_eq!(kv(&out, "UI_FILE_COUNT"), Some("1"));
    commit_on_branch(&w, &repo, "no-locale", &[(UI, "<a title=\"Hard\" />\n")]);
    let (code, out, _) = guard(&w, &repo);
    assert_eq!(
        (code, kv(&out, "LOCALIZATION_GUARD_STATUS")),
        (0, Some("skipped-no-locale-files"))
    );
    commit_on_branch(&w, &repo, "no-ui", &[(LOCALE, "{}\n")]);
    let (code, out, _) = guard(&w, &repo);
    assert_eq!(
        (code, kv(&out, "LOCALIZATION_GUARD_STATUS")),
        (0, Some("skipped-no-ui-files"))
    );
}

#[test]
fn a_fifo_named_like_a_ui_file_is_not_read() {
    let w = World::new();
    let repo = w.git_repo("repo");
    commit_on_branch(&w, &repo, "fifo", &[(LOCALE, "{}\n"), (UI, "x\n")]);
    let ui = repo.join(UI);
    std::fs::remove_file(&ui).unwrap();
    let ok = w.cmd("mkfifo").arg(&ui).status().unwrap();
    assert!(ok.success());
    let (code, out, err) = guard(&w, &repo);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "LOCALIZATION_GUARD_STATUS"), Some("ok"));
}
