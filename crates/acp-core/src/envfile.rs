//! `KEY=value` state files (run.env, runner.env, result.env, retry and
//! cooldown files) as bash writes them with `printf %q`, read without ever
//! executing anything, and written byte-identical to `%q`.
//!
//! Accepted value forms: bare words, backslash escapes, `'...'`, `"..."`
//! (no expansions), `$'...'` ANSI-C strings with octal, hex, unicode and
//! control escapes, any concatenation of those, an optional `export ` prefix,
//! blank lines and `#` comments. Anything bash would treat as code (`$(...)`,
//! backticks, `$VAR`, `;`, `&&`, a second word after the value) is a parse
//! error naming `file:line` in strict mode, and literal text in lenient mode.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::ops::Range;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use crate::shellquote::{QuoteLocale, quote};

/// How to treat lines bash would execute as code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Refuse them: a parse error naming the line.
    Strict,
    /// Keep the raw text after `=` as a literal value (for files that other
    /// tools wrote raw, such as free-text `DETAIL=` lines).
    Lenient,
}

/// One assignment found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: OsString,
    /// 1-based line the assignment starts on.
    pub line: usize,
    /// Byte range of the whole assignment, its trailing newline included.
    pub span: Range<usize>,
}

/// A syntax problem at a line of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

/// Errors of the file-level API; every variant names the file.
#[derive(Debug)]
pub enum Error {
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    InvalidKey {
        key: String,
    },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Parse {
                path,
                line,
                message,
            } => write!(f, "{}:{line}: {message}", path.display()),
            Error::InvalidKey { key } => write!(f, "invalid env key: {key:?}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl Error {
    /// Whether the file did not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// Whether `key` is a valid shell variable name.
pub fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    line: usize,
}

type PResult<T> = Result<T, ParseError>;

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn peek_at(&self, off: usize) -> Option<u8> {
        self.s.get(self.i + off).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.i += 1;
        if b == b'\n' {
            self.line += 1;
        }
        Some(b)
    }

    fn err<T>(&self, line: usize, message: impl Into<String>) -> PResult<T> {
        Err(ParseError {
            line,
            message: message.into(),
        })
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r')) {
            self.i += 1;
        }
    }

    fn skip_to_eol(&mut self) {
        while let Some(b) = self.peek() {
            if b == b'\n' {
                break;
            }
            self.i += 1;
        }
    }

    /// Parses one value word, up to unquoted whitespace, newline or EOF.
    fn value(&mut self) -> PResult<Vec<u8>> {
        let start_line = self.line;
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' => break,
                b'\\' => {
                    self.bump();
                    match self.bump() {
                        Some(b'\n') | None => {}
                        Some(c) => out.push(c),
                    }
                }
                b'\'' => {
                    self.bump();
                    loop {
                        match self.bump() {
                            Some(b'\'') => break,
                            Some(c) => out.push(c),
                            None => return self.err(start_line, "unterminated single quote"),
                        }
                    }
                }
                b'"' => {
                    self.bump();
                    self.double_quoted(&mut out, start_line)?;
                }
                b'$' if self.peek_at(1) == Some(b'\'') => {
                    self.i += 2;
                    self.ansi_c(&mut out, start_line)?;
                }
                b'$' if self.peek_at(1) == Some(b'"') => {
                    self.i += 2;
                    self.double_quoted(&mut out, start_line)?;
                }
                b'$' if self.peek_at(1).is_some_and(starts_expansion) => {
                    return self.err(self.line, "unquoted expansion (would run as shell code)");
                }
                b'`' => {
                    return self.err(self.line, "command substitution (would run as shell code)");
                }
                b';' | b'&' | b'|' | b'(' | b')' | b'<' | b'>' => {
                    return self.err(
                        self.line,
                        format!("unquoted {:?} (would run as shell code)", b as char),
                    );
                }
                _ => {
                    self.bump();
                    out.push(b);
                }
            }
        }
        Ok(out)
    }

    fn double_quoted(&mut self, out: &mut Vec<u8>, start_line: usize) -> PResult<()> {
        loop {
            match self.bump() {
                None => return self.err(start_line, "unterminated double quote"),
                Some(b'"') => return Ok(()),
                Some(b'\\') => match self.peek() {
                    Some(b'\n') => {
                        self.bump();
                    }
                    Some(c @ (b'$' | b'`' | b'"' | b'\\')) => {
                        self.bump();
                        out.push(c);
                    }
                    _ => out.push(b'\\'),
                },
                Some(b'`') => {
                    return self.err(self.line, "command substitution (would run as shell code)");
                }
                Some(b'$') if self.peek().is_some_and(starts_expansion) => {
                    return self.err(
                        self.line,
                        "expansion inside double quotes (would run as shell code)",
                    );
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn ansi_c(&mut self, out: &mut Vec<u8>, start_line: usize) -> PResult<()> {
        loop {
            let Some(b) = self.bump() else {
                return self.err(start_line, "unterminated $'...' string");
            };
            match b {
                b'\'' => return Ok(()),
                b'\\' => {
                    let Some(c) = self.bump() else {
                        return self.err(start_line, "unterminated $'...' string");
                    };
                    match c {
                        b'a' => out.push(0x07),
                        b'b' => out.push(0x08),
                        b'e' | b'E' => out.push(0x1b),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'v' => out.push(0x0b),
                        b'\\' | b'\'' | b'"' | b'?' => out.push(c),
                        b'0'..=b'7' => {
                            let mut v = u32::from(c - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        self.i += 1;
                                        v = v * 8 + u32::from(d - b'0');
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        b'x' => {
                            let v = self.hex_digits(2);
                            match v {
                                Some(v) => out.push((v & 0xff) as u8),
                                None => out.extend_from_slice(b"\\x"),
                            }
                        }
                        b'u' | b'U' => {
                            let max = if c == b'u' { 4 } else { 8 };
                            match self.hex_digits(max) {
                                Some(v) => match char::from_u32(v) {
                                    Some(ch) => {
                                        let mut buf = [0u8; 4];
                                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                                    }
                                    None => out.extend_from_slice(
                                        format!("\\{}{v:x}", c as char).as_bytes(),
                                    ),
                                },
                                None => out.extend_from_slice(&[b'\\', c]),
                            }
                        }
                        b'c' => match self.bump() {
                            Some(x) => out.push(x.to_ascii_uppercase() & 0x1f),
                            None => return self.err(start_line, "unterminated $'...' string"),
                        },
                        other => out.extend_from_slice(&[b'\\', other]),
                    }
                }
                other => out.push(other),
            }
        }
    }

    fn hex_digits(&mut self, max: usize) -> Option<u32> {
        let mut v: u32 = 0;
        let mut n = 0;
        while n < max {
            match self.peek().and_then(|d| (d as char).to_digit(16)) {
                Some(d) => {
                    self.i += 1;
                    v = v.wrapping_mul(16).wrapping_add(d);
                    n += 1;
                }
                None => break,
            }
        }
        (n > 0).then_some(v)
    }
}

fn starts_expansion(b: u8) -> bool {
    b == b'_'
        || b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'{' | b'(' | b'@' | b'*' | b'#' | b'?' | b'$' | b'!' | b'-'
        )
}

/// Parses the content of an env file.
pub fn parse(content: &[u8], mode: Mode) -> Result<Vec<Entry>, ParseError> {
    let mut p = Parser {
        s: content,
        i: 0,
        line: 1,
    };
    let mut entries = Vec::new();
    loop {
        p.skip_blanks();
        let Some(b) = p.peek() else { break };
        if b == b'\n' {
            p.bump();
            continue;
        }
        if b == b'#' {
            p.skip_to_eol();
            continue;
        }
        let start = p.i;
        let line = p.line;
        if p.s[p.i..].starts_with(b"export ") {
            p.i += "export ".len();
            p.skip_blanks();
        }
        let key_start = p.i;
        while p
            .peek()
            .is_some_and(|c| c == b'_' || c.is_ascii_alphanumeric())
        {
            p.i += 1;
        }
        let key = String::from_utf8_lossy(&p.s[key_start..p.i]).into_owned();
        if p.peek() != Some(b'=') || !valid_key(&key) {
            match mode {
                Mode::Strict => return p.err(line, "expected KEY=value"),
                Mode::Lenient => {
                    p.skip_to_eol();
                    p.bump();
                    continue;
                }
            }
        }
        p.i += 1;
        let value_start = p.i;
        let parsed = p.value().and_then(|v| {
            p.skip_blanks();
            match p.peek() {
                None | Some(b'\n') => Ok(v),
                Some(b'#') => {
                    p.skip_to_eol();
                    Ok(v)
                }
                Some(_) => Err(ParseError {
                    line: p.line,
                    message: "unexpected text after the value (would run as a command)".into(),
                }),
            }
        });
        let value = match (parsed, mode) {
            (Ok(v), _) => v,
            (Err(e), Mode::Strict) => return Err(e),
            (Err(_), Mode::Lenient) => {
                // Take the rest of the starting line literally.
                p.i = value_start;
                p.line = line;
                p.skip_to_eol();
                let mut raw = p.s[value_start..p.i].to_vec();
                if raw.last() == Some(&b'\r') {
                    raw.pop();
                }
                raw
            }
        };
        if p.peek() == Some(b'\n') {
            p.bump();
        }
        entries.push(Entry {
            key,
            value: OsString::from_vec(value),
            line,
            span: start..p.i,
        });
    }
    Ok(entries)
}

/// An env file loaded into memory.
#[derive(Debug, Clone)]
pub struct EnvFile {
    pub path: PathBuf,
    pub entries: Vec<Entry>,
}

impl EnvFile {
    /// Loads and parses `path` strictly.
    pub fn load(path: &Path) -> Result<Self, Error> {
        Self::load_with(path, Mode::Strict)
    }

    /// Loads and parses `path` in `mode`.
    pub fn load_with(path: &Path, mode: Mode) -> Result<Self, Error> {
        let content = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let entries = parse(&content, mode).map_err(|e| Error::Parse {
            path: path.to_path_buf(),
            line: e.line,
            message: e.message,
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            entries,
        })
    }

    /// Loads `path` if it exists (`Ok(None)` when missing).
    pub fn load_if_exists(path: &Path, mode: Mode) -> Result<Option<Self>, Error> {
        match Self::load_with(path, mode) {
            Ok(f) => Ok(Some(f)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The value of `key`; the last assignment wins, as when sourced.
    pub fn get_os(&self, key: &str) -> Option<&OsStr> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.key == key)
            .map(|e| e.value.as_os_str())
    }

    /// The value of `key` as text (lossy).
    pub fn get(&self, key: &str) -> Option<String> {
        self.get_os(key).map(|v| v.to_string_lossy().into_owned())
    }

    /// The value of `key`, empty when absent.
    pub fn get_or_empty(&self, key: &str) -> String {
        self.get(key).unwrap_or_default()
    }

    /// All keys and their final values.
    pub fn to_map(&self) -> BTreeMap<String, OsString> {
        self.entries
            .iter()
            .map(|e| (e.key.clone(), e.value.clone()))
            .collect()
    }
}

/// Reads `path` leniently into a map; a missing file is an empty map.
pub fn read_lenient(path: &Path) -> Result<BTreeMap<String, OsString>, Error> {
    Ok(EnvFile::load_if_exists(path, Mode::Lenient)?
        .map(|f| f.to_map())
        .unwrap_or_default())
}

/// `KEY=<%q value>\n`.
pub fn format_assignment(key: &str, value: &[u8], locale: QuoteLocale) -> Vec<u8> {
    let mut line = Vec::with_capacity(key.len() + value.len() + 4);
    line.extend_from_slice(key.as_bytes());
    line.push(b'=');
    line.extend_from_slice(&quote(value, locale));
    line.push(b'\n');
    line
}

/// Formats a whole file of `%q` assignments in the given order.
pub fn format_all<K: AsRef<str>, V: AsRef<OsStr>>(
    pairs: &[(K, V)],
    locale: QuoteLocale,
) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in pairs {
        out.extend(format_assignment(k.as_ref(), v.as_ref().as_bytes(), locale));
    }
    out
}

/// Writes exactly these assignments to `path`, atomically.
pub fn write_all<K: AsRef<str>, V: AsRef<OsStr>>(
    path: &Path,
    pairs: &[(K, V)],
    locale: QuoteLocale,
) -> anyhow::Result<()> {
    for (k, _) in pairs {
        if !valid_key(k.as_ref()) {
            return Err(Error::InvalidKey {
                key: k.as_ref().to_string(),
            }
            .into());
        }
    }
    crate::fsx::atomic_write(path, &format_all(pairs, locale))
}

/// Replaces (or appends) `key` in `path` atomically, creating the file if
/// needed. Other lines are kept byte for byte; later duplicate assignments of
/// the same key are dropped so the new value is the one a reader sees.
pub fn set(path: &Path, key: &str, value: &OsStr, locale: QuoteLocale) -> anyhow::Result<()> {
    set_many(path, &[(key, value)], locale)
}

/// [`set`] for several keys in one atomic replacement.
pub fn set_many(path: &Path, pairs: &[(&str, &OsStr)], locale: QuoteLocale) -> anyhow::Result<()> {
    for (k, _) in pairs {
        if !valid_key(k) {
            return Err(Error::InvalidKey { key: k.to_string() }.into());
        }
    }
    let content = match std::fs::read(path) {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(source) => {
            return Err(Error::Io {
                path: path.to_path_buf(),
                source,
            }
            .into());
        }
    };
    let entries = parse(&content, Mode::Lenient).map_err(|e| Error::Parse {
        path: path.to_path_buf(),
        line: e.line,
        message: e.message,
    })?;
    let mut out = Vec::with_capacity(content.len() + 64);
    let mut pos = 0;
    let mut done = vec![false; pairs.len()];
    for e in &entries {
        let Some(idx) = pairs.iter().position(|(k, _)| *k == e.key) else {
            continue;
        };
        out.extend_from_slice(&content[pos..e.span.start]);
        pos = e.span.end;
        if !done[idx] {
            out.extend(format_assignment(
                pairs[idx].0,
                pairs[idx].1.as_bytes(),
                locale,
            ));
            done[idx] = true;
        }
    }
    out.extend_from_slice(&content[pos..]);
    if !out.is_empty() && out.last() != Some(&b'\n') {
        out.push(b'\n');
    }
    for (idx, (k, v)) in pairs.iter().enumerate() {
        if !done[idx] {
            out.extend(format_assignment(k, v.as_bytes(), locale));
        }
    }
    crate::fsx::atomic_write(path, &out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(content: &str) -> Vec<(String, String)> {
        parse(content.as_bytes(), Mode::Strict)
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.key, e.value.to_string_lossy().into_owned()))
            .collect()
    }

    #[test]
    fn reads_every_quoting_form() {
        let got = values(
            "A=plain\nB=''\nC=a\\ b\\'c\nD='x y'\nE=\"q \\\"\\$ z\"\nF=$'l1\\nl2\\t\\x41\\101\\u00e9\\E'\nexport G=g\n# c\n\nH=a'b c'\"d\"\n",
        );
        assert_eq!(
            got,
            vec![
                ("A".into(), "plain".into()),
                ("B".into(), "".into()),
                ("C".into(), "a b'c".into()),
                ("D".into(), "x y".into()),
                ("E".into(), "q \"$ z".into()),
                ("F".into(), "l1\nl2\tAAé\u{1b}".into()),
                ("G".into(), "g".into()),
                ("H".into(), "ab cd".into()),
            ]
        );
    }

    #[test]
    fn refuses_code_in_strict_mode_with_line() {
        for bad in [
            "A=1\nB=$(touch /tmp/pwned)\n",
            "A=1\nB=`id`\n",
            "A=1\nB=x; rm -rf /\n",
            "A=1\nB=$HOME\n",
            "A=1\nB=x && y\n",
            "A=1\nB=a b\n",
            "A=1\nB=\"$(id)\"\n",
            "A=1\nnot an assignment\n",
        ] {
            let err = parse(bad.as_bytes(), Mode::Strict).err();
            assert_eq!(err.map(|e| e.line), Some(2), "{bad:?}");
        }
    }

    #[test]
    fn lenient_mode_keeps_raw_text() {
        let e = parse(
            b"OUTCOME=blocked\nDETAIL=tests failed: see log\n",
            Mode::Lenient,
        )
        .unwrap_or_default();
        assert_eq!(e[1].value, OsString::from("tests failed: see log"));
    }

    #[test]
    fn last_assignment_wins() -> Result<(), Error> {
        let dir = tempfile::tempdir().map_err(|source| Error::Io {
            path: PathBuf::new(),
            source,
        })?;
        let p = dir.path().join("run.env");
        std::fs::write(&p, "PI_MODEL=a\nPI_MODEL=b\n").map_err(|source| Error::Io {
            path: p.clone(),
            source,
        })?;
        assert_eq!(EnvFile::load(&p)?.get("PI_MODEL").as_deref(), Some("b"));
        Ok(())
    }

    #[test]
    fn set_replaces_in_place_and_appends() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("runner.env");
        std::fs::write(&p, "A=1\nB=$'x\\ny'\n# keep\nC=3\nB=old\n")?;
        set(&p, "B", OsStr::new("new value"), QuoteLocale::C)?;
        set(&p, "D", OsStr::new(""), QuoteLocale::C)?;
        assert_eq!(
            std::fs::read_to_string(&p)?,
            "A=1\nB=new\\ value\n# keep\nC=3\nD=''\n"
        );
        Ok(())
    }

    #[test]
    fn set_refuses_invalid_keys() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("x.env");
        assert!(set(&p, "BAD-KEY", OsStr::new("v"), QuoteLocale::C).is_err());
        assert!(!p.exists());
        Ok(())
    }
}
