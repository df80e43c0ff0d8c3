#!/usr/bin/env bash
# Opens and prepares 50 issue worktrees of one Node repository (node_modules
# linked from the canonical checkout, as both versions do) with the
# original's agent-project-open-issue-worktree + prepare-worktree.sh and
# with ours, each in its own clone. Prints wall time of both and the ratio.
# Cleaning the worktrees belongs to the cleanup tools' own bench.
# Not part of CI.
#
# usage: tests/bench/open-worktrees.sh ORIGINAL_DIR [COUNT]
#   ORIGINAL_DIR  an unpacked ACP v0.2.0 package (has tools/bin/)
set -euo pipefail
orig="$(cd "${1:?usage: $0 ORIGINAL_DIR [COUNT]}" && pwd)"
count="${2:-50}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
export ACP_BIN_DIR="$repo/target/release"

work="$(mktemp -d)"
trap '[[ -n "${BENCH_KEEP:-}" ]] || rm -rf "$work"' EXIT

git init -q --bare --initial-branch=main "$work/origin.git"
git clone -q "$work/origin.git" "$work/seed" 2>/dev/null
(
  cd "$work/seed"
  printf '{"name":"bench","private":true}\n' >package.json
  mkdir -p packages/a && printf '{"name":"@bench/a"}\n' >packages/a/package.json
  git add -A
  git -c user.email=b@e -c user.name=bench commit -qm init
  git push -q -u origin main
)

run_side() { # name tools-dir
  local name="$1" tools="$2" anchor="$work/$1/anchor"
  mkdir -p "$work/$name/profiles/bench"
  git clone -q "$work/origin.git" "$anchor"
  mkdir -p "$anchor/node_modules" "$anchor/packages/a/node_modules"
  cat >"$work/$name/profiles/bench/control-plane.yaml" <<EOF
id: "bench"
repo:
  root: "$anchor"
  default_branch: "main"
runtime:
  orchestrator_agent_root: "$work/$name/agent"
  worktree_root: "$work/$name/worktrees"
  agent_repo_root: "$anchor"
EOF
  local start end i
  start=$(date +%s.%N)
  for i in $(seq 1 "$count"); do
    ACP_PROFILE_REGISTRY_ROOT="$work/$name/profiles" ACP_PROJECT_ID=bench \
    ACP_SYNC_DEPENDENCY_BASELINE_SCRIPT=/nonexistent \
      bash "$tools/agent-project-open-issue-worktree" --repo-root "$anchor" \
        --worktree-root "$work/$name/worktrees" --issue-id "$i" --slug "Bench issue $i" \
        --stamp "20260101-$(printf '%06d' "$i")" --prepare-script "$tools/prepare-worktree.sh" >/dev/null
  done
  end=$(date +%s.%N)
  test "$(git -C "$anchor" worktree list | wc -l)" -eq $((count + 1))
  echo "$end - $start" | bc
}

t_orig=$(run_side original "$orig/tools/bin")
# Ours: the original package with our shims over the files we replace.
cp -a "$orig" "$work/mixed"
(cd "$repo/bin-shims" && find . -type f) | while read -r rel; do
  [[ -e "$work/mixed/$rel" ]] && cp "$repo/bin-shims/$rel" "$work/mixed/$rel"
done
t_ours=$(run_side ours "$work/mixed/tools/bin")
printf 'worktrees: %s\noriginal: %ss\nours: %ss\nratio (original/ours): %s\n' \
  "$count" "$t_orig" "$t_ours" "$(echo "scale=2; $t_orig / $t_ours" | bc)"
