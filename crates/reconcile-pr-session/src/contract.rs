//! The PR worker's result contract (`OUTCOME` + `ACTION` of result.env):
//! which actions each outcome accepts, and the legacy or missing actions
//! that are normalised (with a `RESULT_CONTRACT_NOTE`).

/// What a passed review asks the host to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewPass {
    AdvanceDoubleCheck2,
    WaitHuman,
    Merge,
}

impl ReviewPass {
    /// The hook's word (`pr_review_pass_action`): `advance-double-check-2`,
    /// `wait-human`, `merge` (or empty = merge); anything else is `None`.
    pub fn from_word(word: &str) -> Option<Self> {
        match word {
            "advance-double-check-2" => Some(Self::AdvanceDoubleCheck2),
            "wait-human" => Some(Self::WaitHuman),
            "merge" | "" => Some(Self::Merge),
            _ => None,
        }
    }

    /// The result action an agent writes for this pass.
    pub fn action(self) -> &'static str {
        match self {
            Self::AdvanceDoubleCheck2 => "host-advance-double-check-2",
            Self::WaitHuman => "host-await-human-review",
            Self::Merge => "host-approve-and-merge",
        }
    }

    /// The pass named by a result action (empty = merge).
    pub fn from_action(action: &str) -> Option<Self> {
        match action {
            "host-advance-double-check-2" => Some(Self::AdvanceDoubleCheck2),
            "host-await-human-review" => Some(Self::WaitHuman),
            "host-approve-and-merge" | "" => Some(Self::Merge),
            _ => None,
        }
    }
}

/// A contract accepted as is or after normalisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    pub action: String,
    /// The `RESULT_CONTRACT_NOTE` when the action was filled in or mapped.
    pub note: Option<&'static str>,
}

fn keep(action: &str) -> Result<Normalized, String> {
    Ok(Normalized {
        action: action.to_string(),
        note: None,
    })
}

fn fill(action: &str, note: &'static str) -> Result<Normalized, String> {
    Ok(Normalized {
        action: action.to_string(),
        note: Some(note),
    })
}

/// Checks `outcome` / `action` of a succeeded run of session `session`
/// (`pr` names the PR in messages).
/// `review_pass` answers the policy's `pr_review_pass_action` (asked only
/// when a passed review names no action). `Err` is the stderr line of an
/// invalid contract (or of an unsupported review action).
pub fn normalize(
    session: &str,
    pr: &str,
    outcome: &str,
    action: &str,
    review_pass: &mut dyn FnMut() -> anyhow::Result<String>,
) -> anyhow::Result<Result<Normalized, String>> {
    Ok(match outcome {
        "approved-local-review-passed" => {
            review_contract(session, pr, outcome, action, review_pass)?
        }
        "updated-branch" => match action {
            "" => fill(
                "host-push-pr-branch",
                "normalized-missing-updated-branch-action",
            ),
            "host-push-pr-branch" => keep(action),
            _ => Err(format!(
                "invalid PR updated-branch result contract for session {session}: ACTION='{action}'"
            )),
        },
        "no-change-needed" => match action {
            "" => fill(
                "host-refresh-pr-state",
                "normalized-missing-no-change-needed-action",
            ),
            "host-refresh-pr-state" => keep(action),
            _ => Err(format!(
                "invalid PR no-change-needed result contract for session {session}: ACTION='{action}'"
            )),
        },
        "blocked" => match action {
            "" => fill(
                "host-comment-pr-blocker",
                "normalized-missing-blocked-action",
            ),
            "host-comment-pr-blocker" => keep(action),
            "host-comment-blocker" | "requested-changes-or-blocked" => fill(
                "host-comment-pr-blocker",
                "normalized-legacy-blocked-action",
            ),
            _ => Err(format!(
                "invalid PR blocked result contract for session {session}: ACTION='{action}'"
            )),
        },
        _ => Err(format!(
            "invalid PR worker result contract for session {session}: OUTCOME='{outcome}' ACTION='{action}'"
        )),
    })
}

fn review_contract(
    session: &str,
    pr: &str,
    outcome: &str,
    action: &str,
    review_pass: &mut dyn FnMut() -> anyhow::Result<String>,
) -> anyhow::Result<Result<Normalized, String>> {
    let pass = if action.is_empty() {
        let word = review_pass()?;
        match ReviewPass::from_word(&word) {
            Some(p) => p,
            None => {
                return Ok(Err(format!(
                    "unsupported review pass action for PR {pr}: {word}"
                )));
            }
        }
    } else {
        match ReviewPass::from_action(action) {
            Some(p) => p,
            None => {
                return Ok(Err(format!(
                    "invalid PR review result contract for session {session}: ACTION='{action}'"
                )));
            }
        }
    };
    let expected = pass.action();
    Ok(if action.is_empty() {
        fill(expected, "normalized-missing-review-action")
    } else if action == expected {
        keep(action)
    } else {
        Err(format!(
            "invalid PR review result contract for session {session}: OUTCOME='{outcome}' ACTION='{action}' EXPECTED='{expected}'"
        ))
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn norm(outcome: &str, action: &str, pass: &str) -> Result<Normalized, String> {
        let pass = pass.to_string();
        normalize("s", "1", outcome, action, &mut || Ok(pass.clone())).unwrap()
    }

    #[test]
    fn table_of_outcomes() {
        assert_eq!(
            norm("blocked", "requested-changes-or-blocked", "").unwrap(),
            Normalized {
                action: "host-comment-pr-blocker".into(),
                note: Some("normalized-legacy-blocked-action")
            }
        );
        assert_eq!(
            norm("updated-branch", "", "").unwrap().note,
            Some("normalized-missing-updated-branch-action")
        );
        assert!(norm("updated-branch", "x", "").is_err());
        assert!(norm("weird", "", "").is_err());
        let r = norm("approved-local-review-passed", "", "advance-double-check-2").unwrap();
        assert_eq!(r.action, "host-advance-double-check-2");
        assert_eq!(r.note, Some("normalized-missing-review-action"));
        assert_eq!(
            norm("approved-local-review-passed", "host-approve-and-merge", "")
                .unwrap()
                .note,
            None
        );
        assert!(norm("approved-local-review-passed", "nonsense", "").is_err());
        assert!(norm("approved-local-review-passed", "", "bogus").is_err());
    }
}
