//! The web app's entry point (wasm32). Built by trunk; see index.html.

#[cfg(target_arch = "wasm32")]
fn main() {
    refsync_web::run();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("refsync-web is the browser app: build and serve it with `cargo xtask serve`");
}
