//! `issue-requires-local-workspace-install.sh` through its shim.

use crate::harness::{World, run};

const TOOL: &str = "tools/bin/issue-requires-local-workspace-install.sh";

fn answer(w: &World, env_body: Option<&str>, arg: Option<&str>) -> String {
    let mut cmd = w.shim(TOOL);
    if let Some(b) = env_body {
        cmd.env("ISSUE_BODY", b);
    }
    if let Some(a) = arg {
        cmd.arg(a);
    }
    let (code, out, err) = run(&mut cmd);
    assert_eq!(code, 0, "{err}");
    out
}

#[test]
fn scheduled_issues_with_an_install_say_yes() {
    let w = World::new();
    let sched = "## Summary\nSchedule: every 1h\n\n## Commands\n";
    let install = format!("{sched}1. `pnpm install --frozen-lockfile`\n");
    assert_eq!(answer(&w, Some(&install), None), "yes\n");
    assert_eq!(answer(&w, None, Some(&install)), "yes\n", "the body as $1");
    let verify = format!("{sched}1. `pnpm run verify:web:main`\n");
    assert_eq!(
        answer(&w, Some(&verify), Some(&install)),
        "no\n",
        "ISSUE_BODY wins"
    );
    let opt_in = format!("{sched}Local workspace install: yes\n");
    assert_eq!(answer(&w, Some(&opt_in), None), "yes\n");
    assert_eq!(answer(&w, Some("1. `pnpm install`\n"), None), "no\n");
    assert_eq!(answer(&w, None, None), "no\n");
    let hostile = format!("{sched}`npm ci` $(touch pwned)\n");
    assert_eq!(answer(&w, Some(&hostile), None), "yes\n");
    assert!(!w.root().join("pwned").exists());
}
