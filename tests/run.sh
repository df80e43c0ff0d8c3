#!/usr/bin/env bash
# Runs the whole test suite and the README walk-through (tests/walkthrough.sh); installs the programs the tests drive (tmux, git, and python3 for the fake gh) when missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
need=()
for p in tmux git; do command -v "$p" >/dev/null 2>&1 || need+=("$p"); done
# The fake `gh` of the tests (tests/fake-gh/fake_gh.py) runs as /usr/bin/python3.
[[ -x /usr/bin/python3 ]] || need+=(python3)
if ((${#need[@]})); then
  echo "tests: installing ${need[*]}"
  sudo_cmd=(); [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi
cargo test --workspace --locked "$@"
# The README's walk-through, with the binary the tests just built.
target_dir=${CARGO_TARGET_DIR:-target}
[[ "$target_dir" = /* ]] || target_dir="$(pwd)/$target_dir"
ACP_BIN="$target_dir/debug/agent-control-plane" bash tests/walkthrough.sh
