//! Inputs that once broke an importer (found by `cargo fuzz` or by hand: deep nesting, cut-off
//! escapes, macro and crossref cycles, overflowing dates), one folder per fuzz target. Each
//! must import without panicking, and export then import again without losing a reference.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use refsync_core::formats::{self, Format, Source};
use std::path::Path;

fn import(format: Format, bytes: &[u8]) -> formats::Import {
    formats::import_with_sequential_keys(
        format,
        &[Source {
            name: "regression",
            bytes,
        }],
    )
}

#[test]
fn every_regression_input_imports_and_round_trips() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut checked = 0;
    for (target, format) in [
        ("ris", Format::Ris),
        ("bibtex", Format::Bibtex),
        ("endnote_xml", Format::EndnoteXml),
        ("enw", Format::Enw),
        ("medline", Format::Medline),
        ("csl_json", Format::CslJson),
    ] {
        let mut files: Vec<_> = std::fs::read_dir(dir.join(target))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        for path in files {
            let bytes = std::fs::read(&path).unwrap();
            let first = import(format, &bytes);
            assert_eq!(
                first.references.len(),
                first.report.imported,
                "{}",
                path.display()
            );
            if Format::EXPORTABLE.contains(&format) {
                let text = formats::export(format, &first.references);
                let second = import(format, text.as_bytes());
                assert_eq!(
                    second.references.len(),
                    first.references.len(),
                    "{} lost references in a round trip",
                    path.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 6, "only {checked} regression inputs found");
}
