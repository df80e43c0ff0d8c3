//! `env-file` against the real bash on the machine: bash reads what we write,
//! we read what bash writes, and our `%q` is byte-identical to bash's.

use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Stdio};

use crate::harness::{World, bin, run};

/// A small deterministic generator (xorshift), so failures reproduce.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const PIECES: &[&[u8]] = &[
    b"$(touch /tmp/acp-pwned)",
    b"`id`",
    b"~root",
    b"#comment",
    b"a=~b",
    b"x:~y",
    b"'\"",
    b"\\",
    b"${HOME}",
    b"; rm -rf /",
    b"&& echo hi",
    b"\n",
    b"\r\n",
    b"\t",
    b"\x1b[31m",
    "é".as_bytes(),
    "中文".as_bytes(),
    "😀".as_bytes(),
    "\u{a0}".as_bytes(),
    "\u{200b}".as_bytes(),
    "\u{2028}".as_bytes(),
    "e\u{301}".as_bytes(),
    "\u{fffd}".as_bytes(),
    b"\x80",
    b"\xff",
    b"\xc3",
    b"\xe2\x82",
    b"line 401: Unauthorized",
    b"  leading and trailing  ",
];

fn values(seed: u64, count: usize) -> Vec<Vec<u8>> {
    let mut g = Gen(seed);
    let mut out: Vec<Vec<u8>> = vec![Vec::new()];
    // Every single byte except NUL, alone and between letters.
    for b in 1u8..=255 {
        out.push(vec![b]);
        out.push(vec![b'a', b, b'b']);
    }
    while out.len() < count {
        let mut v = Vec::new();
        for _ in 0..g.below(6) + 1 {
            match g.below(3) {
                0 => v.extend_from_slice(PIECES[g.below(PIECES.len())]),
                1 => v.push((g.below(126) + 1) as u8),
                _ => v.extend_from_slice(b"word-1.2/x_y@z%"),
            }
        }
        out.push(v);
    }
    out
}

fn bash_quote_all(values: &[Vec<u8>], lc_all: &str) -> Vec<u8> {
    let mut input = Vec::new();
    for v in values {
        input.extend_from_slice(v);
        input.push(0);
    }
    let mut child = Command::new("bash")
        .arg("-c")
        // Read in the C locale (bash's `read` in UTF-8 swallows a NUL after a
        // truncated multibyte sequence), then quote in the locale under test.
        .arg(r#"LC_ALL=C; mapfile -d '' vals; LC_ALL="$TARGET_LC"; for i in "${!vals[@]}"; do printf 'V_%d=%q\n' "$i" "${vals[i]}"; done"#)
        .env_clear()
        .env("TARGET_LC", lc_all)
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("bash");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&input)
        .expect("feed bash");
    let out = child.wait_with_output().expect("bash output");
    assert!(out.status.success());
    out.stdout
}

fn bash_read_all(file: &std::path::Path, count: usize, lc_all: &str) -> Vec<Vec<u8>> {
    let out = Command::new("bash")
        .arg("-c")
        .arg(r#"source "$1"; for ((i=0;i<$2;i++)); do n="V_$i"; printf '%s\0' "${!n}"; done"#)
        .arg("bash")
        .arg(file)
        .arg(count.to_string())
        .env_clear()
        .env("LC_ALL", lc_all)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut vals: Vec<Vec<u8>> = out.stdout.split(|b| *b == 0).map(<[u8]>::to_vec).collect();
    vals.pop();
    vals
}

fn round_trip(lc_all: &str, locale: acp_core::shellquote::QuoteLocale, seed: u64) {
    let vals = values(seed, 1200);
    assert!(vals.len() >= 1000);
    let dir = tempfile::tempdir().expect("tmp");

    // 1. Our writer is byte-identical to bash's printf %q.
    let bash_bytes = bash_quote_all(&vals, lc_all);
    let ours: Vec<u8> = vals
        .iter()
        .enumerate()
        .flat_map(|(i, v)| acp_core::envfile::format_assignment(&format!("V_{i}"), v, locale))
        .collect();
    let bash_lines: Vec<&[u8]> = bash_bytes.split(|b| *b == b'\n').collect();
    let our_lines: Vec<&[u8]> = ours.split(|b| *b == b'\n').collect();
    for (i, (b, o)) in bash_lines.iter().zip(&our_lines).enumerate() {
        assert_eq!(
            String::from_utf8_lossy(b),
            String::from_utf8_lossy(o),
            "line {i} for value {:?} ({lc_all})",
            vals.get(i)
        );
    }
    assert_eq!(bash_bytes, ours);

    // 2. bash reads what we write.
    let ours_file = dir.path().join("ours.env");
    std::fs::write(&ours_file, &ours).expect("write");
    assert_eq!(bash_read_all(&ours_file, vals.len(), lc_all), vals);

    // 3. We read what bash writes, strictly, through the CLI too.
    let bash_file = dir.path().join("bash.env");
    std::fs::write(&bash_file, &bash_bytes).expect("write");
    let parsed = acp_core::envfile::EnvFile::load(&bash_file).expect("parse bash output");
    for (i, v) in vals.iter().enumerate() {
        assert_eq!(
            parsed
                .get_os(&format!("V_{i}"))
                .map(|s| s.as_bytes().to_vec()),
            Some(v.clone()),
            "value {i}"
        );
    }
    for i in [0usize, 10, 300, vals.len() - 1] {
        let out = Command::new(bin())
            .args(["env-file", "get"])
            .arg(&bash_file)
            .arg(format!("V_{i}"))
            .output()
            .expect("env-file get");
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(out.stdout, vals[i]);
    }
}

#[test]
fn envfile_round_trips_adversarial_values_through_bash_in_c_locale() {
    round_trip("C", acp_core::shellquote::QuoteLocale::C, 0x5eed_1234);
}

#[test]
fn envfile_round_trips_adversarial_values_through_bash_in_utf8_locale() {
    round_trip(
        "C.UTF-8",
        acp_core::shellquote::QuoteLocale::Utf8,
        0xfeed_beef,
    );
}

#[test]
fn env_file_get_reports_absent_key_and_malformed_file() {
    let w = World::new();
    let good = w.write("run.env", "SESSION=s-1\nWORKTREE=/tmp/a\\ b\n");
    let (code, out, _) = run(w
        .cmd(bin())
        .args(["env-file", "get"])
        .arg(&good)
        .arg("WORKTREE"));
    assert_eq!((code, out.as_str()), (0, "/tmp/a b"));
    let (code, out, err) = run(w
        .cmd(bin())
        .args(["env-file", "get"])
        .arg(&good)
        .arg("NOPE"));
    assert_eq!((code, out.as_str(), err.as_str()), (1, "", ""));

    let marker = w.path("pwned");
    let bad = w.write("bad.env", format!("A=1\nB=$(touch {})\n", marker.display()));
    let (code, out, err) = run(w.cmd(bin()).args(["env-file", "get"]).arg(&bad).arg("A"));
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains(&format!("{}:2:", bad.display())), "{err}");
    assert_eq!(err.lines().count(), 1);
    assert!(!marker.exists(), "a state file must never execute");

    let (code, _, err) = run(w
        .cmd(bin())
        .args(["env-file", "get"])
        .arg(w.path("missing.env"))
        .arg("A"));
    assert_eq!(code, 2);
    assert!(err.contains("missing.env"), "{err}");
}

#[test]
fn env_file_set_replaces_atomically_and_bash_agrees() {
    let w = World::new();
    let f = w.path("runner.env");
    let (code, _, err) = run(w
        .cmd(bin())
        .args(["env-file", "set"])
        .arg(&f)
        .args(["RUNNER_STATE", "running"]));
    assert_eq!(code, 0, "{err}");
    let (code, _, _) = run(w
        .cmd(bin())
        .args(["env-file", "set"])
        .arg(&f)
        .args(["NOTE", "it's a \"test\"\nline2"]));
    assert_eq!(code, 0);
    let (code, _, _) = run(w
        .cmd(bin())
        .args(["env-file", "set"])
        .arg(&f)
        .args(["RUNNER_STATE", "failed"]));
    assert_eq!(code, 0);
    let text = std::fs::read_to_string(&f).unwrap();
    assert_eq!(
        text,
        "RUNNER_STATE=failed\nNOTE=$'it\\'s a \"test\"\\nline2'\n"
    );
    assert!(
        text.lines().any(|l| l == "RUNNER_STATE=failed"),
        "grep ^KEY=value$ keeps working"
    );
    let (_, out, _) = run(w
        .cmd("bash")
        .arg("-c")
        .arg("source \"$1\"; printf '%s' \"$NOTE\"")
        .arg("x")
        .arg(&f));
    assert_eq!(out, "it's a \"test\"\nline2");

    let (code, _, err) = run(w
        .cmd(bin())
        .args(["env-file", "set"])
        .arg(&f)
        .args(["BAD-KEY", "v"]));
    assert_eq!(code, 2);
    assert!(err.contains("BAD-KEY"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        text,
        "a refused set leaves the file as it was"
    );
}

#[test]
fn env_file_dump_prints_quoted_lines_and_json() {
    let w = World::new();
    let f = w.write("result.env", "OUTCOME=implemented\nDETAIL='two words'\n");
    let (code, out, _) = run(w.cmd(bin()).args(["env-file", "dump"]).arg(&f));
    assert_eq!(code, 0);
    assert_eq!(out, "DETAIL=two\\ words\nOUTCOME=implemented\n");
    let (code, out, _) = run(w
        .cmd(bin())
        .args(["env-file", "dump"])
        .arg(&f)
        .arg("--json"));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["DETAIL"], "two words");
    assert_eq!(v["OUTCOME"], "implemented");
}

#[test]
fn env_file_usage_errors_are_one_line_with_exit_2() {
    use assert_cmd::Command;
    use predicates::prelude::*;
    Command::new(bin())
        .args(["env-file", "get"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            predicate::str::contains("missing FILE")
                .and(predicate::str::is_match("^[^\n]*\n$").unwrap()),
        );
    Command::new(bin())
        .args(["env-file", "frobnicate", "x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("frobnicate"));
    Command::new(bin())
        .args(["env-file", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("env-file get FILE KEY"));
}
