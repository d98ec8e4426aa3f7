//! The real 41k BibTeX set every core example starts from ([`refsync_core::sample::BIBTEX_41K`]
//! in the corpus), read once here for all of them.

// Each example includes this module on its own and uses what it needs of it.
#![allow(dead_code)]

use refsync_core::formats::{self, Format, Source};
use refsync_core::Reference;
use std::path::Path;

/// Each file of the set: its path in the corpus and its bytes. A file that cannot be read ends
/// the example with its path and why.
pub fn files(corpus: &Path) -> Vec<(&'static str, Vec<u8>)> {
    refsync_core::sample::BIBTEX_41K
        .iter()
        .map(|p| match std::fs::read(corpus.join(p)) {
            Ok(bytes) => (*p, bytes),
            Err(e) => {
                eprintln!("{}: {e}", corpus.join(p).display());
                std::process::exit(1);
            }
        })
        .collect()
}

/// The set imported (sequential keys): the records sample libraries are made of.
pub fn records(files: &[(&str, Vec<u8>)]) -> Vec<Reference> {
    let sources: Vec<Source<'_>> = files
        .iter()
        .map(|(name, bytes)| Source { name, bytes })
        .collect();
    formats::import_with_sequential_keys(Format::Bibtex, &sources).references
}
