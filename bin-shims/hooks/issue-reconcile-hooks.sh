#!/usr/bin/env bash
# agent-control-plane: the issue reconcile policy.
#
# agent-project-reconcile-issue-session applies this policy itself when it
# is given this file unchanged; an edited copy (or any other hook file) is
# sourced by bash and its functions are called one by one. Tests and tools
# may also source it and call a function after changing FLOW_TOOLS_DIR,
# REPO_SLUG, STATE_ROOT, AGENT_REPO_ROOT or DEFAULT_BRANCH.
#
# The profile values come from the agent-control-plane binary as KEY=value
# lines; they are assigned one by one, never evaluated.

ACP_ISSUE_HOOKS_FILE="${BASH_SOURCE[0]}"
ACP_ISSUE_HOOKS_DIR="$(cd "$(dirname "${ACP_ISSUE_HOOKS_FILE}")" && pwd)"
HOOK_SCRIPT_DIR="${ACP_ISSUE_HOOKS_DIR}"
FLOW_SKILL_DIR="$(cd "${ACP_ISSUE_HOOKS_DIR}/.." && pwd)"
ADAPTER_BIN_DIR="${FLOW_SKILL_DIR}/bin"
FLOW_TOOLS_DIR="${FLOW_SKILL_DIR}/tools/bin"

# The binary: $ACP_BIN_DIR, else the package's own shim, else the PATH.
issue_hooks_acp() {
  if [[ -n "${ACP_BIN_DIR:-}" && -x "${ACP_BIN_DIR}/agent-control-plane" ]]; then
    "${ACP_BIN_DIR}/agent-control-plane" agent-project-reconcile-issue-session "$@"
  elif [[ -f "${FLOW_SKILL_DIR}/tools/bin/agent-project-reconcile-issue-session" ]]; then
    bash "${FLOW_SKILL_DIR}/tools/bin/agent-project-reconcile-issue-session" "$@"
  else
    agent-control-plane agent-project-reconcile-issue-session "$@"
  fi
}

CONFIG_YAML=""
PROFILE_ID=""
REPO_SLUG=""
AGENT_ROOT=""
AGENT_REPO_ROOT=""
STATE_ROOT=""
DEFAULT_BRANCH="main"
RUNS_ROOT=""
while IFS= read -r acp_hook_line; do
  case "${acp_hook_line%%=*}" in
    CONFIG_YAML | PROFILE_ID | REPO_SLUG | AGENT_ROOT | AGENT_REPO_ROOT | STATE_ROOT | DEFAULT_BRANCH | RUNS_ROOT)
      printf -v "${acp_hook_line%%=*}" '%s' "${acp_hook_line#*=}"
      ;;
  esac
done < <(issue_hooks_acp __hook-env --hook-file "${ACP_ISSUE_HOOKS_FILE}" 2>/dev/null || true)
unset acp_hook_line
BLOCKED_RECOVERY_STATE_DIR="${STATE_ROOT}/blocked-recovery-issues"

# Asks the scheduler for a pass in DELAY seconds (default 2) for this profile.
issue_kick_scheduler() {
  ACP_PROJECT_ID="${PROFILE_ID}" AGENT_PROJECT_ID="${PROFILE_ID}" \
    "${FLOW_TOOLS_DIR}/kick-scheduler.sh" "${1:-2}" >/dev/null 2>&1 || true
}

issue_clear_blocked_recovery_state() {
  rm -f -- "${STATE_ROOT}/blocked-recovery-issues/${ISSUE_ID}.env" 2>/dev/null || true
}

issue_retry_state_file() {
  printf '%s/retries/issues/%s.env\n' "${STATE_ROOT}" "${ISSUE_ID}"
}

# Reasons only a newer baseline can clear.
issue_reason_requires_baseline_change() {
  case "${1:-}" in
    verification-guard-blocked | no-publishable-commits | no-publishable-delta) return 0 ;;
    *) return 1 ;;
  esac
}

issue_current_baseline_head_sha() {
  local sha=""
  if [[ -d "${AGENT_REPO_ROOT}" ]]; then
    sha="$(git -C "${AGENT_REPO_ROOT}" rev-parse --verify --quiet "origin/${DEFAULT_BRANCH}" 2>/dev/null)" \
      || sha="$(git -C "${AGENT_REPO_ROOT}" rev-parse --verify --quiet "${DEFAULT_BRANCH}" 2>/dev/null)" \
      || sha=""
  fi
  printf '%s\n' "${sha}"
}

# Stores the baseline head in the retry record, so the issue is retried
# only once the default branch moved.
issue_record_retry_baseline_gate() {
  local reason="${1:-}" record sha tmp
  issue_reason_requires_baseline_change "${reason}" || return 0
  record="$(issue_retry_state_file)"
  [[ -f "${record}" ]] || return 0
  sha="$(issue_current_baseline_head_sha)"
  [[ -n "${sha}" ]] || return 0
  tmp="${record}.tmp.$$"
  { grep -v '^BASELINE_HEAD_SHA=' "${record}" || true; printf 'BASELINE_HEAD_SHA=%s\n' "${sha}"; } >"${tmp}"
  mv -f -- "${tmp}" "${record}"
}

issue_hooks_issue_info() {
  issue_hooks_acp __hook-issue-info --repo-slug "${REPO_SLUG}" --issue "${ISSUE_ID}" 2>/dev/null || true
}

# True when the issue body carries a schedule line ("Agent schedule: every 30m").
issue_has_schedule_cadence() {
  issue_hooks_issue_info | grep -qx 'CADENCE=yes'
}

# smoke, checks, health or nothing, from the issue's title and body.
issue_scheduled_status_kind() {
  local line
  line="$(issue_hooks_issue_info | grep '^STATUS_KIND=' | head -n 1)"
  printf '%s\n' "${line#STATUS_KIND=}"
}

issue_ensure_status_label_exists() {
  local kind="${1%-*}"
  kind="${kind%-not}"
  issue_hooks_acp __hook-status-labels --repo-slug "${REPO_SLUG}" --kind "${kind}" \
    --state-root "${STATE_ROOT}" >/dev/null 2>&1 || true
}

# ok | alert: sets the issue's status label of its family.
issue_update_scheduled_status() {
  local result="${1:?status required}" kind target
  issue_has_schedule_cadence || return 0
  kind="$(issue_scheduled_status_kind)"
  case "${kind}" in
    health | checks | smoke) ;;
    *) return 0 ;;
  esac
  case "${result}" in
    ok) target="${kind}-ok" ;;
    alert) target="${kind}-not-ok" ;;
    *) return 0 ;;
  esac
  issue_ensure_status_label_exists "${target}"
  bash "${FLOW_TOOLS_DIR}/agent-github-update-labels" --repo-slug "${REPO_SLUG}" --number "${ISSUE_ID}" \
    --remove health-ok --remove health-not-ok --remove checks-ok --remove checks-not-ok \
    --remove smoke-ok --remove smoke-not-ok --add "${target}" >/dev/null || true
}

issue_label_follow_ups() {
  issue_has_schedule_cadence && return 0
  ACP_AGENT_ROOT="${AGENT_ROOT}" ACP_RUNS_ROOT="${RUNS_ROOT}" F_LOSNING_RUNS_ROOT="${RUNS_ROOT}" \
    "${ADAPTER_BIN_DIR}/label-follow-up-issues.sh" "${SESSION:-}" >/dev/null 2>&1 || true
}

issue_before_success() { issue_label_follow_ups; }

issue_before_blocked() { issue_label_follow_ups; }

# Scheduled (cadence) issues keep no retry state.
issue_schedule_retry() {
  local reason="${1:?reason required}"
  issue_has_schedule_cadence && return 0
  "${FLOW_TOOLS_DIR}/retry-state.sh" issue "${ISSUE_ID}" schedule "${reason}" >/dev/null || true
  issue_record_retry_baseline_gate "${reason}"
}

issue_mark_ready() {
  issue_clear_blocked_recovery_state
  bash "${FLOW_TOOLS_DIR}/agent-github-update-labels" --repo-slug "${REPO_SLUG}" --number "${ISSUE_ID}" \
    --remove agent-running --remove agent-blocked >/dev/null || true
}

issue_clear_retry() {
  issue_clear_blocked_recovery_state
  "${FLOW_TOOLS_DIR}/retry-state.sh" issue "${ISSUE_ID}" clear >/dev/null || true
}

issue_publish_extra_args() {
  printf '%s\n' --keep-open-label agent-keep-open
}

issue_remove_running() {
  bash "${FLOW_TOOLS_DIR}/agent-github-update-labels" --repo-slug "${REPO_SLUG}" --number "${ISSUE_ID}" \
    --remove agent-ready --remove agent-running --remove agent-blocked >/dev/null || true
}

issue_mark_blocked() {
  bash "${FLOW_TOOLS_DIR}/agent-github-update-labels" --repo-slug "${REPO_SLUG}" --number "${ISSUE_ID}" \
    --remove agent-running --add agent-blocked >/dev/null || true
}

issue_should_close_as_superseded() {
  local comment="${run_dir:-}/issue-comment.md" first=""
  [[ -s "${comment}" ]] || return 1
  IFS= read -r first <"${comment}" || true
  [[ "${first}" == "Superseded by focused follow-up issues:"* ]]
}

issue_close_as_superseded() {
  bash "${FLOW_TOOLS_DIR}/agent-github-update-labels" --repo-slug "${REPO_SLUG}" --number "${ISSUE_ID}" \
    --remove agent-running --remove agent-blocked >/dev/null || true
  issue_hooks_acp __hook-close-issue --repo-slug "${REPO_SLUG}" --issue "${ISSUE_ID}" >/dev/null 2>&1 || true
}

# An eligible PR gets agent-automerge; the scheduler looks again in 5 s.
issue_after_pr_created() {
  local pr="${1:?pr number required}" risk=""
  risk="$("${ADAPTER_BIN_DIR}/pr-risk.sh" "${pr}" 2>/dev/null || true)"
  if [[ "${risk}" =~ \"eligibleForAutoMerge\"[[:space:]]*:[[:space:]]*true ]]; then
    bash "${FLOW_TOOLS_DIR}/agent-github-update-labels" --repo-slug "${REPO_SLUG}" --number "${pr}" \
      --add agent-automerge >/dev/null || true
  fi
  issue_kick_scheduler 5
}

issue_after_reconciled() {
  local status="${1:-}" outcome="${2:-}" action="${3:-}"
  if [[ "${status}" == "SUCCEEDED" && "${outcome}" == "reported" ]]; then
    case "${action}" in
      host-comment-scheduled-report) issue_update_scheduled_status ok ;;
      host-comment-scheduled-alert) issue_update_scheduled_status alert ;;
    esac
  fi
  issue_kick_scheduler 2
}
