//! Whether a scheduled issue needs dependencies installed inside its own
//! worktree (`issue-requires-local-workspace-install.sh`).
//!
//! Only issues with a cadence line (`Schedule: every 1h`) can need it: an
//! explicit `Local workspace install: yes` line says so, and so does a
//! backticked install-like command (`pnpm install`, `expo prebuild`, ...).
//! The body is only matched, never run.

use regex::Regex;

fn re(p: &str) -> anyhow::Result<Regex> {
    Regex::new(p).map_err(|e| anyhow::anyhow!("bad install pattern {p:?}: {e}"))
}

/// Whether the issue `body` asks for a local install in its worktree.
pub fn requires_local_install(body: &str) -> anyhow::Result<bool> {
    if !crate::schedule::has_cadence(body) {
        return Ok(false);
    }
    let explicit =
        re(r"(?im)^\s*(?:Local workspace install|Worktree local install)\s*:\s*yes\s*$")?;
    if explicit.is_match(body) {
        return Ok(true);
    }
    let commands = [
        r"(?i)`(?:pnpm|npm|yarn)\s+(?:install|i|ci|add|remove|rm|up|update|rebuild|dlx)(?-u:\b)",
        r"(?i)`pnpm\s+exec\s+pod\s+install(?-u:\b)",
        r"(?i)`(?:npx\s+pod-install|expo\s+prebuild|pod\s+install|bundle\s+install)(?-u:\b)",
    ];
    for c in commands {
        if re(c)?.is_match(body) {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::requires_local_install as needs;

    #[test]
    fn only_scheduled_issues_with_an_install_need_one() {
        let sched = "## Summary\n\nSchedule: every 1h\n\n## Commands\n";
        assert!(!needs(&format!("{sched}1. `pnpm run verify:web:main`\n")).unwrap());
        assert!(needs(&format!("{sched}1. `pnpm install --frozen-lockfile`\n")).unwrap());
        assert!(needs(&format!("{sched}1. `expo prebuild --platform ios`\n")).unwrap());
        assert!(needs(&format!("{sched}Local workspace install: yes\n")).unwrap());
        assert!(needs("Cadence: 30m\nrun `bundle install`").unwrap());
        assert!(!needs("## Commands\n1. `pnpm install --frozen-lockfile`\n").unwrap());
        assert!(!needs("Schedule: every week\n`npm ci`").unwrap());
        assert!(!needs("").unwrap());
    }
}
