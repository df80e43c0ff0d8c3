#!/usr/bin/env bash
# Opens and cleans 50 issue worktrees of one anchor clone (bare origin on
# disk): each one opened with agent-project-open-issue-worktree and removed
# with agent-cleanup-worktree (--allow-unmerged --keep-remote, as the audit
# and the issue cleanup call it), first with the original package, then with
# ours on a fresh copy of the same fixture. Prints both wall times and the
# ratio. Ours is skipped (with a note) while our binary lacks either tool.
# Not part of CI.
#
# usage: tests/bench/worktrees-open-clean.sh ORIGINAL_DIR
#   ORIGINAL_DIR  an unpacked ACP v0.2.0 package (has tools/bin/)
# env:   BENCH_COUNT (default 50), BENCH_KEEP=1 keeps the temp dir
set -euo pipefail
orig="$(cd "${1:?usage: $0 ORIGINAL_DIR}" && pwd)"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
count="${BENCH_COUNT:-50}"
cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
bin="$repo/target/release/agent-control-plane"

work="$(mktemp -d)"
trap '[[ -n "${BENCH_KEEP:-}" ]] || rm -rf "$work"' EXIT
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com

# The fixture: a bare origin with a few hundred files, cloned once; each run
# gets its own copy so both start from the same state.
git init -q --bare -b main "$work/origin.git"
git init -q -b main "$work/seed"
for d in $(seq 1 20); do
  mkdir -p "$work/seed/src/mod$d"
  for f in $(seq 1 15); do printf 'line %s %s\n' "$d" "$f" >"$work/seed/src/mod$d/file$f.txt"; done
done
git -C "$work/seed" add -A
git -C "$work/seed" commit -q -m init
git -C "$work/seed" push -q "$work/origin.git" main
git clone -q "$work/origin.git" "$work/fixture"

now_ms() { date +%s%3N; }

# run_suite LABEL TOOLS_DIR: prints LABEL_MS=<wall ms>; fails on any error.
run_suite() {
  local label="$1" tools="$2" dir="$work/$1" i out branch start end
  cp -a "$work/fixture" "$dir"
  mkdir -p "$dir-worktrees"
  start="$(now_ms)"
  for i in $(seq 1 "$count"); do
    out="$(bash "$tools/agent-project-open-issue-worktree" \
      --repo-root "$dir" --worktree-root "$dir-worktrees" --issue-id "$i" \
      --slug "Bench issue $i" --branch-prefix agent/bench/issue \
      --stamp "20260101-$(printf '%06d' "$i")" 2>>"$dir.err")" \
      || { echo "$label: open $i failed:" >&2; tail -5 "$dir.err" >&2; exit 1; }
    branch="$(sed -n 's/^BRANCH=//p' <<<"$out")"
    [[ -n "$branch" ]] || { echo "$label: open $i printed no BRANCH" >&2; exit 1; }
    (cd "$dir" && bash "$tools/agent-cleanup-worktree" --branch "$branch" \
      --allow-unmerged --keep-remote >/dev/null 2>>"$dir.err") \
      || { echo "$label: cleanup $i failed:" >&2; tail -5 "$dir.err" >&2; exit 1; }
  done
  end="$(now_ms)"
  if [[ -n "$(git -C "$dir" worktree list --porcelain | sed -n '/^worktree /p' | sed 1d)" ]]; then
    echo "$label: worktrees left behind" >&2
    exit 1
  fi
  printf '%s_MS=%s\n' "$label" "$((end - start))"
}

orig_line="$(run_suite ORIGINAL "$orig/tools/bin")"
echo "$orig_line"
orig_ms="${orig_line#*=}"

ours_ready=yes
for tool in agent-project-open-issue-worktree agent-init-worktree agent-cleanup-worktree; do
  "$bin" "$tool" --help >/dev/null 2>&1 || { ours_ready=no; missing="$tool"; }
done
if [[ "$ours_ready" != yes ]]; then
  echo "OURS=skipped ($missing is not in this build yet)"
  exit 0
fi
"$bin" shims --into "$work/ours-tree" --bin "$bin" >/dev/null
ours_line="$(run_suite OURS "$work/ours-tree/tools/bin")"
echo "$ours_line"
ours_ms="${ours_line#*=}"
awk -v o="$orig_ms" -v r="$ours_ms" 'BEGIN { printf "RATIO=%.1fx (original / ours, %d worktrees)\n", (r > 0 ? o / r : 0), '"$count"' }'
