//! `agent-project-run-openclaw-session`: launch an openclaw local agent
//! worker in tmux for one task, supervise it, and leave the standard run
//! artifacts (run.env, runner.env, result.env, the log, collected files).

pub mod agents;
pub mod contract;
pub mod naming;
pub mod progress;
pub mod rules;
pub mod workspace;

use acp_core::ToolSpec;

/// The tools this crate provides (none until ported).
pub const TOOLS: &[ToolSpec] = &[];
