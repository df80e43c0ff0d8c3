//! The supervision engine shared by every session backend: spawn the agent in
//! its own process group, stream output, heartbeat, stall and timeout detection.
