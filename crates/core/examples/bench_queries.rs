//! Query speed on 50,000 references, for `cargo xtask bench`: `bench_queries CORPUS_DIR`.

#[path = "../tests/bench/queries.rs"]
mod queries;
#[path = "support/the_41k_set.rs"]
mod the_41k_set;

use std::time::Instant;

fn main() {
    let dir = std::path::PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "../shared/corpus".into()),
    );
    let files = the_41k_set::files(&dir);
    let set: Vec<(&str, &[u8])> = files.iter().map(|(p, b)| (*p, b.as_slice())).collect();
    let refs = queries::fifty_thousand(&set);
    let start = Instant::now();
    let now = move || start.elapsed().as_secs_f64() * 1000.0;
    queries::run("native", refs, &now, &|line| println!("{line}"));
}
