//! Shared core of the agent-control-plane tools.
//!
//! Every tool crate is a library that receives an [`Invocation`] (its writers,
//! an environment snapshot, the shim path it was started through) and returns
//! an exit code. Nothing in this crate prints to the process's own stdout or
//! stderr, and nothing calls `exit`.

pub mod classify;
pub mod cli;
pub mod config;
pub mod dispatch;
pub mod envfile;
pub mod fsx;
pub mod git;
pub mod kv;
pub mod process;
pub mod procid;
pub mod sha256;
pub mod shellquote;
pub mod time;
pub mod tmux;

#[cfg(any(test, feature = "test-util"))]
#[doc(hidden)]
pub mod testutil;

mod env;
mod invocation;

pub use env::Env;
pub use invocation::{Invocation, ToolSpec, script_or_tool_command};

/// Name of the one multicall binary.
pub const BIN_NAME: &str = "agent-control-plane";

/// An error that carries the exit code the tool must end with (the message
/// is printed as one line on stderr; an empty message prints nothing).
#[derive(Debug)]
pub struct ExitError {
    pub code: i32,
    pub message: String,
}

impl std::fmt::Display for ExitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExitError {}

/// An `anyhow` error that ends the tool with `code` after printing `message`.
pub fn fail(code: i32, message: impl Into<String>) -> anyhow::Error {
    ExitError {
        code,
        message: message.into(),
    }
    .into()
}
