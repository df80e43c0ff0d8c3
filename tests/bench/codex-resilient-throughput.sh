#!/usr/bin/env bash
# Feeds one long `codex exec --json` event stream (a fake codex that prints
# N JSON lines) through the original agent-project-run-codex-resilient and
# through ours, and prints lines per second for each. Not part of CI.
#
# usage: tests/bench/codex-resilient-throughput.sh ORIGINAL_DIR [N [N_ORIGINAL]]
#   ORIGINAL_DIR  an unpacked ACP v0.2.0 package (has tools/bin/)
#   N             event lines (default 50000)
#   N_ORIGINAL    lines for the original (default N; it manages ~40 lines/s on Linux,
#                 so 50000 lines take about 20 minutes)
# Target: ours >= 100000 lines/s.
# The original uses BSD `stat -f`; a small wrapper on PATH maps it to GNU
# `stat -c` so it can run on Linux at all.
set -euo pipefail
orig="$(cd "${1:?usage: $0 ORIGINAL_DIR [N]}" && pwd)"
n="${2:-50000}"
n_orig="${3:-$n}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
bin="$repo/target/release/agent-control-plane"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/home/.codex" "$work/wt"
printf 'bench prompt\n' >"$work/prompt.md"

# The event stream: a thread start, N-3 item events, a turn end.
make_stream() { # lines file
  local n="$1"
  {
  printf '{"type":"thread.started","thread_id":"thread-bench"}\n'
  printf '{"type":"turn.started"}\n'
  awk -v n="$n" 'BEGIN { for (i = 3; i < n; i++) printf "{\"type\":\"item.completed\",\"item\":{\"id\":\"item_%d\",\"type\":\"command_execution\",\"aggregated_output\":\"line %d of the bench stream\"}}\n", i, i }'
  printf '{"type":"turn.completed","usage":{"input_tokens":1,"output_tokens":1}}\n'
  } >"$2"
}

cat >"$work/bin/codex" <<FAKE
#!/usr/bin/env bash
if [[ "\${1:-}" == login ]]; then exit 0; fi
cat >/dev/null
exec cat "\${BENCH_EVENTS:?}"
FAKE
# BSD stat -> GNU stat, for the original only.
cat >"$work/bin/stat" <<STAT
#!/usr/bin/env bash
if [[ "\${1:-}" == -f ]]; then
  case "\${2:-}" in
    %m) exec $(command -v stat) -c %Y "\$3" ;;
    %z) exec $(command -v stat) -c %s "\$3" ;;
  esac
fi
exec $(command -v stat) "\$@"
STAT
chmod +x "$work/bin/codex" "$work/bin/stat"

run_one() { # label command...
  local label="$1"; shift
  local host="$work/run-$label"
  rm -rf "$host"; mkdir -p "$host"
  local start end
  start=$(date +%s%N)
  HOME="$work/home" PATH="$work/bin:$PATH" ACP_CODEX_PROGRESS_HEARTBEAT_SECONDS=30 \
    ACP_CODEX_STALL_SECONDS=0 ACP_CODEX_QUOTA_AUTOSWITCH_ENABLED=0 \
    "$@" --mode safe --worktree "$work/wt" --prompt-file "$work/prompt.md" \
    --output-file "$host/run.log" --host-run-dir "$host" --sandbox-run-dir "$work/wt/sb" \
    --codex-bin "$work/bin/codex" >/dev/null 2>&1 || true
  end=$(date +%s%N)
  local lines
  lines=$(grep -c '^{' "$host/run.log" || true)
  local state
  state=$(grep '^RUNNER_STATE=' "$host/runner.env" 2>/dev/null || echo 'RUNNER_STATE=?')
  awk -v l="$lines" -v ns="$((end - start))" -v label="$label" -v st="$state" \
    'BEGIN { s = ns / 1e9; printf "%-9s %7d lines in %8.3f s = %10.0f lines/s  (%s)\n", label, l, s, (s > 0 ? l / s : 0), st }'
}

make_stream "$n_orig" "$work/events-orig.jsonl"
make_stream "$n" "$work/events.jsonl"
BENCH_EVENTS="$work/events-orig.jsonl" run_one original bash "$orig/tools/bin/agent-project-run-codex-resilient"
BENCH_EVENTS="$work/events.jsonl" run_one ours "$bin" agent-project-run-codex-resilient
