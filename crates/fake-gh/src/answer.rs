//! The call shapes the fake answers, in the order `fake_gh.py` tries them.

use serde_json::{Map, Value, json};

use crate::world::{Answer, Die, Out};

const HTTP_403: &str = "gh: Resource not accessible by integration (HTTP 403)";

/// One call against a loaded world.
pub struct Gh<'a> {
    pub argv: &'a [String],
    pub world: &'a mut Value,
    pub has_token: bool,
}

/// What the faults decided before the call is answered.
#[derive(Default)]
pub struct Faulted {
    /// Answer the call, then fail it with a 502 (`502-after`).
    pub fail_after: bool,
    /// Sleep a minute before answering (`hang`).
    pub hang: bool,
}

fn die<T>(msg: impl Into<String>) -> Result<T, Die> {
    Err(Die(msg.into()))
}

fn text(s: impl Into<String>) -> Answer {
    Ok(Some(Out::Text(s.into())))
}

fn json_out(v: Value) -> Answer {
    Ok(Some(Out::Json(v)))
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn str_of<'v>(v: &'v Value, key: &str, default: &'v str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or(default)
}

fn login_of(v: &Value) -> &str {
    v.get("user")
        .and_then(|u| u.get("login"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Member `key` of `obj` (made an object if it is not one), inserted as
/// `default` when missing (Python's `setdefault`).
fn slot<'w>(obj: &'w mut Value, key: &str, default: Value) -> &'w mut Value {
    if !obj.is_object() {
        *obj = Value::Object(Map::new());
    }
    match obj {
        Value::Object(m) => m.entry(key).or_insert(default),
        other => other,
    }
}

/// `v` as an array (made an empty one if it is not one).
fn array(v: &mut Value) -> &mut Vec<Value> {
    if !v.is_array() {
        *v = Value::Array(Vec::new());
    }
    match v {
        Value::Array(a) => a,
        _ => unreachable!("made an array above"),
    }
}

impl Gh<'_> {
    fn arg(&self, i: usize) -> &str {
        self.argv.get(i).map(String::as_str).unwrap_or("")
    }

    fn first_two(&self) -> (&str, &str) {
        (self.arg(0), self.arg(1))
    }

    /// The value of the first `name VALUE` or `name=VALUE`.
    fn opt(&self, name: &str) -> Option<&str> {
        self.opts(name).into_iter().next()
    }

    /// Every value of `name VALUE` / `name=VALUE`, in order.
    fn opts(&self, name: &str) -> Vec<&str> {
        let mut out = Vec::new();
        for (i, a) in self.argv.iter().enumerate() {
            if a == name {
                if let Some(v) = self.argv.get(i + 1) {
                    out.push(v.as_str());
                }
            } else if let Some(v) = a.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
                out.push(v);
            }
        }
        out
    }

    fn method(&self) -> &str {
        self.opt("--method").unwrap_or("GET")
    }

    fn has(&self, flag: &str) -> bool {
        self.argv.iter().any(|a| a == flag)
    }

    /// The `-f key=value` field named `key`.
    fn field(&self, key: &str) -> Result<String, Die> {
        let prefix = format!("{key}=");
        match self.opts("-f").iter().find_map(|f| f.strip_prefix(&prefix)) {
            Some(v) => Ok(v.to_string()),
            None => die(format!("fake gh: missing -f {key}=...")),
        }
    }

    fn is_write(&self) -> bool {
        matches!(
            self.first_two(),
            ("issue", "edit") | ("pr", "edit") | ("label", "create")
        ) || (self.arg(0) == "api" && self.method() != "GET")
    }

    /// Applies the world's faults to this call (counting them down).
    pub fn faults(&mut self) -> Result<Faulted, Die> {
        let is_write = self.is_write();
        let is_auth = self.arg(0) == "auth";
        let mut out = Faulted::default();
        let Some(faults) = self.world.get_mut("faults").and_then(Value::as_array_mut) else {
            return Ok(out);
        };
        for fault in faults.iter_mut() {
            let count = fault.get("count").and_then(Value::as_i64).unwrap_or(0);
            if count <= 0 || is_auth {
                continue;
            }
            let on = str_of(fault, "on", "any");
            if on != "any" && (on == "write") != is_write {
                continue;
            }
            let skip = fault.get("skip").and_then(Value::as_i64).unwrap_or(0);
            if skip > 0 {
                fault["skip"] = json!(skip - 1);
                continue;
            }
            fault["count"] = json!(count - 1);
            match str_of(fault, "answer", "") {
                "502-after" => {
                    out.fail_after = true;
                    break;
                }
                "hang" => out.hang = true,
                "502" => return die("gh: Bad Gateway (HTTP 502)"),
                "rate" => {
                    return die("gh: API rate limit exceeded for installation ID 1. (HTTP 403)");
                }
                "403" => return die(HTTP_403),
                _ => {}
            }
        }
        Ok(out)
    }

    /// Answers the call; `Ok(None)` for a shape the fake does not know.
    pub fn answer(&mut self) -> Answer {
        let logged_in = self.world.get("logged_in").is_none_or(truthy);
        if !logged_in && !self.has_token {
            return die("You are not logged into any GitHub hosts. To log in, run: gh auth login");
        }
        let handlers: [fn(&mut Self) -> Answer; 6] = [
            Self::items_and_labels,
            Self::comments_route,
            Self::publish,
            Self::pull_requests,
            Self::issue_close_and_patch,
            Self::reads,
        ];
        for h in handlers {
            if let Some(out) = h(self)? {
                return Ok(Some(out));
            }
        }
        Ok(None)
    }

    fn items_key(kind: &str) -> &'static str {
        if kind == "issue" { "issues" } else { "prs" }
    }

    fn items(&self, kind: &str) -> Vec<Value> {
        self.world
            .get(Self::items_key(kind))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }

    fn number(n: &str) -> Result<i64, Die> {
        n.trim()
            .parse::<i64>()
            .or_else(|_| die(format!("invalid literal for int() with base 10: '{n}'")))
    }

    /// The index of item `n` of `kind`, if any.
    fn position(&self, kind: &str, n: i64) -> Option<usize> {
        self.world
            .get(Self::items_key(kind))
            .and_then(Value::as_array)?
            .iter()
            .position(|i| i.get("number").and_then(Value::as_i64) == Some(n))
    }

    /// Item `n` of `kind`, mutable, or gh's "could not resolve" failure.
    fn find_mut(&mut self, kind: &str, n: &str) -> Result<&mut Value, Die> {
        let num = Self::number(n)?;
        match self.position(kind, num) {
            Some(i) => Ok(&mut self.world[Self::items_key(kind)][i]),
            None => die(format!(
                "GraphQL: Could not resolve to an issue or pull request with the number of {n}."
            )),
        }
    }

    fn find(&mut self, kind: &str, n: &str) -> Result<Value, Die> {
        self.find_mut(kind, n).map(|v| v.clone())
    }

    fn labels(&self) -> Vec<String> {
        self.world
            .get("labels")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|l| l.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn comments_of(&self, n: &str) -> Vec<Value> {
        self.world
            .get("comments")
            .and_then(|c| c.get(n))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }

    /// `item` in the shape of `gh ... --json FIELDS`.
    fn shape(&self, item: &Value, fields: &str) -> Value {
        let mut out = Map::new();
        let n = item.get("number").map(Value::to_string).unwrap_or_default();
        for f in fields.split(',') {
            let v = item.get(f).cloned().unwrap_or(Value::Null);
            let v = match f {
                "labels" => Value::Array(
                    item.get("labels")
                        .and_then(Value::as_array)
                        .map(|a| a.iter().map(|l| json!({"name": l})).collect())
                        .unwrap_or_default(),
                ),
                "author" => json!({"login": str_of(item, "author", "someone")}),
                "isDraft" => Value::Bool(truthy(&v)),
                "comments" if v.is_null() => Value::Array(
                    self.comments_of(&n)
                        .iter()
                        .map(|c| {
                            json!({"body": str_of(c, "body", ""), "author": {"login": login_of(c)},
                                   "createdAt": str_of(c, "created_at", "")})
                        })
                        .collect(),
                ),
                "reviews" if v.is_null() => self.reviews_of(&n),
                _ => v,
            };
            out.insert(f.to_string(), v);
        }
        Value::Object(out)
    }

    /// A PR view's reviews: the submitted ones, plus one COMMENTED review
    /// per author of inline comments (every inline comment has a review).
    fn reviews_of(&self, n: &str) -> Value {
        let list = |key: &str| -> Vec<Value> {
            self.world
                .get(key)
                .and_then(|r| r.get(n))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let mut v: Vec<Value> = list("reviews")
            .iter()
            .map(|r| json!({"author": {"login": login_of(r)}, "state": str_of(r, "state", "")}))
            .collect();
        for c in list("review_comments") {
            let login = login_of(&c).to_string();
            if !login.is_empty() && v.iter().all(|r| r["author"]["login"] != login.as_str()) {
                v.push(json!({"author": {"login": login}, "state": "COMMENTED"}));
            }
        }
        Value::Array(v)
    }
}

mod handlers;
