//! Integration tests for `run-codex-bypass` (run through its shim).
