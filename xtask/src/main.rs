//! Project tasks. `cargo xtask serve` sets up, builds and runs the app; `cargo xtask test` sets
//! up and runs every test suite. Both install what a fresh machine lacks (from the package
//! registries only: crates.io, npm, Debian) and skip what is already there.

mod bench;
mod split;
mod suites;
mod tools;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

const USAGE: &str = "\
usage: cargo xtask <task> [options]

tasks:
  serve [-- SERVER FLAGS]  install what is missing, build the web app (release) and run
                           refsync-server on http://127.0.0.1:8080 with its data in ./data/.
                           Flags after -- go to refsync-server, e.g.
                             cargo xtask serve -- --addr 127.0.0.1:9000 --data-dir /some/dir
  test                     install what is missing (also Chromium), build the web app, and run
                           every suite: native, browser (wasm-bindgen-test in headless
                           Chromium) and end-to-end. Ends with `N passed, N failed`.
  build                    install the web tools and build the web app into ./dist
  setup                    only install the tools (idempotent)
  bench [--quick]          speed figures (never pass/fail): medians and ranges of several
                           runs, natively and in headless Chromium, against the targets;
                           also written to target/bench/report.md and report.json
";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    let root = project_root();
    tools::put_cargo_bin_on_path();

    let result = match task.as_str() {
        "serve" => serve(&root, &rest),
        "test" => suites::test(&root),
        "build" => tools::setup_web(&root).and_then(|()| build_web(&root)),
        "setup" => tools::setup_web(&root)
            .and_then(|()| tools::setup_browser())
            .and_then(|()| tools::setup_postgres())
            .and_then(|()| tools::setup_python_tools(&root)),
        "bench" => bench::run(&root, &rest),
        "" | "help" | "--help" | "-h" => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => Err(format!("unknown task `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nxtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn project_root() -> PathBuf {
    let xtask_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask_dir.parent().unwrap_or(xtask_dir).to_path_buf()
}

/// Run a command to completion with its output on the terminal; an error names the command.
pub fn run(cmd: &mut Command) -> Result<(), String> {
    let shown = format!("{cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

/// Announce a step and time it.
pub fn step<T>(what: &str, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    eprintln!("\n==> {what}");
    let start = Instant::now();
    let out = f()?;
    eprintln!("    done in {:.1}s", start.elapsed().as_secs_f64());
    Ok(out)
}

/// Build the web app into `dist/` with trunk, never letting trunk download anything.
pub fn build_web(root: &Path) -> Result<(), String> {
    step("fetch crates", || {
        run(Command::new("cargo")
            .arg("fetch")
            .arg("--quiet")
            .current_dir(root))
    })?;
    step("build the web app (trunk build --release)", || {
        run(Command::new("trunk")
            .args(["build", "--release"])
            .env("TRUNK_OFFLINE", "true")
            .env("TRUNK_SKIP_VERSION_CHECK", "true")
            .current_dir(root))
    })?;
    split::split_app(root)
}

fn serve(root: &Path, rest: &[String]) -> Result<(), String> {
    let server_args: Vec<&String> = match rest.first().map(String::as_str) {
        Some("--") => rest.iter().skip(1).collect(),
        _ => rest.iter().collect(),
    };
    tools::setup_web(root)?;
    let styles = tools::setup_styles(root)?;
    build_web(root)?;
    step("build the server (release)", || {
        run(Command::new("cargo")
            .args(["build", "--release", "--quiet", "-p", "refsync-server"])
            .current_dir(root))
    })?;
    let exe = root.join("target/release/refsync-server");
    let mut cmd = Command::new(&exe);
    cmd.args(server_args).current_dir(root);
    // Defaults by environment, so that flags given after `--` still win (flags beat env).
    if std::env::var_os("REFSYNC_DATA_DIR").is_none() {
        cmd.env("REFSYNC_DATA_DIR", root.join("data"));
    }
    if std::env::var_os("REFSYNC_DIST").is_none() {
        cmd.env("REFSYNC_DIST", root.join("dist"));
    }
    if std::env::var_os("REFSYNC_STYLES").is_none() {
        cmd.env("REFSYNC_STYLES", styles);
    }
    eprintln!("\n==> starting refsync-server (Ctrl-C stops it)");
    run(&mut cmd)
}
