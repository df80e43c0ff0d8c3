//! The lane oracle: a PR's facts in, its risk tier, merge eligibility,
//! the reasons it is not eligible and the agent lane it belongs to out, as
//! the JSON object `bin/pr-risk.sh` prints (same keys, same order).

use serde_json::{Map, Value, json};

use super::checks::{CheckRun, CheckSummary, RollupCheck, infra_only};
use super::managed::{HANDOFF_LABEL, ManagedBranches};
use super::paths::FileScope;
use super::status::{PrComment, StatusVerdict, verdict};

/// The only reviewer whose inline comments count as actionable feedback.
pub const REVIEW_BOT: &str = "chatgpt-codex-connector[bot]";

/// What `gh pr view` says about the PR.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrFacts {
    pub number: Option<u64>,
    pub title: String,
    pub url: String,
    pub body: String,
    pub is_draft: bool,
    pub head_ref_name: String,
    pub head_ref_oid: String,
    pub base_ref_name: String,
    pub labels: Vec<String>,
    pub files: Vec<String>,
    /// As GitHub spells it (`CLEAN`, `DIRTY`, ...); empty when unknown.
    pub merge_state_status: String,
    pub review_requests: usize,
    pub rollup: Vec<RollupCheck>,
    /// Conversation comments, oldest first.
    pub comments: Vec<PrComment>,
}

/// An inline review comment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewComment {
    pub login: String,
    pub commit_id: String,
    pub body: String,
    pub html_url: String,
}

/// What further reads found (each may be empty when a read failed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    /// Commit time of the head commit (ISO 8601), empty when unknown.
    pub head_committed_at: String,
    pub review_comments: Vec<ReviewComment>,
    /// The head commit's check runs.
    pub check_runs: Vec<CheckRun>,
    /// The annotation messages of the failed check runs.
    pub annotation_messages: Vec<String>,
}

/// The profile's policy for this PR.
#[derive(Debug, Clone)]
pub struct Policy {
    pub managed: ManagedBranches,
    /// `ACP_ALLOW_INFRA_CI_BYPASS` (default on).
    pub allow_infra_ci_bypass: bool,
    /// `ACP_LOCAL_FIRST_PR_POLICY` (default on): no checks at all is not a
    /// reason to hold an agent PR back.
    pub local_first: bool,
    /// `PR_LANE_OVERRIDE` of the PR's lane-override state file.
    pub lane_override: String,
}

/// The oracle's answer: the JSON object and the lane.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub json: Value,
    pub lane: String,
}

/// Everything the oracle concluded before the lane.
#[derive(Debug, Clone, Default)]
struct Judged {
    managed: bool,
    handoff: bool,
    blocked: bool,
    running: bool,
    manual_override: bool,
    human_approved: bool,
    scope: FileScope,
    status: StatusVerdict,
    checks: CheckSummary,
    bypass: bool,
    effective_failures: Vec<String>,
    merge_state: String,
    clean: bool,
    stage: u8,
    needs_human: bool,
    needs_double_check: bool,
    actionable_urls: Vec<String>,
    actionable: usize,
    ci_refresh: bool,
    lane_override: String,
    missing: Vec<String>,
}

fn has(labels: &[String], name: &str) -> bool {
    labels.iter().any(|l| l == name)
}

impl Judged {
    fn of(pr: &PrFacts, ev: &Evidence, policy: &Policy) -> Self {
        let actionable: Vec<&ReviewComment> = ev
            .review_comments
            .iter()
            .filter(|c| {
                c.login == REVIEW_BOT
                    && !c.body.trim().is_empty()
                    && (pr.head_ref_oid.is_empty()
                        || c.commit_id.is_empty()
                        || c.commit_id == pr.head_ref_oid)
            })
            .collect();
        let status = verdict(&pr.comments, &ev.head_committed_at);
        let handoff = has(&pr.labels, HANDOFF_LABEL);
        let scope = FileScope::of(&pr.files, &pr.title);
        let checks = CheckSummary::of(&pr.rollup);
        let failed_runs = ev.check_runs.iter().filter(|r| r.failed()).count();
        let bypass = infra_only(
            policy.allow_infra_ci_bypass,
            &checks,
            failed_runs,
            &ev.annotation_messages,
        );
        let merge_state = pr.merge_state_status.to_uppercase();
        let lane_override = policy.lane_override.trim().to_string();
        let labels = &pr.labels;
        let stage = if has(labels, "agent-double-check-2/2") || lane_override == "double-check-2" {
            2
        } else if has(labels, "agent-double-check-1/2") || lane_override == "double-check-1" {
            1
        } else {
            0
        };
        let needs_human = !scope.system_breaking.is_empty();
        let mut j = Self {
            managed: policy.managed.is_agent_branch(&pr.head_ref_name) || handoff || status.any,
            handoff,
            blocked: has(labels, "agent-blocked"),
            running: has(labels, "agent-running"),
            manual_override: has(labels, "agent-manual-fix-override"),
            human_approved: has(labels, "agent-human-approved"),
            needs_double_check: !needs_human
                && matches!(scope.tier(), "critical-infra" | "critical-app"),
            needs_human,
            effective_failures: if bypass {
                Vec::new()
            } else {
                checks.failures.clone()
            },
            clean: merge_state == "CLEAN"
                || (bypass && matches!(merge_state.as_str(), "UNSTABLE" | "UNKNOWN")),
            merge_state,
            bypass,
            checks,
            scope,
            stage,
            actionable_urls: actionable
                .iter()
                .map(|c| c.html_url.clone())
                .filter(|u| !u.is_empty())
                .collect(),
            actionable: actionable.len(),
            lane_override,
            status,
            ..Self::default()
        };
        j.ci_refresh = j.status.outstanding_noop_repair_summary
            && !j.effective_failures.is_empty()
            && j.actionable == 0
            && !pr.is_draft;
        j.missing = j.missing_reasons(pr, policy);
        j
    }

    /// Why the PR may not merge yet, in the original's order.
    fn missing_reasons(&self, pr: &PrFacts, policy: &Policy) -> Vec<String> {
        let noop = self.status.outstanding_noop_repair_summary;
        let no_checks = self.checks.reported == 0;
        let stage_two = self.needs_double_check && self.stage == 2;
        let reasons = [
            (pr.is_draft, "draft"),
            (pr.review_requests > 0, "requested-reviewers-present"),
            (
                self.status.outstanding_blocker,
                "agent-status-blocker-present",
            ),
            (!self.scope.split_reasons.is_empty(), "scope-too-broad"),
            (self.manual_override, "manual-fix-override"),
            (self.actionable > 0 && !noop, "review-feedback-present"),
            (
                self.needs_human && !self.human_approved,
                "system-breaking-risk-scope",
            ),
            (stage_two, "double-check-2-pending"),
            (
                self.needs_double_check && !stage_two,
                "double-check-1-pending",
            ),
            (
                no_checks && !(policy.local_first && self.managed),
                "no-checks-reported",
            ),
        ];
        let mut out: Vec<String> = reasons
            .iter()
            .filter(|(cond, _)| *cond)
            .map(|(_, r)| r.to_string())
            .collect();
        out.extend(self.checks.pending.iter().cloned());
        out.extend(self.effective_failures.iter().cloned());
        if !self.clean {
            let state = pr.merge_state_status.to_lowercase();
            out.push(format!("merge-state-{}", or_unknown(&state)));
        }
        out
    }
}

/// Classifies a PR.
pub fn assess(pr: &PrFacts, ev: &Evidence, policy: &Policy) -> Assessment {
    let j = Judged::of(pr, ev, policy);
    let lane = lane_of(&j, pr.is_draft).to_string();
    Assessment {
        json: to_json(pr, ev, policy, &j, &lane),
        lane,
    }
}

/// The oracle's JSON object, keys in the original's order.
fn to_json(pr: &PrFacts, ev: &Evidence, policy: &Policy, j: &Judged, lane: &str) -> Value {
    let labels = &pr.labels;
    let tier = j.scope.tier();
    let checks_ok = j.checks.pending.is_empty() && j.checks.failures.is_empty();
    let effective_ok = j.checks.pending.is_empty() && j.effective_failures.is_empty();
    let linked = policy.managed.linked_issue(&pr.body, &pr.head_ref_name);
    let fields: Vec<(&str, Value)> = vec![
        ("number", json!(pr.number)),
        ("title", json!(pr.title)),
        ("url", json!(pr.url)),
        ("headRefName", json!(pr.head_ref_name)),
        ("baseRefName", json!(pr.base_ref_name)),
        ("labels", json!(labels)),
        ("risk", json!(tier)),
        ("riskTier", json!(tier)),
        ("riskReason", json!(j.scope.reason())),
        ("linkedIssueId", json!(linked)),
        // The original reports the managed verdict under both names.
        ("isAgentBranch", json!(j.managed)),
        ("isManagedByAgent", json!(j.managed)),
        ("hasAgentHandoffLabel", json!(j.handoff)),
        ("hasAgentStatusComment", json!(j.status.any)),
        ("isBlocked", json!(j.blocked)),
        (
            "hasRepairQueuedLabel",
            json!(has(labels, "agent-repair-queued")),
        ),
        (
            "hasManualFixNeededLabel",
            json!(has(labels, "agent-fix-needed")),
        ),
        ("hasManualFixOverrideLabel", json!(j.manual_override)),
        ("hasHumanApprovedLabel", json!(j.human_approved)),
        (
            "hasDoubleCheckStageOneLabel",
            json!(has(labels, "agent-double-check-1/2")),
        ),
        (
            "hasDoubleCheckStageTwoLabel",
            json!(has(labels, "agent-double-check-2/2")),
        ),
        ("currentDoubleCheckStage", json!(j.stage)),
        ("laneOverride", json!(j.lane_override)),
        ("hasManualFixOverride", json!(j.manual_override)),
        ("headCommittedAt", json!(ev.head_committed_at)),
        ("hasActionableReviewComments", json!(j.actionable > 0)),
        ("actionableReviewCommentCount", json!(j.actionable)),
        ("actionableReviewCommentUrls", json!(j.actionable_urls)),
        (
            "isMobileRegressionPr",
            json!(j.scope.is_mobile_regression_pr),
        ),
        ("hasRequestedReviewers", json!(pr.review_requests > 0)),
        ("localFirstVerificationPolicy", json!(policy.local_first)),
        ("noChecksReported", json!(j.checks.reported == 0)),
        ("checksOk", json!(checks_ok)),
        ("effectiveChecksOk", json!(effective_ok)),
        ("pendingChecks", json!(j.checks.pending)),
        ("checkFailures", json!(j.checks.failures)),
        ("effectiveCheckFailures", json!(j.effective_failures)),
        ("checksBypassed", json!(j.bypass)),
        (
            "infraOnlyCheckFailureMessages",
            json!(ev.annotation_messages),
        ),
        ("systemBreakingFiles", json!(j.scope.system_breaking)),
        ("requiresExplicitHumanApproval", json!(j.needs_human)),
        ("requiresAgentDoubleCheck", json!(j.needs_double_check)),
        ("mergeStateStatus", json!(pr.merge_state_status)),
        ("hasCleanMergeState", json!(j.merge_state == "CLEAN")),
        ("hasEffectiveCleanMergeState", json!(j.clean)),
        ("hasNoopRepairSummary", json!(j.status.noop_repair_summary)),
        (
            "hasOutstandingNoopRepairSummary",
            json!(j.status.outstanding_noop_repair_summary),
        ),
        (
            "currentHeadStatusCommentCount",
            json!(j.status.current_head),
        ),
        (
            "latestAgentStatusIsCiOnlyBlocker",
            json!(j.status.latest_is_ci_only_blocker),
        ),
        (
            "hasOutstandingAgentStatusBlocker",
            json!(j.status.outstanding_blocker),
        ),
        ("scopeTooBroad", json!(!j.scope.split_reasons.is_empty())),
        ("scopeSplitReasons", json!(j.scope.split_reasons)),
        ("productNonTestCount", json!(j.scope.product_non_test)),
        ("mobileProductCount", json!(j.scope.mobile_product)),
        ("mobileRouteFileCount", json!(j.scope.mobile_routes)),
        ("mobileSurfaceCount", json!(j.scope.mobile_surfaces)),
        ("localeResourceCount", json!(j.scope.locale_resources)),
        ("shouldCiRefresh", json!(j.ci_refresh)),
        ("eligibleForAutoMerge", json!(j.missing.is_empty())),
        ("missingReasons", json!(j.missing)),
        ("agentLane", json!(lane)),
        ("files", json!(pr.files)),
    ];
    Value::Object(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<Map<String, Value>>(),
    )
}

fn or_unknown(s: &str) -> &str {
    if s.is_empty() { "unknown" } else { s }
}

/// The lane: the first rule that applies, for the agent's non-draft PRs
/// (others are `ignore`); then a `double-check-N` lane override wins when
/// the PR is otherwise ready for that stage.
fn lane_of(j: &Judged, draft: bool) -> &'static str {
    if !j.managed || draft {
        return "ignore";
    }
    let stage_lane = if j.stage == 2 {
        "double-check-2"
    } else {
        "double-check-1"
    };
    let noop = j.status.outstanding_noop_repair_summary;
    let actionable = j.actionable > 0;
    let effective_ok = j.checks.pending.is_empty() && j.effective_failures.is_empty();
    let mut lane = if j.blocked {
        "blocked"
    } else if j.merge_state == "DIRTY" {
        "merge-repair"
    } else if j.manual_override {
        "fix"
    } else if !j.checks.pending.is_empty() {
        "pending"
    } else if !j.scope.split_reasons.is_empty()
        || j.status.outstanding_blocker
        || (actionable && !noop)
    {
        "fix"
    } else if j.needs_human && !j.human_approved && j.clean && !actionable {
        "human-review"
    } else if j.needs_double_check && j.clean && !actionable {
        stage_lane
    } else if j.ci_refresh {
        "ci-refresh"
    } else if j.missing.is_empty() {
        "automerge"
    } else if !j.clean || !j.effective_failures.is_empty() {
        "fix"
    } else if effective_ok && j.needs_human {
        "human-review"
    } else if effective_ok && j.needs_double_check {
        stage_lane
    } else {
        "ignore"
    };
    let override_applies = !j.blocked
        && !j.running
        && !j.status.outstanding_blocker
        && !actionable
        && j.needs_double_check
        && j.clean;
    if override_applies {
        match j.lane_override.as_str() {
            "double-check-2" => lane = "double-check-2",
            "double-check-1" => lane = "double-check-1",
            _ => {}
        }
    }
    lane
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            managed: ManagedBranches::from_globs("agent/acp/* codex/*", "acp"),
            allow_infra_ci_bypass: true,
            local_first: true,
            lane_override: String::new(),
        }
    }

    fn pr(files: &[&str]) -> PrFacts {
        PrFacts {
            number: Some(5),
            title: "t".into(),
            head_ref_name: "codex/issue-5-x".into(),
            head_ref_oid: "abc".into(),
            files: files.iter().map(|f| f.to_string()).collect(),
            merge_state_status: "CLEAN".into(),
            ..PrFacts::default()
        }
    }

    fn lane(p: &PrFacts, ev: &Evidence, pol: &Policy) -> String {
        assess(p, ev, pol).lane
    }

    #[test]
    fn lanes_in_order() {
        let ev = Evidence::default();
        let pol = policy();
        assert_eq!(lane(&pr(&["docs/a.md"]), &ev, &pol), "automerge");
        let mut p = pr(&["docs/a.md"]);
        p.head_ref_name = "feature/x".into();
        assert_eq!(lane(&p, &ev, &pol), "ignore");
        let mut p = pr(&["docs/a.md"]);
        p.is_draft = true;
        assert_eq!(lane(&p, &ev, &pol), "ignore");
        let mut p = pr(&["docs/a.md"]);
        p.labels = vec!["agent-blocked".into(), "agent-manual-fix-override".into()];
        assert_eq!(lane(&p, &ev, &pol), "blocked");
        p.labels.remove(0);
        assert_eq!(lane(&p, &ev, &pol), "fix");
        let mut p = pr(&["docs/a.md"]);
        p.merge_state_status = "DIRTY".into();
        assert_eq!(lane(&p, &ev, &pol), "merge-repair");
        p.merge_state_status = "BLOCKED".into();
        assert_eq!(lane(&p, &ev, &pol), "fix");
        let mut p = pr(&["docs/a.md"]);
        p.rollup = vec![RollupCheck::Run {
            name: "ci".into(),
            status: "QUEUED".into(),
            conclusion: String::new(),
        }];
        assert_eq!(lane(&p, &ev, &pol), "pending");
        assert_eq!(lane(&pr(&["db/1.sql"]), &ev, &pol), "human-review");
        let mut p = pr(&["db/1.sql"]);
        p.labels = vec!["agent-human-approved".into()];
        assert_eq!(lane(&p, &ev, &pol), "automerge");
        assert_eq!(lane(&pr(&["package.json"]), &ev, &pol), "double-check-1");
        let mut p = pr(&["package.json"]);
        p.labels = vec!["agent-double-check-2/2".into()];
        assert_eq!(lane(&p, &ev, &pol), "double-check-2");
    }

    #[test]
    fn review_feedback_and_noop_summaries() {
        let pol = policy();
        let ev = Evidence {
            review_comments: vec![ReviewComment {
                login: REVIEW_BOT.into(),
                commit_id: "abc".into(),
                body: "P1: bug".into(),
                html_url: "https://x/1".into(),
            }],
            ..Evidence::default()
        };
        let a = assess(&pr(&["docs/a.md"]), &ev, &pol);
        assert_eq!(a.lane, "fix");
        assert_eq!(
            a.json["actionableReviewCommentUrls"],
            json!(["https://x/1"])
        );
        let mut stale = ev.clone();
        stale.review_comments[0].commit_id = "old".into();
        assert_eq!(lane(&pr(&["docs/a.md"]), &stale, &pol), "automerge");
        let mut p = pr(&["docs/a.md"]);
        p.comments = vec![PrComment {
            body: "## PR repair summary\nno source change was needed".into(),
            created_at: String::new(),
        }];
        p.rollup = vec![RollupCheck::Run {
            name: "ci".into(),
            status: "COMPLETED".into(),
            conclusion: "FAILURE".into(),
        }];
        assert_eq!(lane(&p, &Evidence::default(), &pol), "ci-refresh");
    }

    #[test]
    fn infra_only_failures_are_bypassed() {
        let mut p = pr(&["docs/a.md"]);
        p.merge_state_status = "UNSTABLE".into();
        p.rollup = vec![RollupCheck::Run {
            name: "ci".into(),
            status: "COMPLETED".into(),
            conclusion: "FAILURE".into(),
        }];
        let ev = Evidence {
            check_runs: vec![CheckRun {
                status: "completed".into(),
                conclusion: "failure".into(),
                annotations_url: "u".into(),
                annotations_count: 1,
            }],
            annotation_messages: vec!["You have exceeded your spending limit".into()],
            ..Evidence::default()
        };
        let a = assess(&p, &ev, &policy());
        assert_eq!(a.lane, "automerge");
        assert_eq!(a.json["checksBypassed"], json!(true));
        assert_eq!(a.json["checksOk"], json!(false));
        let mut off = policy();
        off.allow_infra_ci_bypass = false;
        assert_eq!(lane(&p, &ev, &off), "fix");
    }

    #[test]
    fn no_checks_only_hold_back_when_not_local_first() {
        let mut pol = policy();
        pol.local_first = false;
        let a = assess(&pr(&["docs/a.md"]), &Evidence::default(), &pol);
        assert_eq!(a.json["missingReasons"], json!(["no-checks-reported"]));
        assert_eq!(a.lane, "ignore");
    }

    #[test]
    fn lane_override_selects_the_stage() {
        let mut pol = policy();
        pol.lane_override = " double-check-2 ".into();
        let a = assess(&pr(&["package.json"]), &Evidence::default(), &pol);
        assert_eq!(a.lane, "double-check-2");
        assert_eq!(a.json["laneOverride"], json!("double-check-2"));
        assert_eq!(a.json["currentDoubleCheckStage"], json!(2));
    }
}
