//! Duplicate detection on the corpus's real duplicates: the same records exported from
//! several databases (`ris/citesource`, `ris/asysd`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "corpus/common.rs"]
#[allow(dead_code)]
mod common;

use common::*;
use refsync_core::formats::Format;
use refsync_core::query::{DuplicateReason, Library};
use refsync_core::Field;
use std::collections::HashMap;

fn folder(prefix: &str) -> Library {
    let files: Vec<(String, Vec<u8>)> = corpus_files()
        .into_iter()
        .filter(|(p, _)| p.starts_with(prefix))
        .map(|(p, _)| {
            let bytes = read(&p);
            (p, bytes)
        })
        .collect();
    let sources: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    Library::from_references(import(Format::Ris, &sources).references)
}

/// DOIs shared by more than one reference, counted plainly (lower case, URL prefix off).
fn shared_dois(lib: &Library) -> usize {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for r in lib.references() {
        let doi = r.get(Field::Doi).trim().to_lowercase();
        let doi = doi.trim_start_matches("https://doi.org/").to_string();
        if doi.starts_with("10.") {
            *counts.entry(doi).or_default() += 1;
        }
    }
    counts.values().filter(|&&n| n > 1).count()
}

#[test]
fn real_cross_database_duplicates_are_found() {
    for prefix in ["ris/citesource/", "ris/asysd/"] {
        let lib = folder(prefix);
        let sets = lib.duplicates();
        let by = |why: DuplicateReason| sets.iter().filter(|s| s.reason == why).count();
        let in_sets: usize = sets.iter().map(|s| s.keys.len()).sum();
        println!(
            "{prefix}: {} references; {} duplicate groups ({} by DOI, {} by PMID, {} by ISBN, {} probable) holding {in_sets} references; {} DOIs are shared",
            lib.len(),
            sets.len(),
            by(DuplicateReason::Doi),
            by(DuplicateReason::Pmid),
            by(DuplicateReason::Isbn),
            by(DuplicateReason::Probable),
            shared_dois(&lib),
        );
        // Every shared DOI is in a group (groups joined by title as well can hold several).
        assert!(by(DuplicateReason::Doi) >= 1);
        let grouped: std::collections::HashSet<_> =
            sets.iter().flat_map(|s| s.keys.iter().copied()).collect();
        let mut seen: HashMap<String, refsync_core::Key> = HashMap::new();
        for r in lib.references() {
            let doi = r.get(Field::Doi).trim().to_lowercase();
            if !doi.starts_with("10.") {
                continue;
            }
            if let Some(first) = seen.insert(doi, r.key) {
                assert!(
                    grouped.contains(&first) && grouped.contains(&r.key),
                    "a shared DOI was missed"
                );
            }
        }
        assert!(sets.len() >= shared_dois(&lib));
    }
}
