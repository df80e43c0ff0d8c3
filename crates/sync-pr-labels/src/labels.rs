//! The label rules: which labels a PR gets for its lane, and the label
//! definitions they need.

use acp_github::LabelDef;
use serde_json::Value;

/// The labels the PR lanes use, with their colours and descriptions.
pub fn definitions() -> Vec<LabelDef> {
    [
        ("agent-repair-queued", "D93F0B", "The agent queued one more automated repair pass for this PR"),
        ("agent-manual-fix-override", "9A6700", "Manual override: run one more repair pass on the current head"),
        ("agent-ci-refresh", "FBCA04", "No branch change needed: rerun the failed checks before another coding pass"),
        ("agent-ci-bypassed", "C2E0C6", "Check failures were infrastructure-only (billing) and bypassed by policy"),
        ("agent-double-check-1/2", "B602FF", "Waiting for the first independent agent review before merge"),
        ("agent-double-check-2/2", "7D3CFF", "Waiting for the second independent agent review before merge"),
        ("agent-human-review", "5319E7", "System-breaking change (migrations, data, release automation): a human reviews and merges"),
        ("agent-human-approved", "1D76DB", "A human approved this human-review PR; automation may continue"),
        ("agent-handoff", "0052CC", "A non-agent PR handed to the agent's PR lane"),
        ("agent-exclusive", "C2185B", "Exclusive item: the agent finishes it before starting unrelated work"),
    ]
    .iter()
    .map(|(name, color, description)| LabelDef {
        name: name.to_string(),
        color: color.to_string(),
        description: description.to_string(),
    })
    .chain(std::iter::once(acp_session::risk::automerge_label_def()))
    .collect()
}

/// The fields of pr-risk.sh's JSON that the sync reads, rendered as
/// `jq -r` renders them (a missing value is `null`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RiskView {
    pub managed: bool,
    pub lane: String,
    /// Empty when there is none.
    pub linked_issue: String,
    pub blocked: String,
    pub manual_fix_override: String,
    pub eligible: bool,
    pub risk: String,
    pub checks_bypassed: bool,
    /// The PR's labels, when the JSON lists them.
    pub labels: Option<Vec<String>>,
}

/// `jq -r .x`: strings bare, `null` for a missing value, JSON otherwise.
fn raw(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "null".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// `jq`'s `//`: the value unless it is missing, null or false.
fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|x| !matches!(x, Value::Null | Value::Bool(false)))
}

impl RiskView {
    pub fn of(v: &Value) -> Self {
        let get = |k: &str| v.get(k);
        Self {
            managed: raw(get("isManagedByAgent")) == "true",
            lane: raw(get("agentLane")),
            linked_issue: present(get("linkedIssueId"))
                .map(|x| raw(Some(x)))
                .unwrap_or_default(),
            blocked: raw(get("isBlocked")),
            manual_fix_override: raw(get("hasManualFixOverride")),
            eligible: raw(get("eligibleForAutoMerge")) == "true",
            risk: raw(present(get("riskTier")).or(get("risk"))),
            checks_bypassed: present(get("checksBypassed")).is_some_and(|x| raw(Some(x)) == "true"),
            labels: get("labels")
                .and_then(Value::as_array)
                .and_then(|a| a.iter().map(|l| l.as_str().map(str::to_string)).collect()),
        }
    }
}

/// Add or remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Remove,
}

/// An ordered list of label changes (the original's `--add` / `--remove`
/// words, in its order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delta(pub Vec<(Op, String)>);

impl Delta {
    pub fn removing(names: &[&str]) -> Self {
        let mut d = Self::default();
        d.remove(names);
        d
    }

    /// Removes each of `names` the delta does not add (appended last).
    pub fn remove_unless_added(&mut self, names: &[&str]) {
        for n in names {
            let added = self.0.iter().any(|(op, l)| *op == Op::Add && l == n);
            if !added {
                self.0.push((Op::Remove, n.to_string()));
            }
        }
    }

    fn add(&mut self, names: &[&str]) {
        self.0
            .extend(names.iter().map(|n| (Op::Add, n.to_string())));
    }

    fn remove(&mut self, names: &[&str]) {
        self.0
            .extend(names.iter().map(|n| (Op::Remove, n.to_string())));
    }

    /// `--add a --remove b ...`.
    pub fn words(&self) -> Vec<String> {
        self.0
            .iter()
            .flat_map(|(op, name)| {
                let flag = if *op == Op::Add { "--add" } else { "--remove" };
                [flag.to_string(), name.clone()]
            })
            .collect()
    }

    /// The labels to add and to remove, each once; a label both added and
    /// removed is added (as the label updater's "current - removes + adds").
    /// With the item's `current` labels known, only real changes remain.
    pub fn effective(&self, current: Option<&[String]>) -> (Vec<String>, Vec<String>) {
        let mut add: Vec<String> = Vec::new();
        let mut remove: Vec<String> = Vec::new();
        for (op, name) in &self.0 {
            let list = if *op == Op::Add {
                &mut add
            } else {
                &mut remove
            };
            if !list.contains(name) {
                list.push(name.clone());
            }
        }
        remove.retain(|r| !add.contains(r));
        if let Some(cur) = current {
            add.retain(|l| !cur.contains(l));
            remove.retain(|l| cur.contains(l));
        }
        (add, remove)
    }
}

const AUTOMERGE: &str = "agent-automerge";
const REPAIR: &str = "agent-repair-queued";
const FIX_NEEDED: &str = "agent-fix-needed";
const CI_REFRESH: &str = "agent-ci-refresh";
const CI_BYPASSED: &str = "agent-ci-bypassed";
const DC1: &str = "agent-double-check-1/2";
const DC2: &str = "agent-double-check-2/2";
const HUMAN_REVIEW: &str = "agent-human-review";
const HUMAN_APPROVED: &str = "agent-human-approved";

/// The label changes of an agent PR in `view`'s lane; `exclusive` when the
/// linked issue carries `agent-exclusive`. A lane label never survives a
/// change of lane (`agent-fix-needed` is only ever removed).
pub fn plan(view: &RiskView, exclusive: bool) -> Delta {
    let mut d = Delta::default();
    let blocked = view.blocked == "true";
    if blocked {
        d.remove(&[
            AUTOMERGE,
            REPAIR,
            FIX_NEEDED,
            CI_REFRESH,
            CI_BYPASSED,
            DC1,
            DC2,
            HUMAN_REVIEW,
            HUMAN_APPROVED,
        ]);
    } else if view.eligible {
        d.add(&[AUTOMERGE]);
    } else {
        d.remove(&[AUTOMERGE]);
    }
    if view.checks_bypassed {
        d.add(&[CI_BYPASSED]);
    } else {
        d.remove(&[CI_BYPASSED]);
    }
    if exclusive {
        d.add(&["agent-exclusive"]);
    }
    if blocked {
        return d;
    }
    let (add, remove): (&[&str], &[&str]) = match view.lane.as_str() {
        "fix" => (
            &[REPAIR],
            &[
                FIX_NEEDED,
                CI_REFRESH,
                DC1,
                DC2,
                HUMAN_REVIEW,
                HUMAN_APPROVED,
            ],
        ),
        "ci-refresh" => (
            &[CI_REFRESH],
            &[REPAIR, FIX_NEEDED, DC1, DC2, HUMAN_REVIEW, HUMAN_APPROVED],
        ),
        "double-check-1" => (
            &[DC1],
            &[
                DC2,
                REPAIR,
                FIX_NEEDED,
                CI_REFRESH,
                HUMAN_REVIEW,
                HUMAN_APPROVED,
            ],
        ),
        "double-check-2" => (
            &[DC2],
            &[
                DC1,
                REPAIR,
                FIX_NEEDED,
                CI_REFRESH,
                HUMAN_REVIEW,
                HUMAN_APPROVED,
            ],
        ),
        "human-review" => (&[HUMAN_REVIEW], &[DC1, DC2, REPAIR, FIX_NEEDED, CI_REFRESH]),
        _ => (
            &[],
            &[
                REPAIR,
                FIX_NEEDED,
                CI_REFRESH,
                DC1,
                DC2,
                HUMAN_REVIEW,
                HUMAN_APPROVED,
            ],
        ),
    };
    d.add(add);
    d.remove(remove);
    d
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_view_reads_like_jq() {
        let v = RiskView::of(&json!({"isManagedByAgent": true, "agentLane": "fix",
            "linkedIssueId": null, "isBlocked": false, "riskTier": null, "risk": "low"}));
        assert!(v.managed);
        assert_eq!(v.linked_issue, "");
        assert_eq!(v.blocked, "false");
        assert_eq!(v.manual_fix_override, "null");
        assert_eq!(v.risk, "low");
        assert_eq!(v.labels, None);
        let w = RiskView::of(&json!({"linkedIssueId": 42, "labels": ["a"]}));
        assert_eq!(w.linked_issue, "42");
        assert_eq!(w.labels, Some(vec!["a".to_string()]));
        assert_eq!(w.risk, "null");
    }

    #[test]
    fn the_fix_lane_queues_a_repair_and_never_adds_fix_needed() {
        let view = RiskView {
            lane: "fix".into(),
            blocked: "false".into(),
            ..RiskView::default()
        };
        let words = plan(&view, false).words().join(" ");
        assert!(words.starts_with(
            "--remove agent-automerge --remove agent-ci-bypassed --add agent-repair-queued"
        ));
        assert!(!words.contains("--add agent-fix-needed"));
    }

    #[test]
    fn blocked_prs_lose_every_lane_label() {
        let view = RiskView {
            lane: "blocked".into(),
            blocked: "true".into(),
            checks_bypassed: true,
            ..RiskView::default()
        };
        let (add, remove) = plan(&view, true).effective(None);
        assert_eq!(add, ["agent-ci-bypassed", "agent-exclusive"]);
        assert_eq!(remove.len(), 8);
        assert!(!remove.contains(&"agent-ci-bypassed".to_string()));
    }

    #[test]
    fn known_labels_trim_the_delta_to_real_changes() {
        let view = RiskView {
            lane: "automerge".into(),
            blocked: "false".into(),
            eligible: true,
            ..RiskView::default()
        };
        let current = vec![
            "agent-automerge".to_string(),
            "agent-repair-queued".to_string(),
        ];
        let (add, remove) = plan(&view, false).effective(Some(&current));
        assert!(add.is_empty());
        assert_eq!(remove, ["agent-repair-queued"]);
    }
}
