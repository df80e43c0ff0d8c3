//! `agent-github-update-labels --repo-slug R --number N [--add L]...
//! [--remove L]...`: one label delta on an issue or PR through
//! `acp-github` (`gh issue edit` / `gh pr edit`), the item's other labels
//! untouched (F8: never a read of the whole set and a write of it back).
//! `update-github-labels.sh NUMBER [--add L]... [--remove L]...`: the same
//! for the selected profile's repository, through the sibling script.

use std::ffi::OsString;

use acp_core::cli::{self, Parsed};
use acp_core::config::{self, FlowConfig};
use acp_core::{Invocation, ToolSpec, fail};
use acp_github::{ErrorKind, Gh, GhError, Item};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[
    ToolSpec {
        name: "agent-github-update-labels",
        aliases: &["update-labels"],
        paths: &["tools/bin/agent-github-update-labels"],
        about: "Add and remove labels of an issue or PR (one delta, other labels untouched)",
        command,
        run,
    },
    ToolSpec {
        name: "update-github-labels.sh",
        aliases: &[],
        paths: &["tools/bin/update-github-labels.sh"],
        about: "agent-github-update-labels for the selected profile's repository",
        command: wrapper_command,
        run: run_wrapper,
    },
];

const USAGE: &str = "agent-github-update-labels --repo-slug <owner/repo> \
                     --number <issue-or-pr-number> [--add LABEL]... [--remove LABEL]...";
const WRAPPER_USAGE: &str = "update-github-labels.sh NUMBER [--add LABEL]... [--remove LABEL]...";

/// The argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "agent-github-update-labels",
        "Adds the --add labels to and removes the --remove labels from issue or pull request \
         --number in one call (gh issue edit, or gh pr edit when the number is a pull \
         request). Labels not named are left as they are, whoever set them. A label both \
         added and removed ends up added. Exits 1 with one line when GitHub refuses.",
    )
    .override_usage(USAGE)
    .arg(cli::opt("repo-slug").help("owner/name of the repository"))
    .arg(cli::opt("number").help("Issue or pull request number"))
    .arg(cli::opt_multi("add").help("A label to add (repeatable)"))
    .arg(cli::opt_multi("remove").help("A label to remove (repeatable)"))
}

/// One call's arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub repo: String,
    pub number: u64,
    pub add: Vec<String>,
    /// Without the labels also in `add` (added wins, as in the original).
    pub remove: Vec<String>,
}

impl Args {
    pub fn from_matches(m: &clap::ArgMatches) -> anyhow::Result<Self> {
        let (repo, number) = (cli::get(m, "repo-slug"), cli::get(m, "number"));
        if repo.is_empty() || number.is_empty() {
            return Err(fail(1, format!("usage: {USAGE}")));
        }
        let number = number
            .parse()
            .map_err(|_| fail(1, format!("--number must be a number, not {number:?}")))?;
        let add = cli::get_all(m, "add");
        let remove = cli::get_all(m, "remove");
        for (flag, l) in add
            .iter()
            .map(|l| ("--add", l))
            .chain(remove.iter().map(|l| ("--remove", l)))
        {
            if l.is_empty() {
                return Err(fail(1, format!("missing label after {flag}")));
            }
        }
        let remove = remove.into_iter().filter(|r| !add.contains(r)).collect();
        Ok(Self {
            repo,
            number,
            add,
            remove,
        })
    }
}

/// Writes the delta: as an issue, and as a pull request when GitHub has no
/// issue of that number.
pub fn apply(gh: &Gh, a: &Args) -> Result<(), GhError> {
    let add: Vec<&str> = a.add.iter().map(String::as_str).collect();
    let remove: Vec<&str> = a.remove.iter().map(String::as_str).collect();
    match gh.edit_labels(&a.repo, Item::Issue, a.number, &add, &remove) {
        Err(e) if e.kind == ErrorKind::NotFound && e.detail.contains("Could not resolve") => gh
            .edit_labels(&a.repo, Item::Pr, a.number, &add, &remove)
            .map_err(|pr_err| {
                if pr_err.kind == ErrorKind::NotFound {
                    e
                } else {
                    pr_err
                }
            }),
        other => other,
    }
}

/// Runs `agent-github-update-labels`.
pub fn run(ctx: &mut Invocation<'_>, argv: &[OsString]) -> anyhow::Result<i32> {
    let m = match cli::parse(ctx, command(), argv, 1)? {
        Parsed::Matches(m) => m,
        Parsed::Exit(code) => return Ok(code),
    };
    let a = Args::from_matches(&m)?;
    let gh = Gh::new(ctx.env.clone()).map_err(|e| fail(1, e.to_string()))?;
    apply(&gh, &a).map_err(|e| fail(1, e.to_string()))?;
    Ok(0)
}

/// The wrapper's argument description (positional, passed on as given).
pub fn wrapper_command() -> clap::Command {
    cli::tool_command(
        "update-github-labels.sh",
        "Runs the sibling agent-github-update-labels with --repo-slug set to the selected \
         profile's repository and --number NUMBER, followed by the remaining arguments.",
    )
    .override_usage(WRAPPER_USAGE)
    .arg(
        clap::Arg::new("args")
            .num_args(0..)
            .allow_hyphen_values(true)
            .value_names(["NUMBER", "ARGS"])
            .help("The issue or PR number, then --add/--remove LABEL pairs"),
    )
}

/// Runs `update-github-labels.sh`.
pub fn run_wrapper(ctx: &mut Invocation<'_>, argv: &[OsString]) -> anyhow::Result<i32> {
    if cli::first_is_help(argv) {
        write!(ctx.stdout, "{}", cli::usage(&wrapper_command()))?;
        return Ok(0);
    }
    let Some(number) = argv.first().filter(|n| !n.is_empty()) else {
        return Err(fail(1, format!("NUMBER: usage: {WRAPPER_USAGE}")));
    };
    let cfg = FlowConfig::load(&ctx.env)?;
    let repo = config::repo_slug(&ctx.env, &cfg);
    let mut cmd = ctx.sibling_command("agent-github-update-labels");
    cmd.args(["--repo-slug", &repo, "--number"])
        .arg(number)
        .args(&argv[1..]);
    ctx.relay(&mut cmd)
}
