//! The shim tree: committed copy matches the generator, and shims run both as
//! `bash PATH` and `PATH`, find the binary, and export their own path.

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
        .args(["shims", "--into"])
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
        "run `agent-control-plane shims --into bin-shims`"
    );
    assert_eq!(
        have, want,
        "bin-shims/ is stale: run `agent-control-plane shims --into bin-shims`"
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
