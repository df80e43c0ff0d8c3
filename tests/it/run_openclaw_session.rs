//! Integration tests for `run-openclaw-session` (run through its shim).
