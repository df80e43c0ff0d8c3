//! Local adapter (isolated here until `acp_core::launcher` offers it): the
//! blocking start that the ollama and pi launchers need. The shared
//! [`launcher::launch`] starts the tmux session and prints the launcher's
//! stdout lines; these two launchers print nothing and wait until the inner
//! supervisor signals `tmux wait-for -S <session>-done`, as the originals'
//! chained `\; wait-for <session>-done` did. Unlike the original, the wait
//! also ends when the session is gone without signalling (a crashed inner
//! supervisor can no longer block the caller forever).

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use acp_core::launcher::{self, Plan};
use acp_core::{Invocation, tmux::Tmux};

/// The wait-for channel of `session`.
pub fn done_channel(session: &str) -> String {
    format!("{session}-done")
}

/// Signals the done channel (called by the inner supervisor at its end).
pub fn signal_done(env: &acp_core::Env, session: &str) -> bool {
    Tmux::new(env, None).signal(&done_channel(session))
}

/// Runs [`launcher::launch`] with its stdout lines discarded, then blocks
/// until the session signals done (or has ended). Returns the launch's code.
pub fn launch_and_wait(ctx: &mut Invocation<'_>, plan: &Plan<'_>) -> anyhow::Result<i32> {
    let mut discard: Vec<u8> = Vec::new();
    let code = {
        let mut quiet = Invocation {
            stdout: &mut discard,
            stderr: &mut *ctx.stderr,
            env: ctx.env.clone(),
            cwd: ctx.cwd.clone(),
            shim_path: ctx.shim_path.clone(),
            exe: ctx.exe.clone(),
            tool_name: ctx.tool_name.clone(),
        };
        launcher::launch(&mut quiet, plan)?
    };
    if code != 0 {
        return Ok(code);
    }
    wait_done(ctx, &plan.common.session)?;
    Ok(0)
}

/// Blocks on `tmux wait-for <session>-done`; gives up 2 s after the session
/// is gone if the signal never came.
pub fn wait_done(ctx: &Invocation<'_>, session: &str) -> anyhow::Result<()> {
    let tmux = Tmux::new(&ctx.env, None);
    let mut waiter: Child = ctx
        .command("tmux")
        .args(["wait-for", &done_channel(session)])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| anyhow::anyhow!("failed to run tmux wait-for: {e}"))?;
    let mut gone_since: Option<Instant> = None;
    let mut last_check = Instant::now() - Duration::from_secs(1);
    loop {
        if waiter
            .try_wait()
            .map_err(|e| anyhow::anyhow!("tmux wait-for: {e}"))?
            .is_some()
        {
            return Ok(());
        }
        if last_check.elapsed() >= Duration::from_millis(500) {
            last_check = Instant::now();
            if tmux.has_session(session) {
                gone_since = None;
            } else {
                let since = *gone_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= Duration::from_secs(2) {
                    let _ = waiter.kill();
                    let _ = waiter.wait();
                    return Ok(());
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The common tail of the ollama and pi inner supervisors: final git state,
/// artifact collection, host result copy, delayed reconcile (not after the
/// session was told to stop, as in the shared one-shot runner; it gets the
/// worker environment `env`, credentials included), exit marker.
/// Each step is attempted even when an earlier one failed (failures are
/// noted in the log), so the marker is always written; the first error is
/// returned after the marker.
pub fn finish(
    ctx: &mut Invocation<'_>,
    s: &acp_core::launcher::inner::Session,
    status: i32,
    reconcile: bool,
    env: &acp_core::Env,
) -> anyhow::Result<i32> {
    let steps: [(&str, anyhow::Result<()>); 4] = [
        (
            "record the final git state",
            s.record_final_git_state(&ctx.env),
        ),
        ("collect artifacts", s.collect_artifacts()),
        (
            "copy result.env to the run dir",
            s.copy_result_to_host().map(|_| ()),
        ),
        (
            "schedule the reconcile command",
            if reconcile {
                s.schedule_reconcile_with(ctx, env)
            } else {
                Ok(())
            },
        ),
    ];
    let mut first: Option<anyhow::Error> = None;
    for (what, r) in steps {
        if let Err(e) = r {
            let _ = s.append_log(format!("[session] failed to {what}: {e:#}\n").as_bytes());
            first.get_or_insert(e);
        }
    }
    s.exit_marker(ctx.stdout, status)?;
    match first {
        Some(e) => Err(e),
        None => Ok(status),
    }
}
