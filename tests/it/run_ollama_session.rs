//! Integration tests for `run-ollama-session` (run through its shim).
