//! The shipped heartbeat policy in Rust (spec 3.38): what `hooks/heartbeat-hooks.sh` names.
