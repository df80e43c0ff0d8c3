//! Sibling tools run in process (`acp_core::dispatch`): the same output and
//! exit code as a process run; a stub or an edited shim still runs as one.

use crate::harness::{World, run};

const WRAPPER: &str = "tools/bin/retry-state.sh";
const SIBLING: &str = "tools/bin/agent-project-retry-state";

/// Runs the wrapper (which runs its sibling) and returns (code, stdout,
/// stderr, the dispatch log).
fn wrapper(w: &World, args: &[&str], in_process: bool) -> (i32, String, String, String) {
    let log = w.path("dispatch.log");
    let _ = std::fs::remove_file(&log);
    let mut cmd = w.shim(WRAPPER);
    cmd.args(args).env("ACP_DISPATCH_LOG", &log);
    // Each mode keeps its own retry state.
    let state = if in_process { "state-in" } else { "state-proc" };
    cmd.env("ACP_STATE_ROOT", w.path(state));
    if !in_process {
        cmd.env("ACP_IN_PROCESS", "0");
    }
    let (code, out, err) = run(&mut cmd);
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    (code, out, err, log)
}

#[test]
fn an_in_process_sibling_gives_what_the_process_gives() {
    let w = World::new();
    for args in [
        &["issue", "7", "get"][..],
        &["issue", "8", "schedule", "worker-exit-failed"],
        &["issue", "9", "no-such-action"],
    ] {
        let (code, out, err, log) = wrapper(&w, args, true);
        assert_eq!(log, "in-process agent-project-retry-state\n", "{args:?}");
        let (pcode, pout, perr, plog) = wrapper(&w, args, false);
        assert_eq!(plog, "", "{args:?}");
        assert_eq!((code, err), (pcode, perr), "{args:?}");
        // Times differ between the two runs; the keys and the rest must not.
        let strip = |t: &str| {
            t.lines()
                .filter(|l| !l.contains("_AT=") && !l.contains("_EPOCH="))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(strip(&out), strip(&pout), "{args:?}");
    }
}

#[test]
fn a_stub_sibling_runs_as_a_process() {
    let w = World::new();
    crate::harness::write_script(
        &w.skill.join(SIBLING),
        "#!/usr/bin/env bash\necho \"STUB $*\"\nexit 3\n",
    );
    let (code, out, _, log) = wrapper(&w, &["issue", "7", "get"], true);
    assert_eq!(code, 3);
    assert!(out.starts_with("STUB "), "{out}");
    assert_eq!(log, "");
}

#[test]
fn an_edited_shim_runs_as_a_process() {
    let w = World::new();
    let path = w.skill.join(SIBLING);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("# edited\n");
    std::fs::write(&path, text).unwrap();
    let (code, out, err, log) = wrapper(&w, &["issue", "7", "get"], true);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ITEM_ID=7"), "{out}");
    assert_eq!(log, "");
}
