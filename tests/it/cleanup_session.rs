//! Integration tests for `cleanup-session` (run through its shim).
