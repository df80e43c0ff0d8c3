//! Integration tests for `capture-worker` (run through its shim).
