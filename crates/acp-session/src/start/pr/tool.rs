//! The three starters' command lines, shared by their thin tool crates.

use std::ffi::OsString;

use acp_core::{Invocation, config, fail};

use super::super::common::{self, Run};
use super::{Kind, Request, layout, start};

/// `start-pr-review-worker.sh PR_NUMBER [safe|bypass]`.
pub const REVIEW_USAGE: &str = "start-pr-review-worker.sh PR_NUMBER [safe|bypass]";
/// `start-pr-fix-worker.sh PR_NUMBER [safe|bypass] [fix|merge-repair]`.
pub const FIX_USAGE: &str = "start-pr-fix-worker.sh PR_NUMBER [safe|bypass] [fix|merge-repair]";
/// `start-pr-merge-repair-worker.sh PR_NUMBER [safe|bypass]`.
pub const MERGE_REPAIR_USAGE: &str = "start-pr-merge-repair-worker.sh PR_NUMBER [safe|bypass]";

fn word(args: &[OsString], i: usize) -> Option<String> {
    args.get(i)
        .map(|a| a.to_string_lossy().into_owned())
        .filter(|a| !a.is_empty())
}

/// `^[1-9][0-9]*$` as a number.
pub fn parse_number(word: &str) -> Option<u64> {
    let digits = !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit());
    (digits && !word.starts_with('0'))
        .then(|| word.parse().ok())
        .flatten()
}

/// Runs the review starter (`fix` false) or the fix starter (`fix` true).
pub fn run(
    ctx: &mut Invocation<'_>,
    name: &str,
    fix: bool,
    args: &[OsString],
) -> anyhow::Result<i32> {
    let usage = if fix { FIX_USAGE } else { REVIEW_USAGE };
    let Some(number) = word(args, 0) else {
        return Err(fail(1, format!("{name}: usage: {usage}")));
    };
    let mode = word(args, 1).unwrap_or_else(|| "safe".into());
    let env = config::wrapper_env(&ctx.env, name)?;
    let kind = if fix {
        let w = word(args, 2).unwrap_or_else(|| "fix".into());
        Kind::from_word(&w)
            .ok_or_else(|| fail(1, format!("unknown worker kind: {}", common::one_line(&w))))?
    } else {
        Kind::Review
    };
    let pr_number = parse_number(&number).ok_or_else(|| {
        fail(
            1,
            format!(
                "{name}: PR_NUMBER must be a positive integer, got: {}",
                common::one_line(&number)
            ),
        )
    })?;
    let req = Request {
        kind,
        pr_number,
        mode,
        env,
        cwd: ctx.cwd.clone(),
        script_path: ctx.script_path(),
        exe: ctx.exe.clone(),
    };
    let lines = start(&req, &mut *ctx.stdout, &mut *ctx.stderr)?;
    for (k, v) in lines {
        ctx.out_kv(k, v)?;
    }
    Ok(0)
}

/// `start-pr-merge-repair-worker.sh N [MODE]`: the sibling
/// `start-pr-fix-worker.sh N MODE merge-repair` in `<workspace>/bin`, its
/// output and status passed on.
pub fn run_merge_repair(
    ctx: &mut Invocation<'_>,
    name: &str,
    args: &[OsString],
) -> anyhow::Result<i32> {
    let Some(number) = word(args, 0) else {
        return Err(fail(1, format!("{name}: usage: {MERGE_REPAIR_USAGE}")));
    };
    let mode = word(args, 1).unwrap_or_else(|| "safe".into());
    let script = ctx.script_path();
    let layout = layout(&ctx.env, script.as_deref(), &ctx.exe, &ctx.cwd)?;
    let args = [number.as_ref(), mode.as_ref(), "merge-repair".as_ref()];
    let o = layout.sibling_output("start-pr-fix-worker.sh", Run::Direct, &ctx.env, &args)?;
    common::relay(&o, Some(&mut *ctx.stdout), &mut *ctx.stderr)?;
    Ok(acp_core::process::exit_code(o.status))
}
