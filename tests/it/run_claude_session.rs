//! Integration tests for `run-claude-session` (run through its shim).
