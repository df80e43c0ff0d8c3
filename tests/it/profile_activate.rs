//! Integration tests for `profile-activate` (run through its shim).
