//! The BibTeX import target in the browser's wasm: the ~41,000-entry set imported in headless
//! Chromium. Built only by `cargo xtask bench` (`--target wasm32-unknown-unknown --test
//! bench_wasm --release`); natively this file is empty. It prints a `BENCH` line; it asserts
//! no time (tests never do). The browser cannot read the corpus, so it is built in:
//! `REFSYNC_CORPUS_DIR` (which xtask sets to the corpus it found) names it at compile time.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "bench/queries.rs"]
mod queries;

use refsync_core::formats::{self, Format, Source};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

macro_rules! corpus {
    ($path:literal) => {
        (
            $path,
            include_bytes!(concat!(env!("REFSYNC_CORPUS_DIR"), "/", $path)) as &[u8],
        )
    };
}

const SET: [(&str, &[u8]); 5] = [
    corpus!("bibtex/glottolog/ozbib.bib"),
    corpus!("bibtex/glottolog/sala.bib"),
    corpus!("bibtex/glottolog/zurich.bib"),
    corpus!("bibtex/rfc-bib/rfc.bib"),
    corpus!("bibtex/kwarc/kwarc.bib"),
];

#[wasm_bindgen_test]
fn import_the_41k_bibtex_set() {
    let sources: Vec<Source<'_>> = SET
        .iter()
        .map(|(name, bytes)| Source { name, bytes })
        .collect();
    let mut times = Vec::new();
    let mut count = 0;
    for _ in 0..5 {
        let start = performance_now();
        count = formats::import_with_sequential_keys(Format::Bibtex, &sources)
            .references
            .len();
        times.push(performance_now() - start);
    }
    assert!(count > 40_000, "{count}");
    times.sort_by(f64::total_cmp);
    console_log!(
        "BENCH wasm\timport BibTeX 41k set (glottolog, rfc-bib, kwarc)\t{count}\t{:.1}\t{:.1}\t{:.1}",
        times[2],
        times[0],
        times[4]
    );
}

#[wasm_bindgen_test]
fn queries_on_fifty_thousand_references() {
    let refs = queries::fifty_thousand(&SET);
    queries::run("wasm", refs, &performance_now, &|line| {
        console_log!("{line}")
    });
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
