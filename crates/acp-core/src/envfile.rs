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

/// The message of [`Error::Io`] already ends with its I/O error, so that
/// error is not also returned as the source: `{:#}` would print it twice
/// (`d: Is a directory (os error 21): Is a directory (os error 21)`).
impl std::error::Error for Error {}

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
    /// The next byte. Raw NUL bytes are skipped, as bash drops them from
    /// the input it reads.
    fn peek(&mut self) -> Option<u8> {
        while self.s.get(self.i) == Some(&0) {
            self.i += 1;
        }
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

    /// Skips spaces and tabs (a carriage return is an ordinary byte to
    /// bash: it ends up in the value, or is a command of its own).
    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
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
                b' ' | b'\t' | b'\n' => break,
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

    /// A `$'...'` string, read as bash does: first its extent (a backslash
    /// always takes the next byte with it, so `\'` does not end it), then
    /// the escapes of the content ([`ansi_c_decode`]).
    fn ansi_c(&mut self, out: &mut Vec<u8>, start_line: usize) -> PResult<()> {
        let mut content = Vec::new();
        loop {
            match self.bump() {
                None => return self.err(start_line, "unterminated $'...' string"),
                Some(b'\'') => break,
                Some(b'\\') => match self.bump() {
                    None => return self.err(start_line, "unterminated $'...' string"),
                    Some(c) => content.extend_from_slice(&[b'\\', c]),
                },
                Some(c) => content.push(c),
            }
        }
        out.extend(ansi_c_decode(&content));
        Ok(())
    }
}

/// The value of a `$'...'` content, with bash's escapes (its `ansicstr`):
/// `\a \b \e \E \f \n \r \t \v \\ \' \" \?`, octal `\ooo`, `\xHH`,
/// `\uHHHH`, `\UHHHHHHHH`, `\cX` (control-X; `\c?` is DEL, `\c\\` eats both
/// backslashes, a `\c` at the end stays `\c`); an unknown escape keeps its
/// backslash. Bash keeps the result as a C string, so it ends at the first
/// NUL (`$'a\0b'` is `a`).
fn ansi_c_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        i += 1;
        if b != b'\\' || i == s.len() {
            out.push(b);
            continue;
        }
        let c = s[i];
        i += 1;
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
                    match s.get(i) {
                        Some(d @ b'0'..=b'7') => {
                            i += 1;
                            v = v * 8 + u32::from(d - b'0');
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            b'x' => match hex_digits(s, &mut i, 2) {
                Some(v) => out.push((v & 0xff) as u8),
                None => out.extend_from_slice(b"\\x"),
            },
            b'u' | b'U' => {
                let max = if c == b'u' { 4 } else { 8 };
                match hex_digits(s, &mut i, max) {
                    Some(v) => match char::from_u32(v) {
                        Some(ch) => {
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        None => out.extend_from_slice(format!("\\{}{v:x}", c as char).as_bytes()),
                    },
                    None => out.extend_from_slice(&[b'\\', c]),
                }
            }
            b'c' if i == s.len() => out.extend_from_slice(b"\\c"),
            b'c' => {
                let x = s[i];
                i += 1;
                if x == b'\\' && s.get(i) == Some(&b'\\') {
                    i += 1;
                }
                out.push(if x == b'?' {
                    0x7f
                } else {
                    x.to_ascii_uppercase() & 0x1f
                });
            }
            other => out.extend_from_slice(&[b'\\', other]),
        }
    }
    if let Some(nul) = out.iter().position(|&b| b == 0) {
        out.truncate(nul);
    }
    out
}

/// Up to `max` hex digits of `s` from `*i` (advanced past them).
fn hex_digits(s: &[u8], i: &mut usize, max: usize) -> Option<u32> {
    let mut v: u32 = 0;
    let mut n = 0;
    while n < max {
        match s.get(*i).and_then(|d| (*d as char).to_digit(16)) {
            Some(d) => {
                *i += 1;
                v = v.wrapping_mul(16).wrapping_add(d);
                n += 1;
            }
            None => break,
        }
    }
    (n > 0).then_some(v)
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
                // Raw NUL bytes dropped, a carriage return kept, as bash reads it.
                p.s[value_start..p.i]
                    .iter()
                    .copied()
                    .filter(|&b| b != 0)
                    .collect()
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
    /// Only a regular file of at most [`crate::fsx::STATE_FILE_CAP`] bytes
    /// is read: a FIFO, device or directory is an error at once.
    pub fn load_with(path: &Path, mode: Mode) -> Result<Self, Error> {
        let content = read_state(path)?;
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

/// The content of a state file (regular, capped); the error names it.
fn read_state(path: &Path) -> Result<Vec<u8>, Error> {
    crate::fsx::read_regular(path, crate::fsx::STATE_FILE_CAP).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// [`read_state`] of a file that may be missing (empty then).
fn read_state_or_empty(path: &Path) -> Result<Vec<u8>, Error> {
    match read_state(path) {
        Err(e) if e.is_not_found() => Ok(Vec::new()),
        other => other,
    }
}

fn check_keys<'k>(keys: impl IntoIterator<Item = &'k str>) -> Result<(), Error> {
    match keys.into_iter().find(|k| !valid_key(k)) {
        Some(k) => Err(Error::InvalidKey { key: k.to_string() }),
        None => Ok(()),
    }
}

/// Writes exactly these assignments to `path`, atomically (under the
/// file's update lock, so no concurrent [`update`] is lost half-way).
pub fn write_all<K: AsRef<str>, V: AsRef<OsStr>>(
    path: &Path,
    pairs: &[(K, V)],
    locale: QuoteLocale,
) -> anyhow::Result<()> {
    check_keys(pairs.iter().map(|(k, _)| k.as_ref()))?;
    let _lock = crate::fsx::Lock::beside(path)?;
    crate::fsx::atomic_write(path, &format_all(pairs, locale))
}

/// Replaces (or appends) `key` in `path` atomically, creating the file if
/// needed. Other lines are kept byte for byte; later duplicate assignments of
/// the same key are dropped so the new value is the one a reader sees.
pub fn set(path: &Path, key: &str, value: &OsStr, locale: QuoteLocale) -> anyhow::Result<()> {
    set_many(path, &[(key, value)], locale)
}

/// [`set`] for several keys in one atomic replacement. The read and the
/// write happen under the file's update lock ([`crate::fsx::Lock::beside`]),
/// so concurrent setters of different keys lose nothing.
pub fn set_many(path: &Path, pairs: &[(&str, &OsStr)], locale: QuoteLocale) -> anyhow::Result<()> {
    check_keys(pairs.iter().map(|(k, _)| *k))?;
    let _lock = crate::fsx::Lock::beside(path)?;
    let content = read_state_or_empty(path)?;
    let out = splice(path, &content, pairs, &[], locale)?;
    crate::fsx::atomic_write(path, &out)
}

/// Read-modify-write of one file under its update lock: `f` gets every
/// key's final value (read leniently; a missing file is empty) and may
/// change, add or remove entries. Changed keys are rewritten in place (`%q`),
/// removed keys' lines dropped, new keys appended in key order; every other
/// line stays byte for byte. Nothing is written when nothing changed or `f`
/// fails. Returns what `f` returned.
pub fn update<T>(
    path: &Path,
    locale: QuoteLocale,
    f: impl FnOnce(&mut BTreeMap<String, OsString>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let _lock = crate::fsx::Lock::beside(path)?;
    let content = read_state_or_empty(path)?;
    let before: BTreeMap<String, OsString> = parse(&content, Mode::Lenient)
        .map_err(|e| parse_error(path, e))?
        .into_iter()
        .map(|e| (e.key, e.value))
        .collect();
    let mut after = before.clone();
    let result = f(&mut after)?;
    check_keys(after.keys().map(String::as_str))?;
    let sets: Vec<(&str, &OsStr)> = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, v)| (k.as_str(), v.as_os_str()))
        .collect();
    let removes: Vec<&str> = before
        .keys()
        .filter(|k| !after.contains_key(*k))
        .map(String::as_str)
        .collect();
    if !sets.is_empty() || !removes.is_empty() {
        let out = splice(path, &content, &sets, &removes, locale)?;
        crate::fsx::atomic_write(path, &out)?;
    }
    Ok(result)
}

fn parse_error(path: &Path, e: ParseError) -> Error {
    Error::Parse {
        path: path.to_path_buf(),
        line: e.line,
        message: e.message,
    }
}

/// `content` with the first assignment of each key in `sets` replaced by
/// its new value (later ones dropped), every assignment of `removes`
/// dropped, and the keys of `sets` not found appended.
fn splice(
    path: &Path,
    content: &[u8],
    sets: &[(&str, &OsStr)],
    removes: &[&str],
    locale: QuoteLocale,
) -> Result<Vec<u8>, Error> {
    let entries = parse(content, Mode::Lenient).map_err(|e| parse_error(path, e))?;
    let mut out = Vec::with_capacity(content.len() + 64);
    let mut pos = 0;
    let mut done = vec![false; sets.len()];
    for e in &entries {
        let set = sets.iter().position(|(k, _)| *k == e.key);
        if set.is_none() && !removes.contains(&e.key.as_str()) {
            continue;
        }
        out.extend_from_slice(&content[pos..e.span.start]);
        pos = e.span.end;
        if let Some(idx) = set
            && !done[idx]
        {
            out.extend(format_assignment(
                sets[idx].0,
                sets[idx].1.as_bytes(),
                locale,
            ));
            done[idx] = true;
        }
    }
    out.extend_from_slice(&content[pos..]);
    if !out.is_empty() && out.last() != Some(&b'\n') {
        out.push(b'\n');
    }
    for (idx, (k, v)) in sets.iter().enumerate() {
        if !done[idx] {
            out.extend(format_assignment(k, v.as_bytes(), locale));
        }
    }
    Ok(out)
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

    #[test]
    fn update_rewrites_changed_keys_in_place_and_keeps_the_rest() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("state.env");
        std::fs::write(&p, "# note\nA=1\nB='two words'\nC=3\nRAW=x y: z\n")?;
        let seen = update(&p, QuoteLocale::C, |m| {
            let b = m.get("B").cloned();
            m.insert("A".into(), "10".into());
            m.remove("C");
            m.insert("NEW".into(), "n v".into());
            Ok(b)
        })?;
        assert_eq!(seen, Some(OsString::from("two words")));
        assert_eq!(
            std::fs::read_to_string(&p)?,
            "# note\nA=10\nB='two words'\nRAW=x y: z\nNEW=n\\ v\n"
        );
        // Nothing changed, nothing written; a failing closure writes nothing.
        let before = std::fs::metadata(&p)?.modified()?;
        update(&p, QuoteLocale::C, |_| Ok(()))?;
        assert!(
            update::<()>(&p, QuoteLocale::C, |m| {
                m.insert("A".into(), "99".into());
                anyhow::bail!("no")
            })
            .is_err()
        );
        assert!(
            update(&p, QuoteLocale::C, |m| {
                m.insert("BAD-KEY".into(), "1".into());
                Ok(())
            })
            .is_err()
        );
        assert_eq!(std::fs::metadata(&p)?.modified()?, before);
        assert!(std::fs::read_to_string(&p)?.contains("A=10\n"));
        let names: Vec<_> = std::fs::read_dir(dir.path())?
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, ["state.env"], "no lock or temp file left");
        Ok(())
    }

    #[test]
    fn ansi_c_escapes_follow_bash() {
        let v = |src: &str| {
            parse(src.as_bytes(), Mode::Strict)
                .map(|e| e[0].value.as_bytes().to_vec())
                .unwrap_or_else(|e| format!("ERR {}", e.message).into_bytes())
        };
        assert_eq!(v("A=$'\\c?'"), b"\x7f");
        assert_eq!(v("A=$'\\c\\\\'"), b"\x1c");
        assert_eq!(v("A=$'\\c\\\\x'"), b"\x1cx");
        assert_eq!(v("A=$'\\c\\'x'"), b"\x1c'x");
        assert_eq!(v("A=$'\\ca\\cZ'"), b"\x01\x1a");
        assert_eq!(v("A=$'ab\\c'"), b"ab\\c");
        assert_eq!(v("A=$'a\\0b'"), b"a");
        assert_eq!(v("A=$'a\\0b'c"), b"ac");
        assert_eq!(v("A=$'x\\c@y'z"), b"xz");
        assert_eq!(v("A=$'a\\x00b'\"q\""), b"aq");
        assert_eq!(v("A=val\r\n"), b"val\r");
        assert_eq!(v("A=\r"), b"\r");
        assert_eq!(v("A=a\0b\n"), b"ab");
    }

    #[test]
    fn an_io_error_is_shown_once() {
        let e = anyhow::Error::from(Error::Io {
            path: PathBuf::from("d"),
            source: std::io::Error::from_raw_os_error(21),
        });
        assert_eq!(format!("{e:#}"), "d: Is a directory (os error 21)");
    }
}
