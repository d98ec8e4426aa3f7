//! `cargo xtask test`: every suite, one closing line.
//!
//! Suites run one after another (this is a 2-core machine: two builds at once only slow both).
//! Each is a `cargo test` whose libtest summary lines ("test result: ok. 3 passed; 0 failed;
//! ...") are summed; a suite that exits non-zero without reporting a failure (a build error,
//! a crashed runner) counts as one failure, so nothing can fail silently.

use crate::tools;
use crate::{build_web, step};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

#[derive(Default, Debug, PartialEq, Eq)]
struct Counts {
    passed: u64,
    failed: u64,
}

struct Suite {
    name: &'static str,
    cargo_args: &'static [&'static str],
}

// The native and end-to-end suites select the same packages (the whole workspace), so cargo
// resolves the same features for both and builds each dependency once. The end-to-end tests
// are `#[ignore]`d in the native run (they need the built app) and run on their own here.
const SUITES: &[Suite] = &[
    Suite {
        name: "native (core, cite, client, server, cli, xtask)",
        cargo_args: &["test", "--workspace", "--no-fail-fast"],
    },
    Suite {
        name: "browser (wasm-bindgen-test in headless Chromium)",
        cargo_args: &[
            "test",
            "-p",
            "refsync-web",
            "--target",
            "wasm32-unknown-unknown",
            "--tests",
            "--no-fail-fast",
        ],
    },
    Suite {
        name: "citations (refsync-cite against citeproc-js)",
        cargo_args: &[
            "test",
            "-p",
            "refsync-cite",
            "--test",
            "oracle",
            "--no-fail-fast",
            "--",
            "--ignored",
            // Prints the match table per style.
            "--nocapture",
        ],
    },
    Suite {
        name: "end-to-end (real server, real app, headless Chromium)",
        cargo_args: &[
            "test",
            "--workspace",
            "--test",
            "e2e",
            "--no-fail-fast",
            "--",
            "--ignored",
            // Shows the screenshot paths the tests print.
            "--nocapture",
        ],
    },
];

pub fn test(root: &Path) -> Result<(), String> {
    let start = Instant::now();
    tools::setup_web(root)?;
    tools::setup_browser()?;
    tools::setup_postgres()?;
    tools::setup_python_tools(root)?;
    let axe = tools::setup_axe(root)?;
    let citeproc = tools::setup_citeproc(root)?;
    let site_packages = tools::python_site_packages(root)?;
    let styles = tools::setup_styles(root)?;
    build_web(root)?;
    let chromedriver = tools::chromedriver().ok_or("chromedriver is not installed")?;
    let chromium = tools::chromium().ok_or("chromium is not installed")?;
    // The end-to-end suite drives the `refsync` CLI as the desktop side. Built with the
    // workspace's features (as the native suite builds it), so neither build undoes the other.
    step("build the refsync CLI", || {
        let status = Command::new("cargo")
            .args(["build", "-q", "--workspace", "--bin", "refsync"])
            .current_dir(root)
            .status()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err("building the refsync CLI failed".to_string())
        }
    })?;

    let mut total = Counts::default();
    let mut report = Vec::new();
    for suite in SUITES {
        let counts = step(&format!("test suite: {}", suite.name), || {
            let mut cmd = Command::new("cargo");
            cmd.args(suite.cargo_args)
                .current_dir(root)
                .env("CHROMEDRIVER", &chromedriver)
                .env("CHROME_BIN", &chromium)
                .env("REFSYNC_DIST", root.join("dist"))
                .env("REFSYNC_CLI", root.join("target/debug/refsync"))
                .env("REFSYNC_AXE", &axe)
                .env("REFSYNC_CITEPROC_JS", &citeproc)
                .env("REFSYNC_CSL_STYLES", &styles)
                .env(
                    "REFSYNC_CSL_LOCALES",
                    site_packages.join("citeproc/data/locales"),
                );
            run_suite(&mut cmd)
        })?;
        report.push(format!(
            "  {:<56} {:>4} passed, {} failed",
            suite.name, counts.passed, counts.failed
        ));
        total.passed += counts.passed;
        total.failed += counts.failed;
    }

    println!("\nsuites ({:.0}s in all):", start.elapsed().as_secs_f64());
    for line in &report {
        println!("{line}");
    }
    println!("{} passed, {} failed", total.passed, total.failed);
    if total.failed > 0 {
        Err(format!("{} test(s) failed", total.failed))
    } else {
        Ok(())
    }
}

/// Run one `cargo test`, echoing its output, and count what it reports.
fn run_suite(cmd: &mut Command) -> Result<Counts, String> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let mut counts = Counts::default();
    if let Some(out) = child.stdout.take() {
        let stdout = std::io::stdout();
        for line in BufReader::new(out).lines() {
            let line = line.map_err(|e| format!("reading test output: {e}"))?;
            if let Some(c) = parse_result_line(&line) {
                counts.passed += c.passed;
                counts.failed += c.failed;
            }
            let _ = writeln!(stdout.lock(), "{line}");
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for cargo: {e}"))?;
    if !status.success() && counts.failed == 0 {
        eprintln!("    the suite ended with {status} before reporting a failed test: counted as 1 failure");
        counts.failed = 1;
    }
    Ok(counts)
}

/// Counts from a libtest (or wasm-bindgen-test-runner) summary line.
fn parse_result_line(line: &str) -> Option<Counts> {
    let rest = line.trim().strip_prefix("test result:")?;
    let number_before = |word: &str| {
        rest.split([';', '.'])
            .map(str::trim)
            .find_map(|part| part.strip_suffix(word)?.trim().parse::<u64>().ok())
    };
    Some(Counts {
        passed: number_before("passed")?,
        failed: number_before("failed")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_libtest_summaries() {
        assert_eq!(
            parse_result_line("test result: ok. 13 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s"),
            Some(Counts { passed: 13, failed: 0 })
        );
        assert_eq!(
            parse_result_line("test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.20s"),
            Some(Counts { passed: 2, failed: 1 })
        );
    }

    #[test]
    fn ignores_other_lines() {
        assert_eq!(parse_result_line("test key::tests::parse ... ok"), None);
        assert_eq!(parse_result_line("running 3 tests"), None);
    }
}
