//! Small `git` helpers for the anchor layer: every call's failure carries
//! git's own last words.

use std::ffi::OsStr;
use std::path::Path;

use acp_core::Env;

/// Runs `git -C dir args...` and returns its stdout; `Err` holds git's
/// trimmed stderr (or the spawn error) when it fails.
pub(crate) fn run<I, S>(env: &Env, dir: &Path, args: I) -> Result<Vec<u8>, String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    match acp_core::git::output(env, dir, args) {
        Ok(out) if out.status.success() => Ok(out.stdout),
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stderr).trim().to_string();
            Err(if text.is_empty() {
                format!(
                    "git exited with {}",
                    acp_core::process::exit_code(out.status)
                )
            } else {
                text
            })
        }
        Err(e) => Err(format!("{e:#}")),
    }
}

/// Whether `git -C dir args...` succeeds.
pub(crate) fn ok<I, S>(env: &Env, dir: &Path, args: I) -> bool
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run(env, dir, args).is_ok()
}

/// Trimmed UTF-8 (lossy) stdout of a successful call, `None` on failure.
pub(crate) fn text<I, S>(env: &Env, dir: &Path, args: I) -> Option<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run(env, dir, args)
        .ok()
        .map(|o| String::from_utf8_lossy(&o).trim().to_string())
}

/// Splits NUL-separated output into its non-empty fields.
pub(crate) fn nul_fields(bytes: &[u8]) -> Vec<&[u8]> {
    bytes.split(|b| *b == 0).filter(|f| !f.is_empty()).collect()
}

/// The last line of a (multi-line) git message, for one-line errors.
pub(crate) fn last_line(message: &str) -> &str {
    message
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(message)
        .trim()
}

/// Whether `name` can be passed to git as a remote or branch name without
/// being read as an option or a pathspec.
pub(crate) fn plain_ref_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && !name.chars().any(|c| c.is_control() || c.is_whitespace())
}
