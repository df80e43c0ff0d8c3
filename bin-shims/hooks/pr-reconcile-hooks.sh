#!/usr/bin/env bash
# agent-control-plane: the default PR reconcile policy.
#
# agent-project-reconcile-pr-session calls these pr_* functions at each
# transition of a finished PR session. While this file is unchanged the
# reconciler applies the same policy in-process (one label delta per
# transition, failed GitHub writes kept in the run's outbox); an edited copy
# is sourced into bash and its functions are called instead.
#
# Profile values come from the Rust binary as KEY=value lines of known keys;
# nothing here sources a configuration library or evaluates data.

HOOK_SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FLOW_SKILL_DIR="$(cd "${HOOK_SCRIPT_DIR}/.." && pwd)"
ADAPTER_BIN_DIR="${FLOW_SKILL_DIR}/bin"
FLOW_TOOLS_DIR="${FLOW_SKILL_DIR}/tools/bin"

# Runs a hidden word of the PR reconciler: through ACP_BIN_DIR's binary, the
# tree's own shim, or the binary on PATH.
acp_pr_hooks_tool() {
  if [[ -n "${ACP_BIN_DIR:-}" && -x "${ACP_BIN_DIR}/agent-control-plane" ]]; then
    "${ACP_BIN_DIR}/agent-control-plane" agent-project-reconcile-pr-session "$@"
  elif [[ -f "${FLOW_TOOLS_DIR}/agent-project-reconcile-pr-session" ]]; then
    bash "${FLOW_TOOLS_DIR}/agent-project-reconcile-pr-session" "$@"
  else
    agent-control-plane agent-project-reconcile-pr-session "$@"
  fi
}

# Reads the profile's values into fixed variable names.
acp_pr_hooks_load_profile() {
  local line key value
  while IFS= read -r line; do
    key="${line%%=*}"
    value="${line#*=}"
    case "${key}" in
      CONFIG_YAML | PROFILE_ID | RUNS_ROOT | AGENT_ROOT | STATE_ROOT | REPO_SLUG | AGENT_REPO_ROOT | \
        ISSUE_SESSION_PREFIX | PR_WORKTREE_BRANCH_PREFIX)
        printf -v "${key}" '%s' "${value}"
        ;;
    esac
  done < <(acp_pr_hooks_tool __hook-env)
}

acp_pr_hooks_load_profile
: "${RUNS_ROOT:?the PR hooks could not resolve RUNS_ROOT}"
PR_LANE_OVERRIDE_DIR="${STATE_ROOT}/pr-lane-overrides"

# The labels a finished (merged or closed) PR no longer carries.
acp_pr_done_labels=(
  agent-running agent-automerge agent-repair-queued agent-fix-needed agent-manual-fix-override
  agent-ci-refresh agent-ci-bypassed agent-double-check-1/2 agent-double-check-2/2
  agent-human-review agent-human-approved agent-blocked agent-handoff agent-exclusive
)

pr_kick_scheduler() {
  ACP_PROJECT_ID="${PROFILE_ID}" AGENT_PROJECT_ID="${PROFILE_ID}" \
    "${FLOW_TOOLS_DIR}/kick-scheduler.sh" "${1:-2}" >/dev/null || true
}

pr_best_effort_update_labels() {
  bash "${FLOW_TOOLS_DIR}/agent-github-update-labels" "$@" >/dev/null 2>&1 || true
}

pr_best_effort_sync_pr_labels() {
  "${ADAPTER_BIN_DIR}/sync-pr-labels.sh" "$1" >/dev/null 2>&1 || true
}

# Changes the labels of PR/issue $1: the remaining words are label names to
# remove, except one given after --add.
acp_pr_relabel() {
  local number="$1"
  shift
  local -a words=()
  while [[ $# -gt 0 ]]; do
    if [[ "$1" == "--add" ]]; then
      words+=(--add "$2")
      shift 2
      continue
    fi
    words+=(--remove "$1")
    shift
  done
  pr_best_effort_update_labels --repo-slug "${REPO_SLUG}" --number "${number}" "${words[@]}"
}

pr_set_lane_override() {
  local pr_number="${1:?pr number required}"
  local lane="${2:?lane required}"
  local target="${PR_LANE_OVERRIDE_DIR}/${pr_number}.env"
  mkdir -p "${PR_LANE_OVERRIDE_DIR}"
  printf 'PR_LANE_OVERRIDE=%q\nUPDATED_AT=%s\n' "${lane}" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"${target}.tmp.$$"
  mv -f "${target}.tmp.$$" "${target}"
}

pr_clear_lane_override() {
  local pr_number="${1:?pr number required}"
  rm -f "${PR_LANE_OVERRIDE_DIR}/${pr_number}.env"
}

pr_schedule_retry() {
  "${FLOW_TOOLS_DIR}/retry-state.sh" pr "${PR_NUMBER}" schedule "${1:?reason required}" >/dev/null || true
}

pr_clear_retry() {
  "${FLOW_TOOLS_DIR}/retry-state.sh" pr "${PR_NUMBER}" clear >/dev/null || true
}

# "no" while the linked issue carries agent-keep-open (a recurring issue).
pr_linked_issue_should_close() {
  local issue_id="${1:?issue id required}"
  if [[ "$(acp_pr_hooks_tool __issue-keep-open "${REPO_SLUG}" "${issue_id}" 2>/dev/null)" == "yes" ]]; then
    printf 'no\n'
  else
    printf 'yes\n'
  fi
}

pr_cleanup_linked_issue_session() {
  local issue_id="${1:-}"
  [[ -n "${issue_id}" ]] || return 0
  acp_pr_relabel "${issue_id}" agent-ready agent-running agent-blocked agent-e2e-heavy agent-automerge agent-exclusive

  local issue_session="${ISSUE_SESSION_PREFIX}${issue_id}"
  local issue_meta="${RUNS_ROOT}/${issue_session}/run.env"
  local issue_worktree=""
  if [[ -f "${issue_meta}" ]]; then
    issue_worktree="$(acp_pr_hooks_tool_env_get "${issue_meta}" WORKTREE)"
    "${FLOW_TOOLS_DIR}/cleanup-worktree.sh" "${issue_worktree}" "${issue_session}" >/dev/null || true
  fi
}

# One value of an env file, read (never sourced) by the binary.
acp_pr_hooks_tool_env_get() {
  if [[ -n "${ACP_BIN_DIR:-}" && -x "${ACP_BIN_DIR}/agent-control-plane" ]]; then
    "${ACP_BIN_DIR}/agent-control-plane" env-file get "$1" "$2" 2>/dev/null || true
  else
    agent-control-plane env-file get "$1" "$2" 2>/dev/null || true
  fi
}

pr_cleanup_merged_residue() {
  local pr_number="${1:?pr number required}"
  local repo="${AGENT_REPO_ROOT}"
  local branch head_ref
  [[ -d "${repo}" ]] || return 0

  git -C "${repo}" fetch --prune origin >/dev/null 2>&1 || true
  while IFS= read -r branch; do
    [[ -n "${branch}" ]] || continue
    (cd "${repo}" && "${FLOW_TOOLS_DIR}/agent-cleanup-worktree" --branch "${branch}" --remote "" --allow-unmerged >/dev/null) || true
  done < <(git -C "${repo}" for-each-ref --format='%(refname:short)' "refs/heads/${PR_WORKTREE_BRANCH_PREFIX}-${pr_number}-*")

  head_ref="$(acp_pr_hooks_tool __pr-head-ref "${REPO_SLUG}" "${pr_number}" 2>/dev/null || true)"
  if [[ -n "${head_ref}" ]]; then
    git -C "${repo}" branch -r -d "origin/${head_ref}" >/dev/null 2>&1 || true
  fi
  git -C "${repo}" fetch --prune origin >/dev/null 2>&1 || true
}

# The adapter's risk JSON for PR $1, one top-level field $2.
acp_pr_risk_field() {
  "${ADAPTER_BIN_DIR}/pr-risk.sh" "$1" 2>/dev/null | acp_pr_hooks_tool __json-get "$2" 2>/dev/null || true
}

# After a merge, re-syncs the checklist of a linked recurring (keep-open) issue.
pr_refresh_linked_issue_checklist() {
  local pr_number="${1:?pr number required}"
  local linked_issue_id
  linked_issue_id="$(acp_pr_risk_field "${pr_number}" linkedIssueId)"
  [[ -n "${linked_issue_id}" ]] || return 0
  [[ "$(pr_linked_issue_should_close "${linked_issue_id}")" == "no" ]] || return 0
  bash "${FLOW_TOOLS_DIR}/sync-recurring-issue-checklist.sh" \
    --repo-slug "${REPO_SLUG}" --issue-id "${linked_issue_id}" >/dev/null 2>&1 || true
}

pr_after_merged() {
  local pr_number="${1:?pr number required}"
  pr_clear_lane_override "${pr_number}"
  acp_pr_relabel "${pr_number}" "${acp_pr_done_labels[@]}"
  pr_refresh_linked_issue_checklist "${pr_number}"
  pr_kick_scheduler 5
}

pr_after_closed() {
  local pr_number="${1:?pr number required}"
  pr_clear_lane_override "${pr_number}"
  acp_pr_relabel "${pr_number}" "${acp_pr_done_labels[@]}"
  pr_kick_scheduler 5
}

pr_automerge_allowed() {
  local pr_number="${1:?pr number required}"
  local lane eligible
  lane="$(acp_pr_risk_field "${pr_number}" agentLane)"
  eligible="$(acp_pr_risk_field "${pr_number}" eligibleForAutoMerge)"
  if [[ "${lane}" == "automerge" || "${lane}" == "double-check-2" || "${eligible}" == "true" ]]; then
    printf 'yes\n'
  else
    printf 'no\n'
  fi
}

pr_review_pass_action() {
  local pr_number="${1:?pr number required}"
  case "$(acp_pr_risk_field "${pr_number}" agentLane)" in
    double-check-1) printf 'advance-double-check-2\n' ;;
    human-review) printf 'wait-human\n' ;;
    *) printf 'merge\n' ;;
  esac
}

pr_after_double_check_advanced() {
  local pr_number="${1:?pr number required}"
  local stage="${2:?next stage required}"
  if [[ "${stage}" != "2" ]]; then
    echo "unsupported double-check stage: ${stage}" >&2
    return 1
  fi
  pr_set_lane_override "${pr_number}" "double-check-2"
  acp_pr_relabel "${pr_number}" agent-running agent-automerge agent-repair-queued agent-fix-needed \
    agent-manual-fix-override agent-ci-refresh agent-human-review agent-human-approved \
    agent-double-check-1/2 agent-double-check-2/2 --add agent-double-check-2/2
  pr_best_effort_sync_pr_labels "${pr_number}"
  pr_kick_scheduler 5
}

pr_after_updated_branch() {
  local pr_number="${1:?pr number required}"
  pr_clear_lane_override "${pr_number}"
  acp_pr_relabel "${pr_number}" agent-running agent-blocked agent-repair-queued agent-fix-needed \
    agent-manual-fix-override agent-ci-refresh agent-double-check-1/2 agent-double-check-2/2 agent-human-approved
  pr_best_effort_sync_pr_labels "${pr_number}"
}

pr_after_blocked() {
  local pr_number="${1:?pr number required}"
  pr_clear_lane_override "${pr_number}"
  acp_pr_relabel "${pr_number}" agent-running agent-blocked agent-automerge agent-ci-refresh \
    agent-ci-bypassed agent-double-check-1/2 agent-double-check-2/2 agent-human-review \
    agent-human-approved agent-fix-needed agent-manual-fix-override --add agent-repair-queued
  pr_best_effort_sync_pr_labels "${pr_number}"
}

pr_after_succeeded() {
  local pr_number="${1:?pr number required}"
  pr_clear_lane_override "${pr_number}"
  acp_pr_relabel "${pr_number}" agent-running agent-repair-queued agent-fix-needed \
    agent-manual-fix-override agent-ci-refresh agent-double-check-1/2 agent-double-check-2/2
  pr_best_effort_sync_pr_labels "${pr_number}"
}

pr_after_failed() {
  local pr_number="${1:?pr number required}"
  pr_clear_lane_override "${pr_number}"
  acp_pr_relabel "${pr_number}" agent-running agent-blocked agent-repair-queued agent-fix-needed \
    agent-manual-fix-override agent-ci-refresh agent-double-check-1/2 agent-double-check-2/2
  pr_best_effort_sync_pr_labels "${pr_number}"
}

pr_after_reconciled() {
  pr_kick_scheduler 2
}
