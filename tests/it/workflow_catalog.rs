//! Integration tests for `workflow-catalog` (run through its shim).
