//! The ref a task branch must be merged into before it may be deleted.

use std::path::Path;

use acp_core::config::FlowConfig;
use acp_core::{Env, git};

pub use acp_core::config::default_branch_setting as profile_default_branch;
pub use acp_core::git::remote_head_branch;

fn ref_exists(env: &Env, dir: &Path, full: &str) -> bool {
    git::output(
        env,
        dir,
        ["show-ref", "--verify", "--quiet", "--end-of-options", full],
    )
    .is_ok_and(|o| o.status.success())
}

/// The default merged base, never a literal `main`: the profile's default
/// branch (`<remote>/<b>` when that remote-tracking ref exists, else the
/// local `<b>`), else `<remote>/<branch of remote HEAD>`, else `HEAD`.
pub fn default_merged_base(env: &Env, cfg: &FlowConfig, dir: &Path, remote: &str) -> String {
    if let Some(b) = profile_default_branch(env, cfg) {
        if !remote.is_empty() && ref_exists(env, dir, &format!("refs/remotes/{remote}/{b}")) {
            return format!("{remote}/{b}");
        }
        if ref_exists(env, dir, &format!("refs/heads/{b}")) {
            return b;
        }
    }
    match remote_head_branch(env, dir, remote) {
        Some(b) => format!("{remote}/{b}"),
        None => "HEAD".to_string(),
    }
}

/// Whether `remote` is configured in the repository of `dir`.
pub fn remote_exists(env: &Env, dir: &Path, remote: &str) -> bool {
    !remote.is_empty()
        && git::output(env, dir, ["remote", "get-url", "--", remote])
            .is_ok_and(|o| o.status.success())
}
