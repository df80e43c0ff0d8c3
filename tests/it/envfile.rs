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
    assert_eq!(code, 64);
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
fn env_file_usage_errors_are_one_line_with_exit_64() {
    use assert_cmd::Command;
    use predicates::prelude::*;
    Command::new(bin())
        .args(["env-file", "get"])
        .assert()
        .code(64)
        .stdout("")
        .stderr(
            predicate::str::contains("missing FILE")
                .and(predicate::str::is_match("^[^\n]*\n$").unwrap()),
        );
    Command::new(bin())
        .args(["env-file", "frobnicate", "x"])
        .assert()
        .code(64)
        .stderr(predicate::str::contains("frobnicate"));
    Command::new(bin())
        .args(["env-file", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("env-file get FILE KEY"));
}

/// `env-file` run with a 60 s guard (`timeout` exits 124), so a call that
/// would block on a FIFO fails the test instead of hanging it.
fn env_file_guarded(w: &World, args: &[&std::ffi::OsStr]) -> (i32, String, String) {
    run(w
        .cmd("timeout")
        .arg("60")
        .arg(bin())
        .arg("env-file")
        .args(args))
}

#[test]
fn env_file_reader_agrees_with_bash_on_the_remaining_escapes() {
    let w = World::new();
    // Each line as a state file may hold it; bash's reading is the reference.
    let lines: &[&[u8]] = &[
        b"DEL=$'\\c?'",
        b"FS=$'\\c\\\\'",
        b"FS_QUOTE=$'\\c\\'x'",
        b"CTRL=$'\\ca\\cZ\\c['",
        b"C_AT_END=$'ab\\c'",
        b"NUL_ENDS=$'a\\0b'",
        b"NUL_SEGMENT=$'a\\0b'c\"d\"",
        b"NUL_CTRL=$'x\\c@y'z",
        b"NUL_HEX=$'p\\x00q'r",
        b"NUL_OCTAL=$'m\\000n'",
        b"CR_KEPT=value\r",
        b"CR_ONLY=\r",
        b"CR_QUOTED='q'\r",
        b"RAW_NUL=a\0b",
        b"RAW_NUL_ANSI=$'u\0v'",
        b"UNKNOWN=$'\\q\\z'",
    ];
    let mut content = Vec::new();
    for l in lines {
        content.extend_from_slice(l);
        content.push(b'\n');
    }
    let file = w.write("escapes.env", &content);
    let keys: Vec<String> = lines
        .iter()
        .map(|l| String::from_utf8_lossy(l.split(|b| *b == b'=').next().unwrap()).into_owned())
        .collect();
    let out = Command::new("bash")
        .arg("-c")
        .arg(r#"source "$1"; shift; for n in "$@"; do printf '%s\0' "${!n}"; done"#)
        .arg("bash")
        .arg(&file)
        .args(&keys)
        .env_clear()
        .env("LC_ALL", "C")
        .env("PATH", "/usr/bin:/bin")
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bash_values: Vec<&[u8]> = out.stdout.split(|b| *b == 0).collect();
    let parsed = acp_core::envfile::EnvFile::load(&file).expect("strict parse");
    for (i, key) in keys.iter().enumerate() {
        let ours = parsed.get_os(key).map(|v| v.as_bytes().to_vec());
        assert_eq!(
            ours.as_deref(),
            Some(bash_values[i]),
            "{key}: ours vs bash's"
        );
        let (code, got, err) =
            env_file_guarded(&w, &["get".as_ref(), file.as_os_str(), key.as_ref()]);
        assert_eq!(code, 0, "{key}: {err}");
        assert_eq!(got.as_bytes(), bash_values[i], "{key} through env-file get");
    }
    // The cases named in the issue, spelled out.
    let value = |k: &str| parsed.get_os(k).map(|v| v.as_bytes().to_vec());
    assert_eq!(value("DEL").as_deref(), Some(&b"\x7f"[..]));
    assert_eq!(value("FS").as_deref(), Some(&b"\x1c"[..]));
    assert_eq!(value("NUL_ENDS").as_deref(), Some(&b"a"[..]));
    assert_eq!(value("CR_KEPT").as_deref(), Some(&b"value\r"[..]));
}

#[test]
fn env_file_words_are_literal_and_misuse_is_an_error() {
    let w = World::new();
    let f = w.path("n.env");
    let env_file = |args: &[&str]| {
        run(w
            .cmd(bin())
            .arg("env-file")
            .arg(args[0])
            .arg(&f)
            .args(&args[1..]))
    };
    assert_eq!(env_file(&["set", "N", "-1"]).0, 0);
    assert_eq!(env_file(&["set", "M", "--json"]).0, 0);
    assert_eq!(env_file(&["get", "N"]), (0, "-1".into(), String::new()));
    assert_eq!(env_file(&["get", "M"]).1, "--json");
    for (args, msg) in [
        (&["get", ""][..], "invalid key \"\""),
        (&["get", "-N"], "invalid key \"-N\""),
        (
            &["get", "N", "extra"],
            "unexpected extra argument \"extra\"",
        ),
        (&["get", "N", "--json"], "--json applies only to dump"),
        (&["set", "N", "1", "2"], "unexpected extra argument \"2\""),
        (&["set", "-N", "1"], "invalid key \"-N\""),
        (&["dump", "extra"], "unexpected extra argument \"extra\""),
    ] {
        let (code, out, err) = env_file(args);
        assert_eq!((code, out.as_str()), (64, ""), "{args:?}: {err}");
        assert!(err.contains(msg), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        "N=-1\nM=--json\n",
        "refused calls changed nothing"
    );
    let (code, _, err) = env_file(&["dump", "--json"]);
    assert_eq!(code, 0, "{err}");
    let (_, help, _) = run(w.cmd(bin()).args(["env-file", "--help"]));
    for needle in ["Exit codes:", "U+FFFD", "start with '-'"] {
        assert!(help.contains(needle), "{needle}: {help}");
    }
}

#[test]
fn env_file_output_to_a_full_device_fails_with_one_line() {
    let w = World::new();
    let f = w.write("small.env", "A=1\nB=2\n");
    for args in [&["get", "A"][..], &["dump"], &["dump", "--json"]] {
        // /dev/full only as the child's stdout: writes to it fail with ENOSPC.
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        let out = w
            .cmd(bin())
            .arg("env-file")
            .arg(args[0])
            .arg(&f)
            .args(&args[1..])
            .stdout(full)
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.starts_with("env-file: failed to write to stdout:"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn env_file_dump_json_replaces_invalid_utf8_with_u_fffd() {
    let w = World::new();
    let f = w.write(
        "bytes.env",
        "OK=$'caf\\303\\251'\nBAD=$'a\\377b'\nCUT=$'x\\342\\202y'\nLONE=$'\\303'\n",
    );
    let (code, out, err) = run(w
        .cmd(bin())
        .args(["env-file", "dump"])
        .arg(&f)
        .arg("--json"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "{\"OK\":\"café\",\"BAD\":\"a\u{fffd}b\",\"CUT\":\"x\u{fffd}y\",\"LONE\":\"\u{fffd}\"}\n"
    );
    // get keeps the exact bytes.
    let got = w
        .cmd(bin())
        .args(["env-file", "get"])
        .arg(&f)
        .arg("BAD")
        .output()
        .unwrap();
    assert_eq!(got.stdout, b"a\xffb");
}

#[test]
fn env_file_refuses_fifos_and_devices_without_blocking() {
    let w = World::new();
    let dir = w.path("odd");
    std::fs::create_dir_all(&dir).unwrap();
    let mut specials = vec![("fifo", "mkfifo fifo", "a FIFO")];
    let root = std::fs::metadata(&dir)
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    if root {
        // Private look-alikes of /dev/null and /dev/zero, never the real ones.
        specials.push(("null", "mknod null c 1 3", "a character device"));
        specials.push(("zero", "mknod zero c 1 5", "a character device"));
    }
    for (name, make, what) in specials {
        let (code, _, err) = run(w.cmd("sh").args(["-c", make]).current_dir(&dir));
        assert_eq!(code, 0, "{err}");
        let p = dir.join(name);
        let before = std::fs::symlink_metadata(&p).unwrap().file_type();
        for args in [&["get", "A"][..], &["dump"], &["set", "A", "1"]] {
            let mut argv: Vec<&std::ffi::OsStr> = vec![args[0].as_ref(), p.as_os_str()];
            argv.extend(args[1..].iter().map(std::ffi::OsStr::new));
            let (code, out, err) = env_file_guarded(&w, &argv);
            assert_eq!((code, out.as_str()), (2, ""), "{name} {args:?}: {err}");
            assert!(err.contains(&p.display().to_string()), "{err}");
            assert!(err.contains(what), "{err}");
            assert_eq!(err.lines().count(), 1, "{err}");
        }
        assert_eq!(std::fs::symlink_metadata(&p).unwrap().file_type(), before);
    }
    let mut left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    let expected: &[&str] = if root {
        &["fifo", "null", "zero"]
    } else {
        &["fifo"]
    };
    assert_eq!(left, expected, "no lock or temp file beside a device");
}

#[test]
fn env_file_set_follows_links_and_creates_files_under_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let w = World::new();
    for (umask, mode) in [("077", 0o600), ("002", 0o664)] {
        let f = w.path(&format!("u{umask}.env"));
        let (code, _, err) = run(w
            .cmd("sh")
            .arg("-c")
            .arg(format!(
                "umask {umask} && exec \"$0\" env-file set \"$1\" A 1"
            ))
            .arg(bin())
            .arg(&f));
        assert_eq!(code, 0, "{err}");
        let got = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(got, mode, "umask {umask}");
    }
    let real = w.write("real.env", "A=1\n");
    let link = w.path("link.env");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let (code, _, err) = run(w
        .cmd(bin())
        .args(["env-file", "set"])
        .arg(&link)
        .args(["B", "2"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&real).unwrap(), "A=1\nB=2\n");
}

#[test]
fn env_file_concurrent_setters_of_different_keys_lose_nothing() {
    let w = World::new();
    let f = w.path("shared.env");
    let rounds = 60;
    let writer = |prefix: &str| {
        w.cmd("sh")
            .arg("-c")
            .arg(
                r#"i=0; while [ "$i" -lt "$3" ]; do i=$((i+1)); "$0" env-file set "$1" "$2$i" "$i" || exit 1; done"#,
            )
            .arg(bin())
            .arg(&f)
            .arg(prefix)
            .arg(rounds.to_string())
            .spawn()
            .unwrap()
    };
    let (mut a, mut b) = (writer("A_"), writer("B_"));
    assert!(a.wait().unwrap().success());
    assert!(b.wait().unwrap().success());
    let parsed = acp_core::envfile::EnvFile::load(&f).unwrap();
    let mut missing = Vec::new();
    for p in ["A_", "B_"] {
        for i in 1..=rounds {
            if parsed.get(&format!("{p}{i}")) != Some(i.to_string()) {
                missing.push(format!("{p}{i}"));
            }
        }
    }
    assert!(missing.is_empty(), "lost keys: {missing:?}");
    assert_eq!(parsed.entries.len(), 2 * rounds);
}
