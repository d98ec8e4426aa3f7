//! The app's link step: a wasm that is to be split (feature `split`, src/later.rs) keeps its
//! relocations, from which `wasm-split-cli` reads what calls what.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let split = std::env::var_os("CARGO_FEATURE_SPLIT").is_some();
    let wasm = std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|a| a == "wasm32");
    if split && wasm {
        // Only the app itself: the workers are never split.
        println!("cargo::rustc-link-arg-bin=refsync-web=--emit-relocs");
    }
}
