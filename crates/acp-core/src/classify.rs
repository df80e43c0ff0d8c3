//! Failure classification: ordered pattern tables mapping agent output to
//! reason constants, shared by every backend and by worker-status.
//!
//! Every table is plain data (`&[Rule]`): the first rule whose pattern
//! matches anywhere in the text decides the reason. Patterns use the `regex`
//! crate syntax (which is also ripgrep's), are searched over the whole text in
//! multi-line mode (`^`/`$` match at line boundaries, as the original line-based
//! `grep -E`/`rg` calls did) and are case-insensitive unless a rule says
//! otherwise. Tightening an over-broad pattern (bug B8 of the worker-session
//! spec) is a one-line change here.
//!
//! The second half of the module is the decision logic of
//! `agent-project-worker-status` ([`evaluate_worker_status`]).

use std::sync::OnceLock;

use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

/// When a provider's quota comes back, from its failure message.
#[path = "classify_reset.rs"]
pub mod reset;

/// Reason strings written to runner.env `LAST_FAILURE_REASON`, result.env
/// `DETAIL` and printed by worker-status as `FAILURE_REASON`.
/// Why a run was declared stalled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StallKind {
    /// No output at all within the silent-stall threshold.
    NoOutput,
    /// Output was seen, but no progress signal within the progress threshold.
    NoProgress,
}

pub mod reason {
    pub const USAGE_LIMIT: &str = "usage-limit";
    pub const AUTH_401: &str = "auth-401";
    pub const ACCOUNT_BANNED: &str = "account-banned";
    pub const AUTH_FAILURE: &str = "auth-failure";
    pub const WORKER_EXIT_FAILED: &str = "worker-exit-failed";
    pub const NO_CODEX_OUTPUT: &str = "no-codex-output-before-stall-threshold";
    pub const NO_CODEX_PROGRESS: &str = "no-codex-progress-before-stall-threshold";
    pub const RESUME_ATTEMPTS_EXHAUSTED: &str = "resume-attempts-exhausted";
    pub const QUOTA_SWITCH_ATTEMPT_LIMIT: &str = "quota-switch-attempt-limit";
    pub const QUOTA_SWITCH_DEFERRED: &str = "quota-switch-deferred";
    pub const AUTH_REFRESH_TIMEOUT: &str = "auth-refresh-timeout";
    pub const PROVIDER_QUOTA_LIMIT: &str = "provider-quota-limit";
    pub const MODEL_UNAVAILABLE: &str = "model-unavailable";
    pub const NETWORK_CONNECTION: &str = "network-connection";
    pub const TIMEOUT: &str = "timeout";
    pub const CLAUDE_EXIT_FAILED: &str = "claude-exit-failed";
    pub const OPENCLAW_VERSION_MISMATCH: &str = "openclaw-version-mismatch";
    pub const CONTEXT_LENGTH_EXCEEDED: &str = "context-length-exceeded";
    pub const NO_AGENT_OUTPUT: &str = "no-agent-output-before-stall-threshold";
    pub const NO_AGENT_PROGRESS: &str = "no-agent-progress-before-stall-threshold";
    pub const OPENCLAW_EXIT_FAILED: &str = "openclaw-exit-failed";
    pub const OPENCLAW_CONFIG_SYNC_FAILED: &str = "openclaw-config-sync-failed";
    pub const RUNNER_ABORTED: &str = "runner-aborted-before-completion";
    /// The result.env `DETAIL` of a run that ended without a contract.
    pub const MISSING_RESULT_CONTRACT: &str = "missing-result-contract";
    /// openclaw: the agent called a tool with an empty command.
    pub const WORKER_TOOL_EXEC_EMPTY_COMMAND: &str = "worker-tool-exec-empty-command";
    /// openclaw: the inferred "nothing to change" report.
    pub const NO_CHANGES_NEEDED: &str = "no-changes-needed";
    /// ollama agent `DETAIL` values (the two prefixed ones are followed by
    /// `: <message>`).
    pub const OLLAMA_API_ERROR: &str = "ollama-api-error";
    pub const EMPTY_RESPONSE: &str = "empty-response";
    pub const STUCK_LOOP: &str = "stuck-loop";
    pub const STUCK_CYCLE: &str = "stuck-cycle";
    pub const UNHANDLED_ERROR: &str = "unhandled-error";
    pub const AGENT_EXIT_FAILED: &str = "agent-exit-failed";
}

/// One row of a classification table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The reason this rule yields.
    pub reason: &'static str,
    /// A `regex`-crate pattern, searched anywhere in the text.
    pub pattern: &'static str,
    /// Whether case matters (`false` = the original's `grep -i`).
    pub case_sensitive: bool,
}

const fn ci(reason: &'static str, pattern: &'static str) -> Rule {
    Rule {
        reason,
        pattern,
        case_sensitive: false,
    }
}

const fn cs(reason: &'static str, pattern: &'static str) -> Rule {
    Rule {
        reason,
        pattern,
        case_sensitive: true,
    }
}

/// Codex usage-limit wording (the resilient runner and worker-status share it).
pub const CODEX_USAGE_LIMIT_PATTERN: &str = r"You've hit your usage limit|You have reached your Codex usage limits|visit https://chatgpt\.com/codex/settings/usage|Upgrade to Pro|rate limit exceeded|quota exceeded|usage cap (reached|exceeded)|usage quota (reached|exceeded)";

const CODEX_OUTPUT_STALL_PATTERN: &str = "no-codex-output-before-stall-threshold";
const CODEX_PROGRESS_STALL_PATTERN: &str = "no-codex-progress-before-stall-threshold";

/// A status code is only a status code right after a word that says so,
/// with nothing but punctuation and blanks between: `HTTP 401`, `status:
/// 429`, `Error: 401`, `{"code":429`, `status_code=401`. A number alone
/// (`line 401:`, `PR #4291`, `issue 14290`) or one further away (`error on
/// line 401`) never decides (bug B8).
macro_rules! status_code {
    ($code:literal) => {
        concat!(
            r"(status|http|error|code|received|returned)[^0-9a-z\n]{0,8}",
            $code,
            r"\b"
        )
    };
}

/// The resilient Codex runner's table, applied to the last
/// [`CODEX_RECENT_LINES`] lines of one attempt's output. No match and a
/// non-zero exit code means [`reason::WORKER_EXIT_FAILED`].
pub const CODEX_FAILURE: &[Rule] = &[
    ci(reason::NO_CODEX_OUTPUT, CODEX_OUTPUT_STALL_PATTERN),
    ci(reason::NO_CODEX_PROGRESS, CODEX_PROGRESS_STALL_PATTERN),
    ci(reason::USAGE_LIMIT, CODEX_USAGE_LIMIT_PATTERN),
    ci(
        reason::AUTH_401,
        concat!(
            status_code!("401"),
            r"|\bunauthorized\b|invalid credentials|invalid api key"
        ),
    ),
    ci(
        reason::ACCOUNT_BANNED,
        r"account (is )?(banned|suspended|disabled)|access revoked|account revoked|forbidden due to policy|account blocked|policy violation",
    ),
    ci(
        reason::AUTH_FAILURE,
        r"Authentication required|Please log in|Please login|Please authenticate|login required|run codex login|codex login required|logged out|not logged in|expired session|session expired|token expired|reauthenticate|unauthenticated|auth(entication)? failed|credentials expired",
    ),
];

/// How many trailing lines of an attempt's output the Codex runner classifies.
pub const CODEX_RECENT_LINES: usize = 120;

/// A timeout reported as one: the word `timeout` in ordinary output (an
/// option name, a code change) decides nothing.
macro_rules! timeout_pattern {
    () => {
        r"timed out|ETIMEDOUT|timeout error|timeout exceeded"
    };
}
const TIMEOUT_PATTERN: &str = timeout_pattern!();

/// The Claude session's table, applied to each file in turn (attempt log,
/// then debug log); no match in any file means [`reason::CLAUDE_EXIT_FAILED`].
/// Narrower than 0.2.0 (bug B8): the words `api key` or `authentication`, a
/// bare `429` or the word `timeout` in ordinary output decide nothing.
pub const CLAUDE_FAILURE: &[Rule] = &[
    ci(
        reason::AUTH_FAILURE,
        concat!(
            r"invalid api key|invalid x-api-key|authentication_error|authentication (failed|required|error)|\bunauthorized\b|login required|please run /login|not logged in|oauth token (has )?expired|api key (is )?(missing|invalid|not set|required)|",
            status_code!("401")
        ),
    ),
    ci(
        reason::PROVIDER_QUOTA_LIMIT,
        concat!(
            r"rate[ _]limit|quota exceeded|insufficient credits|credit balance is too low|payment required|usage limit reached|too many requests|",
            status_code!("429")
        ),
    ),
    ci(
        reason::MODEL_UNAVAILABLE,
        r"model .{0,120} not available|unsupported model|invalid model|model not found",
    ),
    ci(
        reason::NETWORK_CONNECTION,
        r"connection reset|connection error|network error|temporarily unavailable|ECONNRESET|ECONNREFUSED|ENOTFOUND|EAI_AGAIN",
    ),
    ci(reason::TIMEOUT, TIMEOUT_PATTERN),
];

/// The one-shot CLI backends' table (crush, kilo, pi), over the run's part of
/// the log: provider errors only, auth first (a refused key is never a
/// quota). No match means `<name>-exit-<code>` ([`exit_code_reason`]).
pub const CLI_FAILURE: &[Rule] = &[
    ci(
        reason::AUTH_FAILURE,
        concat!(
            r"invalid api key|invalid x-api-key|authentication_error|authentication (failed|required)|\bunauthorized\b|not logged in|login required|no api key|api key (is )?(missing|invalid|not set|required)|",
            status_code!("401")
        ),
    ),
    ci(
        reason::PROVIDER_QUOTA_LIMIT,
        concat!(
            r"rate[ _]limit|quota exceeded|insufficient[ _](credits|quota)|credit balance is too low|payment required|too many requests|",
            status_code!("429")
        ),
    ),
];

const OPENCLAW_VERSION_PATTERN: &str = "Config was last written by a newer OpenClaw";
const OPENCLAW_AUTH_PATTERN: &str = r"invalid api key|authentication failed|\bunauthorized\b|provider api key|login required|please authenticate|api_key_invalid";
/// A `429` counts at the start of a line or after punctuation (`(429)`,
/// `status: 429`), never inside `PR #4291` or an issue number.
const OPENCLAW_QUOTA_PATTERN: &str = r"rate limit exceeded|quota exceeded|usage limit|insufficient credits|payment required|too many requests|(?:^|[^#\w])429\b";
const OPENCLAW_MODEL_PATTERN: &str =
    "model not found|model .* not available|unsupported model|invalid model";
const OPENCLAW_CONTEXT_PATTERN: &str =
    "context length exceeded|token limit|maximum context|too many tokens";

/// The provider errors that end a live OpenClaw agent at once (waiting will
/// not help); the first five rows of [`OPENCLAW_FAILURE`].
pub const OPENCLAW_TERMINAL: &[Rule] = &[
    ci(reason::OPENCLAW_VERSION_MISMATCH, OPENCLAW_VERSION_PATTERN),
    ci(reason::AUTH_FAILURE, OPENCLAW_AUTH_PATTERN),
    ci(reason::PROVIDER_QUOTA_LIMIT, OPENCLAW_QUOTA_PATTERN),
    ci(reason::MODEL_UNAVAILABLE, OPENCLAW_MODEL_PATTERN),
    ci(reason::CONTEXT_LENGTH_EXCEEDED, OPENCLAW_CONTEXT_PATTERN),
];

/// The OpenClaw session's table over the run's log; no match means
/// [`reason::OPENCLAW_EXIT_FAILED`]. An unreachable gateway (`ECONNREFUSED`)
/// counts as a timeout.
pub const OPENCLAW_FAILURE: &[Rule] = &[
    ci(reason::OPENCLAW_VERSION_MISMATCH, OPENCLAW_VERSION_PATTERN),
    ci(reason::AUTH_FAILURE, OPENCLAW_AUTH_PATTERN),
    ci(reason::PROVIDER_QUOTA_LIMIT, OPENCLAW_QUOTA_PATTERN),
    ci(reason::MODEL_UNAVAILABLE, OPENCLAW_MODEL_PATTERN),
    ci(reason::CONTEXT_LENGTH_EXCEEDED, OPENCLAW_CONTEXT_PATTERN),
    ci(
        reason::NO_AGENT_OUTPUT,
        "no-agent-output-before-stall-threshold",
    ),
    ci(
        reason::NO_AGENT_PROGRESS,
        "no-agent-progress-before-stall-threshold",
    ),
    ci(
        reason::TIMEOUT,
        concat!(timeout_pattern!(), "|ECONNREFUSED"),
    ),
];

/// Failure reasons after which a resident (`--keep-agent`) OpenClaw agent is
/// rebuilt from scratch and the run retried once.
pub const OPENCLAW_RESIDENT_RESET: &[&str] = &[reason::OPENCLAW_VERSION_MISMATCH];

/// The window of recent output the OpenClaw terminal patterns are searched in.
pub const OPENCLAW_TERMINAL_TAIL_BYTES: usize = 8192;

/// worker-status: reasons recovered from the session log of a worker that
/// left no terminal runner state (the startup-stall trace check follows, see
/// [`status_failure_from_log`]).
pub const STATUS_LOG: &[Rule] = &[
    ci(reason::USAGE_LIMIT, CODEX_USAGE_LIMIT_PATTERN),
    ci(reason::NO_CODEX_OUTPUT, CODEX_OUTPUT_STALL_PATTERN),
    ci(reason::NO_CODEX_PROGRESS, CODEX_PROGRESS_STALL_PATTERN),
];

/// worker-status's last resort: the usage-limit wording alone.
pub const STATUS_USAGE_LIMIT: &[Rule] = &[ci(reason::USAGE_LIMIT, CODEX_USAGE_LIMIT_PATTERN)];

/// Codex JSON events that prove the turn started (case-sensitive).
pub const CODEX_TURN_STARTED: &str = r#""type":"turn.started""#;
/// Codex JSON events that prove the thread started (case-sensitive).
pub const CODEX_THREAD_STARTED: &str = r#""type":"thread.started""#;
/// Codex JSON events that prove tool activity or a finished turn.
pub const CODEX_ACTIVITY: &[Rule] = &[
    cs("item.started", r#""type":"item\.started""#),
    cs("item.completed", r#""type":"item\.completed""#),
    cs("turn.completed", r#""type":"turn\.completed""#),
];

/// Reasons after which the Claude session retries an attempt.
pub const CLAUDE_RETRYABLE: &[&str] = &[reason::NETWORK_CONNECTION, reason::TIMEOUT];

/// Reasons that make the Codex runner wait for an auth refresh and resume.
pub const CODEX_AUTH_RECOVERABLE: &[&str] = &[
    reason::USAGE_LIMIT,
    reason::AUTH_FAILURE,
    reason::AUTH_401,
    reason::ACCOUNT_BANNED,
];

/// The subset of [`CODEX_AUTH_RECOVERABLE`] that triggers an account rotation.
pub const CODEX_ROTATION_REASONS: &[&str] = &[
    reason::USAGE_LIMIT,
    reason::AUTH_401,
    reason::ACCOUNT_BANNED,
];

/// A compiled table: one pass over the text finds every matching rule, the
/// first in table order wins.
#[derive(Debug)]
pub struct Classifier {
    rules: &'static [Rule],
    set: RegexSet,
}

impl Classifier {
    /// Compiles `rules` (an error names the offending pattern).
    pub fn new(rules: &'static [Rule]) -> Result<Self, regex::Error> {
        let patterns = rules.iter().map(|r| {
            if r.case_sensitive {
                format!("(?m:{})", r.pattern)
            } else {
                format!("(?mi:{})", r.pattern)
            }
        });
        let set = RegexSetBuilder::new(patterns)
            .size_limit(64 << 20)
            .build()?;
        Ok(Self { rules, set })
    }

    /// The first rule (in table order) that matches `text`.
    pub fn first_rule(&self, text: &[u8]) -> Option<&'static Rule> {
        self.set
            .matches(text)
            .iter()
            .next()
            .and_then(|i| self.rules.get(i))
    }

    /// The reason of the first matching rule.
    pub fn classify(&self, text: &[u8]) -> Option<&'static str> {
        self.first_rule(text).map(|r| r.reason)
    }

    /// Whether any rule matches.
    pub fn is_match(&self, text: &[u8]) -> bool {
        self.set.is_match(text)
    }
}

/// A lazily compiled table. The tables are constants covered by unit tests,
/// so a compile failure cannot happen at run time; if it ever did, the table
/// would match nothing rather than panic.
#[derive(Debug)]
pub struct Table {
    rules: &'static [Rule],
    compiled: OnceLock<Option<Classifier>>,
}

impl Table {
    /// A table over `rules`, compiled on first use.
    pub const fn new(rules: &'static [Rule]) -> Self {
        Self {
            rules,
            compiled: OnceLock::new(),
        }
    }

    fn get(&self) -> Option<&Classifier> {
        self.compiled
            .get_or_init(|| Classifier::new(self.rules).ok())
            .as_ref()
    }

    /// The table's rules, in order.
    pub fn rules(&self) -> &'static [Rule] {
        self.rules
    }

    /// The reason of the first matching rule.
    pub fn classify(&self, text: &[u8]) -> Option<&'static str> {
        self.get().and_then(|c| c.classify(text))
    }

    /// Whether any rule matches.
    pub fn is_match(&self, text: &[u8]) -> bool {
        self.get().is_some_and(|c| c.is_match(text))
    }
}

/// [`CODEX_FAILURE`], compiled.
pub static CODEX: Table = Table::new(CODEX_FAILURE);
/// [`CLAUDE_FAILURE`], compiled.
pub static CLAUDE: Table = Table::new(CLAUDE_FAILURE);
/// [`OPENCLAW_FAILURE`], compiled.
pub static OPENCLAW: Table = Table::new(OPENCLAW_FAILURE);
/// [`CLI_FAILURE`], compiled.
pub static CLI: Table = Table::new(CLI_FAILURE);
/// [`OPENCLAW_TERMINAL`], compiled.
pub static OPENCLAW_TERMINAL_PATTERNS: Table = Table::new(OPENCLAW_TERMINAL);
/// [`STATUS_LOG`], compiled.
pub static STATUS: Table = Table::new(STATUS_LOG);
/// [`STATUS_USAGE_LIMIT`], compiled.
pub static STATUS_USAGE: Table = Table::new(STATUS_USAGE_LIMIT);
/// [`CODEX_ACTIVITY`], compiled.
pub static CODEX_ACTIVITY_EVENTS: Table = Table::new(CODEX_ACTIVITY);

/// The last `n` lines of `text` (`tail -n N`; a final line without a newline
/// counts as a line).
pub fn last_lines(text: &[u8], n: usize) -> &[u8] {
    if n == 0 {
        return &text[text.len()..];
    }
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    let mut seen = 0;
    for (i, b) in body.iter().enumerate().rev() {
        if *b == b'\n' {
            seen += 1;
            if seen == n {
                return &text[i + 1..];
            }
        }
    }
    text
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    let needle = needle.as_bytes();
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Classifies one Codex attempt: `chunk` is the output written during the
/// attempt; only its last [`CODEX_RECENT_LINES`] lines count. Without a
/// matching rule a non-zero `exit_code` gives [`reason::WORKER_EXIT_FAILED`].
pub fn classify_codex_failure(chunk: &[u8], exit_code: Option<i32>) -> Option<&'static str> {
    let recent = last_lines(chunk, CODEX_RECENT_LINES);
    let fallback = match exit_code {
        Some(code) if code != 0 => Some(reason::WORKER_EXIT_FAILED),
        _ => None,
    };
    CODEX.classify(recent).or(fallback)
}

/// Whether a Codex attempt stalled at startup: the thread and turn started
/// (in the last [`CODEX_RECENT_LINES`] lines) but no item activity and no
/// completed turn followed.
pub fn is_codex_startup_stall(chunk: &[u8]) -> bool {
    let recent = last_lines(chunk, CODEX_RECENT_LINES);
    contains(recent, CODEX_THREAD_STARTED)
        && contains(recent, CODEX_TURN_STARTED)
        && !CODEX_ACTIVITY_EVENTS.is_match(recent)
}

/// Classifies a failed Claude attempt from its files, in order (each file's
/// first match wins, the first file with a match decides).
pub fn classify_claude_failure<T: AsRef<[u8]>>(files: &[T]) -> &'static str {
    files
        .iter()
        .find_map(|f| CLAUDE.classify(f.as_ref()))
        .unwrap_or(reason::CLAUDE_EXIT_FAILED)
}

/// Whether the Claude session retries after `reason`.
pub fn is_claude_retryable(reason: &str) -> bool {
    CLAUDE_RETRYABLE.contains(&reason)
}

/// Classifies a failed OpenClaw run from its whole session log.
pub fn classify_openclaw_failure(log: &[u8]) -> &'static str {
    OPENCLAW
        .classify(log)
        .unwrap_or(reason::OPENCLAW_EXIT_FAILED)
}

/// Whether a resident OpenClaw agent that failed for `reason` is rebuilt and
/// the run retried once.
pub fn openclaw_resets_resident(reason: &str) -> bool {
    OPENCLAW_RESIDENT_RESET.contains(&reason)
}

/// The provider reason (`auth-failure`, `provider-quota-limit`) in a one-shot
/// CLI backend's output, if any.
pub fn classify_cli_failure(output: &[u8]) -> Option<&'static str> {
    CLI.classify(output)
}

/// Whether the Codex runner waits for an auth refresh and resumes after
/// `reason` ([`CODEX_AUTH_RECOVERABLE`]).
pub fn is_codex_auth_recoverable(reason: &str) -> bool {
    CODEX_AUTH_RECOVERABLE.contains(&reason)
}

/// Whether `reason` makes the Codex runner rotate accounts
/// ([`CODEX_ROTATION_REASONS`]).
pub fn is_codex_rotation_reason(reason: &str) -> bool {
    CODEX_ROTATION_REASONS.contains(&reason)
}

/// The reason written when the supervisor ended a silent or stalled
/// non-Codex agent.
pub fn agent_stall_reason(kind: StallKind) -> &'static str {
    match kind {
        StallKind::NoOutput => reason::NO_AGENT_OUTPUT,
        StallKind::NoProgress => reason::NO_AGENT_PROGRESS,
    }
}

/// The reason written when the supervisor ended a silent or stalled Codex.
pub fn codex_stall_reason(kind: StallKind) -> &'static str {
    match kind {
        StallKind::NoOutput => reason::NO_CODEX_OUTPUT,
        StallKind::NoProgress => reason::NO_CODEX_PROGRESS,
    }
}

/// The terminal error in the last 8 KiB of OpenClaw output, if any.
pub fn openclaw_terminal_match(output: &[u8]) -> Option<&'static str> {
    let start = output.len().saturating_sub(OPENCLAW_TERMINAL_TAIL_BYTES);
    OPENCLAW_TERMINAL_PATTERNS.classify(&output[start..])
}

/// The reason of a backend that only distinguishes timeouts (exit 124) from
/// other failures: `timeout` or `<prefix>-exit-<code>` (pi, opencode, kilo,
/// ollama's `agent`).
pub fn exit_code_reason(prefix: &str, exit_code: i32) -> String {
    if exit_code == 124 {
        reason::TIMEOUT.to_string()
    } else {
        format!("{prefix}-exit-{exit_code}")
    }
}

// ---------------------------------------------------------------------------
// worker-status
// ---------------------------------------------------------------------------

/// The default exit-marker prefix (`__CODEX_EXIT__:` and kin).
pub const DEFAULT_EXIT_MARKER: &str = r"__\w+_EXIT__:";

/// Runner states that mean the worker had not finished.
pub const ACTIVE_RUNNER_STATES: &[&str] = &["running", "waiting-auth-refresh", "switching-account"];

/// Whether `state` is one of [`ACTIVE_RUNNER_STATES`].
pub fn is_active_runner_state(state: &str) -> bool {
    ACTIVE_RUNNER_STATES.contains(&state)
}

/// An exit-marker search: `<marker>[0-9]+`, last match wins.
///
/// Compiling the default marker (`\w` is a large Unicode class) costs more
/// than the rest of a worker-status run, so it is compiled only when a log
/// must actually be searched and contains the marker's fixed part; custom
/// markers are compiled (and so validated) at once.
#[derive(Debug)]
pub struct ExitMarker {
    pattern: String,
    /// Text every match must contain (for the default marker), checked
    /// before anything is compiled.
    required: Option<&'static str>,
    compiled: OnceLock<Result<CompiledMarker, regex::Error>>,
}

#[derive(Debug)]
struct CompiledMarker {
    /// Applied to one line at a time.
    re: Regex,
    /// The same pattern in multi-line mode over the whole text: when it finds
    /// nothing, no line can match. `None` when the marker uses `\A`/`\z`,
    /// whose meaning differs between a line and the whole text.
    whole: Option<Regex>,
}

impl CompiledMarker {
    fn build(marker: &str) -> Result<Self, regex::Error> {
        let pattern = format!("{marker}[0-9]+");
        let re = RegexBuilder::new(&pattern).size_limit(64 << 20).build()?;
        let whole = if marker.contains("\\A") || marker.contains("\\z") {
            None
        } else {
            Some(
                RegexBuilder::new(&pattern)
                    .multi_line(true)
                    .size_limit(64 << 20)
                    .build()?,
            )
        };
        Ok(Self { re, whole })
    }
}

impl ExitMarker {
    /// `<marker>[0-9]+` (`marker` is a regex, as for `rg`); an invalid custom
    /// marker is an error here.
    pub fn new(marker: &str) -> Result<Self, regex::Error> {
        let this = Self {
            pattern: marker.to_string(),
            required: (marker == DEFAULT_EXIT_MARKER).then_some("_EXIT__:"),
            compiled: OnceLock::new(),
        };
        if this.required.is_none()
            && let Err(e) = this.compiled()
        {
            return Err(e.clone());
        }
        Ok(this)
    }

    fn compiled(&self) -> &Result<CompiledMarker, regex::Error> {
        self.compiled
            .get_or_init(|| CompiledMarker::build(&self.pattern))
    }

    /// The exit code of the last marker in `log` (lines are searched one by
    /// one, as `rg -o` did): the matched text after its last `:`.
    pub fn last_exit_code(&self, log: &[u8]) -> Option<String> {
        if self.required.is_some_and(|r| !contains(log, r)) {
            return None;
        }
        let compiled = self.compiled().as_ref().ok()?;
        // Any match inside a line is a match in the whole text: one pass
        // settles the common "no marker" case.
        if compiled.whole.as_ref().is_some_and(|w| !w.is_match(log)) {
            return None;
        }
        let last = log
            .rsplit(|b| *b == b'\n')
            .find_map(|line| compiled.re.find_iter(line).last())?;
        let text = String::from_utf8_lossy(last.as_bytes());
        let code = match text.rfind(':') {
            Some(i) => &text[i + 1..],
            None => &text[..],
        };
        Some(code.to_string())
    }
}

/// worker-status's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerStatus {
    Running,
    Succeeded,
    Failed,
    Unknown,
}

impl WorkerStatus {
    /// `RUNNING`, `SUCCEEDED`, `FAILED` or `UNKNOWN`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "RUNNING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::Unknown => "UNKNOWN",
        }
    }
}

impl std::fmt::Display for WorkerStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The runner.env values worker-status looks at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunnerFacts {
    pub state: String,
    pub thread_id: String,
    pub last_exit_code: String,
    pub last_failure_reason: String,
}

/// Everything worker-status decides from.
#[derive(Debug, Clone, Copy)]
pub struct StatusInput<'a> {
    /// Whether the tmux session is alive.
    pub tmux_alive: bool,
    /// runner.env's values, when the file exists.
    pub runner: Option<&'a RunnerFacts>,
    /// The session log's bytes, when the file exists.
    pub log: Option<&'a [u8]>,
    /// Whether result.env exists.
    pub result_exists: bool,
    /// The exit-marker search (`None`: an invalid marker, nothing matches).
    pub exit_marker: Option<&'a ExitMarker>,
}

/// worker-status's verdict; empty strings are not printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    pub status: WorkerStatus,
    pub exit_code: String,
    pub failure_reason: String,
    pub thread_id: String,
    pub result_only_completion: bool,
}

/// A reason recovered from the log of a worker that left no terminal state:
/// the [`STATUS_LOG`] table, then a Codex trace that shows a started turn and
/// no activity at all (`no-codex-progress-before-stall-threshold`).
pub fn status_failure_from_log(log: &[u8]) -> Option<&'static str> {
    STATUS.classify(log).or_else(|| {
        (contains(log, CODEX_TURN_STARTED) && !CODEX_ACTIVITY_EVENTS.is_match(log))
            .then_some(reason::NO_CODEX_PROGRESS)
    })
}

/// Decides a session's status.
///
/// Order (the first step that settles the status wins; `FAILURE_REASON`
/// starts as runner.env's `LAST_FAILURE_REASON`):
/// 1. live tmux session: `RUNNING`;
/// 2. runner state `succeeded`: `SUCCEEDED`; `failed`: `FAILED` with
///    `LAST_EXIT_CODE`;
/// 3. an exit marker in the log: `SUCCEEDED` for 0, else `FAILED`;
/// 4. no active runner state (runner.env missing, or a state that is neither
///    terminal nor active) and result.env present: `SUCCEEDED`,
///    result-only completion — a worker that wrote its contract finished it,
///    whatever the log's text says;
/// 5. no reason yet: a reason recovered from the log ([`status_failure_from_log`]): `FAILED`;
/// 6. an active runner state (`running`, `waiting-auth-refresh`,
///    `switching-account`) with the session gone: `FAILED`,
///    `runner-aborted-before-completion` unless a reason is known — checked
///    before result.env, which may be a stale one from an earlier cycle;
/// 7. the usage-limit wording in the log: `FAILED`, `usage-limit`.
///
/// The original checked result.env after step 6 for every runner state; the
/// original tests need it before the log-derived reasons when the runner is
/// not active (codex-recovery's result-only case) and after them when it is
/// (the crash test's stall cases, which keep a stale result.env).
pub fn evaluate_worker_status(input: &StatusInput<'_>) -> StatusReport {
    let mut status = WorkerStatus::Unknown;
    let mut exit_code = String::new();
    let mut failure_reason = String::new();
    let mut thread_id = String::new();
    let mut result_only = false;

    if input.tmux_alive {
        status = WorkerStatus::Running;
    }

    let runner_state = input.runner.map(|r| r.state.as_str()).unwrap_or("");
    let last_exit_code = input
        .runner
        .map(|r| r.last_exit_code.as_str())
        .unwrap_or("");
    if let Some(r) = input.runner {
        thread_id = r.thread_id.clone();
        failure_reason = r.last_failure_reason.clone();
    }
    let runner_active = is_active_runner_state(runner_state);

    if status == WorkerStatus::Unknown {
        match runner_state {
            "succeeded" => status = WorkerStatus::Succeeded,
            "failed" => {
                status = WorkerStatus::Failed;
                exit_code = last_exit_code.to_string();
            }
            _ => {}
        }
    }

    if status == WorkerStatus::Unknown {
        let marker_code = match (input.log, input.exit_marker) {
            (Some(log), Some(marker)) => marker.last_exit_code(log),
            _ => None,
        };
        if let Some(code) = marker_code {
            status = if code == "0" {
                WorkerStatus::Succeeded
            } else {
                WorkerStatus::Failed
            };
            exit_code = code;
        }
    }

    if status == WorkerStatus::Unknown && !runner_active && input.result_exists {
        status = WorkerStatus::Succeeded;
        result_only = true;
    }

    if status == WorkerStatus::Unknown
        && failure_reason.is_empty()
        && let Some(reason) = input.log.and_then(status_failure_from_log)
    {
        failure_reason = reason.to_string();
        status = WorkerStatus::Failed;
    }

    if status == WorkerStatus::Unknown && runner_active {
        status = WorkerStatus::Failed;
        if failure_reason.is_empty() {
            failure_reason = reason::RUNNER_ABORTED.to_string();
        }
        if exit_code.is_empty() {
            exit_code = last_exit_code.to_string();
        }
    }

    if status == WorkerStatus::Unknown && input.log.is_some_and(|log| STATUS_USAGE.is_match(log)) {
        status = WorkerStatus::Failed;
        failure_reason = reason::USAGE_LIMIT.to_string();
    }

    StatusReport {
        status,
        exit_code,
        failure_reason,
        thread_id,
        result_only_completion: result_only,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn all_tables() -> [&'static [Rule]; 9] {
        [
            CODEX_FAILURE,
            CLAUDE_FAILURE,
            CLI_FAILURE,
            OPENCLAW_FAILURE,
            OPENCLAW_TERMINAL,
            STATUS_LOG,
            STATUS_USAGE_LIMIT,
            CODEX_ACTIVITY,
            &[],
        ]
    }

    #[test]
    fn every_table_compiles() {
        for rules in all_tables() {
            assert!(Classifier::new(rules).is_ok(), "{rules:?}");
        }
        assert!(ExitMarker::new(DEFAULT_EXIT_MARKER).is_ok());
    }

    #[test]
    fn codex_table_order_and_fallback() {
        let cases: &[(&str, Option<i32>, Option<&str>)] = &[
            (
                "You have reached your Codex usage limits. Please visit https://chatgpt.com/codex/settings/usage",
                Some(1),
                Some(reason::USAGE_LIMIT),
            ),
            (
                "Rate limit exceeded for the active Codex account. Usage cap reached.",
                Some(1),
                Some(reason::USAGE_LIMIT),
            ),
            (
                "HTTP 401 Unauthorized: invalid credentials",
                Some(1),
                Some(reason::AUTH_401),
            ),
            ("status 401", Some(1), Some(reason::AUTH_401)),
            ("code 4012 retry", Some(1), Some(reason::WORKER_EXIT_FAILED)),
            (
                "your account is suspended",
                Some(1),
                Some(reason::ACCOUNT_BANNED),
            ),
            (
                "Authentication required. Please log in.",
                Some(1),
                Some(reason::AUTH_FAILURE),
            ),
            (
                "Please authenticate to continue. Login required.",
                Some(1),
                Some(reason::AUTH_FAILURE),
            ),
            (
                "[x] stale-run no-codex-output-before-stall-threshold elapsed=2s\nquota exceeded",
                Some(143),
                Some(reason::NO_CODEX_OUTPUT),
            ),
            ("all good", Some(0), None),
            ("all good", None, None),
            ("boom", Some(2), Some(reason::WORKER_EXIT_FAILED)),
        ];
        for (text, code, want) in cases {
            assert_eq!(
                classify_codex_failure(text.as_bytes(), *code),
                *want,
                "{text}"
            );
        }
    }

    #[test]
    fn codex_only_looks_at_recent_lines() {
        let mut chunk = String::from("You've hit your usage limit\n");
        for i in 0..CODEX_RECENT_LINES {
            chunk.push_str(&format!("line {i}\n"));
        }
        assert_eq!(
            classify_codex_failure(chunk.as_bytes(), Some(1)),
            Some(reason::WORKER_EXIT_FAILED)
        );
        assert_eq!(last_lines(b"a\nb\nc", 2), b"b\nc");
        assert_eq!(last_lines(b"a\nb\nc\n", 2), b"b\nc\n");
        assert_eq!(last_lines(b"a\nb\n", 5), b"a\nb\n");
        assert_eq!(last_lines(b"a\nb\n", 0), b"");
    }

    #[test]
    fn codex_startup_stall() {
        let stall =
            b"{\"type\":\"thread.started\",\"thread_id\":\"t\"}\n{\"type\":\"turn.started\"}\n";
        assert!(is_codex_startup_stall(stall));
        let active = b"{\"type\":\"thread.started\"}\n{\"type\":\"turn.started\"}\n{\"type\":\"item.started\"}\n";
        assert!(!is_codex_startup_stall(active));
        assert!(!is_codex_startup_stall(b"{\"type\":\"turn.started\"}\n"));
    }

    #[test]
    fn claude_per_file_order() {
        let attempt = b"network error: ECONNRESET".as_slice();
        let debug = b"HTTP 429 Too Many Requests".as_slice();
        assert_eq!(
            classify_claude_failure(&[attempt, debug]),
            reason::NETWORK_CONNECTION
        );
        assert_eq!(
            classify_claude_failure(&[b"nothing".as_slice(), debug]),
            reason::PROVIDER_QUOTA_LIMIT
        );
        assert_eq!(
            classify_claude_failure(&[b"nothing".as_slice()]),
            reason::CLAUDE_EXIT_FAILED
        );
        assert!(is_claude_retryable("timeout"));
        assert!(!is_claude_retryable("provider-quota-limit"));
    }

    #[test]
    fn openclaw_tables() {
        assert_eq!(
            classify_openclaw_failure(b"Config was last written by a newer OpenClaw (2.0)"),
            reason::OPENCLAW_VERSION_MISMATCH
        );
        assert_eq!(
            classify_openclaw_failure(
                b"[openclaw] stale-run no-agent-progress-before-stall-threshold elapsed=3s idle=2s"
            ),
            reason::NO_AGENT_PROGRESS
        );
        assert_eq!(
            classify_openclaw_failure(b"exit"),
            reason::OPENCLAW_EXIT_FAILED
        );
        let mut long = b"429 Too Many Requests\n".to_vec();
        long.extend(std::iter::repeat_n(b'x', OPENCLAW_TERMINAL_TAIL_BYTES));
        assert_eq!(openclaw_terminal_match(&long), None);
        assert_eq!(
            openclaw_terminal_match(b"error: 429 Too Many Requests"),
            Some(reason::PROVIDER_QUOTA_LIMIT)
        );
        assert_eq!(exit_code_reason("pi", 124), "timeout");
        assert_eq!(exit_code_reason("kilo", 3), "kilo-exit-3");
    }

    #[test]
    fn openclaw_first_matching_rule_wins() {
        let c = |t: &str| classify_openclaw_failure(t.as_bytes());
        assert_eq!(
            c("Config was last written by a newer OpenClaw (2026.3.23-2)\n429 too many requests\n"),
            reason::OPENCLAW_VERSION_MISMATCH
        );
        assert_eq!(c("HTTP 401 Unauthorized\n429\n"), reason::AUTH_FAILURE);
        assert_eq!(
            c("429 Provider returned error x is temporarily rate-limited upstream."),
            reason::PROVIDER_QUOTA_LIMIT
        );
        assert_eq!(c("Error: Model not found: x/y"), reason::MODEL_UNAVAILABLE);
        assert_eq!(
            c("the model foo is not available now"),
            reason::MODEL_UNAVAILABLE
        );
        assert_eq!(
            c("Maximum context reached"),
            reason::CONTEXT_LENGTH_EXCEEDED
        );
        assert_eq!(
            c("[openclaw] stale-run no-agent-output-before-stall-threshold elapsed=2s"),
            reason::NO_AGENT_OUTPUT
        );
        assert_eq!(c("request timed out"), reason::TIMEOUT);
        assert_eq!(c("connect ECONNREFUSED 127.0.0.1"), reason::TIMEOUT);
        assert_eq!(c("something else broke"), reason::OPENCLAW_EXIT_FAILED);
        assert_eq!(c(""), reason::OPENCLAW_EXIT_FAILED);
        assert!(openclaw_terminal_match(b"RATE LIMIT EXCEEDED").is_some());
        assert!(openclaw_terminal_match(b"no-agent-output-before-stall-threshold").is_none());
        assert!(openclaw_terminal_match(b"timed out").is_none());
        assert!(openclaw_resets_resident(reason::OPENCLAW_VERSION_MISMATCH));
        assert!(!openclaw_resets_resident(reason::AUTH_FAILURE));
        assert!(!openclaw_resets_resident(reason::OPENCLAW_EXIT_FAILED));
    }

    /// Bug B8: numbers and words that merely contain a pattern decide
    /// nothing, in any table; real provider errors still do.
    #[test]
    fn no_table_is_over_broad() {
        let innocent = [
            "fixed bug at line 401: handle PR #4291",
            "error on line 401 of parser.rs",
            "opened PR #4291 for review",
            "see PR #429",
            "issue 14290 fixed",
            "added an api key field to the settings form",
            "set the request timeout option",
            "setTimeoutHandler renamed",
            "code 4012 retry",
        ];
        for text in innocent {
            let t = text.as_bytes();
            assert_eq!(classify_codex_failure(t, Some(0)), None, "codex: {text}");
            assert_eq!(CLAUDE.classify(t), None, "claude: {text}");
            assert_eq!(CLI.classify(t), None, "cli: {text}");
            assert_eq!(
                classify_openclaw_failure(t),
                reason::OPENCLAW_EXIT_FAILED,
                "openclaw: {text}"
            );
            assert_eq!(openclaw_terminal_match(t), None, "openclaw live: {text}");
        }
        let claude = |t: &str| CLAUDE.classify(t.as_bytes());
        assert_eq!(
            claude("network error: ECONNRESET"),
            Some(reason::NETWORK_CONNECTION)
        );
        assert_eq!(
            claude(
                r#"API error (attempt 1/11): 429 {"type":"error","error":{"type":"rate_limit_error"}}"#
            ),
            Some(reason::PROVIDER_QUOTA_LIMIT)
        );
        assert_eq!(
            claude("HTTP status 429"),
            Some(reason::PROVIDER_QUOTA_LIMIT)
        );
        assert_eq!(
            claude("Invalid API key · Please run /login"),
            Some(reason::AUTH_FAILURE)
        );
        assert_eq!(
            claude("API Error: 401 {\"type\":\"authentication_error\"}"),
            Some(reason::AUTH_FAILURE)
        );
        assert_eq!(claude("Request timed out"), Some(reason::TIMEOUT));
        let cli = |t: &str| classify_cli_failure(t.as_bytes());
        assert_eq!(
            cli("Error: 401 Unauthorized: invalid api key"),
            Some(reason::AUTH_FAILURE)
        );
        assert_eq!(cli(r#"{"status_code":401}"#), Some(reason::AUTH_FAILURE));
        assert_eq!(
            cli("HTTP 429 Too Many Requests: rate limit exceeded"),
            Some(reason::PROVIDER_QUOTA_LIMIT)
        );
        assert_eq!(
            cli(r#"{"error":{"code":429}}"#),
            Some(reason::PROVIDER_QUOTA_LIMIT)
        );
        let codex = |t: &str| classify_codex_failure(t.as_bytes(), Some(1));
        assert_eq!(codex("HTTP/1.1 401 Unauthorized"), Some(reason::AUTH_401));
        assert_eq!(codex(r#"{"status":401}"#), Some(reason::AUTH_401));
        assert_eq!(codex("request returned 401"), Some(reason::AUTH_401));
        assert_eq!(
            codex("line 401: unexpected token"),
            Some(reason::WORKER_EXIT_FAILED)
        );
        let openclaw = |t: &str| classify_openclaw_failure(t.as_bytes());
        assert_eq!(openclaw("status: 429"), reason::PROVIDER_QUOTA_LIMIT);
        assert_eq!(openclaw("(429) slow down"), reason::PROVIDER_QUOTA_LIMIT);
    }

    #[test]
    fn stall_reasons_by_family() {
        assert_eq!(
            agent_stall_reason(StallKind::NoOutput),
            reason::NO_AGENT_OUTPUT
        );
        assert_eq!(
            agent_stall_reason(StallKind::NoProgress),
            reason::NO_AGENT_PROGRESS
        );
        assert_eq!(
            codex_stall_reason(StallKind::NoOutput),
            reason::NO_CODEX_OUTPUT
        );
        assert_eq!(
            codex_stall_reason(StallKind::NoProgress),
            reason::NO_CODEX_PROGRESS
        );
        assert!(is_codex_auth_recoverable(reason::AUTH_FAILURE));
        assert!(!is_codex_rotation_reason(reason::AUTH_FAILURE));
        assert!(is_codex_rotation_reason(reason::AUTH_401));
    }

    #[test]
    fn exit_marker_takes_last_match() {
        let m = ExitMarker::new(DEFAULT_EXIT_MARKER).unwrap();
        assert_eq!(
            m.last_exit_code(b"__CODEX_EXIT__:0\nx\n__CLAUDE_EXIT__:23 __PI_EXIT__:4\n")
                .as_deref(),
            Some("4")
        );
        assert_eq!(m.last_exit_code(b"__CODEX_EXIT__:\n"), None);
        let custom = ExitMarker::new("DONE=").unwrap();
        assert_eq!(
            custom.last_exit_code(b"DONE=7\n").as_deref(),
            Some("DONE=7")
        );
        assert!(ExitMarker::new("(").is_err());
        let anchored = ExitMarker::new("^DONE:").unwrap();
        assert_eq!(
            anchored
                .last_exit_code(b"x\nDONE:4\n y DONE:5\n")
                .as_deref(),
            Some("4")
        );
        let start = ExitMarker::new(r"\AEXIT=").unwrap();
        assert_eq!(
            start.last_exit_code(b"a\nEXIT=9\n").as_deref(),
            Some("EXIT=9")
        );
    }

    fn facts(state: &str, reason: &str, code: &str) -> RunnerFacts {
        RunnerFacts {
            state: state.into(),
            thread_id: "t-1".into(),
            last_exit_code: code.into(),
            last_failure_reason: reason.into(),
        }
    }

    fn eval(
        tmux: bool,
        runner: Option<&RunnerFacts>,
        log: Option<&str>,
        result: bool,
    ) -> StatusReport {
        let marker = ExitMarker::new(DEFAULT_EXIT_MARKER).unwrap();
        evaluate_worker_status(&StatusInput {
            tmux_alive: tmux,
            runner,
            log: log.map(str::as_bytes),
            result_exists: result,
            exit_marker: Some(&marker),
        })
    }

    #[test]
    fn status_crash_scenarios() {
        let running = facts("running", "", "1");
        let r = eval(false, Some(&running), Some(""), true);
        assert_eq!(r.status, WorkerStatus::Failed);
        assert_eq!(r.failure_reason, reason::RUNNER_ABORTED);
        assert_eq!(r.exit_code, "1");
        assert!(!r.result_only_completion);

        let stall_log = "{\"type\":\"thread.started\"}\n{\"type\":\"turn.started\"}\n[t] stale-run no-codex-progress-before-stall-threshold elapsed=300s\n";
        let r = eval(false, Some(&running), Some(stall_log), true);
        assert_eq!(
            (r.status, r.failure_reason.as_str()),
            (WorkerStatus::Failed, reason::NO_CODEX_PROGRESS)
        );
        let trace = "{\"type\":\"thread.started\"}\n{\"type\":\"turn.started\"}\n";
        let r = eval(false, Some(&running), Some(trace), true);
        assert_eq!(r.failure_reason, reason::NO_CODEX_PROGRESS);

        let r = eval(
            false,
            Some(&facts("failed", "syntax-error", "42")),
            None,
            false,
        );
        assert_eq!(
            (r.status, r.exit_code.as_str(), r.failure_reason.as_str()),
            (WorkerStatus::Failed, "42", "syntax-error")
        );
        let r = eval(false, Some(&facts("succeeded", "", "0")), None, false);
        assert_eq!(r.status, WorkerStatus::Succeeded);
        assert_eq!(r.thread_id, "t-1");
    }

    #[test]
    fn status_result_only_beats_log_text_without_runner() {
        let log = "You have reached your Codex usage limits. Please visit https://chatgpt.com/codex/settings/usage\n";
        let r = eval(false, None, Some(log), true);
        assert_eq!(r.status, WorkerStatus::Succeeded);
        assert!(r.result_only_completion);
        assert_eq!(r.failure_reason, "");
        let r = eval(false, None, Some(log), false);
        assert_eq!(
            (r.status, r.failure_reason.as_str()),
            (WorkerStatus::Failed, reason::USAGE_LIMIT)
        );
        let r = eval(false, None, Some(""), true);
        assert!(r.result_only_completion);
    }

    #[test]
    fn status_running_and_markers() {
        let r = eval(true, Some(&facts("failed", "auth-401", "1")), None, true);
        assert_eq!(r.status, WorkerStatus::Running);
        assert_eq!(r.failure_reason, "auth-401");
        assert_eq!(r.exit_code, "");
        let r = eval(false, None, Some("x\n__CODEX_EXIT__:23\n"), false);
        assert_eq!(
            (r.status, r.exit_code.as_str()),
            (WorkerStatus::Failed, "23")
        );
        let r = eval(false, None, Some("__CODEX_EXIT__:0\n"), false);
        assert_eq!(r.status, WorkerStatus::Succeeded);
        let r = eval(false, None, None, false);
        assert_eq!(r.status, WorkerStatus::Unknown);
        // A known reason on a non-active state keeps the last-resort usage check.
        let odd = facts("weird", "earlier", "");
        let r = eval(false, Some(&odd), Some("quota exceeded\n"), false);
        assert_eq!(
            (r.status, r.failure_reason.as_str()),
            (WorkerStatus::Failed, reason::USAGE_LIMIT)
        );
    }
}
