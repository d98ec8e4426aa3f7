//! Import and export speed on the real corpus, for `cargo xtask bench` (which runs it in
//! release mode): `bench_formats CORPUS_DIR [RUNS]`. Prints one `BENCH` line per scenario
//! (name, references, median, min and max milliseconds) for the harness to tabulate.

#[path = "support/the_41k_set.rs"]
mod the_41k_set;

use refsync_core::formats::{self, bibtex, Format, Import, Source};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn import(format: Format, files: &[(String, Vec<u8>)]) -> Import {
    let sources: Vec<Source<'_>> = files
        .iter()
        .map(|(name, bytes)| Source { name, bytes })
        .collect();
    formats::import_with_sequential_keys(format, &sources)
}

/// Run `f` `runs` times; report median, min and max milliseconds.
fn measure(name: &str, runs: usize, mut f: impl FnMut() -> usize) {
    let mut times = Vec::with_capacity(runs);
    let mut count = 0;
    for _ in 0..runs {
        let start = Instant::now();
        count = f();
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "BENCH native\t{name}\t{count}\t{median:.1}\t{:.1}\t{:.1}",
        times[0],
        times[times.len() - 1]
    );
}

fn files_of(dir: &Path, folder: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.join(folder)];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.push((p.display().to_string(), bytes));
            }
        }
    }
    out.sort();
    out
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "../shared/corpus".into()));
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(5).max(1);
    let set: Vec<(String, Vec<u8>)> = the_41k_set::files(&dir)
        .into_iter()
        .map(|(p, bytes)| (p.to_string(), bytes))
        .collect();
    measure(
        "import BibTeX 41k set (glottolog, rfc-bib, kwarc)",
        runs,
        || import(Format::Bibtex, &set).references.len(),
    );
    let refs = import(Format::Bibtex, &set).references;
    measure("export BibTeX 41k set (UTF-8)", runs, || {
        bibtex::export(&refs, bibtex::ExportOptions::default())
            .len()
            .min(refs.len())
    });
    measure("export 41k set as RIS", runs, || {
        formats::export(Format::Ris, &refs).len().min(refs.len())
    });
    measure("export 41k set as CSL-JSON", runs, || {
        formats::export(Format::CslJson, &refs)
            .len()
            .min(refs.len())
    });
    for (format, folder) in [
        (Format::Ris, "ris"),
        (Format::EndnoteXml, "endnote-xml"),
        (Format::Medline, "medline"),
        (Format::CslJson, "csl-json"),
    ] {
        let files = files_of(&dir, folder);
        measure(
            &format!("import every {} file in the corpus", format.label()),
            runs,
            || {
                files
                    .iter()
                    .map(|f| import(format, std::slice::from_ref(f)).references.len())
                    .sum()
            },
        );
    }
}
