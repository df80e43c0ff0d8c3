//! The typed error of a `gh` call: what kind of failure it was (which decides
//! whether it is retried) and which call failed.

use std::fmt;

/// What kind of failure a `gh` call ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// HTTP 404 / "Not Found" / "Could not resolve to".
    NotFound,
    /// A 403 or 429 whose message says "rate limit" (F19: a bare 403 is not).
    RateLimited,
    /// HTTP 5xx, or the call timed out.
    Server,
    /// Not logged in, bad credentials (HTTP 401).
    Auth,
    /// `gh` is not on the PATH, could not be started, or printed output
    /// that is not the JSON asked for.
    Transport,
    /// Anything else (validation errors, a bare 403, ...).
    Other,
}

impl ErrorKind {
    /// Whether a call that failed this way is worth repeating.
    pub fn is_transient(self) -> bool {
        matches!(self, ErrorKind::RateLimited | ErrorKind::Server)
    }

    fn label(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not found",
            ErrorKind::RateLimited => "rate limited",
            ErrorKind::Server => "server error",
            ErrorKind::Auth => "not authenticated",
            ErrorKind::Transport => "transport error",
            ErrorKind::Other => "failed",
        }
    }
}

/// A failed `gh` call: its kind, the call (shortened argv) and the detail
/// (`gh`'s last stderr line, or the parse error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GhError {
    pub kind: ErrorKind,
    pub call: String,
    pub detail: String,
}

impl fmt::Display for GhError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.call, self.kind.label())?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

impl std::error::Error for GhError {}

impl GhError {
    pub fn new(kind: ErrorKind, call: &str, detail: impl Into<String>) -> Self {
        Self {
            kind,
            call: call.to_string(),
            detail: detail.into(),
        }
    }
}

/// The argv of a call as shown in errors: `gh` and each argument, long
/// arguments (comment bodies) cut to 60 characters, on one line.
pub fn show_call(args: &[String]) -> String {
    let mut out = String::from("gh");
    for a in args {
        out.push(' ');
        let one_line: String = a
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        if one_line.chars().count() > 60 {
            out.extend(one_line.chars().take(57));
            out.push_str("...");
        } else {
            out.push_str(&one_line);
        }
    }
    out
}

/// Classifies a failed call from `gh`'s stderr (and stdout: `gh api`
/// prints the response body there). Only a 403/429 whose text says rate
/// limit is a rate limit (F19).
pub fn classify(stderr: &str, stdout: &str) -> ErrorKind {
    let text = format!("{stderr}\n{stdout}").to_ascii_lowercase();
    let status = http_status(&text);
    let says_rate_limit = text.contains("rate limit");
    match status {
        Some(403 | 429) if says_rate_limit => ErrorKind::RateLimited,
        None if says_rate_limit && text.contains("exceeded") => ErrorKind::RateLimited,
        Some(s) if (500..600).contains(&s) => ErrorKind::Server,
        Some(404) => ErrorKind::NotFound,
        Some(401) => ErrorKind::Auth,
        Some(_) => ErrorKind::Other,
        None if text.contains("not found") || text.contains("could not resolve to") => {
            ErrorKind::NotFound
        }
        None if text.contains("gh auth login") || text.contains("authentication") => {
            ErrorKind::Auth
        }
        None => ErrorKind::Other,
    }
}

/// The status of `(HTTP 502)` / `HTTP 502:` in `gh`'s message, if any.
fn http_status(text: &str) -> Option<u16> {
    let at = text.find("http ")?;
    let digits: String = text[at + 5..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The last non-empty line of `gh`'s stderr, as the error's detail.
pub fn last_line(stderr: &str) -> String {
    stderr
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn only_a_403_saying_rate_limit_is_a_rate_limit() {
        assert_eq!(
            classify("gh: API rate limit exceeded for user (HTTP 403)", ""),
            ErrorKind::RateLimited
        );
        assert_eq!(
            classify(
                "gh: You have exceeded a secondary rate limit (HTTP 429)",
                ""
            ),
            ErrorKind::RateLimited
        );
        assert_eq!(
            classify("gh: Resource not accessible by integration (HTTP 403)", ""),
            ErrorKind::Other
        );
        assert_eq!(
            classify("gh: Bad Gateway (HTTP 502)", ""),
            ErrorKind::Server
        );
        assert_eq!(
            classify("gh: Not Found (HTTP 404)", ""),
            ErrorKind::NotFound
        );
        assert_eq!(
            classify("gh: Bad credentials (HTTP 401)", ""),
            ErrorKind::Auth
        );
        assert_eq!(
            classify("GraphQL: Could not resolve to a Repository", ""),
            ErrorKind::NotFound
        );
    }

    #[test]
    fn calls_are_shown_on_one_short_line() {
        let args = vec!["api".to_string(), format!("body={}\nmore", "x".repeat(100))];
        let shown = show_call(&args);
        assert!(shown.starts_with("gh api body=xxx"));
        assert!(shown.ends_with("..."));
        assert!(!shown.contains('\n'));
    }
}
