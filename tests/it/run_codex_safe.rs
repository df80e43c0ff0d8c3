//! Integration tests for `run-codex-safe` (run through its shim).
