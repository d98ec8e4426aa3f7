//! What the app and its workers say to each other: the formats worker
//! (`src/bin/formats-worker.rs`), the citations worker (`src/bin/cite-worker.rs`) and the
//! duplicates worker (`src/bin/duplicates-worker.rs`).
//!
//! Importers and exporters are most of the app's code by size, the CSL processor with its
//! built-in styles and locales more than the app itself, and an import of tens of thousands of
//! references holds a thread for seconds; so they run in Web Workers, each loaded the first
//! time a person uses it. Messages are JS objects: `{id, op, ...}` in,
//! `{id, ok, ...}` out; file bytes travel as transferred ArrayBuffers and results as one
//! JSON string (one parse on arrival instead of walking a JS object per reference).
//! Possible Duplicates are found in a worker for the same reason: over 250,000 references it
//! takes more than a second (docs/bench.md).

use refsync_core::formats::{Report, Skipped, Warning};
use refsync_core::query::DuplicateFields;
use refsync_core::Reference;
use serde::{Deserialize, Serialize};

#[cfg(target_arch = "wasm32")]
pub mod serve;

/// The formats worker's script, as trunk emits it (worker outputs are not hashed).
pub const WORKER_LOADER: &str = "/formats-worker_loader.js";

/// The citations worker's script.
pub const CITE_WORKER_LOADER: &str = "/cite-worker_loader.js";

/// The duplicates worker's script.
pub const DUPLICATES_WORKER_LOADER: &str = "/duplicates-worker_loader.js";

/// What changed in the library since the duplicates worker's last update (core's
/// `Library::changes_since`), sent as JSON bytes (`update`); a large change travels in several,
/// the last one with `find`. Answered with the sets found (JSON) when `find`, else nothing.
#[derive(Debug, Serialize, Deserialize)]
pub struct DuplicatesUpdate<'a> {
    /// Which library the ids are of (core's `Mark::library`): a worker holding another's,
    /// or none (it was restarted), refuses an update that is not `everything`
    /// ([`DUPLICATES_OUT_OF_STEP`]).
    pub library: u64,
    /// Forget everything held first.
    pub everything: bool,
    /// References by id (not those in the Trash).
    #[serde(borrow)]
    pub added: Vec<(u32, DuplicateFields<'a>)>,
    /// Ids to forget.
    #[serde(default)]
    pub removed: Vec<u32>,
    /// Find the sets once this is applied, and answer them.
    #[serde(default)]
    pub find: bool,
}

/// The duplicates worker's answer to an update of a library it does not hold.
pub const DUPLICATES_OUT_OF_STEP: &str = "the duplicates worker holds another library";

/// A style to format with: a built-in one by name, or a `.csl` file's XML.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StyleChoice {
    Builtin(String),
    Csl(String),
}

/// A built-in style, as the style picker lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StyleEntry {
    /// What [`StyleChoice::Builtin`] takes ("apa").
    pub name: String,
    pub title: String,
}

/// Format `references` (one citation of them all, and their bibliography) in `style`, in each
/// of `outputs` ("html", "text", "rtf"); or, with `paper`, a manuscript (sent as bytes beside
/// the request) against them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CiteRequest {
    pub references: Vec<Reference>,
    pub style: StyleChoice,
    pub locale: Option<String>,
    #[serde(default)]
    pub outputs: Vec<String>,
}

/// One output of a [`CiteRequest`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rendered {
    pub output: String,
    /// The references cited together, as the text shows it (or the footnote's text).
    pub citation: String,
    pub bibliography: Vec<String>,
    /// The bibliography as a whole file of this output.
    pub document: String,
}

/// What the citations worker made of a [`CiteRequest`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CiteResult {
    /// The style's own title ("APA Style 7th edition").
    pub title: String,
    pub note_style: bool,
    pub hanging_indent: bool,
    pub rendered: Vec<Rendered>,
}

/// What Format Paper did (the formatted manuscript travels as a file beside it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaperResult {
    pub title: String,
    /// The report's first line ("12 of 14 citations formatted; ...").
    pub summary: String,
    /// One line per citation left as typed.
    pub unformatted: Vec<String>,
    /// The formatted manuscript's media type (for its download).
    #[serde(default)]
    pub media_type: String,
}

/// The named buffers of a message either way (`names` and `files`, side by side): the files
/// of an import, the attachments' bytes of a backup.
#[cfg(target_arch = "wasm32")]
pub fn named_buffers(message: &wasm_bindgen::JsValue) -> Vec<(String, Vec<u8>)> {
    use js_sys::{Array, Reflect, Uint8Array};
    let list = |name: &str| Array::from(&Reflect::get(message, &name.into()).unwrap_or_default());
    let (names, buffers) = (list("names"), list("files"));
    (0..names.length())
        .map(|i| {
            let name = names.get(i).as_string().unwrap_or_default();
            (name, Uint8Array::new(&buffers.get(i)).to_vec())
        })
        .collect()
}

/// The name of the one buffer an import's answer holds: its [`ImportResult`] as JSON.
pub const IMPORT_FILE: &str = "import.json";

/// What an import produced, as the worker sends it back (JSON, in the buffer [`IMPORT_FILE`]).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ImportResult {
    pub references: Vec<Reference>,
    pub read: usize,
    pub imported: usize,
    /// (file, line, reason)
    pub skipped: Vec<(String, usize, String)>,
    /// (file, line, message)
    pub warnings: Vec<(String, usize, String)>,
}

impl ImportResult {
    pub fn add_report(&mut self, report: Report) {
        self.read += report.read;
        self.imported += report.imported;
        self.skipped.extend(
            report
                .skipped
                .into_iter()
                .map(|s| (s.file, s.line, s.reason)),
        );
        self.warnings.extend(
            report
                .warnings
                .into_iter()
                .map(|w| (w.file, w.line, w.message)),
        );
    }

    /// The report part, as core words it.
    pub fn report(&self) -> Report {
        Report {
            read: self.read,
            imported: self.imported,
            skipped: self
                .skipped
                .iter()
                .map(|(file, line, reason)| Skipped {
                    file: file.clone(),
                    line: *line,
                    reason: reason.clone(),
                })
                .collect(),
            warnings: self
                .warnings
                .iter()
                .map(|(file, line, message)| Warning {
                    file: file.clone(),
                    line: *line,
                    message: message.clone(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_survives_the_trip() {
        let mut r = ImportResult::default();
        r.add_report(Report {
            read: 3,
            imported: 2,
            skipped: vec![Skipped {
                file: "a.ris".into(),
                line: 7,
                reason: "no TY line".into(),
            }],
            warnings: vec![],
        });
        let back: ImportResult = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back.report().summary(), "imported 2, skipped 1");
        assert_eq!(back.report().skipped[0].line, 7);
    }
}
