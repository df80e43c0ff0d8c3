//! Integration tests for `run-codex-task.sh` and the `run-codex-safe.sh` /
//! `run-codex-bypass.sh` aliases (run through their shims, launchers stubbed).

use std::path::PathBuf;

use crate::harness::{World, run};

struct Setup {
    w: World,
    worktree: PathBuf,
    repo: PathBuf,
    capture: PathBuf,
    prompt: PathBuf,
}

/// A profile, an agent repo with one worktree, and every launcher replaced by
/// a stub that records its name and argv (one per line).
fn setup(yaml: &str) -> Setup {
    let mut w = World::new();
    let repo = w.git_repo("repo");
    let worktree = w.path("worktrees/issue-7");
    let (code, _, err) = run(w
        .cmd("git")
        .arg("-C")
        .arg(&repo)
        .args(["worktree", "add", "-q", "-b", "agent/demo/issue-7"])
        .arg(&worktree));
    assert_eq!(code, 0, "{err}");
    w.write("profiles/demo/control-plane.yaml", yaml);
    let capture = w.path("capture.log");
    for backend in [
        "codex", "claude", "openclaw", "opencode", "kilo", "ollama", "pi",
    ] {
        let stub = w
            .skill
            .join(format!("tools/bin/agent-project-run-{backend}-session"));
        std::fs::write(
            &stub,
            format!(
                "#!/usr/bin/env bash\nprintf 'RUNNER={backend}\\n' > \"$TEST_CAPTURE\"\nprintf '%s\\n' \"$@\" >> \"$TEST_CAPTURE\"\necho launched-{backend}\nexit \"${{TEST_LAUNCH_EXIT:-0}}\"\n"
            ),
        )
        .unwrap();
    }
    let prompt = w.write("prompt.md", "Do the thing\n");
    let root = w.root();
    w.env("TEST_CAPTURE", &capture)
        .env("ACP_PROFILE_REGISTRY_ROOT", root.join("profiles"))
        .env("ACP_PROJECT_ID", "demo")
        .env("ACP_AGENT_ROOT", root.join("agent"))
        .env("ACP_AGENT_REPO_ROOT", &repo)
        .env("ACP_REPO_ROOT", &repo)
        .env("ACP_WORKTREE_ROOT", root.join("worktrees"))
        .env("ACP_RETAINED_REPO_ROOT", root.join("retained"));
    Setup {
        w,
        worktree,
        repo,
        capture,
        prompt,
    }
}

fn captured(s: &Setup) -> Vec<String> {
    std::fs::read_to_string(&s.capture)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The value following `flag` in the captured argv.
fn flag_value(args: &[String], flag: &str) -> Option<String> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1).cloned())
}

const CLAUDE_YAML: &str = "id: demo\nsession_naming:\n  issue_prefix: acp-issue-\n  pr_prefix: acp-pr-\nexecution:\n  coding_worker: claude\n  claude:\n    model: opus\n    permission_mode: dontAsk\n    effort: high\n    timeout_seconds: 777\n    max_attempts: 5\n    retry_backoff_seconds: 12\n";

#[test]
fn run_codex_task_routes_claude_with_yaml_settings_and_issue_reconcile() {
    let s = setup(CLAUDE_YAML);
    let (code, out, err) = run(s
        .w
        .shim("tools/bin/run-codex-task.sh")
        .args(["safe", "acp-issue-7"])
        .arg(&s.worktree)
        .arg(&s.prompt));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "launched-claude\n");
    let args = captured(&s);
    assert_eq!(args[0], "RUNNER=claude");
    for (flag, value) in [
        ("--mode", "safe"),
        ("--session", "acp-issue-7"),
        ("--task-kind", "issue"),
        ("--task-id", "7"),
        ("--adapter-id", "demo"),
        ("--env-prefix", "F_LOSNING_"),
        ("--claude-model", "opus"),
        ("--claude-permission-mode", "dontAsk"),
        ("--claude-effort", "high"),
        ("--claude-timeout-seconds", "777"),
        ("--claude-max-attempts", "5"),
        ("--claude-retry-backoff-seconds", "12"),
    ] {
        assert_eq!(
            flag_value(&args, flag).as_deref(),
            Some(value),
            "{flag}: {args:?}"
        );
    }
    let contexts: Vec<&String> = args
        .iter()
        .enumerate()
        .filter(|(i, _)| *i > 0 && args[i - 1] == "--context")
        .map(|(_, a)| a)
        .collect();
    assert_eq!(contexts.len(), 19);
    assert_eq!(contexts[0], "ISSUE_ID=");
    assert_eq!(contexts[2], "ISSUE_AUTOMERGE=no");
    assert_eq!(contexts[6], "CODING_WORKER=claude");
    assert_eq!(
        contexts[7].as_str(),
        format!("FLOW_TOOLS_DIR={}", s.w.skill.join("tools/bin").display())
    );
    let reconcile = flag_value(&args, "--reconcile-command").unwrap();
    assert!(
        reconcile
            .starts_with("ACP_PROJECT_ID=demo AGENT_PROJECT_ID=demo AGENT_CONTROL_PLANE_CONFIG="),
        "{reconcile}"
    );
    assert!(
        reconcile.ends_with("/bin/reconcile-issue-worker.sh acp-issue-7"),
        "{reconcile}"
    );
    let collects: Vec<_> = args
        .iter()
        .enumerate()
        .filter(|(i, _)| *i > 0 && args[i - 1] == "--collect-file")
        .map(|(_, a)| a.as_str())
        .collect();
    assert_eq!(
        collects,
        ["pr-comment.md", "issue-comment.md", "verification.jsonl"]
    );
}

#[test]
fn run_codex_task_env_overrides_yaml_and_bypass_changes_claude_default() {
    let mut s = setup("id: demo\nexecution:\n  coding_worker: claude\n");
    s.w.env("ACP_CLAUDE_MODEL", "haiku");
    let (code, _, err) = run(s
        .w
        .shim("tools/bin/run-codex-bypass.sh")
        .arg("demo-issue-7")
        .arg(&s.worktree)
        .arg(&s.prompt));
    assert_eq!(code, 0, "{err}");
    let args = captured(&s);
    assert_eq!(flag_value(&args, "--mode").as_deref(), Some("bypass"));
    assert_eq!(
        flag_value(&args, "--claude-model").as_deref(),
        Some("haiku")
    );
    assert_eq!(
        flag_value(&args, "--claude-permission-mode").as_deref(),
        Some("bypassPermissions")
    );
    // The default issue prefix is `<adapter>-issue-`.
    assert_eq!(flag_value(&args, "--task-kind").as_deref(), Some("issue"));
}

#[test]
fn run_codex_task_codex_pr_session_gets_pr_reconcile_and_default_profiles() {
    let s = setup("id: demo\nexecution:\n  coding_worker: codex\n");
    let (code, _, err) = run(s
        .w
        .shim("tools/bin/run-codex-safe.sh")
        .arg("demo-pr-42")
        .arg(&s.worktree)
        .arg(&s.prompt));
    assert_eq!(code, 0, "{err}");
    let args = captured(&s);
    assert_eq!(args[0], "RUNNER=codex");
    assert_eq!(flag_value(&args, "--task-kind").as_deref(), Some("pr"));
    assert_eq!(flag_value(&args, "--task-id").as_deref(), Some("42"));
    assert_eq!(
        flag_value(&args, "--safe-profile").as_deref(),
        Some("f_losning_safe_auto")
    );
    assert_eq!(
        flag_value(&args, "--bypass-profile").as_deref(),
        Some("f_losning_yolo")
    );
    assert!(
        flag_value(&args, "--reconcile-command")
            .unwrap()
            .ends_with("reconcile-pr-worker.sh demo-pr-42")
    );
}

#[test]
fn run_codex_task_plain_session_is_a_task_without_reconcile_and_keeps_hostile_names_literal() {
    let mut s = setup("id: demo\nexecution:\n  coding_worker: kilo\n");
    let marker = s.w.path("pwned");
    s.w.env("ACP_ISSUE_URL", format!("$(touch {})", marker.display()));
    let session = "odd name'$(x)";
    let (code, _, err) = run(s
        .w
        .shim("tools/bin/run-codex-task.sh")
        .args(["safe", session])
        .arg(&s.worktree)
        .arg(&s.prompt));
    assert_eq!(code, 0, "{err}");
    let args = captured(&s);
    assert_eq!(args[0], "RUNNER=kilo");
    assert_eq!(flag_value(&args, "--task-kind").as_deref(), Some("task"));
    assert_eq!(flag_value(&args, "--task-id").as_deref(), Some(session));
    assert!(flag_value(&args, "--reconcile-command").is_none());
    assert!(
        args.iter()
            .any(|a| *a == format!("ISSUE_URL=$(touch {})", marker.display()))
    );
    assert!(!marker.exists());
}

#[test]
fn run_codex_task_refuses_worktrees_that_are_not_isolated() {
    let s = setup(CLAUDE_YAML);
    let outside = s.w.path("elsewhere");
    std::fs::create_dir_all(&outside).unwrap();
    let foreign = s.w.git_repo("worktrees/foreign");
    for (dir, msg) in [
        (s.w.path("worktrees/missing"), "invalid worker worktree:"),
        (
            s.repo.clone(),
            "refusing to run worker in canonical checkout:",
        ),
        (
            outside,
            "refusing to run worker outside managed worktree root:",
        ),
        (foreign, "refusing to run worker with non-agent git dir:"),
    ] {
        let (code, _, err) = run(s
            .w
            .shim("tools/bin/run-codex-task.sh")
            .args(["safe", "acp-issue-7"])
            .arg(&dir)
            .arg(&s.prompt));
        assert_eq!(code, 1, "{dir:?}");
        assert!(err.starts_with(msg), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!s.capture.exists(), "no launcher may run");
    }
}

/// The two refusals a new user meets first say what was expected and which
/// setting changes it.
#[test]
fn run_codex_task_refusals_name_the_expected_root_and_the_setting() {
    let s = setup(CLAUDE_YAML);
    let attempt = |dir: &std::path::Path| {
        run(s
            .w
            .shim("tools/bin/run-codex-task.sh")
            .args(["safe", "acp-issue-7"])
            .arg(dir)
            .arg(&s.prompt))
    };
    let config = s.w.path("profiles/demo/control-plane.yaml");
    let outside = s.w.path("elsewhere");
    std::fs::create_dir_all(&outside).unwrap();
    let (code, _, err) = attempt(&outside);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        format!(
            "refusing to run worker outside managed worktree root: {} (expected a directory \
             under {}; ACP_WORKTREE_ROOT or runtime.worktree_root in {} moves the root)\n",
            outside.display(),
            s.w.path("worktrees").display(),
            config.display()
        )
    );

    let foreign = s.w.git_repo("worktrees/foreign");
    let (code, _, err) = attempt(&foreign);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        format!(
            "refusing to run worker with non-agent git dir: {}/.git (an agent git dir is the \
             .git of the agent repository that worker worktrees are added from; expected \
             {}/.git: ACP_AGENT_REPO_ROOT or runtime.agent_repo_root in {} names that \
             repository, else ACP_REPO_ROOT or repo.root)\n",
            foreign.display(),
            s.repo.display(),
            config.display()
        )
    );
    assert!(!s.capture.exists(), "no launcher may run");
}

#[test]
fn run_codex_task_reports_usage_unknown_worker_and_launcher_status() {
    let mut s = setup(CLAUDE_YAML);
    let (code, _, err) = run(s.w.shim("tools/bin/run-codex-task.sh").args(["safe", "s"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("usage: run-codex-task.sh MODE SESSION WORKTREE PROMPT_FILE"),
        "{err}"
    );

    s.w.env("ACP_CODING_WORKER", "nope");
    let (code, _, err) = run(s
        .w
        .shim("tools/bin/run-codex-task.sh")
        .args(["safe", "acp-issue-7"])
        .arg(&s.worktree)
        .arg(&s.prompt));
    assert_eq!(code, 1);
    assert_eq!(err, "unsupported coding worker: nope\n");

    s.w.env("ACP_CODING_WORKER", "pi")
        .env("TEST_LAUNCH_EXIT", "7");
    let (code, out, _) = run(s
        .w
        .shim("tools/bin/run-codex-task.sh")
        .args(["safe", "acp-issue-7"])
        .arg(&s.worktree)
        .arg(&s.prompt));
    assert_eq!((code, out.as_str()), (7, "launched-pi\n"));
    let args = captured(&s);
    assert_eq!(
        flag_value(&args, "--pi-stall-seconds").as_deref(),
        Some("300")
    );
}

#[test]
fn run_codex_task_rejects_malformed_profile_yaml() {
    let s = setup("id: demo\nexecution: [unclosed\n");
    let (code, _, err) = run(s
        .w
        .shim("tools/bin/run-codex-task.sh")
        .args(["safe", "acp-issue-7"])
        .arg(&s.worktree)
        .arg(&s.prompt));
    assert_ne!(code, 0);
    assert!(err.contains("control-plane.yaml"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// The launcher flags after the common ones (the collect files and any
/// reconcile command).
fn backend_tail(args: &[String]) -> Vec<String> {
    let mut start = args.iter().position(|a| a == "verification.jsonl").unwrap() + 1;
    if args.get(start).map(String::as_str) == Some("--reconcile-command") {
        start += 2;
    }
    args[start..].to_vec()
}

#[test]
fn run_codex_task_passes_each_backends_defaults() {
    let mut s = setup("id: demo\n");
    for (worker, tail) in [
        (
            "codex",
            "--safe-profile f_losning_safe_auto --bypass-profile f_losning_yolo",
        ),
        (
            "claude",
            "--claude-model sonnet --claude-permission-mode acceptEdits --claude-effort medium \
             --claude-timeout-seconds 900 --claude-max-attempts 3 --claude-retry-backoff-seconds 30",
        ),
        (
            "openclaw",
            "--openclaw-model openrouter/qwen/qwen3.6-plus-preview:free --openclaw-thinking low \
             --openclaw-timeout-seconds 900",
        ),
        (
            "opencode",
            "--opencode-model anthropic/claude-sonnet-4-20250514 --opencode-timeout-seconds 900",
        ),
        (
            "kilo",
            "--kilo-model anthropic/claude-sonnet-4-20250514 --kilo-timeout-seconds 900",
        ),
        (
            "ollama",
            "--ollama-model qwen2.5-coder:7b --ollama-base-url http://localhost:11434 \
             --ollama-timeout-seconds 900",
        ),
        (
            "pi",
            "--pi-model openrouter/qwen/qwen3.6-plus:free --pi-thinking low \
             --pi-timeout-seconds 900 --pi-stall-seconds 300",
        ),
    ] {
        s.w.env("ACP_CODING_WORKER", worker);
        let (code, out, err) = run(s
            .w
            .shim("tools/bin/run-codex-task.sh")
            .args(["safe", "demo-pr-3"])
            .arg(&s.worktree)
            .arg(&s.prompt));
        assert_eq!(code, 0, "{worker}: {err}");
        assert_eq!(out, format!("launched-{worker}\n"));
        let args = captured(&s);
        assert_eq!(args[0], format!("RUNNER={worker}"));
        assert_eq!(backend_tail(&args).join(" "), tail, "{worker}");
    }
}

#[test]
fn run_codex_task_routes_a_resident_openclaw_worker_to_its_agent() {
    let mut s = setup(
        "id: demo\nsession_naming:\n  issue_prefix: acp-issue-\nexecution:\n  coding_worker: openclaw\n  openclaw:\n    model: yaml/model\n    thinking: minimal\n    timeout_seconds: 321\n",
    );
    s.w.env("OPENCLAW_MODEL", "plain/model")
        .env("ACP_ISSUE_ID", "778")
        .env("ACP_RESIDENT_WORKER_ENABLED", "yes")
        .env("ACP_RESIDENT_OPENCLAW_AGENT_ID", "agent-778")
        .env("F_LOSNING_RESIDENT_OPENCLAW_SESSION_ID", "session-778")
        .env("ACP_RESIDENT_OPENCLAW_AGENT_DIR", "/r/agent")
        .env("ACP_RESIDENT_OPENCLAW_STATE_DIR", "/r/state")
        .env("ACP_RESIDENT_OPENCLAW_CONFIG_PATH", "/r/openclaw.json");
    let (code, _, err) = run(s
        .w
        .shim("tools/bin/run-codex-task.sh")
        .args(["safe", "acp-issue-9"])
        .arg(&s.worktree)
        .arg(&s.prompt));
    assert_eq!(code, 0, "{err}");
    let args = captured(&s);
    assert_eq!(args[0], "RUNNER=openclaw");
    assert_eq!(flag_value(&args, "--task-id").as_deref(), Some("778"));
    assert!(
        flag_value(&args, "--reconcile-command").is_none(),
        "a resident issue worker is not reconciled: {args:?}"
    );
    assert_eq!(
        backend_tail(&args).join(" "),
        "--openclaw-model plain/model --openclaw-thinking minimal --openclaw-timeout-seconds 321 \
         --keep-agent --openclaw-agent-id agent-778 --openclaw-session-id session-778 \
         --openclaw-agent-dir /r/agent --openclaw-state-dir /r/state \
         --openclaw-config-path /r/openclaw.json"
    );
    assert!(args.contains(&"RESIDENT_OPENCLAW_SESSION_ID=session-778".to_string()));
}
