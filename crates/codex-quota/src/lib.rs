//! Run the vendored codex-quota tool. Not ported yet: the tool is registered once its `TOOLS` lists it.

use acp_core::ToolSpec;

/// The tools this crate provides (none until ported).
pub const TOOLS: &[ToolSpec] = &[];
