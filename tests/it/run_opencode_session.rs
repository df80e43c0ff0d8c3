//! Integration tests for `run-opencode-session` (run through its shim).
