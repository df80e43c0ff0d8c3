//! Whether a merged PR did a checklist item: the item's words (camelCase
//! split, at least 3 characters, stop words dropped) and code tokens
//! (backticked text, `--flags`, camelCase identifiers) against the PR's
//! title and body. With code tokens, a match needs a matched code token and
//! (code score >= 0.5 or word score >= 0.35), or at least two matched words
//! with word score >= 0.45; without, two words and word score >= 0.45.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

use super::PrInfo;

const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "do", "does", "each", "for", "from", "if",
    "in", "into", "is", "it", "its", "now", "of", "on", "one", "only", "or", "per", "so", "than",
    "that", "the", "their", "them", "then", "this", "to", "up", "with", "within",
];

fn re(p: &str) -> Regex {
    Regex::new(p).unwrap_or_else(|_| Regex::new("$^").unwrap_or_else(|_| unreachable!()))
}

static CAMEL_1: LazyLock<Regex> = LazyLock::new(|| re(r"([a-z0-9])([A-Z])"));
static CAMEL_2: LazyLock<Regex> = LazyLock::new(|| re(r"([A-Z])([A-Z][a-z])"));
static PUNCT: LazyLock<Regex> = LazyLock::new(|| re(r"[`*_()\[\]{}:;,!?/\\]+"));
static NON_WORD: LazyLock<Regex> = LazyLock::new(|| re(r"[^a-z0-9-]+"));
static BACKTICKED: LazyLock<Regex> = LazyLock::new(|| re(r"`([^`]+)`"));
static FLAG: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\B--[a-z0-9-]+\b"));
static CAMEL_ID: LazyLock<Regex> = LazyLock::new(|| re(r"\b[a-z][a-z0-9]*(?:[A-Z][a-z0-9]+)+\b"));

/// Keeps the first of each value, in order, without empty ones.
fn unique(items: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    items
        .into_iter()
        .filter(|i| !i.is_empty() && seen.insert(i.clone()))
        .collect()
}

/// A `.` directly before a letter becomes a space (`README.md` -> `README md`).
fn split_dots(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let before_letter = chars.get(i + 1).is_some_and(char::is_ascii_alphabetic);
            if c == '.' && before_letter { ' ' } else { c }
        })
        .collect()
}

/// The words of `value`.
pub fn words(value: &str) -> Vec<String> {
    let split = CAMEL_1.replace_all(value, "$1 $2");
    let split = CAMEL_2.replace_all(&split, "$1 $2");
    let spaced = split_dots(&PUNCT.replace_all(&split, " ")).to_lowercase();
    NON_WORD
        .split(&spaced)
        .map(str::trim)
        .filter(|t| t.chars().count() >= 3 && !STOP_WORDS.contains(t))
        .map(str::to_string)
        .collect()
}

/// The code tokens of `value`, lower case, first of each.
pub fn code_tokens(value: &str) -> Vec<String> {
    let mut tokens: Vec<&str> = BACKTICKED
        .captures_iter(value)
        .filter_map(|c| c.get(1).map(|m| m.as_str()))
        .collect();
    tokens.extend(FLAG.find_iter(value).map(|m| m.as_str()));
    tokens.extend(CAMEL_ID.find_iter(value).map(|m| m.as_str()));
    unique(
        tokens
            .iter()
            .map(|t| PUNCT.replace_all(t, " ").trim().to_lowercase())
            .collect(),
    )
}

/// A merged PR prepared for matching.
#[derive(Debug, Clone)]
pub struct PrMatcher {
    pub number: u64,
    lower: String,
    words: HashSet<String>,
    code: HashSet<String>,
}

impl PrMatcher {
    pub fn new(pr: &PrInfo) -> Self {
        let combined = format!("{}\n{}", pr.title, pr.body);
        Self {
            number: pr.number,
            lower: combined.to_lowercase(),
            words: words(&combined).into_iter().collect(),
            code: code_tokens(&combined).into_iter().collect(),
        }
    }
}

/// The PR (of `prs`) that did `item`, the best-scoring one, if any.
pub fn best(item: &str, prs: &[PrMatcher]) -> Option<u64> {
    let item_words = unique(words(item));
    let item_code = code_tokens(item);
    // (number, word score, code score, matched words)
    let mut best: Option<(u64, f64, f64, usize)> = None;
    for pr in prs {
        let mw = item_words.iter().filter(|w| pr.words.contains(*w)).count();
        let mc = item_code
            .iter()
            .filter(|t| pr.code.contains(*t) || pr.lower.contains(t.as_str()))
            .count();
        let ratio = |m: usize, of: usize| if of > 0 { m as f64 / of as f64 } else { 0.0 };
        let (ws, cs) = (ratio(mw, item_words.len()), ratio(mc, item_code.len()));
        let by_words = mw >= 2 && ws >= 0.45;
        let matched = if item_code.is_empty() {
            by_words
        } else {
            (mc > 0 && (cs >= 0.5 || ws >= 0.35)) || by_words
        };
        if !matched {
            continue;
        }
        let better = best.is_none_or(|(_, bw, bc, bm)| cs > bc || ws > bw || mw > bm);
        if better {
            best = Some((pr.number, ws, cs, mw));
        }
    }
    best.map(|b| b.0)
}
