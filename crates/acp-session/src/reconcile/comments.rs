//! The comments the host writes for blocked issue runs. The `# Blocker:`
//! headings (and a few phrases) are read back by the reason inference, by
//! other tools and by tests: they are interface and must stay as they are.
//! The rest of each text is ours.

/// Checklist counts from `sync-recurring-issue-checklist.sh`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checklist {
    pub total: u64,
    pub unchecked: u64,
    /// `CHECKLIST_MATCHED_PR_NUMBERS=` (comma separated).
    pub matched_prs: String,
}

impl Checklist {
    /// Reads the sync tool's `KEY=value` lines (a missing or non-numeric
    /// count is 0).
    pub fn parse(out: &str) -> Self {
        let value = |key: &str| {
            out.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .unwrap_or("")
                .to_string()
        };
        let count = |key: &str| value(key).trim().parse().unwrap_or(0);
        Self {
            total: count("CHECKLIST_TOTAL"),
            unchecked: count("CHECKLIST_UNCHECKED"),
            matched_prs: value("CHECKLIST_MATCHED_PR_NUMBERS"),
        }
    }

    fn all_done(&self) -> bool {
        self.total > 0 && self.unchecked == 0
    }
}

fn fenced(output: &str) -> String {
    format!("```text\n{}\n```\n", output.trim_end_matches('\n'))
}

/// The comment for a publish blocked with `reason` (one of
/// [`super::reasons::publish_blocker`]'s, or empty for any other failure).
/// `checklist` is consulted for `no-publishable-commits` only;
/// `base` is the branch the work is compared with (e.g. `origin/main`).
pub fn publish_blocker_comment(
    reason: &str,
    output: &str,
    session: &str,
    issue_id: &str,
    base: &str,
    checklist: &Checklist,
) -> String {
    match reason {
        "no-publishable-commits" if checklist.all_done() => {
            let mut text = format!(
                "# Blocker: All checklist items already completed\n\n\
                 Every checklist item of issue #{issue_id} looks done on the current baseline.\n\n\
                 What happened:\n\
                 - the worker finished a cycle, but its branch had no commits ahead of `{base}`\n\
                 - opening another PR for a finished checklist would only add noise\n\n\
                 Next step:\n\
                 - refresh the issue body with new unchecked improvement items, then queue it again\n"
            );
            let prs: Vec<&str> = checklist
                .matched_prs
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect();
            if !prs.is_empty() {
                text.push_str(&format!("\nRecently matched PRs: #{}\n", prs.join(", #")));
            }
            text
        }
        "no-publishable-commits" => format!(
            "# Blocker: Worker produced no publishable delta\n\n\
             The worker finished, but its branch had no commits ahead of `{base}`.\n\n\
             What happened:\n\
             - the chosen change may already be on the baseline, or\n\
             - the cycle ended without any net change worth publishing\n\n\
             Next step:\n\
             - choose an unchecked item that is still missing from `{base}`\n\
             - refresh a stale checklist before queueing the issue again\n"
        ),
        "scope-guard-blocked" => format!(
            "# Blocker: Change scope was too broad\n\n\
             The host did not publish this cycle: the branch touches more surfaces than one \
             focused recurring-issue PR should.\n\n\
             What happened:\n\
             - recurring issues ship one narrow slice per PR\n\
             - the publish scope guard saw changes spread over several areas\n\n{}",
            fenced(output)
        ),
        "verification-guard-blocked" => format!(
            "# Blocker: Verification requirements were not satisfied\n\n\
             The host did not publish this cycle: the branch lacks the verification record a \
             safe PR needs.\n\n\
             What happened:\n\
             - the verification guard found no passing record of the checks this change requires\n\
             - an unverified change is held back rather than opened as a PR\n\n{}",
            fenced(output)
        ),
        "localization-guard-blocked" => format!(
            "# Blocker: Localization requirements were not satisfied\n\n\
             The host did not publish this cycle: locale files changed, but the touched UI files \
             still hold user-facing literals.\n\n\
             What happened:\n\
             - the localization guard found strings that belong behind translation keys\n\
             - a half-localized UI change is held back rather than opened as a PR\n\n{}",
            fenced(output)
        ),
        _ => format!(
            "Host-side publish blocked for session `{session}`.\n\n{}",
            fenced(output)
        ),
    }
}

/// The comment for a run that failed at runtime with `reason`, run by
/// `worker` (the run's `CODING_WORKER`, or `worker`).
pub fn runtime_blocker_comment(reason: &str, worker: &str) -> String {
    match reason {
        super::reasons::PROVIDER_QUOTA_LIMIT if worker == "codex" => format!(
            "# Blocker: Provider quota is currently exhausted\n\n\
             The run stopped before any change: the configured {worker} account hit a \
             provider-side usage limit.\n\n\
             What happened:\n\
             - the worker reached the current Codex usage cap for the active account\n\
             - ACP noted the hit, rotates accounts when another one is available, and waits \
             out the cooldown instead of retrying in a loop\n\n\
             Next step:\n\
             - wait for the quota window to reset, or give this profile another Codex account\n"
        ),
        super::reasons::PROVIDER_QUOTA_LIMIT => format!(
            "# Blocker: Provider quota is currently exhausted\n\n\
             The run stopped before any change: the configured {worker} account hit a \
             provider-side rate limit.\n\n\
             What happened:\n\
             - the provider (for claude: Anthropic) refused more requests for this account for now\n\
             - ACP noted the hit and retries after the configured cooldown instead of looping\n\n\
             Next step:\n\
             - wait for the quota window to reset, or move this profile to another provider or account\n"
        ),
        "worker-environment-blocked" => format!(
            "# Blocker: Worker environment failed before a valid result contract was written\n\n\
             The run left no usable `result.env`: the {worker} runtime failed part-way.\n\n\
             What happened:\n\
             - the sandbox or worktree broke before the worker could write its result\n\
             - the session log carries the runtime signature, so this is reported as a concrete \
             blocker rather than a generic `invalid-result-contract` retry\n\n\
             Next step:\n\
             - repair the worker runtime or worktree on the host, then run the cycle again\n"
        ),
        _ => format!(
            "# Blocker: Worker session failed before publish\n\n\
             The worker stopped before ACP could publish or reconcile this cycle.\n\n\
             Failure reason:\n\
             - `{reason}`\n\n\
             Next step:\n\
             - read the session's logs, fix the cause, then queue the issue again\n"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::reasons::blocked_reason;

    #[test]
    fn every_comment_reads_back_as_its_reason() {
        let none = Checklist::default();
        for reason in [
            "no-publishable-commits",
            "scope-guard-blocked",
            "verification-guard-blocked",
            "localization-guard-blocked",
        ] {
            let text = publish_blocker_comment(reason, "out", "s", "1", "origin/main", &none);
            assert_eq!(blocked_reason("", &text), reason);
        }
        let done = Checklist::parse(
            "CHECKLIST_TOTAL=3\nCHECKLIST_UNCHECKED=0\nCHECKLIST_MATCHED_PR_NUMBERS=7,8,9\n",
        );
        let text =
            publish_blocker_comment("no-publishable-commits", "", "s", "1", "origin/main", &done);
        assert!(text.starts_with("# Blocker: All checklist items already completed\n"));
        assert!(text.contains("Recently matched PRs: #7, #8, #9"));
        assert_eq!(
            blocked_reason("", &runtime_blocker_comment("boom-x", "claude")),
            "boom-x"
        );
        assert_eq!(
            blocked_reason(
                "",
                &runtime_blocker_comment("provider-quota-limit", "codex")
            ),
            "provider-quota-limit"
        );
        assert!(
            publish_blocker_comment("", "bad", "s-1", "1", "origin/main", &none)
                .starts_with("Host-side publish blocked for session `s-1`.")
        );
    }
}
