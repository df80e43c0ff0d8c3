//! `codex-quota`: run the vendored Node.js quota tool
//! (`<script dir>/../vendor/codex-quota/codex-quota.js`) with every argument
//! passed through untouched.
//!
//! Node is `ACP_CODEX_QUOTA_NODE_BIN`, then `F_LOSNING_CODEX_QUOTA_NODE_BIN`,
//! then `node` on `PATH`, then the `node` an nvm install provides
//! (`$NVM_DIR/nvm.sh`, `NVM_DIR` defaulting to `~/.nvm`). The JavaScript tool
//! stays an external program; this wrapper only finds it and node.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use acp_core::{Env, Invocation, ToolSpec, fail};

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "codex-quota",
    aliases: &[],
    paths: &["tools/bin/codex-quota"],
    about: "Run the bundled codex-quota Node tool (all arguments pass through)",
    command,
    run,
}];

/// The argument description (arguments are not parsed here: they all go to
/// the quota tool, `--help` included).
pub fn command() -> clap::Command {
    clap::Command::new("codex-quota")
        .about(
            "Runs the bundled codex-quota Node.js tool (../vendor/codex-quota/codex-quota.js \
             next to this script) with all arguments, e.g. `codex-quota codex list --json`. \
             Node comes from ACP_CODEX_QUOTA_NODE_BIN, F_LOSNING_CODEX_QUOTA_NODE_BIN, PATH, \
             or $NVM_DIR/nvm.sh.",
        )
        .disable_help_flag(true)
        .disable_version_flag(true)
        .arg(
            clap::Arg::new("args")
                .num_args(0..)
                .trailing_var_arg(true)
                .allow_hyphen_values(true)
                .help("Arguments for the quota tool"),
        )
}

/// The vendored entry point for a wrapper living in `script_dir`, spelled as
/// the original did (`<dir>/../vendor/...`, not normalised).
fn quota_entry(script_dir: &Path) -> PathBuf {
    script_dir.join("../vendor/codex-quota/codex-quota.js")
}

/// Where node comes from, with the environment it must run in.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NodeChoice {
    node: PathBuf,
    /// Variables to set for the child (nvm's `NVM_DIR` and `PATH`).
    env_changes: Vec<(String, OsString)>,
}

/// Finds node: explicit variables, then `PATH`, then nvm.
fn find_node(env: &Env) -> Option<NodeChoice> {
    if let Some(explicit) =
        env.first_non_empty(&["ACP_CODEX_QUOTA_NODE_BIN", "F_LOSNING_CODEX_QUOTA_NODE_BIN"])
    {
        return Some(NodeChoice {
            node: PathBuf::from(explicit),
            env_changes: Vec::new(),
        });
    }
    if let Some(node) = env.which("node") {
        return Some(NodeChoice {
            node,
            env_changes: Vec::new(),
        });
    }
    node_from_nvm(env)
}

/// Loads `$NVM_DIR/nvm.sh` in a bash child (it is the user's own shell
/// set-up, not state) and asks it for `node` and the `PATH` it set.
fn node_from_nvm(env: &Env) -> Option<NodeChoice> {
    let nvm_dir = env
        .path("NVM_DIR")
        .unwrap_or_else(|| env.home().join(".nvm"));
    let script = nvm_dir.join("nvm.sh");
    let non_empty = std::fs::metadata(&script)
        .map(|m| m.is_file() && m.len() > 0)
        .unwrap_or(false);
    if !non_empty {
        return None;
    }
    let mut cmd = std::process::Command::new("bash");
    env.apply(&mut cmd);
    cmd.env("NVM_DIR", &nvm_dir)
        .arg("-c")
        .arg(r#". "$1" >/dev/null 2>&1; n="$(command -v node 2>/dev/null)" || exit 1; printf '%s\0%s\0' "$n" "$PATH""#)
        .arg("codex-quota-nvm")
        .arg(&script)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let out = cmd.output().ok()?;
    if !out.status.success() {
        return None;
    }
    let mut parts = out.stdout.split(|&b| b == 0);
    let node = parts.next().filter(|n| !n.is_empty())?;
    let path = parts.next().unwrap_or_default();
    let mut env_changes = vec![("NVM_DIR".to_string(), nvm_dir.into_os_string())];
    if !path.is_empty() {
        env_changes.push(("PATH".to_string(), OsStr::from_bytes(path).to_os_string()));
    }
    Some(NodeChoice {
        node: PathBuf::from(OsStr::from_bytes(node)),
        env_changes,
    })
}

/// Runs the wrapper: replaces this process with node (as the original's
/// `exec`), so signals and the exit status reach the quota tool directly.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let node = find_node(&ctx.env);
    let entry = ctx.script_dir().map(|d| quota_entry(&d));
    let installed = node.is_some() && entry.as_deref().is_some_and(Path::is_file);
    if !installed && args.len() == 1 && (args[0] == "--help" || args[0] == "-h") {
        // Nothing to pass the request to: describe the wrapper itself.
        let mut cmd = command();
        write!(ctx.stdout, "{}", cmd.render_help())?;
        return Ok(0);
    }
    let Some(choice) = node else {
        return Err(fail(
            1,
            "node is required to run the bundled codex-quota tool",
        ));
    };
    let entry = match entry {
        Some(entry) => entry,
        None => {
            return Err(fail(
                1,
                "bundled codex-quota entrypoint not found: this tool must run through its \
                 tools/bin/codex-quota shim",
            ));
        }
    };
    if !entry.is_file() {
        return Err(fail(
            1,
            format!(
                "bundled codex-quota entrypoint not found: {}",
                entry.display()
            ),
        ));
    }
    let mut env = ctx.env.clone();
    for (k, v) in &choice.env_changes {
        env.set(k.as_str(), v.clone());
    }
    let mut cmd = std::process::Command::new(&choice.node);
    env.apply(&mut cmd);
    cmd.current_dir(&ctx.cwd).arg(&entry).args(args);
    ctx.stdout.flush()?;
    ctx.stderr.flush()?;
    // `exec` only returns when it could not start node.
    let err = cmd.exec();
    let code = match err.kind() {
        std::io::ErrorKind::NotFound => 127,
        _ => 126,
    };
    Err(fail(
        code,
        format!("codex-quota: cannot run {}: {err}", choice.node.display()),
    ))
}
