#!/usr/bin/python3
# A file-backed fake `gh` for acp-github's tests. It answers from the JSON
# world in $FAKE_GH_WORLD (issues, prs, labels, comments), appends every argv
# as one JSON line to $FAKE_GH_LOG, and obeys the world's "faults": each
# {"on": "read"|"write"|"any", "skip": N, "count": K, "answer": A} lets N
# matching calls through, then answers the next K with A: "502", "rate"
# (403 saying rate limit), "403" (a bare 403), or "502-after" (the write is
# done, then a 502 is answered) or "hang" (sleeps a minute).
# Used by acp-github's unit tests and by tests/it (World::fake_github).
import json, os, sys

argv = sys.argv[1:]
world_path = os.environ["FAKE_GH_WORLD"]
with open(os.environ["FAKE_GH_LOG"], "a") as log:
    log.write(json.dumps(argv) + "\n")
with open(world_path) as f:
    world = json.load(f)


def save():
    tmp = world_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(world, f, indent=1)
    os.replace(tmp, world_path)


def die(msg, code=1):
    save()
    sys.stderr.write(msg + "\n")
    sys.exit(code)


def opt(name, default=None):
    for i, a in enumerate(argv):
        if a == name and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith(name + "="):
            return a[len(name) + 1:]
    return default


def opts(name):
    out = []
    for i, a in enumerate(argv):
        if a == name and i + 1 < len(argv):
            out.append(argv[i + 1])
        elif a.startswith(name + "="):
            out.append(a[len(name) + 1:])
    return out


is_write = (argv[:2] in (["issue", "edit"], ["pr", "edit"], ["label", "create"])
            or (argv[:1] == ["api"] and opt("--method", "GET") != "GET"))
answer_after = None
for fault in world.get("faults", []):
    if fault.get("count", 0) <= 0 or argv[:1] == ["auth"]:
        continue
    on = fault.get("on", "any")
    if on != "any" and (on == "write") != is_write:
        continue
    if fault.get("skip", 0) > 0:
        fault["skip"] -= 1
        continue
    fault["count"] -= 1
    answer = fault["answer"]
    if answer == "502-after":
        answer_after = "502"
        break
    if answer == "hang":
        save()
        import time
        time.sleep(60)
    if answer == "502":
        die("gh: Bad Gateway (HTTP 502)")
    if answer == "rate":
        die("gh: API rate limit exceeded for installation ID 1. (HTTP 403)")
    if answer == "403":
        die("gh: Resource not accessible by integration (HTTP 403)")


def shape(item, fields):
    out = {}
    for f in fields.split(","):
        v = item.get(f)
        if f == "labels":
            v = [{"name": n} for n in item.get("labels", [])]
        elif f == "author":
            v = {"login": item.get("author", "someone")}
        elif f == "isDraft":
            v = bool(v)
        elif f == "comments" and v is None:
            # A view's comments (`gh ... view --json comments`), from the
            # world's "comments" of that number, in gh's shape.
            v = [{"body": c.get("body", ""), "author": {"login": c.get("user", {}).get("login", "")},
                  "createdAt": c.get("created_at", "")}
                 for c in world.get("comments", {}).get(str(item.get("number")), [])]
        elif f == "reviews" and v is None:
            # A PR view's reviews: the world's submitted reviews of that
            # number, plus one COMMENTED review per author of its inline
            # comments (on GitHub every inline comment belongs to a review).
            n = str(item.get("number"))
            v = [{"author": {"login": r.get("user", {}).get("login", "")}, "state": r.get("state", "")}
                 for r in world.get("reviews", {}).get(n, [])]
            for c in world.get("review_comments", {}).get(n, []):
                login = c.get("user", {}).get("login", "")
                if login and all(r["author"]["login"] != login for r in v):
                    v.append({"author": {"login": login}, "state": "COMMENTED"})
        out[f] = v
    return out


def matches_state(item, state):
    s = item.get("state", "OPEN").lower()
    return state == "all" or s == state


def items(kind):
    return world.get("issues" if kind == "issue" else "prs", [])


def find(kind, n):
    for it in items(kind):
        if it["number"] == int(n):
            return it
    die("GraphQL: Could not resolve to an issue or pull request with the number of %s." % n)


def done(out=None):
    save()
    if out is not None:
        sys.stdout.write(out if isinstance(out, str) else json.dumps(out) + "\n")
    if answer_after:
        sys.stderr.write("gh: Bad Gateway (HTTP 502)\n")
        sys.exit(1)
    sys.exit(0)


cmd = argv[:2]
if not world.get("logged_in", True) and "GH_TOKEN" not in os.environ:
    die("You are not logged into any GitHub hosts. To log in, run: gh auth login")
if cmd == ["auth", "status"]:
    done("")
if cmd in (["issue", "list"], ["pr", "list"]):
    state, want = opt("--state", "open"), opts("--label")
    found = [shape(i, opt("--json")) for i in items(argv[0])
             if matches_state(i, state) and all(l in i.get("labels", []) for l in want)]
    done(found[: int(opt("--limit", "30"))])
if cmd in (["issue", "view"], ["pr", "view"]):
    done(shape(find(argv[0], argv[2]), opt("--json")))
if cmd in (["issue", "edit"], ["pr", "edit"]):
    item = find(argv[0], argv[2])
    add = [l for a in opts("--add-label") for l in a.split(",")]
    remove = [l for a in opts("--remove-label") for l in a.split(",")]
    for l in add:
        if l not in world.get("labels", []):
            die("'%s' not found" % l)
    item["labels"] = [l for l in item.get("labels", []) if l not in remove]
    item["labels"] += [l for l in add if l not in item["labels"]]
    done(item.get("url", "") + "\n")
if cmd == ["label", "list"]:
    done([{"name": n} for n in world.get("labels", [])])
if cmd == ["label", "create"]:
    if argv[2] in world.setdefault("labels", []) and "--force" in argv:
        done("")
    if argv[2] in world.setdefault("labels", []):
        die('label with name "%s" already exists; use `--force` to update its color and description' % argv[2])
    world["labels"].append(argv[2])
    done("")
if argv[:1] == ["api"]:
    route = argv[1].split("?")[0].split("/")
    if len(route) == 6 and route[3] == "issues" and route[5] == "comments":
        comments = world.setdefault("comments", {}).setdefault(route[4], [])
        if opt("--method", "GET") == "POST":
            body = [f[5:] for f in opts("-f") if f.startswith("body=")][0]
            comments.append({"id": len(comments) + 1, "body": body, "user": {"login": "bot"}})
            done(comments[-1])
        size = world.get("page_size", 100)
        pages = [comments[i:i + size] for i in range(0, len(comments), size)] or [[]]
        if "--slurp" in argv:
            done(pages)
        done("".join(json.dumps(p) for p in pages) + "\n")
# --- section: issue writes (close, reopen, body edit, create) (handlers of these call shapes go here) ---
# publish: `issue create` / `pr create` (bodies read from --body-file, the
# new item added to the world with the next number from "next_number",
# default 900), `api user` (the login in "viewer", default "bot").
def create_item(kind):
    body_file = opt("--body-file")
    with open(body_file) as f:
        body = f.read()
    n = world.get("next_number", 900)
    world["next_number"] = n + 1
    url = "https://github.com/%s/%s/%d" % (opt("-R"), "issues" if kind == "issue" else "pull", n)
    item = {"number": n, "title": opt("--title"), "body": body, "state": "OPEN",
            "url": url, "labels": []}
    if kind == "pr":
        # GitHub computes a new PR's merge state at once; a fake PR is
        # mergeable unless the world says otherwise ("new_pr_merge_state").
        item.update({"headRefName": opt("--head"), "baseRefName": opt("--base"),
                     "mergeStateStatus": world.get("new_pr_merge_state", "CLEAN"),
                     "author": world.get("viewer", "acp-bot"), "isDraft": False})
    world.setdefault("issues" if kind == "issue" else "prs", []).append(item)
    done(url + "\n")


if cmd == ["issue", "create"]:
    create_item("issue")
if cmd == ["pr", "create"]:
    for p in world.get("prs", []):
        if p.get("headRefName") == opt("--head") and p.get("state", "OPEN") == "OPEN":
            die('a pull request for branch "%s" into branch "%s" already exists:\n%s'
                % (opt("--head"), opt("--base"), p.get("url", "")))
    create_item("pr")
if argv[:2] == ["api", "user"]:
    login = world.get("viewer", world.get("login", "bot"))
    done(login + "\n" if opt("--jq") == ".login" else {"login": login})


# --- section: pull requests (create, merge, reviews, checks) (handlers of these call shapes go here) ---
# World keys: "viewer" (the login gh acts as, default "acp-bot"), "reviews"
# {"N": [{"state", "user": {"login"}}]}; a PR's "author" is its login.
if argv[:2] == ["api", "user"]:
    done(world.get("viewer", "acp-bot") + "\n")
if argv[:1] == ["api"] and argv[1].split("?")[0].endswith("/reviews") and "/pulls/" in argv[1]:
    n = argv[1].split("?")[0].split("/")[4]
    reviews = world.setdefault("reviews", {}).setdefault(n, [])
    if opt("--method", "GET") == "POST":
        viewer = world.get("viewer", "acp-bot")
        if find("pr", n).get("author", "someone") == viewer:
            die("gh: Unprocessable Entity (HTTP 422)\nCan not approve your own pull request")
        event = [f[6:] for f in opts("-f") if f.startswith("event=")][0]
        reviews.append({"state": "APPROVED" if event == "APPROVE" else event, "user": {"login": viewer}})
        done(reviews[-1])
    done(json.dumps(reviews) + "\n")
if argv[:2] == ["pr", "merge"]:
    pr = find("pr", argv[2])
    if pr.get("state", "OPEN") != "OPEN":
        die("GraphQL: Pull request is not open (mergePullRequest)")
    pr["state"] = "MERGED"
    pr["merge_flags"] = argv[3:]
    done("")
# (`gh issue close` is answered in the labels and catch-up section.)


# --- section: reconcile reads (handlers of these call shapes go here) ---


# --- section: labels and catch-up (handlers of these call shapes go here) ---
# `gh issue close N -R R [--comment C]`: the issue's state becomes CLOSED and
# the comment joins its comments ("fail_close": [N...] answers a bare 403).
if cmd == ["issue", "close"]:
    if int(argv[2]) in world.get("fail_close", []):
        die("gh: Resource not accessible by integration (HTTP 403)")
    item = find("issue", argv[2])
    item["state"] = "CLOSED"
    if opt("--comment") is not None:
        comments = world.setdefault("comments", {}).setdefault(argv[2], [])
        comments.append({"id": len(comments) + 1, "body": opt("--comment"), "user": {"login": "bot"}})
    done("")
# `gh api repos/R/issues/N --method PATCH --input F` with {"body": ...}
# ("fail_patch": true answers a bare 403); comments through
# `repositories/<world "repo_id">/issues/N/comments`.
if argv[:1] == ["api"]:
    route = argv[1].split("?")[0].split("/")
    if len(route) == 5 and route[0] == "repos" and route[3] == "issues" and opt("--method") == "PATCH":
        if world.get("fail_patch"):
            die("gh: Resource not accessible by integration (HTTP 403)")
        with open(opt("--input")) as f:
            payload = json.load(f)
        item = (next((i for i in items("issue") if i["number"] == int(route[4])), None)
                or next((i for i in items("pr") if i["number"] == int(route[4])), None)
                or find("issue", route[4]))
        for key in ("body", "title", "state"):
            if key in payload:
                item[key] = payload[key]
        if "labels" in payload:
            item["labels"] = [l["name"] if isinstance(l, dict) else l for l in payload["labels"]]
            for l in item["labels"]:
                if l not in world.setdefault("labels", []):
                    world["labels"].append(l)
        done(item)
    if len(route) == 5 and route[0] == "repositories" and route[1] == str(world.get("repo_id")):
        done(json.dumps(world.get("comments", {}).get(route[3], [])) + "\n")


# --- section: risk and routing (handlers of these call shapes go here) ---
# World keys: "review_comments": {"N": [...]}, "check_runs": {"SHA": [...]},
# "annotations": {"URL": [...]}; PR items may carry "files",
# "statusCheckRollup", "comments", "commits", "mergeStateStatus", ...
if argv[:1] == ["api"]:
    route = argv[1].split("?")[0]
    parts = route.split("/")
    if len(parts) == 6 and parts[3] == "pulls" and parts[5] == "comments":
        done(world.get("review_comments", {}).get(parts[4], []))
    if len(parts) == 6 and parts[3] == "commits" and parts[5] == "check-runs":
        runs = world.get("check_runs", {}).get(parts[4], [])
        done({"total_count": len(runs), "check_runs": runs})
    if route.startswith("https://") and route.endswith("/annotations"):
        done(world.get("annotations", {}).get(route, []))


# --- section: heartbeat policy (CI refresh) ---
# `gh api repos/R/actions/runs/ID/rerun-failed-jobs|rerun --method POST`:
# recorded in the world's "reruns" (["ID/rerun-failed-jobs", ...]); runs
# listed in "rerun_refused" answer a bare 403 to rerun-failed-jobs.
if argv[:1] == ["api"] and opt("--method") == "POST":
    parts = argv[1].split("/")
    if len(parts) == 7 and parts[3] == "actions" and parts[4] == "runs":
        if parts[6] == "rerun-failed-jobs" and parts[5] in world.get("rerun_refused", []):
            die("gh: Resource not accessible by integration (HTTP 403)")
        world.setdefault("reruns", []).append(parts[5] + "/" + parts[6])
        done("")


# --- section: heartbeat bench (the original's probes and REST reads) ---
# `api rate_limit` (GraphQL available: "graphql_remaining", default 5000),
# `api repos/R/issues/N` (REST shape of an issue or PR), `api user/repos...`
# (the repository-id lookup: the world's "repo_id", default 1), `label edit`
# of a defined label,
# `api repos/R/commits/SHA` (committed 2026-01-01), `.../commits/SHA/status`
# (no statuses).
if cmd == ["label", "edit"]:
    if argv[2] not in world.get("labels", []):
        die("label '%s' not found" % argv[2])
    done("")
if argv[:2] == ["api", "rate_limit"]:
    left = world.get("graphql_remaining", 5000)
    done("%d\n" % left if opt("--jq") else {"resources": {"core": {"remaining": 5000}, "graphql": {"remaining": left}}})
if argv[:1] == ["api"] and opt("--method", "GET") == "GET":
    parts = argv[1].split("?")[0].split("/")
    if len(parts) == 5 and parts[0] == "repos" and parts[3] == "issues":
        issue = next((i for i in items("issue") if i["number"] == int(parts[4])), None)
        pr = None if issue else next((i for i in items("pr") if i["number"] == int(parts[4])), None)
        it = issue or pr or find("issue", parts[4])
        out = {"number": it["number"], "title": it.get("title", ""), "body": it.get("body", ""),
               "state": it.get("state", "OPEN").lower(), "html_url": it.get("url", ""),
               "labels": [{"name": l} for l in it.get("labels", [])],
               "comments": len(world.get("comments", {}).get(parts[4], [])),
               "user": {"login": it.get("author", "someone")},
               "created_at": it.get("createdAt", ""), "updated_at": it.get("updatedAt", "")}
        if pr:
            out["pull_request"] = {"url": it.get("url", "")}
        done(out)
    if parts[:2] == ["user", "repos"]:
        repo = {"id": world.get("repo_id", 1), "full_name": world.get("repo", "")}
        done([[repo]] if "--slurp" in argv else [repo])
    if len(parts) == 5 and parts[3] == "commits":
        date = "2026-01-01T00:00:00Z"
        done(date + "\n" if opt("--jq") else {"sha": parts[4], "commit": {"committer": {"date": date}}})
    if len(parts) == 6 and parts[3] == "commits" and parts[5] == "status":
        done({"state": "success", "statuses": []})

# --- section: PR worker starters (handlers of these call shapes go here) ---
# `gh api repos/R/pulls/N`: the REST view of a PR from its world item
# ("headRefOid" as head.sha, "mergeable": true/false/null, default null).
if argv[:1] == ["api"]:
    parts = argv[1].split("?")[0].split("/")
    if len(parts) == 5 and parts[0] == "repos" and parts[3] == "pulls" and opt("--method", "GET") == "GET":
        pr = find("pr", parts[4])
        done({"number": pr["number"], "head": {"ref": pr.get("headRefName", ""), "sha": pr.get("headRefOid", "")},
              "base": {"ref": pr.get("baseRefName", "main")}, "mergeable": pr.get("mergeable")})

if os.environ.get("FAKE_GH_UNKNOWN"):
    with open(os.environ["FAKE_GH_UNKNOWN"], "a") as f:
        f.write(" ".join(argv) + "\n")
die("fake gh: unknown command: %s" % " ".join(argv))
