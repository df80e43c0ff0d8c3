//! Integration tests for `agent-project-retry-state` and `retry-state.sh`
//! (run through their shims).

use crate::harness::{World, kv, run};

const TOOL: &str = "tools/bin/agent-project-retry-state";

const OUTPUT_KEYS: [&str; 8] = [
    "KIND",
    "ITEM_ID",
    "ATTEMPTS",
    "NEXT_ATTEMPT_EPOCH",
    "NEXT_ATTEMPT_AT",
    "READY",
    "LAST_REASON",
    "UPDATED_AT",
];

fn keys(out: &str) -> Vec<&str> {
    out.lines().map(|l| l.split('=').next().unwrap()).collect()
}

fn iso_epoch(s: &str) -> i64 {
    acp_core::time::parse_iso_epoch(s).unwrap()
}

fn retry(w: &World, args: &[&str]) -> (i32, String, String) {
    run(w.shim(TOOL).args(args))
}

fn item(kind: &str, id: &str, action: &str) -> Vec<String> {
    [
        "--state-root",
        "state",
        "--kind",
        kind,
        "--item-id",
        id,
        "--action",
        action,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Sources `file` in bash and prints `$key` (to check remaining bash readers).
fn bash_source_value(w: &World, file: &std::path::Path, key: &str) -> String {
    let (code, out, err) = run(w.cmd("bash").args([
        "-c",
        &format!("set -a; source \"$1\"; printf '%s' \"${{{key}}}\""),
        "x",
        file.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{err}");
    out
}

#[test]
fn retry_state_get_on_a_new_item_reports_ready_and_creates_the_directory() {
    let w = World::new();
    let (code, out, err) = run(w.shim(TOOL).args(item("issue", "123", "get")));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "KIND=issue\nITEM_ID=123\nATTEMPTS=0\nNEXT_ATTEMPT_EPOCH=0\nNEXT_ATTEMPT_AT=\n\
         READY=yes\nLAST_REASON=\nUPDATED_AT=\n"
    );
    assert!(w.path("state/retries/issues").is_dir());
    assert!(!w.path("state/retries/issues/123.env").exists());
}

#[test]
fn retry_state_schedule_writes_the_record_and_holds_the_item_back() {
    let w = World::new();
    let mut args = item("pr", "77", "schedule");
    args.extend(["--reason".into(), "worker-exit-failed".into()]);
    let (code, out, err) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0, "{err}");
    assert_eq!(keys(&out), OUTPUT_KEYS);
    assert_eq!(kv(&out, "KIND"), Some("pr"));
    assert_eq!(kv(&out, "ATTEMPTS"), Some("1"));
    assert_eq!(kv(&out, "READY"), Some("no"));
    assert_eq!(kv(&out, "LAST_REASON"), Some("worker-exit-failed"));
    let next: i64 = kv(&out, "NEXT_ATTEMPT_EPOCH").unwrap().parse().unwrap();
    let updated = kv(&out, "UPDATED_AT").unwrap();
    assert_eq!(next - iso_epoch(updated), 300, "first default cooldown");
    assert_eq!(iso_epoch(kv(&out, "NEXT_ATTEMPT_AT").unwrap()), next);

    let file = w.path("state/retries/prs/77.env");
    let content = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        content,
        format!(
            "ATTEMPTS=1\nNEXT_ATTEMPT_EPOCH={next}\nNEXT_ATTEMPT_AT={}\n\
             LAST_REASON=worker-exit-failed\nUPDATED_AT={updated}\n",
            kv(&out, "NEXT_ATTEMPT_AT").unwrap()
        )
    );
    let dir_entries: Vec<_> = std::fs::read_dir(w.path("state/retries/prs"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(dir_entries, ["77.env"], "no temp files left behind");

    // `get` reads the same record back.
    let (code, got, _) = run(w.shim(TOOL).args(item("pr", "77", "get")));
    assert_eq!(code, 0);
    assert_eq!(got, out);
}

#[test]
fn retry_state_cooldowns_advance_per_attempt_and_repeat_the_last() {
    let w = World::new();
    let mut expected = vec![5, 10, 10];
    expected.reverse();
    for attempt in 1..=3 {
        let mut args = item("issue", "9", "schedule");
        args.extend([
            "--cooldowns".into(),
            "5,10".into(),
            "--reason".into(),
            "r".into(),
        ]);
        let (code, out, err) = run(w.shim(TOOL).args(&args));
        assert_eq!(code, 0, "{err}");
        assert_eq!(kv(&out, "ATTEMPTS"), Some(attempt.to_string().as_str()));
        let next: i64 = kv(&out, "NEXT_ATTEMPT_EPOCH").unwrap().parse().unwrap();
        let updated = iso_epoch(kv(&out, "UPDATED_AT").unwrap());
        assert_eq!(next - updated, expected.pop().unwrap(), "attempt {attempt}");
    }
}

#[test]
fn retry_state_env_defaults_for_state_root_and_cooldowns() {
    let mut w = World::new();
    w.env("AGENT_PROJECT_STATE_ROOT", w.path("env state"))
        .env("AGENT_PROJECT_RETRY_COOLDOWNS", "42");
    let (code, out, err) = retry(
        &w,
        &[
            "--kind",
            "provider",
            "--item-id",
            "openclaw-x",
            "--action",
            "schedule",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let next: i64 = kv(&out, "NEXT_ATTEMPT_EPOCH").unwrap().parse().unwrap();
    assert_eq!(next - iso_epoch(kv(&out, "UPDATED_AT").unwrap()), 42);
    assert!(
        w.path("env state/retries/providers/openclaw-x.env")
            .is_file()
    );
    // An explicit flag wins over the environment.
    let (code, out, _) = retry(
        &w,
        &[
            "--state-root",
            "flag-state",
            "--kind",
            "provider",
            "--item-id",
            "openclaw-x",
            "--action",
            "schedule",
            "--cooldowns",
            "7",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(kv(&out, "ATTEMPTS"), Some("1"));
    assert!(
        w.path("flag-state/retries/providers/openclaw-x.env")
            .is_file()
    );
}

#[test]
fn retry_state_clear_removes_the_record() {
    let w = World::new();
    let mut args = item("issue", "5", "schedule");
    args.extend(["--reason".into(), "x".into()]);
    assert_eq!(run(w.shim(TOOL).args(&args)).0, 0);
    assert!(w.path("state/retries/issues/5.env").is_file());
    let (code, out, err) = run(w.shim(TOOL).args(item("issue", "5", "clear")));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "ATTEMPTS"), Some("0"));
    assert_eq!(kv(&out, "READY"), Some("yes"));
    assert_eq!(kv(&out, "LAST_REASON"), Some(""));
    assert!(!w.path("state/retries/issues/5.env").exists());
    // Clearing again is fine.
    assert_eq!(run(w.shim(TOOL).args(item("issue", "5", "clear"))).0, 0);
}

#[test]
fn retry_state_reads_files_the_bash_original_wrote_without_running_them() {
    let w = World::new();
    let file = w.write(
        "state/retries/issues/255.env",
        "ATTEMPTS=2\nNEXT_ATTEMPT_EPOCH=1000\nNEXT_ATTEMPT_AT=1970-01-01T00:16:40Z\n\
         LAST_REASON=host-publish-failed\\ \\(retry\\)\nUPDATED_AT=1970-01-01T00:00:00Z\n\
         BASELINE_HEAD_SHA=abc123\nEVIL=$(touch pwned)\n`touch pwned2`\n",
    );
    let (code, out, err) = run(w.shim(TOOL).args(item("issue", "255", "get")));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "ATTEMPTS"), Some("2"));
    assert_eq!(kv(&out, "NEXT_ATTEMPT_EPOCH"), Some("1000"));
    assert_eq!(kv(&out, "NEXT_ATTEMPT_AT"), Some("1970-01-01T00:16:40Z"));
    assert_eq!(kv(&out, "READY"), Some("yes"), "epoch in the past");
    assert_eq!(kv(&out, "LAST_REASON"), Some("host-publish-failed (retry)"));
    assert!(!w.path("pwned").exists() && !w.path("pwned2").exists());

    // Scheduling continues the count and rewrites only the five keys.
    let mut args = item("issue", "255", "schedule");
    args.extend(["--reason".into(), "again".into()]);
    let (code, out, _) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0);
    assert_eq!(kv(&out, "ATTEMPTS"), Some("3"));
    let next: i64 = kv(&out, "NEXT_ATTEMPT_EPOCH").unwrap().parse().unwrap();
    assert_eq!(next - iso_epoch(kv(&out, "UPDATED_AT").unwrap()), 1800);
    let content = std::fs::read_to_string(&file).unwrap();
    assert!(!content.contains("BASELINE_HEAD_SHA"), "{content}");
    assert!(!content.contains("pwned"), "{content}");
    assert!(!w.path("pwned").exists());
}

#[test]
fn retry_state_future_epoch_is_not_ready_and_garbage_epoch_is_ready() {
    let w = World::new();
    w.write(
        "state/retries/prs/1.env",
        "ATTEMPTS=1\nNEXT_ATTEMPT_EPOCH=99999999999\nNEXT_ATTEMPT_AT=5138-11-16T09:46:39Z\n",
    );
    let (_, out, _) = run(w.shim(TOOL).args(item("pr", "1", "get")));
    assert_eq!(kv(&out, "READY"), Some("no"));
    w.write("state/retries/prs/2.env", "NEXT_ATTEMPT_EPOCH=soon\n");
    let (code, out, _) = run(w.shim(TOOL).args(item("pr", "2", "get")));
    assert_eq!(code, 0);
    assert_eq!(kv(&out, "READY"), Some("yes"));
    assert_eq!(kv(&out, "NEXT_ATTEMPT_EPOCH"), Some("soon"));
    assert_eq!(kv(&out, "ATTEMPTS"), Some("0"), "missing ATTEMPTS is 0");
}

#[test]
fn retry_state_malformed_attempts_restart_the_count_with_a_warning() {
    let w = World::new();
    w.write(
        "state/retries/issues/4.env",
        "ATTEMPTS=3; touch pwned\nnot an assignment at all\nLAST_REASON='unterminated\n",
    );
    let mut args = item("issue", "4", "schedule");
    args.extend(["--reason".into(), "next".into()]);
    let (code, out, err) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0, "{err}");
    assert_eq!(kv(&out, "ATTEMPTS"), Some("1"));
    assert!(err.contains("ATTEMPTS"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!w.path("pwned").exists());
    let content = std::fs::read_to_string(w.path("state/retries/issues/4.env")).unwrap();
    assert!(content.starts_with("ATTEMPTS=1\n"), "{content}");
}

#[test]
fn retry_state_reasons_with_spaces_quotes_and_newlines_round_trip() {
    let w = World::new();
    let reason = "it's \"bad\" $(touch pwned)\nREADY=yes";
    let mut args = item("issue", "8", "schedule");
    args.extend(["--reason".into(), reason.into()]);
    let (code, out, err) = run(w.shim(TOOL).args(&args));
    assert_eq!(code, 0, "{err}");
    // One line per key on stdout: the newline cannot forge a READY= line.
    assert_eq!(keys(&out), OUTPUT_KEYS);
    assert_eq!(out.lines().filter(|l| l.starts_with("READY=")).count(), 1);
    assert_eq!(kv(&out, "READY"), Some("no"));
    let file = w.path("state/retries/issues/8.env");
    assert_eq!(bash_source_value(&w, &file, "LAST_REASON"), reason);
    assert!(!w.path("pwned").exists());
    // And it is read back exactly (stdout flattens the newline only).
    let (_, got, _) = run(w.shim(TOOL).args(item("issue", "8", "get")));
    assert_eq!(
        kv(&got, "LAST_REASON"),
        Some("it's \"bad\" $(touch pwned) READY=yes")
    );
    // Plain reasons stay greppable.
    let mut args = item("issue", "8", "schedule");
    args.extend(["--reason".into(), "provider-quota-limit".into()]);
    run(w.shim(TOOL).args(&args));
    let (code, _, _) = run(w
        .cmd("grep")
        .args(["-q", "^LAST_REASON=provider-quota-limit$"])
        .arg(&file));
    assert_eq!(code, 0);
}

#[test]
fn retry_state_refuses_ids_that_would_leave_the_state_dir() {
    let w = World::new();
    for bad in ["../escape", "a/b", "..", ".", "/tmp/abs", "x\ny"] {
        let mut args = item("issue", bad, "schedule");
        args.extend(["--reason".into(), "r".into()]);
        let (code, out, err) = run(w.shim(TOOL).args(&args));
        assert_eq!(code, 1, "{bad:?}");
        assert_eq!(out, "", "{bad:?}");
        assert_eq!(err.lines().count(), 1, "{bad:?}: {err}");
        assert!(err.contains("item id"), "{err}");
    }
    assert!(!w.path("state/retries/escape.env").exists());
    assert!(!w.path("state/retries/issues/a").exists());
    assert!(!w.path("state/retries/issues.env").exists());
    // Spaces and leading dots stay inside the directory and are fine.
    for ok in ["a b", "..x"] {
        let mut args = item("issue", ok, "schedule");
        args.extend(["--reason".into(), "r".into()]);
        let (code, out, err) = run(w.shim(TOOL).args(&args));
        assert_eq!(code, 0, "{err}");
        assert_eq!(kv(&out, "ITEM_ID"), Some(ok));
        assert!(w.path(&format!("state/retries/issues/{ok}.env")).is_file());
    }
}

#[test]
fn retry_state_bad_cooldowns_fail_only_when_scheduling() {
    let w = World::new();
    for bad in ["", "300,,900", "5,ten"] {
        let mut args = item("issue", "1", "schedule");
        args.extend(["--cooldowns".into(), bad.into()]);
        let (code, out, err) = run(w.shim(TOOL).args(&args));
        assert_eq!((code, out.as_str()), (1, ""), "{bad:?}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!w.path("state/retries/issues/1.env").exists());
    }
    let mut args = item("issue", "1", "get");
    args.extend(["--cooldowns".into(), "5,ten".into()]);
    assert_eq!(run(w.shim(TOOL).args(&args)).0, 0);
}

#[test]
fn retry_state_usage_errors() {
    let w = World::new();
    // Missing required flags: one line naming the flag, exit 1.
    for (args, flag) in [
        (vec![], "--state-root"),
        (
            vec!["--kind", "issue", "--item-id", "1", "--action", "get"],
            "--state-root",
        ),
        (
            vec!["--state-root", "s", "--item-id", "1", "--action", "get"],
            "--kind",
        ),
        (
            vec!["--state-root", "s", "--kind", "issue", "--action", "get"],
            "--item-id",
        ),
        (
            vec!["--state-root", "s", "--kind", "issue", "--item-id", "1"],
            "--action",
        ),
        (
            vec![
                "--state-root",
                "s",
                "--kind",
                "issue",
                "--item-id",
                "1",
                "--action",
            ],
            "--action",
        ),
    ] {
        let (code, out, err) = retry(&w, &args);
        assert_eq!((code, out.as_str()), (1, ""), "{args:?}");
        assert!(err.starts_with(&format!("{flag} is required (")), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!err.contains("Usage"), "{err}");
    }
    let (code, _, err) = retry(&w, &["--bogus", "x"]);
    assert_eq!(code, 1);
    assert!(err.starts_with("Unknown argument: --bogus\n"), "{err}");
    let (code, _, err) = retry(&w, &["stray"]);
    assert_eq!(code, 1);
    assert!(err.starts_with("Unknown argument: stray\n"), "{err}");
    let (code, _, err) = run(w.shim(TOOL).args(item("epic", "1", "get")));
    assert_eq!(
        (code, err.as_str()),
        (1, "--kind must be issue, pr, or provider\n")
    );
    let (code, _, err) = run(w.shim(TOOL).args(item("issue", "1", "bump")));
    assert_eq!(
        (code, err.as_str()),
        (1, "--action must be get, schedule, or clear\n")
    );
    assert!(!w.path("state").exists(), "nothing created on usage errors");
    let (code, out, _) = retry(&w, &["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("Usage"), "{out}");
}

const WRAPPER: &str = "tools/bin/retry-state.sh";

/// A world with a package root marker and a profile config.
fn profile_world(retry_yaml: &str) -> World {
    let mut w = World::new();
    w.write("skill/SKILL.md", "# test package\n");
    let config = w.write(
        "profile/control-plane.yaml",
        format!(
            "id: \"retry-demo\"\nruntime:\n  orchestrator_agent_root: \"{}\"\n  state_root: \"{}\"\n\
             execution:\n{retry_yaml}",
            w.path("agent").display(),
            w.path("profile state").display()
        ),
    );
    w.env("AGENT_CONTROL_PLANE_CONFIG", &config);
    w
}

#[test]
fn retry_state_sh_uses_the_profile_state_root_and_cooldowns() {
    let w = profile_world("  retry:\n    cooldowns: \"7,8\"\n");
    let (code, out, err) =
        run(w
            .shim(WRAPPER)
            .args(["issue", "12", "schedule", "worker-exit-failed"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(keys(&out), OUTPUT_KEYS);
    assert_eq!(kv(&out, "KIND"), Some("issue"));
    assert_eq!(kv(&out, "ITEM_ID"), Some("12"));
    assert_eq!(kv(&out, "LAST_REASON"), Some("worker-exit-failed"));
    let next: i64 = kv(&out, "NEXT_ATTEMPT_EPOCH").unwrap().parse().unwrap();
    assert_eq!(next - iso_epoch(kv(&out, "UPDATED_AT").unwrap()), 7);
    assert!(w.path("profile state/retries/issues/12.env").is_file());

    let (code, out, _) = run(w.shim(WRAPPER).args(["issue", "12", "get"]));
    assert_eq!(code, 0);
    assert_eq!(kv(&out, "ATTEMPTS"), Some("1"));
    assert_eq!(kv(&out, "READY"), Some("no"));
    let (code, out, _) = run(w.shim(WRAPPER).args(["issue", "12", "clear"]));
    assert_eq!(code, 0);
    assert_eq!(kv(&out, "READY"), Some("yes"));
    assert!(!w.path("profile state/retries/issues/12.env").exists());
}

#[test]
fn retry_state_sh_env_overrides_and_defaults() {
    let mut w = profile_world("  coding_worker: codex\n");
    let st = w.path("env-state");
    w.env("ACP_RETRY_COOLDOWNS", "11").env("ACP_STATE_ROOT", st);
    let (code, out, err) = run(w.shim(WRAPPER).args(["pr", "3", "schedule"]));
    assert_eq!(code, 0, "{err}");
    let next: i64 = kv(&out, "NEXT_ATTEMPT_EPOCH").unwrap().parse().unwrap();
    assert_eq!(next - iso_epoch(kv(&out, "UPDATED_AT").unwrap()), 11);
    assert!(w.path("env-state/retries/prs/3.env").is_file());

    // No cooldowns anywhere: 300 s first.
    let w = profile_world("  coding_worker: codex\n");
    let (code, out, err) = run(w.shim(WRAPPER).args(["pr", "3", "schedule"]));
    assert_eq!(code, 0, "{err}");
    let next: i64 = kv(&out, "NEXT_ATTEMPT_EPOCH").unwrap().parse().unwrap();
    assert_eq!(next - iso_epoch(kv(&out, "UPDATED_AT").unwrap()), 300);
    assert_eq!(kv(&out, "LAST_REASON"), Some(""));
}

#[test]
fn retry_state_sh_runs_the_package_retry_state_through_its_path() {
    let mut w = profile_world("  retry:\n    cooldowns: \"1,2\"\n");
    let log = w.path("stub.log");
    std::fs::write(
        w.skill.join("tools/bin/agent-project-retry-state"),
        format!(
            "#!/usr/bin/env bash\nprintf '%s\\n' \"$@\" > {log:?}\n\
             printf 'AGENT=%s\\nSTATE=%s\\nCOOL=%s\\n' \"$ACP_AGENT_ROOT\" \"$ACP_STATE_ROOT\" \"$ACP_RETRY_COOLDOWNS\" >> {log:?}\n\
             echo STUB=1\nexit \"${{STUB_EXIT:-0}}\"\n"
        ),
    )
    .unwrap();
    let (code, out, err) =
        run(w
            .shim(WRAPPER)
            .args(["pr", "9", "schedule", "two words", "ignored"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "STUB=1\n");
    let state = w.path("profile state").display().to_string();
    let agent = w.path("agent").display().to_string();
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        format!(
            "--state-root\n{state}\n--kind\npr\n--item-id\n9\n--action\nschedule\n--reason\n\
             two words\n--cooldowns\n1,2\nAGENT={agent}\nSTATE={state}\nCOOL=1,2\n"
        )
    );
    w.env("STUB_EXIT", "5");
    let (code, _, _) = run(w.shim(WRAPPER).args(["pr", "9", "get"]));
    assert_eq!(code, 5);
}

#[test]
fn retry_state_sh_bad_input() {
    let w = profile_world("  retry:\n    cooldowns: \"7\"\n");
    for args in [
        vec![],
        vec!["issue"],
        vec!["issue", "1"],
        vec!["issue", "", "get"],
        vec!["issue", "1", ""],
    ] {
        let (code, out, err) = run(w.shim(WRAPPER).args(&args));
        assert_eq!((code, out.as_str()), (1, ""), "{args:?}");
        assert!(err.contains("usage: retry-state.sh issue|pr ID"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    let (code, _, err) = run(w.shim(WRAPPER).args(["epic", "1", "get"]));
    assert_eq!(
        (code, err.as_str()),
        (1, "--kind must be issue, pr, or provider\n")
    );
    let (code, _, err) = run(w.shim(WRAPPER).args(["issue", "1", "bump"]));
    assert_eq!(
        (code, err.as_str()),
        (1, "--action must be get, schedule, or clear\n")
    );
    let (code, out, err) = run(w.shim(WRAPPER).args(["issue", "../../x", "schedule"]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!w.path("profile state/x.env").exists());
    assert!(!w.path("profile state/retries/x.env").exists());
    let (code, out, _) = run(w.shim(WRAPPER).arg("--help"));
    assert_eq!(code, 0);
    assert!(out.contains("retry-state.sh"), "{out}");
    assert!(
        !w.path("profile state").exists(),
        "nothing written on bad input"
    );
}

#[test]
fn retry_state_sh_needs_a_package_root() {
    let mut w = World::new();
    // No package marker next to the shim and none in the env or runtime home.
    w.strip_package_root();
    w.env("ACP_STATE_ROOT", w.path("st"));
    let (code, out, err) = run(w.shim(WRAPPER).args(["issue", "1", "get"]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(
        err.starts_with("unable to resolve agent control plane root (") && err.lines().count() == 1,
        "{err}"
    );
}

#[test]
fn retry_state_concurrent_schedules_of_one_item_count_every_attempt() {
    let w = World::new();
    let rounds = 50;
    let scheduler = || {
        w.cmd("sh")
            .arg("-c")
            .arg(
                r#"i=0; while [ "$i" -lt "$1" ]; do i=$((i+1)); "$0" agent-project-retry-state --state-root state --kind issue --item-id 9 --action schedule --reason "r$i" >/dev/null || exit 1; done"#,
            )
            .arg(crate::harness::bin())
            .arg(rounds.to_string())
            .spawn()
            .unwrap()
    };
    let (mut a, mut b) = (scheduler(), scheduler());
    assert!(a.wait().unwrap().success());
    assert!(b.wait().unwrap().success());
    let (code, out, err) = run(w.shim(TOOL).args(item("issue", "9", "get")));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        kv(&out, "ATTEMPTS"),
        Some((2 * rounds).to_string().as_str())
    );
    let left: Vec<_> = std::fs::read_dir(w.path("state/retries/issues"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["9.env"], "no lock or temp file left behind");
}

#[test]
fn retry_state_refuses_a_record_that_is_not_a_regular_file() {
    let w = World::new();
    std::fs::create_dir_all(w.path("state/retries/issues")).unwrap();
    let (code, _, err) = run(w.cmd("mkfifo").arg(w.path("state/retries/issues/5.env")));
    assert_eq!(code, 0, "{err}");
    // `get` never opens it (no record there, as the original's `-f` test).
    let (code, out, _) = run(w.cmd("timeout").arg("60").arg(crate::harness::bin()).args([
        "agent-project-retry-state",
        "--state-root",
        "state",
        "--kind",
        "issue",
        "--item-id",
        "5",
        "--action",
        "get",
    ]));
    assert_eq!((code, kv(&out, "ATTEMPTS")), (0, Some("0")));
    for action in ["schedule", "clear"] {
        let (code, out, err) = run(w.cmd("timeout").arg("60").arg(crate::harness::bin()).args([
            "agent-project-retry-state",
            "--state-root",
            "state",
            "--kind",
            "issue",
            "--item-id",
            "5",
            "--action",
            action,
        ]));
        assert_eq!((code, out.as_str()), (1, ""), "{action}: {err}");
        assert!(err.contains("5.env") && err.contains("a FIFO"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    let ft = std::fs::symlink_metadata(w.path("state/retries/issues/5.env"))
        .unwrap()
        .file_type();
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(&ft));
}
