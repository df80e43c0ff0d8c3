//! `KEY=value` lines as the tools print them (raw, unquoted) and read them back.

/// The value of the last `KEY=` line in `text`.
pub fn last<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().rev().find_map(|l| value_of(l, key))
}

fn value_of<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.strip_prefix(key)?.strip_prefix('=')
}

#[cfg(test)]
mod tests {
    #[test]
    fn last_occurrence() {
        let t = "A=1\nB=x=y\nA=2\nAB=3\n";
        assert_eq!(super::last(t, "A"), Some("2"));
        assert_eq!(super::last(t, "B"), Some("x=y"));
        assert_eq!(super::last(t, "C"), None);
    }
}
