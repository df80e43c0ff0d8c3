//! The ollama coding agent: a chat loop against Ollama's `/api/chat` with five
//! tools (read_file, write_file, run_command, list_directory, task_complete),
//! run in the worktree, with the original's limits and loop guards.
//!
//! Output (stdout of the agent process, which the session log captures):
//! `[tool] name(<json args>)` per call, `[agent] <text>` for a final reply,
//! `[agent] task complete` at the end of a successful run, and the loop-guard
//! lines. Errors go to stderr as `ollama agent: ...`. On failure the agent
//! writes the blocked result contract (`%q`-quoted) and exits 1.

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use acp_core::Env;
use acp_core::classify::reason;
use acp_core::envfile;
use acp_core::shellquote::QuoteLocale;
use serde_json::{Value, json};

use crate::http;

/// Most chat rounds per run.
pub const MAX_ITERATIONS: usize = 30;
/// Longest single chat request.
pub const MAX_REQUEST: Duration = Duration::from_secs(300);
/// Longest `run_command`.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Identical consecutive calls that abort the run.
pub const REPEAT_LIMIT: usize = 4;
/// Length of the call window whose immediate repetition aborts the run.
pub const CYCLE_WINDOW: usize = 6;
/// Most bytes of command output or file content handed back to the model.
pub const MAX_TOOL_OUTPUT: usize = 1024 * 1024;
/// Context size requested from Ollama.
pub const NUM_CTX: u64 = 32768;

const TASK_COMPLETE: &str = "__TASK_COMPLETE__";

const SYSTEM_PROMPT: &str = "You are a coding agent working alone inside a git worktree. \
Use the tools to inspect files, change them and run commands until the user's task is done. \
Paths are relative to the worktree root. When you have finished, call task_complete with a \
short summary of what you changed.";

/// Everything the agent needs, read from the worker environment.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub worktree: PathBuf,
    pub run_dir: Option<PathBuf>,
    pub prompt_file: Option<PathBuf>,
    pub base_url: String,
    pub model: String,
    pub timeout: Duration,
    pub result_file: Option<PathBuf>,
    pub retained_root: Option<PathBuf>,
    pub locale: QuoteLocale,
    /// The environment `run_command` children get.
    pub env: Env,
}

impl AgentConfig {
    /// Reads the `ACP_*` worker variables the inner script exports.
    pub fn from_env(env: &Env, cwd: &Path) -> Self {
        let worktree = env
            .path("ACP_WORKTREE")
            .map(|p| if p.is_absolute() { p } else { cwd.join(p) })
            .filter(|p| p.is_dir())
            .unwrap_or_else(|| cwd.to_path_buf());
        let d = crate::DEFAULTS;
        let mut base_url = env.first_or(&["ACP_OLLAMA_BASE_URL"], d.base_url);
        if base_url.ends_with('/') {
            base_url.pop();
        }
        let timeout = env
            .non_empty("ACP_OLLAMA_TIMEOUT_SECONDS")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(d.timeout_seconds);
        let retained_root = env
            .non_empty("ACP_RETAINED_REPO_ROOT")
            .map(|r| PathBuf::from(r.strip_suffix('/').unwrap_or(&r)))
            .filter(|r| !r.as_os_str().is_empty());
        Self {
            worktree,
            run_dir: env
                .path("ACP_RUN_DIR")
                .or_else(|| env.path("AGENT_PROJECT_RUN_DIR")),
            prompt_file: env.path("ACP_PROMPT_FILE"),
            base_url,
            model: env.first_or(&["ACP_OLLAMA_MODEL"], d.model),
            timeout: Duration::from_secs(timeout),
            result_file: env.path("ACP_RESULT_FILE"),
            retained_root,
            locale: QuoteLocale::from_env(env),
            env: env.clone(),
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The model called task_complete, answered without tool calls, or used
    /// up its rounds.
    Done,
    /// A failure; the string is the result contract's `DETAIL`.
    Failed(String),
    /// The agent was asked to stop (TERM/INT/HUP); no contract is written,
    /// the session supervisor records the interruption.
    Signalled(i32),
}

/// The tool definitions sent with every request.
pub fn tool_definitions() -> Value {
    fn tool(name: &str, description: &str, properties: Value, required: &[&str]) -> Value {
        json!({
            "type": "function",
            "function": {
                "name": name,
                "description": description,
                "parameters": {
                    "type": "object",
                    "properties": properties,
                    "required": required,
                },
            },
        })
    }
    json!([
        tool(
            "read_file",
            "Return the text of a file (path relative to the worktree root).",
            json!({"path": {"type": "string", "description": "Path relative to the worktree root."}}),
            &["path"],
        ),
        tool(
            "write_file",
            "Create or replace a file inside the worktree with the given text.",
            json!({
                "path": {"type": "string", "description": "Path relative to the worktree root."},
                "content": {"type": "string", "description": "The complete new file content."}
            }),
            &["path", "content"],
        ),
        tool(
            "run_command",
            "Run a shell command in the worktree root (git, tests, inspection) and return its output.",
            json!({"command": {"type": "string", "description": "The shell command line."}}),
            &["command"],
        ),
        tool(
            "list_directory",
            "List the entries of a directory (path relative to the worktree root; default the root).",
            json!({"path": {"type": "string", "description": "Directory path relative to the worktree root."}}),
            &[],
        ),
        tool(
            "task_complete",
            "Finish the task and give a summary of what was done.",
            json!({"summary": {"type": "string", "description": "What was changed and why."}}),
            &["summary"],
        ),
    ])
}

/// One tool call taken from a model message.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub name: String,
    /// Parsed arguments (`Err` holds the parse error of string arguments).
    pub args: Result<Value, String>,
}

impl ToolCall {
    fn args_json(&self) -> String {
        match &self.args {
            Ok(v) => serde_json::to_string(v).unwrap_or_default(),
            Err(_) => "null".to_string(),
        }
    }
}

fn normalize_args(raw: Option<&Value>) -> Result<Value, String> {
    match raw {
        None | Some(Value::Null) => Ok(json!({})),
        Some(Value::String(s)) if s.is_empty() => Ok(json!({})),
        Some(Value::String(s)) => {
            serde_json::from_str::<Value>(s).map_err(|e| format!("invalid tool arguments: {e}"))
        }
        Some(v) => Ok(v.clone()),
    }
}

/// The tool calls of a reply: `message.tool_calls`, or else JSON objects
/// (or one JSON array) with `name` and `arguments` written in the text, as
/// some models answer.
pub fn extract_tool_calls(msg: &Value) -> Vec<ToolCall> {
    let from_field: Vec<ToolCall> = msg
        .get("tool_calls")
        .and_then(Value::as_array)
        .map(|calls| {
            calls
                .iter()
                .map(|c| {
                    let f = c.get("function");
                    ToolCall {
                        name: f
                            .and_then(|f| f.get("name"))
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                        args: normalize_args(f.and_then(|f| f.get("arguments"))),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    if !from_field.is_empty() {
        return from_field;
    }
    let text = match msg.get("content") {
        Some(Value::String(s)) => s.trim().to_string(),
        _ => return Vec::new(),
    };
    let mut found = Vec::new();
    let bytes = text.as_bytes();
    let mut pos = 0;
    while let Some(off) = text[pos..].find('{') {
        let start = pos + off;
        let mut depth = 0usize;
        let mut end = None;
        for (i, b) in bytes.iter().enumerate().skip(start) {
            match b {
                b'{' => depth += 1,
                b'}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = Some(i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(end) = end else { break };
        if let Ok(obj) = serde_json::from_str::<Value>(&text[start..=end])
            && let Some(call) = call_from_object(&obj)
        {
            found.push(call);
        }
        pos = end + 1;
    }
    if found.is_empty()
        && text.starts_with('[')
        && let Ok(Value::Array(items)) = serde_json::from_str::<Value>(&text)
    {
        let first_named = items
            .first()
            .and_then(|i| i.get("name"))
            .is_some_and(truthy);
        if first_named {
            found = items
                .iter()
                .map(|i| ToolCall {
                    name: i
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    args: normalize_args(i.get("arguments")),
                })
                .collect();
        }
    }
    found
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        _ => true,
    }
}

fn call_from_object(obj: &Value) -> Option<ToolCall> {
    let name = obj.get("name").filter(|n| truthy(n))?;
    let args = obj.get("arguments")?;
    Some(ToolCall {
        name: name
            .as_str()
            .map_or_else(|| name.to_string(), str::to_string),
        args: normalize_args(Some(args)),
    })
}

/// The loop guards: identical consecutive calls and a repeated window.
#[derive(Debug, Default)]
pub struct Guards {
    last: String,
    repeats: usize,
    history: Vec<String>,
}

/// What the guards decided for one call.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Go,
    StuckLoop,
    StuckCycle,
}

impl Guards {
    /// Records call `sig` and says whether the run must stop.
    pub fn check(&mut self, sig: &str) -> Verdict {
        if sig == self.last {
            self.repeats += 1;
            if self.repeats + 1 >= REPEAT_LIMIT {
                return Verdict::StuckLoop;
            }
        } else {
            self.last = sig.to_string();
            self.repeats = 0;
        }
        self.history.push(sig.to_string());
        let n = self.history.len();
        if n >= CYCLE_WINDOW * 2
            && self.history[n - CYCLE_WINDOW..]
                == self.history[n - 2 * CYCLE_WINDOW..n - CYCLE_WINDOW]
        {
            return Verdict::StuckCycle;
        }
        Verdict::Go
    }
}

/// Resolves `p` against `base` without touching the file system
/// (`.` dropped, `..` pops), like Node's `path.resolve`.
pub fn lexical_resolve(base: &Path, p: &Path) -> PathBuf {
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    };
    let mut out = PathBuf::from("/");
    for c in joined.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// The worktree and the read-only retained root, both canonical.
#[derive(Debug, Clone)]
pub struct Sandbox {
    pub worktree: PathBuf,
    pub retained: Option<PathBuf>,
}

impl Sandbox {
    pub fn new(worktree: &Path, retained: Option<&Path>) -> Self {
        Self {
            worktree: acp_core::fsx::canonical_or_given(worktree),
            retained: retained.map(acp_core::fsx::canonical_or_given),
        }
    }

    fn readable(&self, real: &Path) -> bool {
        real.starts_with(&self.worktree)
            || self.retained.as_ref().is_some_and(|r| real.starts_with(r))
    }

    /// The real path of an existing file or directory the agent may read:
    /// inside the worktree or the retained root after following symlinks.
    pub fn resolve_read(&self, p: &str) -> Result<PathBuf, String> {
        let abs = lexical_resolve(&self.worktree, Path::new(p));
        let real = abs
            .canonicalize()
            .map_err(|e| format!("{}: {e}", abs.display()))?;
        if self.readable(&real) {
            Ok(real)
        } else {
            Err("path outside worktree".to_string())
        }
    }

    /// The path a write may go to: relative, no `..`, and no symlink on the
    /// way (or at the end) that leads out of the worktree.
    pub fn resolve_write(&self, p: &str) -> Result<PathBuf, String> {
        let rel = Path::new(p);
        if p.is_empty() {
            return Err("path is empty".to_string());
        }
        if rel.is_absolute() {
            return Err(
                "path outside worktree (absolute paths are not allowed for writes)".to_string(),
            );
        }
        let mut clean = PathBuf::new();
        for c in rel.components() {
            match c {
                Component::Normal(n) => clean.push(n),
                Component::CurDir => {}
                _ => {
                    return Err(
                        "path outside worktree ('..' is not allowed for writes)".to_string()
                    );
                }
            }
        }
        if clean.as_os_str().is_empty() {
            return Err("path names the worktree itself".to_string());
        }
        let target = self.worktree.join(&clean);
        // Every existing prefix must stay inside the worktree once symlinks
        // are followed; a dangling symlink is refused.
        let mut cur = self.worktree.clone();
        for c in clean.components() {
            cur.push(c);
            match std::fs::symlink_metadata(&cur) {
                Ok(meta) => {
                    if meta.file_type().is_symlink() {
                        let real = cur
                            .canonicalize()
                            .map_err(|_| "path outside worktree (dangling symlink)".to_string())?;
                        if !real.starts_with(&self.worktree) {
                            return Err("path outside worktree (symlink leads out)".to_string());
                        }
                    }
                }
                Err(_) => break,
            }
        }
        if target.is_dir() {
            return Err(format!("{p} is a directory"));
        }
        Ok(target)
    }
}

fn take_str<'a>(args: &'a Value, key: &str) -> Result<&'a str, String> {
    match args.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(format!("'{key}' must be a string")),
        None => Err(format!("missing '{key}'")),
    }
}

fn truncate_output(mut s: String) -> String {
    if s.len() > MAX_TOOL_OUTPUT {
        let mut cut = MAX_TOOL_OUTPUT;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("\n[output truncated]");
    }
    s
}

/// Opens `path` without blocking on a FIFO (`O_NONBLOCK`), for `read_file`
/// and `write_file`; anything but a regular file is refused.
fn open_regular(path: &Path, opts: &mut std::fs::OpenOptions) -> Result<std::fs::File, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = opts
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    Ok(file)
}

/// The text of a regular file, at most [`MAX_TOOL_OUTPUT`] bytes of it.
fn read_text(path: &Path) -> Result<String, String> {
    let file = open_regular(path, std::fs::OpenOptions::new().read(true))?;
    let mut bytes = Vec::new();
    file.take(MAX_TOOL_OUTPUT as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(truncate_output(
        String::from_utf8_lossy(&bytes).into_owned(),
    ))
}

/// Replaces the content of `path` (a regular file or a new one).
fn write_text(path: &Path, content: &str) -> Result<(), String> {
    // Refuse a FIFO or device before `open` could truncate or block on it.
    if let Ok(meta) = std::fs::metadata(path)
        && !meta.is_file()
    {
        return Err(format!("{} is not a regular file", path.display()));
    }
    let mut file = open_regular(
        path,
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true),
    )?;
    file.write_all(content.as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs one tool; errors come back as `error: ...` text for the model.
pub fn execute_tool(cfg: &AgentConfig, sandbox: &Sandbox, call: &ToolCall) -> String {
    let args = match &call.args {
        Ok(a) => a,
        Err(e) => return format!("error: {e}"),
    };
    let r = match call.name.as_str() {
        "read_file" => take_str(args, "path")
            .and_then(|p| sandbox.resolve_read(p))
            .and_then(|real| read_text(&real)),
        "write_file" => take_str(args, "path").and_then(|p| {
            let content = take_str(args, "content")?;
            let target = sandbox.resolve_write(p)?;
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("{}: {e}", parent.display()))?;
            }
            write_text(&target, content)?;
            Ok(format!("wrote {p}"))
        }),
        "run_command" => take_str(args, "command").and_then(|c| run_command(cfg, sandbox, c)),
        "list_directory" => {
            let p = match args.get("path") {
                None | Some(Value::Null) => Ok("."),
                Some(Value::String(s)) if s.is_empty() => Ok("."),
                Some(Value::String(s)) => Ok(s.as_str()),
                Some(_) => Err("'path' must be a string".to_string()),
            };
            p.and_then(|p| sandbox.resolve_read(p)).and_then(|real| {
                let mut names: Vec<String> = std::fs::read_dir(&real)
                    .map_err(|e| format!("{}: {e}", real.display()))?
                    .filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                names.sort();
                Ok(names.join("\n"))
            })
        }
        "task_complete" => Ok(TASK_COMPLETE.to_string()),
        other => Ok(format!("unknown tool: {other}")),
    };
    r.unwrap_or_else(|e| format!("error: {e}"))
}

/// `sh -c COMMAND` in the worktree, stdin closed, output captured, killed
/// after [`COMMAND_TIMEOUT`] (the whole process group it started).
fn run_command(cfg: &AgentConfig, sandbox: &Sandbox, command: &str) -> Result<String, String> {
    let mut cmd = Command::new("sh");
    cfg.env.apply(&mut cmd);
    cmd.arg("-c")
        .arg(command)
        .current_dir(&sandbox.worktree)
        .stdin(Stdio::null());
    let out = crate::cmdrun::run_captured(&mut cmd, COMMAND_TIMEOUT)
        .map_err(|e| format!("cannot run command: {e:#}"))?;
    if let Some(sig) = out.interrupted {
        return Err(format!("command stopped: the agent received signal {sig}"));
    }
    let stdout = truncate_output(String::from_utf8_lossy(&out.stdout).into_owned());
    let stderr = truncate_output(String::from_utf8_lossy(&out.stderr).into_owned());
    if out.timed_out {
        return Err(format!(
            "command timed out after {}s\n{stderr}{stdout}",
            COMMAND_TIMEOUT.as_secs()
        ));
    }
    if out.code != 0 {
        return Err(format!(
            "command exited with status {}\n{stderr}{stdout}",
            out.code
        ));
    }
    Ok(if stdout.is_empty() {
        "(no output)".to_string()
    } else {
        stdout
    })
}

/// Writes the blocked result contract for a failure (`DETAIL` `%q`-quoted).
pub fn write_failure(cfg: &AgentConfig, detail: &str) -> anyhow::Result<()> {
    let Some(path) = &cfg.result_file else {
        return Ok(());
    };
    envfile::write_all(
        path,
        &[
            ("OUTCOME", "blocked"),
            ("ACTION", "host-comment-blocker"),
            ("DETAIL", detail),
        ],
        cfg.locale,
    )
}

/// One chat round trip; `Err` is the message after `ollama-api-error: `.
fn chat(
    cfg: &AgentConfig,
    ep: &http::Endpoint,
    messages: &[Value],
    tools: &Value,
    deadline: Instant,
) -> Result<Value, String> {
    let body = json!({
        "model": cfg.model,
        "messages": messages,
        "tools": tools,
        "stream": false,
        "think": false,
        "options": {"num_ctx": NUM_CTX},
    });
    let bytes = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
    let request_deadline = deadline.min(Instant::now() + MAX_REQUEST);
    let resp = http::post_json(ep, "/api/chat", &bytes, request_deadline).map_err(|e| e.0)?;
    let value: Value = serde_json::from_slice(&resp.body).map_err(|e| {
        format!(
            "failed to parse ollama response (HTTP {}): {e}",
            resp.status
        )
    })?;
    if let Some(msg) = value.get("error").and_then(Value::as_str) {
        return Err(format!("HTTP {}: {msg}", resp.status));
    }
    if !(200..300).contains(&resp.status) {
        return Err(format!("HTTP {}", resp.status));
    }
    Ok(value)
}

/// Runs the agent; returns how it ended. Progress lines go to `out`,
/// error lines to `err`.
pub fn run(cfg: &AgentConfig, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<Ending> {
    let deadline = Instant::now() + cfg.timeout;
    let (prompt, ep) = match start(cfg, err)? {
        Ok(started) => started,
        Err(ending) => return Ok(ending),
    };
    let mut chat = Conversation {
        cfg,
        ep,
        sandbox: Sandbox::new(&cfg.worktree, cfg.retained_root.as_deref()),
        tools: tool_definitions(),
        messages: vec![
            json!({"role": "system", "content": SYSTEM_PROMPT}),
            json!({"role": "user", "content": prompt}),
        ],
        guards: Guards::default(),
        deadline,
    };
    let mut summary = String::new();
    for _ in 0..MAX_ITERATIONS {
        match chat.turn(out, err)? {
            Turn::Continue => {}
            Turn::Finished(s) => {
                summary = s;
                break;
            }
            Turn::Ended(ending) => return Ok(ending),
        }
    }
    write_summary(cfg, &summary)?;
    writeln!(out, "[agent] task complete")?;
    Ok(Ending::Done)
}

/// The prompt and the API endpoint, or the failure that ends the run.
fn start(
    cfg: &AgentConfig,
    err: &mut dyn Write,
) -> anyhow::Result<Result<(String, http::Endpoint), Ending>> {
    let prompt = match &cfg.prompt_file {
        Some(p) => match std::fs::read(p) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => {
                let msg = format!("cannot read prompt file {}: {e}", p.display());
                return fail(
                    cfg,
                    err,
                    &format!("unhandled error: {msg}"),
                    &format!("{}: {msg}", reason::UNHANDLED_ERROR),
                )
                .map(Err);
            }
        },
        None => String::new(),
    };
    match http::parse_base_url(&cfg.base_url) {
        Ok(ep) => Ok(Ok((prompt, ep))),
        Err(e) => fail(
            cfg,
            err,
            &format!("API error: {e}"),
            &format!("{}: {e}", reason::OLLAMA_API_ERROR),
        )
        .map(Err),
    }
}

/// `## Ollama Agent Summary` into `<run dir>/issue-comment.md` (when there
/// is a run dir and a summary).
fn write_summary(cfg: &AgentConfig, summary: &str) -> anyhow::Result<()> {
    if let Some(run_dir) = &cfg.run_dir
        && !summary.is_empty()
    {
        acp_core::fsx::create_dir_all(run_dir)?;
        acp_core::fsx::atomic_write(
            &run_dir.join("issue-comment.md"),
            format!("## Ollama Agent Summary\n\n{summary}\n").as_bytes(),
        )?;
    }
    Ok(())
}

/// What one chat round left to do.
enum Turn {
    /// The tools ran; ask the model again.
    Continue,
    /// The model is done, with this summary.
    Finished(String),
    /// The run ends here (failure or signal).
    Ended(Ending),
}

/// The conversation with the model and what its tools may touch.
struct Conversation<'a> {
    cfg: &'a AgentConfig,
    ep: http::Endpoint,
    sandbox: Sandbox,
    tools: Value,
    messages: Vec<Value>,
    guards: Guards,
    deadline: Instant,
}

impl Conversation<'_> {
    /// One round: ask the model, then run the tools it called (none: it
    /// answered, and that answer is the summary).
    fn turn(&mut self, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<Turn> {
        let msg = match self.ask(err)? {
            Ok(msg) => msg,
            Err(ending) => return Ok(Turn::Ended(ending)),
        };
        self.messages.push(msg.clone());
        let calls = extract_tool_calls(&msg);
        if calls.is_empty() {
            let content = msg
                .get("content")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if content.is_empty() {
                return Ok(Turn::Finished("(no summary)".to_string()));
            }
            writeln!(out, "[agent] {content}")?;
            return Ok(Turn::Finished(content));
        }
        self.run_calls(&calls, out, err)
    }

    /// The model's next message, or the ending (signal, timeout, API error,
    /// empty response).
    fn ask(&self, err: &mut dyn Write) -> anyhow::Result<Result<Value, Ending>> {
        let cfg = self.cfg;
        if let Some(sig) = acp_core::process::termination_signal() {
            return stopped(err, sig).map(Err);
        }
        if Instant::now() >= self.deadline {
            return fail(cfg, err, "timeout reached", reason::TIMEOUT).map(Err);
        }
        let response = match chat(cfg, &self.ep, &self.messages, &self.tools, self.deadline) {
            Ok(r) => r,
            Err(e) => {
                if let Some(sig) = acp_core::process::termination_signal() {
                    return stopped(err, sig).map(Err);
                }
                if Instant::now() >= self.deadline {
                    return fail(cfg, err, "timeout reached", reason::TIMEOUT).map(Err);
                }
                return fail(
                    cfg,
                    err,
                    &format!("API error: {e}"),
                    &format!("{}: {e}", reason::OLLAMA_API_ERROR),
                )
                .map(Err);
            }
        };
        match response.get("message") {
            Some(m @ Value::Object(_)) => Ok(Ok(m.clone())),
            _ => fail(
                cfg,
                err,
                "empty response from model",
                reason::EMPTY_RESPONSE,
            )
            .map(Err),
        }
    }

    /// Runs the round's tool calls in order (the loop guards first); a
    /// `task_complete` among them finishes the run after the round.
    fn run_calls(
        &mut self,
        calls: &[ToolCall],
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> anyhow::Result<Turn> {
        let mut finished: Option<String> = None;
        for call in calls {
            let args_json = call.args_json();
            writeln!(out, "[tool] {}({args_json})", call.name)?;
            out.flush()?;
            let stuck = match self.guards.check(&format!("{}:{args_json}", call.name)) {
                Verdict::Go => None,
                Verdict::StuckLoop => Some(("stuck in repetitive loop", reason::STUCK_LOOP)),
                Verdict::StuckCycle => Some(("detected repeating cycle", reason::STUCK_CYCLE)),
            };
            if let Some((line, why)) = stuck {
                writeln!(out, "[agent] {line}, aborting")?;
                write_failure(self.cfg, why)?;
                return Ok(Turn::Ended(Ending::Failed(why.to_string())));
            }
            let result = execute_tool(self.cfg, &self.sandbox, call);
            if let Some(sig) = acp_core::process::termination_signal() {
                return Ok(Turn::Ended(stopped(err, sig)?));
            }
            if result == TASK_COMPLETE {
                finished = Some(
                    call.args
                        .as_ref()
                        .ok()
                        .and_then(|a| a.get("summary"))
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                        .unwrap_or("(task complete)")
                        .to_string(),
                );
            }
            self.messages
                .push(json!({"role": "tool", "content": result, "name": call.name}));
        }
        Ok(finished.map_or(Turn::Continue, Turn::Finished))
    }
}

fn stopped(err: &mut dyn Write, sig: i32) -> anyhow::Result<Ending> {
    writeln!(err, "ollama agent: stopped by signal {sig}")?;
    Ok(Ending::Signalled(sig))
}

fn fail(
    cfg: &AgentConfig,
    err: &mut dyn Write,
    line: &str,
    detail: &str,
) -> anyhow::Result<Ending> {
    writeln!(err, "ollama agent: {line}")?;
    write_failure(cfg, detail)?;
    Ok(Ending::Failed(detail.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tool_calls_from_field_and_text() {
        let msg = json!({"tool_calls": [
            {"function": {"name": "read_file", "arguments": {"path": "a"}}},
            {"function": {"name": "run_command", "arguments": "{\"command\":\"ls\"}"}}
        ]});
        let calls = extract_tool_calls(&msg);
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].args, Ok(json!({"path": "a"})));
        assert_eq!(calls[1].args, Ok(json!({"command": "ls"})));

        let msg = json!({"content": "Sure. {\"name\": \"list_directory\", \"arguments\": {}} and {\"name\":\"read_file\",\"arguments\":{\"path\":\"x\"}} {not json}"});
        let calls = extract_tool_calls(&msg);
        let names: Vec<_> = calls.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["list_directory", "read_file"]);

        let msg =
            json!({"content": "[{\"name\":\"task_complete\",\"arguments\":{\"summary\":\"s\"}}]"});
        assert_eq!(extract_tool_calls(&msg)[0].name, "task_complete");

        assert!(extract_tool_calls(&json!({"content": "all done, {no calls}"})).is_empty());
        assert!(extract_tool_calls(&json!({"content": "{\"name\":\"x\"}"})).is_empty());
        let bad = extract_tool_calls(
            &json!({"tool_calls": [{"function": {"name": "read_file", "arguments": "{oops"}}]}),
        );
        assert!(bad[0].args.is_err());
    }

    #[test]
    fn guards_stop_repeats_and_cycles() {
        let mut g = Guards::default();
        assert_eq!(g.check("a"), Verdict::Go);
        assert_eq!(g.check("a"), Verdict::Go);
        assert_eq!(g.check("a"), Verdict::Go);
        assert_eq!(g.check("a"), Verdict::StuckLoop);

        let mut g = Guards::default();
        let window = ["a", "b", "c", "d", "e", "f"];
        for s in window {
            assert_eq!(g.check(s), Verdict::Go);
        }
        for s in &window[..5] {
            assert_eq!(g.check(s), Verdict::Go);
        }
        assert_eq!(g.check("f"), Verdict::StuckCycle);
    }

    #[test]
    fn lexical_resolution() {
        let base = Path::new("/w/t");
        assert_eq!(
            lexical_resolve(base, Path::new("a/./b/../c")),
            PathBuf::from("/w/t/a/c")
        );
        assert_eq!(
            lexical_resolve(base, Path::new("../../..")),
            PathBuf::from("/")
        );
        assert_eq!(
            lexical_resolve(base, Path::new("/etc/passwd")),
            PathBuf::from("/etc/passwd")
        );
    }

    fn test_config(wt: &Path) -> AgentConfig {
        AgentConfig::from_env(&Env::from_process(), wt)
    }

    fn call(name: &str, args: Value) -> ToolCall {
        ToolCall {
            name: name.to_string(),
            args: Ok(args),
        }
    }

    /// Runs `call` on a thread; `None` when it has not returned after 30 s.
    fn tool_within(wt: &Path, c: ToolCall) -> Option<String> {
        let cfg = test_config(wt);
        let sb = Sandbox::new(wt, None);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(execute_tool(&cfg, &sb, &c));
        });
        rx.recv_timeout(Duration::from_secs(30)).ok()
    }

    #[test]
    fn read_and_write_refuse_special_files() {
        let tmp = tempfile::tempdir().unwrap();
        let wt = tmp.path();
        let st = Command::new("mkfifo")
            .arg(wt.join("pipe"))
            .status()
            .unwrap();
        assert!(st.success());
        std::os::unix::fs::symlink(wt.join("pipe"), wt.join("to-pipe")).unwrap();
        for (name, args) in [
            ("read_file", json!({"path": "pipe"})),
            ("read_file", json!({"path": "to-pipe"})),
            ("write_file", json!({"path": "pipe", "content": "x"})),
            ("write_file", json!({"path": "to-pipe", "content": "x"})),
        ] {
            let out = tool_within(wt, call(name, args.clone()))
                .unwrap_or_else(|| panic!("{name}({args}) did not return"));
            assert!(out.contains("not a regular file"), "{name}({args}): {out}");
        }
        // Regular files still work, and a big one comes back truncated.
        std::fs::write(wt.join("big"), vec![b'a'; MAX_TOOL_OUTPUT + 10]).unwrap();
        let out = tool_within(wt, call("read_file", json!({"path": "big"}))).unwrap();
        assert!(out.ends_with("\n[output truncated]"), "{}", out.len());
        assert_eq!(out.len(), MAX_TOOL_OUTPUT + "\n[output truncated]".len());
        let out = tool_within(
            wt,
            call("write_file", json!({"path": "big", "content": "small"})),
        )
        .unwrap();
        assert_eq!(out, "wrote big");
        let out = tool_within(wt, call("read_file", json!({"path": "big"}))).unwrap();
        assert_eq!(out, "small");
    }

    #[test]
    fn run_command_does_not_wait_for_a_detached_process_holding_its_output() {
        let tmp = tempfile::tempdir().unwrap();
        let wt = tmp.path();
        // A process in its own session (out of reach of the group kill)
        // that keeps the command's stdout and stderr open for 60 s.
        let cmd = "setsid sh -c 'echo $$ > daemon.pid; exec sleep 60' & \
                   while [ ! -s daemon.pid ]; do sleep 0.05; done; echo started";
        let out = tool_within(wt, call("run_command", json!({ "command": cmd })));
        let pid: u32 = std::fs::read_to_string(wt.join("daemon.pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let alive = acp_core::process::signal_pid(pid, 0);
        acp_core::process::signal_pid(pid, libc::SIGKILL);
        let Some(out) = out else {
            panic!("run_command did not return");
        };
        assert!(
            alive,
            "run_command returned only after the detached process ended: {out}"
        );
        assert_eq!(out, "started\n");
    }

    #[test]
    fn writes_are_confined_to_the_worktree() {
        let tmp = tempfile::tempdir().unwrap();
        let wt = tmp.path().join("wt");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(wt.join("sub")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, wt.join("escape")).unwrap();
        std::os::unix::fs::symlink(outside.join("f"), wt.join("link-out")).unwrap();
        std::os::unix::fs::symlink(wt.join("sub"), wt.join("link-in")).unwrap();
        let sb = Sandbox::new(&wt, None);
        assert!(sb.resolve_write("sub/new/file.txt").is_ok());
        assert!(sb.resolve_write("./a.txt").is_ok());
        assert!(sb.resolve_write("link-in/x").is_ok());
        for bad in [
            "/etc/x",
            "../x",
            "sub/../../x",
            "escape/x",
            "link-out",
            "",
            ".",
            "sub",
        ] {
            assert!(sb.resolve_write(bad).is_err(), "{bad}");
        }
        // Reads: inside ok, symlinked out refused, absolute inside ok.
        std::fs::write(wt.join("sub/r.txt"), "r").unwrap();
        std::fs::write(outside.join("secret"), "s").unwrap();
        assert!(sb.resolve_read("sub/r.txt").is_ok());
        assert!(
            sb.resolve_read(wt.join("sub/r.txt").to_str().unwrap())
                .is_ok()
        );
        assert_eq!(
            sb.resolve_read("escape/secret").unwrap_err(),
            "path outside worktree"
        );
        assert_eq!(
            sb.resolve_read("../outside/secret").unwrap_err(),
            "path outside worktree"
        );
        let with_retained = Sandbox::new(&wt, Some(&outside));
        assert!(with_retained.resolve_read("escape/secret").is_ok());
    }
}
