//! The handlers, one group of call shapes each.

use serde_json::{Value, json};

use super::{Gh, HTTP_403, array, die, json_out, slot, str_of, text};
use crate::world::Answer;

/// The route of an `api` call split on `/` (query string dropped).
fn route(arg: &str) -> Vec<&str> {
    arg.split('?').next().unwrap_or("").split('/').collect()
}

impl Gh<'_> {
    /// `auth status`, `issue|pr list|view|edit`, `label list|create|edit`.
    pub(super) fn items_and_labels(&mut self) -> Answer {
        let (a, b) = self.first_two();
        let kind = a.to_string();
        match (a, b) {
            ("auth", "status") => text(""),
            ("issue" | "pr", "list") => {
                let state = self.opt("--state").unwrap_or("open").to_lowercase();
                let want: Vec<String> =
                    self.opts("--label").iter().map(|s| s.to_string()).collect();
                let fields = self.opt("--json").unwrap_or("number").to_string();
                let limit: usize = self
                    .opt("--limit")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(30);
                let found: Vec<Value> = self
                    .items(&kind)
                    .iter()
                    .filter(|i| {
                        let s = str_of(i, "state", "OPEN").to_lowercase();
                        let labels = i.get("labels").and_then(Value::as_array);
                        (state == "all" || s == state)
                            && want.iter().all(|l| {
                                labels.is_some_and(|ls| ls.iter().any(|x| x == l.as_str()))
                            })
                    })
                    .take(limit)
                    .map(|i| self.shape(i, &fields))
                    .collect();
                json_out(Value::Array(found))
            }
            ("issue" | "pr", "view") => {
                let n = self.arg(2).to_string();
                let item = self.find(&kind, &n)?;
                let fields = self.opt("--json").unwrap_or("number").to_string();
                json_out(self.shape(&item, &fields))
            }
            ("issue" | "pr", "edit") => self.edit(&kind),
            ("label", "list") => {
                let names: Vec<Value> = self.labels().iter().map(|n| json!({"name": n})).collect();
                json_out(Value::Array(names))
            }
            ("label", "create") => {
                let name = self.arg(2).to_string();
                let force = self.has("--force");
                let labels = array(slot(self.world, "labels", json!([])));
                if labels.iter().any(|l| l == name.as_str()) {
                    if force {
                        return text("");
                    }
                    return die(format!(
                        "label with name \"{name}\" already exists; use `--force` to update its color and description"
                    ));
                }
                labels.push(json!(name));
                text("")
            }
            ("label", "edit") => {
                let name = self.arg(2);
                if !self.labels().iter().any(|l| l == name) {
                    return die(format!("label '{name}' not found"));
                }
                text("")
            }
            _ => Ok(None),
        }
    }

    /// `issue|pr edit N --add-label A,B --remove-label C`.
    fn edit(&mut self, kind: &str) -> Answer {
        let split = |v: Vec<&str>| -> Vec<String> {
            v.iter()
                .flat_map(|a| a.split(','))
                .map(str::to_string)
                .collect()
        };
        let add = split(self.opts("--add-label"));
        let remove = split(self.opts("--remove-label"));
        let defined = self.labels();
        if let Some(l) = add.iter().find(|l| !defined.contains(l)) {
            return die(format!("'{l}' not found"));
        }
        let n = self.arg(2).to_string();
        let item = self.find_mut(kind, &n)?;
        let labels = array(slot(item, "labels", json!([])));
        labels.retain(|l| !remove.iter().any(|r| l == r.as_str()));
        for l in &add {
            if !labels.iter().any(|x| x == l.as_str()) {
                labels.push(json!(l));
            }
        }
        text(format!("{}\n", str_of(item, "url", "")))
    }

    /// `api repos/R/issues/N/comments` (GET, paginated, or POST `-f body=`).
    pub(super) fn comments_route(&mut self) -> Answer {
        if self.arg(0) != "api" {
            return Ok(None);
        }
        let r: Vec<String> = route(self.arg(1)).iter().map(|s| s.to_string()).collect();
        if !(r.len() == 6 && r[3] == "issues" && r[5] == "comments") {
            return Ok(None);
        }
        let post = self.method() == "POST";
        let body = if post {
            Some(self.field("body")?)
        } else {
            None
        };
        let size = self
            .world
            .get("page_size")
            .and_then(Value::as_u64)
            .unwrap_or(100)
            .max(1) as usize;
        let slurp = self.has("--slurp");
        let comments = array(slot(
            slot(self.world, "comments", json!({})),
            &r[4],
            json!([]),
        ));
        if let Some(body) = body {
            let c = json!({"id": comments.len() + 1, "body": body, "user": {"login": "bot"}});
            comments.push(c.clone());
            return json_out(c);
        }
        let mut pages: Vec<Value> = comments
            .chunks(size)
            .map(|p| Value::Array(p.to_vec()))
            .collect();
        if pages.is_empty() {
            pages.push(json!([]));
        }
        if slurp {
            return json_out(Value::Array(pages));
        }
        let joined: String = pages.iter().map(Value::to_string).collect();
        text(joined + "\n")
    }

    /// `issue create`, `pr create` (bodies from `--body-file`), `api user`.
    pub(super) fn publish(&mut self) -> Answer {
        match self.first_two() {
            ("issue", "create") => self.create_item("issue"),
            ("pr", "create") => {
                let head = self.opt("--head").unwrap_or("").to_string();
                let base = self.opt("--base").unwrap_or("").to_string();
                let open_same = self.items("pr").into_iter().find(|p| {
                    str_of(p, "headRefName", "\u{0}") == head
                        && str_of(p, "state", "OPEN") == "OPEN"
                });
                if let Some(p) = open_same {
                    return die(format!(
                        "a pull request for branch \"{head}\" into branch \"{base}\" already exists:\n{}",
                        str_of(&p, "url", "")
                    ));
                }
                self.create_item("pr")
            }
            ("api", "user") => {
                let login = self
                    .world
                    .get("viewer")
                    .or_else(|| self.world.get("login"))
                    .and_then(Value::as_str)
                    .unwrap_or("bot")
                    .to_string();
                if self.opt("--jq") == Some(".login") {
                    text(login + "\n")
                } else {
                    json_out(json!({"login": login}))
                }
            }
            _ => Ok(None),
        }
    }

    fn create_item(&mut self, kind: &str) -> Answer {
        let body_file = self.opt("--body-file").unwrap_or("").to_string();
        let body = match std::fs::read_to_string(&body_file) {
            Ok(b) => b,
            Err(e) => return die(format!("fake gh: cannot read --body-file {body_file}: {e}")),
        };
        let n = self
            .world
            .get("next_number")
            .and_then(Value::as_i64)
            .unwrap_or(900);
        self.world["next_number"] = json!(n + 1);
        let repo = self.opt("-R").unwrap_or("None");
        let path = if kind == "issue" { "issues" } else { "pull" };
        let url = format!("https://github.com/{repo}/{path}/{n}");
        let mut item = json!({"number": n, "title": self.opt("--title"), "body": body,
                              "state": "OPEN", "url": url, "labels": []});
        if kind == "pr" {
            let merge_state = self.world.get("new_pr_merge_state").cloned();
            let viewer = self.world.get("viewer").cloned();
            let extra = json!({
                "headRefName": self.opt("--head"), "baseRefName": self.opt("--base"),
                "mergeStateStatus": merge_state.unwrap_or(json!("CLEAN")),
                "author": viewer.unwrap_or(json!("acp-bot")), "isDraft": false});
            if let (Some(i), Some(e)) = (item.as_object_mut(), extra.as_object()) {
                i.extend(e.clone());
            }
        }
        array(slot(self.world, Self::items_key(kind), json!([]))).push(item);
        text(url + "\n")
    }

    /// `api repos/R/pulls/N/reviews` (GET, POST `-f event=`), `pr merge N`.
    pub(super) fn pull_requests(&mut self) -> Answer {
        if self.first_two() == ("pr", "merge") {
            let n = self.arg(2).to_string();
            let flags: Vec<Value> = self.argv.iter().skip(3).map(|a| json!(a)).collect();
            let pr = self.find_mut("pr", &n)?;
            if str_of(pr, "state", "OPEN") != "OPEN" {
                return die("GraphQL: Pull request is not open (mergePullRequest)");
            }
            pr["state"] = json!("MERGED");
            pr["merge_flags"] = Value::Array(flags);
            return text("");
        }
        let path = self.arg(1).split('?').next().unwrap_or("").to_string();
        if self.arg(0) != "api" || !path.ends_with("/reviews") || !path.contains("/pulls/") {
            return Ok(None);
        }
        let n = path.split('/').nth(4).unwrap_or("").to_string();
        let viewer = str_of(self.world, "viewer", "acp-bot").to_string();
        if self.method() == "POST" {
            if str_of(&self.find("pr", &n)?, "author", "someone") == viewer {
                return die(
                    "gh: Unprocessable Entity (HTTP 422)\nCan not approve your own pull request",
                );
            }
            let event = self.field("event")?;
            let state = if event == "APPROVE" {
                "APPROVED".to_string()
            } else {
                event
            };
            let review = json!({"state": state, "user": {"login": viewer}});
            let reviews = array(slot(slot(self.world, "reviews", json!({})), &n, json!([])));
            reviews.push(review.clone());
            return json_out(review);
        }
        let reviews = array(slot(slot(self.world, "reviews", json!({})), &n, json!([])));
        text(Value::Array(reviews.clone()).to_string() + "\n")
    }

    /// `issue close N [--comment C]`, `api repos/R/issues/N --method PATCH
    /// --input F`, `api repositories/ID/issues/N/comments`.
    pub(super) fn issue_close_and_patch(&mut self) -> Answer {
        if self.first_two() == ("issue", "close") {
            let n = self.arg(2).to_string();
            let num = Self::number(&n)?;
            let refused = self.world.get("fail_close").and_then(Value::as_array);
            if refused.is_some_and(|a| a.iter().any(|x| x.as_i64() == Some(num))) {
                return die(HTTP_403);
            }
            let comment = self.opt("--comment").map(str::to_string);
            self.find_mut("issue", &n)?["state"] = json!("CLOSED");
            if let Some(body) = comment {
                let comments = array(slot(slot(self.world, "comments", json!({})), &n, json!([])));
                let c = json!({"id": comments.len() + 1, "body": body, "user": {"login": "bot"}});
                comments.push(c);
            }
            return text("");
        }
        if self.arg(0) != "api" {
            return Ok(None);
        }
        let r: Vec<String> = route(self.arg(1)).iter().map(|s| s.to_string()).collect();
        if r.len() == 5
            && r[0] == "repos"
            && r[3] == "issues"
            && self.opt("--method") == Some("PATCH")
        {
            return self.patch_issue(&r[4]);
        }
        let repo_id = match self.world.get("repo_id") {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => "None".to_string(),
        };
        if r.len() == 5 && r[0] == "repositories" && r[1] == repo_id {
            return text(Value::Array(self.comments_of(&r[3])).to_string() + "\n");
        }
        Ok(None)
    }

    fn patch_issue(&mut self, n: &str) -> Answer {
        if self.world.get("fail_patch").is_some_and(super::truthy) {
            return die(HTTP_403);
        }
        let input = self.opt("--input").unwrap_or("").to_string();
        let payload: Value = match std::fs::read(&input).map(|b| serde_json::from_slice(&b)) {
            Ok(Ok(v)) => v,
            _ => return die(format!("fake gh: cannot read a JSON --input {input}")),
        };
        let num = Self::number(n)?;
        let kind = if self.position("issue", num).is_some() || self.position("pr", num).is_none() {
            "issue"
        } else {
            "pr"
        };
        let mut new_labels = Vec::new();
        let item = self.find_mut(kind, n)?;
        for key in ["body", "title", "state"] {
            if let Some(v) = payload.get(key) {
                item[key] = v.clone();
            }
        }
        if let Some(labels) = payload.get("labels").and_then(Value::as_array) {
            let names: Vec<Value> = labels
                .iter()
                .map(|l| l.get("name").cloned().unwrap_or_else(|| l.clone()))
                .collect();
            item["labels"] = Value::Array(names.clone());
            new_labels = names;
        }
        let out = item.clone();
        let defined = array(slot(self.world, "labels", json!([])));
        for l in new_labels {
            if !defined.contains(&l) {
                defined.push(l);
            }
        }
        json_out(out)
    }
}

mod reads;
