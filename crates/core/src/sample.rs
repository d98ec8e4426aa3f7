//! Deterministic sample libraries, for benchmarks and load tests: real records (an import of
//! corpus files) followed by varied copies of them, so a 1,000-, 10,000- or 50,000-reference
//! library has the field mix, lengths and oddities of real ones without needing that many real
//! records.
//!
//! Invariants: the same records and size give the same library, reference for reference (no
//! clock, no randomness); keys are distinct and ordered as the references are, and so are the
//! dates added (one second apart from [`EPOCH_MS`]); a copy differs from its original in key,
//! title, year and author order, so search, sorting and duplicate detection see distinct
//! references, as they would in a real library that holds several editions and versions.

use crate::{Field, Key, Reference};

/// The ~41,000 real BibTeX entries the speed targets name (docs/bench.md), as paths in
/// the corpus (`shared/corpus`): the records every sample library starts from.
pub const BIBTEX_41K: [&str; 5] = [
    "bibtex/glottolog/ozbib.bib",
    "bibtex/glottolog/sala.bib",
    "bibtex/glottolog/zurich.bib",
    "bibtex/rfc-bib/rfc.bib",
    "bibtex/kwarc/kwarc.bib",
];

/// The date added of a sample library's first reference (2020-09-13).
pub const EPOCH_MS: u64 = 1_600_000_000_000;

/// `n` references: `records` as they are (with sample keys and dates), then copies of them,
/// each round of copies varied a little more. Empty when `records` is.
pub fn library(records: &[Reference], n: usize) -> Vec<Reference> {
    if records.is_empty() {
        return Vec::new();
    }
    (0..n)
        .map(|i| {
            let round = i / records.len();
            let mut r = records[i % records.len()].clone();
            let added = EPOCH_MS + i as u64 * 1000;
            // The low bytes of the index keep keys distinct within one millisecond's worth.
            let mut random = [0u8; 10];
            random[..8].copy_from_slice(&(i as u64).to_be_bytes());
            r.key = Key::new(added, random);
            r.date_added = added;
            r.date_modified = added;
            if round > 0 {
                let title = format!("{} (revised {round})", r.title());
                r.set(Field::Title, title);
                if let Ok(year) = r.year().parse::<i32>() {
                    r.set(Field::Year, (year + round as i32).to_string());
                }
                if r.creators.len() > 1 {
                    let by = round % r.creators.len();
                    r.creators.rotate_left(by);
                }
            }
            r
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RefType;
    use std::collections::HashSet;

    fn record(title: &str, year: &str) -> Reference {
        let mut r = Reference::new(Key::new(1, [1; 10]), RefType::JournalArticle, 0);
        r.set(Field::Title, title);
        r.set(Field::Year, year);
        r
    }

    #[test]
    fn a_sample_is_the_records_then_varied_copies_with_distinct_keys() {
        let records = [record("A", "2001"), record("B", "n.d.")];
        let lib = library(&records, 5);
        let titles: Vec<&str> = lib.iter().map(|r| r.title()).collect();
        assert_eq!(
            titles,
            ["A", "B", "A (revised 1)", "B (revised 1)", "A (revised 2)"]
        );
        assert_eq!(lib[2].year(), "2002");
        assert_eq!(lib[3].year(), "n.d.");
        let keys: HashSet<Key> = lib.iter().map(|r| r.key).collect();
        assert_eq!(keys.len(), 5);
        assert!(lib
            .windows(2)
            .all(|w| w[0].key < w[1].key && w[0].date_added < w[1].date_added));
        assert_eq!(library(&records, 5), lib, "the same every time");
        assert!(library(&[], 5).is_empty());
    }
}
