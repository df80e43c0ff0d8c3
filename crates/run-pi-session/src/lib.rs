//! `agent-project-run-pi-session`: run the Pi coding agent (`pi --print`)
//! once in a tmux session, under a hard timeout and a stall watchdog.

use acp_core::ToolSpec;

pub mod pi;
pub mod session;

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[];
