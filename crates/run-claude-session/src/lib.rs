//! Launch a claude worker session in tmux. Not ported yet: the tool is registered once its `TOOLS` lists it.

use acp_core::ToolSpec;

/// The tools this crate provides (none until ported).
pub const TOOLS: &[ToolSpec] = &[];
