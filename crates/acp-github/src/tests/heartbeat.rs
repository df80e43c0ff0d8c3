use super::{REPO, World, sample_world};
use crate::State;

#[test]
fn the_heartbeat_lists_share_the_snapshot_and_answer_items() {
    let w = World::new(sample_world(250));
    let gh = w.gh();
    assert!(gh.issue_list_if_read(REPO).is_none());
    let issues = gh.open_issue_list(REPO).unwrap();
    assert_eq!(issues.as_array().unwrap().len(), 250);
    assert!(gh.issue_list_if_read(REPO).is_some());
    // The same call as `issues` without labels: no second read.
    assert_eq!(gh.issues(REPO, State::Open, &[]).unwrap().len(), 250);
    assert_eq!(gh.issue(REPO, 3).unwrap().title, "Issue 3");
    let prs = gh.open_pr_list(REPO).unwrap();
    assert_eq!(prs.as_array().unwrap().len(), 1);
    assert_eq!(gh.pr(REPO, 500).unwrap().head_ref_name, "agent/1");
    let calls = w.calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls[1].last().unwrap().contains("statusCheckRollup"));
    gh.forget_repo_reads(REPO);
    assert!(gh.issue_list_if_read(REPO).is_none());
}

#[test]
fn failed_actions_runs_come_from_check_runs_and_are_rerun() {
    let w = World::new(sample_world(1));
    let sha = "a".repeat(40);
    w.put(
        "check_runs",
        serde_json::json!({ sha.clone(): [
            {"conclusion": "failure", "details_url": "https://github.com/o/r/actions/runs/9/job/1"},
            {"conclusion": "failure", "details_url": "https://github.com/o/r/actions/runs/9/job/2"},
            {"conclusion": "success", "details_url": "https://github.com/o/r/actions/runs/8/job/1"}
        ]}),
    );
    let gh = w.gh();
    assert_eq!(gh.failed_action_run_ids(REPO, &sha).unwrap(), [9]);
    assert!(gh.failed_action_run_ids(REPO, "not a sha").is_err());
    gh.rerun_action_run(REPO, 9).unwrap();
    assert_eq!(
        w.get()["reruns"],
        serde_json::json!(["9/rerun-failed-jobs"])
    );
}
