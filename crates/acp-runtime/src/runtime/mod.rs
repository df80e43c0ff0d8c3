//! The runtime controller (start/stop/restart/status/sync) and its supervisor loop.
