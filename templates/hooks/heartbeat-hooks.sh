#!/usr/bin/env bash
# agent-control-plane: the heartbeat policy.
#
# agent-project-heartbeat-loop applies this policy itself (in Rust, in its
# own process) when it is given this file unchanged. An edited copy, or any
# other hook file, is sourced by bash and its functions are called one by
# one; every function below asks the agent-control-plane binary
# (`agent-project-heartbeat-hooks WORD ...`) and can be replaced on its own.
# Tests and tools may also source this file and call a function after
# changing FLOW_TOOLS_DIR, ADAPTER_BIN_DIR, REPO_SLUG, STATE_ROOT,
# AGENT_REPO_ROOT, DEFAULT_BRANCH, PENDING_LAUNCH_DIR or CODING_WORKER:
# each call passes the current values on.
#
# The profile values come from the binary as KEY=value lines; they are
# assigned one by one, never evaluated. GitHub answers are kept for a
# minute in a directory of the sourcing shell, removed once it is gone.

ACP_HEARTBEAT_HOOKS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ACP_HEARTBEAT_HOOKS_FILE="${ACP_HEARTBEAT_HOOKS_DIR}/$(basename "${BASH_SOURCE[0]}")"
HOOK_SCRIPT_DIR="${ACP_HEARTBEAT_HOOKS_DIR}"
FLOW_SKILL_DIR="$(cd "${ACP_HEARTBEAT_HOOKS_DIR}/.." && pwd)"
ADAPTER_BIN_DIR="${FLOW_SKILL_DIR}/bin"
FLOW_TOOLS_DIR="${FLOW_SKILL_DIR}/tools/bin"
DETACHED_LAUNCH_BIN="${FLOW_TOOLS_DIR}/agent-project-detached-launch"
RESIDENT_ISSUE_LOOP_BIN="${FLOW_TOOLS_DIR}/start-resident-issue-loop.sh"

# The binary: $ACP_BIN_DIR, else the package's own shim, else the PATH.
heartbeat_hooks_acp() {
  if [[ -n "${ACP_BIN_DIR:-}" && -x "${ACP_BIN_DIR}/agent-control-plane" ]]; then
    "${ACP_BIN_DIR}/agent-control-plane" agent-project-heartbeat-hooks "$@"
  elif [[ -f "${FLOW_SKILL_DIR}/tools/bin/agent-project-heartbeat-hooks" ]]; then
    bash "${FLOW_SKILL_DIR}/tools/bin/agent-project-heartbeat-hooks" "$@"
  else
    agent-control-plane agent-project-heartbeat-hooks "$@"
  fi
}

CONFIG_YAML=""
PROFILE_ID=""
REPO_SLUG=""
AGENT_REPO_ROOT=""
DEFAULT_BRANCH="main"
STATE_ROOT=""
PENDING_LAUNCH_DIR=""
AGENT_PR_PREFIXES_JSON="[]"
AGENT_PR_ISSUE_CAPTURE_REGEX=""
AGENT_PR_HANDOFF_LABEL="${AGENT_PR_HANDOFF_LABEL:-agent-handoff}"
AGENT_EXCLUSIVE_LABEL="${AGENT_EXCLUSIVE_LABEL:-agent-exclusive}"
CODING_WORKER="${ACP_CODING_WORKER:-codex}"
HEARTBEAT_SNAPSHOT_CACHE_DIR=""
while IFS= read -r acp_hook_line; do
  case "${acp_hook_line%%=*}" in
    CONFIG_YAML | PROFILE_ID | REPO_SLUG | AGENT_REPO_ROOT | DEFAULT_BRANCH | STATE_ROOT | \
      PENDING_LAUNCH_DIR | AGENT_PR_PREFIXES_JSON | AGENT_PR_ISSUE_CAPTURE_REGEX | \
      AGENT_PR_HANDOFF_LABEL | AGENT_EXCLUSIVE_LABEL | CODING_WORKER | HEARTBEAT_SNAPSHOT_CACHE_DIR)
      printf -v "${acp_hook_line%%=*}" '%s' "${acp_hook_line#*=}"
      ;;
  esac
done < <(heartbeat_hooks_acp --hook-file "${ACP_HEARTBEAT_HOOKS_FILE}" --owner "$$" env 2>/dev/null || true)
unset acp_hook_line
HEARTBEAT_ISSUE_JSON_CACHE_DIR="${HEARTBEAT_SNAPSHOT_CACHE_DIR}"

# One question or effect, with the shell's current settings.
heartbeat_hooks_call() {
  heartbeat_hooks_acp \
    --hook-file "${ACP_HEARTBEAT_HOOKS_FILE}" \
    --repo-slug "${REPO_SLUG:-}" \
    --tools-dir "${FLOW_TOOLS_DIR:-}" \
    --adapter-bin-dir "${ADAPTER_BIN_DIR:-}" \
    --state-root "${STATE_ROOT:-}" \
    --agent-repo-root "${AGENT_REPO_ROOT:-}" \
    --default-branch "${DEFAULT_BRANCH:-}" \
    --pending-launch-dir "${PENDING_LAUNCH_DIR:-}" \
    --coding-worker "${CODING_WORKER:-}" \
    --cache-dir "${HEARTBEAT_SNAPSHOT_CACHE_DIR:-}" \
    --handoff-label "${AGENT_PR_HANDOFF_LABEL:-}" \
    --exclusive-label "${AGENT_EXCLUSIVE_LABEL:-}" \
    "$@"
}

# --- GitHub snapshots -------------------------------------------------------

# Every open issue, as a JSON array (one list call per minute at most).
heartbeat_cached_issue_list_json() {
  heartbeat_hooks_call issue-list-json 2>/dev/null || true
}

# Every open PR, as a JSON array.
heartbeat_cached_pr_list_json() {
  heartbeat_hooks_call pr-list-json 2>/dev/null || true
}

# Forget what was read (the next question reads GitHub again).
heartbeat_invalidate_snapshot_cache() {
  heartbeat_hooks_call invalidate >/dev/null 2>&1 || true
}

# One issue as JSON (from the open-issue list when it holds it).
heartbeat_issue_json_cached() {
  local issue="${1:?issue id required}"
  heartbeat_hooks_call issue-json "${issue}" 2>/dev/null || true
}

# JSON array of the issue ids (strings) that open agent PRs work on.
heartbeat_open_agent_pr_issue_ids() {
  local ids
  ids="$(heartbeat_cached_pr_list_json | heartbeat_hooks_call --stdin agent-pr-issue-ids 2>/dev/null)" || ids=""
  printf '%s\n' "${ids:-[]}"
}

# --- Retry baseline ---------------------------------------------------------

heartbeat_issue_retry_state_file() {
  local issue="${1:?issue id required}"
  printf '%s\n' "${STATE_ROOT}/retries/issues/${issue}.env"
}

# Reasons only a new default-branch head can clear.
heartbeat_reason_requires_baseline_change() {
  [[ " verification-guard-blocked no-publishable-commits no-publishable-delta " == *" ${1:-none} "* ]]
}

heartbeat_current_baseline_head_sha() {
  heartbeat_hooks_call baseline-head 2>/dev/null || printf '\n'
}

# True while the retry record's baseline is still the default branch head.
heartbeat_retry_reason_is_baseline_blocked() {
  local issue="${1:?issue id required}"
  heartbeat_hooks_call baseline-blocked "${issue}" "${2:-}" >/dev/null 2>&1
}

# --- Lists ------------------------------------------------------------------

heartbeat_list_ready_issue_ids() {
  local linked
  linked="$(heartbeat_open_agent_pr_issue_ids)"
  heartbeat_cached_issue_list_json \
    | heartbeat_hooks_call --stdin ready-issues --linked "${linked:-[]}" 2>/dev/null || true
}

heartbeat_list_blocked_recovery_issue_ids() {
  local linked candidate reason
  linked="$(heartbeat_open_agent_pr_issue_ids)"
  while IFS= read -r candidate; do
    [[ -n "${candidate}" ]] || continue
    reason="$(heartbeat_issue_blocked_recovery_reason "${candidate}")"
    if [[ -n "${reason}" ]]; then
      printf '%s\n' "${candidate}"
    fi
  done < <(heartbeat_cached_issue_list_json \
    | heartbeat_hooks_call --stdin blocked-candidates --linked "${linked:-[]}" 2>/dev/null || true)
}

# Why a blocked issue may be retried ("" = it may not): its retry record,
# else its newest blocker comment.
heartbeat_issue_blocked_recovery_reason() {
  local issue="${1:?issue id required}" answer status=0
  answer="$(heartbeat_hooks_call blocked-reason "${issue}" 2>/dev/null)" || status=$?
  if [[ "${status}" == 3 ]]; then
    heartbeat_issue_json_cached "${issue}" \
      | heartbeat_hooks_call --stdin blocked-reason "${issue}" --issue-json - 2>/dev/null || true
  elif [[ -n "${answer}" ]]; then
    printf '%s\n' "${answer}"
  fi
  return 0
}

heartbeat_list_exclusive_issue_ids() {
  local linked
  linked="$(heartbeat_open_agent_pr_issue_ids)"
  heartbeat_cached_issue_list_json \
    | heartbeat_hooks_call --stdin exclusive-issues --linked "${linked:-[]}" 2>/dev/null || true
}

heartbeat_list_running_issue_ids() {
  heartbeat_cached_issue_list_json | heartbeat_hooks_call --stdin running-issues 2>/dev/null || true
}

heartbeat_list_open_agent_pr_ids() {
  heartbeat_cached_pr_list_json | heartbeat_hooks_call --stdin agent-prs 2>/dev/null || true
}

heartbeat_list_exclusive_pr_ids() {
  heartbeat_cached_pr_list_json | heartbeat_hooks_call --stdin exclusive-prs 2>/dev/null || true
}

# --- Attributes -------------------------------------------------------------

# yes | no, from bin/issue-resource-class.sh.
heartbeat_issue_is_heavy() {
  local issue="${1:?issue id required}"
  heartbeat_hooks_call issue-heavy "${issue}"
}

heartbeat_issue_attr() {
  local issue="${1:?issue id required}" attr="${2:?attribute required}"
  heartbeat_issue_json_cached "${issue}" | heartbeat_hooks_call --stdin attr "${attr}" 2>/dev/null
}

heartbeat_issue_is_recurring() {
  heartbeat_issue_attr "${1:?issue id required}" recurring || printf 'no\n'
}

# Seconds between runs of a scheduled issue (0 = not scheduled).
heartbeat_issue_schedule_interval_seconds() {
  heartbeat_issue_attr "${1:?issue id required}" interval || printf '0\n'
}

# `30m`, `1h`, `2d` or an empty line.
heartbeat_issue_schedule_token() {
  heartbeat_issue_attr "${1:?issue id required}" token || printf '\n'
}

heartbeat_issue_schedule_label() {
  heartbeat_issue_attr "${1:?issue id required}" label || true
}

heartbeat_issue_is_scheduled() {
  local seconds
  seconds="$(heartbeat_issue_schedule_interval_seconds "${1:?issue id required}")"
  if [[ "${seconds}" =~ ^[1-9][0-9]*$ ]]; then printf 'yes\n'; else printf 'no\n'; fi
}

heartbeat_issue_is_exclusive() {
  heartbeat_issue_attr "${1:?issue id required}" exclusive || printf 'no\n'
}

heartbeat_pr_is_exclusive() {
  local pr="${1:?pr number required}"
  heartbeat_hooks_call pr-exclusive "${pr}" 2>/dev/null || printf 'no\n'
}

heartbeat_pr_risk_json() {
  local pr="${1:?pr number required}"
  heartbeat_hooks_call pr-risk "${pr}"
}

# --- Labels -----------------------------------------------------------------

# bin/sync-pr-labels.sh PR, unless nothing it depends on changed since the
# last sync.
heartbeat_sync_pr_labels() {
  local pr="${1:?pr number required}"
  heartbeat_hooks_call sync-pr-labels "${pr}"
}

heartbeat_mark_issue_running() {
  local issue="${1:?issue id required}"
  heartbeat_hooks_call mark-issue-running "${issue}" "${2:-no}" >/dev/null 2>&1 || true
}

heartbeat_issue_launch_failed() {
  local issue="${1:?issue id required}"
  heartbeat_hooks_call issue-launch-failed "${issue}" >/dev/null 2>&1 || true
}

heartbeat_ensure_issue_label_exists() {
  local name="${1:?label required}"
  heartbeat_hooks_call ensure-label "${name}" "${2:-}" "${3:-1D76DB}" >/dev/null 2>&1 || true
}

# Strips running, blocked and cadence labels, then sets the cadence labels
# the issue body asks for.
heartbeat_sync_issue_labels() {
  local issue="${1:?issue id required}"
  heartbeat_issue_json_cached "${issue}" \
    | heartbeat_hooks_call --stdin sync-issue-labels "${issue}" >/dev/null 2>&1 || true
}

heartbeat_mark_pr_running() {
  local pr="${1:?pr number required}"
  heartbeat_hooks_call mark-pr-running "${pr}" >/dev/null 2>&1 || true
}

heartbeat_clear_pr_running() {
  local pr="${1:?pr number required}"
  heartbeat_hooks_call clear-pr-running "${pr}" >/dev/null 2>&1 || true
}

# --- Resident lanes ---------------------------------------------------------

heartbeat_issue_uses_resident_loop() {
  local issue="${1:?issue id required}"
  heartbeat_hooks_call uses-resident-loop "${issue}" 2>/dev/null || printf 'no\n'
}

heartbeat_resident_idle_issue_controller_count() {
  heartbeat_hooks_call idle-controller-count 2>/dev/null || printf '0\n'
}

heartbeat_issue_resident_lane_kind() {
  heartbeat_hooks_call lane-kind "${1:?issue id required}"
}

heartbeat_issue_resident_lane_value() {
  heartbeat_hooks_call lane-value "${1:?issue id required}"
}

heartbeat_issue_resident_worker_key() {
  heartbeat_hooks_call worker-key "${1:?issue id required}"
}

# The pid of a live pending launch of the issue (status 1 without one).
heartbeat_pending_issue_launch_pid() {
  heartbeat_hooks_call pending-issue-pid "${1:?issue id required}"
}

# The issue of a live pending launch in the same resident lane.
heartbeat_pending_resident_lane_launch_issue_id() {
  heartbeat_hooks_call pending-lane-issue "${1:?issue id required}"
}

# ISSUE_ID=, CONTROLLER_PID=, CONTROLLER_STATE=, CONTROLLER_FILE= of the
# lane's live controller (status 1 without one).
heartbeat_live_issue_controller_for_lane() {
  heartbeat_hooks_call live-controller "${1:?issue id required}"
}

heartbeat_enqueue_issue_for_live_resident_lane() {
  heartbeat_hooks_call enqueue-live-lane "${1:?issue id required}"
}

heartbeat_enqueue_issue_for_resident_controller() {
  heartbeat_hooks_call enqueue-idle-controller "${1:?issue id required}"
}

# --- Starts and reconciles --------------------------------------------------

# A worker, a resident loop, or a place in a resident lane's queue
# (LAUNCH_MODE=resident-lease / resident-pending-lane: nothing started).
heartbeat_start_issue_worker() {
  heartbeat_hooks_call start-issue-worker "${1:?issue id required}"
}

heartbeat_start_pr_review_worker() {
  heartbeat_hooks_call start-pr-worker review "${1:?pr number required}"
}

heartbeat_start_pr_merge_repair_worker() {
  heartbeat_hooks_call start-pr-worker merge-repair "${1:?pr number required}"
}

heartbeat_start_pr_fix_worker() {
  heartbeat_hooks_call start-pr-worker fix "${1:?pr number required}"
}

# Re-runs the failed Actions runs of the PR's head commit.
heartbeat_start_pr_ci_refresh() {
  heartbeat_hooks_call ci-refresh "${1:?pr number required}"
}

heartbeat_reconcile_issue() {
  heartbeat_hooks_call reconcile issue "${1:?session required}"
}

heartbeat_reconcile_pr() {
  heartbeat_hooks_call reconcile pr "${1:?session required}"
}
