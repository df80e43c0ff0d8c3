//! Integration tests for `agent-project-run-ollama-session` and its Rust
//! agent (`ollama-agent`), against a scripted fake Ollama server on loopback.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::blocking_suite;
use crate::harness::{World, bash_source_get, bin, env_keys, kv, read_existing, run, run_env_keys};

/// What the fake server answers to one request.
#[derive(Clone)]
pub enum Reply {
    /// `200 OK` with this JSON body.
    Json(Value),
    /// This status and JSON body.
    Status(u16, Value),
    /// Exactly these bytes.
    Raw(Vec<u8>),
    /// Nothing for this long, then close the connection.
    Hang(Duration),
}

/// A fake Ollama `/api/chat` on 127.0.0.1:<free port>, answering each
/// request with the next scripted reply and recording the request bodies.
/// It serves at most `script.len()` requests and lives at most 60 s; after
/// that the port is closed (connections are refused).
pub struct FakeOllama {
    pub url: String,
    requests: Arc<Mutex<Vec<(String, Value)>>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Drop for FakeOllama {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl FakeOllama {
    pub fn start(script: Vec<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        listener.set_nonblocking(true).unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let rec = Arc::clone(&requests);
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            let until = Instant::now() + Duration::from_secs(60);
            let mut script = script.into_iter();
            let mut next = script.next();
            while let Some(reply) = next.take() {
                if Instant::now() > until || stopped.load(Ordering::SeqCst) {
                    return;
                }
                let stream = match listener.accept() {
                    Ok((s, _)) => s,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10));
                        next = Some(reply);
                        continue;
                    }
                    Err(_) => return,
                };
                serve(stream, &reply, &rec);
                next = script.next();
            }
        });
        Self {
            url,
            requests,
            stop,
            handle: Some(handle),
        }
    }

    /// (request line, JSON body) of every request served so far.
    pub fn requests(&self) -> Vec<(String, Value)> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits for the server thread (it ends when the script is used up).
    pub fn finish(mut self) -> Vec<(String, Value)> {
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        self.requests()
    }
}

fn serve(stream: TcpStream, reply: &Reply, rec: &Mutex<Vec<(String, Value)>>) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; len];
    let _ = reader.read_exact(&mut body);
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    rec.lock()
        .unwrap()
        .push((request_line.trim_end().to_string(), value));
    let mut stream = stream;
    let bytes = match reply {
        Reply::Json(v) => http_bytes(200, v),
        Reply::Status(code, v) => http_bytes(*code, v),
        Reply::Raw(b) => b.clone(),
        Reply::Hang(d) => {
            std::thread::sleep(*d);
            return;
        }
    };
    let _ = stream.write_all(&bytes);
    let _ = stream.flush();
}

fn http_bytes(code: u16, v: &Value) -> Vec<u8> {
    let body = serde_json::to_vec(v).unwrap();
    let mut out = format!(
        "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend(body);
    out
}

/// A chat reply asking for these tool calls.
pub fn calls(list: &[(&str, Value)]) -> Reply {
    let tool_calls: Vec<Value> = list
        .iter()
        .map(|(n, a)| json!({"function": {"name": n, "arguments": a}}))
        .collect();
    Reply::Json(json!({
        "model": "m",
        "message": {"role": "assistant", "content": "", "tool_calls": tool_calls},
        "done": true
    }))
}

/// A plain text chat reply (no tool calls).
pub fn text(s: &str) -> Reply {
    Reply::Json(json!({"model": "m", "message": {"role": "assistant", "content": s}, "done": true}))
}

/// A worktree with a sandbox run dir and a prompt, for running the agent directly.
struct AgentSetup {
    wt: PathBuf,
    run_dir: PathBuf,
    prompt: PathBuf,
}

fn agent_setup(w: &World) -> AgentSetup {
    let wt = w.git_repo("wt");
    let run_dir = wt.join(".ollama-artifacts/s1");
    std::fs::create_dir_all(&run_dir).unwrap();
    let prompt = w.write("prompt.md", "Add a hello file.\n");
    AgentSetup {
        wt,
        run_dir,
        prompt,
    }
}

/// Runs `agent-control-plane ollama-agent` with the worker variables set.
fn run_agent(w: &World, s: &AgentSetup, url: &str, timeout: &str) -> (i32, String, String) {
    let mut cmd = w.cmd(bin());
    cmd.arg("ollama-agent")
        .current_dir(&s.wt)
        .env("ACP_WORKTREE", &s.wt)
        .env("ACP_RUN_DIR", &s.run_dir)
        .env("ACP_RESULT_FILE", s.run_dir.join("result.env"))
        .env("ACP_PROMPT_FILE", &s.prompt)
        .env("ACP_OLLAMA_BASE_URL", url)
        .env("ACP_OLLAMA_MODEL", "fake-model:1b")
        .env("ACP_OLLAMA_TIMEOUT_SECONDS", timeout);
    run(&mut cmd)
}

#[test]
fn ollama_agent_runs_tools_and_completes() {
    let w = World::new();
    let s = agent_setup(&w);
    std::fs::write(s.wt.join("README.md"), "readme\n").unwrap();
    let server = FakeOllama::start(vec![
        calls(&[("list_directory", json!({}))]),
        calls(&[
            ("read_file", json!({"path": "README.md"})),
            (
                "write_file",
                json!({"path": "src/hello.txt", "content": "hello\n"}),
            ),
        ]),
        calls(&[(
            "run_command",
            json!({"command": "git status --short; echo done-cmd"}),
        )]),
        calls(&[("task_complete", json!({"summary": "Added src/hello.txt."}))]),
    ]);
    let (code, out, err) = run_agent(&w, &s, &server.url, "60");
    let reqs = server.finish();
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(read_existing(s.wt.join("src/hello.txt")), "hello\n");
    assert_eq!(
        read_existing(s.run_dir.join("issue-comment.md")),
        "## Ollama Agent Summary\n\nAdded src/hello.txt.\n"
    );
    assert!(
        !s.run_dir.join("result.env").exists(),
        "success writes no contract"
    );
    assert!(out.contains("[tool] list_directory({})"), "{out}");
    assert!(
        out.contains(r#"[tool] write_file({"path":"src/hello.txt","content":"hello\n"})"#),
        "{out}"
    );
    assert!(out.ends_with("[agent] task complete\n"), "{out}");

    assert_eq!(reqs.len(), 4);
    let (line, first) = &reqs[0];
    assert_eq!(line, "POST /api/chat HTTP/1.1");
    assert_eq!(first["model"], "fake-model:1b");
    assert_eq!(first["stream"], false);
    assert_eq!(first["think"], false);
    assert_eq!(first["options"]["num_ctx"], 32768);
    let names: Vec<&str> = first["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "read_file",
            "write_file",
            "run_command",
            "list_directory",
            "task_complete"
        ]
    );
    assert_eq!(first["messages"][1]["content"], "Add a hello file.\n");
    // Tool results are fed back: the listing, the file text, the command output.
    let second = &reqs[1].1["messages"];
    let last = &second[second.as_array().unwrap().len() - 1];
    assert_eq!(last["role"], "tool");
    assert!(
        last["content"].as_str().unwrap().contains("README.md"),
        "{last}"
    );
    let third = reqs[2].1["messages"].as_array().unwrap();
    let tool_msgs: Vec<&str> = third
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(tool_msgs[1], "readme\n");
    assert_eq!(tool_msgs[2], "wrote src/hello.txt");
    let fourth = reqs[3].1["messages"].as_array().unwrap();
    let cmd_out = fourth.last().unwrap()["content"].as_str().unwrap();
    assert!(
        cmd_out.contains("?? src/") && cmd_out.contains("done-cmd"),
        "{cmd_out}"
    );
}

#[test]
fn ollama_agent_confines_writes_to_the_worktree() {
    let w = World::new();
    let s = agent_setup(&w);
    let outside = w.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, s.wt.join("escape")).unwrap();
    let abs = w.path("abs-target.txt");
    let server = FakeOllama::start(vec![
        calls(&[
            (
                "write_file",
                json!({"path": "../escaped.txt", "content": "x"}),
            ),
            (
                "write_file",
                json!({"path": abs.to_str().unwrap(), "content": "x"}),
            ),
            (
                "write_file",
                json!({"path": "escape/through-link.txt", "content": "x"}),
            ),
            ("read_file", json!({"path": "/etc/hostname"})),
            ("read_file", json!({"path": "escape/../../outside/x"})),
            ("write_file", json!({"path": "ok/inside.txt"})),
        ]),
        text("I could not write outside, stopping."),
    ]);
    let (code, out, err) = run_agent(&w, &s, &server.url, "60");
    let reqs = server.finish();
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(!w.path("escaped.txt").exists());
    assert!(!abs.exists());
    assert!(!outside.join("through-link.txt").exists());
    assert!(
        !s.wt.join("ok/inside.txt").exists(),
        "missing content is an error"
    );
    let msgs = reqs[1].1["messages"].as_array().unwrap();
    let results: Vec<&str> = msgs
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(results.len(), 6);
    for r in &results {
        assert!(r.starts_with("error: "), "{r}");
    }
    assert!(results[0].contains("outside worktree"));
    assert!(results[1].contains("absolute"));
    assert!(results[2].contains("symlink"));
    assert!(results[3].contains("outside worktree"));
    assert!(
        out.contains("[agent] I could not write outside, stopping."),
        "{out}"
    );
    assert!(
        read_existing(s.run_dir.join("issue-comment.md")).contains("I could not write outside")
    );
}

#[test]
fn ollama_agent_accepts_tool_calls_written_as_text() {
    let w = World::new();
    let s = agent_setup(&w);
    let server = FakeOllama::start(vec![
        text(
            r#"I'll write it: {"name": "write_file", "arguments": {"path": "a.txt", "content": "A"}}"#,
        ),
        text(r#"[{"name": "task_complete", "arguments": {"summary": "done via text"}}]"#),
    ]);
    let (code, out, err) = run_agent(&w, &s, &server.url, "60");
    server.finish();
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(read_existing(s.wt.join("a.txt")), "A");
    assert!(read_existing(s.run_dir.join("issue-comment.md")).contains("done via text"));
}

#[test]
fn ollama_agent_api_error_writes_quoted_contract() {
    let w = World::new();
    let s = agent_setup(&w);
    let hostile = "model 'x' not found; $(touch pwned) `touch pwned2`\nnext";
    let server = FakeOllama::start(vec![Reply::Status(404, json!({"error": hostile}))]);
    let (code, out, err) = run_agent(&w, &s, &server.url, "60");
    server.finish();
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains("ollama agent: API error: HTTP 404: model 'x' not found"),
        "{err}"
    );
    let result = s.run_dir.join("result.env");
    let text = read_existing(&result);
    assert!(
        text.starts_with("OUTCOME=blocked\nACTION=host-comment-blocker\nDETAIL="),
        "{text}"
    );
    let detail = bash_source_get(&w, &result, "DETAIL");
    assert_eq!(detail, format!("ollama-api-error: HTTP 404: {hostile}"));
    assert!(!w.root().join("pwned").exists() && !w.root().join("pwned2").exists());
    assert!(!s.wt.join("pwned").exists());
    assert!(!s.run_dir.join("issue-comment.md").exists());
}

#[test]
fn ollama_agent_reports_unreachable_server_and_bad_urls() {
    let w = World::new();
    let s = agent_setup(&w);
    // A port that was free a moment ago: nothing listens there now.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (code, _, err) = run_agent(&w, &s, &format!("http://127.0.0.1:{port}/"), "60");
    assert_eq!(code, 1);
    assert!(
        err.contains("ollama agent: API error: connect 127.0.0.1"),
        "{err}"
    );
    let detail = bash_source_get(&w, &s.run_dir.join("result.env"), "DETAIL");
    assert!(
        detail.starts_with("ollama-api-error: connect 127.0.0.1"),
        "{detail}"
    );

    let (code, _, err) = run_agent(&w, &s, "https://example.invalid", "60");
    assert_eq!(code, 1);
    assert!(err.contains("https base URLs are not supported"), "{err}");
}

#[test]
fn ollama_agent_rejects_garbage_and_empty_responses() {
    let w = World::new();
    let s = agent_setup(&w);
    let server = FakeOllama::start(vec![Reply::Raw(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nnope!".to_vec(),
    )]);
    let (code, _, err) = run_agent(&w, &s, &server.url, "60");
    server.finish();
    assert_eq!(code, 1);
    assert!(err.contains("failed to parse ollama response"), "{err}");

    let server = FakeOllama::start(vec![Reply::Json(json!({"done": true}))]);
    let (code, _, err) = run_agent(&w, &s, &server.url, "60");
    server.finish();
    assert_eq!(code, 1);
    assert!(
        err.contains("ollama agent: empty response from model"),
        "{err}"
    );
    assert_eq!(
        bash_source_get(&w, &s.run_dir.join("result.env"), "DETAIL"),
        "empty-response"
    );
}

#[test]
fn ollama_agent_stops_identical_repeated_calls() {
    let w = World::new();
    let s = agent_setup(&w);
    let same = ("run_command", json!({"command": "echo x >> count.txt"}));
    let server = FakeOllama::start(vec![calls(&[
        same.clone(),
        same.clone(),
        same.clone(),
        same.clone(),
        same,
    ])]);
    let (code, out, _) = run_agent(&w, &s, &server.url, "60");
    server.finish();
    assert_eq!(code, 1);
    assert!(
        out.ends_with("[agent] stuck in repetitive loop, aborting\n"),
        "{out}"
    );
    assert_eq!(
        read_existing(s.wt.join("count.txt")),
        "x\nx\nx\n",
        "the fourth call never runs"
    );
    assert_eq!(
        bash_source_get(&w, &s.run_dir.join("result.env"), "DETAIL"),
        "stuck-loop"
    );
}

#[test]
fn ollama_agent_stops_repeating_cycles() {
    let w = World::new();
    let s = agent_setup(&w);
    let window: Vec<(&str, Value)> = (0..6)
        .map(|i| ("read_file", json!({"path": format!("f{i}")})))
        .collect();
    let server = FakeOllama::start(vec![calls(&window), calls(&window)]);
    let (code, out, _) = run_agent(&w, &s, &server.url, "60");
    let reqs = server.finish();
    assert_eq!((code, reqs.len()), (1, 2));
    assert!(
        out.ends_with("[agent] detected repeating cycle, aborting\n"),
        "{out}"
    );
    assert_eq!(
        bash_source_get(&w, &s.run_dir.join("result.env"), "DETAIL"),
        "stuck-cycle"
    );
}

#[test]
fn ollama_agent_times_out_on_a_silent_server() {
    let w = World::new();
    let s = agent_setup(&w);
    let server = FakeOllama::start(vec![Reply::Hang(Duration::from_secs(4))]);
    let (code, _, err) = run_agent(&w, &s, &server.url, "1");
    server.finish();
    assert_eq!(code, 1);
    assert!(err.contains("ollama agent: timeout reached"), "{err}");
    assert_eq!(
        bash_source_get(&w, &s.run_dir.join("result.env"), "DETAIL"),
        "timeout"
    );
}

#[test]
fn ollama_agent_stops_after_thirty_rounds() {
    let w = World::new();
    let s = agent_setup(&w);
    let script: Vec<Reply> = (0..40)
        .map(|i| calls(&[("list_directory", json!({"path": format!("d{i}")}))]))
        .collect();
    let server = FakeOllama::start(script);
    let (code, out, err) = run_agent(&w, &s, &server.url, "60");
    let served = server.requests().len();
    assert_eq!(code, 0, "{err}");
    assert_eq!(served, 30);
    assert!(out.ends_with("[agent] task complete\n"));
    assert!(
        !s.run_dir.join("issue-comment.md").exists(),
        "no summary, no comment"
    );
}

// ---------------------------------------------------------------------------
// The launcher, through its shim, with real tmux and git.

const TOOL: &str = "tools/bin/agent-project-run-ollama-session";

fn launcher_args(w: &World, wt: &Path, session: &str) -> Vec<String> {
    let prompt = w.write("prompts/issue 7.md", "Implement issue 7.\n");
    blocking_suite::launcher_args(wt, &prompt, w, session, "safe", ("issue", "7"))
}

/// A server whose only reply runs a command starting two children (pids in
/// `pids.txt`), and the launcher's arguments against it.
fn children_args(w: &World, wt: &Path, session: &str) -> (FakeOllama, Vec<String>, PathBuf) {
    let pids = w.path("pids.txt");
    let cmd = blocking_suite::two_children_command(&pids);
    let server = FakeOllama::start(vec![calls(&[("run_command", json!({"command": cmd}))])]);
    let mut args = launcher_args(w, wt, session);
    args.extend(["--ollama-base-url", &server.url].map(String::from));
    (server, args, pids)
}

#[test]
fn ollama_session_success_collects_artifacts_and_infers_result() {
    let w = World::new();
    let wt = w.repo_with_worktree("wt", "issue-7");
    let server = FakeOllama::start(vec![
        calls(&[(
            "write_file",
            json!({"path": "src/lib.rs", "content": "pub fn f() {}\n"}),
        )]),
        calls(&[("task_complete", json!({"summary": "Added f."}))]),
    ]);
    let mut args = launcher_args(&w, &wt, "ollama-7");
    args.extend(
        [
            "--ollama-base-url",
            &server.url,
            "--ollama-model",
            "tiny:1b",
            "--collect-file",
            "issue-comment.md",
            "--collect-file",
            "",
            "--context",
            "ISSUE_URL=https://example.test/7",
        ]
        .map(String::from),
    );
    let (code, out, err) = run(w.shim(TOOL).args(&args));
    let reqs = server.finish();
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "", "the ollama launcher prints nothing");
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].1["model"], "tiny:1b");

    let run_dir = w.path("runs/ollama-7");
    let run_env = read_existing(run_dir.join("run.env"));
    assert_eq!(
        env_keys(&run_env),
        run_env_keys(&[
            "OLLAMA_MODEL",
            "OLLAMA_BASE_URL",
            "OLLAMA_TIMEOUT_SECONDS",
            "ISSUE_URL",
            "FINAL_HEAD",
            "FINAL_BRANCH"
        ])
    );
    assert!(run_env.contains("\nBRANCH=issue-7\n"), "{run_env}");
    assert!(run_env.contains("\nFINAL_BRANCH=issue-7\n"), "{run_env}");
    assert!(run_env.contains("\nOLLAMA_MODEL=tiny:1b\n"), "{run_env}");
    // What no flag or variable set is the backend table's default.
    let timeout = acp_core::config::backends::DEFAULTS.ollama.timeout_seconds;
    let timeout = timeout.to_string();
    assert_eq!(
        kv(&run_env, "OLLAMA_TIMEOUT_SECONDS"),
        Some(timeout.as_str())
    );

    let runner = read_existing(run_dir.join("runner.env"));
    assert_eq!(
        env_keys(&runner),
        [
            "RUNNER_STATE",
            "ATTEMPT",
            "RESUME_COUNT",
            "LAST_EXIT_CODE",
            "LAST_FAILURE_REASON",
            "LAST_TRIGGER_REASON",
            "AUTH_WAIT_STARTED_AT",
            "UPDATED_AT"
        ]
    );
    assert!(runner.starts_with("RUNNER_STATE=succeeded\n"), "{runner}");
    assert_eq!(
        read_existing(run_dir.join("result.env")),
        "OUTCOME=implemented\nACTION=host-publish-issue-pr\n"
    );
    assert_eq!(
        read_existing(run_dir.join("issue-comment.md")),
        "## Ollama Agent Summary\n\nAdded f.\n"
    );
    assert_eq!(read_existing(wt.join("src/lib.rs")), "pub fn f() {}\n");
    let log = read_existing(run_dir.join("ollama-7.log"));
    assert!(log.contains("[tool] write_file("), "{log}");
    assert!(log.ends_with("\n__CODEX_EXIT__:0\n"), "{log}");
    assert_eq!(log.matches("__CODEX_EXIT__").count(), 1, "{log}");
    assert!(
        !w.tmux()
            .args(["has-session", "-t", "=ollama-7"])
            .status()
            .unwrap()
            .success()
    );
}

#[test]
fn ollama_session_without_product_changes_is_blocked_and_stale_results_are_cleared() {
    let w = World::new();
    let wt = w.repo_with_worktree("wt", "issue-7");
    // A result left by an earlier attempt of the same session.
    let stale = wt.join(".ollama-artifacts/ollama-8/result.env");
    std::fs::create_dir_all(stale.parent().unwrap()).unwrap();
    std::fs::write(
        &stale,
        "OUTCOME=implemented\nACTION=host-publish-issue-pr\n",
    )
    .unwrap();
    let server = FakeOllama::start(vec![
        calls(&[(
            "write_file",
            json!({"path": "NOTES.md", "content": "notes\n"}),
        )]),
        text("Nothing to change."),
    ]);
    let mut args = launcher_args(&w, &wt, "ollama-8");
    args.extend(["--ollama-base-url", &server.url].map(String::from));
    let (code, _, err) = run(w.shim(TOOL).args(&args));
    server.finish();
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        read_existing(w.path("runs/ollama-8/result.env")),
        "OUTCOME=blocked\nACTION=host-comment-blocker\nDETAIL=missing-result-contract\n"
    );
}

#[test]
fn ollama_session_failure_is_recorded_with_a_quoted_contract() {
    let w = World::new();
    let wt = w.repo_with_worktree("wt", "issue-7");
    let server = FakeOllama::start(vec![Reply::Status(
        500,
        json!({"error": "boom; $(touch pwned)"}),
    )]);
    let mut args = launcher_args(&w, &wt, "ollama-9");
    args.extend(["--ollama-base-url", &server.url].map(String::from));
    let (code, _, err) = run(w.shim(TOOL).args(&args));
    server.finish();
    assert_eq!(code, 0, "{err}");
    let run_dir = w.path("runs/ollama-9");
    let runner = read_existing(run_dir.join("runner.env"));
    assert!(runner.starts_with("RUNNER_STATE=failed\n"), "{runner}");
    assert!(
        runner.contains("\nLAST_EXIT_CODE=1\nLAST_FAILURE_REASON=agent-exit-1\n"),
        "{runner}"
    );
    let result = run_dir.join("result.env");
    assert_eq!(
        bash_source_get(&w, &result, "DETAIL"),
        "ollama-api-error: HTTP 500: boom; $(touch pwned)"
    );
    assert!(!w.root().join("pwned").exists() && !wt.join("pwned").exists());
    let log = read_existing(run_dir.join("ollama-9.log"));
    assert!(log.contains("ollama agent: API error: HTTP 500"), "{log}");
    assert!(log.ends_with("\n__CODEX_EXIT__:1\n"), "{log}");
}

#[test]
fn ollama_session_times_out_on_a_silent_model() {
    let w = World::new();
    let wt = w.repo_with_worktree("wt", "issue-7");
    let server = FakeOllama::start(vec![Reply::Hang(Duration::from_secs(5))]);
    let mut args = launcher_args(&w, &wt, "ollama-10");
    args.extend(
        [
            "--ollama-base-url",
            &server.url,
            "--ollama-timeout-seconds",
            "1",
        ]
        .map(String::from),
    );
    let (code, _, err) = run(w.shim(TOOL).args(&args));
    server.finish();
    assert_eq!(code, 0, "{err}");
    let run_dir = w.path("runs/ollama-10");
    assert_eq!(
        bash_source_get(&w, &run_dir.join("result.env"), "DETAIL"),
        "timeout"
    );
    assert!(read_existing(run_dir.join("runner.env")).starts_with("RUNNER_STATE=failed\n"));
    assert!(read_existing(run_dir.join("ollama-10.log")).contains("ollama agent: timeout reached"));
}

#[test]
fn ollama_session_runs_the_reconcile_command_after_the_session_ends() {
    let w = World::new();
    let wt = w.repo_with_worktree("wt", "issue-7");
    let server = FakeOllama::start(vec![text("done")]);
    let mut args = launcher_args(&w, &wt, "ollama-11");
    args.extend(["--ollama-base-url", &server.url].map(String::from));
    blocking_suite::reconcile_runs_after_the_session_ends(&w, TOOL, &args, "ollama-11");
    server.finish();
}

#[test]
fn ollama_session_term_leaves_no_children() {
    let w = World::new();
    let wt = w.repo_with_worktree("wt", "issue-7");
    let (server, args, pids) = children_args(&w, &wt, "ollama-12");
    blocking_suite::kill_session_leaves_no_children(&w, TOOL, &args, "ollama-12", &pids);
    drop(server);
}

#[test]
fn ollama_session_hostile_values_never_execute() {
    let w = World::new();
    let wt = w.repo_with_worktree("wt", "issue-7");
    let server = FakeOllama::start(vec![text("ok")]);
    let mut args = launcher_args(&w, &wt, "ollama-13");
    args.extend(["--ollama-base-url", &server.url].map(String::from));
    blocking_suite::hostile_values_never_execute(
        &w,
        TOOL,
        &args,
        "ollama-13",
        &wt,
        "--ollama-model",
    );
    let reqs = server.finish();
    assert_eq!(reqs[0].1["model"], blocking_suite::HOSTILE_MODEL);
}

#[test]
fn ollama_session_rejects_bad_input() {
    let w = World::new();
    let wt = w.repo_with_worktree("wt", "issue-7");
    let base = launcher_args(&w, &wt, "ollama-14");

    let (code, out, _) = run(w.shim(TOOL).arg("--help"));
    assert_eq!(code, 0);
    assert!(out.contains("--ollama-base-url"), "{out}");

    let (code, _, err) = run(w.shim(TOOL).args(&base[..4]));
    assert_eq!(code, 1);
    assert!(err.contains("Usage"), "{err}");

    let (code, _, err) = run(w.shim(TOOL).args(&base).arg("--bogus"));
    assert_eq!(code, 1);
    assert!(err.starts_with("Unknown argument: --bogus"), "{err}");

    let mut bad_mode = base.clone();
    bad_mode[1] = "yolo".into();
    let (code, _, err) = run(w.shim(TOOL).args(&bad_mode));
    assert_eq!((code, err.trim()), (1, "--mode must be safe or bypass"));

    let (code, _, err) = run(w
        .shim(TOOL)
        .args(&base)
        .args(["--ollama-timeout-seconds", "10s"]));
    assert_eq!(
        (code, err.trim()),
        (1, "--ollama-timeout-seconds must be numeric")
    );

    let (code, _, err) = run(w.shim(TOOL).args(&base).args(["--context", "lower=x"]));
    assert_eq!((code, err.trim()), (1, "Invalid context key: lower"));

    let (code, _, err) = run(w.shim(TOOL).args(&base).args(["--context", "NOEQUALS"]));
    assert_eq!(
        (code, err.trim()),
        (1, "--context must use KEY=VALUE syntax: NOEQUALS")
    );
}

#[test]
fn ollama_session_term_to_the_supervisor_ends_commands_and_records_it() {
    let w = World::new();
    let wt = w.repo_with_worktree("wt", "issue-7");
    let (server, args, pids) = children_args(&w, &wt, "ollama-15");
    blocking_suite::term_to_the_supervisor_ends_the_group_and_records_it(
        &w,
        TOOL,
        &args,
        "ollama-15",
        &pids,
    );
    drop(server);
}
