//! `workflow-catalog.sh`: list and show the workflows the control plane
//! runs, with the active profile's context.
//!
//! `list` (default) prints `id<TAB>kind<TAB>entrypoint<TAB>trigger` rows,
//! `ids` the ids, `profiles` the installed profile ids, `context` the
//! active profile lines, `show <id>` one workflow as `KEY=value` lines, and
//! `json` the whole catalog with the profile context added. The catalog is
//! `<skill root>/assets/workflow-catalog.json` when that file exists, else
//! the copy built into the binary.

use std::ffi::OsString;
use std::io;
use std::path::PathBuf;

use acp_core::config::{self, FlowConfig};
use acp_core::{Invocation, ToolSpec, cli, fail};
use anyhow::Context;
use serde_json::{Map, Value};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "workflow-catalog.sh",
    aliases: &["workflow-catalog"],
    paths: &["tools/bin/workflow-catalog.sh"],
    about: "Query the workflow catalog and the active profile context",
    command,
    run,
}];

/// The catalog shipped with this build.
pub const EMBEDDED_CATALOG: &str = include_str!("../assets/workflow-catalog.json");

/// The argument parser (used for `--help`; the words are read positionally).
pub fn command() -> clap::Command {
    cli::tool_command(
        "workflow-catalog.sh",
        "Shows the workflows the control plane can run and the profile they would run for.\n\n\
         Commands:\n  \
         list            one tab-separated row per workflow: id, kind, entrypoint, trigger (default)\n  \
         ids             workflow ids\n  \
         profiles        installed profile ids\n  \
         context         ACTIVE_PROFILE, PROFILE_SELECTION_MODE and PROFILE_NOTES\n  \
         show <id>       one workflow as KEY=value lines\n  \
         json            the catalog as JSON with the profile context added",
    )
    .override_usage("workflow-catalog.sh [list|ids|profiles|context|json|show <workflow-id>]")
}

/// Python `json.dump(..., indent=2)` layout: pretty with two spaces and
/// every non-ASCII character written as a `\uXXXX` escape.
struct AsciiPretty<'a>(serde_json::ser::PrettyFormatter<'a>);

impl serde_json::ser::Formatter for AsciiPretty<'_> {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        for c in fragment.chars() {
            if c.is_ascii() && c != '\u{7f}' {
                writer.write_all(&[c as u8])?;
            } else {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{u:04x}")?;
                }
            }
        }
        Ok(())
    }
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// `value` in Python's `json.dump(indent=2)` layout (no trailing newline).
fn to_python_json(value: &Value) -> anyhow::Result<String> {
    let mut buf = Vec::new();
    let fmt = AsciiPretty(serde_json::ser::PrettyFormatter::with_indent(b"  "));
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    serde::Serialize::serialize(value, &mut ser)?;
    Ok(String::from_utf8(buf)?)
}

/// A field as text: strings as they are, anything else as JSON, absent empty.
fn text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Loads the catalog object: the skill's file when present, else the embedded one.
fn load_catalog(skill: Option<&std::path::Path>) -> anyhow::Result<(Map<String, Value>, String)> {
    let file: Option<PathBuf> = skill
        .map(|s| s.join("assets/workflow-catalog.json"))
        .filter(|p| p.is_file());
    let (source, origin) = match &file {
        Some(p) => (fs_read(p)?, p.to_string_lossy().into_owned()),
        None => (
            EMBEDDED_CATALOG.to_string(),
            "built-in workflow catalog".to_string(),
        ),
    };
    let value: Value = serde_json::from_str(&source)
        .map_err(|e| fail(1, format!("{origin}: invalid JSON: {e}")))?;
    match value {
        Value::Object(map) => Ok((map, origin)),
        _ => Err(fail(
            1,
            format!("{origin}: the catalog must be a JSON object"),
        )),
    }
}

fn fs_read(p: &std::path::Path) -> anyhow::Result<String> {
    let bytes = acp_core::fsx::read(p)?;
    String::from_utf8(bytes).with_context(|| format!("{}: not valid UTF-8", p.display()))
}

/// What was asked for: the command word (default `list`) and, for `show`,
/// the workflow id.
struct Args {
    command: String,
    workflow_id: String,
}

impl Args {
    fn resolve(args: &[OsString]) -> Self {
        let word = |i: usize| {
            args.get(i)
                .map(|a| a.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let command = Some(word(0))
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| "list".to_string());
        Self {
            command,
            workflow_id: word(1),
        }
    }
}

/// The active profile as the catalog reports it.
struct ProfileContext {
    profiles: Vec<String>,
    active: String,
    mode: &'static str,
    notes: String,
}

impl ProfileContext {
    fn resolve(env: &acp_core::Env) -> anyhow::Result<Self> {
        let cfg = FlowConfig::from_path(&config::config_path(env))?;
        Ok(Self {
            profiles: config::profile_ids(env),
            active: config::adapter_id(env, &cfg),
            mode: config::selection_mode(env).as_str(),
            notes: cfg.notes_path().to_string_lossy().into_owned(),
        })
    }

    /// The catalog object with the profile context added.
    fn add_to(&self, payload: &mut Map<String, Value>) {
        if !self.profiles.is_empty() {
            payload.insert(
                "available_profiles".into(),
                Value::Array(self.profiles.iter().cloned().map(Value::String).collect()),
            );
        }
        payload.insert("active_profile".into(), Value::String(self.active.clone()));
        payload.insert(
            "profile_selection_mode".into(),
            Value::String(self.mode.into()),
        );
        payload.insert("profile_notes".into(), Value::String(self.notes.clone()));
    }
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    if cli::first_is_help(args) {
        write!(ctx.stdout, "{}", cli::usage(&command()))?;
        return Ok(0);
    }
    let a = Args::resolve(args);
    let mut env = ctx.env.clone();
    config::export_env_aliases(&mut env);
    let skill = config::skill_root(&env, ctx.script_path().as_deref()).ok();
    let (mut payload, _origin) = load_catalog(skill.as_deref())?;
    let profile = ProfileContext::resolve(&env)?;
    let workflows: Vec<Value> = match payload.get("workflows") {
        Some(Value::Array(items)) => items.clone(),
        _ => Vec::new(),
    };
    profile.add_to(&mut payload);
    let out = render(&a, &payload, &workflows, &profile)?;
    ctx.stdout.write_all(out.as_bytes())?;
    Ok(0)
}

/// The output of one command.
fn render(
    a: &Args,
    payload: &Map<String, Value>,
    workflows: &[Value],
    p: &ProfileContext,
) -> anyhow::Result<String> {
    let (active, mode) = (&p.active, p.mode);
    let mut out = String::new();
    match a.command.as_str() {
        "json" => {
            out = to_python_json(&Value::Object(payload.clone()))?;
            out.push('\n');
        }
        "profiles" => {
            for id in &p.profiles {
                out.push_str(&format!("{id}\n"));
            }
        }
        "ids" => {
            for wf in workflows {
                out.push_str(&format!("{}\n", text(wf.get("id"))));
            }
        }
        "context" => {
            out.push_str(&format!(
                "ACTIVE_PROFILE={active}\nPROFILE_SELECTION_MODE={mode}\nPROFILE_NOTES={}\n",
                p.notes
            ));
        }
        "show" => {
            let Some(wf) = workflows
                .iter()
                .find(|wf| wf.get("id").and_then(Value::as_str) == Some(a.workflow_id.as_str()))
            else {
                return Err(fail(1, format!("unknown workflow id: {}", a.workflow_id)));
            };
            out.push_str(&format!(
                "ACTIVE_PROFILE={active}\nPROFILE_SELECTION_MODE={mode}\n"
            ));
            for key in ["id", "kind", "trigger", "entrypoint", "summary"] {
                out.push_str(&format!(
                    "{}={}\n",
                    key.to_ascii_uppercase(),
                    text(wf.get(key))
                ));
            }
        }
        "list" => {
            for wf in workflows {
                let row: Vec<String> = ["id", "kind", "entrypoint", "trigger"]
                    .iter()
                    .map(|k| text(wf.get(*k)))
                    .collect();
                out.push_str(&row.join("\t"));
                out.push('\n');
            }
        }
        other => return Err(fail(1, format!("unknown command: {other}"))),
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalog_has_the_seven_workflows() {
        let (map, _) = load_catalog(None).unwrap();
        let ids: Vec<String> = map["workflows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            ids,
            [
                "issue-implementation",
                "issue-blocked-recovery",
                "issue-scheduled-check",
                "pr-review",
                "pr-fix",
                "pr-merge-repair",
                "follow-up-splitting"
            ]
        );
        for w in map["workflows"].as_array().unwrap() {
            for k in ["id", "kind", "trigger", "entrypoint", "summary"] {
                assert!(w[k].as_str().is_some_and(|s| !s.is_empty()), "{k}");
            }
        }
    }

    #[test]
    fn python_json_layout() {
        let v: Value =
            serde_json::from_str(r#"{"a":[1,{"b":"é😀\u007f"}],"c":{},"d":[]}"#).unwrap();
        assert_eq!(
            to_python_json(&v).unwrap(),
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": \"\\u00e9\\ud83d\\ude00\\u007f\"\n    }\n  ],\n  \"c\": {},\n  \"d\": []\n}"
        );
    }
}
