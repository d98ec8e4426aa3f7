//! Every file of the real-world corpus (`../shared/corpus`) imported, counted and round-tripped.
//!
//! The expected counts are committed in `tests/corpus/counts.tsv` (derived from the files; see
//! `docs/formats.md` for the files whose count differs from INVENTORY.md's rough count and
//! why). `REFSYNC_BLESS=1 cargo test -p refsync-core --test corpus` rewrites the table; the
//! diff is then reviewed like any other change.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "corpus/common.rs"]
mod common;

use common::*;
use refsync_core::formats::{self, Format};
use refsync_core::Field;
use std::collections::{BTreeMap, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};

const COUNTS: &str = "tests/corpus/counts.tsv";

#[test]
fn every_corpus_file_imports_with_the_committed_count() {
    let mut actual = BTreeMap::new();
    let mut panics = Vec::new();
    for (path, format) in corpus_files() {
        let bytes = read(&path);
        match catch_unwind(AssertUnwindSafe(|| import(format, &[(&path, &bytes)]))) {
            Ok(got) => {
                assert_eq!(got.report.imported, got.references.len(), "{path}");
                assert_eq!(
                    got.report.read,
                    got.report.imported + got.report.skipped.len(),
                    "{path}"
                );
                actual.insert(path, (got.report.imported, got.report.skipped.len()));
            }
            Err(_) => panics.push(path),
        }
    }
    assert!(panics.is_empty(), "importing panicked on: {panics:#?}");

    let table = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(COUNTS);
    if std::env::var_os("REFSYNC_BLESS").is_some() {
        let mut text = String::from("# file\timported\tskipped\n");
        for (path, (imported, skipped)) in &actual {
            text.push_str(&format!("{path}\t{imported}\t{skipped}\n"));
        }
        std::fs::write(&table, text).unwrap();
    }
    let expected: BTreeMap<String, (usize, usize)> = std::fs::read_to_string(&table)
        .expect("the committed counts table")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (
                cols[0].to_string(),
                (cols[1].parse().unwrap(), cols[2].parse().unwrap()),
            )
        })
        .collect();
    let mut wrong = Vec::new();
    for (path, got) in &actual {
        match expected.get(path) {
            Some(want) if want == got => {}
            want => wrong.push(format!("{path}: expected {want:?}, got {got:?}")),
        }
    }
    assert!(
        wrong.is_empty(),
        "{} file(s) import a different number of references:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    let total: usize = actual.values().map(|(i, _)| i).sum();
    println!("{} files, {total} references imported", actual.len());
}

/// Import, export in the same format, import again: the same references, field by field.
#[test]
fn every_corpus_file_round_trips_through_its_own_format() {
    let mut per_format: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for (path, format) in corpus_files() {
        if !Format::EXPORTABLE.contains(&format) {
            continue;
        }
        let bytes = read(&path);
        let first = import(format, &[(&path, &bytes)]);
        let text = formats::export(format, &first.references);
        let second = import(format, &[("exported", text.as_bytes())]);
        let stats = per_format.entry(format.id()).or_default();
        stats.0 += 1;
        stats.1 += first.references.len();
        if second.references.len() != first.references.len() {
            failures.push(format!(
                "{path}: {} references, {} after export and import",
                first.references.len(),
                second.references.len()
            ));
            continue;
        }
        // Citation keys a BibTeX export had to make unique are not expected to survive.
        let mut key_counts: HashMap<String, usize> = HashMap::new();
        for r in &first.references {
            *key_counts
                .entry(r.get(Field::CitationKey).to_lowercase())
                .or_default() += 1;
        }
        let mut shown = 0;
        for (a, b) in first.references.iter().zip(&second.references) {
            let key = a.get(Field::CitationKey);
            // Keys BibTeX cannot hold (spaces, commas, ...) are cleaned on export.
            let writable = key
                .chars()
                .all(|c| !c.is_whitespace() && !",{}\"#%~=\\".contains(c));
            let keep_key = format != Format::Bibtex
                || writable && !key.is_empty() && key_counts.get(&key.to_lowercase()) == Some(&1);
            let (ca, cb) = (content(a, keep_key), content(b, keep_key));
            if ca != cb {
                stats.2 += 1;
                shown += 1;
                if shown <= 2 {
                    failures.push(format!(
                        "{path} [{}]: {}",
                        a.title(),
                        differences(&ca, &cb).join("; ")
                    ));
                }
            }
        }
    }
    for (format, (files, refs, bad)) in &per_format {
        println!("{format}: {files} files, {refs} references, {bad} differ after a round trip");
    }
    assert!(
        failures.is_empty(),
        "round trip lost or changed data:\n{}",
        failures.join("\n")
    );
}

/// IRIDIA's bibliography spans six files: authors and journals are `@string` macros in some,
/// used by the others. Imported together, every macro resolves; one file alone reports them.
#[test]
fn iridia_files_imported_together_share_their_macros() {
    let names = [
        "abbrev", "authors", "journals", "articles", "biblio", "crossref",
    ];
    let files: Vec<(String, Vec<u8>)> = names
        .iter()
        .map(|n| {
            let path = format!("bibtex/iridia-references/{n}.bib");
            let bytes = read(&path);
            (path, bytes)
        })
        .collect();
    let sources: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    let together = import(Format::Bibtex, &sources);
    let undefined = |i: &refsync_core::formats::Import| {
        i.report
            .warnings
            .iter()
            .any(|w| w.message.contains("undefined macro"))
    };
    assert!(
        !undefined(&together),
        "{:?}",
        together
            .report
            .warnings
            .iter()
            .find(|w| w.message.contains("undefined"))
    );
    assert!(together.references.len() > 3000);
    // Author macros became names: no family name is still a macro name like "abramson_d".
    let unresolved = together
        .references
        .iter()
        .flat_map(|r| &r.creators)
        .filter(|c| c.name.sort_name().contains('_'))
        .count();
    assert_eq!(unresolved, 0);
    let alone = import(Format::Bibtex, &sources[3..4]);
    assert!(
        undefined(&alone),
        "articles.bib alone uses macros it does not define"
    );
}
