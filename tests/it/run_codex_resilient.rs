//! Integration tests for `agent-project-run-codex-resilient` (run through its
//! shim) with a fake `codex` that mimics `codex exec --json` event streams.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{World, pid_gone, run, wait_for, write_script};

const TOOL: &str = "tools/bin/agent-project-run-codex-resilient";

/// A fake codex driven by files in `$FAKE_CODEX_DIR`: the n-th exec plays
/// `scenario.<n>` (else `scenario`); every call is logged to `calls.log`,
/// its stdin to `stdin.<n>`, `CODEX_THREAD_ID` to `thread-env.<n>`.
pub const FAKE_CODEX: &str = r#"#!/usr/bin/env bash
dir="${FAKE_CODEX_DIR:?}"
printf '%s\n' "$*" >> "$dir/calls.log"
if [[ "${1:-}" == login && "${2:-}" == status ]]; then
  exit "$(cat "$dir/login-exit" 2>/dev/null || echo 0)"
fi
n=$(( $(cat "$dir/count" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$dir/count"
cat > "$dir/stdin.$n"
printf '%s' "${CODEX_THREAD_ID-unset}" > "$dir/thread-env.$n"
printf '%s' "${ACP_TEST_MARK-unset}" > "$dir/mark.$n"
printf '%s' "${MY_API_TOKEN-unset}" > "$dir/secret.$n"
scenario="$(cat "$dir/scenario.$n" 2>/dev/null || cat "$dir/scenario" 2>/dev/null || echo success)"
case "$scenario" in
  success)
    echo '{"type":"thread.started","thread_id":"thread-ok"}'
    echo '{"type":"turn.started"}'
    echo '{"type":"item.completed","item":{"type":"agent_message","text":"all done"}}'
    echo 'a line on stderr' >&2
    echo '{"type":"turn.completed"}'
    if [[ -n "${ACP_RESULT_FILE:-}" ]]; then
      mkdir -p "$(dirname "$ACP_RESULT_FILE")"
      printf 'OUTCOME=implemented\nACTION=host-publish\n' > "$ACP_RESULT_FILE"
      printf 'collected\n' > "$ACP_RUN_DIR/extra.txt"
      printf '../escape\n' > "$ACP_RUN_DIR/../escape.txt"
    fi
    exit 0 ;;
  resumed)
    echo '{"type":"turn.started"}'
    echo '{"type":"item.completed","item":{"type":"agent_message","text":"resumed-ok"}}'
    echo '{"type":"turn.completed"}'
    exit 0 ;;
  fail)
    echo '{"type":"thread.started","thread_id":"thread-fail"}'
    echo 'something broke' >&2
    exit 3 ;;
  quota)
    echo '{"type":"thread.started","thread_id":"thread-q"}'
    echo "ERROR: You've hit your usage limit. Try again later."
    exit 1 ;;
  auth)
    echo 'Authentication required. Please log in.' >&2
    exit 1 ;;
  silent)
    sleep 30 ;;
  noisy-exit)
    trap 'for i in $(seq 1 200); do echo "shutting down $i"; done; exit 0' TERM
    while :; do sleep 0.1; done ;;
  stall)
    echo '{"type":"thread.started","thread_id":"thread-stall"}'
    sleep 30 ;;
  startup-stall)
    echo '{"type":"thread.started","thread_id":"thread-startup"}'
    echo '{"type":"turn.started"}'
    sleep 30 ;;
  hang)
    echo $$ > "$dir/codex.pid"
    sleep 300 &
    echo $! > "$dir/grandchild.pid"
    echo '{"type":"thread.started","thread_id":"thread-hang"}'
    wait ;;
  stubborn)
    trap '' TERM HUP INT
    echo $$ > "$dir/codex.pid"
    echo '{"type":"thread.started","thread_id":"thread-stubborn"}'
    while :; do sleep 0.2; done ;;
  slow)
    echo '{"type":"thread.started","thread_id":"thread-slow"}'
    sleep 3
    echo '{"type":"turn.completed"}'
    exit 0 ;;
esac
"#;

pub struct Codex {
    pub dir: PathBuf,
    pub bin: PathBuf,
}

impl Codex {
    pub fn install(w: &mut World) -> Codex {
        let dir = w.path("codex-state");
        std::fs::create_dir_all(&dir).unwrap();
        let bin = w.fake("codex", FAKE_CODEX);
        w.env("FAKE_CODEX_DIR", &dir);
        // No quota tooling unless a test installs it (the shim tree may
        // hold a codex-quota port that would otherwise be found).
        w.env("ACP_CODEX_QUOTA_BIN", "/nonexistent/codex-quota");
        w.env(
            "ACP_CODEX_QUOTA_MANAGER_SCRIPT",
            "/nonexistent/auto-switch.sh",
        );
        Codex { dir, bin }
    }
    pub fn scenario(&self, s: &str) {
        std::fs::write(self.dir.join("scenario"), s).unwrap();
    }
    pub fn scenario_n(&self, n: u32, s: &str) {
        std::fs::write(self.dir.join(format!("scenario.{n}")), s).unwrap();
    }
    pub fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
    pub fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }
}

struct Run {
    host: PathBuf,
    log: PathBuf,
    prompt: PathBuf,
}

fn setup(w: &World) -> Run {
    let host = w.path("runs/s1");
    let prompt = w.write("prompt file.md", "Do the thing.\n");
    std::fs::create_dir_all(w.path("wt")).unwrap();
    Run {
        log: host.join("s1.log"),
        host,
        prompt,
    }
}

fn runner(w: &World, r: &Run, codex: &Codex, mode: &str) -> Command {
    runner_in(w, r, codex, mode, &w.path("wt/.openclaw-artifacts/s1"))
}

fn runner_in(w: &World, r: &Run, codex: &Codex, mode: &str, sandbox: &Path) -> Command {
    let mut c = w.shim(TOOL);
    c.arg("--mode")
        .arg(mode)
        .arg("--worktree")
        .arg(w.path("wt"))
        .arg("--prompt-file")
        .arg(&r.prompt)
        .arg("--output-file")
        .arg(&r.log)
        .arg("--host-run-dir")
        .arg(&r.host)
        .arg("--sandbox-run-dir")
        .arg(sandbox)
        .arg("--safe-profile")
        .arg("mock-safe")
        .arg("--bypass-profile")
        .arg("mock-bypass")
        .arg("--codex-bin")
        .arg(&codex.bin)
        .arg("--auth-refresh-timeout-seconds")
        .arg("5")
        .arg("--auth-refresh-poll-seconds")
        .arg("1");
    c
}

fn state(r: &Run) -> String {
    std::fs::read_to_string(r.host.join("runner.env")).unwrap_or_default()
}

fn has_line(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

fn log(r: &Run) -> String {
    std::fs::read_to_string(&r.log).unwrap_or_default()
}

fn quiet(w: &mut World) {
    w.env("ACP_CODEX_PROGRESS_HEARTBEAT_SECONDS", "1");
    w.env("ACP_CODEX_STALL_SECONDS", "2");
}

#[test]
fn resilient_success_persists_thread_and_streams_everything() {
    let mut w = World::new();
    let codex = Codex::install(&mut w);
    w.env("CODEX_THREAD_ID", "parent-thread");
    let r = setup(&w);
    let (code, out, err) = run(&mut runner(&w, &r, &codex, "safe"));
    assert_eq!(code, 0, "{err}");
    let st = state(&r);
    assert!(has_line(&st, "RUNNER_STATE=succeeded"), "{st}");
    assert!(has_line(&st, "THREAD_ID=thread-ok"), "{st}");
    assert!(has_line(&st, "ATTEMPT=1"));
    assert!(has_line(&st, "RESUME_COUNT=0"));
    assert!(has_line(&st, "LAST_EXIT_CODE=0"));
    let keys: Vec<&str> = st.lines().map(|l| l.split('=').next().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "RUNNER_STATE",
            "THREAD_ID",
            "ATTEMPT",
            "RESUME_COUNT",
            "LAST_EXIT_CODE",
            "LAST_FAILURE_REASON",
            "LAST_TRIGGER_REASON",
            "AUTH_WAIT_STARTED_AT",
            "LAST_AUTH_FINGERPRINT",
            "UPDATED_AT"
        ]
    );
    assert_eq!(
        codex.calls(),
        ["exec --json --profile mock-safe --full-auto"]
    );
    assert_eq!(codex.file("stdin.1"), "Do the thing.\n");
    assert_eq!(codex.file("thread-env.1"), "unset");
    let text = log(&r);
    let ts = regex::Regex::new(
        r"(?m)^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\] starting Codex exec attempt 1$",
    )
    .unwrap();
    assert!(ts.is_match(&text), "{text}");
    assert!(text.contains("{\"type\":\"thread.started\",\"thread_id\":\"thread-ok\"}\n"));
    assert!(text.contains("a line on stderr\n"));
    assert!(
        out.contains("\"thread_id\":\"thread-ok\""),
        "stdout echoes the stream"
    );
    assert!(!r.host.join(".codex-progress").exists());
}

#[test]
fn resilient_bypass_mode_uses_bypass_profile_and_flag() {
    let mut w = World::new();
    let codex = Codex::install(&mut w);
    let r = setup(&w);
    let (code, _, err) = run(&mut runner(&w, &r, &codex, "bypass"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        codex.calls(),
        ["exec --json --profile mock-bypass --dangerously-bypass-approvals-and-sandbox"]
    );
}

#[test]
fn resilient_failure_reports_exit_code_and_reason() {
    let mut w = World::new();
    let codex = Codex::install(&mut w);
    codex.scenario("fail");
    let r = setup(&w);
    let (code, _, _) = run(&mut runner(&w, &r, &codex, "safe"));
    assert_eq!(code, 3);
    let st = state(&r);
    assert!(has_line(&st, "RUNNER_STATE=failed"), "{st}");
    assert!(has_line(&st, "LAST_FAILURE_REASON=worker-exit-failed"));
    assert!(has_line(&st, "LAST_EXIT_CODE=3"));
    assert!(has_line(&st, "THREAD_ID=thread-fail"));
}

#[test]
fn resilient_timeout_exits_124_and_ends_the_whole_group() {
    let mut w = World::new();
    let codex = Codex::install(&mut w);
    codex.scenario("hang");
    w.env("ACP_CODEX_STALL_SECONDS", "0");
    let r = setup(&w);
    let (code, _, _) = run(runner(&w, &r, &codex, "safe").args(["--timeout-seconds", "2"]));
    assert_eq!(code, 124);
    let st = state(&r);
    assert!(has_line(&st, "RUNNER_STATE=failed"), "{st}");
    assert!(has_line(&st, "LAST_FAILURE_REASON=timeout"));
    assert!(has_line(&st, "LAST_EXIT_CODE=124"));
    for f in ["codex.pid", "grandchild.pid"] {
        let pid: u32 = codex.file(f).trim().parse().unwrap();
        wait_for(f, 10, || pid_gone(pid));
    }
}

/// Runs `scenario` in safe mode with short stall limits; expects a failed
/// run ended as a silent stall and returns (runner.env, log).
fn expect_silent_stall(scenario: &str) -> (String, String) {
    let mut w = World::new();
    let codex = Codex::install(&mut w);
    codex.scenario(scenario);
    quiet(&mut w);
    let r = setup(&w);
    let (code, _, _) = run(&mut runner(&w, &r, &codex, "safe"));
    assert_ne!(code, 0);
    let st = state(&r);
    assert!(has_line(&st, "RUNNER_STATE=failed"), "{st}");
    assert!(
        has_line(
            &st,
            "LAST_FAILURE_REASON=no-codex-output-before-stall-threshold"
        ),
        "{st}"
    );
    (st, log(&r))
}

#[test]
fn resilient_silent_stall_fails_with_no_output_reason() {
    let (_, log) = expect_silent_stall("silent");
    assert!(log.contains("] stale-run no-codex-output-before-stall-threshold elapsed="));
}

/// The runner knows when it ended codex for a stall: that is the reason
/// even when codex answers the TERM with 200 lines and exit 0, pushing the
/// stall line out of the 120 lines the log patterns look at.
#[test]
fn resilient_stall_reason_survives_a_chatty_exit_0() {
    let (st, log) = expect_silent_stall("noisy-exit");
    assert!(!has_line(&st, "LAST_EXIT_CODE=0"), "{st}");
    assert!(log.contains("shutting down 200"));
}

#[test]
fn resilient_stalled_progress_keeps_thread_and_fails() {
    let mut w = World::new();
    let codex = Codex::install(&mut w);
    codex.scenario("stall");
    quiet(&mut w);
    let r = setup(&w);
    let (code, _, _) = run(&mut runner(&w, &r, &codex, "safe"));
    assert_eq!(code, 143);
    let st = state(&r);
    assert!(
        has_line(
            &st,
            "LAST_FAILURE_REASON=no-codex-progress-before-stall-threshold"
        ),
        "{st}"
    );
    assert!(has_line(&st, "THREAD_ID=thread-stall"));
    let text = log(&r);
    let re = regex::Regex::new(
        r"stale-run no-codex-progress-before-stall-threshold elapsed=\d+s idle=\d+s",
    )
    .unwrap();
    assert!(re.is_match(&text), "{text}");
}

#[test]
fn resilient_heartbeats_while_waiting() {
    let mut w = World::new();
    let codex = Codex::install(&mut w);
    codex.scenario("slow");
    w.env("ACP_CODEX_PROGRESS_HEARTBEAT_SECONDS", "1");
    w.env("ACP_CODEX_STALL_SECONDS", "10");
    let r = setup(&w);
    let (code, _, err) = run(&mut runner(&w, &r, &codex, "safe"));
    assert_eq!(code, 0, "{err}");
    let re =
        regex::Regex::new(r"(?m)^\[[0-9TZ:-]+\] heartbeat waiting-for-codex-output elapsed=\d+s$")
            .unwrap();
    assert!(re.is_match(&log(&r)));
    assert!(has_line(&state(&r), "THREAD_ID=thread-slow"));
}

fn quota_tools(w: &mut World, decision: &str, exit: i32) -> PathBuf {
    let calls = w.path("manager-calls.log");
    let manager = write_script(
        &w.path("quota/auto-switch.sh"),
        &format!(
            "#!/usr/bin/env bash\nprintf '%s\\n' \"$*\" >> {calls:?}\nprintf '{{\"account\":\"rotated\"}}\\n' > \"$HOME/.codex/auth.json\"\n\
             echo SWITCH_DECISION={decision}\necho SELECTED_LABEL=acct-b\necho NEXT_RETRY_AT=2099-01-01T00:00:00Z\necho 'Switched to acct-b.'\nexit {exit}\n"
        ),
    );
    let quota = w.fake(
        "codex-quota",
        "#!/usr/bin/env bash\necho '{\"activeInfo\":{\"trackedLabel\":\"acct-a\"}}'\n",
    );
    std::fs::create_dir_all(w.home.join(".codex")).unwrap();
    std::fs::write(w.home.join(".codex/auth.json"), "{\"account\":\"a\"}\n").unwrap();
    w.env("ACP_CODEX_QUOTA_MANAGER_SCRIPT", &manager);
    w.env("ACP_CODEX_QUOTA_BIN", &quota);
    calls
}

#[test]
fn resilient_quota_rotates_account_and_resumes_same_thread() {
    let mut w = World::new();
    let codex = Codex::install(&mut w);
    codex.scenario_n(1, "quota");
    codex.scenario_n(2, "resumed");
    let manager_calls = quota_tools(&mut w, "switched", 0);
    let r = setup(&w);
    let (code, _, err) = run(&mut runner(&w, &r, &codex, "safe"));
    assert_eq!(code, 0, "{err}\n{}", log(&r));
    let calls = codex.calls();
    assert_eq!(calls[0], "exec --json --profile mock-safe --full-auto");
    assert!(
        calls.contains(&"exec resume --json --full-auto thread-q -".to_string()),
        "{calls:?}"
    );
    let st = state(&r);
    assert!(has_line(&st, "RUNNER_STATE=succeeded"), "{st}");
    assert!(has_line(&st, "RESUME_COUNT=1"));
    assert!(has_line(&st, "ATTEMPT=2"));
    let text = log(&r);
    assert!(text.contains("usage-limit detected; attempting failure-driven Codex account switch"));
    assert!(text.contains("Switched to acct-b."));
    assert!(text.contains(
        "detected refreshed Codex auth after quota interruption; resuming thread thread-q"
    ));
    let m = std::fs::read_to_string(manager_calls).unwrap();
    assert!(m.contains("--trigger-reason usage-limit --current-label acct-a --five-hour-threshold 70 --weekly-threshold 90 --running-workers 0"), "{m}");
    // The resume prompt names the run dirs.
    assert!(
        codex
            .file("stdin.2")
            .contains(&format!("Host run dir: {}", r.host.display()))
    );
}

/// A stall after `turn.started` with no item activity rotates the account
/// and starts a fresh exec (not a resume), without counting a resume.
#[test]
fn resilient_startup_stall_rotates_the_account_and_starts_again() {
    let mut w = World::new();
    let codex = Codex::install(&mut w);
    codex.scenario_n(1, "startup-stall");
    codex.scenario_n(2, "success");
    let manager_calls = quota_tools(&mut w, "switched", 0);
    quiet(&mut w);
    let r = setup(&w);
    let (code, _, err) = run(&mut runner(&w, &r, &codex, "safe"));
    assert_eq!(code, 0, "{err}\n{}", log(&r));
    let execs: Vec<_> = codex
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("exec"))
        .collect();
    assert_eq!(execs, ["exec --json --profile mock-safe --full-auto"; 2]);
    let st = state(&r);
    assert!(has_line(&st, "RUNNER_STATE=succeeded"), "{st}");
    assert!(has_line(&st, "THREAD_ID=thread-ok"), "{st}");
    assert!(has_line(&st, "ATTEMPT=2"), "{st}");
    assert!(has_line(&st, "RESUME_COUNT=0"), "{st}");
    let text = log(&r);
    assert!(text.contains(
        "startup-stall detected before first Codex tool activity; attempting Codex account rotation"
    ));
    assert!(text.contains("Switched to acct-b."));
    let m = std::fs::read_to_string(manager_calls).unwrap();
    assert!(
        m.contains(
            "--trigger-reason no-codex-progress-before-stall-threshold --current-label acct-a"
        ),
        "{m}"
    );
}

/// A deferred startup-stall rotation fails the run; with the rotation
/// budget spent (`ACP_CODEX_MAX_AUTOSWITCH_ATTEMPTS=0`) the manager is not
/// asked at all.
#[test]
fn resilient_startup_stall_deferred_or_over_budget_fails() {
    let mut w = World::new();
    let codex = Codex::install(&mut w);
    codex.scenario("startup-stall");
    let manager_calls = quota_tools(&mut w, "deferred", 0);
    quiet(&mut w);
    let r = setup(&w);
    let (code, _, _) = run(&mut runner(&w, &r, &codex, "safe"));
    assert_eq!(code, 143, "{}", log(&r));
    let st = state(&r);
    assert!(has_line(&st, "RUNNER_STATE=failed"), "{st}");
    assert!(
        has_line(&st, "LAST_FAILURE_REASON=quota-switch-deferred"),
        "{st}"
    );
    assert!(log(&r).contains("startup-stall rotation deferred until 2099-01-01T00:00:00Z"));
    assert_eq!(
        std::fs::read_to_string(&manager_calls)
            .unwrap()
            .lines()
            .count(),
        1
    );

    std::fs::remove_file(&manager_calls).unwrap();
    std::fs::remove_file(codex.dir.join("count")).unwrap();
    w.env("F_LOSNING_CODEX_MAX_AUTOSWITCH_ATTEMPTS", "0");
    let r = setup(&w);
    std::fs::remove_dir_all(&r.host).unwrap();
    let (code, _, _) = run(&mut runner(&w, &r, &codex, "safe"));
    assert_eq!(code, 143, "{}", log(&r));
    let st = state(&r);
    assert!(
        has_line(
            &st,
            "LAST_FAILURE_REASON=no-codex-progress-before-stall-threshold"
        ),
        "{st}"
    );
    assert!(!manager_calls.exists(), "the manager was not asked");
}

/// Each numeric setting is the flag, else `ACP_<NAME>`, else
/// `F_LOSNING_<NAME>`, else the default (a bad value names the setting).
#[test]
fn resilient_settings_take_flag_then_acp_then_f_losning() {
    let mut w = World::new();
    let codex = Codex::install(&mut w);
    let r = setup(&w);
    w.env("F_LOSNING_CODEX_STALL_SECONDS", "soon");
    let (code, _, err) = run(&mut runner(&w, &r, &codex, "safe"));
    assert_eq!(
        (code, err.trim()),
        (1, "ACP_CODEX_STALL_SECONDS must be numeric")
    );
    w.env("ACP_CODEX_STALL_SECONDS", "later");
    let (code, _, err) = run(&mut runner(&w, &r, &codex, "safe"));
    assert_eq!(
        (code, err.trim()),
        (1, "ACP_CODEX_STALL_SECONDS must be numeric")
    );
    let (code, _, err) = run(runner(&w, &r, &codex, "safe").args(["--stall-seconds", "30"]));
    assert_eq!(code, 0, "the flag beats both variables: {err}");
    w.env("ACP_CODEX_STALL_SECONDS", "30");
    let (code, _, err) = run(&mut runner(&w, &r, &codex, "safe"));
    assert_eq!(code, 0, "ACP_ beats F_LOSNING_: {err}");
    w.env("F_LOSNING_CODEX_PROGRESS_HEARTBEAT_SECONDS", "0");
    let (code, _, err) = run(&mut runner(&w, &r, &codex, "safe"));
    assert_eq!(
        (code, err.trim()),
        (
            1,
            "ACP_CODEX_PROGRESS_HEARTBEAT_SECONDS must be greater than zero"
        )
    );
    assert_eq!(
        codex
            .calls()
            .iter()
            .filter(|c| c.starts_with("exec"))
            .count(),
        2
    );
}

#[test]
fn resilient_quota_deferred_fails_fast() {
    let mut w = World::new();
    let codex = Codex::install(&mut w);
    codex.scenario("quota");
    quota_tools(&mut w, "deferred", 0);
    let r = setup(&w);
    let (code, _, _) = run(&mut runner(&w, &r, &codex, "safe"));
    assert_eq!(code, 1);
    let st = state(&r);
    assert!(
        has_line(&st, "LAST_FAILURE_REASON=quota-switch-deferred"),
        "{st}"
    );
    assert!(log(&r).contains("quota manager deferred rotation until 2099-01-01T00:00:00Z"));
    assert_eq!(
        codex
            .calls()
            .iter()
            .filter(|c| c.starts_with("exec"))
            .count(),
        1
    );
}

#[test]
fn resilient_quota_unavailable_without_manager_waits_then_times_out() {
    let mut w = World::new();
    let codex = Codex::install(&mut w);
    codex.scenario("quota");
    w.env(
        "ACP_CODEX_QUOTA_MANAGER_SCRIPT",
        "/nonexistent/auto-switch.sh",
    );
    let r = setup(&w);
    let (code, _, _) =
        run(runner(&w, &r, &codex, "safe").args(["--auth-refresh-timeout-seconds", "1"]));
    assert_eq!(code, 1);
    let st = state(&r);
    assert!(
        has_line(&st, "LAST_FAILURE_REASON=auth-refresh-timeout"),
        "{st}"
    );
    assert!(has_line(&st, "LAST_TRIGGER_REASON=usage-limit"));
    let text = log(&r);
    assert!(text.contains(
        "quota auto-switch unavailable (missing-script); waiting for external Codex auth refresh"
    ));
    assert!(has_line(&text, "CODEX_QUOTA_MANAGER_REASON=missing-script"));
}

#[test]
fn resilient_auth_failure_waits_for_healthy_login_and_restarts() {
    let mut w = World::new();
    let codex = Codex::install(&mut w);
    codex.scenario_n(1, "auth");
    codex.scenario_n(2, "success");
    let r = setup(&w);
    let (code, _, err) = run(&mut runner(&w, &r, &codex, "safe"));
    assert_eq!(code, 0, "{err}");
    assert!(log(&r).contains("Codex auth is healthy again; resuming initial Codex exec"));
    let execs: Vec<_> = codex
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("exec"))
        .collect();
    assert_eq!(execs, ["exec --json --profile mock-safe --full-auto"; 2]);
    assert!(has_line(&state(&r), "RESUME_COUNT=1"));
}

#[test]
fn resilient_term_ends_codex_and_its_children() {
    let mut w = World::new();
    let codex = Codex::install(&mut w);
    codex.scenario("hang");
    w.env("ACP_CODEX_STALL_SECONDS", "0");
    let r = setup(&w);
    let mut child = runner(&w, &r, &codex, "safe")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for("grandchild pid", 20, || {
        !codex.file("grandchild.pid").trim().is_empty()
    });
    wait_for("thread id", 20, || {
        has_line(&state(&r), "THREAD_ID=thread-hang")
    });
    let codex_pid: u32 = codex.file("codex.pid").trim().parse().unwrap();
    let gc: u32 = codex.file("grandchild.pid").trim().parse().unwrap();
    let st = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143));
    wait_for("codex to end", 10, || pid_gone(codex_pid));
    wait_for("grandchild to end", 10, || pid_gone(gc));
    let st = state(&r);
    assert!(has_line(&st, "RUNNER_STATE=failed"), "{st}");
    assert!(has_line(
        &st,
        "LAST_FAILURE_REASON=runner-aborted-before-completion"
    ));
}

#[test]
fn resilient_rejects_bad_input() {
    let mut w = World::new();
    let codex = Codex::install(&mut w);
    let r = setup(&w);
    let (code, _, err) = run(w.shim(TOOL).args(["--mode", "safe"]));
    assert_eq!(code, 1);
    assert!(err.contains("Usage"), "{err}");
    let (code, _, err) = run(runner(&w, &r, &codex, "safe").arg("--bogus"));
    assert_eq!(code, 1);
    assert!(err.starts_with("Unknown argument: --bogus\n"), "{err}");
    let (code, _, err) = run(&mut runner(&w, &r, &codex, "yolo"));
    assert_eq!((code, err.trim()), (1, "--mode must be safe or bypass"));
    let (code, _, err) = run(runner(&w, &r, &codex, "safe").args(["--max-resume-attempts", "x1"]));
    assert_eq!(
        (code, err.trim()),
        (1, "--max-resume-attempts must be numeric")
    );
    let (code, _, err) = run(runner(&w, &r, &codex, "safe").args(["--stall-seconds", ""]));
    assert_eq!(
        (code, err.trim()),
        (1, "ACP_CODEX_STALL_SECONDS must be numeric")
    );
    let (code, _, err) =
        run(runner(&w, &r, &codex, "safe").env("ACP_CODEX_PROGRESS_HEARTBEAT_SECONDS", "0"));
    assert_eq!(
        (code, err.trim()),
        (
            1,
            "ACP_CODEX_PROGRESS_HEARTBEAT_SECONDS must be greater than zero"
        )
    );
    let (code, out, _) = run(w.shim(TOOL).arg("--help"));
    assert_eq!(code, 0);
    assert!(out.contains("--max-resume-attempts"));
    assert!(codex.calls().is_empty());
}

#[test]
fn resilient_missing_prompt_fails_the_attempt_without_running_codex() {
    let mut w = World::new();
    let codex = Codex::install(&mut w);
    let r = setup(&w);
    std::fs::remove_file(&r.prompt).unwrap();
    let (code, _, _) = run(&mut runner(&w, &r, &codex, "safe"));
    assert_eq!(code, 1);
    assert!(has_line(
        &state(&r),
        "LAST_FAILURE_REASON=worker-exit-failed"
    ));
    assert!(codex.calls().is_empty());
}

#[test]
fn resilient_hostile_paths_are_plain_data() {
    let mut w = World::new();
    let codex = Codex::install(&mut w);
    codex.scenario_n(1, "quota");
    codex.scenario_n(2, "resumed");
    quota_tools(&mut w, "switched", 0);
    let r = setup(&w);
    let evil = w.path("sb $(touch pwned) `touch pwned2` 'q\"");
    let (code, _, err) = run(&mut runner_in(&w, &r, &codex, "safe", &evil));
    assert_eq!(code, 0, "{err}");
    assert!(!w.path("pwned").exists() && !w.path("pwned2").exists());
    assert!(
        codex
            .file("stdin.2")
            .contains(&format!("Sandbox run dir: {}", evil.display()))
    );
}

/// Sends TERM to `child` once `ready` holds and returns its exit code.
fn term_when(child: &mut std::process::Child, what: &str, ready: impl Fn() -> bool) -> i32 {
    wait_for(what, 30, ready);
    let st = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    child.wait().unwrap().code().unwrap_or(-1)
}

#[test]
fn resilient_term_while_waiting_for_auth_exits_143_and_records_the_abort() {
    let mut w = World::new();
    let codex = Codex::install(&mut w);
    codex.scenario("auth");
    std::fs::write(codex.dir.join("login-exit"), "1").unwrap();
    let r = setup(&w);
    let mut child = runner(&w, &r, &codex, "safe")
        .args(["--auth-refresh-timeout-seconds", "120"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let code = term_when(&mut child, "waiting-auth-refresh", || {
        has_line(&state(&r), "RUNNER_STATE=waiting-auth-refresh")
    });
    assert_eq!(code, 143, "{}", log(&r));
    let st = state(&r);
    assert!(has_line(&st, "RUNNER_STATE=failed"), "{st}");
    assert!(
        has_line(&st, "LAST_FAILURE_REASON=runner-aborted-before-completion"),
        "{st}"
    );
}

#[test]
fn resilient_term_during_quota_switch_ends_the_manager_and_records_the_abort() {
    let mut w = World::new();
    let codex = Codex::install(&mut w);
    codex.scenario("quota");
    quota_tools(&mut w, "switched", 0);
    let manager_pid = w.path("manager.pid");
    let finished = w.path("manager.finished");
    let manager = write_script(
        &w.path("quota/slow-switch.sh"),
        &format!(
            "#!/usr/bin/env bash\necho $$ > {manager_pid:?}\nsleep 30\ntouch {finished:?}\necho SWITCH_DECISION=switched\n"
        ),
    );
    w.env("ACP_CODEX_QUOTA_MANAGER_SCRIPT", &manager);
    w.env("ACP_CODEX_QUOTA_TIMEOUT_SECONDS", "90");
    let r = setup(&w);
    let mut child = runner(&w, &r, &codex, "safe")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let code = term_when(&mut child, "the quota manager", || {
        has_line(&state(&r), "RUNNER_STATE=switching-account")
            && !std::fs::read_to_string(&manager_pid)
                .unwrap_or_default()
                .trim()
                .is_empty()
    });
    assert_eq!(code, 143, "{}", log(&r));
    let pid: u32 = std::fs::read_to_string(&manager_pid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    wait_for("the quota manager to end", 10, || pid_gone(pid));
    assert!(!finished.exists(), "the manager was ended, not waited for");
    let st = state(&r);
    assert!(has_line(&st, "RUNNER_STATE=failed"), "{st}");
    assert!(
        has_line(&st, "LAST_FAILURE_REASON=runner-aborted-before-completion"),
        "{st}"
    );
    assert_eq!(
        codex
            .calls()
            .iter()
            .filter(|c| c.starts_with("exec"))
            .count(),
        1,
        "no resume after the abort"
    );
}
