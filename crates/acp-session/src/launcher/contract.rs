//! The typed launcher → `__inner` contract.
//!
//! The launcher serialises what the inner supervisor needs into `KEY=VALUE`
//! words on the inner script's `exec` line: one [`CommonInner`] (the same
//! for every backend) and one struct per backend, each implementing
//! [`Contract`]. The inner supervisor parses them back with [`decode`],
//! which fails with one line naming the key when a value is missing, given
//! twice, malformed (a number that is not one, a flag that is neither `true`
//! nor `false`) or unknown. Nothing falls back to a default.
//!
//! Values are carried as bytes ([`OsString`]): a path reaches the inner
//! supervisor exactly as the launcher had it, whatever its encoding. Words
//! stay readable in the archived `<session>.sh`, which is why this is argv
//! and not a file.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use acp_core::fail;

/// The exit code of an inner supervisor whose arguments do not fit the
/// contract (`EX_USAGE`).
pub const CONTRACT_ERROR: i32 = 64;

/// A value passed across the launcher → `__inner` boundary.
pub trait Contract: Sized {
    /// Appends this value's words to `w`.
    fn write(&self, w: &mut Writer);
    /// Reads this value's keys from `r` (other keys are left for others).
    fn read(r: &mut Reader) -> anyhow::Result<Self>;
}

/// No fields (a backend whose inner supervisor needs only the common part).
impl Contract for () {
    fn write(&self, _w: &mut Writer) {}

    fn read(_r: &mut Reader) -> anyhow::Result<Self> {
        Ok(())
    }
}

/// `value`'s words, in the order its [`Contract::write`] puts them.
pub fn encode<C: Contract>(value: &C) -> Vec<OsString> {
    let mut w = Writer::default();
    value.write(&mut w);
    w.words
}

/// Parses `words` as one `C`; every word must be read by `C`.
pub fn decode<C: Contract>(words: &[OsString]) -> anyhow::Result<C> {
    let mut r = Reader::parse(words)?;
    let value = C::read(&mut r)?;
    r.finish()?;
    Ok(value)
}

fn contract_error(message: String) -> anyhow::Error {
    fail(CONTRACT_ERROR, format!("inner supervisor: {message}"))
}

/// Collects `KEY=VALUE` words.
#[derive(Debug, Default)]
pub struct Writer {
    words: Vec<OsString>,
}

impl Writer {
    /// `KEY=<bytes of value>`.
    pub fn os(&mut self, key: &'static str, value: &OsStr) {
        let mut word = Vec::with_capacity(key.len() + 1 + value.len());
        word.extend_from_slice(key.as_bytes());
        word.push(b'=');
        word.extend_from_slice(value.as_bytes());
        self.words.push(OsString::from_vec(word));
    }

    /// A text value.
    pub fn text(&mut self, key: &'static str, value: &str) {
        self.os(key, OsStr::new(value));
    }

    /// A path, byte for byte.
    pub fn path(&mut self, key: &'static str, value: &Path) {
        self.os(key, value.as_os_str());
    }

    /// A path that may be absent (no word at all then).
    pub fn opt_path(&mut self, key: &'static str, value: Option<&Path>) {
        if let Some(p) = value {
            self.path(key, p);
        }
    }

    /// A whole number.
    pub fn num(&mut self, key: &'static str, value: u64) {
        self.text(key, &value.to_string());
    }

    /// `true` or `false`.
    pub fn flag(&mut self, key: &'static str, value: bool) {
        self.text(key, if value { "true" } else { "false" });
    }

    /// One word per item, all with `key`, in order.
    pub fn list(&mut self, key: &'static str, values: &[String]) {
        for v in values {
            self.text(key, v);
        }
    }
}

/// Parsed `KEY=VALUE` words, each read at most once.
#[derive(Debug)]
pub struct Reader {
    pairs: Vec<(String, OsString, bool)>,
}

impl Reader {
    /// Splits each word at its first `=`; the key must be `[A-Z0-9_]+`.
    pub fn parse(words: &[OsString]) -> anyhow::Result<Self> {
        let mut pairs = Vec::with_capacity(words.len());
        for word in words {
            let bytes = word.as_bytes();
            let key = bytes
                .iter()
                .position(|b| *b == b'=')
                .map(|at| (&bytes[..at], &bytes[at + 1..]))
                .filter(|(k, _)| {
                    !k.is_empty()
                        && k.iter()
                            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
                });
            let Some((key, value)) = key else {
                return Err(contract_error(format!(
                    "not a KEY=VALUE word: {}",
                    word.to_string_lossy()
                )));
            };
            let key = String::from_utf8_lossy(key).into_owned();
            pairs.push((key, OsString::from_vec(value.to_vec()), false));
        }
        Ok(Self { pairs })
    }

    /// The value of `key` once, or `None`; a second word with it is an error.
    fn take(&mut self, key: &str) -> anyhow::Result<Option<OsString>> {
        let mut found: Option<OsString> = None;
        for (k, v, used) in &mut self.pairs {
            if k == key && !*used {
                if found.is_some() {
                    return Err(contract_error(format!("{key} is given more than once")));
                }
                *used = true;
                found = Some(std::mem::take(v));
            }
        }
        Ok(found)
    }

    /// The bytes of `key`; missing is an error.
    pub fn os(&mut self, key: &str) -> anyhow::Result<OsString> {
        self.take(key)?
            .ok_or_else(|| contract_error(format!("{key} is missing")))
    }

    /// A text value (may be empty); it must be UTF-8.
    pub fn text(&mut self, key: &str) -> anyhow::Result<String> {
        self.os(key)?
            .into_string()
            .map_err(|_| contract_error(format!("{key} is not valid UTF-8")))
    }

    /// A text value that must not be empty.
    pub fn required_text(&mut self, key: &str) -> anyhow::Result<String> {
        let v = self.text(key)?;
        if v.is_empty() {
            return Err(contract_error(format!("{key} is empty")));
        }
        Ok(v)
    }

    /// A path (any bytes, not empty).
    pub fn path(&mut self, key: &str) -> anyhow::Result<PathBuf> {
        let v = self.os(key)?;
        if v.is_empty() {
            return Err(contract_error(format!("{key} is empty")));
        }
        Ok(PathBuf::from(v))
    }

    /// A path that may be absent; present, it must not be empty.
    pub fn opt_path(&mut self, key: &str) -> anyhow::Result<Option<PathBuf>> {
        match self.take(key)? {
            None => Ok(None),
            Some(v) if v.is_empty() => Err(contract_error(format!("{key} is empty"))),
            Some(v) => Ok(Some(PathBuf::from(v))),
        }
    }

    /// A whole number (decimal digits only).
    pub fn num(&mut self, key: &str) -> anyhow::Result<u64> {
        let v = self.os(key)?;
        let bytes = v.as_bytes();
        let parsed = (!bytes.is_empty() && bytes.iter().all(u8::is_ascii_digit))
            .then(|| v.to_str().and_then(|s| s.parse::<u64>().ok()))
            .flatten();
        parsed.ok_or_else(|| {
            contract_error(format!(
                "{key} must be a whole number, not '{}'",
                v.to_string_lossy()
            ))
        })
    }

    /// `true` or `false`.
    pub fn flag(&mut self, key: &str) -> anyhow::Result<bool> {
        let v = self.os(key)?;
        match v.as_bytes() {
            b"true" => Ok(true),
            b"false" => Ok(false),
            _ => Err(contract_error(format!(
                "{key} must be true or false, not '{}'",
                v.to_string_lossy()
            ))),
        }
    }

    /// Every value of `key`, in order (none is fine); each must be UTF-8.
    pub fn list(&mut self, key: &str) -> anyhow::Result<Vec<String>> {
        let mut out = Vec::new();
        for (k, v, used) in &mut self.pairs {
            if k == key && !*used {
                *used = true;
                let v = std::mem::take(v)
                    .into_string()
                    .map_err(|_| contract_error(format!("{key} is not valid UTF-8")))?;
                out.push(v);
            }
        }
        Ok(out)
    }

    /// Fails on the first word nobody read (a key this version does not know).
    pub fn finish(self) -> anyhow::Result<()> {
        match self.pairs.iter().find(|(_, _, used)| !used) {
            Some((k, _, _)) => Err(contract_error(format!("unknown key {k}"))),
            None => Ok(()),
        }
    }
}

/// `--mode`, checked by the launcher and carried typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Safe,
    Bypass,
}

impl Mode {
    /// `safe` or `bypass`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "safe" => Some(Self::Safe),
            "bypass" => Some(Self::Bypass),
            _ => None,
        }
    }

    /// The flag's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Safe => "safe",
            Self::Bypass => "bypass",
        }
    }
}

/// What every inner supervisor gets: the session, its paths (absolute, as
/// bytes), and the run's common settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommonInner {
    pub session: String,
    pub mode: Mode,
    /// Where the worker runs (the pane's cwd).
    pub worktree: PathBuf,
    pub prompt_file: PathBuf,
    /// `<runs-root>/<session>`.
    pub artifact_dir: PathBuf,
    pub log: PathBuf,
    pub run_env: PathBuf,
    pub runner_env: PathBuf,
    pub host_result: PathBuf,
    pub sandbox_run_dir: PathBuf,
    /// The `--sandbox-subdir` name, relative to the worktree.
    pub sandbox_subdir: String,
    pub started_at: String,
    /// Empty: no delayed reconcile.
    pub reconcile_command: String,
    /// `--collect-file` names, in order.
    pub collect: Vec<String>,
    /// The launcher's private credentials file, when it wrote one.
    pub secrets_file: Option<PathBuf>,
}

impl Contract for CommonInner {
    fn write(&self, w: &mut Writer) {
        w.text("SESSION", &self.session);
        w.text("MODE", self.mode.as_str());
        w.path("WORKTREE", &self.worktree);
        w.path("PROMPT_FILE", &self.prompt_file);
        w.path("ARTIFACT_DIR", &self.artifact_dir);
        w.path("LOG", &self.log);
        w.path("RUN_ENV", &self.run_env);
        w.path("RUNNER_ENV", &self.runner_env);
        w.path("HOST_RESULT", &self.host_result);
        w.path("SANDBOX_RUN_DIR", &self.sandbox_run_dir);
        w.text("SANDBOX_SUBDIR", &self.sandbox_subdir);
        w.text("STARTED_AT", &self.started_at);
        w.text("RECONCILE_COMMAND", &self.reconcile_command);
        w.opt_path("SECRETS_FILE", self.secrets_file.as_deref());
        w.list("COLLECT", &self.collect);
    }

    fn read(r: &mut Reader) -> anyhow::Result<Self> {
        let session = r.required_text("SESSION")?;
        let mode = r.text("MODE")?;
        let mode = Mode::parse(&mode)
            .ok_or_else(|| contract_error(format!("MODE must be safe or bypass, not '{mode}'")))?;
        Ok(Self {
            session,
            mode,
            worktree: r.path("WORKTREE")?,
            prompt_file: r.path("PROMPT_FILE")?,
            artifact_dir: r.path("ARTIFACT_DIR")?,
            log: r.path("LOG")?,
            run_env: r.path("RUN_ENV")?,
            runner_env: r.path("RUNNER_ENV")?,
            host_result: r.path("HOST_RESULT")?,
            sandbox_run_dir: r.path("SANDBOX_RUN_DIR")?,
            sandbox_subdir: r.text("SANDBOX_SUBDIR")?,
            started_at: r.text("STARTED_AT")?,
            reconcile_command: r.text("RECONCILE_COMMAND")?,
            secrets_file: r.opt_path("SECRETS_FILE")?,
            collect: r.list("COLLECT")?,
        })
    }
}

/// The whole `__inner` argument list: the common part and backend `B`'s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inner<B> {
    pub common: CommonInner,
    pub backend: B,
}

impl<B: Contract> Contract for Inner<B> {
    fn write(&self, w: &mut Writer) {
        self.common.write(w);
        self.backend.write(w);
    }

    fn read(r: &mut Reader) -> anyhow::Result<Self> {
        Ok(Self {
            common: CommonInner::read(r)?,
            backend: B::read(r)?,
        })
    }
}

/// The delayed-reconcile waiter's arguments (`<tool> __reconcile ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileArgs {
    pub session: String,
    pub started_at: String,
    /// Bash code run once the session has ended.
    pub command: String,
}

impl Contract for ReconcileArgs {
    fn write(&self, w: &mut Writer) {
        w.text("SESSION", &self.session);
        w.text("STARTED_AT", &self.started_at);
        w.text("COMMAND", &self.command);
    }

    fn read(r: &mut Reader) -> anyhow::Result<Self> {
        Ok(Self {
            session: r.required_text("SESSION")?,
            started_at: r.text("STARTED_AT")?,
            command: r.required_text("COMMAND")?,
        })
    }
}

/// Test helpers for the backends' round-trip tests.
#[cfg(any(test, feature = "test-util"))]
#[doc(hidden)]
pub mod testing {
    use super::*;

    /// A [`CommonInner`] with every field set, paths with non-UTF-8 bytes.
    pub fn sample_common() -> CommonInner {
        let odd = |s: &str| {
            let mut b = s.as_bytes().to_vec();
            b.extend_from_slice(b"/caf\xe9 =x");
            PathBuf::from(OsString::from_vec(b))
        };
        CommonInner {
            session: "fix-7".into(),
            mode: Mode::Bypass,
            worktree: odd("/wt"),
            prompt_file: odd("/p/prompt.md"),
            artifact_dir: odd("/runs/fix-7"),
            log: odd("/runs/fix-7/fix-7.log"),
            run_env: odd("/runs/fix-7/run.env"),
            runner_env: odd("/runs/fix-7/runner.env"),
            host_result: odd("/runs/fix-7/result.env"),
            sandbox_run_dir: odd("/wt/.sb/fix-7"),
            sandbox_subdir: ".sb".into(),
            started_at: "2026-01-02T03:04:05Z".into(),
            reconcile_command: "echo 'a=b' && true".into(),
            collect: vec!["a.md".into(), "b=c.txt".into()],
            secrets_file: Some(odd("/runs/fix-7/.fix-7.secrets.env")),
        }
    }

    /// A [`CommonInner`] for session `s` under `dir`: the worktree is `dir`,
    /// the artifact dir `dir/art`, the sandbox run dir `dir/sb`.
    pub fn common_in(dir: &Path) -> CommonInner {
        let art = dir.join("art");
        CommonInner {
            session: "s".into(),
            mode: Mode::Safe,
            worktree: dir.to_path_buf(),
            prompt_file: dir.join("prompt.md"),
            log: art.join("s.log"),
            run_env: art.join("run.env"),
            runner_env: art.join("runner.env"),
            host_result: art.join("result.env"),
            artifact_dir: art,
            sandbox_run_dir: dir.join("sb"),
            sandbox_subdir: "sb".into(),
            started_at: String::new(),
            reconcile_command: String::new(),
            collect: Vec::new(),
            secrets_file: None,
        }
    }

    /// Encodes `value` with the sample common part and decodes it again.
    pub fn round_trip<B: Contract + Clone>(backend: &B) -> Inner<B> {
        let inner = Inner {
            common: sample_common(),
            backend: backend.clone(),
        };
        match decode::<Inner<B>>(&encode(&inner)) {
            Ok(back) => back,
            Err(e) => panic!("round trip failed: {e:#}"),
        }
    }

    /// The words of `value` with `key`'s value replaced by `value`
    /// (`None`: the word removed).
    pub fn with_word<C: Contract>(c: &C, key: &str, value: Option<&str>) -> Vec<OsString> {
        let prefix = format!("{key}=");
        let mut words: Vec<OsString> = encode(c)
            .into_iter()
            .filter(|w| !w.as_bytes().starts_with(prefix.as_bytes()))
            .collect();
        if let Some(v) = value {
            words.push(OsString::from(format!("{key}={v}")));
        }
        words
    }

    /// The one-line message `decode::<C>` gives for `words`.
    pub fn decode_error<C: Contract + std::fmt::Debug>(words: &[OsString]) -> String {
        match decode::<C>(words) {
            Ok(v) => panic!("decoded: {v:?}"),
            Err(e) => e.to_string(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::testing::*;
    use super::*;

    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Demo {
        n: u64,
        on: bool,
    }

    impl Contract for Demo {
        fn write(&self, w: &mut Writer) {
            w.num("N", self.n);
            w.flag("ON", self.on);
        }
        fn read(r: &mut Reader) -> anyhow::Result<Self> {
            Ok(Self {
                n: r.num("N")?,
                on: r.flag("ON")?,
            })
        }
    }

    #[test]
    fn common_and_backend_round_trip_byte_exact() {
        let d = Demo { n: 42, on: true };
        let back = round_trip(&d);
        assert_eq!(back.common, sample_common());
        assert_eq!(back.backend, d);
        // No secrets file: no word, and it comes back as None.
        let mut c = sample_common();
        c.secrets_file = None;
        c.collect.clear();
        let words = encode(&c);
        assert!(
            !words
                .iter()
                .any(|w| w.as_bytes().starts_with(b"SECRETS_FILE="))
        );
        assert_eq!(decode::<CommonInner>(&words).unwrap(), c);
    }

    #[test]
    fn missing_bad_repeated_and_unknown_values_name_the_key() {
        let d = Inner {
            common: sample_common(),
            backend: Demo { n: 1, on: false },
        };
        let e = decode_error::<Inner<Demo>>(&with_word(&d, "N", None));
        assert_eq!(e, "inner supervisor: N is missing");
        let e = decode_error::<Inner<Demo>>(&with_word(&d, "N", Some("12s")));
        assert_eq!(e, "inner supervisor: N must be a whole number, not '12s'");
        let e = decode_error::<Inner<Demo>>(&with_word(&d, "N", Some("")));
        assert_eq!(e, "inner supervisor: N must be a whole number, not ''");
        let e = decode_error::<Inner<Demo>>(&with_word(&d, "N", Some("-1")));
        assert_eq!(e, "inner supervisor: N must be a whole number, not '-1'");
        let e = decode_error::<Inner<Demo>>(&with_word(&d, "ON", Some("yes")));
        assert_eq!(e, "inner supervisor: ON must be true or false, not 'yes'");
        let e = decode_error::<Inner<Demo>>(&with_word(&d, "MODE", Some("fast")));
        assert_eq!(
            e,
            "inner supervisor: MODE must be safe or bypass, not 'fast'"
        );
        let e = decode_error::<Inner<Demo>>(&with_word(&d, "WORKTREE", Some("")));
        assert_eq!(e, "inner supervisor: WORKTREE is empty");
        let mut words = encode(&d);
        words.push("N=2".into());
        let e = decode_error::<Inner<Demo>>(&words);
        assert_eq!(e, "inner supervisor: N is given more than once");
        let mut words = encode(&d);
        words.push("EXTRA=1".into());
        let e = decode_error::<Inner<Demo>>(&words);
        assert_eq!(e, "inner supervisor: unknown key EXTRA");
        let e = decode_error::<Inner<Demo>>(&["novalue".into()]);
        assert_eq!(e, "inner supervisor: not a KEY=VALUE word: novalue");
        let e = decode_error::<Inner<Demo>>(&["lower=1".into()]);
        assert_eq!(e, "inner supervisor: not a KEY=VALUE word: lower=1");
        let err = decode::<Inner<Demo>>(&with_word(&d, "N", None)).unwrap_err();
        let exit = err.downcast_ref::<acp_core::ExitError>().unwrap();
        assert_eq!(exit.code, CONTRACT_ERROR);
    }

    #[test]
    fn values_keep_equals_signs_and_overflow_is_an_error() {
        let words: Vec<OsString> = ["SESSION=a=b", "COMMAND=x=1", "STARTED_AT="]
            .map(OsString::from)
            .to_vec();
        let r = decode::<ReconcileArgs>(&words).unwrap();
        assert_eq!((r.session.as_str(), r.command.as_str()), ("a=b", "x=1"));
        let d = Demo { n: 1, on: true };
        let e = decode_error::<Demo>(&with_word(&d, "N", Some("99999999999999999999999")));
        assert_eq!(
            e,
            "inner supervisor: N must be a whole number, not '99999999999999999999999'"
        );
        let e = decode_error::<ReconcileArgs>(&["SESSION=s".into(), "STARTED_AT=".into()]);
        assert_eq!(e, "inner supervisor: COMMAND is missing");
    }
}
