#!/usr/bin/env bash
# Times many invocations of the original agent-project-worker-status and
# render-flow-config.sh against ours on the same fixture, and prints the ratios.
# Not part of CI.
#
# usage: tests/bench/worker-status-render.sh ORIGINAL_DIR [N]
#   ORIGINAL_DIR  an unpacked ACP v0.2.0 package (has tools/bin/), e.g. /tmp/acp
#   N             invocations per tool (default 200 for worker-status, N/10 for render)
#   BASELINE_BIN  (env) an earlier build of agent-control-plane: its
#                 worker-status is timed too, as the "before" of a change
# Targets: worker-status >= 5x faster, render-flow-config >= 100x faster per invocation.
#
# Then the start-up profile of one worker-status call (ours, and the
# baseline's): task-clock and page faults (perf stat), system calls and
# processes started (strace -f -c), instructions by phase (callgrind), each
# when the tool is installed.
set -euo pipefail
orig="$(cd "${1:?usage: $0 ORIGINAL_DIR [N]}" && pwd)"
n="${2:-200}"
n_render=$(( n / 10 > 0 ? n / 10 : 1 ))
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
bin="$repo/target/release/agent-control-plane"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
ours="$work/ours"
"$bin" shims --into "$ours" --bin "$bin" >/dev/null

# Fixture: one finished session and one profile.
runs="$work/runs"; s="bench-session"
mkdir -p "$runs/$s"
printf 'SESSION=%s\nTASK_KIND=issue\nTASK_ID=42\n' "$s" >"$runs/$s/run.env"
printf 'RUNNER_STATE=succeeded\nTHREAD_ID=t-1\nATTEMPT=1\nLAST_EXIT_CODE=0\nLAST_FAILURE_REASON=\x27\x27\n' >"$runs/$s/runner.env"
for i in $(seq 1 500); do printf '{"type":"item.completed","n":%d}\n' "$i"; done >"$runs/$s/$s.log"
printf '\n__CODEX_EXIT__:0\n' >>"$runs/$s/$s.log"
reg="$work/profiles/bench"; mkdir -p "$reg"
cat >"$reg/control-plane.yaml" <<'YAML'
id: bench
repo:
  slug: example/bench
  root: /tmp/bench/repo
runtime:
  orchestrator_agent_root: /tmp/bench/agent
  runs_root: /tmp/bench/agent/runs
  state_root: /tmp/bench/agent/state
execution:
  coding_worker: codex
  safe_profile: safe
  bypass_profile: bypass
YAML
export AGENT_CONTROL_PLANE_PROFILE_ROOT="$work/profiles" ACP_PROJECT_ID=bench TMUX_TMPDIR="$work/tmux"
mkdir -p "$TMUX_TMPDIR"

time_loop() { # count command...
  local count="$1"; shift
  local start end
  start=$(date +%s%N)
  for ((i = 0; i < count; i++)); do "$@" >/dev/null 2>&1 || true; done
  end=$(date +%s%N)
  echo $(( (end - start) / count ))
}
fmt_ms() { awk -v ns="$1" 'BEGIN { printf "%.3f ms", ns / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", (b > 0 ? a / b : 0) }'; }

base="${BASELINE_BIN:-}"
[[ -z "$base" || -x "$base" ]] || { echo "BASELINE_BIN is not executable: $base" >&2; exit 2; }

# The variants are timed in ROUNDS interleaved rounds (default 5) and each
# keeps its best round, so that load from other processes hits all alike.
rounds="${ROUNDS:-5}"
per() { local c=$(( $1 / rounds )); echo $(( c > 0 ? c : 1 )); }
declare -A best
measure() { # key count command...
  local key="$1" count="$2"; shift 2
  local t
  t=$(time_loop "$count" "$@")
  if [[ -z "${best[$key]:-}" || "$t" -lt "${best[$key]}" ]]; then best[$key]="$t"; fi
}
ws=(agent-project-worker-status --runs-root "$runs" --session "$s")
for ((r = 0; r < rounds; r++)); do
  measure floor "$(per "$n")" /bin/true
  measure ws_orig "$(per "$n")" bash "$orig/tools/bin/agent-project-worker-status" "${ws[@]:1}"
  measure ws_ours "$(per "$n")" "$bin" "${ws[@]}"
  measure ws_shim "$(per "$n")" bash "$ours/tools/bin/agent-project-worker-status" "${ws[@]:1}"
  [[ -n "$base" ]] && measure ws_base "$(per "$n")" "$base" "${ws[@]}"
  measure rf_orig "$(per "$n_render")" env AGENT_CONTROL_PLANE_ROOT="$orig" bash "$orig/tools/bin/render-flow-config.sh"
  measure rf_ours "$(per "$n_render")" env AGENT_CONTROL_PLANE_ROOT="$ours" "$bin" render-flow-config.sh
  measure rf_shim "$(per "$n_render")" env AGENT_CONTROL_PLANE_ROOT="$ours" bash "$ours/tools/bin/render-flow-config.sh"
done
floor="${best[floor]}"
ws_orig="${best[ws_orig]}" ws_ours="${best[ws_ours]}" ws_shim="${best[ws_shim]}" ws_base="${best[ws_base]:-}"
rf_orig="${best[rf_orig]}" rf_ours="${best[rf_ours]}" rf_shim="${best[rf_shim]}"

printf 'best of %s interleaved rounds\n' "$rounds"
printf 'process start floor on this machine (/bin/true): %s per invocation\n' "$(fmt_ms "$floor")"
printf '%-26s %12s %12s %12s %10s %10s\n' tool original ours ours+shim ratio ratio+shim
printf '%-26s %12s %12s %12s %10s %10s\n' agent-project-worker-status "$(fmt_ms "$ws_orig")" "$(fmt_ms "$ws_ours")" "$(fmt_ms "$ws_shim")" "$(ratio "$ws_orig" "$ws_ours")" "$(ratio "$ws_orig" "$ws_shim")"
printf '%-26s %12s %12s %12s %10s %10s\n' render-flow-config.sh "$(fmt_ms "$rf_orig")" "$(fmt_ms "$rf_ours")" "$(fmt_ms "$rf_shim")" "$(ratio "$rf_orig" "$rf_ours")" "$(ratio "$rf_orig" "$rf_shim")"
if [[ -n "$ws_base" ]]; then
  printf '%-26s %12s %12s %12s %10s\n' 'worker-status (before)' "$(fmt_ms "$ws_orig")" "$(fmt_ms "$ws_base")" - "$(ratio "$ws_orig" "$ws_base")"
  printf 'worker-status before -> after: %s -> %s per invocation (%s)\n' "$(fmt_ms "$ws_base")" "$(fmt_ms "$ws_ours")" "$(ratio "$ws_base" "$ws_ours")"
fi

# Start-up profile of one call.
profile() { # label binary
  local label="$1" b="$2"
  local call=("$b" agent-project-worker-status --runs-root "$runs" --session "$s")
  printf '\n%s: %s\n' "$label" "$b"
  if command -v perf >/dev/null 2>&1; then
    perf stat -r "$n" -e task-clock,page-faults "${call[@]}" 2>&1 >/dev/null \
      | awk '/task-clock/ { print "  task-clock   " $1 " ms" } /page-faults/ { print "  page-faults  " $1 }' || true
  fi
  if command -v strace >/dev/null 2>&1; then
    local trace="$work/strace.$label"
    strace -f -c -o "$trace" "${call[@]}" >/dev/null 2>&1 || true
    awk '$NF == "total" { print "  syscalls     " $4 }' "$trace" 2>/dev/null || true
    strace -f -e trace=execve,clone,clone3,fork,vfork -o "$trace.x" "${call[@]}" >/dev/null 2>&1 || true
    printf '  processes    %s\n' "$(grep -c 'execve(' "$trace.x" 2>/dev/null || echo '?')"
  fi
  if command -v valgrind >/dev/null 2>&1 && command -v callgrind_annotate >/dev/null 2>&1; then
    local cg="$work/cg.$label"
    valgrind --tool=callgrind --callgrind-out-file="$cg" "${call[@]}" >/dev/null 2>&1 || true
    callgrind_annotate --inclusive=yes "$cg" 2>/dev/null | awk '
      /PROGRAM TOTALS/ { gsub(",", "", $1); total = $1 }
      /_dl_start |_dl_start$/ { gsub(",", "", $1); dl = $1 }
      /pthread_getattr_np/ && !pg { gsub(",", "", $1); pg = $1 }
      /agent_control_plane::dispatch|agent_control_plane::run \[/ && !tool { gsub(",", "", $1); tool = $1 }
      END {
        printf "  instructions %d total: dynamic loader %d, std runtime stack probe %d, our code %d\n", total, dl, pg, tool
      }' || true
  fi
}
profile after "$bin"
if [[ -n "$base" ]]; then profile before "$base"; fi
