//! `KEY=value` lines as the tools print them (raw, unquoted) and read them back.

/// The value of the first `KEY=` line in `text`.
pub fn first<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|l| value_of(l, key))
}

/// The value of the last `KEY=` line in `text`.
pub fn last<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().rev().find_map(|l| value_of(l, key))
}

fn value_of<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.strip_prefix(key)?.strip_prefix('=')
}

/// All `(key, value)` pairs of the lines that contain `=`.
pub fn pairs(text: &str) -> Vec<(&str, &str)> {
    text.lines().filter_map(|l| l.split_once('=')).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn first_and_last_occurrence() {
        let t = "A=1\nB=x=y\nA=2\n";
        assert_eq!(super::first(t, "A"), Some("1"));
        assert_eq!(super::last(t, "A"), Some("2"));
        assert_eq!(super::first(t, "B"), Some("x=y"));
        assert_eq!(super::first(t, "C"), None);
    }
}
