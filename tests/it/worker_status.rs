//! Integration tests for `worker-status` (run through its shim).
