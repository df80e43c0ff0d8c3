//! Shell `case` patterns, matched in Rust: the managed-branch globs of a
//! profile are compared with a PR's head branch as patterns only, never
//! expanded against the files of the working directory (F20).
//!
//! Supported: `*` (any text, `/` included, as in `case`), `?` (one
//! character), `[...]` / `[!...]` / `[^...]` (sets and ranges) and `\`
//! (the next character literally). An unclosed `[` is a literal `[`.

/// Whether `text` matches the shell pattern `pattern` as a whole.
pub fn matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    match_from(&p, &t)
}

/// Whether `text` matches any of the whitespace-separated patterns.
pub fn matches_any(patterns: &str, text: &str) -> bool {
    patterns.split_whitespace().any(|p| matches(p, text))
}

fn match_from(p: &[char], t: &[char]) -> bool {
    // Iterative matching with one backtrack point for the last `*`.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match step(p, pi, t[ti]) {
            Step::Star => {
                star = Some((pi + 1, ti));
                pi += 1;
                continue;
            }
            Step::Matched(next) => {
                pi = next;
                ti += 1;
                continue;
            }
            Step::NoMatch => {}
        }
        match star {
            Some((sp, st)) => {
                pi = sp;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

enum Step {
    Star,
    Matched(usize),
    NoMatch,
}

/// How pattern position `pi` deals with the text character `c`.
fn step(p: &[char], pi: usize, c: char) -> Step {
    let Some(&pc) = p.get(pi) else {
        return Step::NoMatch;
    };
    match pc {
        '*' => Step::Star,
        '?' => Step::Matched(pi + 1),
        '\\' if pi + 1 < p.len() => {
            if p[pi + 1] == c {
                Step::Matched(pi + 2)
            } else {
                Step::NoMatch
            }
        }
        '[' => match bracket(p, pi, c) {
            Some((true, next)) => Step::Matched(next),
            Some((false, _)) => Step::NoMatch,
            None if c == '[' => Step::Matched(pi + 1),
            None => Step::NoMatch,
        },
        _ if pc == c => Step::Matched(pi + 1),
        _ => Step::NoMatch,
    }
}

/// A bracket expression at `p[start] == '['`: whether `c` is in it and the
/// position after its `]`; `None` when it is not closed.
fn bracket(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut found = false;
    let mut first = true;
    loop {
        let &ch = p.get(i)?;
        if ch == ']' && !first {
            return Some((found != negate, i + 1));
        }
        first = false;
        let lo = if ch == '\\' {
            i += 1;
            *p.get(i)?
        } else {
            ch
        };
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|&h| h != ']') {
            let hi = p[i + 2];
            found |= lo <= c && c <= hi;
            i += 3;
        } else {
            found |= lo == c;
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_patterns() {
        assert!(matches("agent/alpha/*", "agent/alpha/issue-4-x"));
        assert!(matches("codex/*", "codex/a/b/c"));
        assert!(!matches("codex/*", "xcodex/a"));
        assert!(matches("*", ""));
        assert!(matches("a?c", "abc"));
        assert!(!matches("a?c", "ac"));
        assert!(matches("rel-[0-9]*", "rel-7-x"));
        assert!(!matches("rel-[!0-9]*", "rel-7-x"));
        assert!(matches("[]]x", "]x"));
        assert!(matches("a\\*", "a*"));
        assert!(!matches("a\\*", "ab"));
        assert!(matches("[ab", "[ab"));
        assert!(matches("*-agent-*-x", "a-agent-b-agent-c-x"));
        assert!(!matches("agent/*/fix", "agent/x/fixes"));
        assert!(matches_any("  foo/*   codex/* ", "codex/z"));
        assert!(!matches_any("", "codex/z"));
    }
}
