//! Integration tests for `run-kilo-session` (run through its shim).
