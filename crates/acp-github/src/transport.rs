//! The `gh` transport: runs the `gh` found on the caller's PATH with the
//! caller's environment, bounded by a timeout; classifies failures; retries
//! server errors and rate limits with back-off; probes auth at most once.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::rc::Rc;
use std::time::Duration;

use acp_core::Env;
use acp_core::process::{Bounds, run_bounded};
use serde_json::Value;

use crate::error::{ErrorKind, GhError, classify, last_line, show_call};

/// Waits between attempts; tests inject one that only records.
pub trait Sleeper {
    fn sleep(&self, d: Duration);
}

/// The real [`Sleeper`]: `std::thread::sleep`.
#[derive(Debug, Default, Clone, Copy)]
pub struct ThreadSleeper;

impl Sleeper for ThreadSleeper {
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// How often and how long to wait before repeating a transient failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (the first one included).
    pub attempts: u32,
    /// First wait after a server error; doubled on each further attempt.
    pub server_base: Duration,
    /// First wait after a rate limit; doubled on each further attempt.
    pub rate_limit_base: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 3,
            server_base: Duration::from_secs(2),
            rate_limit_base: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt `n` (0-based) of kind `kind`.
    pub fn backoff(&self, kind: ErrorKind, n: u32) -> Duration {
        let base = if kind == ErrorKind::RateLimited {
            self.rate_limit_base
        } else {
            self.server_base
        };
        base.saturating_mul(1u32 << n.min(16))
    }
}

/// Parsed answers of read calls, by argv.
type ReadMap = HashMap<Vec<String>, Rc<Value>>;

thread_local! {
    /// The snapshot every [`Gh`] of this thread shares once
    /// [`share_reads_in_process`] was called.
    static PROCESS_READS: RefCell<Option<Rc<RefCell<ReadMap>>>> = const { RefCell::new(None) };
}

/// Makes every [`Gh`] created afterwards on this thread share one snapshot:
/// the binary calls it at start-up, so the sibling tools it runs in process
/// (`acp_core::dispatch`) answer a read their caller already made, and a
/// write through any handle (label delta, comment, close) updates or drops
/// the shared copies. Without it (libraries, unit tests) each `Gh` keeps
/// its own snapshot.
pub fn share_reads_in_process() {
    PROCESS_READS.with(|s| {
        let mut s = s.borrow_mut();
        if s.is_none() {
            *s = Some(Rc::default());
        }
    });
}

/// The one handle to GitHub of a process: a `gh` binary, an environment, a
/// retry policy and the per-process snapshot of what was read.
pub struct Gh {
    bin: PathBuf,
    env: Env,
    timeout: Duration,
    retry: RetryPolicy,
    sleeper: Box<dyn Sleeper>,
    /// `None` until probed; never probed when a token is in the environment.
    auth: Cell<Option<bool>>,
    /// Parsed output of read calls, by argv.
    reads: Rc<RefCell<ReadMap>>,
    calls: Cell<usize>,
}

impl std::fmt::Debug for Gh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gh")
            .field("bin", &self.bin)
            .field("calls", &self.calls.get())
            .finish_non_exhaustive()
    }
}

impl Gh {
    /// A handle using the `gh` on `env`'s PATH. `GITHUB_TOKEN` is passed on
    /// as `GH_TOKEN` when only it is set (the original's alias).
    pub fn new(mut env: Env) -> Result<Self, GhError> {
        let bin = env.which("gh").ok_or_else(|| {
            GhError::new(ErrorKind::Transport, "gh", "gh was not found on the PATH")
        })?;
        if !env.is_set("GH_TOKEN")
            && let Some(token) = env.non_empty("GITHUB_TOKEN")
        {
            env.set("GH_TOKEN", token);
        }
        Ok(Self {
            bin,
            env,
            timeout: Duration::from_secs(120),
            retry: RetryPolicy::default(),
            sleeper: Box::new(ThreadSleeper),
            auth: Cell::new(None),
            reads: PROCESS_READS
                .with(|s| s.borrow().clone())
                .unwrap_or_default(),
            calls: Cell::new(0),
        })
    }

    /// Replaces the waiting between attempts (tests: a recorder).
    pub fn with_sleeper(mut self, sleeper: Box<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The limit on one `gh` call (default 120 s); a call that takes longer
    /// is ended and counts as a server error.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The environment calls run with.
    pub(crate) fn env(&self) -> &Env {
        &self.env
    }

    /// How many times `gh` was started by this handle.
    pub fn calls(&self) -> usize {
        self.calls.get()
    }

    /// Probes auth explicitly (`gh auth status`), at most once per handle,
    /// and not at all when a token is given (F11). Calls never probe
    /// first: a call that fails because `gh` is not logged in is classified
    /// [`ErrorKind::Auth`] from its message, and later calls then fail at
    /// once without starting `gh` again.
    pub fn ensure_auth(&self) -> Result<(), GhError> {
        if self.env.is_set("GH_TOKEN") {
            return Ok(());
        }
        let ok = match self.auth.get() {
            Some(ok) => ok,
            None => {
                let ok = self.run_once(&args(&["auth", "status"])).is_ok();
                self.auth.set(Some(ok));
                ok
            }
        };
        if ok {
            Ok(())
        } else {
            Err(not_logged_in("gh auth status"))
        }
    }

    /// Runs a call once, returning its stdout.
    pub fn run_once(&self, argv: &[String]) -> Result<Vec<u8>, GhError> {
        if self.auth.get() == Some(false) && argv.first().map(String::as_str) != Some("auth") {
            return Err(not_logged_in(&show_call(argv)));
        }
        let call = show_call(argv);
        let mut cmd = Command::new(&self.bin);
        cmd.args(argv);
        self.env.apply(&mut cmd);
        self.calls.set(self.calls.get() + 1);
        let out = run_bounded(&mut cmd, &Bounds::new(self.timeout, Duration::from_secs(2)))
            .map_err(|e| GhError::new(ErrorKind::Transport, &call, format!("{e:#}")))?;
        if out.timed_out {
            let detail = format!("timed out after {}s", self.timeout.as_secs());
            return Err(GhError::new(ErrorKind::Server, &call, detail));
        }
        if out.code != 0 {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let stdout = String::from_utf8_lossy(&out.stdout);
            let kind = classify(&stderr, &stdout);
            if kind == ErrorKind::Auth {
                self.auth.set(Some(false));
            }
            let mut detail = last_line(&stderr);
            if detail.is_empty() {
                detail = format!("exit {}", out.code);
            }
            return Err(GhError::new(kind, &call, detail));
        }
        Ok(out.stdout)
    }

    /// Runs `attempt` until it succeeds, fails for good, or the attempts
    /// are used up, waiting [`RetryPolicy::backoff`] between tries.
    pub fn retrying<T>(
        &self,
        mut attempt: impl FnMut() -> Result<T, GhError>,
    ) -> Result<T, GhError> {
        let mut n = 0;
        loop {
            match attempt() {
                Err(e) if e.kind.is_transient() && n + 1 < self.retry.attempts => {
                    self.sleeper.sleep(self.retry.backoff(e.kind, n));
                    n += 1;
                }
                other => return other,
            }
        }
    }

    /// Runs a call with retries, returning its stdout.
    pub fn run(&self, argv: &[String]) -> Result<Vec<u8>, GhError> {
        self.retrying(|| self.run_once(argv))
    }

    /// A read: runs the call (with retries) and parses its JSON, answering
    /// a repeated read from this process's snapshot without a new call.
    /// `--paginate` output (one JSON array per page) is joined into one.
    pub fn read_json(&self, argv: &[String]) -> Result<Rc<Value>, GhError> {
        self.read_json_with(argv, true)
    }

    /// [`Gh::read_json`], with `retry` false making one attempt only (for
    /// reads inside a loop that retries as a whole).
    /// A read whose answer is plain text (`--jq` output), remembered like
    /// a JSON read.
    pub(crate) fn read_text(&self, argv: &[String]) -> Result<String, GhError> {
        if let Some(v) = self.reads.borrow().get(argv) {
            return Ok(v.as_str().unwrap_or_default().to_string());
        }
        let out = String::from_utf8_lossy(&self.run(argv)?).into_owned();
        self.reads
            .borrow_mut()
            .insert(argv.to_vec(), Rc::new(Value::String(out.clone())));
        Ok(out)
    }

    pub(crate) fn read_json_with(
        &self,
        argv: &[String],
        retry: bool,
    ) -> Result<Rc<Value>, GhError> {
        if let Some(v) = self.reads.borrow().get(argv) {
            return Ok(Rc::clone(v));
        }
        let out = if retry {
            self.run(argv)?
        } else {
            self.run_once(argv)?
        };
        let value =
            Rc::new(parse_pages(&out).map_err(|e| {
                GhError::new(ErrorKind::Transport, &show_call(argv), e.to_string())
            })?);
        self.reads
            .borrow_mut()
            .insert(argv.to_vec(), Rc::clone(&value));
        Ok(value)
    }

    /// Keeps `value` as the answer of read `argv` (a read parsed by its
    /// caller).
    pub(crate) fn remember(&self, argv: &[String], value: Value) {
        self.reads
            .borrow_mut()
            .insert(argv.to_vec(), Rc::new(value));
    }

    /// The remembered answer of read `argv`, if it was read (no call).
    pub(crate) fn remembered(&self, argv: &[String]) -> Option<Rc<Value>> {
        self.reads.borrow().get(argv).cloned()
    }

    /// An item numbered `number` from a remembered list call
    /// (`prefix` = `["issue", "list"]` / `["pr", "list"]`) of `repo`.
    pub(crate) fn snapshot_item(&self, prefix: &[&str], repo: &str, number: u64) -> Option<Value> {
        let reads = self.reads.borrow();
        reads
            .iter()
            .filter(|(k, _)| is_list_of(k, prefix, repo))
            .find_map(|(_, v)| {
                v.as_array()?
                    .iter()
                    .find(|i| i.get("number").and_then(Value::as_u64) == Some(number))
                    .cloned()
            })
    }

    /// Applies a label delta to every remembered copy of item `number` of
    /// `repo`, so the snapshot stays what GitHub now holds.
    pub(crate) fn patch_labels(&self, repo: &str, number: u64, add: &[&str], remove: &[&str]) {
        let mut reads = self.reads.borrow_mut();
        for (k, v) in reads.iter_mut() {
            let is_view =
                k.len() > 4 && k[1] == "view" && k[2] == number.to_string() && k[4] == repo;
            let items: Vec<&mut Value> = if is_list_of(k, &[k[0].as_str(), "list"], repo) {
                Rc::make_mut(v)
                    .as_array_mut()
                    .map(|a| a.iter_mut().collect())
                    .unwrap_or_default()
            } else if is_view {
                vec![Rc::make_mut(v)]
            } else {
                continue;
            };
            for item in items {
                if item.get("number").and_then(Value::as_u64) == Some(number) {
                    patch_item_labels(item, add, remove);
                }
            }
        }
    }

    /// The `comments` array of item `number` of `repo` from a remembered
    /// `gh issue view` / `gh pr view` answer, else from a remembered list
    /// whose entry holds one, if any.
    pub(crate) fn remembered_view_comments(&self, repo: &str, number: u64) -> Option<Value> {
        let n = number.to_string();
        let reads = self.reads.borrow();
        let comments = |v: &Value| v.get("comments").filter(|c| c.is_array()).cloned();
        let from_view = reads
            .iter()
            .filter(|(k, _)| k.len() > 4 && k[1] == "view" && k[2] == n && k[4] == repo)
            .find_map(|(_, v)| comments(v));
        from_view.or_else(|| {
            reads
                .iter()
                .filter(|(k, _)| k.len() > 3 && k[1] == "list" && k[3] == repo)
                .find_map(|(_, v)| comments(list_entry(v, number)?))
        })
    }

    /// Appends a comment with `body` to every remembered view of item
    /// `number` of `repo` that holds comments, and to its entry in every
    /// remembered list that holds comments (after posting it).
    pub(crate) fn remember_comment(&self, repo: &str, number: u64, body: &str) {
        let n = number.to_string();
        let mut reads = self.reads.borrow_mut();
        for (k, v) in reads.iter_mut() {
            let is_view = k.len() > 4 && k[1] == "view" && k[2] == n && k[4] == repo;
            let is_list = k.len() > 3 && k[1] == "list" && k[3] == repo;
            let item = if is_view {
                Some(Rc::make_mut(v))
            } else if is_list {
                Rc::make_mut(v).as_array_mut().and_then(|a| {
                    a.iter_mut()
                        .find(|i| i.get("number").and_then(Value::as_u64) == Some(number))
                })
            } else {
                None
            };
            if let Some(list) = item
                .and_then(|i| i.get_mut("comments"))
                .and_then(Value::as_array_mut)
            {
                list.push(serde_json::json!({ "body": body }));
            }
        }
    }

    /// A remembered `gh <kind> view N -R R --json F` answer whose fields `F`
    /// include every field of `wanted` (comma-separated), else item `number`
    /// of a remembered `gh <kind> list -R R ... --json F` with such fields
    /// (lists this process read hold what GitHub holds: writes through this
    /// handle patch or drop them), if any.
    pub(crate) fn remembered_view_with(
        &self,
        kind: &str,
        repo: &str,
        number: u64,
        wanted: &str,
    ) -> Option<Rc<Value>> {
        let n = number.to_string();
        let has_fields = |f: &str| wanted.split(',').all(|w| f.split(',').any(|g| g == w));
        let reads = self.reads.borrow();
        let view = reads
            .iter()
            .filter(|(k, _)| {
                k.len() == 7
                    && k[0] == kind
                    && k[1] == "view"
                    && k[2] == n
                    && k[3] == "-R"
                    && k[4] == repo
                    && k[5] == "--json"
                    && has_fields(&k[6])
            })
            .find(|(_, v)| v.is_object())
            .map(|(_, v)| Rc::clone(v));
        view.or_else(|| {
            reads
                .iter()
                .filter(|(k, _)| {
                    is_list_of(k, &[kind, "list"], repo)
                        && !k.iter().any(|a| a == "--label")
                        && json_fields(k).is_some_and(has_fields)
                })
                .find_map(|(_, v)| list_entry(v, number).cloned().map(Rc::new))
        })
    }

    /// A remembered `gh <kind> list -R R --state S --limit L --json F`
    /// answer (no `--label`) whose fields `F` include every field of
    /// `wanted`, if any.
    pub(crate) fn remembered_list_with(
        &self,
        kind: &str,
        repo: &str,
        state: &str,
        wanted: &str,
    ) -> Option<Rc<Value>> {
        let has_fields = |f: &str| wanted.split(',').all(|w| f.split(',').any(|g| g == w));
        let reads = self.reads.borrow();
        reads
            .iter()
            .filter(|(k, _)| {
                k.len() == 10
                    && is_list_of(k, &[kind, "list"], repo)
                    && k[4] == "--state"
                    && k[5] == state
                    && k[6] == "--limit"
                    && k[7] == crate::read::LIST_LIMIT
                    && k[8] == "--json"
                    && has_fields(&k[9])
            })
            .find(|(_, v)| v.is_array())
            .map(|(_, v)| Rc::clone(v))
    }

    /// Puts PR `number` (its view `view`) first into every remembered open
    /// PR list of `repo` (no `--label`) whose fields the view holds, and
    /// drops every other remembered PR list.
    pub(crate) fn splice_into_pr_lists(&self, repo: &str, number: u64, view: &Value) {
        let mut reads = self.reads.borrow_mut();
        reads.retain(|k, v| {
            if !(k.len() > 1 && k[0] == "pr" && k[1] == "list") {
                return true;
            }
            let open = k.len() == 10 && k[3] == repo && k[4] == "--state" && k[5] == "open";
            let fields = json_fields(k).unwrap_or_default();
            let covered = fields.split(',').all(|f| view.get(f).is_some());
            if !(open && covered && !k.iter().any(|a| a == "--label")) {
                return false;
            }
            let Some(list) = Rc::make_mut(v).as_array_mut() else {
                return false;
            };
            if list_entry_index(list, number).is_none() {
                let item: serde_json::Map<String, Value> = fields
                    .split(',')
                    .filter_map(|f| Some((f.to_string(), view.get(f)?.clone())))
                    .collect();
                list.insert(0, Value::Object(item));
            }
            true
        });
    }

    /// Whether some remembered read (argv, answer) satisfies `f`.
    pub(crate) fn any_read(&self, f: impl Fn(&[String], &Value) -> bool) -> bool {
        self.reads.borrow().iter().any(|(k, v)| f(k, v))
    }

    /// Drops remembered reads whose argv satisfies `stale` (after a write).
    pub fn forget(&self, stale: impl Fn(&[String]) -> bool) {
        self.reads.borrow_mut().retain(|k, _| !stale(k));
    }
}

/// Parses `gh` output: one JSON value, or (from `--paginate`) a sequence of
/// arrays that are concatenated. Empty output is `null`.
fn not_logged_in(call: &str) -> GhError {
    GhError::new(
        ErrorKind::Auth,
        call,
        "gh is not logged in and neither GH_TOKEN nor GITHUB_TOKEN is set",
    )
}

pub fn parse_pages(out: &[u8]) -> Result<Value, serde_json::Error> {
    let mut values = serde_json::Deserializer::from_slice(out).into_iter::<Value>();
    let Some(first) = values.next().transpose()? else {
        return Ok(Value::Null);
    };
    let Value::Array(mut all) = first else {
        return Ok(first);
    };
    for page in values {
        match page? {
            Value::Array(items) => all.extend(items),
            other => all.push(other),
        }
    }
    Ok(Value::Array(all))
}

/// The `--json` fields of a remembered read's argv.
fn json_fields(argv: &[String]) -> Option<&str> {
    let at = argv.iter().position(|a| a == "--json")?;
    argv.get(at + 1).map(String::as_str)
}

/// Where item `number` is in a list.
fn list_entry_index(list: &[Value], number: u64) -> Option<usize> {
    list.iter()
        .position(|i| i.get("number").and_then(Value::as_u64) == Some(number))
}

/// Item `number` of a remembered list answer.
fn list_entry(list: &Value, number: u64) -> Option<&Value> {
    list.as_array()?
        .iter()
        .find(|i| i.get("number").and_then(Value::as_u64) == Some(number))
}

fn is_list_of(argv: &[String], prefix: &[&str], repo: &str) -> bool {
    argv.len() > 3 && argv[0] == prefix[0] && argv[1] == prefix[1] && argv[3] == repo
}

fn patch_item_labels(item: &mut Value, add: &[&str], remove: &[&str]) {
    let Some(labels) = item.get_mut("labels").and_then(Value::as_array_mut) else {
        return;
    };
    let name = |l: &Value| l.get("name").and_then(Value::as_str).map(str::to_string);
    labels.retain(|l| name(l).is_none_or(|n| !remove.contains(&n.as_str())));
    for a in add {
        if !labels.iter().any(|l| name(l).as_deref() == Some(*a)) {
            labels.push(serde_json::json!({ "name": a }));
        }
    }
}

/// An owned argv from string slices.
pub fn args(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn paginated_arrays_are_joined() {
        let v = parse_pages(b"[1,2]\n[3]\n[]").unwrap();
        assert_eq!(v, serde_json::json!([1, 2, 3]));
        assert_eq!(parse_pages(b"").unwrap(), Value::Null);
        assert_eq!(
            parse_pages(b"{\"a\":1}").unwrap(),
            serde_json::json!({"a": 1})
        );
    }

    #[test]
    fn backoff_doubles_from_the_kinds_base() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(ErrorKind::Server, 0), Duration::from_secs(2));
        assert_eq!(p.backoff(ErrorKind::Server, 2), Duration::from_secs(8));
        assert_eq!(
            p.backoff(ErrorKind::RateLimited, 1),
            Duration::from_secs(60)
        );
    }
}
