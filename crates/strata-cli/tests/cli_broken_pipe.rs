//! A closed stdout (`strata … | head`) must end strata quietly, never with a panic.

use std::io::Read;
use std::process::{Command, Stdio};

#[test]
fn closed_stdout_is_not_a_panic() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("-C")
        .arg(&root)
        .args(["diff", "--from", "empty", "--to", "latest", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one byte, then close the pipe while strata still has kilobytes to write.
    let mut stdout = child.stdout.take().unwrap();
    let mut byte = [0u8; 1];
    stdout.read_exact(&mut byte).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}
