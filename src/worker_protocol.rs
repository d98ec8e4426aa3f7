//! What the app and its formats worker (`src/bin/formats-worker.rs`) say to each other.
//!
//! Importers and exporters are most of the app's code by size, and an import of tens of
//! thousands of references holds a thread for seconds; so they run in a Web Worker, loaded
//! the first time a person imports or exports. Messages are JS objects: `{id, op, ...}` in,
//! `{id, ok, ...}` out; file bytes travel as transferred ArrayBuffers and results as one
//! JSON string (one parse on arrival instead of walking a JS object per reference).

use refsync_core::formats::{Report, Skipped, Warning};
use refsync_core::Reference;
use serde::{Deserialize, Serialize};

/// The worker's scripts, as trunk emits them (worker outputs are not hashed).
pub const WORKER_LOADER: &str = "/formats-worker_loader.js";

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

/// What an import produced, as the worker sends it back (JSON).
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
