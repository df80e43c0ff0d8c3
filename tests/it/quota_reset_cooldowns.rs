//! Quota-aware provider cooldowns (issue 10 section 4): when a provider's
//! failure message says when its quota resets, the provider cooldown lasts
//! until then instead of the fixed back-off, and a later failure never
//! brings it forward. Through the shims of `provider-cooldown-state.sh`
//! and `agent-project-retry-state`; the record keeps its keys.

use crate::harness::{World, kv, read, run};

const PROVIDER: &str = "tools/bin/provider-cooldown-state.sh";
const RETRY: &str = "tools/bin/agent-project-retry-state";
const MODEL: &str = "m1";

fn world() -> World {
    let mut w = World::new();
    let config = w.write(
        "profile/control-plane.yaml",
        format!(
            "id: \"q\"\nruntime:\n  orchestrator_agent_root: \"{}\"\n  state_root: \"{}\"\n\
             execution:\n  coding_worker: \"claude\"\n  provider_quota:\n    cooldowns: \"60,120\"\n  \
             claude:\n    model: \"{MODEL}\"\n",
            w.path("agent").display(),
            w.path("state").display()
        ),
    );
    w.env("AGENT_CONTROL_PLANE_CONFIG", &config)
        .env("TZ", "UTC");
    w
}

fn epoch(out: &str) -> i64 {
    kv(out, "NEXT_ATTEMPT_EPOCH").unwrap().parse().unwrap()
}

#[test]
fn a_stated_reset_time_sets_the_cooldown_and_later_failures_keep_it() {
    let w = world();
    let now = acp_core::time::now_epoch();
    let (code, out, err) = run(w.shim(PROVIDER).args([
        "schedule",
        "provider-quota-limit: usage limit reached, resets in 3h",
    ]));
    assert_eq!(code, 0, "{err}");
    let until = epoch(&out);
    assert!(
        (now + 3 * 3600..=now + 3 * 3600 + 5).contains(&until),
        "{out}"
    );
    assert_eq!(kv(&out, "READY"), Some("no"));
    assert_eq!(kv(&out, "ATTEMPTS"), Some("1"));
    // A failure without a reset time does not shorten it to the back-off.
    let (_, out, _) = run(w.shim(PROVIDER).args(["schedule", "provider-quota-limit"]));
    assert_eq!(epoch(&out), until);
    assert_eq!(kv(&out, "ATTEMPTS"), Some("2"));
    let record = read(w.path("state/retries/providers/claude-m1.env"));
    assert!(
        record.contains(&format!("NEXT_ATTEMPT_EPOCH={until}\n")),
        "{record}"
    );
    for key in [
        "ATTEMPTS=2\n",
        "NEXT_ATTEMPT_AT=",
        "LAST_REASON=",
        "UPDATED_AT=",
    ] {
        assert!(record.contains(key), "{record}");
    }
    // A later known reset moves it further out.
    let (_, out, _) = run(w
        .shim(PROVIDER)
        .env(
            "ACP_PROVIDER_COOLDOWN_UNTIL_EPOCH",
            (until + 600).to_string(),
        )
        .args(["schedule", "provider-quota-limit"]));
    assert_eq!(epoch(&out), until + 600);
    let (_, out, _) = run(w.shim(PROVIDER).arg("get"));
    assert_eq!(kv(&out, "READY"), Some("no"));
}

#[test]
fn without_a_reset_time_the_fixed_back_off_applies() {
    let w = world();
    let now = acp_core::time::now_epoch();
    let (_, out, _) = run(w.shim(PROVIDER).args(["schedule", "provider-quota-limit"]));
    assert!((now + 60..=now + 65).contains(&epoch(&out)), "{out}");
}

#[test]
fn retry_state_until_flag() {
    let w = world();
    let now = acp_core::time::now_epoch();
    let state = w.path("state");
    let (code, out, err) = run(w.shim(RETRY).arg("--state-root").arg(&state).args([
        "--kind",
        "issue",
        "--item-id",
        "7",
        "--action",
        "schedule",
        "--until",
        &(now + 5000).to_string(),
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(epoch(&out), now + 5000);
    // A past --until falls back to the cooldown.
    let (_, out, _) = run(w.shim(RETRY).arg("--state-root").arg(&state).args([
        "--kind",
        "issue",
        "--item-id",
        "8",
        "--action",
        "schedule",
        "--until",
        "5",
    ]));
    assert!((now + 300..=now + 305).contains(&epoch(&out)), "{out}");
}
