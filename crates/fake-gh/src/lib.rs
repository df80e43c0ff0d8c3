//! `acp-fake-gh ARGS...`: a file-backed fake `gh` for the tests, the
//! benches and the demo. Installed as a `gh` wrapper first on `PATH`, it
//! answers the call shapes `acp-github` (and the original 0.2.0 scripts the
//! benches run) make, from the JSON world in `$FAKE_GH_WORLD`, appends every
//! argv as one JSON line to `$FAKE_GH_LOG`, and obeys the world's "faults".
//!
//! The world: `issues` and `prs` (items with `number`, `title`, `body`,
//! `state`, `labels` as names, `author` as a login, any other field a
//! `--json` list asks for), `labels` (the defined names), `comments`
//! (`{"N": [{"id", "body", "user": {"login"}}]}`), `reviews`,
//! `review_comments`, `check_runs` (`{"SHA": [...]}`), `annotations`,
//! `viewer` (the login gh acts as), `next_number` (900), `repo_id`,
//! `page_size` (100), `logged_in` (true), `fail_close`, `fail_patch`,
//! `rerun_refused`, `new_pr_merge_state`, `graphql_remaining`.
//!
//! Faults: each `{"on": "read"|"write"|"any", "skip": N, "count": K,
//! "answer": A}` lets N matching calls through, then answers the next K
//! with A: `502`, `rate` (a 403 saying rate limit), `403` (a bare 403),
//! `502-after` (the write is done, then a 502 is answered) or `hang`
//! (sleeps a minute). Calls are serialized by a lock beside the world
//! (`<world>.lock`), so concurrent callers never lose an update.
//!
//! `tests/fake-gh/fake_gh.py` is the same fake in Python (acp-github's own
//! unit tests use it, as they run without this binary); the two answer the
//! same worlds the same way.

mod answer;
mod world;

use std::ffi::OsString;

use acp_core::{Invocation, ToolSpec};

const NAME: &str = "acp-fake-gh";

/// The tools this crate provides (no shim: it is not an ACP 0.2.0 file).
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: NAME,
    aliases: &["fake-gh"],
    paths: &[],
    about: "A file-backed fake gh answering from a JSON world (tests, benches, demo)",
    command,
    run,
}];

/// The argument parser (everything is `gh`'s own arguments; for `--help`).
pub fn command() -> clap::Command {
    acp_core::cli::tool_command(
        NAME,
        "Answers a gh command line from the JSON world in $FAKE_GH_WORLD and logs it to \
         $FAKE_GH_LOG (see the crate documentation for the world's keys and faults).",
    )
    .arg(
        clap::Arg::new("args")
            .help("gh's own arguments (issue list ..., api ROUTE ..., pr create ...)")
            .num_args(0..)
            .allow_hyphen_values(true)
            .trailing_var_arg(true),
    )
}

/// Runs one fake `gh` call; returns gh's exit status (0 or 1).
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let argv: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let Some(world_path) = ctx.env.path("FAKE_GH_WORLD") else {
        anyhow::bail!("{NAME}: FAKE_GH_WORLD is not set");
    };
    let log = ctx.env.path("FAKE_GH_LOG");
    let unknown_log = ctx.env.path("FAKE_GH_UNKNOWN");
    let has_token = ctx.env.get("GH_TOKEN").is_some();
    let reply = world::call(&world::Call {
        argv: &argv,
        world_path: &world_path,
        log: log.as_deref(),
        unknown_log: unknown_log.as_deref(),
        has_token,
    })?;
    ctx.stdout.write_all(reply.stdout.as_bytes())?;
    ctx.stderr.write_all(reply.stderr.as_bytes())?;
    Ok(reply.code)
}
