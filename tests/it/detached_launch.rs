//! Integration tests for `detached-launch` (run through its shim).
