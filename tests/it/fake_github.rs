//! A fake GitHub for integration tests: our `acp-fake-gh` tool (crate
//! `fake-gh`) installed as `gh` first on the world's PATH, answering from a
//! JSON world file and recording every call. See that crate's documentation
//! for the world's shape and its fault injection ("faults": fail the Nth
//! read or write, rate limits).

use std::path::PathBuf;

use serde_json::Value;

use crate::harness::{World, write_script};

/// The files of one fake GitHub.
pub struct FakeGithub {
    pub world: PathBuf,
    pub log: PathBuf,
}

impl FakeGithub {
    /// The world as the fake holds it now.
    pub fn state(&self) -> Value {
        serde_json::from_slice(&std::fs::read(&self.world).expect("read fake world"))
            .expect("fake world is JSON")
    }

    /// Replaces the world.
    pub fn set(&self, world: &Value) {
        std::fs::write(&self.world, serde_json::to_vec_pretty(world).expect("json"))
            .expect("write fake world");
    }

    /// Sets one top-level key of the world (e.g. "faults").
    pub fn put(&self, key: &str, value: Value) {
        let mut w = self.state();
        w[key] = value;
        self.set(&w);
    }

    /// Every argv `gh` was called with, in order.
    pub fn calls(&self) -> Vec<Vec<String>> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).expect("log line is JSON"))
            .collect()
    }

    /// Forgets the calls recorded so far.
    pub fn clear_calls(&self) {
        std::fs::write(&self.log, "").expect("clear fake gh log");
    }

    /// The bodies of the comments of issue or PR `n`.
    pub fn comments(&self, n: u64) -> Vec<String> {
        let w = self.state();
        w["comments"][n.to_string()]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| c["body"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The labels of issue (`kind` "issue") or PR ("pr") `n`.
    pub fn labels(&self, kind: &str, n: u64) -> Vec<String> {
        let key = if kind == "issue" { "issues" } else { "prs" };
        let w = self.state();
        w[key]
            .as_array()
            .and_then(|a| a.iter().find(|i| i["number"] == n))
            .and_then(|i| i["labels"].as_array())
            .map(|l| {
                l.iter()
                    .map(|x| x.as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl World {
    /// Installs the fake `gh` first on PATH with `world` as its state
    /// (`{"issues": [...], "prs": [...], "labels": [...], "comments":
    /// {"N": [...]}}`), with a token set so nothing asks about auth.
    pub fn fake_github(&mut self, world: &Value) -> FakeGithub {
        let fake = FakeGithub {
            world: self.path("fake-github/world.json"),
            log: self.path("fake-github/calls.jsonl"),
        };
        std::fs::create_dir_all(fake.world.parent().expect("parent")).expect("mkdir");
        fake.set(world);
        fake.clear_calls();
        let bin = crate::harness::bin()
            .to_string_lossy()
            .replace('\'', "'\\''");
        let wrapper = format!("#!/usr/bin/env bash\nexec '{bin}' acp-fake-gh \"$@\"\n");
        write_script(&self.fake_bin.join("gh"), &wrapper);
        let (w, l) = (fake.world.clone(), fake.log.clone());
        self.env("FAKE_GH_WORLD", &w)
            .env("FAKE_GH_LOG", &l)
            .env("GH_TOKEN", "test-token");
        fake
    }
}

#[test]
fn the_fake_answers_reads_and_writes_and_records_them() {
    let mut w = World::new();
    let gh = w.fake_github(&serde_json::json!({
        "labels": ["agent-running"],
        "issues": [{"number": 7, "title": "t", "labels": []}],
    }));
    let (code, _, err) = crate::harness::run(w.cmd("gh").args([
        "issue",
        "edit",
        "7",
        "-R",
        "acme/widgets",
        "--add-label=agent-running",
    ]));
    assert_eq!(code, 0, "{err}");
    let route = "repos/acme/widgets/issues/7/comments";
    let (code, _, err) = crate::harness::run(
        w.cmd("gh")
            .args(["api", route, "--method", "POST", "-f", "body=hi"]),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(gh.labels("issue", 7), ["agent-running"]);
    assert_eq!(gh.comments(7), ["hi"]);
    assert_eq!(gh.calls().len(), 2);
    gh.clear_calls();
    gh.put(
        "faults",
        serde_json::json!([{"on": "read", "count": 1, "answer": "502"}]),
    );
    let (code, _, _) = crate::harness::run(w.cmd("gh").args([
        "label",
        "list",
        "-R",
        "acme/widgets",
        "--json",
        "name",
    ]));
    assert_ne!(code, 0);
    assert_eq!(
        gh.calls(),
        [["label", "list", "-R", "acme/widgets", "--json", "name"]]
    );
}

#[test]
fn concurrent_calls_never_lose_an_update_and_unknown_shapes_fail() {
    let mut w = World::new();
    let gh = w.fake_github(&serde_json::json!({"issues": [{"number": 3, "title": "t"}]}));
    let route = "repos/acme/widgets/issues/3/comments";
    let children: Vec<_> = (0..12)
        .map(|i| {
            w.cmd("gh")
                .args([
                    "api",
                    route,
                    "--method",
                    "POST",
                    "-f",
                    &format!("body=c{i}"),
                ])
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("spawn fake gh")
        })
        .collect();
    for mut c in children {
        assert!(c.wait().expect("wait").success());
    }
    let mut bodies = gh.comments(3);
    bodies.sort();
    let mut want: Vec<String> = (0..12).map(|i| format!("c{i}")).collect();
    want.sort();
    assert_eq!(bodies, want, "every concurrent comment is kept");
    let (code, _, err) = crate::harness::run(w.cmd("gh").args(["repo", "fork"]));
    assert_eq!(code, 1);
    assert!(err.contains("fake gh: unknown command: repo fork"), "{err}");
}
