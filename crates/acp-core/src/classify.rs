//! Failure classification: ordered pattern tables mapping agent output to
//! reason constants, shared by every backend and by worker-status.
