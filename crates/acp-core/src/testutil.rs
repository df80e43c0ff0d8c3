//! Helpers for unit tests: this crate's, and other crates' through the
//! `test-util` feature (enabled in their `[dev-dependencies]` only).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// Writes an executable script through a short-lived `sh` child.
///
/// Tests run in parallel threads. Had this process opened the file for
/// writing itself, a child another thread forks meanwhile would inherit that
/// descriptor until it calls `exec`, and executing the script in that window
/// fails with `ETXTBSY` ("Text file busy"). Written by `sh`, the descriptor
/// only ever exists in a process nobody forks from, and it is closed when
/// `sh` exits, before the script is used.
pub fn write_script(path: &Path, body: &str) {
    let mut child = Command::new("sh")
        .args(["-c", r#"cat > "$1" && chmod 755 "$1""#, "sh"])
        .arg(path)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn sh to write {}: {e}", path.display()));
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(body.as_bytes())
            .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
    let status = child
        .wait()
        .unwrap_or_else(|e| panic!("wait for sh writing {}: {e}", path.display()));
    assert!(status.success(), "sh failed to write {}", path.display());
}
