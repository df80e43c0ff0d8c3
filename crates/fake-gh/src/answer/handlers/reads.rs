//! REST reads (risk, bench probes, PR views) and CI reruns.

use serde_json::{Value, json};

use super::super::{Gh, HTTP_403, array, die, json_out, slot, str_of, text};
use super::route;
use crate::world::Answer;

impl Gh<'_> {
    /// Every remaining `api` shape: risk reads, reruns, `rate_limit`, the
    /// REST views of issues, commits and pulls, the repository-id lookup.
    pub(in crate::answer) fn reads(&mut self) -> Answer {
        if self.arg(0) != "api" {
            return Ok(None);
        }
        let arg = self.arg(1).to_string();
        let r: Vec<&str> = route(&arg);
        let path = arg.split('?').next().unwrap_or("");
        let lookup = |w: &Value, key: &str, k: &str| w.get(key).and_then(|m| m.get(k)).cloned();
        if r.len() == 6 && r[3] == "pulls" && r[5] == "comments" {
            return json_out(lookup(self.world, "review_comments", r[4]).unwrap_or(json!([])));
        }
        if r.len() == 6 && r[3] == "commits" && r[5] == "check-runs" {
            let runs = lookup(self.world, "check_runs", r[4]).unwrap_or(json!([]));
            let total = runs.as_array().map_or(0, Vec::len);
            return json_out(json!({"total_count": total, "check_runs": runs}));
        }
        if path.starts_with("https://") && path.ends_with("/annotations") {
            return json_out(lookup(self.world, "annotations", path).unwrap_or(json!([])));
        }
        if self.opt("--method") == Some("POST") {
            let parts: Vec<&str> = arg.split('/').collect();
            if parts.len() == 7 && parts[3] == "actions" && parts[4] == "runs" {
                let refused = self.world.get("rerun_refused").and_then(Value::as_array);
                if parts[6] == "rerun-failed-jobs"
                    && refused.is_some_and(|a| a.iter().any(|x| x == parts[5]))
                {
                    return die(HTTP_403);
                }
                let entry = format!("{}/{}", parts[5], parts[6]);
                array(slot(self.world, "reruns", json!([]))).push(json!(entry));
                return text("");
            }
        }
        if arg == "rate_limit" {
            let left = self
                .world
                .get("graphql_remaining")
                .and_then(Value::as_i64)
                .unwrap_or(5000);
            if self.opt("--jq").is_some() {
                return text(format!("{left}\n"));
            }
            return json_out(json!({"resources": {"core": {"remaining": 5000},
                                                "graphql": {"remaining": left}}}));
        }
        if self.method() != "GET" {
            return Ok(None);
        }
        self.rest_views(&r)
    }

    /// The GET views: `repos/R/issues/N`, `user/repos`, `repos/R/commits/SHA`
    /// (and `/status`), `repos/R/pulls/N`.
    fn rest_views(&mut self, r: &[&str]) -> Answer {
        if r.len() == 5 && r[0] == "repos" && r[3] == "issues" {
            return self.rest_issue(r[4]);
        }
        if r.len() >= 2 && r[0] == "user" && r[1] == "repos" {
            let repo = json!({"id": self.world.get("repo_id").cloned().unwrap_or(json!(1)),
                              "full_name": str_of(self.world, "repo", "")});
            return json_out(if self.has("--slurp") {
                json!([[repo]])
            } else {
                json!([repo])
            });
        }
        if r.len() == 5 && r[3] == "commits" {
            let date = "2026-01-01T00:00:00Z";
            if self.opt("--jq").is_some() {
                return text(format!("{date}\n"));
            }
            return json_out(json!({"sha": r[4], "commit": {"committer": {"date": date}}}));
        }
        if r.len() == 6 && r[3] == "commits" && r[5] == "status" {
            return json_out(json!({"state": "success", "statuses": []}));
        }
        if r.len() == 5 && r[0] == "repos" && r[3] == "pulls" {
            let pr = self.find("pr", r[4])?;
            return json_out(json!({
                "number": pr.get("number"),
                "head": {"ref": str_of(&pr, "headRefName", ""), "sha": str_of(&pr, "headRefOid", "")},
                "base": {"ref": str_of(&pr, "baseRefName", "main")},
                "mergeable": pr.get("mergeable").cloned().unwrap_or(Value::Null)}));
        }
        Ok(None)
    }

    /// The REST shape of issue (or PR) `n`.
    fn rest_issue(&mut self, n: &str) -> Answer {
        let num = Self::number(n)?;
        let (it, is_pr) = if self.position("issue", num).is_some() {
            (self.find("issue", n)?, false)
        } else if self.position("pr", num).is_some() {
            (self.find("pr", n)?, true)
        } else {
            (self.find("issue", n)?, false)
        };
        let labels: Vec<Value> = it
            .get("labels")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|l| json!({"name": l})).collect())
            .unwrap_or_default();
        let mut out = json!({
            "number": it.get("number"), "title": str_of(&it, "title", ""),
            "body": str_of(&it, "body", ""),
            "state": str_of(&it, "state", "OPEN").to_lowercase(),
            "html_url": str_of(&it, "url", ""), "labels": labels,
            "comments": self.comments_of(n).len(),
            "user": {"login": str_of(&it, "author", "someone")},
            "created_at": str_of(&it, "createdAt", ""), "updated_at": str_of(&it, "updatedAt", "")});
        if is_pr {
            out["pull_request"] = json!({"url": str_of(&it, "url", "")});
        }
        json_out(out)
    }
}
