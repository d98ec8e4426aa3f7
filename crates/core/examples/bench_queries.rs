//! Query speed on 50,000 references, for `cargo xtask bench`: `bench_queries CORPUS_DIR`.

#[path = "../tests/bench/queries.rs"]
mod queries;

use std::time::Instant;

fn main() {
    let dir = std::path::PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "../shared/corpus".into()),
    );
    let files: Vec<(&str, Vec<u8>)> = refsync_core::sample::BIBTEX_41K
        .iter()
        .map(|p| match std::fs::read(dir.join(p)) {
            Ok(b) => (*p, b),
            Err(e) => {
                eprintln!("{}: {e}", dir.join(p).display());
                std::process::exit(1);
            }
        })
        .collect();
    let set: Vec<(&str, &[u8])> = files.iter().map(|(p, b)| (*p, b.as_slice())).collect();
    let refs = queries::fifty_thousand(&set);
    let start = Instant::now();
    let now = move || start.elapsed().as_secs_f64() * 1000.0;
    queries::run("native", refs, &now, &|line| println!("{line}"));
}
