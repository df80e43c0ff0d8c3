//! The default branch: what the profile says, else what the remote's HEAD
//! points at; never a guessed `main`.

use std::path::Path;

use acp_core::Env;
use acp_core::config::FlowConfig;

use super::gitx;

/// The profile's default branch ([`acp_core::config::default_branch_setting`]).
pub use acp_core::config::default_branch_setting as profile_default_branch;

/// The branch the remote's HEAD names: asked of the remote itself
/// (`git ls-remote --symref <remote> HEAD` run in `repo`, never prompting
/// for credentials), else [`recorded_remote_head`]. `None` when neither
/// tells (an empty remote, an unreachable one without a local record).
pub fn remote_default_branch(env: &Env, repo: &Path, remote: &str) -> Option<String> {
    if !gitx::plain_ref_name(remote) {
        return None;
    }
    let mut quiet = env.clone();
    quiet.set("GIT_TERMINAL_PROMPT", "0");
    let asked =
        gitx::text(&quiet, repo, ["ls-remote", "--symref", remote, "HEAD"]).and_then(|out| {
            out.lines().find_map(|l| {
                l.strip_prefix("ref: refs/heads/")
                    .and_then(|rest| rest.split('\t').next())
                    .map(str::to_string)
            })
        });
    asked
        .filter(|b| !b.is_empty())
        .or_else(|| recorded_remote_head(env, repo, remote))
}

/// The branch `refs/remotes/<remote>/HEAD` of `repo` points at; no
/// network ([`acp_core::git::remote_head_branch`]).
pub use acp_core::git::remote_head_branch as recorded_remote_head;

/// [`profile_default_branch`], else [`remote_default_branch`] of `repo`'s
/// `remote`; `None` when neither names one (callers report it; nothing
/// here falls back to `main`).
pub fn default_branch(env: &Env, cfg: &FlowConfig, repo: &Path, remote: &str) -> Option<String> {
    profile_default_branch(env, cfg).or_else(|| remote_default_branch(env, repo, remote))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn git(env: &Env, dir: &Path, args: &[&str]) {
        let out = acp_core::git::output(env, dir, args).unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn profile_then_remote_head_then_nothing() {
        let t = tempfile::tempdir().unwrap();
        let mut env = Env::new();
        env.set("PATH", "/usr/local/bin:/usr/bin:/bin");
        env.set("HOME", t.path());
        env.set("GIT_CONFIG_NOSYSTEM", "1");
        let origin = t.path().join("o.git");
        let work = t.path().join("w");
        std::fs::create_dir_all(&origin).unwrap();
        std::fs::create_dir_all(&work).unwrap();
        git(&env, &origin, &["init", "-q", "--bare", "-b", "develop"]);
        git(&env, &work, &["init", "-q", "-b", "develop"]);
        let cfg = FlowConfig::empty(&t.path().join("none.yaml"));
        // An empty remote names nothing.
        git(
            &env,
            &work,
            &["remote", "add", "origin", origin.to_str().unwrap()],
        );
        assert_eq!(default_branch(&env, &cfg, &work, "origin"), None);
        git(
            &env,
            &work,
            &[
                "-c",
                "user.email=a@b",
                "-c",
                "user.name=n",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                "i",
            ],
        );
        git(&env, &work, &["push", "-q", "origin", "HEAD:develop"]);
        assert_eq!(
            default_branch(&env, &cfg, &work, "origin").as_deref(),
            Some("develop")
        );
        assert_eq!(remote_default_branch(&env, &work, "--upload-pack=x"), None);
        env.set("ACP_DEFAULT_BRANCH", "release");
        assert_eq!(
            default_branch(&env, &cfg, &work, "origin").as_deref(),
            Some("release")
        );
    }
}
