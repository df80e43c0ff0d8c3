//! The agent's anchor repository and the files around it.
//!
//! - [`sync`]: create or refresh the anchor clone (the git parent of every
//!   agent worktree) from the canonical checkout's remote, keeping whatever
//!   uncommitted work it holds in a named stash.
//! - [`branch`]: the default branch: the profile's, else the remote's HEAD.
//! - [`workspace`]: the multi-root VS Code workspace file over the retained
//!   checkout, the anchor and its worktrees.
//! - [`slice`]: copying (and optionally moving) a list of uncommitted paths
//!   from one retained checkout to another.
//! - [`lock`]: the bounded wait on the anchor's sync lock.
//!
//! Nothing here prints or exits: callers get values and `acp_core::fail`
//! errors carrying the original's message prefixes and exit codes.

pub mod branch;
mod gitx;
pub mod lock;
pub mod slice;
pub mod sync;
pub mod workspace;

pub use branch::{
    default_branch, profile_default_branch, recorded_remote_head, remote_default_branch,
};
pub use slice::{SliceOutcome, SliceRequest, split_slice};
pub use sync::{SyncOutcome, SyncRequest, is_checkout, sync_anchor};
pub use workspace::{Folder, WorkspaceRequest, workspace_folders, write_workspace};
