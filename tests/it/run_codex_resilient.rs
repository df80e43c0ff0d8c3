//! Integration tests for `run-codex-resilient` (run through its shim).
