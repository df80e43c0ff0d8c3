//! `agent-project-publish-issue-pr` (and `publish-issue-worker.sh`) through
//! their shims, against real git (a bare origin whose default branch is
//! `develop`, a clone, a worker worktree) and the fake GitHub. The guards
//! and worker-status that run are the real ones of the shim tree.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::fake_github::FakeGithub;
use crate::harness::{World, kv, run};

const TOOL: &str = "tools/bin/agent-project-publish-issue-pr";
const SESSION: &str = "acme-issue-7";
const BRANCH: &str = "agent/acme/issue-7-docs";

fn git(w: &World, dir: &Path, args: &[&str]) -> String {
    let out = w
        .cmd("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=T", "-c", "user.email=t@e.x"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The publication fixture: origin (HEAD = develop), the clone `repo`, the
/// worker's worktree on BRANCH with one commit, its run dir and a profile.
struct Fixture {
    w: World,
    gh: FakeGithub,
    origin: PathBuf,
    wt: PathBuf,
    run_dir: PathBuf,
}

fn fixture(profile_extra: &str, issue_title: &str, change: (&str, &str), subject: &str) -> Fixture {
    let mut w = World::new();
    let origin = w.path("origin.git");
    let repo = w.path("repo");
    git(
        &w,
        &w.root(),
        &[
            "init",
            "-q",
            "--bare",
            "-b",
            "develop",
            origin.to_str().unwrap(),
        ],
    );
    git(
        &w,
        &w.root(),
        &[
            "clone",
            "-q",
            origin.to_str().unwrap(),
            repo.to_str().unwrap(),
        ],
    );
    std::fs::write(repo.join("README.md"), "seed\n").unwrap();
    git(&w, &repo, &["add", "-A"]);
    git(&w, &repo, &["commit", "-q", "-m", "init"]);
    git(&w, &repo, &["push", "-q", "origin", "HEAD:develop"]);
    git(&w, &repo, &["remote", "set-head", "origin", "develop"]);
    let wt = w.path("worktrees/issue-7");
    git(
        &w,
        &repo,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            BRANCH,
            wt.to_str().unwrap(),
            "origin/develop",
        ],
    );
    let file = wt.join(change.0);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, change.1).unwrap();
    git(&w, &wt, &["add", "-A"]);
    git(&w, &wt, &["commit", "-q", "-m", subject]);
    let head = git(&w, &wt, &["rev-parse", "HEAD"]);
    let run_dir = w.path(&format!("runs/{SESSION}"));
    w.write(
        &format!("runs/{SESSION}/run.env"),
        format!(
            "ISSUE_ID=7\nBRANCH={BRANCH}\nWORKTREE={}\nFINAL_HEAD={head}\n",
            wt.display()
        ),
    );
    let config = w.write(
        "profile/control-plane.yaml",
        format!(
            "id: acme\nrepo:\n  slug: acme/widgets\n{profile_extra}runtime:\n  agent_repo_root: {}\n  worktree_root: {}\n  runs_root: {}\n  history_root: {}\n",
            repo.display(),
            w.path("worktrees").display(),
            w.path("runs").display(),
            w.path("history").display()
        ),
    );
    w.env("AGENT_CONTROL_PLANE_CONFIG", &config);
    let gh = w.fake_github(&json!({
        "issues": [{"number": 7, "title": issue_title,
                    "url": "https://github.com/acme/widgets/issues/7", "labels": []}],
        "prs": [],
        "comments": {},
        "viewer": "acp-bot",
    }));
    Fixture {
        w,
        gh,
        origin,
        wt,
        run_dir,
    }
}

fn publish(f: &Fixture, extra: &[&str]) -> (i32, String, String) {
    let runs = f.w.path("runs");
    run(f
        .w
        .shim(TOOL)
        .args([
            "--repo-slug",
            "acme/widgets",
            "--session",
            SESSION,
            "--runs-root",
        ])
        .arg(&runs)
        .args(extra))
}

fn remote_branch(f: &Fixture) -> String {
    git(
        &f.w,
        &f.origin,
        &[
            "for-each-ref",
            "--format=%(objectname)",
            &format!("refs/heads/{BRANCH}"),
        ],
    )
}

fn calls_of(gh: &FakeGithub, first: &str, second: &str) -> Vec<Vec<String>> {
    gh.calls()
        .into_iter()
        .filter(|c| c.len() > 1 && c[0] == first && c[1] == second)
        .collect()
}

#[test]
fn a_pr_targets_the_default_branch_of_the_remote_not_main_and_is_linked_once() {
    let f = fixture(
        "",
        "Document the widgets",
        ("README.md", "seed\nmore\n"),
        "docs: widgets",
    );
    let (code, out, err) = publish(&f, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(kv(&out, "PUBLISH_STATUS"), Some("created-pr"));
    assert_eq!(kv(&out, "PR_NUMBER"), Some("900"));
    assert_eq!(
        kv(&out, "PR_URL"),
        Some("https://github.com/acme/widgets/pull/900")
    );
    assert_eq!(kv(&out, "SCOPE_GUARD_STATUS"), Some("ok"));
    assert_eq!(remote_branch(&f), git(&f.w, &f.wt, &["rev-parse", "HEAD"]));
    let pr = &f.gh.state()["prs"][0];
    assert_eq!(pr["baseRefName"], "develop", "F9: never a literal main");
    assert_eq!(pr["headRefName"], BRANCH);
    assert_eq!(pr["title"], "docs: widgets");
    assert!(pr["body"].as_str().unwrap().ends_with("\nCloses #7\n"));
    let comments = f.gh.comments(7);
    assert_eq!(comments.len(), 1);
    assert!(comments[0].starts_with("Opened PR #900: https://github.com/acme/widgets/pull/900\n"));
    let (code, out, err) = publish(&f, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(kv(&out, "PUBLISH_STATUS"), Some("existing-pr"));
    assert_eq!(f.gh.comments(7).len(), 1, "the link is posted once");
    assert_eq!(calls_of(&f.gh, "pr", "create").len(), 1);
}

#[test]
fn the_profiles_default_branch_wins_and_a_dry_run_changes_nothing() {
    let f = fixture(
        "  default_branch: develop\n",
        "Docs",
        ("README.md", "x\n"),
        "docs: x",
    );
    let (code, out, err) = publish(&f, &["--dry-run"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(kv(&out, "PUBLISH_STATUS"), Some("would-create-pr"));
    assert_eq!(kv(&out, "PR_TITLE"), Some("docs: x"));
    let body = std::fs::read_to_string(kv(&out, "PR_BODY_FILE").unwrap()).unwrap();
    assert!(
        body.contains("#7") && body.ends_with("Closes #7\n"),
        "{body}"
    );
    let _ = std::fs::remove_file(kv(&out, "PR_BODY_FILE").unwrap());
    assert_eq!(remote_branch(&f), "", "a dry run pushes nothing");
    assert!(calls_of(&f.gh, "pr", "create").is_empty());
    assert!(f.gh.comments(7).is_empty());
}

#[test]
fn a_guard_refusal_pushes_nothing_and_creates_no_pr() {
    let f = fixture(
        "  default_branch: develop\n",
        "docs: explain the widgets",
        ("apps/web/src/page.tsx", "export const x = 1;\n"),
        "feat: page",
    );
    let (code, out, err) = publish(&f, &[]);
    assert_eq!(code, 42, "{out}{err}");
    assert!(
        err.contains("Scope guard blocked issue #7 from publishing as a single PR."),
        "{err}"
    );
    assert!(
        err.contains("docs_declared_scope_contains_product_changes=1"),
        "{err}"
    );
    assert_eq!(kv(&out, "PUBLISH_STATUS"), None);
    assert_eq!(
        remote_branch(&f),
        "",
        "nothing pushed before the guards passed"
    );
    assert!(calls_of(&f.gh, "pr", "create").is_empty());
    assert!(f.gh.comments(7).is_empty());
}

#[test]
fn hostile_titles_and_bodies_are_text() {
    let hostile = "$(touch pwned-title) `touch pwned-tick` ${HOME} \"q\" 'x' -- --draft";
    let f = fixture("", hostile, ("docs/notes.md", "n\n"), hostile);
    std::fs::write(
        f.run_dir.join("pr-body.md"),
        format!("{hostile}\n$(touch pwned-body)\nfixes #7\n"),
    )
    .unwrap();
    let (code, out, err) = publish(&f, &[]);
    assert_eq!(code, 0, "{out}{err}");
    let pr = &f.gh.state()["prs"][0];
    assert_eq!(pr["title"], hostile);
    let body = pr["body"].as_str().unwrap();
    assert_eq!(body, format!("{hostile}\n$(touch pwned-body)\nfixes #7\n"));
    assert!(f.gh.comments(7)[0].contains(&format!("- Issue: #7 ({hostile})")));
    for dir in [f.w.root(), f.wt.clone(), f.run_dir.clone()] {
        for name in ["pwned-title", "pwned-tick", "pwned-body"] {
            assert!(!dir.join(name).exists(), "{name} ran in {}", dir.display());
        }
    }
}

#[test]
fn a_hostile_branch_name_in_run_env_is_refused() {
    let f = fixture("", "Docs", ("README.md", "x\n"), "docs: x");
    f.w.write(
        &format!("runs/{SESSION}/run.env"),
        "ISSUE_ID=7\nBRANCH=--upload-pack=touch pwned\n",
    );
    let (code, out, err) = publish(&f, &[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("branch name") && err.contains("not usable"),
        "{err}"
    );
    assert!(!f.w.root().join("pwned").exists());
    assert!(calls_of(&f.gh, "pr", "list").is_empty());
}

#[test]
fn gh_failures_are_one_line_and_non_zero() {
    let f = fixture("", "Docs", ("README.md", "x\n"), "docs: x");
    f.gh.put(
        "faults",
        json!([{"on": "any", "count": 1, "answer": "403"}]),
    );
    let (code, out, err) = publish(&f, &[]);
    assert_eq!(code, 1, "{out}{err}");
    let last = err.trim_end().lines().last().unwrap();
    assert!(
        last.starts_with("cannot read issue #7: gh issue view 7"),
        "{err}"
    );
    assert_eq!(remote_branch(&f), "");
    // The PR creation is refused: the branch is pushed, no PR is found.
    // Calls before it: issue view, pr list (the scope guard, run in
    // process, is answered by the publisher's issue view).
    f.gh.clear_calls();
    f.gh.put(
        "faults",
        json!([{"on": "any", "skip": 2, "count": 1, "answer": "403"}]),
    );
    let (code, out, err) = publish(&f, &[]);
    assert_eq!(code, 1, "{out}{err}");
    let last = err.trim_end().lines().last().unwrap();
    assert!(
        last.starts_with(&format!(
            "PR creation for branch {BRANCH} failed: gh pr create"
        )),
        "{err}"
    );
    assert!(f.gh.state()["prs"].as_array().unwrap().is_empty());
}

#[test]
fn publish_issue_worker_passes_the_profiles_settings() {
    let f = fixture(
        "  default_branch: develop\n",
        "Docs",
        ("README.md", "x\n"),
        "docs: w",
    );
    let (code, out, err) = run(f
        .w
        .shim("tools/bin/publish-issue-worker.sh")
        .args([SESSION, "--dry-run"]));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(kv(&out, "PUBLISH_STATUS"), Some("would-create-pr"));
    assert_eq!(kv(&out, "BRANCH"), Some(BRANCH));
    let _ = std::fs::remove_file(kv(&out, "PR_BODY_FILE").unwrap());
}

#[test]
fn a_branch_with_nothing_new_is_refused_with_the_line_reconcile_reads() {
    let f = fixture("", "Docs", ("README.md", "x\n"), "docs: x");
    git(&f.w, &f.wt, &["reset", "-q", "--hard", "origin/develop"]);
    let (code, out, err) = publish(&f, &[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(&format!(
            "branch {BRANCH} has no commits ahead of origin/develop; nothing to publish"
        )),
        "{err}"
    );
    assert_eq!(remote_branch(&f), "");
}

#[test]
fn a_comment_that_cannot_be_posted_waits_in_the_outbox() {
    let f = fixture("", "Docs", ("README.md", "x\n"), "docs: x");
    f.gh.put(
        "faults",
        json!([{"on": "write", "count": 5, "answer": "403"}]),
    );
    let (code, out, err) = publish(&f, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(kv(&out, "PUBLISH_STATUS"), Some("created-pr"));
    assert!(err.contains("was not posted"), "{err}");
    let entry = f.run_dir.join("outbox/000001-comment.json");
    let queued = std::fs::read_to_string(&entry).unwrap();
    assert!(queued.contains("Opened PR #900"), "{queued}");
    assert!(f.gh.comments(7).is_empty());
}

#[test]
fn an_archived_session_is_recovered_from_the_remote_branch_and_targets_develop() {
    let f = fixture("", "Docs", ("README.md", "x\n"), "docs: archived");
    let head = git(&f.w, &f.wt, &["rev-parse", "HEAD"]);
    git(&f.w, &f.wt, &["push", "-q", "origin", BRANCH]);
    let repo = f.w.path("repo");
    git(
        &f.w,
        &repo,
        &["worktree", "remove", "--force", f.wt.to_str().unwrap()],
    );
    git(&f.w, &repo, &["branch", "-q", "-D", BRANCH]);
    git(
        &f.w,
        &repo,
        &["update-ref", "-d", &format!("refs/remotes/origin/{BRANCH}")],
    );
    let archived = f.w.path(&format!("history/{SESSION}-20260101-000000"));
    std::fs::create_dir_all(archived.parent().unwrap()).unwrap();
    std::fs::rename(&f.run_dir, &archived).unwrap();
    let (code, out, err) = publish(&f, &["--keep-open-label", "keep"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("WORKTREE_RECOVERY=ignored-archived-pointer"),
        "{err}"
    );
    assert!(err.contains("WORKTREE_RECOVERY=from-remote"), "{err}");
    assert!(
        err.contains(&format!(
            "RECOVERY_WORKTREE={}",
            f.w.path("worktrees/recovery-").display()
        )),
        "{err}"
    );
    assert_eq!(kv(&out, "PUBLISH_STATUS"), Some("created-pr"));
    let pr = &f.gh.state()["prs"][0];
    assert_eq!(pr["baseRefName"], "develop");
    assert_eq!(remote_branch(&f), head);
}

#[test]
fn the_keep_open_label_turns_closing_keywords_into_related() {
    let f = fixture("", "Docs", ("README.md", "x\n"), "docs: keep");
    let mut w = f.gh.state();
    w["issues"][0]["labels"] = json!(["keep-open"]);
    f.gh.set(&w);
    std::fs::write(f.run_dir.join("pr-body.md"), "Fixes #7 and closes #7.\n").unwrap();
    let (code, out, err) = publish(&f, &["--keep-open-label", "keep-open"]);
    assert_eq!(code, 0, "{out}{err}");
    let pr = &f.gh.state()["prs"][0];
    assert_eq!(pr["body"], "Related to #7 and Related to #7.\n");
}

#[test]
fn a_branch_the_reconciler_already_pushed_is_not_pushed_again() {
    let f = fixture(
        "",
        "Document the widgets",
        ("README.md", "seed\nmore\n"),
        "docs: widgets",
    );
    // The reconciler's pre-publish push: the remote branch is HEAD and
    // the branch tracks it.
    git(&f.w, &f.wt, &["push", "-q", "-u", "origin", BRANCH]);
    // Every git call of the publication is logged by a wrapper first on PATH.
    let real_git = ["/usr/local/bin/git", "/usr/bin/git", "/bin/git"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .expect("a git binary");
    let log = f.w.path("git-calls.log");
    crate::harness::write_script(
        &f.w.fake_bin.join("git"),
        &format!(
            "#!/usr/bin/env bash\nprintf '%s\\n' \"$*\" >>'{}'\nexec '{}' \"$@\"\n",
            log.display(),
            real_git.display()
        ),
    );
    let (code, out, err) = publish(&f, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(kv(&out, "PUBLISH_STATUS"), Some("created-pr"));
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(
        !calls
            .lines()
            .any(|l| l.contains(" push ") || l.starts_with("push")),
        "an up-to-date branch is not pushed again:\n{calls}"
    );
    assert_eq!(remote_branch(&f), git(&f.w, &f.wt, &["rev-parse", "HEAD"]));
}
