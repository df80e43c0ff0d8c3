//! Byte-exact bash 5 `printf %q` quoting.
//!
//! bash chooses between two forms: when any character is not printable in the
//! current locale the whole value becomes ANSI-C `$'...'`; otherwise special
//! characters get a backslash. Which bytes are printable depends on the
//! locale's character type: in the C locale every byte >= 0x80 is not, in a
//! UTF-8 locale valid multibyte characters are (except controls, separators,
//! noncharacters and unassigned code points, as glibc classifies them).

/// The character-type locale that decides what `printf %q` treats as printable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoteLocale {
    /// `LC_ALL=C`/`POSIX`: bytes >= 0x80 are escaped as octal.
    C,
    /// A UTF-8 locale: valid printable multibyte characters stay bare.
    Utf8,
}

impl QuoteLocale {
    /// The locale bash would use given these variables (`LC_ALL` > `LC_CTYPE` > `LANG`).
    pub fn from_env(env: &crate::Env) -> Self {
        let value = env
            .first_non_empty(&["LC_ALL", "LC_CTYPE", "LANG"])
            .unwrap_or_default()
            .to_ascii_lowercase();
        if value.contains("utf-8") || value.contains("utf8") {
            Self::Utf8
        } else {
            Self::C
        }
    }
}

/// Bytes that `%q` escapes with a backslash anywhere in the value.
fn needs_backslash(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t'
            | b'\n'
            | b'!'
            | b'"'
            | b'$'
            | b'&'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b','
            | b';'
            | b'<'
            | b'>'
            | b'?'
            | b'['
            | b'\\'
            | b']'
            | b'^'
            | b'`'
            | b'{'
            | b'|'
            | b'}'
    )
}

/// Whether a decoded non-ASCII character is printable for glibc's UTF-8 locales.
fn wide_printable(c: char) -> bool {
    let cp = c as u32;
    if (0x80..=0x9f).contains(&cp) {
        return false; // C1 controls
    }
    if cp == 0x2028 || cp == 0x2029 {
        return false; // line and paragraph separators
    }
    if (0xfdd0..=0xfdef).contains(&cp) || (cp & 0xfffe) == 0xfffe {
        return false; // noncharacters
    }
    if (0xd800..=0xdfff).contains(&cp) {
        return false;
    }
    !unassigned(cp)
}

/// A coarse table of large unassigned ranges (Unicode 15); single unassigned
/// code points inside assigned blocks are not listed (see docs/compatibility.md).
fn unassigned(cp: u32) -> bool {
    const RANGES: &[(u32, u32)] = &[
        (0x0378, 0x0379),
        (0x0380, 0x0383),
        (0x038b, 0x038b),
        (0x038d, 0x038d),
        (0x03a2, 0x03a2),
        (0x0530, 0x0530),
        (0x0557, 0x0558),
        (0x058b, 0x058c),
        (0xd7fc, 0xd7ff),
        (0x2fa1e, 0x2ffff),
        (0x3134b, 0x3134f),
        (0x323b0, 0xdffff),
        (0xe0080, 0xe00ff),
        (0xe01f0, 0xeffff),
    ];
    RANGES.iter().any(|&(lo, hi)| (lo..=hi).contains(&cp))
}

/// Splits `bytes` at `i` into one UTF-8 character, if a valid one starts there.
fn utf8_char_at(bytes: &[u8], i: usize) -> Option<(char, usize)> {
    let b = bytes[i];
    let len = match b {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return None,
    };
    let chunk = bytes.get(i..i + len)?;
    let s = std::str::from_utf8(chunk).ok()?;
    s.chars().next().map(|c| (c, len))
}

/// Whether `%q` switches to the `$'...'` form for this value.
fn should_ansi_quote(bytes: &[u8], locale: QuoteLocale) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            if !(0x20..0x7f).contains(&b) {
                return true;
            }
            i += 1;
            continue;
        }
        match locale {
            QuoteLocale::C => return true,
            QuoteLocale::Utf8 => match utf8_char_at(bytes, i) {
                Some((c, len)) if wide_printable(c) => i += len,
                _ => return true,
            },
        }
    }
    false
}

/// Quotes `bytes` exactly as bash 5 `printf %q` does in `locale`.
pub fn quote(bytes: &[u8], locale: QuoteLocale) -> Vec<u8> {
    if bytes.is_empty() {
        return b"''".to_vec();
    }
    if should_ansi_quote(bytes, locale) {
        return ansi_c_quote(bytes, locale);
    }
    let mut out = Vec::with_capacity(bytes.len() + 8);
    for (i, &b) in bytes.iter().enumerate() {
        let prev = if i == 0 { None } else { Some(bytes[i - 1]) };
        let escape = needs_backslash(b)
            || (b == b'#' && i == 0)
            || (b == b'~' && matches!(prev, None | Some(b':') | Some(b'=')));
        if escape {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

/// Quotes a string value (convenience for UTF-8 text).
pub fn quote_str(s: &str, locale: QuoteLocale) -> String {
    String::from_utf8_lossy(&quote(s.as_bytes(), locale)).into_owned()
}

fn ansi_c_quote(bytes: &[u8], locale: QuoteLocale) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() * 2 + 3);
    out.extend_from_slice(b"$'");
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let simple = match b {
            0x1b => Some(b'E'),
            0x07 => Some(b'a'),
            0x0b => Some(b'v'),
            0x08 => Some(b'b'),
            0x0c => Some(b'f'),
            b'\n' => Some(b'n'),
            b'\r' => Some(b'r'),
            b'\t' => Some(b't'),
            _ => None,
        };
        if let Some(c) = simple {
            out.extend_from_slice(&[b'\\', c]);
            i += 1;
            continue;
        }
        if b == b'\\' || b == b'\'' {
            out.extend_from_slice(&[b'\\', b]);
            i += 1;
            continue;
        }
        if b >= 0x80
            && locale == QuoteLocale::Utf8
            && let Some((c, len)) = utf8_char_at(bytes, i)
            && wide_printable(c)
        {
            out.extend_from_slice(&bytes[i..i + len]);
            i += len;
            continue;
        }
        if !(0x20..0x7f).contains(&b) {
            out.push(b'\\');
            out.push(b'0' + ((b >> 6) & 7));
            out.push(b'0' + ((b >> 3) & 7));
            out.push(b'0' + (b & 7));
        } else {
            out.push(b);
        }
        i += 1;
    }
    out.push(b'\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &[u8]) -> String {
        String::from_utf8_lossy(&quote(s, QuoteLocale::C)).into_owned()
    }

    #[test]
    fn plain_words_stay_bare() {
        assert_eq!(q(b"thread-mock-123"), "thread-mock-123");
        assert_eq!(q(b"/tmp/a.b/c:d=e@f%g+h"), "/tmp/a.b/c:d=e@f%g+h");
    }

    #[test]
    fn empty_value_is_two_quotes() {
        assert_eq!(q(b""), "''");
    }

    #[test]
    fn specials_are_backslashed() {
        assert_eq!(q(b"a b"), "a\\ b");
        assert_eq!(q(b"it's"), "it\\'s");
        assert_eq!(q(b"$(rm -rf /)"), "\\$\\(rm\\ -rf\\ /\\)");
    }

    #[test]
    fn hash_and_tilde_only_where_bash_escapes_them() {
        assert_eq!(q(b"#x"), "\\#x");
        assert_eq!(q(b"a#"), "a#");
        assert_eq!(q(b"~a"), "\\~a");
        assert_eq!(q(b"a~b"), "a~b");
        assert_eq!(q(b"a:~b"), "a:\\~b");
        assert_eq!(q(b"a=~"), "a=\\~");
    }

    #[test]
    fn controls_use_ansi_c_form() {
        assert_eq!(q(b"a\nb"), "$'a\\nb'");
        assert_eq!(q(b"a\x01'b"), "$'a\\001\\'b'");
        assert_eq!(q(b"\x1b[0m"), "$'\\E[0m'");
    }

    #[test]
    fn locale_decides_non_ascii() {
        assert_eq!(q("é".as_bytes()), "$'\\303\\251'");
        assert_eq!(quote_str("é x", QuoteLocale::Utf8), "é\\ x");
        assert_eq!(
            String::from_utf8_lossy(&quote(b"\xff", QuoteLocale::Utf8)),
            "$'\\377'"
        );
        assert_eq!(
            quote_str("\u{2028}", QuoteLocale::Utf8),
            "$'\\342\\200\\250'"
        );
    }
}
