//! `create-follow-up-issue.sh`: creates an issue for a slice split out of an
//! umbrella issue. The body starts with `Parent issue: #<id>`; labels are
//! added afterwards through `agent-github-update-labels` (or
//! `UPDATE_LABELS_BIN`), whose failure does not fail the creation. Prints
//! `ISSUE_NUMBER=` and `ISSUE_URL=`.

use std::ffi::OsString;
use std::io::Write as _;
use std::path::Path;
use std::process::Command;

use acp_core::cli::{self, Parsed};
use acp_core::config::{self as settings, FlowConfig};
use acp_core::{Invocation, ToolSpec, fail, fsx};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "create-follow-up-issue.sh",
    aliases: &["create-follow-up-issue"],
    paths: &["tools/bin/create-follow-up-issue.sh"],
    about: "Create a follow-up issue linked back to its umbrella issue",
    command,
    run,
}];

/// Largest `--body-file` read.
const BODY_CAP: u64 = 1 << 20;

/// The argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "create-follow-up-issue.sh",
        "Opens a narrower follow-up issue whose body points back at the umbrella issue. \
         Without --label the new issue has no labels, so the scheduler treats it like any \
         other issue.",
    )
    .override_usage(
        "create-follow-up-issue.sh --parent ISSUE_ID --title \"Title\" [--body \"text\" | --body-file path] [--label LABEL ...]",
    )
    .arg(cli::opt("parent").help("The umbrella issue number"))
    .arg(cli::opt("title").help("Title of the new issue"))
    .arg(cli::opt("body").help("Body text of the new issue"))
    .arg(cli::opt("body-file").help("A file holding the body"))
    .arg(cli::opt_multi("label").help("A label to add (repeatable)"))
}

/// One call's arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub parent: String,
    pub title: String,
    pub body: String,
    pub body_file: String,
    pub labels: Vec<String>,
}

impl Args {
    fn from_matches(m: &clap::ArgMatches) -> anyhow::Result<Self> {
        let a = Self {
            parent: cli::get(m, "parent"),
            title: cli::get(m, "title"),
            body: cli::get(m, "body"),
            body_file: cli::get(m, "body-file"),
            labels: cli::get_all(m, "label")
                .into_iter()
                .filter(|l| !l.is_empty())
                .collect(),
        };
        cli::require(&a.parent, "--parent", 1)?;
        cli::require(&a.title, "--title", 1)?;
        if !a.body.is_empty() && !a.body_file.is_empty() {
            return Err(fail(1, "Provide either --body or --body-file, not both."));
        }
        Ok(a)
    }

    /// The issue body: the parent line, a blank line, then the text.
    fn text(&self) -> anyhow::Result<Vec<u8>> {
        let mut out = format!("Parent issue: #{}\n\n", self.parent).into_bytes();
        if !self.body_file.is_empty() {
            out.extend(fsx::read_capped(Path::new(&self.body_file), BODY_CAP)?);
        } else if !self.body.is_empty() {
            out.extend(format!("{}\n", self.body).into_bytes());
        } else {
            out.extend(
                format!(
                    "Split out of umbrella issue #{} as a smaller slice.\n",
                    self.parent
                )
                .into_bytes(),
            );
        }
        Ok(out)
    }
}

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let m = match cli::parse(ctx, command(), args, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    let a = Args::from_matches(&m)?;
    let cfg = FlowConfig::load(&ctx.env)?;
    let repo = settings::repo_slug(&ctx.env, &cfg);
    let mut body = tempfile::Builder::new()
        .prefix("acp-follow-up-")
        .suffix(".md")
        .tempfile()
        .map_err(|e| anyhow::anyhow!("failed to create a temporary body file: {e}"))?;
    body.write_all(&a.text()?)
        .and_then(|()| body.flush())
        .map_err(|e| anyhow::anyhow!("{}: {e}", body.path().display()))?;
    let gh = acp_github::Gh::new(ctx.env.clone()).map_err(|e| fail(1, e.to_string()))?;
    let url = gh
        .create_issue(&repo, &a.title, body.path())
        .map_err(|e| fail(1, e.to_string()))?;
    let Some(number) = issue_number(&url) else {
        return Err(fail(
            1,
            format!("Unable to determine created issue number from gh output: {url}"),
        ));
    };
    if !a.labels.is_empty() {
        add_labels(ctx, &repo, &number, &a.labels);
    }
    ctx.out_kv("ISSUE_NUMBER", &number)?;
    ctx.out_kv("ISSUE_URL", &url)?;
    Ok(0)
}

/// The number at the end of `.../issues/<n>`.
fn issue_number(url: &str) -> Option<String> {
    let (_, n) = url.rsplit_once("/issues/")?;
    (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then(|| n.to_string())
}

/// Runs the label tool (`UPDATE_LABELS_BIN`, else the sibling
/// `agent-github-update-labels`); its output and failure are ignored, as
/// the issue exists either way.
fn add_labels(ctx: &Invocation<'_>, repo: &str, number: &str, labels: &[String]) {
    let mut cmd = match ctx.env.non_empty("UPDATE_LABELS_BIN") {
        Some(bin) => {
            let mut c = Command::new("bash");
            c.arg(bin);
            ctx.env.apply(&mut c);
            c.current_dir(&ctx.cwd);
            c
        }
        None => ctx.sibling_command("agent-github-update-labels"),
    };
    cmd.args(["--repo-slug", repo, "--number", number]);
    for l in labels {
        cmd.args(["--add", l]);
    }
    let _ = acp_core::process::output(&mut cmd);
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::issue_number;

    #[test]
    fn the_number_comes_from_the_url_end() {
        assert_eq!(
            issue_number("https://github.com/a/b/issues/912").as_deref(),
            Some("912")
        );
        assert_eq!(issue_number("https://github.com/a/b/issues/9x"), None);
        assert_eq!(issue_number("https://github.com/a/b/pull/9"), None);
    }
}
