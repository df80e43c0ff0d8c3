//! Autostart: launchd agents on macOS, systemd user units on Linux, for the runtime supervisor.
