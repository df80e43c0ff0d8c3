//! Integration tests for `branch-verification-guard` (run through its shim).
