//! Integration tests for `run-codex-session` (run through its shim).
