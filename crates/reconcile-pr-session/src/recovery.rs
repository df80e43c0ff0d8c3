//! Which pre-approved loopback commands of prompt.md the host may run
//! (F4). The original `eval`ed each line in a login shell, and part of the
//! line is a PR's file name (`apps/web/e2e/$(...).spec.ts` injected code).
//! Here a command is split into words without a shell; it runs only when
//!
//! - it contains no shell syntax at all (no `$`, backtick, backslash,
//!   `;`, `|`, `&`, redirection, parentheses, braces, globs, `~`, `#`),
//! - its leading `NAME=value` words name only `E2E_*` / `PLAYWRIGHT_*`
//!   variables, and
//! - the program is `bash` running a script of the worktree (a plain
//!   relative path that exists), or `pnpm` / `npx`.
//!
//! It then runs as an argv in the worktree, the variables added to the
//! environment.

use std::path::Path;

/// A command the host may run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    pub env: Vec<(String, String)>,
    pub argv: Vec<String>,
}

const SHELL_SYNTAX: &[char] = &[
    '$', '`', '\\', ';', '|', '&', '<', '>', '(', ')', '{', '}', '*', '?', '[', ']', '~', '#',
    '\n', '\r', '!',
];

/// Splits `text` into words: blanks separate, single or double quotes
/// group (they are removed). `None` for unbalanced quotes.
fn words(text: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return None;
    }
    if in_word {
        out.push(cur);
    }
    Some(out)
}

fn plain_relative(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with(['-', '/'])
        && !p.split('/').any(|s| s == ".." || s.is_empty())
        && p.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | '@'))
}

fn allowed_name(name: &str) -> bool {
    (name.starts_with("E2E_") || name.starts_with("PLAYWRIGHT_"))
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// The command as an argv when the host may run it in `worktree`.
pub fn allowed(command: &str, worktree: &Path) -> Option<Allowed> {
    if command.contains(SHELL_SYNTAX) {
        return None;
    }
    let mut ws = words(command)?.into_iter().peekable();
    let mut env = Vec::new();
    while let Some(w) = ws.peek() {
        let Some((name, value)) = w.split_once('=') else {
            break;
        };
        if !allowed_name(name) {
            return None;
        }
        env.push((name.to_string(), value.to_string()));
        ws.next();
    }
    let argv: Vec<String> = ws.collect();
    let ok = match argv
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["bash", script, ..] => {
            plain_relative(script) && script.ends_with(".sh") && worktree.join(script).is_file()
        }
        ["pnpm" | "npx", _, ..] => true,
        _ => false,
    };
    ok.then_some(Allowed { env, argv })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_loopback_shape_is_allowed_and_injections_are_not() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("scripts")).unwrap();
        std::fs::write(d.path().join("scripts/with-test-namespace.sh"), "").unwrap();
        let cmd = "E2E_WEB_SERVER_COMMAND=\"pnpm exec next dev --hostname 127.0.0.1 --port 3001\" \
                   E2E_BASE_URL=\"http://127.0.0.1:3001\" bash scripts/with-test-namespace.sh \
                   pnpm exec playwright test e2e/a.spec.ts --project=chromium";
        let a = allowed(cmd, d.path()).unwrap();
        assert_eq!(
            a.env[0],
            (
                "E2E_WEB_SERVER_COMMAND".into(),
                "pnpm exec next dev --hostname 127.0.0.1 --port 3001".into()
            )
        );
        assert_eq!(a.argv[..2], ["bash", "scripts/with-test-namespace.sh"]);
        assert_eq!(a.argv.last().unwrap(), "--project=chromium");
        for bad in [
            "bash scripts/with-test-namespace.sh e2e/$(touch x).spec.ts",
            "bash scripts/with-test-namespace.sh e2e/a.spec.ts; rm -rf ~",
            "bash scripts/with-test-namespace.sh `id`",
            "LD_PRELOAD=/x bash scripts/with-test-namespace.sh",
            "bash /etc/evil.sh",
            "bash scripts/missing.sh",
            "bash ../x.sh",
            "rm -rf build",
            "bash scripts/with-test-namespace.sh \"unclosed",
        ] {
            assert_eq!(allowed(bad, d.path()), None, "{bad}");
        }
    }
}
