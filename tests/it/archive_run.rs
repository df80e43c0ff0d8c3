//! Integration tests for `archive-run` (run through its shim).
