//! The operator's side of agent-control-plane: profiles (scaffold, init,
//! adopt, smoke, remove), the runtime home (publish/sync, doctor), the
//! runtime controller and supervisor, autostart units (launchd on macOS,
//! systemd user units on Linux), the guided `setup`, and the dashboard's
//! snapshot. Libraries here never print or exit: they return values and
//! errors naming their paths; the tool crates and the binary print.

pub mod autostart;
pub mod dashboard;
pub mod install;
pub mod profile;
pub mod runtime;
pub mod setup;
