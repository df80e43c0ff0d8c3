#!/usr/bin/env bash
# One heartbeat pass (heartbeat-safe-auto.sh) of the original and of ours on
# identical fresh worlds built by heartbeat-fixture.py (a profile, a git
# origin and clone, N open issues, M open PRs, K finished sessions waiting
# for reconcile), against the counting fake `gh` (our `acp-fake-gh`, the
# Rust port of tests/fake-gh/fake_gh.py
# over world.json), fake agent CLIs and launches capped at 0; then a second
# pass of each with nothing changed. Prints wall time, gh calls and the
# GitHub state after each pass (labels, comments, PRs, issues), and the
# diff of the two implementations' states. Not part of CI.
#
# Two modes, both printed by default (BENCH_MODES="settled unsettled"):
#   settled    the PRs that start without labels start with the labels a
#              pass gives them (one pass of ours on a throwaway world first;
#              its PR labels and label definitions are copied into the fresh
#              world of both implementations): what a repository the
#              heartbeat already runs on looks like;
#   unsettled  the fixture as generated: every agent PR still lacks its lane
#              labels and 5 label definitions are missing (a first pass ever).
#
# usage: tests/bench/heartbeat-pass.sh ORIGINAL_DIR
#   ORIGINAL_DIR  an unpacked ACP v0.2.0 package (tools/bin, hooks, bin).
#                 A COPY is patched to run on Linux (GNU date/stat shims on
#                 PATH, python3 instead of /opt/homebrew/bin/python3).
# env: BENCH_ISSUES (200) BENCH_PRS (50) BENCH_SESSIONS (20)
#      ACP_BIN_DIR   our binary's directory (default: <repo>/target/release,
#                    built when missing)
#      BENCH_KEEP=1  keep the work dir; BENCH_ONLY=original|ours
#      BENCH_LOOP_TIMEOUT (3000 s: the loop and catch-up timeouts, raised from
#      720/180 so a slow machine measures whole passes)
# Targets (issue 10): ours <= 2 s and <= 50 gh calls on the first pass,
# <= 10 gh calls on the second. Ours measured (2 shared cores, busy): settled
# pass 1 72 calls 6-9 s, unsettled 108 calls 7-11 s (before the budget work:
# 197 and 233 calls, 14-25 s), pass 2 2 calls 0.2-0.5 s; 48 of the settled
# 72 are writes the original makes too (comments, label deltas, PR
# creates). The wall time is mostly the fake gh (a python start and a
# world.json rewrite per call, ~0.1 s at best). The original, settled:
# pass 1 1800 calls 335 s, pass 2 1200 calls 190 s; the GitHub state after
# pass 1 identical to ours.
set -euo pipefail
orig="$(cd "${1:?usage: $0 ORIGINAL_DIR}" && pwd)"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
issues="${BENCH_ISSUES:-200}" prs="${BENCH_PRS:-50}" sessions="${BENCH_SESSIONS:-20}"
bin_dir="${ACP_BIN_DIR:-$repo/target/release}"

work="$(mktemp -d)"
trap '[[ -n "${BENCH_KEEP:-}" ]] || rm -rf "$work"; [[ -z "${BENCH_KEEP:-}" ]] || echo "kept $work" >&2' EXIT

# Shims shared by both runs: the fake gh, GNU date/stat for the original's
# BSD forms (harmless for ours, which calls neither).
mkdir -p "$work/shims"
cat >"$work/shims/gh" <<GH
#!/usr/bin/env bash
exec "$bin_dir/agent-control-plane" acp-fake-gh "\$@"
GH
cat >"$work/shims/date" <<DATE
#!/usr/bin/env bash
# BSD 'date -r EPOCH' -> GNU 'date -d @EPOCH'.
args=()
while [[ \$# -gt 0 ]]; do
  if [[ "\$1" == -r && "\${2:-}" =~ ^[0-9]+\$ ]]; then args+=(-d "@\$2"); shift 2; continue; fi
  args+=("\$1"); shift
done
exec $(command -v date) "\${args[@]}"
DATE
cat >"$work/shims/stat" <<STAT
#!/usr/bin/env bash
# BSD 'stat -f FMT' (%m mtime, %z size) -> GNU 'stat -c FMT'.
if [[ "\${1:-}" == -f && \$# -ge 3 ]]; then
  fmt="\${2//%m/%Y}"; fmt="\${fmt//%z/%s}"; shift 2
  exec $(command -v stat) -c "\$fmt" "\$@"
fi
exec $(command -v stat) "\$@"
STAT
# A scheduler kick (reconcile hooks) must not start a pass of its own later.
printf '#!/usr/bin/env bash\nexit 0\n' >"$work/shims/noop"
chmod +x "$work/shims/"*

# The original's copy, patched for Linux; ours as an installed shim tree.
cp -a "$orig/." "$work/orig-tree/"
grep -rl '/opt/homebrew/bin/python3' "$work/orig-tree" 2>/dev/null | while read -r f; do
  sed -i "s#/opt/homebrew/bin/python3#$(command -v python3)#g" "$f"
done
ours_ok=yes
if [[ ! -x "$bin_dir/agent-control-plane" ]]; then
  cargo build --release --quiet --manifest-path "$repo/Cargo.toml" || ours_ok=no
fi
if [[ "$ours_ok" == yes ]]; then
  "$bin_dir/agent-control-plane" shims --into "$work/ours-tree" --bin "$bin_dir/agent-control-plane" >/dev/null || ours_ok=no
fi

# Runs one heartbeat pass of TREE in world W; prints "<ms> <calls> <status>".
pass() { # label tree world n
  local label="$1" tree="$2" w="$3" n="$4" start end status=0
  : >"$w/gh-pass$n.log"
  start="$(date +%s%N)"
  env -i PATH="$w/fake-bin:$work/shims:/usr/local/bin:/usr/bin:/bin" HOME="$w/home" \
    LANG=C.UTF-8 TMUX_TMPDIR="$w/tmux" TMPDIR="$w/tmp" \
    ACP_BIN_DIR="$bin_dir" SHARED_AGENT_HOME="$tree" \
    ACP_PROFILE_REGISTRY_ROOT="$w/registry" ACP_PROJECT_ID=bench \
    ACP_CODING_WORKER=claude ACP_MAX_LAUNCHES_PER_HEARTBEAT=0 \
    ACP_MEMORY_DIR="$w/memory" GH_TOKEN=bench \
    ACP_HEARTBEAT_LOOP_TIMEOUT_SECONDS="${BENCH_LOOP_TIMEOUT:-3000}" \
    ACP_CATCHUP_TIMEOUT_SECONDS="${BENCH_LOOP_TIMEOUT:-3000}" \
    ACP_BOOTSTRAP_SCRIPT="$work/shims/noop" ACP_FLOW_HEARTBEAT_SCRIPT="$work/shims/noop" \
    FAKE_GH_WORLD="$w/world.json" FAKE_GH_LOG="$w/gh-pass$n.log" FAKE_GH_UNKNOWN="$w/gh-unknown.log" \
    timeout "${BENCH_PASS_TIMEOUT:-7200}" bash "$tree/tools/bin/heartbeat-safe-auto.sh" >"$w/pass$n.out" 2>"$w/pass$n.err" || status=$?
  end="$(date +%s%N)"
  printf '%s %s %s\n' "$(( (end - start) / 1000000 ))" "$(wc -l <"$w/gh-pass$n.log")" "$status"
}

# The GitHub state a pass left: labels, comments, PRs and issues, sorted.
state() { # world.json
  python3 - "$1" <<'PY'
import json, sys
w = json.load(open(sys.argv[1]))
for kind in ("issues", "prs"):
    for it in sorted(w.get(kind, []), key=lambda i: i["number"]):
        print("%s #%d %s labels=%s%s" % (kind[:-1], it["number"], it.get("state", "OPEN"),
              ",".join(sorted(it.get("labels", []))),
              (" head=" + it.get("headRefName", "")) if kind == "prs" else ""))
for n, cs in sorted(w.get("comments", {}).items(), key=lambda x: int(x[0])):
    for c in cs:
        print("comment #%s %s" % (n, " / ".join(c.get("body", "").strip().splitlines()[:1])))
print("labels-defined %s" % ",".join(sorted(w.get("labels", []))))
PY
}

# A fresh world in $1 (its tmux and tmp dirs made).
fresh_world() { # dir
  python3 "$repo/tests/bench/heartbeat-fixture.py" "$1" --issues "$issues" --prs "$prs" --sessions "$sessions" >/dev/null
  mkdir -p "$1/tmux" "$1/tmp"
  chmod 700 "$1/tmux"
}

# The settled labels: one pass of ours on a throwaway world; the labels it
# left on the PRs that start without labels (no session of theirs waits for
# a reconcile) and the label definitions it left, as JSON in $work/settled.json.
settle() {
  local w="$work/world-settle"
  fresh_world "$w"
  pass settle "$work/ours-tree" "$w" 1 >/dev/null
  env -i TMUX_TMPDIR="$w/tmux" PATH=/usr/bin:/bin tmux kill-server 2>/dev/null || true
  python3 - "$w/world.json" "$work/settled.json" <<'PY'
import json, sys
w = json.load(open(sys.argv[1]))
json.dump({"prs": {str(p["number"]): p.get("labels", []) for p in w["prs"]},
           "labels": w.get("labels", [])}, open(sys.argv[2], "w"))
PY
}

# Gives the fresh world $1 the settled labels: each PR without labels gets
# the ones the settling pass left on it; the label definitions likewise.
apply_settled() { # dir
  python3 - "$1/world.json" "$work/settled.json" <<'PY'
import json, sys
w, s = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
for p in w["prs"]:
    if not p.get("labels"):
        p["labels"] = list(s["prs"].get(str(p["number"]), []))
w["labels"] = sorted(set(w.get("labels", [])) | set(s["labels"]))
json.dump(w, open(sys.argv[1], "w"))
PY
}

run_impl() { # label tree mode
  local label="$1" tree="$2" mode="$3" w="$work/world-$1-$3"
  fresh_world "$w"
  [[ "$mode" == settled ]] && apply_settled "$w"
  local p1 p2
  p1="$(pass "$label" "$tree" "$w" 1)"
  state "$w/world.json" >"$work/state-$label-$mode-1.txt"
  p2="$(pass "$label" "$tree" "$w" 2)"
  state "$w/world.json" >"$work/state-$label-$mode-2.txt"
  env -i TMUX_TMPDIR="$w/tmux" PATH=/usr/bin:/bin tmux kill-server 2>/dev/null || true
  # End the delayed kicks this world's passes scheduled (their pid files).
  find "$w/state" -path '*kick-scheduler/pid' -type f 2>/dev/null | while read -r f; do
    pid="$(cat "$f" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill "$pid" 2>/dev/null || true
  done
  read -r ms1 calls1 st1 <<<"$p1"
  read -r ms2 calls2 st2 <<<"$p2"
  printf '%-9s %-9s pass 1: %6d ms %4d gh calls (exit %s) | pass 2: %6d ms %4d gh calls (exit %s)\n' \
    "$label" "$mode" "$ms1" "$calls1" "$st1" "$ms2" "$calls2" "$st2"
  if [[ "$st1" != 0 || "$st2" != 0 ]]; then
    printf '  %s stderr (last lines of pass 1):\n' "$label"
    tail -n 5 "$w/pass1.err" | sed 's/^/    /'
  fi
  if [[ -s "$w/gh-unknown.log" ]]; then
    printf '  %s: %d gh calls the fake does not answer, e.g.\n' "$label" "$(wc -l <"$w/gh-unknown.log")"
    sort "$w/gh-unknown.log" | uniq -c | sort -rn | head -n 5 | sed 's/^/    /'
  fi
  printf '  %s %s gh calls by shape (pass 1): %s\n' "$label" "$mode" \
    "$(python3 -c 'import json,sys,collections
c=collections.Counter()
for l in open(sys.argv[1]):
    a=json.loads(l); k=" ".join(a[:2])
    if a[0]=="api":
        r=a[1].split("?")[0].split("/")
        k="api "+"/".join(("SHA" if len(p)==40 else "N" if p.isdigit() else p) for p in (r[3:] if r[0]=="repos" else r))
    c[k]+=1
print(", ".join("%s=%d"%(k,v) for k,v in c.most_common(8)))' "$w/gh-pass1.log")"
}

printf 'world: %s issues, %s PRs, %s finished sessions; launches capped at 0\n' "$issues" "$prs" "$sessions"
modes="${BENCH_MODES:-settled unsettled}"
if [[ " $modes " == *" settled "* ]]; then
  if [[ "$ours_ok" == yes ]]; then
    settle
  else
    printf 'settled: no binary of ours to settle with; unsettled only\n'
    modes="${modes//settled/}"
  fi
fi
for mode in $modes; do
  if [[ "${BENCH_ONLY:-}" != ours ]]; then
    run_impl original "$work/orig-tree" "$mode"
  fi
  if [[ "${BENCH_ONLY:-}" != original ]]; then
    if [[ "$ours_ok" == yes ]]; then
      run_impl ours "$work/ours-tree" "$mode" || printf 'ours: the pass did not complete\n'
    else
      printf 'ours: no binary at %s (build failed)\n' "$bin_dir"
    fi
  fi
done
for mode in $modes; do
  for label in original ours; do
    for n in 1 2; do
      f="$work/state-$label-$mode-$n.txt"
      [[ -f "$f" ]] || continue
      printf '\n== GitHub state after %s pass %s (%s): %s lines (%s labelled items, %s comments, %s PRs)\n' "$label" "$n" "$mode" \
        "$(wc -l <"$f")" \
        "$(grep -c 'labels=[^ ]' "$f" || true)" \
        "$(grep -c '^comment ' "$f" || true)" \
        "$(grep -c '^pr ' "$f" || true)"
      [[ -n "${BENCH_VERBOSE:-}" ]] && sed 's/^/  /' "$f"
    done
  done
  if [[ -f "$work/state-original-$mode-1.txt" && -f "$work/state-ours-$mode-1.txt" ]]; then
    printf '\n== diff of the GitHub state after pass 1 (%s; original vs ours)\n' "$mode"
    diff "$work/state-original-$mode-1.txt" "$work/state-ours-$mode-1.txt" && echo '(identical)'
  fi
done
exit 0
