//! Integration tests for `render-flow-config` (run through its shim).
