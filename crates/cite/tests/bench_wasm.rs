//! Citation speed in the browser's wasm (issue 26's targets: a 1,000-reference APA
//! bibliography under 300 ms, a style switch for 50 references under 100 ms). Built only by
//! `cargo xtask bench` (`--target wasm32-unknown-unknown --test bench_wasm --release`);
//! natively this file is empty. It prints `BENCH` lines; it asserts no time.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "bench/cite.rs"]
mod cite;

use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn citations_in_the_browser() {
    cite::run("wasm", 5, &performance_now, &|line| console_log!("{line}"));
}

/// `performance.now()`: sub-millisecond, unlike `Date.now()`.
fn performance_now() -> f64 {
    let global = js_sys::global();
    let perf = js_sys::Reflect::get(&global, &"performance".into()).unwrap();
    let now = js_sys::Reflect::get(&perf, &"now".into()).unwrap();
    js_sys::Function::from(now)
        .call0(&perf)
        .unwrap()
        .as_f64()
        .unwrap()
}
