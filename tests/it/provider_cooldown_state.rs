//! Integration tests for `provider-cooldown-state` (run through its shim).
