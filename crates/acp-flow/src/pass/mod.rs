//! One pass of `agent-project-heartbeat-loop` (spec 1.3-1.6).
