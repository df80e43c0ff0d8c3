#!/usr/bin/env bash
# Differential check of the lane oracle: generates random PRs (files, labels,
# checks, status contexts, agent status comments, review comments, check runs
# with billing annotations, lane overrides), answers both implementations
# from the same fake `gh`, and compares the JSON objects of the original
# bin/pr-risk.sh and ours key by key. Not part of CI.
#
# usage: tests/bench/pr-risk-differential.sh ORIGINAL_DIR [FIRST [LAST]]
#   ORIGINAL_DIR  an unpacked ACP v0.2.0 package (has bin/pr-risk.sh; needs node, jq)
#   FIRST..LAST   random seeds (default 1..200); prints each differing seed, then a count.
# Known difference left out of the comparison: infraOnlyCheckFailureMessages
# when the rollup reports no failure (we do not read check runs then).
set -euo pipefail
orig="$(cd "${1:?usage: $0 ORIGINAL_DIR [FIRST [LAST]]}" && pwd)"
first="${2:-1}"
last="${3:-200}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cargo build --quiet --manifest-path "$repo/Cargo.toml"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/fake" "$work/ours/bin" "$work/home"
cp "$repo/bin-shims/bin/pr-risk.sh" "$work/ours/bin/pr-risk.sh"

cat >"$work/fake/gh" <<'EOF'
#!/usr/bin/env python3
import json, os, sys
w = json.load(open(os.environ["DIFF_WORLD"]))
a = sys.argv[1:]
if a[:2] == ["pr", "view"]:
    print(json.dumps(w["pr"])); sys.exit(0)
if a[:1] == ["api"]:
    r = a[1]
    if r.endswith("/pulls/%d/comments" % w["pr"]["number"]): print(json.dumps(w["review"])); sys.exit(0)
    if r.endswith("/check-runs"): print(json.dumps({"check_runs": w["runs"]})); sys.exit(0)
    if r.endswith("/annotations"): print(json.dumps(w["ann"])); sys.exit(0)
    if "/commits/" in r: print(w["date"]); sys.exit(0)
sys.stderr.write("fake gh: unexpected %s\n" % a); sys.exit(1)
EOF
chmod +x "$work/fake/gh"

cat >"$work/gen.py" <<'EOF'
import json, random, sys
seed = int(sys.argv[1]); random.seed(seed); n = seed + 1
F = ["docs/a.md", "README.md", "packages/i18n/src/resources/en.json", "apps/api/src/migrations/1-AddUser.ts",
     "db/x.sql", "apps/api/src/modules/auth/a.ts", "apps/api/src/modules/subscription/s.ts", "package.json",
     ".github/workflows/deploy.yml", ".github/workflows/ci.yml", "scripts/seed-db.sh", "scripts/lint.sh",
     "apps/mobile/app/a.tsx", "apps/mobile/app/(tabs)/b/x.tsx", "apps/mobile/app/c/y.ts",
     "apps/mobile/src/__tests__/x.test.ts", "apps/mobile/src/lib/y.spec.ts", "apps/mobile/app/profile/edit.tsx",
     "apps/web/src/app/(auth)/login.tsx", "apps/api/src/modules/organization/o.ts", "apps/web/src/page.tsx",
     "apps/api/src/common/utils/phone-x.ts", "apps/api/src/entities/user.entity.ts", "tools/bin/x.sh",
     "apps/api/src/seed-users.ts", "openspec/x.md"] + ["apps/mobile/src/m%d.ts" % i for i in range(10)] \
    + ["apps/web/src/w%d.ts" % i for i in range(16)] + ["packages/i18n/src/resources/l%d.json" % i for i in range(10)]
L = ["agent-blocked", "agent-repair-queued", "agent-fix-needed", "agent-manual-fix-override", "agent-human-approved",
     "agent-double-check-1/2", "agent-double-check-2/2", "agent-handoff", "agent-running"]
B = ["## PR final review blocker\nrequired verification is not green", "## PR final review blocker\nfix `apps/x.ts`",
     "## PR repair summary\nNo source change was needed.", "## PR repair summary\ndid things",
     "## PR repair update\n## PR repair host guard", "hello", "  ## PR repair worker summary\nalready fixed on the current PR head"]
pick = lambda pool, k: random.sample(pool, random.randint(0, k))
def check():
    if random.random() < 0.4:
        return {"__typename": "StatusContext", "context": random.choice(["snyk", ""]),
                "state": random.choice(["SUCCESS", "FAILURE", "ERROR", "PENDING", ""])}
    return {"__typename": "CheckRun", "name": random.choice(["ci", ""]), "workflowName": random.choice(["CI", ""]),
            "status": random.choice(["COMPLETED", "COMPLETED", "IN_PROGRESS", ""]),
            "conclusion": random.choice(["SUCCESS", "SUCCESS", "FAILURE", "SKIPPED", "NEUTRAL", ""])}
sha = "sha%d" % n
url = "https://api.github.com/repos/example/repo/check-runs/%d/annotations" % n
calm = n % 2 == 0
pr = {"number": n, "title": random.choice(["feat: x", "test(mobile): pin"]), "url": "u",
      "body": random.choice(["", "Closes #12", "fixes #7 and closes #8"]), "isDraft": not calm and random.random() < 0.1,
      "headRefName": random.choice(["codex/issue-%d-x" % n, "agent/acp/issue-3", "feature/x"]) if not calm else "codex/issue-%d" % n,
      "headRefOid": sha, "baseRefName": "main",
      "labels": [{"name": l} for l in (pick(L, 3) if not calm else pick(L[4:7] + ["agent-running"], 1))],
      "files": [{"path": f} for f in (pick(F, 18) if not calm else random.sample(F[:12], random.randint(1, 3)))],
      "mergeStateStatus": random.choice(["CLEAN", "DIRTY", "UNSTABLE", "UNKNOWN", "BLOCKED", ""] if not calm else ["CLEAN", "CLEAN", "UNSTABLE"]),
      "reviewDecision": "", "reviewRequests": [{"login": "r"}] if not calm and random.random() < 0.1 else [],
      "statusCheckRollup": [check() for _ in range(random.randint(0, 3))],
      "comments": [{"body": random.choice(B), "createdAt": random.choice(["2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z", "bad"])}
                   for _ in range(random.randint(0, 3))],
      "commits": [{"oid": sha, "committedDate": "2026-01-02T00:00:00Z"}]}
print(json.dumps({"pr": pr, "date": "2026-01-02T00:00:00Z",
    "review": [{"user": {"login": random.choice(["chatgpt-codex-connector[bot]", "human"])},
                "commit_id": random.choice([sha, "old", ""]), "body": random.choice(["P1", ""]), "html_url": "h"}
               for _ in range(random.randint(0, 2))],
    "runs": [{"name": "ci", "status": "completed", "conclusion": random.choice(["failure", "success"]),
              "output": {"annotations_url": url, "annotations_count": random.choice([0, 1, 1])}} for _ in range(random.randint(0, 1))],
    "ann": [{"message": random.choice(["You have exceeded your spending limit", "test failed"])} for _ in range(random.randint(1, 2))],
    "override": random.choice(["", "", "double-check-1", "double-check-2"])}))
EOF

filter='if (.checkFailures|length)==0 then del(.infraOnlyCheckFailureMessages) else . end'
differ=0
for seed in $(seq "$first" "$last"); do
  n=$((seed + 1))
  python3 "$work/gen.py" "$seed" >"$work/world.json"
  rm -rf "$work/state" && mkdir -p "$work/state/pr-lane-overrides"
  ov="$(jq -r '.override' "$work/world.json")"
  [[ -z "$ov" ]] || printf 'PR_LANE_OVERRIDE=%s\n' "$ov" >"$work/state/pr-lane-overrides/$n.env"
  export DIFF_WORLD="$work/world.json" HOME="$work/home" ACP_STATE_ROOT="$work/state" \
    F_LOSNING_REPO_SLUG=example/repo ACP_MANAGED_PR_BRANCH_GLOBS="agent/acp/* codex/* openclaw/*"
  o="$(PATH="$work/fake:$PATH" bash "$orig/bin/pr-risk.sh" "$n" 2>/dev/null || true)"
  m="$(PATH="$work/fake:$PATH" ACP_BIN_DIR="$repo/target/debug" bash "$work/ours/bin/pr-risk.sh" "$n" 2>/dev/null || true)"
  if [[ -z "$o" || -z "$m" ]]; then
    differ=$((differ + 1))
    echo "== seed $seed: no output (original ${#o} bytes, ours ${#m} bytes)"
  elif ! diff <(jq -S "$filter" <<<"$o") <(jq -S "$filter" <<<"$m") >"$work/diff.txt" 2>&1; then
    differ=$((differ + 1))
    echo "== seed $seed"
    head -20 "$work/diff.txt"
  fi
done
echo "pr-risk differential: $differ of $((last - first + 1)) seeds differ"
