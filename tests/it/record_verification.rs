//! Integration tests for `record-verification` (run through its shim).
