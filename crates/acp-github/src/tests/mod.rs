//! Tests against a real fake `gh` (`fake_gh.py`) answering from a JSON world
//! file and logging every call.

mod budget;
mod heartbeat;
mod issue_reconcile;
mod outbox;
mod pr_reads;
mod pr_writes;
mod reads;
mod writes;

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use acp_core::Env;
use serde_json::{Value, json};

use crate::{Gh, Sleeper};

/// Records the waits instead of sleeping.
#[derive(Clone, Default)]
pub struct Waits(Rc<RefCell<Vec<Duration>>>);

impl Sleeper for Waits {
    fn sleep(&self, d: Duration) {
        self.0.borrow_mut().push(d);
    }
}

impl Waits {
    pub fn taken(&self) -> Vec<Duration> {
        self.0.borrow().clone()
    }
}

/// A temp dir with `bin/gh` (the fake), `world.json` and `gh.log`.
pub struct World {
    pub dir: tempfile::TempDir,
    pub waits: Waits,
}

pub const REPO: &str = "acme/widgets";

impl World {
    pub fn new(world: Value) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("bin")).unwrap();
        acp_core::testutil::write_script(
            &dir.path().join("bin/gh"),
            include_str!("../../../../tests/fake-gh/fake_gh.py"),
        );
        let w = Self {
            dir,
            waits: Waits::default(),
        };
        w.set(world);
        std::fs::write(w.log_path(), "").unwrap();
        w
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn log_path(&self) -> PathBuf {
        self.path("gh.log")
    }

    pub fn set(&self, world: Value) {
        std::fs::write(self.path("world.json"), world.to_string()).unwrap();
    }

    pub fn get(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.path("world.json")).unwrap()).unwrap()
    }

    /// Changes one top-level key of the world.
    pub fn put(&self, key: &str, value: Value) {
        let mut w = self.get();
        w[key] = value;
        self.set(w);
    }

    /// The environment of a process that has a token.
    pub fn env(&self) -> Env {
        let mut env = self.env_without_token();
        env.set("GH_TOKEN", "test-token");
        env
    }

    pub fn env_without_token(&self) -> Env {
        let mut env = Env::new();
        let bin = self.path("bin");
        env.set("PATH", format!("{}:/usr/bin:/bin", bin.display()));
        env.set("FAKE_GH_WORLD", self.path("world.json"));
        env.set("FAKE_GH_LOG", self.log_path());
        env.set("HOME", self.dir.path());
        env
    }

    /// A fresh handle, as a new process would make one.
    pub fn gh(&self) -> Gh {
        self.gh_with(self.env())
    }

    pub fn gh_with(&self, env: Env) -> Gh {
        Gh::new(env)
            .unwrap()
            .with_sleeper(Box::new(self.waits.clone()))
    }

    /// Every call made so far, as argv lists.
    pub fn calls(&self) -> Vec<Vec<String>> {
        std::fs::read_to_string(self.log_path())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub fn clear_log(&self) {
        std::fs::write(self.log_path(), "").unwrap();
    }

    /// The bodies of the comments of item `n`.
    pub fn comment_bodies(&self, n: u64) -> Vec<String> {
        self.get()["comments"][n.to_string()]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| c["body"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The labels of issue (or PR) `n` in the world.
    pub fn labels_of(&self, kind: &str, n: u64) -> Vec<String> {
        let w = self.get();
        let item = w[kind]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["number"] == n)
            .unwrap()
            .clone();
        serde_json::from_value(item["labels"].clone()).unwrap()
    }
}

/// A world with `n` open issues labelled `agent-ready`, a few PRs, labels.
pub fn sample_world(n: u64) -> Value {
    let issues: Vec<Value> = (1..=n)
        .map(|i| {
            json!({"number": i, "title": format!("Issue {i}"), "body": "b", "state": "OPEN",
                   "labels": if i % 2 == 0 { vec!["agent-ready"] } else { vec![] }})
        })
        .collect();
    json!({
        "issues": issues,
        "prs": [
            {"number": 500, "title": "PR", "state": "OPEN", "headRefName": "agent/1",
             "labels": ["agent-pr"], "isDraft": false},
            {"number": 501, "title": "Merged", "state": "MERGED", "labels": []}
        ],
        "labels": ["agent-ready", "agent-running", "agent-blocked", "agent-pr"],
        "comments": {},
        "faults": []
    })
}
