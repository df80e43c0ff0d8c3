#!/usr/bin/env bash
# agent-control-plane shim for `profile-adopt.sh`.
# The tool itself is the Rust binary `agent-control-plane`; this file keeps the
# original path so callers, hooks and tests can run it as `bash FILE args` or
# `FILE args`. The binary is found through $ACP_BIN_DIR, then the path written
# at install time, then PATH.
ACP_SHIM_PATH="${BASH_SOURCE[0]}"
[[ "$ACP_SHIM_PATH" == /* ]] || ACP_SHIM_PATH="$PWD/$ACP_SHIM_PATH"
export ACP_SHIM_PATH
acp_bin_installed=''
if [[ -n "${ACP_BIN_DIR:-}" && -x "${ACP_BIN_DIR}/agent-control-plane" ]]; then
  exec "${ACP_BIN_DIR}/agent-control-plane" profile-adopt.sh "$@"
elif [[ -n "$acp_bin_installed" && -x "$acp_bin_installed" ]]; then
  exec "$acp_bin_installed" profile-adopt.sh "$@"
elif command -v agent-control-plane >/dev/null 2>&1; then
  exec agent-control-plane profile-adopt.sh "$@"
fi
echo "profile-adopt.sh: agent-control-plane binary not found (set ACP_BIN_DIR or add it to PATH)" >&2
exit 127
