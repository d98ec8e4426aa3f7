//! The shared corpus (`shared/corpus`) for tests that import real files: where a file is, and
//! what refsync's own importer makes of it. Included by path by the CLI's tests, the
//! end-to-end tests and the app benchmark.

use refsync_core::formats::{self, Format, Source};
use std::path::{Path, PathBuf};

/// 176 real PubMed records: more than a screen of rows, one author line to split.
pub const CORPUS_RIS: &str = "ris/citesource/20221207_gambling-harms_pubmed_176.ris";

/// A corpus file: under `REFSYNC_CORPUS`, else `shared/corpus` beside this repository or a
/// folder above it. Fails (never skips) when it is missing.
pub fn corpus_file(relative: &str) -> PathBuf {
    let dir = std::env::var_os("REFSYNC_CORPUS")
        .map(PathBuf::from)
        .or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .ancestors()
                .map(|a| a.join("shared/corpus"))
                .chain([PathBuf::from("/work/shared/corpus")])
                .find(|d| d.join("MANIFEST.tsv").is_file())
        })
        .expect("the corpus (set REFSYNC_CORPUS)");
    let path = dir.join(relative);
    assert!(path.is_file(), "no corpus file {}", path.display());
    path
}

/// What refsync's own importer makes of a file: (references, skipped).
pub fn expected_import(path: &Path) -> (usize, usize) {
    let bytes = std::fs::read(path).expect("the file reads");
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let format = Format::detect(&name, &bytes).expect("a known format");
    let import = formats::import_with_sequential_keys(
        format,
        &[Source {
            name: &name,
            bytes: &bytes,
        }],
    );
    (import.report.imported, import.report.skipped.len())
}
