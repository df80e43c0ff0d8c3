//! The shim tree: committed copy matches the generator, and shims run both as
//! `bash PATH` and `PATH`, find the binary, and export their own path.

use std::process::Command;

use crate::harness::{World, bin, run};

fn files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn committed_bin_shims_match_the_generator() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, err) = run(std::process::Command::new(bin())
        .args(["shims", "--shims-only", "--into"])
        .arg(tmp.path()));
    assert_eq!(code, 0, "{err}");
    let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bin-shims");
    let want = files(tmp.path());
    let have = if committed.exists() {
        files(&committed)
    } else {
        Vec::new()
    };
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&have),
        names(&want),
        "run `agent-control-plane shims --shims-only --into bin-shims`"
    );
    assert_eq!(
        have, want,
        "bin-shims/ is stale: run `agent-control-plane shims --shims-only --into bin-shims`"
    );
}

#[test]
fn shims_bake_the_binary_and_refuse_relative_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, err) = run(std::process::Command::new(bin())
        .args(["shims", "--into"])
        .arg(tmp.path())
        .args(["--bin", "relative/bin"]));
    assert_eq!(code, 64);
    assert!(err.contains("--bin"), "{err}");
    let (code, out, _) = run(std::process::Command::new(bin())
        .args(["shims", "--into"])
        .arg(tmp.path())
        .arg("--bin")
        .arg(bin()));
    assert_eq!(code, 0);
    assert!(out.contains("SHIMS_WRITTEN="));
}

#[test]
fn shim_runs_as_bash_path_and_as_path_via_each_lookup() {
    let w = World::new();
    let shim = w.skill.join("tools/bin/agent-project-archive-run");
    assert!(shim.is_file(), "no shim at {}", shim.display());
    // ACP_BIN_DIR
    let (code, out, _) = run(w.cmd("bash").arg(&shim).arg("--help"));
    assert_eq!(code, 0);
    assert!(out.contains("--history-root"), "{out}");
    let (code, _, _) = run(w.cmd(&shim).arg("--help"));
    assert_eq!(code, 0);
    // PATH only
    let pathdir = w.path("pathbin");
    std::fs::create_dir_all(&pathdir).unwrap();
    std::os::unix::fs::symlink(bin(), pathdir.join("agent-control-plane")).unwrap();
    let (code, _, err) = run(w
        .cmd("bash")
        .arg(&shim)
        .arg("--help")
        .env_remove("ACP_BIN_DIR")
        .env("PATH", format!("{}:/usr/bin:/bin", pathdir.display())));
    assert_eq!(code, 0, "{err}");
    // nothing found
    let (code, _, err) = run(w
        .cmd("bash")
        .arg(&shim)
        .env_remove("ACP_BIN_DIR")
        .env("PATH", "/usr/bin:/bin"));
    assert_eq!(code, 127);
    assert!(
        err.contains("agent-control-plane binary not found"),
        "{err}"
    );
    // baked
    let baked = w.path("baked");
    std::fs::create_dir_all(&baked).unwrap();
    let (code, _, _) = run(std::process::Command::new(bin())
        .args(["shims", "--into"])
        .arg(&baked)
        .arg("--bin")
        .arg(bin()));
    assert_eq!(code, 0);
    let name = shim.file_name().unwrap();
    let (code, _, err) = run(w
        .cmd("bash")
        .arg(baked.join("tools/bin").join(name))
        .arg("--help")
        .env_remove("ACP_BIN_DIR")
        .env("PATH", "/usr/bin:/bin"));
    assert_eq!(code, 0, "{err}");
}

#[test]
fn binary_dispatches_by_argv0_and_tool_word() {
    let w = World::new();
    let (code, out, _) = run(std::process::Command::new(bin()).arg("help"));
    assert_eq!(code, 0);
    assert!(out.contains("env-file"));
    let (code, _, err) = run(std::process::Command::new(bin()).arg("no-such-tool"));
    assert_eq!(code, 64);
    assert_eq!(err.lines().count(), 1);
    assert!(err.contains("no-such-tool"));

    // argv[0] dispatch: a link named after a tool runs that tool.
    let link = w.path("agent-project-archive-run");
    std::os::unix::fs::symlink(bin(), &link).unwrap();
    let (code, out, _) = run(w.cmd(&link).arg("--help"));
    assert_eq!(code, 0);
    assert!(out.contains("--history-root"), "{out}");
    // The crate name selects the same tool.
    let (code, out, _) = run(w.cmd(bin()).args(["archive-run", "--help"]));
    assert_eq!(code, 0);
    assert!(out.contains("--history-root"), "{out}");
    let (_, help, _) = run(w.cmd(bin()).arg("help"));
    assert!(help.contains("agent-project-archive-run"), "{help}");
}

#[test]
fn closed_stdout_pipe_exits_quietly() {
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg("set -o pipefail; \"$1\" help | head -c 1 >/dev/null")
        .arg("x")
        .arg(bin())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty());
}

#[test]
fn a_failed_write_to_stdout_is_an_error_even_at_the_final_flush() {
    let w = World::new();
    let f = w.write("state.env", "A=1\n");
    // `get` prints no newline: the value sits in the buffer until the flush.
    let out = w
        .cmd(bin())
        .args(["env-file", "get"])
        .arg(&f)
        .arg("A")
        .stdout(std::fs::File::create("/dev/full").unwrap())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("No space left on device"), "{err}");

    // A reader that is gone already is not an error, at the flush either.
    let out = w
        .cmd("bash")
        .arg("-c")
        .arg(r#"{ sleep 0.5; "$1" env-file get "$2" A; echo "rc=$?" >&2; } | true"#)
        .arg("x")
        .arg(bin())
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stderr), "rc=0\n");
}

/// The tool and command names of `agent-control-plane help`, by section.
fn listed() -> (Vec<String>, Vec<String>, Vec<String>) {
    let (code, text, _) = run(Command::new(bin()).arg("help"));
    assert_eq!(code, 0);
    let mut sections: Vec<Vec<String>> = Vec::new();
    for line in text.lines() {
        if line.ends_with(':') && !line.starts_with(' ') {
            sections.push(Vec::new());
        } else if let (Some(section), Some(name)) = (
            sections.last_mut(),
            line.strip_prefix("  ")
                .and_then(|l| l.split_whitespace().next()),
        ) {
            section.push(name.to_string());
        }
    }
    assert_eq!(sections.len(), 3, "{text}");
    let internal = sections.pop().unwrap();
    let tools = sections.pop().unwrap();
    let commands = sections.pop().unwrap();
    (commands, tools, internal)
}

/// Commands whose positionals are not described yet (none).
const POSITIONALS_PENDING: &[&str] = &[];

/// The problems of one usage text.
fn usage_problems(name: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let Some(start) = lines.iter().position(|l| l.starts_with("Usage: ")) else {
        return vec![format!("{name}: no Usage line")];
    };
    let mut usage = vec![&lines[start]["Usage: ".len()..]];
    usage.extend(
        lines[start + 1..]
            .iter()
            .take_while(|l| l.starts_with(' ') && !l.trim().is_empty())
            .map(|l| l.trim()),
    );
    for u in usage {
        if !(u.starts_with(&format!("{name} "))
            || u == name
            || u.starts_with("agent-control-plane "))
        {
            problems.push(format!("{name}: usage line {u:?}"));
        }
    }
    let optional_value = regex::Regex::new(r"--[A-Za-z0-9-]+ \[<").unwrap();
    if let Some(m) = optional_value.find(text) {
        problems.push(format!(
            "{name}: option value shown as optional: {}",
            m.as_str()
        ));
    }
    // Every positional argument has a description (same line or the next).
    if let Some(args_at) = lines.iter().position(|l| *l == "Arguments:") {
        let section: Vec<&str> = lines[args_at + 1..]
            .iter()
            .take_while(|l| !l.trim().is_empty())
            .copied()
            .collect();
        for (i, line) in section.iter().enumerate() {
            let Some(entry) = line.strip_prefix("  ") else {
                continue;
            };
            if entry.starts_with(' ') {
                continue;
            }
            let described = entry
                .split_once("  ")
                .is_some_and(|(_, d)| !d.trim().is_empty())
                || section
                    .get(i + 1)
                    .is_some_and(|n| n.starts_with("      ") && !n.trim().is_empty());
            if !described && !POSITIONALS_PENDING.contains(&name) {
                problems.push(format!("{name}: positional without description: {entry:?}"));
            }
        }
    }
    problems
}

#[test]
fn every_help_is_consistent_and_help_tool_shows_the_tools_usage() {
    let (commands, tools, internal) = listed();
    assert!(commands.contains(&"env-file".to_string()), "{commands:?}");
    assert!(tools.contains(&"agent-project-worker-status".to_string()));
    assert!(internal.contains(&"codex-openspec-shim".to_string()));
    assert!(!tools.contains(&"codex-openspec-shim".to_string()));
    let mut problems = Vec::new();
    for name in commands.iter().chain(&tools).chain(&internal) {
        let (code, help, err) = run(Command::new(bin()).args(["help", name]));
        assert_eq!(code, 0, "help {name}: {err}");
        problems.extend(usage_problems(name, &help));
        // Public tools and commands print the same text for `--help`.
        if !internal.contains(name) && name != "help" {
            let (code, own, err) = run(Command::new(bin()).args([name.as_str(), "--help"]));
            assert_eq!(code, 0, "{name} --help: {err}");
            assert_eq!(own, help, "help {name} differs from {name} --help");
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn usage_errors_of_the_binarys_own_commands_exit_64() {
    for args in [
        vec!["help", "no-such-tool"],
        vec!["help", "a", "b"],
        vec!["version", "--bogus"],
        vec!["version", "extra"],
        vec!["shims"],
        vec!["shims", "--into", "/tmp/x", "--bin", "rel"],
        vec!["shims", "--bogus"],
        vec!["no-such-command"],
    ] {
        let (code, out, err) = run(Command::new(bin()).args(&args));
        assert_eq!((code, out.as_str()), (64, ""), "{args:?}: {err}");
        assert!(!err.is_empty(), "{args:?}");
    }
    let (code, out, err) = run(Command::new(bin()).arg("shims"));
    assert_eq!((code, out.as_str()), (64, ""));
    assert_eq!(err, "shims: --into is required (see --help)\n");
    let (code, out, _) = run(Command::new(bin()).arg("version"));
    assert_eq!(code, 0);
    assert!(out.starts_with("agent-control-plane "), "{out}");
}

/// The install writes a whole package tree (shims, SKILL.md, bin/, hooks/,
/// the catalog, the prompt templates), and the committed overlay
/// (`--shims-only`) is a package root too: a tool run from either finds it.
#[test]
fn installed_and_overlay_trees_are_package_roots() {
    let tmp = tempfile::tempdir().unwrap();
    let full = tmp.path().join("full");
    let (code, _, err) = run(Command::new(bin())
        .args(["shims", "--into"])
        .arg(&full)
        .arg("--bin")
        .arg(bin()));
    assert_eq!(code, 0, "{err}");
    for rel in [
        "SKILL.md",
        "assets/workflow-catalog.json",
        "tools/templates/issue-prompt-template.md",
        "tools/templates/pr-review-template.md",
        "tools/bin/render-flow-config.sh",
    ] {
        assert!(full.join(rel).is_file(), "{rel} missing");
    }
    assert!(full.join("hooks").is_dir() && full.join("bin").is_dir());
    assert_eq!(
        std::fs::read(full.join("tools/templates/pr-fix-template.md")).unwrap(),
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/pr-fix-template.md")
        )
        .unwrap()
    );

    let overlay = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bin-shims");
    let home = tmp.path().join("home");
    for tree in [&full, &overlay] {
        let (code, out, err) = run(Command::new("bash")
            .arg(tree.join("tools/bin/render-flow-config.sh"))
            .env("ACP_BIN_DIR", bin().parent().unwrap())
            .env("HOME", &home)
            .env("AGENT_PLATFORM_HOME", tmp.path().join("platform"))
            .env_remove("ACP_ROOT")
            .env_remove("AGENT_CONTROL_PLANE_ROOT")
            .env_remove("F_LOSNING_FLOW_ROOT")
            .env_remove("AGENT_FLOW_SKILL_ROOT"));
        assert_eq!(code, 0, "{}: {err}", tree.display());
        assert!(
            out.contains(&format!(
                "FLOW_SKILL_DIR={}",
                tree.canonicalize().unwrap().display()
            )),
            "{}: {out}",
            tree.display()
        );
    }
}

/// A tool run by the binary with no shim (`agent-control-plane
/// render-flow-config.sh`) finds the tree installed next to it
/// (`<prefix>/bin/agent-control-plane` and `<prefix>/share/agent-control-plane`),
/// and says how to fix it when there is none.
#[test]
fn the_binary_without_a_shim_finds_the_tree_installed_next_to_it() {
    let tmp = tempfile::tempdir().unwrap();
    let prefix = tmp.path().join("prefix");
    std::fs::create_dir_all(prefix.join("bin")).unwrap();
    let exe = prefix.join("bin/agent-control-plane");
    if std::fs::hard_link(bin(), &exe).is_err() {
        std::fs::copy(bin(), &exe).unwrap();
    }
    let plain = |exe: &std::path::Path| {
        let mut c = Command::new(exe);
        c.arg("render-flow-config.sh")
            .env("HOME", tmp.path().join("home"))
            .env("AGENT_PLATFORM_HOME", tmp.path().join("platform"))
            .env_remove("ACP_SHIM_PATH")
            .env_remove("ACP_ROOT")
            .env_remove("AGENT_CONTROL_PLANE_ROOT")
            .env_remove("F_LOSNING_FLOW_ROOT")
            .env_remove("AGENT_FLOW_SKILL_ROOT");
        c
    };
    let (code, _, err) = run(&mut plain(&exe));
    assert_eq!(code, 1);
    assert!(
        err.contains("unable to resolve agent control plane root") && err.contains("shims --into"),
        "{err}"
    );

    let tree = prefix.join("share/agent-control-plane");
    let (code, _, err) = run(Command::new(&exe)
        .args(["shims", "--into"])
        .arg(&tree)
        .arg("--bin")
        .arg(&exe));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(&mut plain(&exe));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!(
            "FLOW_SKILL_DIR={}",
            tree.canonicalize().unwrap().display()
        )),
        "{out}"
    );
}
