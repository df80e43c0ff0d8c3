//! The policy one function at a time: what each bash function of
//! `hooks/heartbeat-hooks.sh` asks the binary
//! (`agent-project-heartbeat-hooks [settings] WORD args...`).
//!
//! Words that decide over GitHub JSON take it on stdin (what the calling
//! function got from `heartbeat_cached_issue_list_json`,
//! `heartbeat_issue_json_cached`, ..., so a user's edited helper feeds the
//! decisions as in the original); the others read through [`super::Reads`].
//! Exit status 1 means "no" for the words the original's functions
//! answered with a status; 3 from `blocked-reason` means "send the
//! issue's JSON".

use anyhow::{Result, bail};
use serde_json::Value;

use super::launch::{self, PrWorker};
use super::{Policy, hook_run, labels, parse_id, resident, select};
use crate::hooks::HookRun;

/// Every word, for the tool's usage text.
pub const WORDS: &[&str] = &[
    "issue-list-json",
    "pr-list-json",
    "issue-json",
    "agent-pr-issue-ids",
    "ready-issues",
    "blocked-candidates",
    "blocked-reason",
    "exclusive-issues",
    "running-issues",
    "agent-prs",
    "exclusive-prs",
    "attr",
    "issue-heavy",
    "pr-exclusive",
    "pr-risk",
    "sync-pr-labels",
    "mark-issue-running",
    "issue-launch-failed",
    "sync-issue-labels",
    "ensure-label",
    "mark-pr-running",
    "clear-pr-running",
    "uses-resident-loop",
    "idle-controller-count",
    "lane-kind",
    "lane-value",
    "worker-key",
    "pending-issue-pid",
    "pending-lane-issue",
    "live-controller",
    "enqueue-live-lane",
    "enqueue-idle-controller",
    "enqueue",
    "start-issue-worker",
    "start-pr-worker",
    "ci-refresh",
    "reconcile",
    "invalidate",
    "baseline-head",
    "baseline-blocked",
];

fn arg(args: &[String], i: usize) -> Result<&str> {
    match args.get(i) {
        Some(a) => Ok(a.as_str()),
        None => bail!("missing argument {}", i + 1),
    }
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// JSON from stdin; `null` when it is empty or not JSON (the original's
/// jq filters answered nothing then).
fn json_in(stdin: &[u8]) -> Value {
    serde_json::from_slice(stdin).unwrap_or(Value::Null)
}

fn lines<T: ToString>(items: impl IntoIterator<Item = T>) -> HookRun {
    let mut out = String::new();
    for i in items {
        out.push_str(&i.to_string());
        out.push('\n');
    }
    HookRun::ok(out)
}

fn yes_no(b: bool) -> HookRun {
    HookRun::ok(if b { "yes\n" } else { "no\n" })
}

fn status(ok: bool, out: String) -> HookRun {
    if ok {
        HookRun::ok(out)
    } else {
        HookRun::failed(1, out)
    }
}

fn linked(args: &[String]) -> Vec<String> {
    flag(args, "--linked")
        .and_then(|j| serde_json::from_str::<Vec<Value>>(j).ok())
        .unwrap_or_default()
        .iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

/// Runs `word` with `args` (and `stdin`).
pub fn run(p: &mut Policy, word: &str, args: &[String], stdin: &[u8]) -> Result<HookRun> {
    if let Some(run) = lists(p, word, args, stdin)? {
        return Ok(run);
    }
    if let Some(run) = attributes(p, word, args, stdin)? {
        return Ok(run);
    }
    if let Some(run) = resident_words(p, word, args)? {
        return Ok(run);
    }
    effects(p, word, args, stdin)
}

fn lists(p: &mut Policy, word: &str, args: &[String], stdin: &[u8]) -> Result<Option<HookRun>> {
    let compact = |v: &Value| HookRun::ok(format!("{v}\n"));
    Ok(Some(match word {
        "issue-list-json" => compact(&*p.reads.issues()?),
        "pr-list-json" => compact(&*p.reads.prs()?),
        "issue-json" => match p.reads.issue(parse_id(arg(args, 0)?)?) {
            Ok(v) => compact(&v),
            Err(e) => HookRun::failed(1, format!("{e:#}\n")),
        },
        "agent-pr-issue-ids" => {
            let ids = p.s.rules.linked_issue_ids(&json_in(stdin));
            HookRun::ok(format!("{}\n", serde_json::to_string(&ids)?))
        }
        "ready-issues" => lines(p.without_queued(select::ready_issue_ids(
            &json_in(stdin),
            &linked(args),
            p.s.require_ready_label,
        ))),
        "blocked-candidates" => lines(select::blocked_candidate_ids(
            &json_in(stdin),
            &linked(args),
        )),
        "exclusive-issues" => {
            let label = p.s.rules.exclusive_label.clone();
            lines(select::exclusive_issue_ids(
                &json_in(stdin),
                &linked(args),
                &label,
            ))
        }
        "running-issues" => lines(select::running_issue_ids(&json_in(stdin))),
        "agent-prs" => lines(p.s.rules.agent_pr_ids(&json_in(stdin))),
        "exclusive-prs" => lines(p.s.rules.exclusive_pr_ids(&json_in(stdin))),
        "blocked-reason" => {
            let id = parse_id(arg(args, 0)?)?;
            let retry = p.retry_reason(id);
            if !retry.is_empty() && retry != "issue-worker-blocked" {
                if p.baseline_blocked(id, &retry) {
                    return Ok(Some(HookRun::ok("")));
                }
                return Ok(Some(HookRun::ok(format!("{retry}\n"))));
            }
            if flag(args, "--issue-json").is_none() {
                return Ok(Some(HookRun::failed(3, "")));
            }
            let mut issue = json_in(stdin);
            if issue.is_null() {
                return Ok(Some(HookRun::ok("")));
            }
            // A list entry holds no comments: the reason needs the view.
            if select::comment_bodies(&issue).is_none()
                && let Ok(view) = p.reads.issue_view(id)
            {
                issue = view;
            }
            let reason = super::reason_of_view(&issue, &retry);
            lines(Some(reason).filter(|r| !r.is_empty()))
        }
        _ => return Ok(None),
    }))
}

fn attributes(
    p: &mut Policy,
    word: &str,
    args: &[String],
    stdin: &[u8],
) -> Result<Option<HookRun>> {
    Ok(Some(match word {
        "attr" => {
            let issue = json_in(stdin);
            let body = select::body(&issue);
            match arg(args, 0)? {
                "recurring" => yes_no(select::has_label(&issue, select::KEEP_OPEN)),
                "scheduled" => yes_no(select::schedule_interval_seconds(body) > 0),
                "interval" => HookRun::ok(format!("{}\n", select::schedule_interval_seconds(body))),
                "token" => HookRun::ok(format!(
                    "{}\n",
                    select::schedule_token(body).unwrap_or_default()
                )),
                "label" => {
                    lines(select::schedule_token(body).map(|t| format!("agent-schedule-{t}")))
                }
                "exclusive" => yes_no(select::has_label(&issue, &p.s.rules.exclusive_label)),
                other => bail!("unknown attribute {other:?}"),
            }
        }
        "issue-heavy" => {
            let out = p.run_tool(&p.adapter("issue-resource-class.sh"), &[arg(args, 0)?], &[]);
            let text = String::from_utf8_lossy(&out.stdout);
            let mut run = HookRun::ok(format!(
                "{}\n",
                acp_core::kv::last(&text, "IS_E2E").unwrap_or("").trim()
            ));
            run.status = acp_core::process::exit_code(out.status);
            run
        }
        "pr-exclusive" => {
            let pr = parse_id(arg(args, 0)?)?;
            let label = p.s.rules.exclusive_label.clone();
            yes_no(p.reads.pr(pr).is_ok_and(|v| select::has_label(&v, &label)))
        }
        "pr-risk" => hook_run(&p.run_tool(&p.adapter("pr-risk.sh"), &[arg(args, 0)?], &[])),
        "baseline-head" => lines(Some(p.baseline_head()).filter(|h| !h.is_empty())),
        "baseline-blocked" => {
            let id = parse_id(arg(args, 0)?)?;
            status(
                p.baseline_blocked(id, args.get(1).map_or("", String::as_str)),
                String::new(),
            )
        }
        "uses-resident-loop" => yes_no(p.uses_resident_loop(parse_id(arg(args, 0)?)?)),
        _ => return Ok(None),
    }))
}

fn resident_words(p: &mut Policy, word: &str, args: &[String]) -> Result<Option<HookRun>> {
    let state = p.s.state_root.clone();
    Ok(Some(match word {
        "idle-controller-count" => lines([resident::idle_controller_count(&state)]),
        "lane-kind" | "lane-value" => {
            let interval = p.interval_seconds(parse_id(arg(args, 0)?)?);
            let (kind, value) = super::settings::lane_of(interval);
            lines([if word == "lane-kind" {
                kind.to_string()
            } else {
                value
            }])
        }
        "worker-key" => lines([launch::worker_key(p, parse_id(arg(args, 0)?)?)]),
        "pending-issue-pid" => {
            let live = resident::pending_issue_launch(&p.s.pending_dir, arg(args, 0)?);
            status(
                live.is_some(),
                live.map(|l| format!("{}\n", l.pid)).unwrap_or_default(),
            )
        }
        "pending-lane-issue" => {
            let other = launch::pending_lane_issue(p, parse_id(arg(args, 0)?)?);
            status(
                other.is_some(),
                other.map(|o| format!("{o}\n")).unwrap_or_default(),
            )
        }
        "live-controller" => {
            let key = launch::worker_key(p, parse_id(arg(args, 0)?)?);
            match resident::live_controller_for_key(&state, &key) {
                Some(c) => HookRun::ok(format!(
                    "ISSUE_ID={}\nCONTROLLER_PID={}\nCONTROLLER_STATE={}\nCONTROLLER_FILE={}\n",
                    c.issue_id,
                    c.pid.map(|x| x.pid.to_string()).unwrap_or_default(),
                    c.state,
                    c.file.display()
                )),
                None => HookRun::failed(1, ""),
            }
        }
        "enqueue-live-lane" => {
            let id = parse_id(arg(args, 0)?)?;
            let key = launch::worker_key(p, id);
            match resident::live_controller_for_key(&state, &key) {
                None => HookRun::failed(1, ""),
                Some(c) if c.issue_id == id.to_string() => HookRun::ok(format!(
                    "QUEUE_STATUS=controller-already-active\nISSUE_ID={id}\n"
                )),
                Some(_) => {
                    resident::enqueue(&state, &id.to_string(), "heartbeat-live-lane")?;
                    HookRun::ok("")
                }
            }
        }
        "enqueue-idle-controller" => {
            if !launch::idle_controller_has_room(p) {
                HookRun::failed(1, "")
            } else {
                resident::enqueue(&state, arg(args, 0)?, "heartbeat")?;
                HookRun::ok("")
            }
        }
        "enqueue" => {
            let by = args.get(1).map_or("heartbeat", String::as_str);
            resident::enqueue(&state, &parse_id(arg(args, 0)?)?.to_string(), by)?;
            HookRun::ok("")
        }
        _ => return Ok(None),
    }))
}

fn effects(p: &mut Policy, word: &str, args: &[String], stdin: &[u8]) -> Result<HookRun> {
    let id = || -> Result<u64> { parse_id(arg(args, 0)?) };
    match word {
        "sync-pr-labels" => labels::sync_pr_labels(p, id()?),
        "mark-issue-running" => {
            labels::mark_issue_running(p, id()?, args.get(1).is_some_and(|h| h == "yes"))
        }
        "issue-launch-failed" => labels::issue_launch_failed(p, id()?),
        "sync-issue-labels" => {
            let issue = json_in(stdin);
            Ok(labels::sync_issue_labels_of(p, id()?, &issue))
        }
        "ensure-label" => {
            let def = acp_github::LabelDef {
                name: arg(args, 0)?.to_string(),
                description: args.get(1).cloned().unwrap_or_default(),
                color: args.get(2).cloned().unwrap_or_else(|| "1D76DB".into()),
            };
            let (repo, state) = (p.s.repo.clone(), p.s.state_root.clone());
            let _ = p.reads.gh()?.ensure_labels(&repo, &[def], &state);
            Ok(HookRun::ok(""))
        }
        "mark-pr-running" => labels::mark_pr_running(p, id()?),
        "clear-pr-running" => labels::clear_pr_running(p, id()?),
        "start-issue-worker" => launch::start_issue_worker(p, id()?),
        "start-pr-worker" => {
            let kind = match arg(args, 0)? {
                "review" => PrWorker::Review,
                "fix" => PrWorker::Fix,
                "merge-repair" => PrWorker::MergeRepair,
                other => bail!("unknown PR worker {other:?}"),
            };
            launch::start_pr_worker(p, kind, parse_id(arg(args, 1)?)?)
        }
        "ci-refresh" => launch::start_pr_ci_refresh(p, id()?),
        "reconcile" => {
            let wrapper = match arg(args, 0)? {
                "issue" => "reconcile-issue-worker.sh",
                "pr" => "reconcile-pr-worker.sh",
                other => bail!("unknown reconcile kind {other:?}"),
            };
            Ok(launch::reconcile(p, wrapper, arg(args, 1)?))
        }
        "invalidate" => {
            p.reads.invalidate();
            Ok(HookRun::ok(""))
        }
        other => bail!("unknown word {other:?} (words: {})", WORDS.join(", ")),
    }
}
