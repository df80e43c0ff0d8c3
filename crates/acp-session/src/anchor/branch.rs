//! The default branch: what the profile says, else what the remote's HEAD
//! points at; never a guessed `main`.

use std::path::Path;

use acp_core::Env;
use acp_core::config::FlowConfig;

use super::gitx;

/// `ACP_DEFAULT_BRANCH` > `F_LOSNING_DEFAULT_BRANCH` > `repo.default_branch`
/// (the original's chain without its `main` fallback).
pub fn profile_default_branch(env: &Env, cfg: &FlowConfig) -> Option<String> {
    env.first_non_empty(&["ACP_DEFAULT_BRANCH", "F_LOSNING_DEFAULT_BRANCH"])
        .or_else(|| cfg.get("repo.default_branch"))
        .map(|b| b.trim().to_string())
        .filter(|b| !b.is_empty())
}

/// The branch the remote's HEAD names: asked of the remote itself
/// (`git ls-remote --symref <remote> HEAD` run in `repo`), else the local
/// `refs/remotes/<remote>/HEAD` of `repo`. `None` when neither tells (an
/// empty remote, an unreachable one without a local record).
pub fn remote_default_branch(env: &Env, repo: &Path, remote: &str) -> Option<String> {
    if !gitx::plain_ref_name(remote) {
        return None;
    }
    let asked = gitx::text(env, repo, ["ls-remote", "--symref", remote, "HEAD"]).and_then(|out| {
        out.lines().find_map(|l| {
            l.strip_prefix("ref: refs/heads/")
                .and_then(|rest| rest.split('\t').next())
                .map(str::to_string)
        })
    });
    asked.filter(|b| !b.is_empty()).or_else(|| {
        let head = format!("refs/remotes/{remote}/HEAD");
        gitx::text(env, repo, ["symbolic-ref", "--quiet", "--short", &head])
            .and_then(|s| s.strip_prefix(&format!("{remote}/")).map(str::to_string))
            .filter(|b| !b.is_empty())
    })
}
