#!/usr/bin/env python3
"""Builds one heartbeat-pass world for tests/bench/heartbeat-pass.sh.

usage: heartbeat-fixture.py DIR [--issues N] [--prs M] [--sessions K]

DIR gets: a profile (registry/bench/control-plane.yaml), a bare origin and
its clone (repo/), the fake GitHub's world (world.json: N open issues, M open
PRs, agent and human ones, some with failing checks), K finished sessions in
runs/ waiting for reconcile (implemented, blocked and failed issue sessions,
blocked and no-change PR sessions), and fake agent CLIs in fake-bin/.
Everything is deterministic: the same arguments give the same world.
"""
import argparse, json, os, subprocess, sys

SLUG = "example/bench"


def sh(*args, cwd=None):
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def git(repo, *args):
    sh("git", "-C", repo, "-c", "user.name=bench", "-c", "user.email=bench@example.com", *args)


def write(path, text, mode=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    if mode:
        os.chmod(path, mode)


def profile(d):
    write(f"{d}/registry/bench/control-plane.yaml", f"""schema_version: "1"
id: "bench"
repo:
  slug: "{SLUG}"
  root: "{d}/repo"
  default_branch: "main"
runtime:
  orchestrator_agent_root: "{d}/agent"
  agent_repo_root: "{d}/repo"
  worktree_root: "{d}/worktrees"
  runs_root: "{d}/runs"
  state_root: "{d}/state"
  history_root: "{d}/history"
  retained_repo_root: "{d}/retained"
  vscode_workspace_file: "{d}/bench.code-workspace"
session_naming:
  issue_prefix: "bench-issue-"
  pr_prefix: "bench-pr-"
  issue_branch_prefix: "agent/bench/issue"
  pr_worktree_branch_prefix: "agent/bench/pr"
  managed_pr_branch_globs: "agent/bench/* codex/*"
execution:
  coding_worker: "claude"
  claude:
    model: "sonnet"
""")


def repos(d):
    sh("git", "init", "-q", "--bare", "-b", "main", f"{d}/origin.git")
    sh("git", "clone", "-q", f"{d}/origin.git", f"{d}/repo")
    write(f"{d}/repo/README.md", "# bench\n")
    git(f"{d}/repo", "add", "README.md")
    git(f"{d}/repo", "commit", "-q", "-m", "init")
    git(f"{d}/repo", "push", "-q", "origin", "HEAD:main")
    sh("git", "-C", f"{d}/repo", "remote", "set-head", "origin", "main")


def issue(n, labels, body=None):
    return {"number": n, "title": f"Bench issue {n}", "state": "OPEN",
            "body": body or f"Make change {n}.",
            "url": f"https://github.com/{SLUG}/issues/{n}", "labels": labels,
            "author": "human", "createdAt": f"2026-01-01T00:{n // 60 % 60:02d}:{n % 60:02d}Z",
            "updatedAt": "2026-01-02T00:00:00Z"}


def pr(n, issue_no, agent, failing):
    head = f"agent/bench/issue-{issue_no}-change" if agent else f"feature/human-{n}"
    sha = f"{n:040x}"
    # The build check is an external CI's (GitHub lists every check run
    # with its detailsUrl): nothing an Actions re-run could refresh.
    rollup = [{"__typename": "CheckRun", "name": "build", "status": "COMPLETED",
               "conclusion": "FAILURE" if failing else "SUCCESS", "workflowName": "",
               "detailsUrl": f"https://ci.example.com/bench/build/{n}"}]
    return {"number": n, "title": f"Bench PR {n}", "state": "OPEN",
            "body": f"Closes #{issue_no}" if agent else "A human change.",
            "url": f"https://github.com/{SLUG}/pull/{n}", "headRefName": head,
            "headRefOid": sha, "baseRefName": "main", "isDraft": False,
            "labels": [], "author": "bench-bot" if agent else "human",
            "mergeStateStatus": "CLEAN", "reviewDecision": "", "mergeable": True,
            "statusCheckRollup": rollup, "files": [{"path": f"src/file{n}.ts"}],
            "commits": [{"oid": sha, "committedDate": "2026-01-01T00:00:00Z"}],
            "createdAt": f"2026-01-01T01:{n // 60 % 60:02d}:{n % 60:02d}Z",
            "updatedAt": "2026-01-02T00:00:00Z", "mergedAt": None}


SESSION_KINDS = ["issue-blocked", "issue-failed", "pr-no-change", "issue-implemented", "pr-blocked"]
RUNNER_OK = "RUNNER_STATE=succeeded\nATTEMPT=1\nLAST_EXIT_CODE=0\n"


def session(d, i, kind, number, issue_no):
    s = f"bench-pr-{number}" if kind.startswith("pr-") else f"bench-issue-{number}"
    run = f"{d}/runs/{s}"
    wt, branch = f"{d}/repo", "main"
    if kind == "issue-implemented":
        wt, branch = f"{d}/worktrees/{s}", f"agent/bench/issue-{number}-fix"
        sh("git", "-C", f"{d}/repo", "worktree", "add", "-q", "-b", branch, wt, "main")
        write(f"{wt}/fix-{number}.txt", f"fixed {number}\n")
        git(wt, "add", f"fix-{number}.txt")
        git(wt, "commit", "-q", "-m", f"fix issue {number}")
    ids = (f"PR_NUMBER={number}\nTASK_KIND=pr\nISSUE_ID={issue_no}\n" if kind.startswith("pr-")
           else f"ISSUE_ID={number}\nTASK_KIND=issue\n")
    write(f"{run}/run.env", f"SESSION={s}\nWORKTREE={wt}\nBRANCH={branch}\n"
          f"STARTED_AT=2026-01-01T00:00:00Z\nCODING_WORKER=claude\n{ids}")
    if kind == "issue-blocked":
        write(f"{run}/result.env", f"OUTCOME=blocked\nACTION=host-comment-blocker\nISSUE_ID={number}\n")
        write(f"{run}/issue-comment.md", "# Blocker: Change scope was too broad\n\nIt touches too much.\n")
        write(f"{run}/runner.env", RUNNER_OK)
    elif kind == "issue-implemented":
        write(f"{run}/result.env", f"OUTCOME=implemented\nACTION=host-publish-issue-pr\nISSUE_ID={number}\n")
        write(f"{run}/verification.jsonl",
              '{"timestamp":"2026-01-01T00:00:00.000Z","status":"pass","command":"true"}\n')
        write(f"{run}/runner.env", RUNNER_OK)
    elif kind == "issue-failed":
        write(f"{run}/runner.env", "RUNNER_STATE=failed\nATTEMPT=2\nLAST_EXIT_CODE=1\n"
              "LAST_FAILURE_REASON=worker-exit-failed\n")
    elif kind == "pr-blocked":
        write(f"{run}/result.env", f"OUTCOME=blocked\nACTION=host-comment-pr-blocker\nPR_NUMBER={number}\n")
        write(f"{run}/pr-comment.md", "## PR final review blocker\n\nThe review needs a product decision.\n")
        write(f"{run}/runner.env", RUNNER_OK)
    elif kind == "pr-no-change":
        write(f"{run}/result.env", f"OUTCOME=no-change-needed\nACTION=host-refresh-pr-state\nPR_NUMBER={number}\n")
        write(f"{run}/pr-comment.md", "No change needed: the branch is current.\n")
        write(f"{run}/runner.env", RUNNER_OK)


def fake_agents(d):
    for cli in ("claude", "codex", "openclaw", "pi", "crush", "kilo", "ollama"):
        write(f"{d}/fake-bin/{cli}", "#!/usr/bin/env bash\necho \"fake $0 must not run in a bench pass\" >&2\nexit 1\n", 0o755)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--issues", type=int, default=200)
    ap.add_argument("--prs", type=int, default=50)
    ap.add_argument("--sessions", type=int, default=20)
    a = ap.parse_args()
    d = os.path.abspath(a.dir)
    for sub in ("runs", "state", "history", "worktrees", "home", "memory", "fake-bin"):
        os.makedirs(f"{d}/{sub}", exist_ok=True)
    profile(d)
    repos(d)
    fake_agents(d)
    issues = [issue(n, []) for n in range(1, a.issues + 1)]
    prs = []
    for j in range(a.prs):
        n = 1000 + j
        agent = j % 5 != 4            # four in five are the agent's
        prs.append(pr(n, 1 + (j % max(a.issues, 1)), agent, failing=(j % 3 == 0)))
    comments = {}
    issue_sessions = [k for k in range(a.sessions) if not SESSION_KINDS[k % 5].startswith("pr-")]
    pr_sessions = [k for k in range(a.sessions) if SESSION_KINDS[k % 5].startswith("pr-")]
    agent_prs = [p for p in prs if p["headRefName"].startswith("agent/")]
    for idx, k in enumerate(issue_sessions):
        number = a.issues - idx          # the newest issues are the running ones
        if number < 1:
            break
        issues[number - 1]["labels"] = ["agent-running"]
        session(d, k, SESSION_KINDS[k % 5], number, number)
    for idx, k in enumerate(pr_sessions):
        if idx >= len(agent_prs):
            break
        p = agent_prs[idx]
        p["labels"] = ["agent-running"]
        issue_no = int(p["body"].split("#")[1])
        session(d, k, SESSION_KINDS[k % 5], p["number"], issue_no)
    labels = ["agent-running", "agent-blocked", "agent-ready", "agent-keep-open", "agent-automerge",
              "agent-repair-queued", "agent-double-check-1/2", "agent-double-check-2/2",
              "agent-human-review", "agent-handoff", "agent-exclusive", "agent-e2e-heavy"]
    # The REST check runs of each head commit, as its rollup shows them.
    check_runs = {p["headRefOid"]: [{"name": c["name"], "status": c["status"].lower(),
                                     "conclusion": c["conclusion"].lower(),
                                     "details_url": c["detailsUrl"], "output": {"annotations_count": 0}}
                                    for c in p["statusCheckRollup"]] for p in prs}
    world = {"repo": SLUG, "viewer": "bench-bot", "labels": labels, "issues": issues, "prs": prs,
             "comments": comments, "review_comments": {}, "check_runs": check_runs,
             "next_number": 5000}
    with open(f"{d}/world.json", "w") as f:
        json.dump(world, f, indent=1)
    print(f"FIXTURE={d}\nISSUES={a.issues}\nPRS={a.prs}\nSESSIONS={len(os.listdir(f'{d}/runs'))}")


if __name__ == "__main__":
    sys.exit(main())
