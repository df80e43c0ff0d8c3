//! `audit-retained-overlap.sh`: compare the uncommitted file sets of two
//! retained worktrees: counts, path groups (first five components) and,
//! unless `--summary-only`, the files. Read-only.
//!
//! Paths come from `git status --porcelain -z`, so names with spaces,
//! quotes, newlines or non-UTF-8 bytes are printed as they are (a rename
//! counts as its new path); sorting is by bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use acp_core::{Invocation, ToolSpec, cli};
use acp_session::gc::residue;
use clap::value_parser;

/// The tools this crate provides.
pub const TOOLS: &[ToolSpec] = &[ToolSpec {
    name: "audit-retained-overlap.sh",
    aliases: &["audit-retained-overlap"],
    paths: &["tools/bin/audit-retained-overlap.sh"],
    about: "Compare uncommitted file sets of two retained worktrees",
    command,
    run,
}];

/// The argument parser.
pub fn command() -> clap::Command {
    cli::tool_command(
        "audit-retained-overlap.sh",
        "Compares uncommitted file sets between two retained human worktrees.",
    )
    .override_usage("audit-retained-overlap.sh --primary <path> --secondary <path> [options]")
    .arg(path_opt("primary").help("Primary retained worktree"))
    .arg(path_opt("secondary").help("Secondary retained worktree"))
    .arg(cli::opt("primary-label").help("Label for primary output (default: primary)"))
    .arg(cli::opt("secondary-label").help("Label for secondary output (default: secondary)"))
    .arg(cli::flag("summary-only").help("Print counts and grouped summaries only"))
}

fn path_opt(name: &'static str) -> clap::Arg {
    cli::opt(name).value_parser(value_parser!(OsString))
}

type Paths = BTreeSet<Vec<u8>>;

/// Runs the tool.
pub fn run(ctx: &mut Invocation<'_>, args: &[OsString]) -> anyhow::Result<i32> {
    let cmd = command();
    let m = match cli::parse(ctx, cmd.clone(), args, 1)? {
        cli::Parsed::Matches(m) => m,
        cli::Parsed::Exit(code) => return Ok(code),
    };
    let path = |n: &str| m.get_one::<OsString>(n).cloned().unwrap_or_default();
    let (primary, secondary) = (path("primary"), path("secondary"));
    if primary.is_empty() || secondary.is_empty() {
        write!(ctx.stderr, "{}", cli::usage(&cmd))?;
        return Ok(1);
    }
    let label = |n: &str, d: &str| cli::given_or(&m, n, || d.to_string());
    let (pl, sl) = (
        label("primary-label", "primary"),
        label("secondary-label", "secondary"),
    );
    let mut sets = Vec::new();
    for root in [&primary, &secondary] {
        let root = PathBuf::from(root);
        if !root.join(".git").exists() {
            ctx.err_line(format!("not a git checkout: {}", root.display()))?;
            return Ok(1);
        }
        sets.push(changed_paths(&ctx.env, &root));
    }
    let (p, s) = (&sets[0], &sets[1]);
    let overlap: Paths = p.intersection(s).cloned().collect();
    let p_only: Paths = p.difference(s).cloned().collect();
    let s_only: Paths = s.difference(p).cloned().collect();
    let (pk, sk) = (key(&pl), key(&sl));
    let mut out = Vec::new();
    out.extend_from_slice(format!("{pk}_ROOT=").as_bytes());
    out.extend_from_slice(primary.as_encoded_bytes());
    out.extend_from_slice(format!("\n{sk}_ROOT=").as_bytes());
    out.extend_from_slice(secondary.as_encoded_bytes());
    writeln!(out)?;
    writeln!(out, "{pk}_COUNT={}\n{sk}_COUNT={}", p.len(), s.len())?;
    writeln!(out, "OVERLAP_COUNT={}", overlap.len())?;
    writeln!(
        out,
        "{pk}_ONLY_COUNT={}\n{sk}_ONLY_COUNT={}\n",
        p_only.len(),
        s_only.len()
    )?;
    for (name, set) in [
        (format!("{pl}-only"), &p_only),
        (format!("{sl}-only"), &s_only),
        ("overlap".into(), &overlap),
    ] {
        writeln!(out, "[{name}-groups]")?;
        if set.is_empty() {
            writeln!(out, "none")?;
        }
        for (count, group) in groups(set) {
            write!(out, "{count} ")?;
            out.extend_from_slice(&group);
            writeln!(out)?;
        }
        writeln!(out)?;
    }
    if !m.get_flag("summary-only") {
        let lists = [
            (format!("{pl}-only"), &p_only),
            (format!("{sl}-only"), &s_only),
            ("overlap".into(), &overlap),
        ];
        for (i, (name, set)) in lists.iter().enumerate() {
            writeln!(out, "[{name}-files]")?;
            for f in *set {
                out.extend_from_slice(f);
                writeln!(out)?;
            }
            if i < 2 {
                writeln!(out)?;
            }
        }
    }
    ctx.stdout.write_all(&out)?;
    Ok(0)
}

/// The label as a key prefix: ASCII upper case, `-` as `_`.
fn key(label: &str) -> String {
    label.to_ascii_uppercase().replace('-', "_")
}

/// Uncommitted paths of a checkout (empty when git cannot say).
fn changed_paths(env: &acp_core::Env, root: &std::path::Path) -> Paths {
    residue::status_entries(env, root, false)
        .unwrap_or_default()
        .into_iter()
        .map(|e| e.get(3..).unwrap_or_default().to_vec())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Counts per group (the first five `/` components), most first; ties in
/// reverse order of the group (as `sort | uniq -c | sort -nr`).
fn groups(set: &Paths) -> Vec<(usize, Vec<u8>)> {
    let mut counts: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
    for path in set {
        let group: Vec<&[u8]> = path.split(|b| *b == b'/').take(5).collect();
        *counts.entry(group.join(&b'/')).or_default() += 1;
    }
    let mut rows: Vec<(usize, Vec<u8>)> = counts.into_iter().map(|(g, c)| (c, g)).collect();
    rows.sort_by(|a, b| b.cmp(a));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_keys() {
        let set: Paths = [
            &b"a/b/c/d/e/f.txt"[..],
            b"a/b/c/d/e/g.txt",
            b"x.txt",
            b"dir/",
        ]
        .iter()
        .map(|p| p.to_vec())
        .collect();
        let g = groups(&set);
        assert_eq!(g[0], (2, b"a/b/c/d/e".to_vec()));
        assert_eq!(g[1], (1, b"x.txt".to_vec()));
        assert_eq!(g[2], (1, b"dir/".to_vec()));
        assert_eq!(key("my-label"), "MY_LABEL");
    }
}
