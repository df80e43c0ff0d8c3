//! Integration tests for `branch-verification-guard.sh` (run through its shim)
//! against real git repositories: a bare origin, a clone on a feature branch.

use std::path::{Path, PathBuf};

use crate::harness::{World, kv, run};

const TOOL: &str = "tools/bin/branch-verification-guard.sh";

/// A bare `origin.git` and a clone `repo` whose `main` (with `files`) is
/// pushed; the clone is left on a new branch `feature`.
fn origin_and_clone(w: &World, files: &[(&str, &str)]) -> PathBuf {
    let origin = w.path("origin.git");
    let repo = w.path("repo");
    git(
        w,
        &w.root(),
        &["init", "-q", "--bare", origin.to_str().unwrap()],
    );
    git(
        w,
        &w.root(),
        &[
            "clone",
            "-q",
            origin.to_str().unwrap(),
            repo.to_str().unwrap(),
        ],
    );
    for (rel, body) in files {
        write(&repo, rel, body);
    }
    git(w, &repo, &["add", "-A"]);
    git(
        w,
        &repo,
        &[
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@e.x",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "init",
        ],
    );
    git(w, &repo, &["branch", "-M", "main"]);
    git(w, &repo, &["push", "-q", "origin", "main"]);
    git(w, &repo, &["checkout", "-q", "-b", "feature"]);
    repo
}

fn git(w: &World, dir: &Path, args: &[&str]) -> String {
    let out = w.cmd("git").arg("-C").arg(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn write(repo: &Path, rel: &str, body: &str) {
    let p = repo.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

fn journal(w: &World, lines: &[&str]) -> PathBuf {
    let mut text = lines.join("\n");
    text.push('\n');
    w.write("run/verification.jsonl", text);
    w.path("run")
}

fn guard(w: &World, repo: &Path, run_dir: &Path) -> (i32, String, String) {
    run(w
        .shim(TOOL)
        .arg("--worktree")
        .arg(repo)
        .args(["--base-ref", "origin/main", "--run-dir"])
        .arg(run_dir))
}

#[test]
fn guard_accepts_a_narrow_api_slice_with_a_targeted_test() {
    let w = World::new();
    let svc = "apps/api/src/modules/leave/leave.service.ts";
    let spec = "apps/api/src/modules/leave/leave.service.spec.ts";
    let repo = origin_and_clone(&w, &[(svc, "export const a = 1;\n"), (spec, "it('a')\n")]);
    write(&repo, svc, "export const a = 2;\n");
    write(&repo, spec, "it('b')\n");
    let run_dir = journal(
        &w,
        &[
            r#"{"status":"pass","command":"pnpm --filter api test -- --runInBand leave.service.spec.ts"}"#,
            r#"{"status":"pass","command":"git diff --check"}"#,
        ],
    );
    let (code, out, err) = guard(&w, &repo, &run_dir);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "VERIFICATION_GUARD_STATUS=ok\nVERIFICATION_COMMAND_COUNT=2\n"
    );

    // Without the targeted test command the same slice is blocked.
    let run_dir = journal(
        &w,
        &[r#"{"status":"pass","command":"pnpm --filter api test -- other"}"#],
    );
    let (code, out, err) = guard(&w, &repo, &run_dir);
    assert_eq!((code, out.as_str()), (43, ""));
    assert!(
        err.contains("- missing API typecheck or repo typecheck for API changes\n"),
        "{err}"
    );
    assert!(err.contains(&format!(
        "- {spec} | accepted anchors: `leave/leave.service.spec`, `leave.service.spec`, `leave.service`\n"
    )));
}

#[test]
fn guard_blocks_generated_artifacts_and_bare_lockfiles_until_removed() {
    let w = World::new();
    let repo = origin_and_clone(
        &w,
        &[
            ("package.json", "{\"name\":\"demo\"}\n"),
            ("src/index.js", "export const s = 1;\n"),
        ],
    );
    write(&repo, "src/index.js", "export const s = 2;\n");
    write(
        &repo,
        ".agent-session.env",
        "export ACP_SESSION='demo-issue-1'\n",
    );
    write(&repo, "pnpm-lock.yaml", "lockfileVersion: '9.0'\n");
    let run_dir = journal(&w, &[r#"{"status":"pass","command":"npm test"}"#]);
    let (code, _, err) = guard(&w, &repo, &run_dir);
    assert_eq!(code, 43);
    let expected = "Verification guard blocked branch publication.

Why it was blocked:
- generated agent/session artifacts were included in the branch diff
- lockfile changes were introduced without dependency manifest changes

Changed product files:
- src/index.js
- .agent-session.env
- pnpm-lock.yaml

Generated artifacts that must be removed before publish:
- .agent-session.env

Lockfiles changed without a matching dependency manifest update:
- pnpm-lock.yaml

Recorded verification commands:
- npm test

Required next step:
- rerun the narrowest relevant local verification, record each successful command into verification.jsonl, then publish again
";
    assert_eq!(err, expected);

    std::fs::remove_file(repo.join(".agent-session.env")).unwrap();
    std::fs::remove_file(repo.join("pnpm-lock.yaml")).unwrap();
    let (code, out, err) = guard(&w, &repo, &run_dir);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "VERIFICATION_COMMAND_COUNT"), Some("1"));
}

#[test]
fn guard_requires_targeted_coverage_for_changed_tests() {
    let w = World::new();
    let files = [
        ("apps/api/src/modules/auth/auth.service.ts", "a\n"),
        (
            "apps/api/src/modules/auth/auth.service.extended.spec.ts",
            "a\n",
        ),
        ("apps/web/src/app/(auth)/login/page.tsx", "a\n"),
        ("apps/web/src/app/(auth)/login/page.spec.tsx", "a\n"),
        (
            "apps/web/e2e/archive/auth/tenant-isolation-login.spec.ts",
            "a\n",
        ),
    ];
    let repo = origin_and_clone(&w, &files);
    for (rel, _) in files {
        write(&repo, rel, "b\n");
    }
    let mut lines = vec![
        r#"{"status":"pass","command":"pnpm --filter api typecheck"}"#,
        r#"{"status":"pass","command":"pnpm --filter api test -- --testPathPatterns=\"auth.service.extended\""}"#,
        r#"{"status":"pass","command":"pnpm --filter web test -- login/page.spec"}"#,
    ];
    let run_dir = journal(&w, &lines);
    let (code, _, err) = guard(&w, &repo, &run_dir);
    assert_eq!(code, 43);
    assert!(err.contains("- changed test files were not covered by a targeted test command\n"));
    assert!(err.contains(
        "Changed test files still missing explicit coverage:\n- apps/web/e2e/archive/auth/tenant-isolation-login.spec.ts | accepted anchors: `auth/tenant-isolation-login.spec`, `tenant-isolation-login.spec`, `tenant-isolation-login`, scoped `playwright` command\n"
    ), "{err}");
    assert!(!err.contains("auth.service.extended.spec.ts | accepted anchors"));
    assert!(!err.contains("page.spec.tsx | accepted anchors"));

    lines.push(r#"{"status":"pass","command":"pnpm exec playwright test apps/web/e2e/archive/auth/tenant-isolation-login.spec.ts"}"#);
    let run_dir = journal(&w, &lines);
    let (code, out, err) = guard(&w, &repo, &run_dir);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "VERIFICATION_COMMAND_COUNT"), Some("4"));
}

#[test]
fn guard_passes_docs_only_changes_and_runs_as_an_executable() {
    let w = World::new();
    let repo = origin_and_clone(&w, &[("docs/guide.md", "a\n")]);
    write(&repo, "docs/guide.md", "b\n");
    write(&repo, "openspec/changes/x/spec.yaml", "c\n");
    write(&repo, "NOTES.MD", "d\n");
    // No journal at all: documentation needs none.
    let (code, out, err) = run(w
        .cmd(w.skill.join(TOOL))
        .arg("--worktree")
        .arg(&repo)
        .args(["--base-ref", "origin/main", "--run-dir"])
        .arg(w.path("no-run")));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "VERIFICATION_GUARD_STATUS=ok\nVERIFICATION_REASON=docs-or-spec-only\n"
    );
}

#[test]
fn guard_judges_committed_staged_and_untracked_changes_but_not_ignored_files() {
    let w = World::new();
    let repo = origin_and_clone(&w, &[(".gitignore", "build/\n")]);
    write(&repo, "apps/web/committed.tsx", "a\n");
    git(&w, &repo, &["add", "-A"]);
    git(
        &w,
        &repo,
        &[
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@e.x",
            "commit",
            "-q",
            "-m",
            "c",
        ],
    );
    write(&repo, "packages/ui/staged.ts", "b\n");
    git(&w, &repo, &["add", "packages/ui/staged.ts"]);
    write(&repo, "src/untracked.ts", "c\n");
    write(&repo, "build/ignored.js", "d\n");
    let (code, _, err) = guard(&w, &repo, &w.path("run"));
    assert_eq!(code, 43);
    assert!(err.contains(
        "Changed product files:\n- apps/web/committed.tsx\n- packages/ui/staged.ts\n- src/untracked.ts\n\n"
    ), "{err}");
    assert!(!err.contains("ignored.js"));
    assert!(err.contains(
        "- missing verification journal or no successful verification commands were recorded\n"
    ));
    assert!(err.contains("- missing Web verification command for web changes\n"));
    // Packages are judged only when no app is touched.
    assert!(!err.contains("packages/ui\n- missing"));
    assert!(!err.contains("shared package verification"));
    assert!(err.contains(&format!(
        "\nVerification journal file: {}/verification.jsonl\n",
        w.path("run").display()
    )));
}

#[test]
fn guard_ignores_malformed_journal_lines() {
    let w = World::new();
    let repo = origin_and_clone(&w, &[]);
    write(&repo, "apps/api/src/main.ts", "a\n");
    let run_dir = journal(
        &w,
        &[
            "not json at all",
            r#"{"status":"pass","command":"pnpm typecheck""#,
            r#"{"status":"fail","command":"pnpm test"}"#,
            r#"{"status":"pass","command":42}"#,
            r#"["pass","pnpm test"]"#,
            "",
            r#"  {"status":"pass","command":"  pnpm typecheck  "}  "#,
            r#"{"status":"pass","command":"pnpm lint"}"#,
        ],
    );
    let (code, out, err) = guard(&w, &repo, &run_dir);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "VERIFICATION_COMMAND_COUNT"), Some("2"));

    // A journal of nothing but garbage counts as no journal.
    let run_dir = journal(&w, &["{", "}", "\u{0}\u{1}"]);
    let (code, _, err) = guard(&w, &repo, &run_dir);
    assert_eq!(code, 43);
    assert!(err.contains("- missing verification journal or no successful"));
    assert!(err.contains("Verification journal file: "));
}

#[test]
fn guard_lists_hostile_file_names_on_one_line_and_never_runs_them() {
    let w = World::new();
    let repo = origin_and_clone(&w, &[]);
    let evil = "apps/web/$(touch pwned)`touch pwned2`.tsx";
    write(&repo, evil, "a\n");
    write(&repo, "apps/web/with space 'q'.tsx", "a\n");
    write(&repo, "apps/web/new\nline\".tsx", "a\n");
    write(&repo, "apps/web/café.tsx", "a\n");
    let (code, _, err) = guard(&w, &repo, &w.path("run"));
    assert_eq!(code, 43);
    for dir in [w.root(), repo.clone()] {
        assert!(!dir.join("pwned").exists() && !dir.join("pwned2").exists());
    }
    assert!(err.contains(&format!("\n- {evil}\n")), "{err}");
    assert!(err.contains("\n- apps/web/with space 'q'.tsx\n"));
    assert!(
        err.contains("\n- \"apps/web/new\\nline\\\".tsx\"\n"),
        "{err}"
    );
    assert!(err.contains("\n- apps/web/café.tsx\n"));
    // Classified by their real names: all four are web product files.
    assert!(err.contains("- missing Web verification command for web changes\n"));
}

#[test]
fn guard_refuses_an_unresolvable_base_ref() {
    let w = World::new();
    let repo = origin_and_clone(&w, &[]);
    // A committed product change that a bad base ref would hide.
    write(&repo, "apps/api/src/main.ts", "a\n");
    git(&w, &repo, &["add", "-A"]);
    git(
        &w,
        &repo,
        &[
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@e.x",
            "commit",
            "-q",
            "-m",
            "c",
        ],
    );
    let (code, out, err) = run(w
        .shim(TOOL)
        .arg("--worktree")
        .arg(&repo)
        .args(["--base-ref", "origin/nope", "--run-dir"])
        .arg(w.path("run")));
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(
        err.starts_with("unresolvable base ref: origin/nope"),
        "{err}"
    );

    // A base ref that looks like an option is never read as one.
    let target = w.path("written-by-git");
    let (code, _, err) = run(w
        .shim(TOOL)
        .arg("--worktree")
        .arg(&repo)
        .arg("--base-ref")
        .arg(format!("--output={}", target.display()))
        .arg("--run-dir")
        .arg(w.path("run")));
    assert_eq!(code, 1, "{err}");
    assert!(!target.exists());

    // With the right base ref the committed change is judged.
    let (code, _, err) = guard(&w, &repo, &w.path("run"));
    assert_eq!(code, 43);
    assert!(err.contains("- apps/api/src/main.ts\n"));
}

#[test]
fn guard_rejects_bad_arguments_and_non_repositories() {
    let w = World::new();
    // A missing required flag: one line naming it, exit 1.
    let (code, out, err) = run(w.shim(TOOL).args(["--worktree", "x", "--base-ref", "main"]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err, "--run-dir is required (see --help)\n");
    let (code, _, err) = run(w.shim(TOOL).args(["--worktree", "x", "--run-dir"]));
    assert_eq!(
        (code, err.as_str()),
        (1, "--base-ref is required (see --help)\n")
    );
    let (code, _, err) = run(w.shim(TOOL).args(["--base-ref", "m", "--run-dir", "r"]));
    assert_eq!(
        (code, err.as_str()),
        (1, "--worktree is required (see --help)\n")
    );
    let (code, _, err) = run(w.shim(TOOL).args(["--bogus", "1"]));
    assert_eq!(code, 1);
    assert!(err.starts_with("Unknown argument: --bogus\n"), "{err}");
    let (code, out, _) = run(w.shim(TOOL).arg("--help"));
    assert_eq!(code, 0);
    assert!(out.contains("--base-ref"));
    let (code, _, err) = run(w.shim(TOOL).args([
        "--worktree",
        "missing dir",
        "--base-ref",
        "origin/main",
        "--run-dir",
        "run",
    ]));
    assert_eq!((code, err.as_str()), (1, "missing worktree: missing dir\n"));
    std::fs::create_dir_all(w.path("plain")).unwrap();
    let (code, out, err) = run(w.shim(TOOL).args([
        "--worktree",
        "plain",
        "--base-ref",
        "origin/main",
        "--run-dir",
        "run",
    ]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.starts_with("not a git worktree: plain"), "{err}");
}

#[test]
fn guard_refuses_a_journal_that_is_not_a_regular_file_without_blocking() {
    let w = World::new();
    let repo = origin_and_clone(&w, &[("README.md", "a\n")]);
    write(&repo, "src/a.js", "x\n");
    std::fs::create_dir_all(w.path("run")).unwrap();
    let (code, _, err) = run(w.cmd("mkfifo").arg(w.path("run/verification.jsonl")));
    assert_eq!(code, 0, "{err}");
    let mut cases = vec![("fifo", "a FIFO")];
    let root = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(w.path("run")).unwrap()) == 0;
    if root {
        // A private /dev/zero look-alike (endless zeros), never the real one.
        std::fs::create_dir_all(w.path("zrun")).unwrap();
        let (code, _, err) = run(w
            .cmd("mknod")
            .arg(w.path("zrun/verification.jsonl"))
            .args(["c", "1", "5"]));
        assert_eq!(code, 0, "{err}");
        cases.push(("zero", "a character device"));
    }
    for (what, kind) in cases {
        let run_dir = if what == "fifo" {
            w.path("run")
        } else {
            w.path("zrun")
        };
        // Guarded: a read that blocks fails the test instead of hanging it.
        let (code, out, err) = run(w
            .cmd("timeout")
            .arg("60")
            .arg("bash")
            .arg(w.skill.join(TOOL))
            .arg("--worktree")
            .arg(&repo)
            .args(["--base-ref", "origin/main", "--run-dir"])
            .arg(&run_dir));
        assert_eq!((code, out.as_str()), (1, ""), "{what}: {err}");
        assert!(
            err.contains("verification.jsonl") && err.contains(kind),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}
