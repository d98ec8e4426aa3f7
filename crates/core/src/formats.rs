//! Import and export of the reference formats people move libraries with.
//!
//! Every importer takes raw bytes (whatever their encoding) and returns the references it
//! could read plus a [`Report`]: how many records it saw, which it skipped (with the line and
//! the reason) and what it had to guess. A malformed record is skipped and reported; the rest
//! of the file still imports. No input, however broken, may panic or hang: each importer is
//! fuzzed (`crates/core/fuzz`).
//!
//! Exporters write what the format can hold; fields with no place in a format are left out
//! (RIS, EndNote XML and `.enw` keep unknown fields only when they came from the same format).

pub mod bibtex;
pub mod csl_json;
mod encoding;
pub mod endnote_xml;
pub mod enw;
pub mod medline;
pub mod ris;
mod text;

pub use encoding::{decode, Decoded};

use crate::{Key, Reference};

/// The formats refsync reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    Ris,
    Bibtex,
    EndnoteXml,
    Enw,
    Medline,
    CslJson,
}

impl Format {
    pub const ALL: &'static [Format] = &[
        Format::Ris,
        Format::Bibtex,
        Format::EndnoteXml,
        Format::Enw,
        Format::Medline,
        Format::CslJson,
    ];

    /// The formats refsync writes.
    pub const EXPORTABLE: &'static [Format] = &[
        Format::Ris,
        Format::Bibtex,
        Format::EndnoteXml,
        Format::Enw,
        Format::CslJson,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Format::Ris => "RIS",
            Format::Bibtex => "BibTeX / BibLaTeX",
            Format::EndnoteXml => "EndNote XML",
            Format::Enw => "EndNote tagged (.enw)",
            Format::Medline => "MEDLINE / PubMed (.nbib)",
            Format::CslJson => "CSL-JSON",
        }
    }

    /// The short id a command line or a file picker uses.
    pub fn id(self) -> &'static str {
        match self {
            Format::Ris => "ris",
            Format::Bibtex => "bibtex",
            Format::EndnoteXml => "endnote-xml",
            Format::Enw => "enw",
            Format::Medline => "medline",
            Format::CslJson => "csl-json",
        }
    }

    pub fn from_id(id: &str) -> Option<Format> {
        Format::ALL.iter().copied().find(|f| f.id() == id)
    }

    /// The file extension an export gets.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Ris => "ris",
            Format::Bibtex => "bib",
            Format::EndnoteXml => "xml",
            Format::Enw => "enw",
            Format::Medline => "nbib",
            Format::CslJson => "json",
        }
    }

    /// The format of a file, from its content first and its name second.
    pub fn detect(file_name: &str, bytes: &[u8]) -> Option<Format> {
        let decoded = decode(bytes);
        let head: String = decoded.text.chars().take(4096).collect();
        let trimmed = head.trim_start();
        if trimmed.starts_with('[') || trimmed.starts_with('{') && trimmed.contains("\"type\"") {
            return Some(Format::CslJson);
        }
        if trimmed.starts_with("<?xml") || trimmed.starts_with("<xml") {
            return Some(Format::EndnoteXml);
        }
        let has_line = |prefix: &str| head.lines().any(|l| l.trim_start().starts_with(prefix));
        if has_line("TY  -") {
            return Some(Format::Ris);
        }
        if has_line("PMID-") || has_line("OWN -") {
            return Some(Format::Medline);
        }
        if has_line("%0 ") {
            return Some(Format::Enw);
        }
        if head.contains('@') && head.contains('{') {
            return Some(Format::Bibtex);
        }
        let ext = file_name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase());
        match ext.as_deref()? {
            "ris" => Some(Format::Ris),
            "bib" | "bibtex" | "biblatex" => Some(Format::Bibtex),
            "xml" | "endx" => Some(Format::EndnoteXml),
            "enw" | "txt" => Some(Format::Enw),
            "nbib" | "medline" => Some(Format::Medline),
            "json" => Some(Format::CslJson),
            _ => None,
        }
    }
}

/// Keys 1, 2, 3, ... (distinct ULIDs, not random): for tests, benchmarks and tools that only
/// read what an import gives. An app imports with random keys.
pub fn sequential_keys() -> impl FnMut() -> Key {
    let mut n = 0u64;
    move || {
        n += 1;
        Key::new(n, [0; 10])
    }
}

/// [`import`] with [`sequential_keys`] at time 0.
pub fn import_with_sequential_keys(format: Format, sources: &[Source<'_>]) -> Import {
    let mut keys = sequential_keys();
    let mut ctx = ImportContext {
        now: 0,
        new_key: &mut keys,
    };
    import(format, sources, &mut ctx)
}

/// Import `text` as one file, for the formats' unit tests.
#[cfg(test)]
pub(crate) fn import_text(format: Format, text: &str) -> Import {
    let source = Source {
        name: "test",
        bytes: text.as_bytes(),
    };
    import_with_sequential_keys(format, &[source])
}

/// What an import needs from its caller: the time and a source of new keys (core has no
/// clock or randomness of its own).
pub struct ImportContext<'a> {
    /// Unix milliseconds, used as every imported reference's date added and modified.
    pub now: u64,
    pub new_key: &'a mut dyn FnMut() -> Key,
}

impl ImportContext<'_> {
    /// A new, empty reference with a fresh key.
    pub(crate) fn new_reference(&mut self) -> Reference {
        Reference::new((self.new_key)(), crate::RefType::Generic, self.now)
    }
}

/// A record an importer could not use, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub file: String,
    /// 1-based line where the record starts (0 when the format has no lines, e.g. JSON).
    pub line: usize,
    pub reason: String,
}

/// Something an importer had to guess or work around; the record was still imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Records found (imported or skipped).
    pub read: usize,
    pub imported: usize,
    pub skipped: Vec<Skipped>,
    pub warnings: Vec<Warning>,
}

impl Report {
    pub(crate) fn skip(&mut self, file: &str, line: usize, reason: impl Into<String>) {
        self.read += 1;
        self.skipped.push(Skipped {
            file: file.to_string(),
            line,
            reason: reason.into(),
        });
    }

    pub(crate) fn warn(&mut self, file: &str, line: usize, message: impl Into<String>) {
        self.warnings.push(Warning {
            file: file.to_string(),
            line,
            message: message.into(),
        });
    }

    pub(crate) fn merge(&mut self, other: Report) {
        self.read += other.read;
        self.imported += other.imported;
        self.skipped.extend(other.skipped);
        self.warnings.extend(other.warnings);
    }

    /// One line for a person: "imported 120, skipped 2".
    pub fn summary(&self) -> String {
        format!("imported {}, skipped {}", self.imported, self.skipped.len())
    }
}

/// What an import produced.
#[derive(Clone, Debug, Default)]
pub struct Import {
    pub references: Vec<Reference>,
    pub report: Report,
}

impl Import {
    pub(crate) fn push(&mut self, mut reference: Reference) {
        reference.sort_creators();
        self.report.read += 1;
        self.report.imported += 1;
        self.references.push(reference);
    }
}

/// A file to import: its name (for the report) and its bytes.
pub struct Source<'a> {
    pub name: &'a str,
    pub bytes: &'a [u8],
}

/// Import `sources`, all in `format`. BibTeX files imported together share their `@string`
/// macros and crossref targets, as a multi-file bibliography does.
pub fn import(format: Format, sources: &[Source<'_>], ctx: &mut ImportContext<'_>) -> Import {
    match format {
        Format::Bibtex => bibtex::import(sources, ctx),
        _ => {
            let mut all = Import::default();
            for source in sources {
                let decoded = decode(source.bytes);
                let mut one = match format {
                    Format::Ris => ris::import(source.name, &decoded.text, ctx),
                    Format::EndnoteXml => endnote_xml::import(source.name, &decoded.text, ctx),
                    Format::Enw => enw::import(source.name, &decoded.text, ctx),
                    Format::Medline => medline::import(source.name, &decoded.text, ctx),
                    Format::CslJson => csl_json::import(source.name, &decoded.text, ctx),
                    Format::Bibtex => Import::default(),
                };
                if let Some(w) = decoded.warning {
                    one.report.warn(source.name, 0, w);
                }
                all.references.append(&mut one.references);
                all.report.merge(one.report);
            }
            all
        }
    }
}

/// Why a file was not read at all.
pub const NOT_A_FORMAT: &str =
    "not a format refsync can read (RIS, BibTeX, EndNote XML, EndNote tagged, MEDLINE, CSL-JSON)";

/// Import files of any formats at once, as both clients do: each file's format is `forced` or
/// recognized from its name and bytes; files of one format are imported together, in the order
/// their formats first appear (BibTeX files share `@string` macros and crossrefs); a file in no
/// format refsync reads is skipped with [`NOT_A_FORMAT`]. `done` hears how many files are read.
pub fn import_files(
    files: &[Source<'_>],
    forced: Option<Format>,
    ctx: &mut ImportContext<'_>,
    mut done: impl FnMut(usize),
) -> Import {
    let mut all = Import::default();
    let mut by_format: Vec<(Format, Vec<&Source<'_>>)> = Vec::new();
    for file in files {
        match forced.or_else(|| Format::detect(file.name, file.bytes)) {
            Some(f) => match by_format.iter_mut().find(|(g, _)| *g == f) {
                Some((_, group)) => group.push(file),
                None => by_format.push((f, vec![file])),
            },
            None => all.report.skipped.push(Skipped {
                file: file.name.to_string(),
                line: 0,
                reason: NOT_A_FORMAT.into(),
            }),
        }
    }
    let mut read = 0;
    for (format, group) in by_format {
        let sources: Vec<Source<'_>> = group
            .iter()
            .map(|s| Source {
                name: s.name,
                bytes: s.bytes,
            })
            .collect();
        let mut one = import(format, &sources, ctx);
        all.references.append(&mut one.references);
        all.report.merge(one.report);
        read += sources.len();
        done(read);
    }
    all
}

/// Export `references` in `format` (which must be one of [`Format::EXPORTABLE`]; MEDLINE is
/// read-only and exports as RIS).
pub fn export(format: Format, references: &[Reference]) -> String {
    match format {
        Format::Ris | Format::Medline => ris::export(references),
        Format::Bibtex => bibtex::export(references, bibtex::ExportOptions::default()),
        Format::EndnoteXml => endnote_xml::export(references),
        Format::Enw => enw::export(references),
        Format::CslJson => csl_json::export(references),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_the_format_from_content_then_name() {
        let cases: [(&str, &[u8], Option<Format>); 8] = [
            (
                "a.txt",
                b"\xEF\xBB\xBFTY  - JOUR\nER  - \n",
                Some(Format::Ris),
            ),
            (
                "a.bib",
                b"% comment\n@article{x, title={T}}",
                Some(Format::Bibtex),
            ),
            (
                "a",
                b"<?xml version=\"1.0\"?><xml><records>",
                Some(Format::EndnoteXml),
            ),
            ("a", b"%0 Journal Article\n%T T\n", Some(Format::Enw)),
            ("a", b"\nPMID- 123\nTI  - T\n", Some(Format::Medline)),
            ("a", b"[{\"type\":\"book\"}]", Some(Format::CslJson)),
            ("refs.nbib", b"", Some(Format::Medline)),
            ("notes.doc", b"hello", None),
        ];
        for (name, bytes, want) in cases {
            assert_eq!(Format::detect(name, bytes), want, "{name}");
        }
        for &f in Format::ALL {
            assert_eq!(Format::from_id(f.id()), Some(f));
        }
    }

    #[test]
    fn the_report_line_a_person_reads() {
        let got = import_text(
            Format::Ris,
            "TY  - JOUR\nTI  - A\nER  - \nTY  - JOUR\nER  - \n",
        );
        assert_eq!(got.report.summary(), "imported 1, skipped 1");
        assert_eq!(got.report.skipped[0].line, 4);
    }
}
