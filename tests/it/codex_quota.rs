//! Integration tests for `codex-quota` (run through its shim).
