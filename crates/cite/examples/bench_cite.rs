//! Citation speed natively, for `cargo xtask bench`: `bench_cite [RUNS]`.
#![allow(clippy::expect_used)] // a bench: a style that is not built in is the failure report

#[path = "../tests/bench/cite.rs"]
mod cite;

use std::time::Instant;

fn main() {
    let runs = std::env::args()
        .nth(1)
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let start = Instant::now();
    let now = move || start.elapsed().as_secs_f64() * 1000.0;
    cite::run("native", runs, &now, &|line| println!("{line}"));
}
