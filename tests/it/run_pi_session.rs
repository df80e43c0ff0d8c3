//! Integration tests for `run-pi-session` (run through its shim).
