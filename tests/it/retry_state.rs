//! Integration tests for `retry-state` (run through its shim).
