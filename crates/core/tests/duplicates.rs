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

/// One evaluation collection: exports of the same records from different databases (or the
/// same library at two dates), each file its own source.
const COLLECTIONS: [(&str, &[&str]); 4] = [
    ("citesource (16 database exports)", &["ris/citesource/"]),
    ("asysd RIS (EndNote, Scopus, WoS, Zotero)", &["ris/asysd/"]),
    (
        "asysd EndNote XML (Mendeley vs Zotero)",
        &["endnote-xml/asysd/"],
    ),
    ("kwb-endnote (2019 vs 2020)", &["endnote-xml/kwb-endnote/"]),
];

/// A collection's references, keyed afresh so files never clash, each with its file.
fn collection(prefixes: &[&str]) -> Vec<(String, refsync_core::Reference)> {
    let mut out = Vec::new();
    for (path, format) in corpus_files() {
        if !prefixes.iter().any(|p| path.starts_with(p)) {
            continue;
        }
        let bytes = read(&path);
        for r in import(format, &[(path.as_str(), bytes.as_slice())]).references {
            let mut r = r;
            r.key = refsync_core::Key::new(out.len() as u64 + 1, [7; 10]);
            out.push((path.clone(), r));
        }
    }
    out
}

/// The identifiers a record is known by: its DOI and PMID, normalised.
fn identifiers(r: &refsync_core::Reference) -> Vec<String> {
    use refsync_core::query::{normalize_doi, normalize_pmid};
    let mut ids = Vec::new();
    if let Some(d) = normalize_doi(r.get(Field::Doi)) {
        ids.push(format!("doi:{d}"));
    }
    if let Some(p) = normalize_pmid(r.get(Field::Pmid)) {
        ids.push(format!("pmid:{p}"));
    }
    ids
}

/// The labelled evaluation (docs/queries.md, "How good the detector is"): true duplicates are
/// pairs of records from *different* files of one collection that share a DOI or PMID. The
/// identifiers (DOI, PMID, ISBN) are then hidden and detection runs on what is left (title,
/// year, authors): recall is the share of true pairs it still puts in one set. Precision is
/// judged on every pair it proposes whose two records both had a DOI (the same DOI: right;
/// different DOIs: wrong, unless a hand check found them one work under two DOIs), and by
/// hand on a sample (`tests/duplicates/hand_checked.tsv`, every pair whose titles or years
/// differ, every pair of two kinds or two journals, and ordinary ones to make 200).
#[test]
fn the_detector_finds_duplicates_without_identifiers_and_rarely_pairs_different_works() {
    use std::collections::BTreeSet;
    let hand = hand_checked();
    let mut totals = (0usize, 0usize, 0usize, 0usize);
    println!("| collection | records | true pairs | found without ids | recall | proposed pairs judged by DOI | wrong | precision |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut unjudged_sample: Vec<(u8, String)> = Vec::new();
    // Proposed pairs with no DOI on one side, checked by hand, and how many were one work.
    let (mut checked, mut checked_right) = (0usize, 0usize);
    for (name, prefixes) in COLLECTIONS {
        let records = collection(prefixes);
        let file_of: HashMap<refsync_core::Key, &str> =
            records.iter().map(|(f, r)| (r.key, f.as_str())).collect();
        let by_key: HashMap<refsync_core::Key, &refsync_core::Reference> =
            records.iter().map(|(_, r)| (r.key, r)).collect();
        // True pairs: different files, a shared identifier.
        let mut holders: HashMap<String, Vec<refsync_core::Key>> = HashMap::new();
        for (_, r) in &records {
            for id in identifiers(r) {
                holders.entry(id).or_default().push(r.key);
            }
        }
        let mut truth: BTreeSet<(refsync_core::Key, refsync_core::Key)> = BTreeSet::new();
        for keys in holders.values() {
            for (i, a) in keys.iter().enumerate() {
                for b in &keys[i + 1..] {
                    if file_of[a] != file_of[b] {
                        truth.insert((*a.min(b), *a.max(b)));
                    }
                }
            }
        }
        // Detection with the identifiers hidden.
        let hidden: Vec<refsync_core::Reference> = records
            .iter()
            .map(|(_, r)| {
                let mut r = r.clone();
                for f in [Field::Doi, Field::Pmid, Field::Isbn] {
                    r.set(f, "");
                }
                r
            })
            .collect();
        let sets = Library::from_references(hidden).duplicates();
        let mut proposed: BTreeSet<(refsync_core::Key, refsync_core::Key)> = BTreeSet::new();
        for s in &sets {
            for (i, a) in s.keys.iter().enumerate() {
                for b in &s.keys[i + 1..] {
                    proposed.insert((*a.min(b), *a.max(b)));
                }
            }
        }
        let found = truth.iter().filter(|p| proposed.contains(p)).count();
        if std::env::var_os("REFSYNC_SHOW_MISSED").is_some() {
            for (a, b) in truth.iter().filter(|p| !proposed.contains(p)) {
                println!("  missed: {}", pair_line(by_key[a], by_key[b]));
            }
        }
        // Proposed pairs judged by their (hidden) DOIs.
        let doi =
            |k: &refsync_core::Key| refsync_core::query::normalize_doi(by_key[k].get(Field::Doi));
        let mut judged = 0;
        let mut wrong = 0;
        for (a, b) in &proposed {
            match (doi(a), doi(b)) {
                (Some(x), Some(y)) => {
                    judged += 1;
                    // Two DOIs can still be one work (a preprint and the article, a
                    // repository's copy): those were checked by hand too.
                    let line = pair_line(by_key[a], by_key[b]);
                    if x != y && hand.get(&line) != Some(&true) {
                        wrong += 1;
                        if !hand.contains_key(&line) {
                            println!("!{x} {y}\t{line}");
                        }
                    }
                }
                _ => {
                    let line = pair_line(by_key[a], by_key[b]);
                    match hand.get(&line) {
                        Some(same) => {
                            checked += 1;
                            checked_right += usize::from(*same);
                        }
                        None => unjudged_sample.push((hardness(by_key[a], by_key[b]), line)),
                    }
                }
            }
        }
        let recall = found as f64 / truth.len().max(1) as f64;
        let precision = 1.0 - wrong as f64 / judged.max(1) as f64;
        println!(
            "| {name} | {} | {} | {found} | {recall:.3} | {judged} | {wrong} | {precision:.3} |",
            records.len(),
            truth.len()
        );
        totals.0 += truth.len();
        totals.1 += found;
        totals.2 += judged;
        totals.3 += wrong;
    }
    let recall = totals.1 as f64 / totals.0 as f64;
    let precision = 1.0 - totals.3 as f64 / totals.2 as f64;
    println!(
        "| all | | {} | {} | {recall:.3} | {} | {} | {precision:.3} |",
        totals.0, totals.1, totals.2, totals.3
    );
    let hand_precision = checked_right as f64 / checked.max(1) as f64;
    println!(
        "proposed pairs without two DOIs, checked by hand: {checked} ({checked_right} one work): precision {hand_precision:.3}"
    );
    if !unjudged_sample.is_empty() {
        // The hardest first: titles that differ beyond case and punctuation, then years.
        unjudged_sample.sort();
        unjudged_sample.dedup();
        println!(
            "proposed pairs not checked by hand: {}",
            unjudged_sample.len()
        );
        for (h, l) in &unjudged_sample {
            println!("?{h}\t{l}");
        }
    }
    // Floors a change must not fall below (the figures measured are in docs/queries.md).
    assert!(
        totals.0 >= 1_000,
        "too few true pairs to measure: {}",
        totals.0
    );
    assert!(
        recall >= 0.90,
        "recall without identifiers fell to {recall:.3}"
    );
    assert!(precision >= 0.98, "precision fell to {precision:.3}");
    assert!(
        checked >= 200,
        "only {checked} proposed pairs were checked by hand"
    );
    assert!(
        hand_precision >= 0.98,
        "hand-checked precision fell to {hand_precision:.3}"
    );
}

/// How hard a proposed pair is to judge: 0 when its titles differ beyond case and
/// punctuation, 1 when only its years differ, 2 when it is the same title, year and author.
fn hardness(a: &refsync_core::Reference, b: &refsync_core::Reference) -> u8 {
    let plain = |t: &str| -> String {
        t.to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect()
    };
    if plain(a.title()) != plain(b.title()) {
        0
    } else if a.year() != b.year() {
        1
    } else {
        2
    }
}

/// One proposed pair as the hand-checked file names it: both titles, years and first
/// authors.
fn pair_line(a: &refsync_core::Reference, b: &refsync_core::Reference) -> String {
    let one = |r: &refsync_core::Reference| {
        let first = r
            .creators
            .first()
            .map(|c| c.name.sort_name().to_string())
            .unwrap_or_default();
        format!(
            "{} | {} | {} | {} | {}",
            r.title().replace('\t', " "),
            r.year(),
            first,
            r.ref_type.label(),
            r.get(Field::SecondaryTitle).replace('\t', " ")
        )
    };
    let (x, y) = (one(a), one(b));
    if x <= y {
        format!("{x}\t{y}")
    } else {
        format!("{y}\t{x}")
    }
}

/// The hand-checked pairs: `same` or `different`, then the pair as [`pair_line`] writes it,
/// then why.
fn hand_checked() -> HashMap<String, bool> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/duplicates/hand_checked.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut parts = l.splitn(4, '\t');
            let label = parts.next()?;
            let a = parts.next()?;
            let b = parts.next()?;
            Some((format!("{a}\t{b}"), label == "same"))
        })
        .collect()
}
