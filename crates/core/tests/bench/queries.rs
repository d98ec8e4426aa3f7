// Shared by the query benchmarks (native: examples/bench_queries.rs; browser:
// tests/bench_wasm.rs): the 50,000-reference library and the scenarios, timed with a clock
// the caller supplies (std's natively, the browser's in wasm). Prints `BENCH` lines.

use refsync_core::formats::{self, Format, Source};
use refsync_core::query::{Library, Sort};
use refsync_core::{Connector, Criterion, Field, Key, Op, Reference};

/// 50,000 references: the real ~41,000-entry BibTeX set, then varied copies of it
/// (`refsync_core::sample`).
pub fn fifty_thousand(set: &[(&str, &[u8])]) -> Vec<Reference> {
    let sources: Vec<Source<'_>> = set
        .iter()
        .map(|(name, bytes)| Source { name, bytes })
        .collect();
    let records = formats::import_with_sequential_keys(Format::Bibtex, &sources).references;
    refsync_core::sample::library(&records, 50_000)
}

fn median(mut xs: Vec<f64>) -> (f64, f64, f64) {
    xs.sort_by(f64::total_cmp);
    (xs[xs.len() / 2], xs[0], xs[xs.len() - 1])
}

pub fn run(place: &str, refs: Vec<Reference>, now_ms: &dyn Fn() -> f64, print: &dyn Fn(String)) {
    let count = refs.len();
    let line = |scenario: &str, n: usize, times: Vec<f64>| {
        let (m, lo, hi) = median(times);
        print(format!(
            "BENCH {place}\t{scenario}\t{n}\t{m:.3}\t{lo:.3}\t{hi:.3}"
        ));
    };

    let t = now_ms();
    let mut lib = Library::from_references(refs);
    line(
        "build the query index (50k references)",
        count,
        vec![now_ms() - t],
    );

    let query = "language contact in the pacific";
    let mut keystrokes = Vec::new();
    let mut found = 0;
    for _ in 0..3 {
        for end in 1..=query.len() {
            let t = now_ms();
            found = lib.quick_search(&query[..end], Sort::default()).len();
            keystrokes.push(now_ms() - t);
        }
    }
    line(
        "quick-search keystroke, 50k references (typing a 31-letter query)",
        found,
        keystrokes,
    );

    let criteria = vec![
        Criterion {
            connector: Connector::And,
            field: "title".into(),
            op: Op::Contains,
            value: "language".into(),
        },
        Criterion {
            connector: Connector::And,
            field: "year".into(),
            op: Op::GreaterThan,
            value: "1990".into(),
        },
        Criterion {
            connector: Connector::Not,
            field: "keywords".into(),
            op: Op::Contains,
            value: "dictionary".into(),
        },
    ];
    let mut smart = Vec::new();
    for _ in 0..5 {
        let t = now_ms();
        found = lib.search(&criteria, Sort::default()).len();
        smart.push(now_ms() - t);
    }
    line(
        "smart group re-evaluation (3 criteria), 50k references",
        found,
        smart,
    );

    let mut dups = Vec::new();
    for _ in 0..3 {
        let t = now_ms();
        found = lib.duplicates().len();
        dups.push(now_ms() - t);
    }
    line("duplicate detection over 50k references", found, dups);

    let keys: Vec<Key> = lib.references().map(|r| r.key).take(200).collect();
    let mut updates = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let Some(mut r) = lib.get(k).cloned() else {
            continue;
        };
        r.set(Field::Title, format!("{} edited {i}", r.title()));
        let t = now_ms();
        lib.upsert(r);
        updates.push(now_ms() - t);
    }
    line(
        "index update for one edited reference",
        updates.len(),
        updates,
    );
}
