//! Splitting the app's wasm into its first download and the modules loaded on first use
//! (src/later.rs), after trunk has built `dist/`.
//!
//! trunk builds the app with the `split` feature and names its output
//! (`refsync-web-HASH.js`, `refsync-web-HASH_bg.wasm`) but cannot split, so this step redoes
//! the app's part from cargo's linked wasm: `wasm-split-cli` cuts it at the `later!`
//! functions, wasm-bindgen writes the main part's JS under trunk's names, and wasm-opt shrinks
//! every part. The split parts and the JS that loads them go in `dist/lazy-HASH/`: a new build
//! never reuses a name, so the service worker keeps them cache-first (sw.js); index.html lists
//! them (`<link rel="refsync-later">`, which the browser ignores) for the service worker to
//! precache, so that a feature never opened online still opens offline.

use crate::{run, step};
use std::path::{Path, PathBuf};
use std::process::Command;

const APP: &str = "refsync-web";
/// The module path the split main wasm imports its loaders from (wasm-split-cli's default).
const LINK: &str = "./__wasm_split.js";

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

fn io(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> String {
    let shown = format!("{what} {}", path.display());
    move |e| format!("cannot {shown}: {e}")
}

/// trunk's name for the app's output, `refsync-web-HASH`.
fn main_name(dist: &Path) -> Result<String, String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dist).map_err(io("read", dist))? {
        let name = entry.map_err(io("read", dist))?.file_name();
        let name = name.to_string_lossy();
        if let Some(stem) = name.strip_suffix("_bg.wasm") {
            if stem.starts_with(&format!("{APP}-")) {
                found.push(stem.to_string());
            }
        }
    }
    match found.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(format!(
            "expected one {APP}-HASH_bg.wasm in {}, found {found:?}",
            dist.display()
        )),
    }
}

/// Replace every `from` in `text` by `to`, insisting that there is at least one.
fn replace_all(text: &str, from: &str, to: &str, what: &str) -> Result<String, String> {
    if !text.contains(from) {
        return Err(format!(
            "{what} does not name {from}: wasm-bindgen or wasm-split-cli changed"
        ));
    }
    Ok(text.replace(from, to))
}

pub fn split_app(root: &Path) -> Result<(), String> {
    step(
        "split the app into its first download and parts loaded on first use",
        || {
            let dist = root.join("dist");
            let name = main_name(&dist)?;
            let hash = name.trim_start_matches(&format!("{APP}-")).to_string();
            let input =
                target_dir(root).join(format!("wasm32-unknown-unknown/wasm-release/{APP}.wasm"));
            let work = target_dir(root).join("wasm-split");
            let _ = std::fs::remove_dir_all(&work);
            std::fs::create_dir_all(&work).map_err(io("create", &work))?;

            run(Command::new("wasm-split-cli")
                .arg(&input)
                .arg(&work)
                .args(["--out-name", &name]))?;
            let bindgen = work.join("bindgen");
            run(Command::new("wasm-bindgen")
                .args([
                    "--target=web",
                    "--keep-lld-exports",
                    "--no-demangle",
                    "--no-typescript",
                    &format!("--out-name={name}"),
                ])
                .arg(format!("--out-dir={}", bindgen.display()))
                .arg(work.join(format!("{name}.wasm"))))?;

            // The parts, beside the JS that loads them, in a folder named after this build.
            for entry in std::fs::read_dir(&dist).map_err(io("read", &dist))? {
                let path = entry.map_err(io("read", &dist))?.path();
                if path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("lazy-"))
                {
                    std::fs::remove_dir_all(&path).map_err(io("remove", &path))?;
                }
            }
            let lazy_dir = format!("lazy-{hash}");
            let lazy = dist.join(&lazy_dir);
            std::fs::create_dir_all(&lazy).map_err(io("create", &lazy))?;
            let mut parts = Vec::new();
            for entry in std::fs::read_dir(&work).map_err(io("read", &work))? {
                let path = entry.map_err(io("read", &work))?.path();
                let file = path.file_name().map(|n| n.to_string_lossy().into_owned());
                if let Some(file) =
                    file.filter(|f| f.ends_with(".wasm") && *f != format!("{name}.wasm"))
                {
                    let to = lazy.join(&file);
                    std::fs::copy(&path, &to).map_err(io("copy", &path))?;
                    parts.push(to);
                }
            }
            let link_from = work.join(LINK);
            let link = std::fs::read_to_string(&link_from).map_err(io("read", &link_from))?;
            // The loader sits one folder down from the app's JS it imports.
            let link = replace_all(
                &link,
                &format!("\"./{name}.js\""),
                &format!("\"../{name}.js\""),
                "the split loader",
            )?;
            std::fs::write(lazy.join(LINK), link).map_err(io("write", &lazy))?;

            let js_from = bindgen.join(format!("{name}.js"));
            let js = std::fs::read_to_string(&js_from).map_err(io("read", &js_from))?;
            let to = format!("./{lazy_dir}/{}", LINK.trim_start_matches("./"));
            // Only the imports: the import object's keys are the wasm's module names, which stay.
            let js = replace_all(
                &js,
                &format!("from \"{LINK}\""),
                &format!("from \"{to}\""),
                "the app's JS",
            )?;
            std::fs::write(dist.join(format!("{name}.js")), js).map_err(io("write", &dist))?;
            let wasm = dist.join(format!("{name}_bg.wasm"));
            std::fs::copy(bindgen.join(format!("{name}_bg.wasm")), &wasm)
                .map_err(io("copy", &wasm))?;
            if bindgen.join("snippets").is_dir() {
                copy_dir(&bindgen.join("snippets"), &dist.join("snippets"))?;
            }

            // `--low-memory-unused` lets wasm-opt fold constant offsets into loads and stores
            // (1.8 KB of the first download, gzip): safe for rustc's output, whose stack sits
            // at the bottom of memory, so no valid address is ever below 1 KB (docs/web.md).
            // The producers section names the compilers, which nothing reads.
            for file in std::iter::once(&wasm).chain(&parts) {
                run(Command::new("wasm-opt")
                    .args(["-Oz", "--low-memory-unused", "--strip-producers"])
                    .arg(file)
                    .arg("-o")
                    .arg(file))?;
            }

            // Listed for the service worker to keep; `rel` that browsers do not know is not fetched.
            let mut listed: Vec<String> = parts
                .iter()
                .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .collect();
            listed.push(LINK.trim_start_matches("./").to_string());
            listed.sort();
            let links: String = listed
                .iter()
                .map(|f| format!("    <link rel=\"refsync-later\" href=\"/{lazy_dir}/{f}\" />\n"))
                .collect();
            let index = dist.join("index.html");
            let html = std::fs::read_to_string(&index).map_err(io("read", &index))?;
            let html = replace_all(&html, "</head>", &format!("{links}</head>"), "index.html")?;
            std::fs::write(&index, html).map_err(io("write", &index))?;
            eprintln!(
                "    {} parts loaded on first use, in dist/{lazy_dir}/",
                parts.len()
            );
            Ok(())
        },
    )
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(io("create", to))?;
    for entry in std::fs::read_dir(from).map_err(io("read", from))? {
        let path = entry.map_err(io("read", from))?.path();
        let dest = to.join(path.file_name().unwrap_or_default());
        if path.is_dir() {
            copy_dir(&path, &dest)?;
        } else {
            std::fs::copy(&path, &dest).map_err(io("copy", &path))?;
        }
    }
    Ok(())
}
