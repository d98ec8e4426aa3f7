//! The `refsync` binary as a user runs it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use std::process::Command;

fn refsync(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_refsync"))
        .args(args)
        .output()
        .expect("run refsync")
}

#[test]
fn version_prints_name_and_version() {
    let out = refsync(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("refsync {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn help_says_what_it_is() {
    let out = refsync(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Usage: refsync"), "{text}");
    assert!(text.contains("SQLite"), "{text}");
}

#[test]
fn unknown_flags_are_a_usage_error() {
    let out = refsync(&["--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-such-flag"));
}
