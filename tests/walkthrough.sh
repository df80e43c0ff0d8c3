#!/usr/bin/env bash
# The README's walk-through, as a script CI runs: one worker session from
# start to end on a local repository, with a fake agent CLI, offline.
#
#   bash tests/walkthrough.sh            # uses agent-control-plane on PATH
#   ACP_BIN=/abs/agent-control-plane bash tests/walkthrough.sh
#
# Everything happens in a temp directory that is removed at the end; the
# tmux server is private to it. Each step prints what it runs.
set -euo pipefail

bin=${ACP_BIN:-$(command -v agent-control-plane || true)}
if [[ -z "$bin" || ! -x "$bin" ]]; then
  echo "walkthrough: agent-control-plane not found (install it, or set ACP_BIN)" >&2
  exit 1
fi
for tool in git tmux; do
  command -v "$tool" >/dev/null || { echo "walkthrough: $tool is required" >&2; exit 1; }
done

demo=$(mktemp -d "${TMPDIR:-/tmp}/acp-walkthrough.XXXXXX")
export TMUX_TMPDIR="$demo/tmux"
mkdir -p "$TMUX_TMPDIR"
cleanup() {
  tmux kill-server 2>/dev/null || true
  rm -rf "$demo"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
fail() { echo "walkthrough: FAILED: $*" >&2; exit 1; }

step "1. The tool tree: shims at the original paths, calling $bin"
"$bin" shims --into "$demo/acp" --bin "$bin"
tools="$demo/acp/tools/bin"

step "2. A local repository: an origin, the operator's checkout, the agent's own clone"
export GIT_AUTHOR_NAME=demo GIT_AUTHOR_EMAIL=demo@example.invalid
export GIT_COMMITTER_NAME=demo GIT_COMMITTER_EMAIL=demo@example.invalid
git init -q --bare -b main "$demo/origin.git"
git clone -q "$demo/origin.git" "$demo/checkout"
echo "# demo" >"$demo/checkout/README.md"
git -C "$demo/checkout" add README.md
git -C "$demo/checkout" commit -qm "initial"
git -C "$demo/checkout" push -q origin main
agent_root="$demo/platform/projects/demo"
git clone -q "$demo/origin.git" "$agent_root/repo"

step "3. A profile: control-plane.yaml in the registry, kilo as the coding worker"
export AGENT_PLATFORM_HOME="$demo/platform"
profile_dir="$AGENT_PLATFORM_HOME/control-plane/profiles/demo"
mkdir -p "$profile_dir"
cat >"$profile_dir/control-plane.yaml" <<YAML
id: demo
repo:
  slug: example/demo
  root: $demo/checkout
  default_branch: main
runtime:
  orchestrator_agent_root: $agent_root
  agent_repo_root: $agent_root/repo
  worktree_root: $agent_root/worktrees
  runs_root: $agent_root/runs
  history_root: $agent_root/history
execution:
  coding_worker: kilo
YAML
export ACP_PROJECT_ID=demo
bash "$tools/render-flow-config.sh" | grep -E '^(CONFIG_YAML|RUNS_ROOT|CODING_WORKER)='

step "4. A fake agent CLI: 'kilo' that commits a change and writes its result contract"
mkdir -p "$demo/fake-bin"
cat >"$demo/fake-bin/kilo" <<'AGENT'
#!/usr/bin/env bash
# Called as: kilo run --auto --format json --model M --dir WORKTREE PROMPT
echo '{"type":"step_start","sessionID":"demo"}'
echo "hello from the agent" >greeting.txt
git add greeting.txt && git commit -qm "Add greeting"
agent-control-plane record-verification.sh --command "test -f greeting.txt" >/dev/null
agent-control-plane env-file set "$ACP_RESULT_FILE" OUTCOME implemented
agent-control-plane env-file set "$ACP_RESULT_FILE" ACTION host-publish-issue-pr
echo '{"type":"step_finish"}'
AGENT
chmod +x "$demo/fake-bin/kilo"
ln -s "$bin" "$demo/fake-bin/agent-control-plane"
export PATH="$demo/fake-bin:$PATH"

step "5. A worktree of the agent clone, and a prompt"
git -C "$agent_root/repo" worktree add -q -b agent/demo/issue-1 "$agent_root/worktrees/issue-1"
echo "Add a greeting file." >"$demo/prompt.md"

step "6. Launch: run-codex-task.sh routes the task to the kilo launcher (tmux)"
ACP_ISSUE_ID=1 bash "$tools/run-codex-task.sh" safe demo-issue-1 "$agent_root/worktrees/issue-1" "$demo/prompt.md"

step "7. Watch: worker-status.sh until the session is no longer RUNNING"
status=RUNNING
for _ in $(seq 1 100); do
  status=$(bash "$tools/worker-status.sh" demo-issue-1 | sed -n 's/^STATUS=//p')
  [[ "$status" != RUNNING ]] && break
  sleep 0.2
done
bash "$tools/worker-status.sh" demo-issue-1 | grep -E '^(SESSION|STATUS|OUTCOME|ACTION|EXIT_CODE)='
[[ "$status" == SUCCEEDED ]] || fail "expected STATUS=SUCCEEDED, got $status"

step "8. Read the transcript: capture-worker.sh"
bash "$tools/capture-worker.sh" demo-issue-1 20
git -C "$agent_root/worktrees/issue-1" log --oneline -1 | grep -q "Add greeting" \
  || fail "the agent's commit is not on the worktree branch"

step "9. Reconcile: publish the branch, open the PR, label and comment (a fake GitHub)"
# A file-backed stand-in for `gh` (our `acp-fake-gh`, the one our tests use):
# it answers from a JSON world and logs every call. Against real GitHub,
# `gh` is the real one.
printf '#!/usr/bin/env bash\nexec %q acp-fake-gh "$@"\n' "$bin" >"$demo/fake-bin/gh"
chmod +x "$demo/fake-bin/gh"
export FAKE_GH_WORLD="$demo/github.json" FAKE_GH_LOG="$demo/github-calls.jsonl" GH_TOKEN=demo
cat >"$FAKE_GH_WORLD" <<'JSON'
{"labels": ["agent-running", "agent-ready", "agent-blocked"],
 "issues": [{"number": 1, "title": "Add a greeting", "body": "Add greeting.txt.",
             "state": "OPEN", "labels": ["agent-running"]}]}
JSON
bash "$tools/reconcile-issue-worker.sh" demo-issue-1 | tee "$demo/reconcile.out"
grep -q '^OUTCOME=implemented$' "$demo/reconcile.out" || fail "the session was not reconciled as implemented"
pr=$(sed -n 's/^PR_NUMBER=//p' "$demo/reconcile.out")
[[ -n "$pr" ]] || fail "no PR_NUMBER"
git -C "$demo/origin.git" rev-parse -q --verify refs/heads/agent/demo/issue-1 >/dev/null \
  || fail "the branch was not pushed"
python3 - "$FAKE_GH_WORLD" "$pr" <<'PY'
import json, sys
world, pr = json.load(open(sys.argv[1])), int(sys.argv[2])
issue = world["issues"][0]
prs = [p for p in world["prs"] if p["number"] == pr]
print("PR #%d: %s -> %s" % (pr, prs[0]["headRefName"], prs[0]["baseRefName"]))
print("issue #1 labels:", ", ".join(issue["labels"]) or "(none)")
comments = world.get("comments", {}).get("1", [])
print("issue #1 comments: %d" % len(comments))
assert len(comments) == 1, comments
assert "agent-running" not in issue["labels"], issue["labels"]
# The PR is eligible for automerge; the label did not exist in the
# repository before, so the reconcile defined it first.
assert "agent-automerge" in prs[0]["labels"], prs[0]["labels"]
assert "agent-automerge" in world["labels"], world["labels"]
PY
echo "gh calls: $(wc -l <"$FAKE_GH_LOG")"
ls "$agent_root/history" | grep -q '^demo-issue-1-' || fail "no archived run in history"
[[ ! -e "$agent_root/worktrees/issue-1" ]] || fail "the worktree was not removed after the reconcile"
[[ ! -e "$agent_root/runs/demo-issue-1" ]] || fail "the run dir was not archived"

step "10. The scheduler: heartbeat passes take a ready issue to a PR by themselves"
# The profile now asks for the ready label (queue.require_ready_label): issue 2
# carries agent-ready, issue 3 does not and must be left alone.
printf 'queue:\n  require_ready_label: true\n' >>"$profile_dir/control-plane.yaml"
python3 - "$FAKE_GH_WORLD" <<'PY'
import json, sys
path = sys.argv[1]
world = json.load(open(path))
world["issues"] += [
    {"number": 2, "title": "Add a second greeting", "body": "Add greeting.txt.", "state": "OPEN",
     "labels": ["agent-ready"], "url": "https://github.com/example/demo/issues/2"},
    {"number": 3, "title": "Roadmap discussion", "body": "For humans.", "state": "OPEN",
     "labels": [], "url": "https://github.com/example/demo/issues/3"}]
json.dump(world, open(path, "w"))
PY
export ACP_CATCHUP_INTERVAL_SECONDS=0
pr2=""
for pass in 1 2 3 4 5 6; do
  echo "-- pass $pass"
  bash "$tools/heartbeat-safe-auto.sh" >"$demo/pass-$pass.out" 2>&1 || true
  grep -E '^(LAUNCHED_ISSUE|RECONCILED_SESSION|LAUNCH_FAILED_[A-Z_]+|HEARTBEAT_OK)=?' "$demo/pass-$pass.out" || true
  pr2=$(python3 -c 'import json,sys; w=json.load(open(sys.argv[1])); print(next((str(p["number"]) for p in w.get("prs", []) if "Closes #2" in p.get("body", "")), ""))' "$FAKE_GH_WORLD")
  [[ -n "$pr2" ]] && break
  # Let the launched session run (the fake agent takes well under a second).
  for _ in $(seq 1 50); do
    [[ -z "$(tmux list-sessions -F '#S' 2>/dev/null)" ]] && break
    sleep 0.2
  done
done
[[ -n "$pr2" ]] || fail "no PR for issue 2 after six heartbeat passes"
grep -q '^LAUNCHED_ISSUE=2$' "$demo"/pass-*.out || fail "issue 2 was never launched"
grep -q '^LAUNCHED_ISSUE=3$' "$demo"/pass-*.out && fail "issue 3 (not ready) was launched"
python3 - "$FAKE_GH_WORLD" "$pr2" <<'PY'
import json, sys
world = json.load(open(sys.argv[1]))
issues = {i["number"]: i for i in world["issues"]}
print("PR #%s opened for issue #2" % sys.argv[2])
print("issue #2 labels:", ", ".join(issues[2]["labels"]) or "(none)")
print("issue #3 labels:", ", ".join(issues[3]["labels"]) or "(none)")
assert "agent-running" not in issues[2]["labels"], issues[2]["labels"]
assert issues[3]["labels"] == [], issues[3]["labels"]
assert not world.get("comments", {}).get("3"), "issue 3 was commented"
PY

printf '\nwalkthrough: OK\n'
