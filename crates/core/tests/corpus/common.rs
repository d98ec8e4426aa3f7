//! Shared by the corpus tests: where the corpus is, which files it holds, and importing.

use refsync_core::formats::{self, Format, Import, Source};
use refsync_core::{Field, Key, Reference};
use std::path::PathBuf;

/// The corpus: `REFSYNC_CORPUS`, else `shared/corpus` beside the checkout or beside any folder
/// above it, else this machine's `/work/shared/corpus` (a clone made elsewhere, as CI's may
/// be). A missing corpus fails the test: these tests must never pass by finding nothing.
pub fn corpus_dir() -> PathBuf {
    let found = std::env::var_os("REFSYNC_CORPUS")
        .map(PathBuf::from)
        .or_else(|| {
            let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
            manifest
                .ancestors()
                .map(|a| a.join("shared/corpus"))
                .chain([PathBuf::from("/work/shared/corpus")])
                .find(|d| d.join("MANIFEST.tsv").is_file())
        });
    let dir = found.unwrap_or_else(|| PathBuf::from("shared/corpus"));
    assert!(
        dir.join("MANIFEST.tsv").is_file(),
        "the corpus is not at {} (set REFSYNC_CORPUS)",
        dir.display()
    );
    dir
}

/// Every data file in the corpus (from MANIFEST.tsv), with its format.
pub fn corpus_files() -> Vec<(String, Format)> {
    let manifest = std::fs::read_to_string(corpus_dir().join("MANIFEST.tsv")).expect("manifest");
    let mut files: Vec<(String, Format)> = manifest
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .map(|p| (p.to_string(), format_of(p)))
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(
        files.len() > 1000,
        "the manifest lists only {} files",
        files.len()
    );
    files
}

pub fn format_of(path: &str) -> Format {
    match path.split('/').next() {
        Some("bibtex") => Format::Bibtex,
        Some("ris") => Format::Ris,
        Some("endnote-xml") => Format::EndnoteXml,
        Some("enw") => Format::Enw,
        Some("medline") => Format::Medline,
        Some("csl-json") => Format::CslJson,
        other => panic!("unknown corpus folder {other:?}"),
    }
}

pub fn read(path: &str) -> Vec<u8> {
    std::fs::read(corpus_dir().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Import with deterministic keys.
pub fn import(format: Format, files: &[(&str, &[u8])]) -> Import {
    let sources: Vec<Source<'_>> = files
        .iter()
        .map(|(name, bytes)| Source { name, bytes })
        .collect();
    formats::import_with_sequential_keys(format, &sources)
}

/// A reference's content, for comparing two imports: everything but its key and dates.
pub fn content(r: &Reference, with_citation_key: bool) -> Reference {
    let mut c = r.clone();
    c.key = Key::default();
    c.date_added = 0;
    c.date_modified = 0;
    if !with_citation_key {
        c.fields.remove(Field::CitationKey.id());
    }
    c
}

/// The fields where two references differ, named for a report.
pub fn differences(a: &Reference, b: &Reference) -> Vec<String> {
    let mut out = Vec::new();
    if a.ref_type != b.ref_type {
        out.push(format!("type: {:?} vs {:?}", a.ref_type, b.ref_type));
    }
    if a.creators.len() != b.creators.len() {
        out.push(format!("creators: {:?} vs {:?}", a.creators, b.creators));
    } else {
        for (x, y) in a.creators.iter().zip(&b.creators).filter(|(x, y)| x != y) {
            out.push(format!("creator: {x:?} vs {y:?}"));
        }
    }
    if a.keywords != b.keywords {
        out.push(format!("keywords: {:?} vs {:?}", a.keywords, b.keywords));
    }
    let keys: std::collections::BTreeSet<&String> =
        a.fields.keys().chain(b.fields.keys()).collect();
    for k in keys {
        if a.fields.get(k) != b.fields.get(k) {
            out.push(format!(
                "{k}: {:?} vs {:?}",
                a.fields.get(k),
                b.fields.get(k)
            ));
        }
    }
    let keys: std::collections::BTreeSet<&String> = a.extra.keys().chain(b.extra.keys()).collect();
    for k in keys {
        if a.extra.get(k) != b.extra.get(k) {
            out.push(format!(
                "extra {k}: {:?} vs {:?}",
                a.extra.get(k),
                b.extra.get(k)
            ));
        }
    }
    out
}
