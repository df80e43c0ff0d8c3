//! `reuse-issue-worktree.sh WORKTREE ISSUE_ID [SLUG]`: re-branch a resident
//! issue worktree for its next cycle: fetch the default branch in the
//! anchor, reset and clean the worktree, check out a new issue branch from
//! `origin/<default>`, delete the previous branch, run the sibling
//! `prepare-worktree.sh`, move the worktree to `<worktree root>/issue-<id>-<stamp>`
//! and check it is registered and on the new branch. Prints `WORKTREE=`,
//! `BRANCH=`, `BASE_REF=`, `REUSED=yes`.
//!
//! The default branch is the profile's, else the one `origin/HEAD` names in
//! the anchor, else `main`.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use acp_core::config::{self, FlowConfig};
use acp_core::{Invocation, ToolSpec, fail};
use acp_session::worktree::{naming, open, reuse::Reuse, settings::Profile};

const NAME: &str = "reuse-issue-worktree.sh";
const USAGE: &str = "reuse-issue-worktree.sh WORKTREE ISSUE_ID [SLUG]";

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: NAME,
    aliases: &["reuse-issue-worktree"],
    paths: &["tools/bin/reuse-issue-worktree.sh"],
    about: "Reset and re-branch a resident issue worktree for the next cycle",
    command,
    run,
}];

/// The argument parser (positional, for `--help`).
pub fn command() -> clap::Command {
    acp_core::cli::tool_command(
        NAME,
        "Resets and re-branches an existing managed issue worktree so a recurring issue can \
         reuse its workspace: new branch from origin/<default branch>, prepared, moved to \
         <worktree root>/issue-<id>-<stamp>.",
    )
    .override_usage(USAGE)
    .arg(
        clap::Arg::new("args")
            .num_args(0..)
            .value_names(["WORKTREE", "ISSUE_ID", "SLUG"])
            .help("The worktree, the issue number and the slug text [default: task]"),
    )
}

/// Runs `reuse-issue-worktree.sh`.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if acp_core::cli::first_is_help(args) {
        write!(ctx.stdout, "{}", acp_core::cli::usage(&command()))?;
        return Ok(0);
    }
    let given = |i: usize| args.get(i).filter(|a| !a.is_empty()).cloned();
    let (Some(worktree), Some(issue)) = (given(0), given(1)) else {
        writeln!(ctx.stderr, "Usage:\n  {USAGE}")?;
        return Ok(1);
    };
    let env = config::wrapper_env(&ctx.env, NAME)?;
    let issue = issue.to_string_lossy().into_owned();
    naming::check_word("ISSUE_ID", &issue).map_err(|e| fail(1, e))?;
    let slug = args
        .get(2)
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "task".into());
    let cfg = FlowConfig::load(&env)?;
    let profile = Profile::resolve(&env, &cfg);
    let stamp = naming::stamp_now();
    let r = Reuse {
        worktree: open::absolute(&ctx.cwd, &PathBuf::from(worktree)),
        agent_repo_root: profile.agent_repo_root.clone(),
        worktree_root: Some(profile.worktree_root.clone()).filter(|p| !p.as_os_str().is_empty()),
        remote: "origin".to_string(),
        default_branch: profile.default_branch(&env, "origin"),
        new_branch: naming::issue_branch(&profile.issue_branch_prefix, &issue, &slug, &stamp),
        dir_name: naming::issue_dir_name(&issue, &stamp),
    };
    r.reset(&env)?;
    let mut prepare = ctx.sibling_command("prepare-worktree.sh");
    env.apply(&mut prepare);
    prepare.arg(&r.worktree);
    open::run_quiet(&mut prepare, ctx.stderr)?;
    let path = r.rotate(&env)?;
    let mut out = b"WORKTREE=".to_vec();
    out.extend_from_slice(path.as_os_str().as_bytes());
    out.extend_from_slice(
        format!(
            "\nBRANCH={}\nBASE_REF={}\nREUSED=yes\n",
            r.new_branch,
            r.base_ref()
        )
        .as_bytes(),
    );
    ctx.stdout.write_all(&out)?;
    Ok(0)
}
