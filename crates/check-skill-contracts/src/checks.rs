//! The checks of `check-skill-contracts.sh`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use acp_core::Env;

/// One result line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Pass(String),
    Fail(String),
    Skip(String),
}

/// All results, in order.
#[derive(Debug, Default)]
pub struct Report {
    pub lines: Vec<Line>,
}

impl Report {
    fn pass(&mut self, label: impl Into<String>) {
        self.lines.push(Line::Pass(label.into()));
    }
    fn fail(&mut self, label: impl Into<String>) {
        self.lines.push(Line::Fail(label.into()));
    }
    fn skip(&mut self, label: impl Into<String>) {
        self.lines.push(Line::Skip(label.into()));
    }
    fn check(&mut self, ok: bool, label: &str, why: impl FnOnce() -> String) {
        if ok {
            self.pass(label);
        } else {
            self.fail(format!("{label} ({})", why()));
        }
    }

    /// How many checks failed.
    pub fn failures(&self) -> usize {
        self.lines
            .iter()
            .filter(|l| matches!(l, Line::Fail(_)))
            .count()
    }

    /// PASS and SKIP lines to `out`, FAIL lines to `err`.
    pub fn print(&self, out: &mut dyn Write, err: &mut dyn Write) -> std::io::Result<()> {
        for line in &self.lines {
            match line {
                Line::Pass(l) => writeln!(out, "PASS {l}")?,
                Line::Skip(l) => writeln!(out, "SKIP {l}")?,
                Line::Fail(l) => writeln!(err, "FAIL {l}")?,
            }
        }
        Ok(())
    }
}

/// Strings each template must hold: the placeholders the prompt renderers
/// fill and the result lines the reconcilers act on.
const TEMPLATE_TOKENS: &[(&str, &[&str])] = &[
    (
        "issue-prompt-template.md",
        &[
            "{ISSUE_ID}",
            "`{REPO_SLUG}`",
            "{ISSUE_RECURRING_CONTEXT}",
            "OUTCOME=implemented",
            "ACTION=host-publish-issue-pr",
            "ACTION=host-comment-blocker",
            "verification.jsonl",
            "Superseded by focused follow-up issues:",
            "$ACP_FLOW_TOOLS_DIR",
        ],
    ),
    (
        "scheduled-issue-prompt-template.md",
        &[
            "{ISSUE_ID}",
            "`{REPO_SLUG}`",
            "{ISSUE_BASELINE_HEAD_SHA}",
            "host-comment-scheduled-report",
            "host-comment-scheduled-alert",
        ],
    ),
    (
        "pr-review-template.md",
        &[
            "{PR_NUMBER}",
            "`{REPO_SLUG}`",
            "ACTION=host-advance-double-check-2",
            "ACTION=host-approve-and-merge",
            "ACTION=host-await-human-review",
        ],
    ),
    (
        "pr-fix-template.md",
        &["{PR_NUMBER}", "`{REPO_SLUG}`", "verification.jsonl"],
    ),
    (
        "pr-merge-repair-template.md",
        &["{PR_NUMBER}", "`{REPO_SLUG}`", "verification.jsonl"],
    ),
];

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The file's text without the line that names the baked-in binary (the
/// one place an installed shim differs from the generator's output).
fn without_baked_line(text: &[u8]) -> Vec<&[u8]> {
    text.split(|b| *b == b'\n')
        .filter(|l| !l.starts_with(b"acp_bin_installed="))
        .collect()
}

/// The baked binary path of an installed shim (empty in an overlay tree).
fn baked_binary(text: &[u8]) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let line = text
        .split(|b| *b == b'\n')
        .find_map(|l| l.strip_prefix(b"acp_bin_installed="))?;
    let value = unquote(line)?;
    (!value.is_empty()).then(|| PathBuf::from(std::ffi::OsStr::from_bytes(&value)))
}

/// Reverses bash's `%q` for what it writes for paths: backslash escapes
/// and single-quoted runs (`$'...'` forms are not read: `None`).
fn unquote(word: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut bytes = word.iter().copied();
    while let Some(b) = bytes.next() {
        match b {
            b'\\' => out.push(bytes.next()?),
            b'\'' => loop {
                match bytes.next()? {
                    b'\'' => break,
                    c => out.push(c),
                }
            },
            b'$' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

/// Files of `dir`, relative, sorted (recursively).
fn files_under(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for entry in fs_err::read_dir(dir.join(&rel))? {
            let entry = entry?;
            let r = rel.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                stack.push(r);
            } else {
                out.push(r);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The tree the binary would write (`<exe> shims --into TMP`).
fn expected_tree(env: &Env, exe: &Path) -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix("acp-contracts.")
        .tempdir()
        .map_err(|e| anyhow::anyhow!("cannot create a temp dir: {e}"))?;
    let mut cmd = Command::new(exe);
    env.apply(&mut cmd);
    cmd.args(["shims", "--into"]).arg(dir.path());
    let out = acp_core::process::output(&mut cmd)?;
    if !out.status.success() {
        anyhow::bail!(
            "{} shims --into {} failed: {}",
            exe.display(),
            dir.path().display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(dir)
}

fn is_shim(rel: &Path) -> bool {
    rel.starts_with("tools/bin") || rel.starts_with("bin")
}

/// Checks the tree at `root`; `runtime` is where a published runtime copy
/// would be.
pub fn check_tree(env: &Env, exe: &Path, root: &Path, runtime: &Path) -> anyhow::Result<Report> {
    let expected = expected_tree(env, exe)?;
    let rels = files_under(expected.path())?;
    let mut r = Report::default();
    let mut binaries: Vec<PathBuf> = Vec::new();
    for rel in rels.iter().filter(|p| is_shim(p)) {
        check_shim(&mut r, expected.path(), root, rel, &mut binaries);
    }
    check_binaries(&mut r, env, exe, &binaries);
    check_templates(&mut r, root);
    check_hooks(&mut r, env, expected.path(), root)?;
    check_package_files(&mut r, root);
    check_runtime_copy(&mut r, root, runtime, &rels);
    Ok(r)
}

fn check_shim(r: &mut Report, expected: &Path, root: &Path, rel: &Path, bins: &mut Vec<PathBuf>) {
    let label = format!("tool {}", rel.display());
    let path = root.join(rel);
    let Ok(meta) = std::fs::metadata(&path) else {
        return r.fail(format!("{label} (missing: {})", path.display()));
    };
    if !meta.is_file() || !acp_core::fsx::is_executable(&path) {
        return r.fail(format!(
            "{label} (not an executable file: {})",
            path.display()
        ));
    }
    let (Ok(have), Ok(want)) = (
        acp_core::fsx::read_capped(&path, 1 << 20),
        acp_core::fsx::read(&expected.join(rel)),
    ) else {
        return r.fail(format!("{label} (unreadable: {})", path.display()));
    };
    if without_baked_line(&have) != without_baked_line(&want) {
        return r.fail(format!(
            "{label} (not this binary's shim; reinstall with `agent-control-plane shims --into {}`)",
            root.display()
        ));
    }
    if let Some(bin) = baked_binary(&have)
        && !bins.contains(&bin)
    {
        bins.push(bin);
    }
    r.pass(label);
}

/// The binaries the shims start run: `ACP_BIN_DIR`'s, those baked in at
/// install, else the one on `PATH`.
fn check_binaries(r: &mut Report, env: &Env, exe: &Path, baked: &[PathBuf]) {
    let mut candidates: Vec<PathBuf> = env
        .path("ACP_BIN_DIR")
        .map(|d| d.join(acp_core::BIN_NAME))
        .filter(|p| acp_core::fsx::is_executable(p))
        .into_iter()
        .collect();
    candidates.extend(baked.iter().cloned());
    if candidates.is_empty() {
        candidates.extend(env.which(acp_core::BIN_NAME));
    }
    if candidates.is_empty() {
        candidates.push(exe.to_path_buf());
    }
    for bin in candidates {
        let label = format!("shim binary {}", bin.display());
        let mut cmd = Command::new(&bin);
        env.apply(&mut cmd);
        cmd.arg("version");
        let ran = acp_core::process::output(&mut cmd);
        r.check(
            ran.as_ref().is_ok_and(|o| o.status.success()),
            &label,
            || "does not run `version`".to_string(),
        );
    }
}

fn check_templates(r: &mut Report, root: &Path) {
    let dir = root.join("tools/templates");
    for (name, tokens) in TEMPLATE_TOKENS {
        let path = dir.join(name);
        let Ok(text) = acp_core::fsx::read_capped(&path, 8 << 20) else {
            r.fail(format!("template {name} (missing: {})", path.display()));
            continue;
        };
        for token in *tokens {
            r.check(
                contains(&text, token),
                &format!("template {name} has {token}"),
                || format!("missing in {}", path.display()),
            );
        }
        for tool in named_tools(&text) {
            let tool_path = root.join("tools/bin").join(&tool);
            r.check(
                acp_core::fsx::is_executable(&tool_path),
                &format!("template {name} names tool {tool}"),
                || format!("not an executable file: {}", tool_path.display()),
            );
        }
    }
}

/// The package tools a template tells the agent to run
/// (`$ACP_FLOW_TOOLS_DIR/<name>`).
fn named_tools(text: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(text);
    let mut names: Vec<String> = text
        .split("$ACP_FLOW_TOOLS_DIR/")
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
                .collect::<String>()
        })
        .map(|n| n.trim_end_matches('.').to_string())
        .filter(|n| !n.is_empty())
        .collect();
    names.sort();
    names.dedup();
    names
}

fn check_hooks(r: &mut Report, env: &Env, expected: &Path, root: &Path) -> anyhow::Result<()> {
    let hooks = expected.join("hooks");
    if !hooks.is_dir() {
        return Ok(());
    }
    for rel in files_under(&hooks)? {
        let path = root.join("hooks").join(&rel);
        let label = format!("hook hooks/{}", rel.display());
        if !path.is_file() {
            r.fail(format!("{label} (missing: {})", path.display()));
            continue;
        }
        let mut cmd = Command::new(env.which("bash").unwrap_or_else(|| "bash".into()));
        env.apply(&mut cmd);
        cmd.arg("-n").arg(&path);
        let parsed = acp_core::process::output(&mut cmd).is_ok_and(|o| o.status.success());
        r.check(parsed, &label, || "bash -n rejects it".to_string());
    }
    Ok(())
}

fn check_package_files(r: &mut Report, root: &Path) {
    let skill = root.join("SKILL.md");
    r.check(skill.is_file(), "package SKILL.md", || {
        format!("missing: {}", skill.display())
    });
    let catalog = root.join("assets/workflow-catalog.json");
    let parsed = acp_core::fsx::read_capped(&catalog, 8 << 20)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    r.check(
        parsed.is_some_and(|v| v.is_object()),
        "workflow catalog is a JSON object",
        || format!("missing or not a JSON object: {}", catalog.display()),
    );
}

/// Each file of the tree against the runtime copy, when there is one.
fn check_runtime_copy(r: &mut Report, root: &Path, runtime: &Path, rels: &[PathBuf]) {
    if !runtime.is_dir() {
        return r.skip(format!("runtime copy (none at {})", runtime.display()));
    }
    if acp_core::fsx::canonical_or_given(runtime) == acp_core::fsx::canonical_or_given(root) {
        return r.skip("runtime copy (this tree is the runtime copy)");
    }
    for rel in rels {
        if rel.as_os_str() == acp_core::config::TREE_MARKER {
            continue;
        }
        let label = format!("{} source/runtime sync", rel.display());
        let (Ok(a), Ok(b)) = (
            acp_core::fsx::read_capped(&root.join(rel), 8 << 20),
            acp_core::fsx::read_capped(&runtime.join(rel), 8 << 20),
        ) else {
            r.skip(format!("{label} (runtime or source copy missing)"));
            continue;
        };
        r.check(a == b, &label, || "source/runtime drift".to_string());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn named_tools_and_baked_binary() {
        let t = b"run `$ACP_FLOW_TOOLS_DIR/record-verification.sh --x` and $ACP_FLOW_TOOLS_DIR/a_b-c.sh.";
        assert_eq!(named_tools(t), ["a_b-c.sh", "record-verification.sh"]);
        assert_eq!(
            baked_binary(b"x\nacp_bin_installed=/opt/a\\ b/agent-control-plane\n"),
            Some(PathBuf::from("/opt/a b/agent-control-plane"))
        );
        assert_eq!(baked_binary(b"acp_bin_installed=''\n"), None);
    }
}
