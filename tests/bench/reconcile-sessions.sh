#!/usr/bin/env bash
# Reconciles the same 20 finished sessions (blocked, failed and implemented
# issue sessions, blocked / no-change / updated PR sessions) with the
# original's reconcile-issue-worker.sh / reconcile-pr-worker.sh and with ours,
# through the shipped default hook files and a profile, against one counting
# fake `gh`. Prints wall time and `gh` calls for both, and the ratios.
# Not part of CI.
#
# usage: tests/bench/reconcile-sessions.sh ORIGINAL_DIR
#   ORIGINAL_DIR  an unpacked ACP v0.2.0 package (has tools/bin/, hooks/)
# Target (issue 8): ours <= 3 gh calls per session on average, >= 20x less wall time.
set -euo pipefail
orig="$(cd "${1:?usage: $0 ORIGINAL_DIR}" && pwd)"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
bin="$repo/target/release/agent-control-plane"

work="$(mktemp -d)"
trap '[[ -n "${BENCH_KEEP:-}" ]] || rm -rf "$work"' EXIT
mkdir -p "$work/fake-bin"

# The counting fake gh: one line per call in $BENCH_GH_LOG; answers every
# shape either implementation makes with a plausible value.
cat >"$work/fake-bin/gh" <<'GH'
#!/usr/bin/env bash
{ printf 'CALL'; printf ' %q' "$@"; printf '\n'; } >>"${BENCH_GH_LOG:?}"
heads="${BENCH_GH_LOG}.heads"
n="${3:-1}"
issue_json() {
  printf '{"number":%s,"title":"Bench issue %s","body":"Fix the thing.","state":"OPEN","url":"https://github.com/example/bench/issues/%s","labels":[{"name":"agent-running"}],"comments":[],"author":{"login":"human"},"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z"}\n' "$1" "$1" "$1"
}
pr_json() {
  printf '{"number":%s,"title":"Bench PR %s","body":"Closes #%s","state":"OPEN","url":"https://github.com/example/bench/pull/%s","headRefName":"agent/bench-%s","headRefOid":"0000000000000000000000000000000000000000","baseRefName":"main","isDraft":false,"mergedAt":null,"mergeStateStatus":"CLEAN","statusCheckRollup":[],"labels":[{"name":"agent-running"}],"comments":[],"reviews":[],"files":[],"author":{"login":"bot"},"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z"}\n' "$1" "$1" "$1" "$1" "$1"
}
case "$1 ${2:-}" in
  "auth status") exit 0 ;;
  "issue view") issue_json "$n" ;;
  "pr view") pr_json "$n" ;;
  "pr list")
    # PRs this fake created, so a publish finds the PR it just opened.
    printf '['; sep=''
    while read -r num head; do
      printf '%s{"number":%s,"title":"PR","body":"","url":"https://github.com/example/bench/pull/%s","headRefName":"%s","headRefOid":"","baseRefName":"main","state":"OPEN","labels":[],"comments":[],"isDraft":false,"mergedAt":null,"createdAt":"2026-01-01T00:00:00Z"}' "$sep" "$num" "$num" "$head"; sep=','
    done < <(cat "$heads" 2>/dev/null)
    printf ']\n' ;;
  "issue list"|"label list") echo '[]' ;;
  "issue edit"|"pr edit"|"label create"|"label edit"|"issue close"|"issue reopen"|"pr merge"|"pr review") exit 0 ;;
  "pr create")
    head=""; prev=""
    for a in "$@"; do [[ "$prev" == --head ]] && head="$a"; prev="$a"; done
    num=$((900 + $(cat "$heads" 2>/dev/null | wc -l)))
    printf '%s %s\n' "$num" "$head" >>"$heads"
    echo "https://github.com/example/bench/pull/$num" ;;
  "issue create") echo "https://github.com/example/bench/issues/950" ;;
  api*)
    case "${2:-}" in
      rate_limit) if [[ "$*" == *--jq* ]]; then echo 5000; else echo '{"resources":{"core":{"remaining":5000},"graphql":{"remaining":5000}}}'; fi ;;
      user) if [[ "$*" == *--jq* ]]; then echo bench-bot; else echo '{"login":"bench-bot"}'; fi ;;
      */comments*) if [[ "$*" == *POST* ]]; then echo '{"id":1}'; else echo '[]'; fi ;;
      */labels*) echo '[]' ;;
      *) echo '{}' ;;
    esac ;;
  *) echo '{}' ;;
esac
GH
chmod +x "$work/fake-bin/gh"

# BSD `date -r EPOCH` (the original's) -> GNU `date -d @EPOCH`, so the
# original takes its macOS paths on Linux too.
cat >"$work/fake-bin/date" <<DATE
#!/usr/bin/env bash
args=()
while [[ \$# -gt 0 ]]; do
  if [[ "\$1" == -r && "\${2:-}" =~ ^[0-9]+\$ ]]; then args+=(-d "@\$2"); shift 2; continue; fi
  args+=("\$1"); shift
done
exec $(command -v date) "\${args[@]}"
DATE
chmod +x "$work/fake-bin/date"

# One world per implementation: a profile, a repo with an origin, 20 run dirs.
make_world() { # dir tree
  local w="$1" tree="$2"
  mkdir -p "$w/registry/bench" "$w/runs" "$w/state" "$w/history" "$w/home"
  git init -q --bare -b main "$w/origin.git"
  git init -q -b main "$w/repo"
  git -C "$w/repo" -c user.name=b -c user.email=b@e commit -q --allow-empty -m init
  git -C "$w/repo" remote add origin "$w/origin.git"
  git -C "$w/repo" push -q origin main
  cat >"$w/registry/bench/control-plane.yaml" <<YAML
schema_version: "1"
id: "bench"
repo:
  slug: "example/bench"
  root: "$w/repo"
  default_branch: "main"
runtime:
  orchestrator_agent_root: "$w/agent"
  agent_repo_root: "$w/repo"
  worktree_root: "$w/worktrees"
  runs_root: "$w/runs"
  state_root: "$w/state"
  history_root: "$w/history"
  retained_repo_root: "$w/retained"
  vscode_workspace_file: "$w/bench.code-workspace"
session_naming:
  issue_prefix: "bench-issue-"
  pr_prefix: "bench-pr-"
execution:
  coding_worker: "claude"
  claude:
    model: "sonnet"
YAML
  local i s kind
  for i in $(seq 1 20); do
    case $((i % 5)) in
      0) kind=pr-blocked ;; 1) kind=issue-blocked ;; 2) kind=issue-failed ;;
      3) kind=pr-no-change ;; 4) kind=issue-implemented ;;
    esac
    if [[ "$kind" == pr-* ]]; then s="bench-pr-$((100 + i))"; else s="bench-issue-$i"; fi
    mkdir -p "$w/runs/$s"
    local wt="$w/repo" branch=main
    if [[ "$kind" == issue-implemented ]]; then
      wt="$w/worktrees/$s" branch="agent/bench-$i"
      git -C "$w/repo" worktree add -q -b "$branch" "$wt" main
      printf 'fixed %s\n' "$i" >"$wt/fix-$i.txt"
      git -C "$wt" add "fix-$i.txt"
      git -C "$wt" -c user.name=b -c user.email=b@e commit -q -m "fix issue $i"
    fi
    {
      printf 'SESSION=%s\nWORKTREE=%s\nBRANCH=%s\nSTARTED_AT=2026-01-01T00:00:00Z\nCODING_WORKER=claude\n' "$s" "$wt" "$branch"
      if [[ "$kind" == pr-* ]]; then printf 'PR_NUMBER=%s\nTASK_KIND=pr\n' "$((100 + i))"; else printf 'ISSUE_ID=%s\nTASK_KIND=issue\n' "$i"; fi
    } >"$w/runs/$s/run.env"
    case "$kind" in
      issue-blocked)
        printf 'OUTCOME=blocked\nACTION=host-comment-blocker\nISSUE_ID=%s\n' "$i" >"$w/runs/$s/result.env"
        printf '# Blocker: Change scope was too broad\n\nThe fix touches too many packages.\n' >"$w/runs/$s/issue-comment.md"
        printf 'RUNNER_STATE=succeeded\nATTEMPT=1\nLAST_EXIT_CODE=0\n' >"$w/runs/$s/runner.env" ;;
      issue-implemented)
        printf 'OUTCOME=implemented\nACTION=host-publish-issue-pr\nISSUE_ID=%s\n' "$i" >"$w/runs/$s/result.env"
        printf '{"timestamp":"2026-01-01T00:00:00.000Z","status":"pass","command":"true"}\n' >"$w/runs/$s/verification.jsonl"
        printf 'RUNNER_STATE=succeeded\nATTEMPT=1\nLAST_EXIT_CODE=0\n' >"$w/runs/$s/runner.env" ;;
      issue-failed)
        printf 'RUNNER_STATE=failed\nATTEMPT=2\nLAST_EXIT_CODE=1\nLAST_FAILURE_REASON=worker-exit-failed\n' >"$w/runs/$s/runner.env" ;;
      pr-blocked)
        printf 'OUTCOME=blocked\nACTION=host-comment-pr-blocker\nPR_NUMBER=%s\n' "$((100 + i))" >"$w/runs/$s/result.env"
        printf '**Blocker**\n\nThe review needs a product decision.\n' >"$w/runs/$s/pr-comment.md"
        printf 'RUNNER_STATE=succeeded\nATTEMPT=1\nLAST_EXIT_CODE=0\n' >"$w/runs/$s/runner.env" ;;
      pr-no-change)
        printf 'OUTCOME=no-change-needed\nACTION=host-refresh-pr-state\nPR_NUMBER=%s\n' "$((100 + i))" >"$w/runs/$s/result.env"
        printf 'No change needed: the branch is current.\n' >"$w/runs/$s/pr-comment.md"
        printf 'RUNNER_STATE=succeeded\nATTEMPT=1\nLAST_EXIT_CODE=0\n' >"$w/runs/$s/runner.env" ;;
    esac
  done
}

run_impl() { # label tree
  local label="$1" tree="$2" w="$work/world-$1"
  make_world "$w" "$tree"
  : >"$w/gh.log"
  local start end s out
  start="$(date +%s%N)"
  for s in $(ls "$w/runs"); do
    local tool=reconcile-issue-worker.sh
    [[ "$s" == bench-pr-* ]] && tool=reconcile-pr-worker.sh
    out="$(${BENCH_WRAP:-} env -i PATH="$work/fake-bin:/usr/local/bin:/usr/bin:/bin" HOME="$w/home" \
      TMUX_TMPDIR="$w" LANG=C.UTF-8 ACP_BIN_DIR="$(dirname "$bin")" \
      ACP_PROFILE_REGISTRY_ROOT="$w/registry" ACP_PROJECT_ID=bench \
      BENCH_GH_LOG="$w/gh.log" GH_TOKEN=bench \
      bash "$tree/tools/bin/$tool" "$s" 2>"$w/$s.err")" || true
    printf '%s %s: %s\n' "$label" "$s" "$(grep -E '^(STATUS|OUTCOME|ACTION|FAILURE_REASON)=' <<<"$out" | tr '\n' ' ')" >>"$work/outcomes.txt"
  done
  end="$(date +%s%N)"
  local ms=$(( (end - start) / 1000000 )) calls
  calls="$(grep -c '^CALL' "$w/gh.log" || true)"
  printf '%s\t%s\t%s\n' "$label" "$ms" "$calls"
}

mkdir -p "$work/orig-tree" "$work/ours-tree"
cp -a "$orig/." "$work/orig-tree/"
"$bin" shims --into "$work/ours-tree" >/dev/null

# BENCH_ONLY=ours runs only our half (profiling); the figures need both.
if [[ "${BENCH_ONLY:-}" == ours ]]; then
  run_impl ours "$work/ours-tree"
  exit 0
fi
o="$(run_impl original "$work/orig-tree")"
r="$(run_impl ours "$work/ours-tree")"
[[ -n "${BENCH_VERBOSE:-}" ]] && cat "$work/outcomes.txt"
read -r _ o_ms o_calls <<<"$o"
read -r _ r_ms r_calls <<<"$r"
printf 'sessions: 20\n'
awk -v om="$o_ms" -v oc="$o_calls" -v rm="$r_ms" -v rc="$r_calls" 'BEGIN {
  printf "original: %d ms, %d gh calls (%.1f per session)\n", om, oc, oc / 20
  printf "ours:     %d ms, %d gh calls (%.1f per session)\n", rm, rc, rc / 20
  printf "wall time ratio (original/ours): %.1fx\n", om / (rm > 0 ? rm : 1)
  printf "gh call ratio (original/ours): %.1fx\n", oc / (rc > 0 ? rc : 1)
}'
