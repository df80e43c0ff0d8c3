//! Integration tests for `run-codex-task` (run through its shim).
