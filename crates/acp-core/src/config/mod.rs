//! control-plane.yaml and the env-or-config resolution chains of the original
//! `flow-config-lib.sh` / `flow-shell-lib.sh`.
